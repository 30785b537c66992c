//! The request-effects process manager (`request-effects`): a catch-up consumer of RequestCompleted. What
//! completing a request changes elsewhere:
//! - a change of requisites → ChangeCompanyRequisites on the Company;
//! - a partial early repayment → RecalculateSchedule on the Contract;
//! - an early buyout → BuyOutEarly on the Contract (on the desired date);
//! - an insurance prolongation → ProlongPolicy with the terms staff completed it with;
//! - a change of insurance terms → ChangePolicyTerms; insuring a vehicle → IssuePolicy (one per request);
//! - an ЭДО connection → roaming through the client's operator is requested and activated on the company's
//!   EdoConnection; through the lessor's operator the client's own acts (questionnaire, offer) must be in
//!   place and staff confirm with the assigned id, so the effect records where the connection stands;
//! - an account deletion → the accounts rules (refused while obligations remain);
//! - a certificate or accounting documents → the documents are generated, stored, recorded as Documents of
//!   the request, and mailed (attached) to the e-mail the request gave.
//!
//! Then it records the outcome on the request (EffectApplied, or EffectFailed with the refusal, for staff to
//! act on). Exactly once: every command carries an idempotency key derived from the request id, so a crash
//! between a command and the checkpoint, a second node, or a replay from an earlier checkpoint repeats
//! nothing; and a request whose outcome is recorded is skipped. Rebuilding the read models never runs it
//! (it is not a projection with tables).

use std::sync::Arc;

use async_trait::async_trait;
use domain::company::CompanyCommand;
use domain::contract::ContractCommand;
use domain::policy::{PolicyCommand, Prolongation};
use domain::request::{ClientRequest, RequestCommand, RequestDetails};
use projections::engine::error::ProjectionError;
use projections::engine::process_manager::ProcessManager;
use projections::store::command::CommandError;
use projections::store::event::{CommandMeta, StoredEvent};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::app::App;
use crate::auth::security::Client;
use crate::auth::service::AccountService;
use crate::auth::{Actor, Role};
use crate::mail::Cause;

/// The consumer.
pub struct RequestEffects {
    app: App,
    accounts: Arc<AccountService>,
}

impl RequestEffects {
    /// Over the application's executors and account service.
    pub fn new(app: App) -> Self {
        let accounts = app.accounts.clone();
        Self { app, accounts }
    }
}

fn store_error(what: &str, e: impl std::fmt::Display) -> ProjectionError {
    ProjectionError::Effect(format!("{what}: {e}"))
}

/// A command's result as an outcome: applied, refused (a business rule), or retry (anything else).
fn outcome<E: std::fmt::Display + std::fmt::Debug>(
    r: Result<projections::store::command::CommandOutcome, CommandError<E>>,
    applied: String,
) -> Result<Result<String, String>, ProjectionError> {
    match r {
        Ok(_) => Ok(Ok(applied)),
        Err(CommandError::Rejected(e)) => Ok(Err(e.to_string())),
        Err(CommandError::Unique { constraint }) => Ok(Err(format!(
            "the change conflicts with existing data ({constraint})"
        ))),
        Err(e) => Err(store_error("applying a request's effect", e)),
    }
}

