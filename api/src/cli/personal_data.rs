//! `cabinet personal-data`: destruction of what is due, the acts, the ledger after a restore, master keys.

use clap::Subcommand;

use crate::app::App;

#[derive(Subcommand)]
pub enum PersonalDataCommand {
    /// Destroy the personal data due on the current business date (what the server's job does every minute).
    DestroyDue,
    /// List the acts of destruction, newest first (JSON lines: no personal value).
    Acts {
        /// How many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Re-apply the destruction ledger: run after restoring a backup, before serving (docs/operations.md).
    Reapply,
    /// Re-wrap every data key with the current master key (after rotating `[personal_data] current_key`).
    Rewrap,
    /// Print a new random master key (base64) for `[personal_data] master_keys`.
    NewKey,
}

pub async fn personal_data_command(command: PersonalDataCommand, app: &App) -> anyhow::Result<i32> {
    match command {
        PersonalDataCommand::DestroyDue => {
            let acts = app.destroy_due_personal_data().await?;
            for a in &acts {
                println!("{}", serde_json::to_string(a)?);
            }
            eprintln!("{} destruction(s)", acts.len());
        }
        PersonalDataCommand::Acts { limit } => {
            for a in crate::app::personal_data::acts(&app.pool, limit).await? {
                println!("{}", serde_json::to_string(&a)?);
            }
        }
        PersonalDataCommand::Reapply => {
            let n = crate::app::personal_data::reapply(&app.pool, Some(&app.mail_dir), &app.ledger)
                .await?;
            eprintln!(
                "{n} ledger entr(ies) re-applied from {}",
                app.ledger.display()
            );
        }
        PersonalDataCommand::Rewrap => {
            let mut conn = app.pool.acquire().await?;
            let n = projections::personal::rewrap_all(&mut conn).await?;
            eprintln!("{n} data key(s) re-wrapped");
        }
        PersonalDataCommand::NewKey => {
            println!("{}", projections::personal::MasterKeys::generate())
        }
    }
    Ok(0)
}
