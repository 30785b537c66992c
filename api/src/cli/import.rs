//! `cabinet import`: files from the back office, for scheduled jobs (the same code as the staff's upload).

use std::path::PathBuf;

use clap::Subcommand;

use crate::app::imports::Report;
use crate::app::App;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Import a bank statement (1CClientBankExchange or camt.053): credits to the lessor's account are
    /// received, matched to contracts and posted, or queued for staff; a statement imported again
    /// changes nothing. Exit status 0 when the file was read to its end (rejected lines are in the
    /// report), 1 when it broke off.
    Statement {
        /// The statement file.
        path: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import a traffic fines register (CSV or XML, docs/formats.md): each resolution is re-billed on the
    /// contract leasing the vehicle, with the discount for paying early and the contract's fee; a register
    /// imported again changes nothing. Exit status as for a statement.
    Fines {
        /// The register file.
        path: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import contracts and schedules from the accounting system (JSON Lines, docs/formats.md): new
    /// contracts are concluded, changed schedules replace the lines not yet due or paid; a file imported
    /// again changes nothing. Exit status as for a statement.
    Contracts {
        /// The contracts file.
        path: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import accounting documents from the accounting system (счета-фактуры, УПД, acts; docs/formats.md):
    /// a ZIP archive or a directory holding `documents.jsonl` and the files it names. Each document is
    /// listed to its contract's company (and sent for signature when the line carries the lessor's
    /// signature); a package imported again changes nothing. Exit status as for a statement.
    Documents {
        /// The package: a ZIP archive or a directory.
        path: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn open(path: &std::path::Path) -> anyhow::Result<(std::fs::File, String)> {
    let file = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((file, name))
}

fn failed(path: &std::path::Path, e: crate::error::ApiError) -> anyhow::Error {
    match e {
        crate::error::ApiError::Internal(cause) => {
            anyhow::anyhow!("{}: {cause:#}", path.display())
        }
        e => anyhow::anyhow!("{}: {}: {}", path.display(), e.code(), e.message()),
    }
}

fn print(report: &Report, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!(
        "import {} ({}, {}): {}",
        report.import_id,
        report.file_name,
        report.format.as_deref().unwrap_or("-"),
        report.status
    );
    if report.kind == "accounting_documents" {
        println!(
            "documents {}: imported {}, unchanged {}, rejected {}",
            report.lines, report.matched, report.duplicates, report.rejected
        );
    } else if report.kind == "contracts" {
        println!(
            "contracts {}: created {}, changed {}, unchanged {}, rejected {}",
            report.lines, report.matched, report.changed, report.duplicates, report.rejected
        );
    } else if report.kind == "fines_register" {
        println!(
            "resolutions {}: registered {} ({} ₽), duplicates {}, rejected {}",
            report.lines, report.matched, report.amount_matched, report.duplicates, report.rejected
        );
    } else {
        println!(
            "lines {}: matched {} ({} ₽), queued {} ({} ₽), duplicates {}, rejected {}, skipped {}",
            report.lines,
            report.matched,
            report.amount_matched,
            report.queued,
            report.amount_queued,
            report.duplicates,
            report.rejected,
            report.skipped
        );
    }
    for r in &report.rejections {
        println!("  rejected at {}: {}: {}", r.place, r.field, r.reason);
    }
    if let Some(e) = &report.error {
        println!("error: {e}");
    }
    Ok(())
}

pub async fn import_command(command: ImportCommand, app: &App) -> anyhow::Result<i32> {
    match command {
        ImportCommand::Documents { path, json } => {
            let (package, name) = if path.is_dir() {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    crate::app::imports::documents::Package::Dir(path.clone()),
                    name,
                )
            } else {
                let (file, name) = open(&path)?;
                (crate::app::imports::documents::Package::Zip(file), name)
            };
            let meta = projections::store::event::CommandMeta::system("cli");
            let report = app
                .importer()
                .accounting_documents(package, &name, &meta)
                .await
                .map_err(|e| failed(&path, e))?;
            print(&report, json)?;
            Ok(if report.status == "done" { 0 } else { 1 })
        }
        ImportCommand::Contracts { path, json } => {
            let (file, name) = open(&path)?;
            let meta = projections::store::event::CommandMeta::system("cli");
            let report = app
                .importer()
                .contracts(file, &name, &meta)
                .await
                .map_err(|e| failed(&path, e))?;
            print(&report, json)?;
            Ok(if report.status == "done" { 0 } else { 1 })
        }
        ImportCommand::Fines { path, json } => {
            let (file, name) = open(&path)?;
            let meta = projections::store::event::CommandMeta::system("cli");
            let report = app
                .importer()
                .fines(file, &name, &meta)
                .await
                .map_err(|e| failed(&path, e))?;
            print(&report, json)?;
            Ok(if report.status == "done" { 0 } else { 1 })
        }
        ImportCommand::Statement { path, json } => {
            let (file, name) = open(&path)?;
            let meta = projections::store::event::CommandMeta::system("cli");
            let report = app
                .importer()
                .statement(file, &name, &meta)
                .await
                .map_err(|e| failed(&path, e))?;
            // Post what was matched now, unless a running server does it.
            let posting = std::sync::Arc::new(crate::workers::posting::Posting::new(
                app.contracts.clone(),
                app.policies.clone(),
                app.payments.clone(),
            ));
            let consumer = projections::engine::segments::Segmented::new(
                posting,
                200,
                std::sync::Arc::default(),
            );
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                match consumer.run_once(&app.pool).await? {
                    Some(n) if n > 0 && std::time::Instant::now() < deadline => continue,
                    Some(_) => break,
                    None => {
                        eprintln!("a running server posts the matched payments");
                        break;
                    }
                }
            }
            print(&report, json)?;
            Ok(if report.status == "done" { 0 } else { 1 })
        }
    }
}
