//! Destruction of personal data (152-ФЗ art. 21; issue 21, ADR 0016): what is due, and destroying it.
//!
//! Due, on the business clock (so a replay of the clock gives the same answer):
//! - a **deleted account** (or one whose consent was withdrawn and that no contract keeps) once its `destroy_personal_data_by` day has come (`[personal_data]
//!   account_destroy_days` after the deletion, at most 30);
//! - a **client company** with no account left (live or awaiting destruction), no contract in force and no debt, once its last contract
//!   ended `client_retention_years` ago (at once when it never had one);
//! - a **closed request** `request_retention_years` after it was closed.
//!
//! Destroying shreds the subjects' keys (every sealed value in events, snapshots, exports and backups reads
//! as destroyed), blanks the same values in the read models exactly as a replay would write them (so
//! `projections verify` finds nothing), tombstones the account (its login becomes
//! `destroyed+<id>@invalid`), deletes its sessions, clients and control strings, blanks addresses and agents
//! in the security log, blanks and stops the mails to the addresses concerned, and removes their mail
//! files. It records a `PersonalDataDestroyed` event and an act (`personal_data_destructions`) that name no
//! person, and appends the same record to the ledger file, which `cabinet personal-data reapply` re-applies
//! after a restore.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::config::PersonalDataSettings;

/// Why data was destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ground {
    /// The account was deleted at its holder's request.
    AccountDeleted,
    /// The retention period ran out.
    RetentionExpired,
    /// Consent was withdrawn and no other ground keeps the data.
    ConsentWithdrawn,
}

impl Ground {
    fn as_str(self) -> &'static str {
        match self {
            Self::AccountDeleted => "account_deleted",
            Self::RetentionExpired => "retention_expired",
            Self::ConsentWithdrawn => "consent_withdrawn",
        }
    }
}

/// What one destruction covers: ids only, never a value (it is also the ledger's line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The destruction's id (the act's number).
    pub destruction_id: Uuid,
    /// The ground.
    pub ground: Ground,
    /// The account destroyed, if any.
    pub account_id: Option<Uuid>,
    /// The company whose persons' data was destroyed, if any.
    pub company_id: Option<Uuid>,
    /// The aggregates whose subjects were destroyed, by type.
    pub scopes: Vec<(String, Vec<String>)>,
    /// The business date it was done on.
    pub business_date: NaiveDate,
    /// The deadline it met, if there was one.
    pub due_by: Option<DateTime<Utc>>,
}

/// The act of one destruction, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Act {
    /// Its id.
    pub destruction_id: Uuid,
    /// The ground.
    pub ground: String,
    /// Categories of data destroyed.
    pub categories: Vec<String>,
    /// The account, if any.
    pub account_id: Option<Uuid>,
    /// The company, if any.
    pub company_id: Option<Uuid>,
    /// The subjects whose keys were destroyed.
    pub subjects: Vec<Uuid>,
    /// What was removed or blanked, by place.
    pub removed: Value,
    /// The business date.
    pub business_date: NaiveDate,
    /// When.
    pub destroyed_at: DateTime<Utc>,
    /// The deadline met.
    pub due_by: Option<DateTime<Utc>>,
    /// The `PersonalDataDestroyed` event's position.
    pub position: Option<i64>,
}

/// The login a destroyed account keeps: names nobody (RFC 2606 `.invalid`).
pub fn tombstone(account_id: Uuid) -> String {
    format!("destroyed+{account_id}@invalid")
}

/// The current business date (the calendar's date before the clock's first day).
async fn business_date(conn: &mut PgConnection) -> Result<NaiveDate, sqlx::Error> {
    sqlx::query_scalar(&format!("SELECT {}", crate::auth::accounts::BUSINESS_TODAY))
        .fetch_one(conn)
        .await
}