impl RequestEffects {
    /// Applies the effect of the completed request `id` (if it has one and it is not recorded yet).
    ///
    /// # Errors
    /// A store error (the consumer retries).
    pub async fn apply_effect(&self, id: Uuid, cause: &Cause) -> Result<(), ProjectionError> {
        let request: ClientRequest = self
            .app
            .requests
            .load(&id.to_string())
            .await
            .map_err(|e| store_error("loading a request", e))?;
        let Some(details) = request.details().cloned() else {
            return Ok(());
        };
        if !details.kind().has_effect() || request.effect_recorded() {
            return Ok(());
        }
        let mut meta = CommandMeta::system("request-effects");
        // The effect belongs to the story of the completion that caused it: same correlation id, caused by
        // the RequestCompleted event.
        meta.causation_id = cause
            .event
            .map_or_else(|| format!("request:{id}"), |p| format!("event:{p}"));
        meta.correlation_id = cause.correlation_id.clone();
        meta.idempotency_key = Some(format!("effect:{id}"));
        let company = request.company_id().unwrap_or_default();
        let contract = request.contract_id();
        // Imported documents an accounting-documents request delivers.
        let mut delivered = Vec::new();
        let result = match details {
            RequestDetails::RequisitesChange { change } => outcome(
                self.app
                    .companies
                    .execute(
                        &company.to_string(),
                        CompanyCommand::ChangeCompanyRequisites(Box::new(change)),
                        &meta,
                    )
                    .await,
                "the company's requisites were changed".into(),
            )?,
            RequestDetails::PartialRepayment { amount, date, mode } => outcome(
                self.app
                    .contracts
                    .execute(
                        &contract.unwrap_or_default().to_string(),
                        ContractCommand::RecalculateSchedule { date, amount, mode },
                        &meta,
                    )
                    .await,
                format!("the schedule was recalculated after an early repayment of {amount}"),
            )?,
            RequestDetails::EarlyBuyout { desired_date, .. } => {
                let date = desired_date.max(request.completed_on().unwrap_or(desired_date));
                outcome(
                    self.app
                        .contracts
                        .execute(
                            &contract.unwrap_or_default().to_string(),
                            ContractCommand::BuyOutEarly { date },
                            &meta,
                        )
                        .await,
                    format!("the contract was bought out on {date}"),
                )?
            }
            RequestDetails::InsuranceProlongation { policy_id, .. } => {
                match request.prolongation().cloned() {
                    None => Err("the completion carries no prolongation terms".to_owned()),
                    Some(p) => outcome(
                        self.app
                            .policies
                            .execute(
                                &policy_id.to_string(),
                                PolicyCommand::ProlongPolicy(Box::new(Prolongation {
                                    ends_on: p.ends_on,
                                    premium: p.premium,
                                    installments: p.installments,
                                    number: p.number,
                                    form: None,
                                })),
                                &meta,
                            )
                            .await,
                        format!("the policy was prolonged to {}", p.ends_on),
                    )?,
                }
            }
            RequestDetails::InsuranceTermsChange {
                policy_id,
                description,
            } => {
                let agreed = request.terms_change().cloned();
                outcome(
                    self.app
                        .policies
                        .execute(
                            &policy_id.to_string(),
                            PolicyCommand::ChangePolicyTerms(domain::policy::TermsChange {
                                sum_insured: agreed.as_ref().and_then(|t| t.sum_insured),
                                additional_premium: agreed.and_then(|t| t.additional_premium),
                                description,
                            }),
                            &meta,
                        )
                        .await,
                    "the policy's terms were changed".into(),
                )?
            }
            RequestDetails::VehicleInsurance { cover, .. } => match request.new_policy() {
                None => Err("the completion carries no policy".to_owned()),
                Some((p, form)) => {
                    // One policy per request, whatever happens to the first attempt: its id is the
                    // request's.
                    let policy = Uuid::new_v5(&id, b"vehicle-insurance-policy");
                    outcome(
                        self.app
                            .policies
                            .execute(
                                &policy.to_string(),
                                PolicyCommand::IssuePolicy(Box::new(domain::policy::PolicyTerms {
                                    policy_id: policy,
                                    contract_id: contract.unwrap_or_default(),
                                    insurer: p.insurer.clone(),
                                    kind: cover,
                                    number: p.number.clone(),
                                    starts_on: p.starts_on,
                                    ends_on: p.ends_on,
                                    sum_insured: p.sum_insured,
                                    premium: p.premium,
                                    installments: p.installments.clone(),
                                    payer: p.payer,
                                    form: form.cloned(),
                                })),
                                &meta,
                            )
                            .await,
                        format!("policy {} was issued ({policy})", p.number),
                    )?
                }
            },
            RequestDetails::EdoConnection {
                participant_id,
                roaming,
            } => {
                self.edo_connection(company, participant_id, roaming, &meta)
                    .await?
            }
            RequestDetails::AccountDeletion { .. } => self.delete_account(&request).await?,
            RequestDetails::LoginEmailChange { new_email } => {
                match (request.submitted_by(), new_email.get()) {
                    (Some(account), Some(email)) => {
                        match self.accounts.move_login(account, email).await {
                            Ok(done) => done,
                            Err(e) if e.is_infrastructure() => {
                                return Err(store_error("moving a login", e.into_cause()))
                            }
                            Err(e) => Err(e.message()),
                        }
                    }
                    (None, _) => Err("the request names no account".into()),
                    (_, None) => Err("the new address was destroyed".into()),
                }
            }
            RequestDetails::Certificate { .. } | RequestDetails::AccountingDocuments { .. } => {
                self.documents(id, &request, &details, &meta, cause, &mut delivered)
                    .await?
            }
            _ => return Ok(()),
        };
        meta.idempotency_key = Some(format!("effect-outcome:{id}"));
        match self
            .app
            .requests
            .execute(
                &id.to_string(),
                RequestCommand::RecordEffect {
                    outcome: result.clone(),
                    documents: if result.is_ok() { delivered } else { vec![] },
                },
                &meta,
            )
            .await
        {
            Ok(_) | Err(CommandError::Rejected(_)) => {}
            Err(e) => return Err(store_error("recording a request's effect", e)),
        }
        match result {
            Ok(detail) => tracing::info!(request = %id, detail, "request effect applied"),
            Err(reason) => tracing::warn!(request = %id, reason, "request effect refused"),
        }
        Ok(())
    }

