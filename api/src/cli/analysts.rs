//! `cabinet analysts`: analysts' read-only access to the read models.

use clap::Subcommand;

use crate::app::App;

#[derive(Subcommand)]
pub enum AnalystsCommand {
    /// Give the existing PostgreSQL login role NAME read access to the `analytics` schema (and nothing else):
    /// grants `cabinet_analyst` to it, makes its sessions read-only and puts `analytics` on its search path.
    Grant {
        /// The login role (create it first: CREATE ROLE name LOGIN PASSWORD '…').
        #[arg(long)]
        role: String,
    },
    /// Take `cabinet_analyst` away from NAME.
    Revoke {
        /// The login role.
        #[arg(long)]
        role: String,
    },
    /// The login roles that hold `cabinet_analyst`.
    List,
}

pub async fn analysts_command(command: AnalystsCommand, app: &App) -> anyhow::Result<i32> {
    use projections::postgres::analysts;
    match command {
        AnalystsCommand::Grant { role } => {
            analysts::grant(&app.pool, &role).await?;
            println!(
                "{role} now holds {}: it reads the `analytics` schema only, in read-only sessions",
                analysts::ROLE
            );
            Ok(0)
        }
        AnalystsCommand::Revoke { role } => {
            analysts::revoke(&app.pool, &role).await?;
            println!("{role} no longer holds {}", analysts::ROLE);
            Ok(0)
        }
        AnalystsCommand::List => {
            for r in analysts::list(&app.pool).await? {
                println!("{r}");
            }
            Ok(0)
        }
    }
}