/// The aggregates of a company's persons: the company and its ЭДО connection (keyed by the company), its
/// contracts, policies, requests and documents.
async fn company_scopes(
    conn: &mut PgConnection,
    company: Uuid,
) -> Result<Vec<(String, Vec<String>)>, sqlx::Error> {
    const OWNED: &[(&str, &str)] = &[
        (
            "Contract",
            "SELECT contract_id::text FROM contracts_view WHERE company_id = $1",
        ),
        (
            "Policy",
            "SELECT policy_id::text FROM policies_view WHERE company_id = $1",
        ),
        (
            "ClientRequest",
            "SELECT request_id::text FROM requests_view WHERE company_id = $1",
        ),
        (
            "Document",
            "SELECT document_id::text FROM exchange_documents_view WHERE company_id = $1",
        ),
        (
            "BankPayment",
            "SELECT payment_id::text FROM bank_payments_view WHERE company_id = $1",
        ),
    ];
    let mut scopes = vec![
        ("Company".to_owned(), vec![company.to_string()]),
        ("EdoConnection".to_owned(), vec![company.to_string()]),
    ];
    for (scope_type, sql) in OWNED {
        let ids = sqlx::query_scalar(sql)
            .bind(company)
            .fetch_all(&mut *conn)
            .await?;
        scopes.push(((*scope_type).to_owned(), ids));
    }
    Ok(scopes)
}

/// The companies nothing keeps any more on `today`, each with whether it had contracts: a company whose
/// data is not destroyed yet, with no account linked that is not destroyed yet (a deleted one waits for its
/// own deadline), no contract in force, no debt, and the retention after its last contract ended run out.
/// A company that never had a contract is released only once it had accounts and all were destroyed —
/// never merely because it was registered and nothing happened yet.
/// One statement over the companies whose subjects still hold keys.
async fn released_companies(
    conn: &mut PgConnection,
    today: NaiveDate,
    s: &PersonalDataSettings,
) -> Result<Vec<(Uuid, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT c.company_id, EXISTS (SELECT 1 FROM contracts_view v WHERE v.company_id = c.company_id) \
         FROM companies_view c \
         WHERE EXISTS (SELECT 1 FROM subject_keys k WHERE k.scope_type = 'Company' \
                       AND k.scope_id = c.company_id::text AND k.destroyed_at IS NULL) \
           AND NOT EXISTS (SELECT 1 FROM account_companies l JOIN accounts a USING (account_id) \
                           WHERE l.company_id = c.company_id AND a.personal_data_destroyed_at IS NULL) \
           AND NOT EXISTS (SELECT 1 FROM contracts_view v WHERE v.company_id = c.company_id \
                           AND (v.status IN ('concluded', 'active') OR v.closed_on IS NULL)) \
           AND coalesce((SELECT d.total FROM company_debt_view d WHERE d.company_id = c.company_id), 0) <= 0 \
           AND coalesce((SELECT max(v.closed_on) FROM contracts_view v WHERE v.company_id = c.company_id) \
                        + make_interval(years => $2), '-infinity') <= $1 \
           AND (EXISTS (SELECT 1 FROM contracts_view v WHERE v.company_id = c.company_id) \
                OR EXISTS (SELECT 1 FROM account_companies l WHERE l.company_id = c.company_id)) \
         ORDER BY c.company_id",
    )
    .bind(today)
    .bind(s.client_retention_years as i32)
    .fetch_all(conn)
    .await
}

/// Finds and destroys everything due on the current business date; returns the acts made.
///
/// # Errors
/// A database or file error (nothing of the failing destruction is kept: it runs again next time).
pub async fn destroy_due(
    pool: &PgPool,
    settings: &PersonalDataSettings,
    mail_dir: Option<&Path>,
    ledger: &Path,
) -> anyhow::Result<Vec<Act>> {
    // One run at a time across nodes: a second runner finds the lock taken and does nothing.
    let key = projections::postgres::db::lock_key("personal-data-destruction");
    let mut guard = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(&mut *guard)
        .await?;
    if !locked {
        return Ok(Vec::new());
    }
    let result = destroy_due_locked(pool, settings, mail_dir, ledger).await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *guard)
        .await;
    result
}