    /// Generates the documents a certificate or accounting-documents request asks for (each with an id
    /// derived from the request, so a second run records nothing new), finds the accounting documents the
    /// accounting system issued for the period (their ids into `delivered`), then mails them all once.
    async fn documents(
        &self,
        id: Uuid,
        request: &ClientRequest,
        details: &RequestDetails,
        meta: &CommandMeta,
        cause: &Cause,
        delivered: &mut Vec<Uuid>,
    ) -> Result<Result<String, String>, ProjectionError> {
        use domain::document::DocumentKind;
        use domain::request::{AccountingDocument, CertificateKind};
        let Some(company) = request.company_id() else {
            return Ok(Err("the request names no company".into()));
        };
        let Some(contract) = request.contract_id() else {
            return Ok(Err("the request names no contract".into()));
        };
        let app = &self.app;
        let doc_id = |what: &str| Uuid::new_v5(&id, what.as_bytes());
        let mut notes = Vec::new();
        let mut imported = Vec::new();
        let email = match details {
            RequestDetails::Certificate { certificate, as_of } => {
                let kind = match certificate {
                    CertificateKind::NoDebt => DocumentKind::NoDebtCertificate,
                    CertificateKind::ContractInForce => DocumentKind::ContractInForceCertificate,
                    CertificateKind::BookValue => DocumentKind::BookValueCertificate,
                };
                match crate::app::documents::issue_certificate(
                    &app.document_service,
                    meta,
                    doc_id(kind.as_str()),
                    contract,
                    company,
                    Some(id),
                    kind,
                    *as_of,
                )
                .await
                {
                    Ok(_) => {}
                    Err(e) if e.is_infrastructure() => {
                        return Err(store_error("a certificate", e.into_cause()))
                    }
                    Err(e) => return Ok(Err(e.message())),
                }
                None
            }
            RequestDetails::AccountingDocuments {
                documents,
                from,
                to,
                email,
            } => {
                for d in documents {
                    let r = match d {
                        AccountingDocument::ReconciliationAct => {
                            crate::app::documents::issue_act(
                                &app.document_service,
                                meta,
                                doc_id("reconciliation_act"),
                                contract,
                                company,
                                Some(id),
                                *from,
                                *to,
                            )
                            .await
                        }
                        AccountingDocument::Os1 => {
                            crate::app::documents::issue_os1(
                                &app.document_service,
                                meta,
                                doc_id("os1"),
                                contract,
                                company,
                                Some(id),
                            )
                            .await
                        }
                        AccountingDocument::Invoice | AccountingDocument::Act => {
                            let (kinds, none) = if *d == AccountingDocument::Invoice {
                                (["tax_invoice", "upd"], "счетов-фактур и УПД")
                            } else {
                                (["act", "upd"], "актов и УПД")
                            };
                            let found = projections::views::documents::accounting_documents(
                                &app.pool, contract, &kinds, *from, *to,
                            )
                            .await?;
                            if found.is_empty() {
                                notes.push(format!(
                                    "{none} за период с {} по {} учётная система не передавала",
                                    from.format("%d.%m.%Y"),
                                    to.format("%d.%m.%Y")
                                ));
                            }
                            for f in found {
                                if !delivered.contains(&f.document_id) {
                                    delivered.push(f.document_id);
                                    imported.push(f);
                                }
                            }
                            continue;
                        }
                    };
                    match r {
                        Ok(_) => {}
                        Err(e) if e.is_infrastructure() => {
                            return Err(store_error("an accounting document", e.into_cause()))
                        }
                        Err(e) => notes.push(e.message()),
                    }
                }
                email.get().map(|e| e.as_str().to_owned())
            }
            _ => return Ok(Err("not a documents request".into())),
        };
        // What was recorded (also on a second run, whose generation changed nothing), then what the
        // accounting system issued.
        let mut recorded = projections::views::documents::request_documents(&app.pool, id).await?;
        recorded.retain(|r| !delivered.contains(&r.document_id));
        recorded.extend(imported);
        if recorded.is_empty() {
            return Ok(Err(if notes.is_empty() {
                "no document could be generated".into()
            } else {
                notes.join("; ")
            }));
        }
        let recipient = match email {
            Some(e) => Some(e),
            None => {
                sqlx::query_scalar::<_, String>("SELECT email FROM accounts WHERE account_id = $1")
                    .bind(request.submitted_by())
                    .fetch_optional(&app.pool)
                    .await?
            }
        };
        if let Some(to) = recipient {
            let titles: Vec<String> = recorded.iter().map(|d| d.title.clone()).collect();
            // Each document's file, and beside it the ФНС XML of an accounting document that has one.
            let files: Vec<crate::mail::transport::Attachment> = recorded
                .iter()
                .flat_map(|d| {
                    let formal =
                        d.formal_sha256
                            .as_ref()
                            .map(|sha256| crate::mail::transport::Attachment {
                                sha256: sha256.clone(),
                                name: d.formal_name.clone().unwrap_or_default(),
                                content_type: "application/xml".into(),
                            });
                    std::iter::once(crate::mail::transport::Attachment {
                        sha256: d.sha256.clone(),
                        name: d.name.clone(),
                        content_type: d.content_type.clone(),
                    })
                    .chain(formal)
                })
                .collect();
            // In the language of the person who asked (Russian when the account is gone).
            let mut conn = app.pool.acquire().await?;
            let locale = match request.submitted_by() {
                Some(account) => crate::auth::accounts::locale(&mut *conn, account).await?,
                None => crate::mail::templates::Locale::Ru,
            };
            let letter =
                crate::mail::templates::request_documents(locale, &app.outbox.site, &titles);
            app.outbox
                .enqueue_once_with_files(
                    &mut conn,
                    &format!("request-documents-{id}"),
                    &to,
                    letter,
                    &files,
                    Some(cause),
                )
                .await?;
        }
        let mut detail = format!(
            "documents issued: {}",
            recorded
                .iter()
                .map(|d| d.title.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !notes.is_empty() {
            detail.push_str(&format!(" ({})", notes.join("; ")));
        }
        Ok(Ok(detail))
    }

    /// A completed ЭДО connection request drives the company's EdoConnection: roaming (the client's own
    /// request, made by filing this one) is requested and activated; a connection through the lessor's
    /// operator needs the client's questionnaire and accepted offer and the id the operator assigned, so a
    /// connection not yet made is refused with what is missing.
    async fn edo_connection(
        &self,
        company: Uuid,
        participant: Option<domain::values::EdoParticipantId>,
        roaming: bool,
        meta: &CommandMeta,
    ) -> Result<Result<String, String>, ProjectionError> {
        use domain::edo::{EdoCommand, EdoStatus as S};
        let id = company.to_string();
        let connection = self
            .app
            .edo
            .load(&id)
            .await
            .map_err(|e| store_error("loading an ЭДО connection", e))?;
        let confirm = |meta: CommandMeta| async move {
            outcome(
                self.app
                    .edo
                    .execute(
                        &id,
                        EdoCommand::Confirm {
                            participant_id: None,
                        },
                        &meta,
                    )
                    .await,
                "roaming through the client's operator is active".to_owned(),
            )
        };
        let step = |suffix: &str| {
            let mut m = meta.clone();
            m.idempotency_key = m.idempotency_key.map(|k| format!("{k}:{suffix}"));
            m
        };
        Ok(match (connection.status(), roaming, participant) {
            (S::Connected | S::RoamingActive, ..) => {
                Ok(format!("the company is connected ({})", connection.status().as_str()))
            }
            (S::NotConnected | S::Rejected, true, Some(participant_id)) => {
                let requested = outcome(
                    self.app
                        .edo
                        .execute(
                            &company.to_string(),
                            EdoCommand::RequestRoaming {
                                company_id: company,
                                participant_id,
                            },
                            &step("roaming"),
                        )
                        .await,
                    String::new(),
                )?;
                match requested {
                    Ok(_) => confirm(step("confirm")).await?,
                    Err(e) => Err(e),
                }
            }
            (S::RoamingRequested, true, _) => confirm(step("confirm")).await?,
            (status, _, _) => Err(format!(
                "the connection through the lessor's operator is {}: the client files the questionnaire and                  accepts the offer in the ЭДО section, and staff confirm it there with the id the operator                  assigned",
                status.as_str()
            )),
        })
    }

    async fn delete_account(
        &self,
        request: &ClientRequest,
    ) -> Result<Result<String, String>, ProjectionError> {
        let Some(account) = request.submitted_by() else {
            return Ok(Err("the request names no account".into()));
        };
        let row: Option<(String, bool)> = sqlx::query_as(
            "SELECT email, deleted_at IS NOT NULL FROM accounts WHERE account_id = $1",
        )
        .bind(account)
        .fetch_optional(&self.app.pool)
        .await?;
        let Some((email, deleted)) = row else {
            return Ok(Err("the account no longer exists".into()));
        };
        if deleted {
            return Ok(Ok("the account was already deleted".into()));
        }
        let actor = Actor {
            account_id: account,
            email,
            roles: vec![Role::Client],
            memberships: Vec::new(),
            must_change_password: false,
            terms_required: None,
            totp_enrolment_required: false,
        };
        let client = Client {
            address: None,
            user_agent: Some("request-effects".into()),
        };
        match self.accounts.request_deletion(&actor, &client).await {
            Ok((_, destroy_by)) => Ok(Ok(format!(
                "the account was deleted; its personal data is destroyed by {}",
                destroy_by.date_naive()
            ))),
            Err(e) if e.is_infrastructure() => {
                Err(store_error("deleting an account", e.into_cause()))
            }
            Err(e) => Ok(Err(e.message())),
        }
    }
}

#[async_trait]
impl ProcessManager for RequestEffects {
    fn name(&self) -> &'static str {
        "request-effects"
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&["ClientRequest"])
    }

    async fn handle(
        &self,
        _conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        if e.event_type != "RequestCompleted" {
            return Ok(());
        }
        let Ok(id) = e.aggregate_id.parse::<Uuid>() else {
            return Ok(());
        };
        self.apply_effect(id, &Cause::event(e)).await
    }
}
