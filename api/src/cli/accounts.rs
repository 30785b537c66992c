//! `cabinet accounts`: staff accounts created, and the hashing cost timed.

use std::io::{IsTerminal, Read};

use anyhow::bail;
use clap::Subcommand;
use domain::values::Email;

use crate::app::App;
use crate::auth::{accounts, passwords, CompanyRole, Role};
use crate::config::Settings;

#[derive(Subcommand)]
pub enum AccountsCommand {
    /// Create an account. The password is read from standard input when it is not a terminal; otherwise
    /// one is generated and printed once.
    Create {
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Role: MANAGER, ACCOUNTANT, AUDITOR, ADMIN (or CLIENT with --company).
        #[arg(long)]
        role: String,
        /// For CLIENT: a company the account may act for (repeatable).
        #[arg(long)]
        company: Vec<uuid::Uuid>,
        /// For CLIENT: the role in those companies: director (the default), accountant or viewer.
        #[arg(long, default_value = "director")]
        company_role: String,
    },
    /// Time argon2id hashing with the configured cost on this machine (the number docs/security.md
    /// records), without touching the database.
    HashingTime {
        /// Hashes to time.
        #[arg(long, default_value_t = 10)]
        samples: u32,
    },
}

/// `cabinet accounts hashing-time`: argon2id's cost on this machine, without the database.
///
/// # Errors
/// Hashing fails.
pub fn hashing_time(settings: &Settings, samples: u32) -> anyhow::Result<i32> {
    passwords::configure(settings.argon2);
    let mut times = passwords::measure(samples)?;
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    let c = settings.argon2;
    println!(
        "argon2id m={} KiB t={} p={}: {} hashes, median {:.1} ms, min {:.1} ms, max {:.1} ms",
        c.memory_kib,
        c.iterations,
        c.parallelism,
        times.len(),
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    Ok(0)
}

/// `cabinet accounts create` (and `hashing-time`, which needs no database but may run here too).
///
/// # Errors
/// A bad flag (named), or a database error.
pub async fn accounts_command(
    command: AccountsCommand,
    settings: &Settings,
    app: &App,
) -> anyhow::Result<i32> {
    let (email, role, company, company_role) = match command {
        AccountsCommand::Create {
            email,
            role,
            company,
            company_role,
        } => (email, role, company, company_role),
        AccountsCommand::HashingTime { samples } => return hashing_time(settings, samples),
    };
    let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
    let Some(role) = Role::parse(&role) else {
        bail!("--role: expected one of CLIENT, MANAGER, ACCOUNTANT, AUDITOR, ADMIN");
    };
    let Some(company_role) = CompanyRole::parse(&company_role.to_ascii_lowercase()) else {
        bail!("--company-role: expected one of director, accountant, viewer");
    };
    if role == Role::Client && company.is_empty() {
        bail!("--company: a CLIENT account needs at least one company");
    }
    let (password, generated) = if std::io::stdin().is_terminal() {
        (passwords::generate_temporary(), true)
    } else {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        (s.trim_end_matches(['\n', '\r']).to_owned(), false)
    };
    let id = accounts::create_account(&app.pool, &email, &password, &[role], false)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    if generated {
        // A password shown on a terminal is a temporary one: changed at the first sign-in.
        let mut conn = app.pool.acquire().await?;
        let hash: String =
            sqlx::query_scalar("SELECT password_hash FROM accounts WHERE account_id = $1")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        accounts::set_temporary_password(&mut conn, id, &hash).await?;
    }
    let mut conn = app.pool.acquire().await?;
    for c in company {
        accounts::link_company(&mut conn, id, c, company_role).await?;
    }
    drop(conn);
    println!("account {id} created for {email} ({})", role.as_str());
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(0)
}