async fn destroy_due_locked(
    pool: &PgPool,
    settings: &PersonalDataSettings,
    mail_dir: Option<&Path>,
    ledger: &Path,
) -> anyhow::Result<Vec<Act>> {
    let mut conn = pool.acquire().await?;
    let today = business_date(&mut conn).await?;
    // Invitations hold an address: gone 30 days after they ended (accepted, revoked or expired).
    sqlx::query(
        "DELETE FROM invitations \
         WHERE least(coalesce(accepted_at, 'infinity'), coalesce(revoked_at, 'infinity'), expires_at) \
               < clock_timestamp() - interval '30 days'",
    )
    .execute(&mut *conn)
    .await?;
    // Withdrawn consents a contract kept: once nothing keeps them, deactivated and due like a deletion.
    let withdrawn: Vec<Uuid> = sqlx::query_scalar(
        "SELECT account_id FROM accounts WHERE consent_withdrawn_at IS NOT NULL AND deleted_at IS NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    for account in withdrawn {
        let mut tx = pool.begin().await?;
        if crate::auth::accounts::obligations(&mut tx, account)
            .await?
            .is_empty()
        {
            crate::auth::accounts::schedule_destruction(
                &mut tx,
                account,
                settings.account_destroy_days,
            )
            .await?;
        }
        tx.commit().await?;
    }
    let mut plans = Vec::new();
    // Deleted accounts whose day has come, and then their companies if nothing keeps those.
    let accounts: Vec<(Uuid, DateTime<Utc>, bool)> = sqlx::query_as(
        "SELECT account_id, destroy_personal_data_by, consent_withdrawn_at IS NOT NULL FROM accounts \
         WHERE deleted_at IS NOT NULL AND personal_data_destroyed_at IS NULL \
           AND (destroy_personal_data_by AT TIME ZONE 'UTC')::date <= $1 ORDER BY account_id",
    )
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    for (account, due_by, withdrawn) in accounts {
        plans.push(Plan {
            destruction_id: Uuid::now_v7(),
            ground: if withdrawn {
                Ground::ConsentWithdrawn
            } else {
                Ground::AccountDeleted
            },
            account_id: Some(account),
            company_id: None,
            scopes: Vec::new(),
            business_date: today,
            due_by: Some(due_by),
        });
    }
    let mut acts = Vec::new();
    for plan in plans {
        acts.push(destroy(pool, &plan, mail_dir, ledger).await?);
    }
    // Companies nothing keeps any more (after the accounts above, whose deletion may release them).
    for (company, had_contracts) in released_companies(&mut conn, today, settings).await? {
        // A company that had contracts was kept for the retention after them; one that never had any only
        // for as long as its accounts.
        let plan = Plan {
            destruction_id: Uuid::now_v7(),
            ground: if had_contracts {
                Ground::RetentionExpired
            } else {
                Ground::AccountDeleted
            },
            account_id: None,
            company_id: Some(company),
            scopes: company_scopes(&mut conn, company).await?,
            business_date: today,
            due_by: None,
        };
        acts.push(destroy(pool, &plan, mail_dir, ledger).await?);
    }
    // Closed requests past their retention, of companies that live on.
    let requests: Vec<String> = sqlx::query_scalar(
        "SELECT r.request_id::text FROM requests_view r \
         WHERE r.closed_at IS NOT NULL \
           AND (r.closed_at AT TIME ZONE 'UTC')::date + make_interval(years => $2) <= $1 \
           AND EXISTS (SELECT 1 FROM subject_keys k WHERE k.scope_type = 'ClientRequest' \
                       AND k.scope_id = r.request_id::text AND k.destroyed_at IS NULL) \
         ORDER BY r.request_id",
    )
    .bind(today)
    .bind(settings.request_retention_years as i32)
    .fetch_all(&mut *conn)
    .await?;
    if !requests.is_empty() {
        let plan = Plan {
            destruction_id: Uuid::now_v7(),
            ground: Ground::RetentionExpired,
            account_id: None,
            company_id: None,
            scopes: vec![("ClientRequest".into(), requests)],
            business_date: today,
            due_by: None,
        };
        acts.push(destroy(pool, &plan, mail_dir, ledger).await?);
    }
    Ok(acts)
}

/// Carries out a new `plan` ([`apply`]) and appends it to the ledger.
async fn destroy(
    pool: &PgPool,
    plan: &Plan,
    mail_dir: Option<&Path>,
    ledger: &Path,
) -> anyhow::Result<Act> {
    let act = apply(pool, plan, mail_dir).await?;
    append_ledger(ledger, plan).await?;
    Ok(act)
}

