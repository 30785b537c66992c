//! "My account was compromised": one step for a client. The login is blocked and every session ends
//! (`auth::service::report_compromised`, one transaction with its security-log entry and the owner's mail),
//! then the lessor is asked to help: a technical-support request per company of the person, which reaches
//! the back office's queue and notifications as any request does. Staff check the person's identity, unblock
//! the account and issue a temporary password (`unblockAccount`, `resetAccountPassword`, which also removes an
//! authenticator somebody else enrolled), and complete the request.

use chrono::{DateTime, Utc};
use domain::request::{RequestCommand, RequestDetails, Submission};
use projections::store::event::CommandMeta;
use uuid::Uuid;

use super::App;
use crate::auth::security::Client;
use crate::auth::Actor;
use crate::error::ApiError;

/// What reporting a compromise did.
#[derive(Debug, Clone)]
pub struct Reported {
    /// When the login was blocked.
    pub blocked_at: DateTime<Utc>,
    /// The requests opened for the lessor, one per company of the person.
    pub requests: Vec<Uuid>,
}

/// Blocks `actor`'s login, ends its sessions and opens a recovery request for each of its companies.
///
/// # Errors
/// A database error while blocking (then nothing happened). A request that cannot be opened after the
/// block is logged and left out: the block stands, the security log and the owner's mail say so, and the
/// other companies' requests are opened.
pub async fn report(app: &App, actor: &Actor, client: &Client) -> Result<Reported, ApiError> {
    let blocked_at = app.accounts.report_compromised(actor, client).await?;
    let (day, _) = projections::views::contracts::load_business_day(&app.pool).await?;
    let today = day.unwrap_or_else(|| Utc::now().date_naive());
    let masked = crate::mail::templates::mask_email(&actor.email);
    let mut requests = Vec::new();
    for company in actor.companies() {
        let request_id = Uuid::now_v7();
        let mut meta = CommandMeta::system("account-compromised");
        meta.actor = actor.event_actor();
        // A retry of the same report opens nothing twice.
        meta.idempotency_key = Some(format!(
            "compromised:{}:{company}:{}",
            actor.account_id,
            blocked_at.timestamp_micros()
        ));
        let submission = Submission {
            request_id,
            company_id: company,
            contract_id: None,
            submitted_by: actor.account_id,
            submitted_on: today,
            due_on: app.calendar.working_days_after(today, 1),
            details: RequestDetails::TechnicalSupport {
                subject: "Взлом учётной записи: восстановить доступ".into(),
                text: format!(
                    "Владелец учётной записи {masked} сообщил, что доступ к ней получил посторонний. \
                     Вход заблокирован, все сеансы завершены. Проверьте личность владельца, разблокируйте \
                     учётную запись и выдайте временный пароль."
                ),
            },
            attachments: Vec::new(),
            power_of_attorney: None,
        };
        match app
            .requests
            .execute(
                &request_id.to_string(),
                RequestCommand::SubmitRequest(Box::new(submission)),
                &meta,
            )
            .await
        {
            Ok(out) => requests.push(out.aggregate_id.parse().unwrap_or(request_id)),
            Err(e) => tracing::error!(
                account = %actor.account_id,
                %company,
                error = %e,
                "a compromise was reported but its recovery request could not be opened"
            ),
        }
    }
    Ok(Reported {
        blocked_at,
        requests,
    })
}