/// Carries out `plan` in one transaction, records its act and event, and removes mail files. Applying a
/// plan again (a ledger re-applied after a restore) destroys what the restore brought back and records
/// nothing new.
///
/// # Errors
/// A database or file error.
pub async fn apply(pool: &PgPool, plan: &Plan, mail_dir: Option<&Path>) -> anyhow::Result<Act> {
    let (act, addresses) = apply_in_database(pool, plan).await?;
    let mut files = 0u64;
    if let Some(dir) = mail_dir {
        files = remove_mail_files(dir, &addresses).await?;
    }
    let mut act = act;
    if let Some(o) = act.removed.as_object_mut() {
        o.insert("mail_files".into(), json!(files));
    }
    Ok(act)
}

async fn apply_in_database(pool: &PgPool, plan: &Plan) -> anyhow::Result<(Act, Vec<String>)> {
    let mut tx = pool.begin().await?;
    let mut removed = serde_json::Map::new();
    let mut categories: Vec<&str> = Vec::new();
    let mut addresses: Vec<String> = Vec::new();
    let mut subjects = Vec::new();
    let mut blanked = 0u64;
    // A company's files go with it (before its scopes' keys: the references are read from the log).
    let files = if plan.company_id.is_some() {
        remove_files(&mut tx, &plan.scopes).await?
    } else {
        0
    };

    if let Some(account) = plan.account_id {
        let email: Option<String> =
            sqlx::query_scalar("SELECT email FROM accounts WHERE account_id = $1 FOR UPDATE")
                .bind(account)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(email) = email.filter(|e| *e != tombstone(account)) {
            addresses.push(email);
        }
        sqlx::query(
            "UPDATE accounts SET email = $2, password_hash = '!destroyed', \
               personal_data_destroyed_at = coalesce(personal_data_destroyed_at, clock_timestamp()), \
               deleted_at = coalesce(deleted_at, clock_timestamp()), \
               destroy_personal_data_by = coalesce(destroy_personal_data_by, clock_timestamp()) \
             WHERE account_id = $1",
        )
        .bind(account)
        .bind(tombstone(account))
        .execute(&mut *tx)
        .await?;
        for (place, sql) in [
            ("sessions", "DELETE FROM sessions WHERE account_id = $1"),
            (
                "account_clients",
                "DELETE FROM account_clients WHERE account_id = $1",
            ),
            (
                "control_strings",
                "DELETE FROM control_strings WHERE account_id = $1",
            ),
            (
                "invitations",
                "DELETE FROM invitations WHERE accepted_by = $1",
            ),
            (
                "terms_acceptances",
                "UPDATE terms_acceptances SET client_address = NULL WHERE account_id = $1 \
                 AND client_address IS NOT NULL",
            ),
            (
                "security_log",
                "UPDATE security_log SET client_address = NULL, user_agent = NULL, detail = NULL \
                 WHERE account_id = $1 AND (client_address IS NOT NULL OR user_agent IS NOT NULL \
                 OR detail IS NOT NULL)",
            ),
        ] {
            let n = sqlx::query(sql).bind(account).execute(&mut *tx).await?;
            removed.insert(place.into(), json!(n.rows_affected()));
        }
        categories.extend(["account login", "sign-in addresses and devices"]);
    }

    for (scope_type, ids) in &plan.scopes {
        if ids.is_empty() {
            continue;
        }
        if scope_type == "Company" {
            let contacts: Vec<Option<String>> = sqlx::query_scalar(
                "SELECT contact_email FROM companies_view WHERE company_id::text = ANY($1)",
            )
            .bind(ids)
            .fetch_all(&mut *tx)
            .await?;
            addresses.extend(contacts.into_iter().flatten());
        }
        let gone = projections::personal::destroy(&mut tx, scope_type, ids).await?;
        subjects.extend(gone.iter().map(|s| s.subject_id));
        for s in &gone {
            let category = match s.role.as_str() {
                "contact" => "contact details",
                "manager" => "manager's work contact details",
                "reporter" => "insured-event reports (phone, place, description)",
                "driver" => "drivers' names and licences",
                "signer" => "signers' names and positions",
                _ => "other",
            };
            if !categories.contains(&category) {
                categories.push(category);
            }
        }
        blanked += blank_read_models(&mut tx, scope_type, ids).await?;
    }
    removed.insert("read_model_rows".into(), json!(blanked));
    if plan.company_id.is_some() {
        removed.insert("stored_files".into(), json!(files));
    }

    if !addresses.is_empty() {
        addresses.sort();
        addresses.dedup();
        let mails: Vec<String> = sqlx::query_scalar(
            "UPDATE outbox SET recipient = 'destroyed@invalid', subject = '', body_text = NULL, \
               body_html = NULL, \
               failed_at = CASE WHEN sent_at IS NULL AND failed_at IS NULL THEN clock_timestamp() \
                           ELSE failed_at END, \
               last_error = CASE WHEN sent_at IS NULL AND failed_at IS NULL \
                            THEN 'personal data destroyed' ELSE last_error END \
             WHERE lower(recipient) = ANY($1) RETURNING message_id",
        )
        .bind(
            addresses
                .iter()
                .map(|a| a.to_lowercase())
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        // Their sealed bodies' keys go too.
        projections::personal::forget(&mut *tx, "Mail", &mails).await?;
        removed.insert("outbox".into(), json!(mails.len()));
    }

    let already: Option<Act> = sqlx::query_as(
        "SELECT destruction_id, ground, categories, account_id, company_id, subjects, removed, \
           business_date, destroyed_at, due_by, position \
         FROM personal_data_destructions WHERE destruction_id = $1",
    )
    .bind(plan.destruction_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(act) = already {
        // Re-applied from the ledger: the act and the event exist already.
        tx.commit().await?;
        return Ok((act, addresses));
    }

    // The PII-free event: ids, categories, ground, date.
    projections::engine::horizon::register_appender(&mut tx).await?;
    let payload = json!({ "PersonalDataDestroyed": {
        "destruction_id": plan.destruction_id,
        "ground": plan.ground.as_str(),
        "categories": categories,
        "account_id": plan.account_id,
        "company_id": plan.company_id,
        "subjects": subjects,
        "business_date": plan.business_date,
    }});
    let meta = projections::store::event::CommandMeta::system("personal-data");
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) \
         VALUES ('PersonalData', $1, 1, 'PersonalDataDestroyed', '1', $2, $3) RETURNING position",
    )
    .bind(plan.destruction_id.to_string())
    .bind(&payload)
    .bind(serde_json::to_value(meta.to_map())?)
    .fetch_one(&mut *tx)
    .await?;
    let act: Act = sqlx::query_as(
        "INSERT INTO personal_data_destructions (destruction_id, ground, categories, account_id, company_id, \
           subjects, removed, business_date, due_by, position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING destruction_id, ground, categories, account_id, company_id, subjects, removed, \
           business_date, destroyed_at, due_by, position",
    )
    .bind(plan.destruction_id)
    .bind(plan.ground.as_str())
    .bind(categories.iter().map(|c| c.to_string()).collect::<Vec<_>>())
    .bind(plan.account_id)
    .bind(plan.company_id)
    .bind(&subjects)
    .bind(Value::Object(removed))
    .bind(plan.business_date)
    .bind(plan.due_by)
    .bind(position)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(
        destruction = %act.destruction_id,
        ground = %act.ground,
        subjects = act.subjects.len(),
        "personal data destroyed"
    );
    Ok((act, addresses))
}

/// Blanks the personal values of the aggregates `ids` in the read models, as a replay would write them
/// once their keys are destroyed; returns the rows changed.
async fn blank_read_models(
    conn: &mut PgConnection,
    scope_type: &str,
    ids: &[String],
) -> Result<u64, sqlx::Error> {
    let n = match scope_type {
        "Company" => sqlx::query(
            "UPDATE companies_view SET contact_email = NULL, contact_phone = NULL, manager_name = NULL, \
               manager_phone = NULL, manager_email = NULL WHERE company_id::text = ANY($1)",
        )
        .bind(ids)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        "BankPayment" => sqlx::query(
            "UPDATE bank_payments_view SET payer_name = NULL, purpose = NULL WHERE payment_id::text = ANY($1)",
        )
        .bind(ids)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        "Policy" => sqlx::query(
            "UPDATE insured_events_view SET place = NULL, description = NULL, contact_phone = NULL \
             WHERE policy_id::text = ANY($1)",
        )
        .bind(ids)
        .execute(&mut *conn)
        .await?
        .rows_affected(),
        "ClientRequest" => {
            let rows: Vec<(Uuid, Value)> = sqlx::query_as(
                "SELECT request_id, details FROM requests_view WHERE request_id::text = ANY($1) FOR UPDATE",
            )
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
            let mut n = 0;
            for (id, mut details) in rows {
                let before = details.clone();
                projections::personal::blank(&mut details);
                if details != before {
                    sqlx::query("UPDATE requests_view SET details = $2 WHERE request_id = $1")
                        .bind(id)
                        .bind(&details)
                        .execute(&mut *conn)
                        .await?;
                    n += 1;
                }
            }
            n
        }
        "Document" => {
            let rows: Vec<(Uuid, Value)> = sqlx::query_as(
                "SELECT document_id, signatures FROM exchange_documents_view \
                 WHERE document_id::text = ANY($1) FOR UPDATE",
            )
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
            let mut n = 0;
            for (id, mut signatures) in rows {
                let before = signatures.clone();
                for s in signatures.as_array_mut().into_iter().flatten() {
                    s["signerName"] = Value::Null;
                    s["signerPosition"] = Value::Null;
                }
                if signatures != before {
                    sqlx::query(
                        "UPDATE exchange_documents_view SET signatures = $2 WHERE document_id = $1",
                    )
                    .bind(id)
                    .bind(&signatures)
                    .execute(&mut *conn)
                    .await?;
                    n += 1;
                }
            }
            n
        }
        _ => 0,
    };
    Ok(n)
}

/// Removes the uploaded and generated files the aggregates `ids` reference (scans of licences, insured
/// events' photos, signed documents) unless an event of another aggregate references the same content
/// (files are stored once per content); returns how many. Reads the whole log for the other references:
/// destruction is rare, and a file deleted wrongly would be another client's.
async fn remove_files(
    conn: &mut PgConnection,
    scopes: &[(String, Vec<String>)],
) -> Result<u64, sqlx::Error> {
    let (types, ids): (Vec<&str>, Vec<&str>) = scopes
        .iter()
        .flat_map(|(t, ids)| ids.iter().map(move |i| (t.as_str(), i.as_str())))
        .unzip();
    if ids.is_empty() {
        return Ok(0);
    }
    const FILES: &str = "SELECT DISTINCT s #>> '{}' FROM event_log e, \
           jsonb_path_query(e.payload, 'strict $.**.sha256') s WHERE jsonb_typeof(s) = 'string' AND ";
    const HERE: &str = "(e.aggregate_type, e.aggregate_id) IN \
           (SELECT t, i FROM unnest($1::text[], $2::text[]) AS u(t, i))";
    let candidates: Vec<String> = sqlx::query_scalar(&format!("{FILES}{HERE}"))
        .bind(&types)
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    if candidates.is_empty() {
        return Ok(0);
    }
    // Other aggregates referencing the same content keep it: this reads the whole log.
    let elsewhere: Vec<String> =
        sqlx::query_scalar(&format!("{FILES}NOT {HERE} AND s #>> '{{}}' = ANY($3)"))
            .bind(&types)
            .bind(&ids)
            .bind(&candidates)
            .fetch_all(&mut *conn)
            .await?;
    let only_here: Vec<&String> = candidates
        .iter()
        .filter(|c| !elsewhere.contains(c))
        .collect();
    Ok(
        sqlx::query("DELETE FROM stored_files WHERE sha256 = ANY($1)")
            .bind(only_here)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// Removes the `.eml` files addressed to any of `addresses`; returns how many.
async fn remove_mail_files(dir: &Path, addresses: &[String]) -> std::io::Result<u64> {
    if addresses.is_empty() {
        return Ok(0);
    }
    let wanted: Vec<String> = addresses.iter().map(|a| a.to_lowercase()).collect();
    let mut removed = 0;
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    while let Some(entry) = entries.next_entry().await? {
        let path: PathBuf = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let text = String::from_utf8_lossy(&tokio::fs::read(&path).await?).to_lowercase();
        if wanted.iter().any(|a| text.contains(a.as_str())) {
            tokio::fs::remove_file(&path).await?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Appends `plan` to the ledger (created when missing) and syncs it.
async fn append_ledger(ledger: &Path, plan: &Plan) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let line = format!("{}\n", serde_json::to_string(plan)?);
    if let Some(parent) = ledger.parent() {
        tokio::fs::create_dir_all(parent).await?;
    }
    let mut f = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(ledger)
        .await?;
    f.write_all(line.as_bytes()).await?;
    f.sync_all().await?;
    Ok(())
}

/// Re-applies every plan of the ledger (after restoring a backup older than some of them); returns how
/// many plans it read. The ledger itself is only read.
///
/// # Errors
/// An unreadable ledger line, a database or file error.
pub async fn reapply(
    pool: &PgPool,
    mail_dir: Option<&Path>,
    ledger: &Path,
) -> anyhow::Result<usize> {
    let text = match tokio::fs::read_to_string(ledger).await {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut n = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let plan: Plan = serde_json::from_str(line)
            .map_err(|e| anyhow::anyhow!("{} line {}: {e}", ledger.display(), i + 1))?;
        apply(pool, &plan, mail_dir).await?;
        n += 1;
    }
    Ok(n)
}

/// The acts, newest first.
///
/// # Errors
/// A database error.
pub async fn acts(pool: &PgPool, limit: i64) -> Result<Vec<Act>, sqlx::Error> {
    sqlx::query_as(
        "SELECT destruction_id, ground, categories, account_id, company_id, subjects, removed, \
           business_date, destroyed_at, due_by, position \
         FROM personal_data_destructions ORDER BY destroyed_at DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The act's PDF (акт об уничтожении персональных данных), rendered from its record: `operator` is the
/// lessor, `signatory` the person responsible.
pub fn act_pdf(act: &Act, operator: &documents::Organisation, signatory: &str) -> Vec<u8> {
    let reason = match act.ground.as_str() {
        "account_deleted" => "удаление учётной записи по требованию субъекта; обязательств нет",
        "retention_expired" => "истёк срок хранения, иных оснований обработки нет",
        "consent_withdrawn" => "отзыв согласия на обработку; иных оснований обработки нет",
        other => other,
    };
    let mut log_extract = vec![
        (
            "Событие".to_owned(),
            "PersonalDataDestroyed (агрегат PersonalData)".to_owned(),
        ),
        ("Идентификатор".to_owned(), act.destruction_id.to_string()),
        (
            "Позиция в журнале".to_owned(),
            act.position.map(|p| p.to_string()).unwrap_or_default(),
        ),
        (
            "Время записи (UTC)".to_owned(),
            act.destroyed_at.format("%d.%m.%Y %H:%M:%S").to_string(),
        ),
        (
            "Рабочая дата".to_owned(),
            documents::date(act.business_date),
        ),
    ];
    if let Some(by) = act.due_by {
        log_extract.push((
            "Срок уничтожения".to_owned(),
            documents::date(by.date_naive()),
        ));
    }
    if let Some(a) = act.account_id {
        log_extract.push(("Учётная запись".to_owned(), a.to_string()));
    }
    if let Some(c) = act.company_id {
        log_extract.push(("Клиент (организация)".to_owned(), c.to_string()));
    }
    if let Some(o) = act.removed.as_object() {
        for (place, n) in o {
            log_extract.push((format!("Удалено/обезличено: {place}"), n.to_string()));
        }
    }
    let mut subjects: Vec<String> = act.subjects.iter().map(Uuid::to_string).collect();
    if let Some(a) = act.account_id {
        subjects.insert(0, format!("учётная запись {a}"));
    }
    documents::destruction::DestructionAct {
        number: act.destruction_id.to_string(),
        date: act.business_date,
        operator: operator.clone(),
        system: "Личный кабинет лизингополучателя".into(),
        subjects,
        categories: act.categories.clone(),
        reason: reason.into(),
        method: "уничтожение ключей шифрования субъектов (криптографическое стирание) в журнале событий и \
                 резервных копиях; удаление и обезличивание записей в базе данных и файлов писем"
            .into(),
        destroyed_by: format!("задание уничтожения персональных данных; ответственный: {signatory}"),
        log_extract,
    }
    .render()
}
