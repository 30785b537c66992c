//! The notifications read model, one inline projection (`notifications`): every event a lessee or the back
//! office should hear about becomes rows of `notifications`, with Russian and English texts, a link to the
//! entity, the business day and the recorded time.
//!
//! Reminders (a payment due in 5 days, a policy expiring within 30 days or expired) come from
//! `BusinessDayStarted` events: the projection keeps its own copies of the open schedule lines, the policies'
//! ends and the business day (`notification_lines`, `notification_policies`, `notification_business_day`),
//! so a replay gives the same reminders. A notification's id is derived from its event's position and its
//! ordinal among that event's notifications: a rebuild gives the same ids, and read marks
//! (`notification_reads`, account data outside the projection) keep pointing at them.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::NaiveDate;
use domain::clock::ClockEvent;
use domain::content::{NewsContent, NewsEvent, TermsEvent};
use domain::contract::{AllocationTarget, ContractEvent};
use domain::policy::PolicyEvent;
use domain::request::{Party, RequestEvent, RequestKind};
use domain::values::{FileRef, Money};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::engine::error::ProjectionError;
use crate::engine::read_model::ReadModel;
use crate::store::event::StoredEvent;

/// Days before a due date the reminder is sent.
pub const DUE_SOON_DAYS: i64 = 5;
/// Days before the end of cover a policy counts as expiring (as in `policies_view`).
pub const EXPIRING_WITHIN_DAYS: i64 = crate::views::policies::EXPIRING_WITHIN_DAYS as i64;

/// The namespace of notification ids (UUID v5 of "position:ordinal").
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_3c2e_9a4d_4e7b_8f10_2c5d_7e9a_0b41);

/// The id of the `ordinal`-th notification of the event at `position`.
pub fn notification_id(position: i64, ordinal: i32) -> Uuid {
    Uuid::new_v5(&ID_NAMESPACE, format!("{position}:{ordinal}").as_bytes())
}

/// Who a notification is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The company's CLIENT accounts (or every client when the company is not set).
    Client,
    /// The back office.
    Staff,
}

impl Audience {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Staff => "staff",
        }
    }
}

macro_rules! kinds {
    ($($variant:ident = $name:literal, $audience:ident, $email:literal, $doc:literal;)*) => {
        /// What a notification is about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum NotificationKind {
            $(#[doc = $doc] $variant,)*
        }

        impl NotificationKind {
            /// Every kind.
            pub const ALL: &'static [NotificationKind] = &[$(Self::$variant,)*];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// Who it is for.
            pub fn audience(self) -> Audience {
                match self { $(Self::$variant => Audience::$audience,)* }
            }

            /// Whether it is also mailed unless the account chose otherwise.
            pub fn email_by_default(self) -> bool {
                match self { $(Self::$variant => $email,)* }
            }

            /// What it is about, in a sentence.
            pub fn description(self) -> &'static str {
                match self { $(Self::$variant => $doc,)* }
            }
        }
    };
}

kinds! {
    ContractConcluded = "contract_concluded", Client, false, "A leasing contract was concluded.";
    ContractActivated = "contract_activated", Client, false, "The asset was handed over; the contract is in force.";
    PaymentReceived = "payment_received", Client, false, "A payment was received, with what it paid.";
    PaymentDueSoon = "payment_due_soon", Client, false, "A schedule payment is due in 5 days or less.";
    PaymentDueToday = "payment_due_today", Client, false, "A schedule payment is due today.";
    PaymentOverdue = "payment_overdue", Client, true, "A schedule payment was not received by its deadline.";
    PenaltyAccrued = "penalty_accrued", Client, false, "Penalties started accruing on an overdue payment.";
    FineRegistered = "fine_registered", Client, false, "A traffic fine was re-billed to the lessee.";
    PolicyExpiring = "policy_expiring", Client, false, "An insurance policy ends within 30 days.";
    PolicyExpired = "policy_expired", Client, false, "An insurance policy ended.";
    RequestStatusChanged = "request_status_changed", Client, false, "A request was taken into review.";
    RequestDecided = "request_decided", Client, true, "A request was completed or rejected.";
    RequestQuestion = "request_question", Client, true, "Staff asked a question on a request.";
    RequestComment = "request_comment", Client, false, "Staff commented on a request.";
    DocumentAvailable = "document_available", Client, false, "A document is available to download.";
    EdoStatusChanged = "edo_status_changed", Client, true, "The state of the ЭДО connection changed.";
    TermsChanged = "terms_changed", Client, false, "A new version of the terms of use was published.";
    NewsPublished = "news_published", Client, false, "News was published.";
    RequestSubmitted = "request_submitted", Staff, false, "A client filed a request (staff).";
    RequestClientReply = "request_client_reply", Staff, false, "A client commented or sent a file on a request (staff).";
    RequestWithdrawn = "request_withdrawn", Staff, false, "A client withdrew a request (staff).";
    RequestEffectFailed = "request_effect_failed", Staff, false, "A completed request's change was refused (staff).";
    SignatureRequested = "signature_requested", Client, true, "The lessor took a signing step on a document: sent it to sign, received, signed, refused or annulled it.";
    DocumentFromClient = "document_from_client", Staff, false, "A client uploaded a document or took a signing step (staff).";
    ConversationMessage = "conversation_message", Client, true, "The lessor wrote in the company's conversation.";
    ConversationMessageFromClient = "conversation_message_from_client", Staff, true, "A client wrote in the company's conversation (staff).";
    NotificationEscalated = "notification_escalated", Staff, true, "A notification the company's manager left unread was handed to the back office (staff).";
}

/// What staff notifications link to, by their stored names (an escalated copy links where its original
/// did).
const ENTITY_TYPES: &[&str] = &[
    "contract",
    "policy",
    "request",
    "document",
    "exchange_document",
    "news",
    "terms",
    "edo",
    "conversation",
];

impl NotificationKind {
    /// The kind by its stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// Rubles the Russian way: `45 000,00 ₽`.
pub fn rub_ru(d: Decimal) -> String {
    format!("{} ₽", Money::written(d, ' ', ','))
}

/// Rubles the English way: `RUB 45,000.00`.
pub fn rub_en(d: Decimal) -> String {
    format!("RUB {}", Money::written(d, ',', '.'))
}

fn date_ru(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// A request kind's name, in Russian and English.
pub fn request_kind_names(kind: RequestKind) -> (&'static str, &'static str) {
    match kind {
        RequestKind::VehiclePassport => ("Выдача ПТС/ЭПТС", "Vehicle passport"),
        RequestKind::TravelAbroad => ("Выезд за границу", "Travel abroad"),
        RequestKind::EarlyBuyout => ("Досрочный выкуп", "Early buyout"),
        RequestKind::PartialRepayment => {
            ("Частичное досрочное погашение", "Partial early repayment")
        }
        RequestKind::RequisitesChange => ("Смена реквизитов", "Change of requisites"),
        RequestKind::Certificate => ("Справка", "Certificate"),
        RequestKind::AccountingDocuments => ("Бухгалтерские документы", "Accounting documents"),
        RequestKind::InsuranceProlongation => ("Пролонгация страховки", "Insurance prolongation"),
        RequestKind::InsuranceTermsChange => {
            ("Изменение условий страхования", "Change of insurance terms")
        }
        RequestKind::VehicleInsurance => ("Страхование ТС", "Vehicle insurance"),
        RequestKind::InsuredEvent => ("Страховой случай", "Insured event"),
        RequestKind::Complaint => ("Жалоба", "Complaint"),
        RequestKind::TechnicalSupport => ("Техническая поддержка", "Technical support"),
        RequestKind::Consultation => ("Консультация", "Consultation"),
        RequestKind::EdoConnection => ("Подключение ЭДО", "ЭДО connection"),
        RequestKind::LoginEmailChange => ("Смена e-mail для входа", "Change of login e-mail"),
        RequestKind::AccountDeletion => ("Удаление учётной записи", "Account deletion"),
    }
}

fn policy_kind_names(kind: &str) -> Result<(&'static str, &'static str), ProjectionError> {
    Ok(match kind {
        "osago" => ("ОСАГО", "OSAGO"),
        "kasko" => ("КАСКО", "KASKO"),
        "property" => ("страхования имущества", "property insurance"),
        "other" => ("страхования", "insurance"),
        other => {
            return Err(ProjectionError::UnknownStored {
                column: "policy kind",
                value: other.to_owned(),
            })
        }
    })
}

/// The first `n` characters of `s`, with an ellipsis when cut.
fn excerpt(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(n).collect();
        format!("{}…", cut.trim_end())
    }
}

/// The companies a news item's notifications are for, sorted (`None`: one for every client).
fn news_targets(content: &NewsContent) -> Vec<Option<Uuid>> {
    if content.companies.is_empty() {
        vec![None]
    } else {
        content.companies.iter().copied().map(Some).collect()
    }
}

/// A notification about to be written.
struct Draft {
    company: Option<Uuid>,
    kind: NotificationKind,
    title: (String, String),
    text: (String, String),
    params: Value,
    entity: (&'static str, String),
}

impl Draft {
    #[allow(clippy::too_many_arguments)]
    fn new(
        company: Option<Uuid>,
        kind: NotificationKind,
        title_ru: impl Into<String>,
        text_ru: impl Into<String>,
        title_en: impl Into<String>,
        text_en: impl Into<String>,
        params: Value,
        entity: (&'static str, String),
    ) -> Self {
        Self {
            company,
            kind,
            title: (title_ru.into(), title_en.into()),
            text: (text_ru.into(), text_en.into()),
            params,
            entity,
        }
    }
}

/// The projection.
pub struct NotificationsProjection;

/// An open schedule line as the projection keeps it: the due-soon reminder is sent once per line.
#[derive(Debug, Clone, PartialEq)]
struct OpenLine {
    due_date: NaiveDate,
    outstanding: Decimal,
    reminded: bool,
}

/// What a contract event does to the contract's open lines. A batch applies these in memory and writes the
/// difference once (see [`NotificationsProjection::flush_contracts`]).
enum LineOp {
    /// Lines (re)scheduled: inserted, or replaced with their reminder reset.
    Upsert(Vec<(i32, NaiveDate, Decimal)>),
    /// A line paid down by an amount; gone when nothing remains.
    Reduce(i32, Decimal),
    /// Lines cancelled.
    Drop(Vec<i32>),
    /// The contract completed: no line stays open.
    DropAll,
}

impl LineOp {
    fn upsert(lines: &[domain::schedule::ScheduleLine]) -> Self {
        Self::Upsert(
            lines
                .iter()
                .map(|l| (l.number as i32, l.due_date, l.amount.amount()))
                .collect(),
        )
    }

    fn drop(lines: &[u32]) -> Self {
        Self::Drop(lines.iter().map(|l| *l as i32).collect())
    }

    fn apply(self, lines: &mut BTreeMap<i32, OpenLine>) {
        match self {
            Self::Upsert(new) => {
                for (line, due_date, outstanding) in new {
                    lines.insert(
                        line,
                        OpenLine {
                            due_date,
                            outstanding,
                            reminded: false,
                        },
                    );
                }
            }
            Self::Reduce(line, amount) => {
                if let Some(l) = lines.get_mut(&line) {
                    l.outstanding -= amount;
                    if l.outstanding <= Decimal::ZERO {
                        lines.remove(&line);
                    }
                }
            }
            Self::Drop(gone) => {
                for line in gone {
                    lines.remove(&line);
                }
            }
            Self::DropAll => lines.clear(),
        }
    }
}

/// Open lines to upsert, column by column (`unnest`): contract, line, due date, outstanding, reminded.
type ChangedLines = (Vec<Uuid>, Vec<i32>, Vec<NaiveDate>, Vec<Decimal>, Vec<bool>);

/// A contract as the projection knows it: its company and number, and its open lines.
#[derive(Debug, Clone, Default)]
struct KnownContract {
    registered: Option<(Uuid, String)>,
    lines: BTreeMap<i32, OpenLine>,
}

async fn request_of(
    conn: &mut PgConnection,
    request: Uuid,
) -> Result<Option<(Uuid, RequestKind)>, sqlx::Error> {
    let row: Option<(Uuid, String)> =
        sqlx::query_as("SELECT company_id, kind FROM notification_requests WHERE request_id = $1")
            .bind(request)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.and_then(|(c, k)| RequestKind::parse(&k).map(|k| (c, k))))
}

/// The notifications of a batch, written by one statement: each row as [`Pending::push`] received it.
#[derive(Default)]
struct Pending {
    id: Vec<Uuid>,
    company: Vec<Option<Uuid>>,
    audience: Vec<&'static str>,
    kind: Vec<&'static str>,
    title_ru: Vec<String>,
    text_ru: Vec<String>,
    title_en: Vec<String>,
    text_en: Vec<String>,
    params: Vec<Value>,
    entity_type: Vec<&'static str>,
    entity_id: Vec<String>,
    recorded_at: Vec<chrono::DateTime<chrono::Utc>>,
    transaction_id: Vec<i64>,
    position: Vec<i64>,
    ordinal: Vec<i32>,
}

impl Pending {
    /// The rows an event gives, numbered in the event's order.
    fn push(&mut self, e: &StoredEvent, drafts: Vec<Draft>) {
        for (i, d) in drafts.into_iter().enumerate() {
            let ordinal = i as i32;
            self.id.push(notification_id(e.position, ordinal));
            self.company.push(d.company);
            self.audience.push(d.kind.audience().as_str());
            self.kind.push(d.kind.as_str());
            self.title_ru.push(d.title.0);
            self.text_ru.push(d.text.0);
            self.title_en.push(d.title.1);
            self.text_en.push(d.text.1);
            self.params.push(d.params);
            self.entity_type.push(d.entity.0);
            self.entity_id.push(d.entity.1);
            self.recorded_at.push(e.recorded_at);
            self.transaction_id.push(e.transaction_id);
            self.position.push(e.position);
            self.ordinal.push(ordinal);
        }
    }

    /// Inserts the rows (one statement) and empties the buffer. Every row takes the business day the
    /// projection holds now: the batch writes its rows before a business day starts.
    async fn write(&mut self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if self.id.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(self);
        sqlx::query(
            "INSERT INTO notifications (id, company_id, audience, kind, title_ru, text_ru, title_en, text_en, \
               params, entity_type, entity_id, business_date, recorded_at, transaction_id, position, ordinal) \
             SELECT u.id, u.company_id, u.audience, u.kind, u.title_ru, u.text_ru, u.title_en, u.text_en, \
               u.params, u.entity_type, u.entity_id, (SELECT business_date FROM notification_business_day), \
               u.recorded_at, u.transaction_id::text::xid8, u.position, u.ordinal \
             FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
               $8::text[], $9::jsonb[], $10::text[], $11::text[], $12::timestamptz[], $13::bigint[], \
               $14::bigint[], $15::int[]) \
               AS u(id, company_id, audience, kind, title_ru, text_ru, title_en, text_en, params, entity_type, \
                    entity_id, recorded_at, transaction_id, position, ordinal)",
        )
        .bind(rows.id)
        .bind(rows.company)
        .bind(rows.audience)
        .bind(rows.kind)
        .bind(rows.title_ru)
        .bind(rows.text_ru)
        .bind(rows.title_en)
        .bind(rows.text_en)
        .bind(rows.params)
        .bind(rows.entity_type)
        .bind(rows.entity_id)
        .bind(rows.recorded_at)
        .bind(rows.transaction_id)
        .bind(rows.position)
        .bind(rows.ordinal)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

fn file_params(f: &FileRef) -> Value {
    json!({ "sha256": f.sha256, "name": f.name })
}

fn document(company: Uuid, f: &FileRef, context_ru: &str, context_en: &str) -> Draft {
    Draft::new(
        Some(company),
        NotificationKind::DocumentAvailable,
        "Доступен документ",
        format!("{}: {context_ru}.", f.name),
        "Document available",
        format!("{}: {context_en}.", f.name),
        file_params(f),
        ("document", f.sha256.clone()),
    )
}

impl NotificationsProjection {
    /// A contract event's notifications, with what it does to the contract's open lines (`ops`) and, for
    /// the conclusion, the company and number it registers. `known` is the company and number registered
    /// before; an event of a contract the projection never saw concluded gives nothing.
    #[allow(clippy::type_complexity)]
    fn contract(
        id: Uuid,
        known: Option<&(Uuid, String)>,
        event: ContractEvent,
        ops: &mut Vec<LineOp>,
    ) -> Result<(Option<(Uuid, String)>, Vec<Draft>), ProjectionError> {
        use NotificationKind as K;
        if let ContractEvent::ContractConcluded {
            company_id,
            number,
            date,
            price,
            lines,
            ..
        } = &event
        {
            ops.push(LineOp::upsert(lines));
            let p = price.amount();
            let draft = Draft::new(
                Some(*company_id),
                K::ContractConcluded,
                "Договор заключён",
                format!(
                    "Договор лизинга № {number} от {} заключён. Стоимость {}.",
                    date_ru(*date),
                    rub_ru(p)
                ),
                "Contract concluded",
                format!(
                    "Leasing contract {number} of {date} was concluded. Price {}.",
                    rub_en(p)
                ),
                json!({ "number": number, "date": date, "price": p }),
                ("contract", id.to_string()),
            );
            return Ok((Some((*company_id, number.clone())), vec![draft]));
        }
        let Some((company, number)) = known.cloned() else {
            return Ok((None, vec![]));
        };
        let c = Some(company);
        let link = || ("contract", id.to_string());
        let drafts = match event {
            ContractEvent::ContractConcluded { .. } => vec![],
            ContractEvent::ContractActivated { date } => vec![Draft::new(
                c,
                K::ContractActivated,
                "Договор вступил в силу",
                format!(
                    "Предмет лизинга по договору № {number} передан {}; график платежей действует.",
                    date_ru(date)
                ),
                "Contract in force",
                format!("The asset under contract {number} was handed over on {date}; the schedule applies."),
                json!({ "number": number, "date": date }),
                link(),
            )],
            ContractEvent::PaymentRecorded {
                bank_reference,
                date,
                amount,
                allocations,
                ..
            } => {
                let mut parts_ru = Vec::new();
                let mut parts_en = Vec::new();
                for a in &allocations {
                    let x = a.amount.amount();
                    let (ru, en) = match &a.target {
                        AllocationTarget::Line { number: line } => {
                            ops.push(LineOp::Reduce(*line as i32, x));
                            (format!("платёж № {line}"), format!("payment {line}"))
                        }
                        AllocationTarget::Penalties => ("пени".to_owned(), "penalties".to_owned()),
                        AllocationTarget::Fine { resolution_number } => (
                            format!("штраф {resolution_number}"),
                            format!("fine {resolution_number}"),
                        ),
                        AllocationTarget::Insurance => {
                            ("страхование".to_owned(), "insurance".to_owned())
                        }
                        AllocationTarget::Credit => (
                            "переплата (зачтётся в следующие платежи)".to_owned(),
                            "credit (applied to the next payments)".to_owned(),
                        ),
                    };
                    parts_ru.push(format!("{ru} — {}", rub_ru(x)));
                    parts_en.push(format!("{en} {}", rub_en(x)));
                }
                let a = amount.amount();
                vec![Draft::new(
                    c,
                    K::PaymentReceived,
                    "Платёж получен",
                    format!(
                        "Получен платёж {} от {} по договору № {number}: {}.",
                        rub_ru(a),
                        date_ru(date),
                        parts_ru.join("; ")
                    ),
                    "Payment received",
                    format!(
                        "A payment of {} of {date} was received under contract {number}: {}.",
                        rub_en(a),
                        parts_en.join("; ")
                    ),
                    json!({ "number": number, "date": date, "amount": a,
                            "bank_reference": bank_reference, "allocations": allocations }),
                    link(),
                )]
            }
            ContractEvent::CreditApplied { line, amount, .. } => {
                ops.push(LineOp::Reduce(line as i32, amount.amount()));
                vec![]
            }
            ContractEvent::PaymentFellDue {
                line,
                due_date,
                amount,
            } => {
                let a = amount.amount();
                vec![Draft::new(
                    c,
                    K::PaymentDueToday,
                    "Сегодня срок платежа",
                    format!(
                        "Сегодня, {}, срок платежа № {line} по договору № {number}: к оплате {}.",
                        date_ru(due_date),
                        rub_ru(a)
                    ),
                    "Payment due today",
                    format!("Payment {line} under contract {number} is due today, {due_date}: {} to pay.", rub_en(a)),
                    json!({ "number": number, "line": line, "due_date": due_date, "amount": a }),
                    link(),
                )]
            }
            ContractEvent::PaymentOverdue {
                line,
                deadline,
                amount,
                ..
            } => {
                let a = amount.amount();
                vec![Draft::new(
                    c,
                    K::PaymentOverdue,
                    "Платёж просрочен",
                    format!(
                        "Платёж № {line} по договору № {number} на {} не поступил до {}. Начисляются пени.",
                        rub_ru(a),
                        date_ru(deadline)
                    ),
                    "Payment overdue",
                    format!(
                        "Payment {line} of {} under contract {number} was not received by {deadline}. Penalties accrue.",
                        rub_en(a)
                    ),
                    json!({ "number": number, "line": line, "deadline": deadline, "amount": a }),
                    link(),
                )]
            }
            // Penalties are recomputed every day; the lessee hears when they start on a line, and sees the
            // daily figure in the debt.
            ContractEvent::PenaltyAccrued {
                line,
                days,
                amount,
                total,
                through,
                ..
            } if amount == total && !amount.is_negative() && !amount.amount().is_zero() => {
                let a = amount.amount();
                vec![Draft::new(
                    c,
                    K::PenaltyAccrued,
                    "Начислены пени",
                    format!(
                        "По договору № {number} начислены пени за просрочку платежа № {line}: {} за {days} дн. по {}.",
                        rub_ru(a),
                        date_ru(through)
                    ),
                    "Penalties accrued",
                    format!(
                        "Penalties of {} for {days} day(s) through {through} accrued on payment {line} under contract {number}.",
                        rub_en(a)
                    ),
                    json!({ "number": number, "line": line, "days": days, "amount": a, "through": through }),
                    link(),
                )]
            }
            ContractEvent::PenaltyAccrued { .. } => vec![],
            ContractEvent::TrafficFineRegistered {
                resolution_number,
                date,
                amount,
                vehicle,
                description,
                discount,
                fee,
                ..
            } => {
                let a = amount.amount();
                let fee = fee.amount();
                // What the lessee is asked to pay, and by when for the discount.
                let (terms_ru, terms_en) = match discount {
                    Some(d) => (
                        format!(
                            " При оплате до {} включительно — {} (скидка 50 %).",
                            date_ru(d.until),
                            rub_ru(d.amount.amount())
                        ),
                        format!(
                            " Paid by {} inclusive, it is {} (a 50% discount).",
                            d.until,
                            rub_en(d.amount.amount())
                        ),
                    ),
                    None => (String::new(), String::new()),
                };
                let (fee_ru, fee_en) = if fee.is_zero() {
                    (String::new(), String::new())
                } else {
                    (
                        format!(" Вознаграждение лизингодателя по договору — {}.", rub_ru(fee)),
                        format!(" The lessor's fee under the contract is {}.", rub_en(fee)),
                    )
                };
                vec![Draft::new(
                    c,
                    K::FineRegistered,
                    "Штраф ГИБДД",
                    format!(
                        "По договору № {number} выставлен штраф {} (постановление {resolution_number} от {}, {vehicle}): {description}.{terms_ru}{fee_ru}",
                        rub_ru(a),
                        date_ru(date)
                    ),
                    "Traffic fine",
                    format!(
                        "A traffic fine of {} was billed under contract {number} (resolution {resolution_number} of {date}, {vehicle}): {description}.{terms_en}{fee_en}",
                        rub_en(a)
                    ),
                    json!({ "number": number, "resolution_number": resolution_number, "date": date,
                            "amount": a, "vehicle": vehicle, "deadline": discount.map(|d| d.until) }),
                    link(),
                )]
            }
            ContractEvent::TrafficFineDiscountExpired { .. }
            | ContractEvent::FineFeeAgreed { .. }
            | ContractEvent::BookValueReported { .. } => {
                vec![]
            }
            ContractEvent::TrafficFinePaid { .. } => vec![],
            ContractEvent::ScheduleRecalculated { replaced, lines, .. }
            | ContractEvent::ScheduleReplaced { replaced, lines, .. } => {
                ops.push(LineOp::drop(&replaced));
                ops.push(LineOp::upsert(&lines));
                vec![]
            }
            ContractEvent::ContractBoughtOut {
                cancelled_lines,
                redemption_line,
                ..
            } => {
                ops.push(LineOp::drop(&cancelled_lines));
                if let Some((line, _)) = redemption_line {
                    ops.push(LineOp::drop(&[line]));
                }
                vec![]
            }
            ContractEvent::ContractTerminated {
                cancelled_lines, ..
            } => {
                ops.push(LineOp::drop(&cancelled_lines));
                vec![]
            }
            ContractEvent::ContractCompleted { .. } => {
                ops.push(LineOp::DropAll);
                vec![]
            }
        };
        Ok((None, drafts))
    }

    async fn policy(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<Vec<Draft>, ProjectionError> {
        let event: PolicyEvent = e.decode_event()?;
        let id = e.aggregate_uuid()?;
        if let PolicyEvent::PolicyIssued {
            company_id,
            kind,
            number,
            ends_on,
            form,
            ..
        } = &event
        {
            sqlx::query(
                "INSERT INTO notification_policies (policy_id, company_id, number, kind, ends_on) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (policy_id) DO NOTHING",
            )
            .bind(id)
            .bind(company_id)
            .bind(number)
            .bind(kind.as_str())
            .bind(ends_on)
            .execute(&mut *conn)
            .await?;
            let (ru, en) = policy_kind_names(kind.as_str())?;
            return Ok(form
                .iter()
                .map(|f| {
                    document(
                        *company_id,
                        f,
                        &format!("полис {ru} № {number}"),
                        &format!("{en} policy {number}"),
                    )
                })
                .collect());
        }
        let row: Option<(Uuid, String, String)> = sqlx::query_as(
            "SELECT company_id, number, kind FROM notification_policies WHERE policy_id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((company, number, kind)) = row else {
            return Ok(vec![]);
        };
        let (ru, en) = policy_kind_names(&kind)?;
        let form_doc = |f: &FileRef, number: &str| {
            document(
                company,
                f,
                &format!("полис {ru} № {number}"),
                &format!("{en} policy {number}"),
            )
        };
        Ok(match event {
            PolicyEvent::PolicyFormAttached { form } => vec![form_doc(&form, &number)],
            PolicyEvent::PolicyProlonged {
                ends_on,
                number: new_number,
                form,
                ..
            } => {
                sqlx::query(
                    "UPDATE notification_policies SET ends_on = $2, number = coalesce($3, number), \
                       expiring_sent = false, expired_sent = false WHERE policy_id = $1",
                )
                .bind(id)
                .bind(ends_on)
                .bind(&new_number)
                .execute(&mut *conn)
                .await?;
                let n = new_number.unwrap_or(number);
                form.iter().map(|f| form_doc(f, &n)).collect()
            }
            PolicyEvent::PolicyCancelled { .. } => {
                sqlx::query(
                    "UPDATE notification_policies SET cancelled = true WHERE policy_id = $1",
                )
                .bind(id)
                .execute(&mut *conn)
                .await?;
                vec![]
            }
            _ => vec![],
        })
    }

    async fn request(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<Vec<Draft>, ProjectionError> {
        use NotificationKind as K;
        let event: RequestEvent = e.decode_event()?;
        let id = e.aggregate_uuid()?;
        let link = || ("request", id.to_string());
        if let RequestEvent::RequestSubmitted {
            company_id,
            details,
            due_on,
            ..
        } = &event
        {
            let kind = details.kind();
            sqlx::query(
                "INSERT INTO notification_requests (request_id, company_id, kind) VALUES ($1, $2, $3) \
                 ON CONFLICT (request_id) DO NOTHING",
            )
            .bind(id)
            .bind(company_id)
            .bind(kind.as_str())
            .execute(&mut *conn)
            .await?;
            let (ru, en) = request_kind_names(kind);
            return Ok(vec![Draft::new(
                Some(*company_id),
                K::RequestSubmitted,
                "Новая заявка",
                format!(
                    "Подана заявка «{ru}»; срок рассмотрения — {}.",
                    date_ru(*due_on)
                ),
                "New request",
                format!("A request “{en}” was filed; it is due on {due_on}."),
                json!({ "kind": kind.as_str(), "due_on": due_on }),
                link(),
            )]);
        }
        let Some((company, kind)) = request_of(conn, id).await? else {
            return Ok(vec![]);
        };
        let c = Some(company);
        let (ru, en) = request_kind_names(kind);
        let edo = kind == RequestKind::EdoConnection;
        let status_kind = |decided: bool| match (edo, decided) {
            (true, _) => K::EdoStatusChanged,
            (false, true) => K::RequestDecided,
            (false, false) => K::RequestStatusChanged,
        };
        let params = |status: &str, extra: Value| {
            let mut p = json!({ "kind": kind.as_str(), "status": status });
            if let (Some(p), Value::Object(x)) = (p.as_object_mut(), extra) {
                p.extend(x);
            }
            p
        };
        Ok(match event {
            RequestEvent::RequestSubmitted { .. } => vec![],
            RequestEvent::RequestTakenIntoReview => vec![Draft::new(
                c,
                status_kind(false),
                "Заявка принята в работу",
                format!("Заявка «{ru}» принята в работу."),
                "Request in review",
                format!("Your request “{en}” is in review."),
                params("in_review", json!({})),
                link(),
            )],
            RequestEvent::InformationRequested { question } => vec![Draft::new(
                c,
                K::RequestQuestion,
                "Вопрос по заявке",
                format!(
                    "По заявке «{ru}» нужен ваш ответ: {}",
                    excerpt(&question, 300)
                ),
                "Question on your request",
                format!(
                    "Your request “{en}” needs an answer: {}",
                    excerpt(&question, 300)
                ),
                params("needs_information", json!({ "question": question })),
                link(),
            )],
            RequestEvent::InformationProvided | RequestEvent::EffectApplied { .. } => vec![],
            RequestEvent::CommentAdded {
                party: Party::Staff,
                text,
                ..
            } => vec![Draft::new(
                c,
                K::RequestComment,
                "Комментарий по заявке",
                format!("Комментарий по заявке «{ru}»: {}", excerpt(&text, 300)),
                "Comment on your request",
                format!("A comment on your request “{en}”: {}", excerpt(&text, 300)),
                params("", json!({ "comment": text })),
                link(),
            )],
            RequestEvent::CommentAdded { text, .. } => vec![Draft::new(
                c,
                K::RequestClientReply,
                "Ответ клиента",
                format!("Клиент написал по заявке «{ru}»: {}", excerpt(&text, 300)),
                "Client reply",
                format!(
                    "The client wrote on the request “{en}”: {}",
                    excerpt(&text, 300)
                ),
                params("", json!({ "comment": text })),
                link(),
            )],
            RequestEvent::AttachmentAdded {
                party: Party::Staff,
                file,
            } => vec![document(
                company,
                &file,
                &format!("файл по заявке «{ru}»"),
                &format!("a file on the request “{en}”"),
            )],
            RequestEvent::AttachmentAdded { file, .. } => vec![Draft::new(
                c,
                K::RequestClientReply,
                "Файл от клиента",
                format!("Клиент приложил файл {} к заявке «{ru}».", file.name),
                "File from the client",
                format!("The client attached {} to the request “{en}”.", file.name),
                params("", file_params(&file)),
                link(),
            )],
            RequestEvent::RequestCompleted { note, result, .. } => {
                let tail_ru = note
                    .as_deref()
                    .map(|n| format!(" {}", excerpt(n, 300)))
                    .unwrap_or_default();
                let tail_en = tail_ru.clone();
                let mut out = vec![Draft::new(
                    c,
                    status_kind(true),
                    if edo {
                        "ЭДО подключён"
                    } else {
                        "Заявка выполнена"
                    },
                    format!("Заявка «{ru}» выполнена.{tail_ru}"),
                    if edo {
                        "ЭДО connected"
                    } else {
                        "Request completed"
                    },
                    format!("Your request “{en}” was completed.{tail_en}"),
                    params("completed", json!({ "note": note })),
                    link(),
                )];
                if let Some(f) = &result {
                    out.push(document(
                        company,
                        f,
                        &format!("результат заявки «{ru}»"),
                        &format!("the result of the request “{en}”"),
                    ));
                }
                out
            }
            RequestEvent::RequestRejected { reason } => vec![Draft::new(
                c,
                status_kind(true),
                if edo {
                    "В подключении ЭДО отказано"
                } else {
                    "Заявка отклонена"
                },
                format!("Заявка «{ru}» отклонена: {}", excerpt(&reason, 300)),
                if edo {
                    "ЭДО connection refused"
                } else {
                    "Request rejected"
                },
                format!(
                    "Your request “{en}” was rejected: {}",
                    excerpt(&reason, 300)
                ),
                params("rejected", json!({ "reason": reason })),
                link(),
            )],
            RequestEvent::RequestWithdrawn { reason } => vec![Draft::new(
                c,
                K::RequestWithdrawn,
                "Заявка отозвана",
                format!(
                    "Клиент отозвал заявку «{ru}».{}",
                    reason
                        .as_deref()
                        .map(|r| format!(" {r}"))
                        .unwrap_or_default()
                ),
                "Request withdrawn",
                format!(
                    "The client withdrew the request “{en}”.{}",
                    reason
                        .as_deref()
                        .map(|r| format!(" {r}"))
                        .unwrap_or_default()
                ),
                params("withdrawn", json!({ "reason": reason })),
                link(),
            )],
            RequestEvent::EffectFailed { reason } => vec![Draft::new(
                c,
                K::RequestEffectFailed,
                "Заявка не исполнена",
                format!("Изменение по выполненной заявке «{ru}» не применено: {reason}"),
                "Request effect failed",
                format!("The change of the completed request “{en}” was refused: {reason}"),
                params("completed", json!({ "reason": reason })),
                link(),
            )],
        })
    }

    async fn day(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<Vec<Draft>, ProjectionError> {
        use NotificationKind as K;
        let ClockEvent::BusinessDayStarted { date } = e.decode_event()?;
        sqlx::query(
            "INSERT INTO notification_business_day (singleton, business_date) VALUES (true, $1) \
             ON CONFLICT (singleton) DO UPDATE SET business_date = EXCLUDED.business_date",
        )
        .bind(date)
        .execute(&mut *conn)
        .await?;
        let mut out = Vec::new();
        let soon = sqlx::query(
            "WITH due AS (UPDATE notification_lines SET reminded = true \
               WHERE NOT reminded AND outstanding > 0 AND due_date > $1 AND due_date <= $1 + $2::int \
               RETURNING contract_id, line, due_date, outstanding) \
             SELECT due.*, c.company_id, c.number FROM due JOIN notification_contracts c USING (contract_id) \
             ORDER BY due.due_date, c.number, due.contract_id, due.line",
        )
        .bind(date)
        .bind(DUE_SOON_DAYS as i32)
        .fetch_all(&mut *conn)
        .await?;
        for r in soon {
            let (contract, line, due, amount, company, number): (
                Uuid,
                i32,
                NaiveDate,
                Decimal,
                Uuid,
                String,
            ) = (
                r.try_get("contract_id")?,
                r.try_get("line")?,
                r.try_get("due_date")?,
                r.try_get("outstanding")?,
                r.try_get("company_id")?,
                r.try_get("number")?,
            );
            let days = (due - date).num_days();
            out.push(Draft::new(
                Some(company),
                K::PaymentDueSoon,
                "Скоро платёж",
                format!(
                    "Платёж № {line} по договору № {number} на {} — срок {} (через {days} дн.).",
                    rub_ru(amount),
                    date_ru(due)
                ),
                "Payment due soon",
                format!(
                    "Payment {line} of {} under contract {number} is due on {due} (in {days} day(s)).",
                    rub_en(amount)
                ),
                json!({ "number": number, "line": line, "due_date": due, "amount": amount, "days": days }),
                ("contract", contract.to_string()),
            ));
        }
        for expired in [false, true] {
            let sql = if expired {
                "UPDATE notification_policies SET expired_sent = true \
                 WHERE NOT cancelled AND NOT expired_sent AND ends_on < $1 \
                 RETURNING policy_id, company_id, number, kind, ends_on"
            } else {
                "UPDATE notification_policies SET expiring_sent = true \
                 WHERE NOT cancelled AND NOT expiring_sent AND NOT expired_sent \
                   AND ends_on >= $1 AND ends_on <= $1 + $2::int \
                 RETURNING policy_id, company_id, number, kind, ends_on"
            };
            let mut rows: Vec<(Uuid, Uuid, String, String, NaiveDate)> = sqlx::query_as(sql)
                .bind(date)
                .bind(EXPIRING_WITHIN_DAYS as i32)
                .fetch_all(&mut *conn)
                .await?;
            rows.sort_by(|a, b| (a.4, &a.2, a.0).cmp(&(b.4, &b.2, b.0)));
            for (policy, company, number, kind, ends_on) in rows {
                let (ru, en) = policy_kind_names(&kind)?;
                let params = json!({ "number": number, "kind": kind, "ends_on": ends_on });
                let link = ("policy", policy.to_string());
                out.push(if expired {
                    Draft::new(
                        Some(company),
                        K::PolicyExpired,
                        "Полис истёк",
                        format!("Полис {ru} № {number} истёк {}. Предмет лизинга должен быть застрахован.", date_ru(ends_on)),
                        "Policy expired",
                        format!("The {en} policy {number} ended on {ends_on}. The asset must stay insured."),
                        params,
                        link,
                    )
                } else {
                    let days = (ends_on - date).num_days();
                    Draft::new(
                        Some(company),
                        K::PolicyExpiring,
                        "Полис скоро истекает",
                        format!("Полис {ru} № {number} действует до {} (осталось {days} дн.). Подайте заявку на пролонгацию.", date_ru(ends_on)),
                        "Policy ends soon",
                        format!("The {en} policy {number} ends on {ends_on} (in {days} day(s)). File a prolongation request."),
                        params,
                        link,
                    )
                });
            }
        }
        Ok(out)
    }

    async fn news(
        &self,
        conn: &mut PgConnection,
        e: &StoredEvent,
    ) -> Result<Vec<Draft>, ProjectionError> {
        let event: NewsEvent = e.decode_event()?;
        let id = e.aggregate_id.clone();
        let drafts = |content: &NewsContent| -> Vec<Draft> {
            news_targets(content)
                .into_iter()
                .map(|c| {
                    Draft::new(
                        c,
                        NotificationKind::NewsPublished,
                        content.title.clone(),
                        excerpt(&content.text, 300),
                        content.title.clone(),
                        excerpt(&content.text, 300),
                        json!({ "date": content.date }),
                        ("news", id.clone()),
                    )
                })
                .collect()
        };
        Ok(match event {
            NewsEvent::NewsPublished { content, .. } => drafts(&content),
            NewsEvent::NewsEdited { content } => {
                let mut before: Vec<Option<Uuid>> = sqlx::query_scalar(
                    "SELECT company_id FROM notifications WHERE entity_type = 'news' AND entity_id = $1",
                )
                .bind(&id)
                .fetch_all(&mut *conn)
                .await?;
                before.sort_unstable();
                if before == news_targets(&content) {
                    sqlx::query(
                        "UPDATE notifications SET title_ru = $2, title_en = $2, text_ru = $3, text_en = $3, \
                           params = $4 WHERE entity_type = 'news' AND entity_id = $1",
                    )
                    .bind(&id)
                    .bind(&content.title)
                    .bind(excerpt(&content.text, 300))
                    .bind(json!({ "date": content.date }))
                    .execute(&mut *conn)
                    .await?;
                    vec![]
                } else {
                    // Addressed to other companies now: the old notifications go, new ones come.
                    sqlx::query(
                        "DELETE FROM notifications WHERE entity_type = 'news' AND entity_id = $1",
                    )
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                    drafts(&content)
                }
            }
            NewsEvent::NewsUnpublished => {
                sqlx::query(
                    "DELETE FROM notifications WHERE entity_type = 'news' AND entity_id = $1",
                )
                .bind(&id)
                .execute(&mut *conn)
                .await?;
                vec![]
            }
        })
    }

    fn terms(&self, e: &StoredEvent) -> Result<Vec<Draft>, ProjectionError> {
        let TermsEvent::TermsPublished { version, .. } = e.decode_event()?;
        Ok(vec![Draft::new(
            None,
            NotificationKind::TermsChanged,
            "Обновлены условия использования",
            format!("Опубликована редакция № {version} условий использования личного кабинета. Ознакомьтесь с ней и примите её при следующем входе."),
            "Terms of use updated",
            format!("Version {version} of the cabinet's terms of use was published. Read and accept it at your next sign-in."),
            json!({ "version": version }),
            ("terms", version.to_string()),
        )])
    }

    /// Applies a run of consecutive contract events: the contracts they name are read once (company,
    /// number, open lines), the events folded in memory in order, the changed lines written once, and the
    /// notifications added to `pending`.
    async fn flush_contracts(
        conn: &mut PgConnection,
        segment: &mut Vec<(&StoredEvent, Uuid, ContractEvent)>,
        pending: &mut Pending,
    ) -> Result<(), ProjectionError> {
        if segment.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<Uuid> = segment.iter().map(|s| s.1).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = sqlx::query(
            "SELECT c.contract_id, c.company_id, c.number, l.line, l.due_date, l.outstanding, l.reminded \
             FROM notification_contracts c LEFT JOIN notification_lines l USING (contract_id) \
             WHERE c.contract_id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        let mut known: HashMap<Uuid, KnownContract> = HashMap::with_capacity(ids.len());
        for r in rows {
            let k = known.entry(r.try_get("contract_id")?).or_default();
            k.registered = Some((r.try_get("company_id")?, r.try_get("number")?));
            if let Some(line) = r.try_get::<Option<i32>, _>("line")? {
                k.lines.insert(
                    line,
                    OpenLine {
                        due_date: r.try_get("due_date")?,
                        outstanding: r.try_get("outstanding")?,
                        reminded: r.try_get("reminded")?,
                    },
                );
            }
        }
        let before = known.clone();
        for (e, id, event) in segment.drain(..) {
            let k = known.entry(id).or_default();
            let mut ops = Vec::new();
            let (registers, drafts) = Self::contract(id, k.registered.as_ref(), event, &mut ops)?;
            if let Some(r) = registers {
                // The first registration stays (a repeated conclusion does not rename the contract).
                k.registered.get_or_insert(r);
            }
            if k.registered.is_some() {
                for op in ops {
                    op.apply(&mut k.lines);
                }
            }
            pending.push(e, drafts);
        }
        // The difference, written once.
        let mut new_contracts: (Vec<Uuid>, Vec<Uuid>, Vec<String>) = Default::default();
        let mut gone: (Vec<Uuid>, Vec<i32>) = Default::default();
        let mut changed = ChangedLines::default();
        let empty = KnownContract::default();
        for (id, k) in &known {
            let was = before.get(id).unwrap_or(&empty);
            if let (None, Some((company, number))) = (&was.registered, &k.registered) {
                new_contracts.0.push(*id);
                new_contracts.1.push(*company);
                new_contracts.2.push(number.clone());
            }
            for line in was.lines.keys().filter(|l| !k.lines.contains_key(l)) {
                gone.0.push(*id);
                gone.1.push(*line);
            }
            for (line, l) in &k.lines {
                if was.lines.get(line) != Some(l) {
                    changed.0.push(*id);
                    changed.1.push(*line);
                    changed.2.push(l.due_date);
                    changed.3.push(l.outstanding);
                    changed.4.push(l.reminded);
                }
            }
        }
        if !new_contracts.0.is_empty() {
            sqlx::query(
                "INSERT INTO notification_contracts (contract_id, company_id, number) \
                 SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[]) ON CONFLICT (contract_id) DO NOTHING",
            )
            .bind(new_contracts.0)
            .bind(new_contracts.1)
            .bind(new_contracts.2)
            .execute(&mut *conn)
            .await?;
        }
        if !gone.0.is_empty() {
            sqlx::query(
                "DELETE FROM notification_lines l USING unnest($1::uuid[], $2::int[]) AS g(contract_id, line) \
                 WHERE l.contract_id = g.contract_id AND l.line = g.line",
            )
            .bind(gone.0)
            .bind(gone.1)
            .execute(&mut *conn)
            .await?;
        }
        if !changed.0.is_empty() {
            sqlx::query(
                "INSERT INTO notification_lines (contract_id, line, due_date, outstanding, reminded) \
                 SELECT * FROM unnest($1::uuid[], $2::int[], $3::date[], $4::numeric[], $5::bool[]) \
                 ON CONFLICT (contract_id, line) DO UPDATE SET due_date = EXCLUDED.due_date, \
                   outstanding = EXCLUDED.outstanding, reminded = EXCLUDED.reminded",
            )
            .bind(changed.0)
            .bind(changed.1)
            .bind(changed.2)
            .bind(changed.3)
            .bind(changed.4)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl ReadModel for NotificationsProjection {
    fn name(&self) -> &'static str {
        "notifications"
    }

    fn version(&self) -> i32 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "notifications",
            "notification_contracts",
            "notification_lines",
            "notification_policies",
            "notification_requests",
            "notification_business_day",
        ]
    }

    fn aggregate_types(&self) -> Option<&'static [&'static str]> {
        Some(&[
            "Contract",
            "Policy",
            "ClientRequest",
            "BusinessClock",
            "News",
            "TermsOfUse",
            "EdoConnection",
            "Document",
            "Conversation",
            "StaffInbox",
        ])
    }

    async fn apply(&self, conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
        self.apply_batch(conn, std::slice::from_ref(e)).await
    }

    /// Contract events (most of the log) are folded in memory a run at a time; any other event first
    /// writes what came before it (its handler reads the tables: open lines on a new business day, the news
    /// notifications on an edit) and is applied on its own. The notifications of the batch are inserted by
    /// one statement at each such point and at the end.
    async fn apply_batch(
        &self,
        conn: &mut PgConnection,
        events: &[StoredEvent],
    ) -> Result<(), ProjectionError> {
        let mut segment = Vec::new();
        let mut pending = Pending::default();
        for e in events {
            if e.aggregate_type == "Contract" {
                segment.push((e, e.aggregate_uuid()?, e.decode_event::<ContractEvent>()?));
                continue;
            }
            Self::flush_contracts(conn, &mut segment, &mut pending).await?;
            pending.write(conn).await?;
            let drafts = match e.aggregate_type.as_str() {
                "Policy" => self.policy(conn, e).await?,
                "ClientRequest" => self.request(conn, e).await?,
                "BusinessClock" => self.day(conn, e).await?,
                "News" => self.news(conn, e).await?,
                "TermsOfUse" => self.terms(e)?,
                "EdoConnection" => edo(e)?,
                "Document" => exchange_document(conn, e).await?,
                "Conversation" => conversation(e)?,
                "StaffInbox" => escalated(conn, e).await?,
                _ => continue,
            };
            pending.push(e, drafts);
        }
        Self::flush_contracts(conn, &mut segment, &mut pending).await?;
        pending.write(conn).await?;
        Ok(())
    }
}

/// A message in a company's conversation: the other side hears of it (staff: the company's manager first).
fn conversation(e: &StoredEvent) -> Result<Vec<Draft>, ProjectionError> {
    let domain::conversation::ConversationEvent::MessagePosted {
        company_id,
        message_id,
        party,
        text,
        attachments,
        ..
    } = e.decode_event()?;
    let files = attachments.len();
    let (about_ru, about_en) = if text.is_empty() {
        (format!("файлов: {files}"), format!("{files} file(s)"))
    } else {
        (excerpt(&text, 300), excerpt(&text, 300))
    };
    let params = json!({ "message": message_id, "files": files });
    let link = ("conversation", company_id.to_string());
    Ok(vec![match party {
        Party::Staff => Draft::new(
            Some(company_id),
            NotificationKind::ConversationMessage,
            "Сообщение от менеджера",
            format!("Лизингодатель пишет: {about_ru}"),
            "Message from your manager",
            format!("The lessor writes: {about_en}"),
            params,
            link,
        ),
        Party::Client => Draft::new(
            Some(company_id),
            NotificationKind::ConversationMessageFromClient,
            "Сообщение клиента",
            format!("Клиент пишет: {about_ru}"),
            "Message from a client",
            format!("A client writes: {about_en}"),
            params,
            link,
        ),
    }])
}

/// Notifications a manager left unread, handed to the back office: a copy of each, linking where the
/// original did.
async fn escalated(
    conn: &mut PgConnection,
    e: &StoredEvent,
) -> Result<Vec<Draft>, ProjectionError> {
    let domain::inbox::StaffInboxEvent::NotificationsEscalated {
        company_id,
        manager,
        waited_minutes,
        notifications,
        ..
    } = e.decode_event()?;
    let originals: Vec<Original> = sqlx::query_as(
        "SELECT id, title_ru, text_ru, title_en, text_en, params, entity_type, entity_id FROM notifications \
         WHERE id = ANY($1) ORDER BY transaction_id, position, ordinal",
    )
    .bind(&notifications)
    .fetch_all(&mut *conn)
    .await?;
    originals
        .into_iter()
        .map(|o| {
            // A link this code does not know is a disagreement between the table and the code: an error,
            // not a copy linking somewhere else.
            let entity = ENTITY_TYPES
                .iter()
                .copied()
                .find(|t| *t == o.entity_type)
                .ok_or_else(|| ProjectionError::UnknownStored {
                    column: "notifications.entity_type",
                    value: o.entity_type.clone(),
                })?;
            // The original's values, and what the escalation adds.
            let mut params = o.params;
            if let Value::Object(p) = &mut params {
                p.insert("of".into(), json!(o.id));
                p.insert("manager".into(), json!(manager));
                p.insert("waitedMinutes".into(), json!(waited_minutes));
            }
            Ok(Draft::new(
                Some(company_id),
                NotificationKind::NotificationEscalated,
                format!("Без ответа менеджера: {}", o.title_ru),
                format!("{} (менеджер не прочёл за {waited_minutes} мин)", o.text_ru),
                format!("Unanswered by the manager: {}", o.title_en),
                format!(
                    "{} (the manager has not read it in {waited_minutes} min)",
                    o.text_en
                ),
                params,
                (entity, o.entity_id),
            ))
        })
        .collect()
}

/// A notification an escalation copies.
#[derive(sqlx::FromRow)]
struct Original {
    id: Uuid,
    title_ru: String,
    text_ru: String,
    title_en: String,
    text_en: String,
    params: Value,
    entity_type: String,
    entity_id: String,
}

/// ЭДО connection steps: the client hears of each.
fn edo(e: &StoredEvent) -> Result<Vec<Draft>, ProjectionError> {
    use domain::edo::EdoEvent as E;
    let company = e.aggregate_uuid()?;
    let event: E = e.decode_event()?;
    let (ru, en) = match &event {
        E::EdoQuestionnaireSubmitted { .. } => (
            "анкета на подключение получена и передана оператору".to_owned(),
            "the questionnaire was received and passed to the operator".to_owned(),
        ),
        E::EdoOfferAccepted { version } => (
            format!("оферта (версия {version}) принята, ожидается подключение оператором"),
            format!("the offer (version {version}) was accepted; the operator is connecting you"),
        ),
        E::EdoConnected { participant_id } => (
            format!("подключение установлено, ваш идентификатор участника {participant_id}"),
            format!("connected; your participant id is {participant_id}"),
        ),
        E::EdoRoamingRequested { participant_id, .. } => (
            format!("запрошен роуминг для идентификатора {participant_id}"),
            format!("roaming was requested for {participant_id}"),
        ),
        E::EdoRoamingActivated => (
            "роуминг настроен, документы будут приходить через вашего оператора".to_owned(),
            "roaming works; documents come through your operator".to_owned(),
        ),
        E::EdoConnectionRejected { reason } => (
            format!("в подключении отказано: {}", excerpt(reason, 300)),
            format!("the connection was refused: {}", excerpt(reason, 300)),
        ),
    };
    Ok(vec![Draft::new(
        Some(company),
        NotificationKind::EdoStatusChanged,
        "ЭДО",
        format!("Электронный документооборот: {ru}."),
        "Electronic document exchange",
        format!("Electronic document exchange: {en}."),
        json!({ "status": event.status().as_str() }),
        ("edo", company.to_string()),
    )])
}

/// Documents: the client hears of documents the lessor issues and of signing steps that need it; staff of
/// documents and signing steps from clients.
async fn exchange_document(
    conn: &mut PgConnection,
    e: &StoredEvent,
) -> Result<Vec<Draft>, ProjectionError> {
    use domain::document::DocumentEvent as E;
    let id = e.aggregate_uuid()?;
    let event: E = e.decode_event()?;
    let link = ("exchange_document", id.to_string());
    if let E::DocumentIssued { party, info, .. } = &event {
        let params =
            json!({ "kind": info.kind.as_str(), "title": info.title, "sha256": info.file.sha256 });
        return Ok(vec![match party {
            Party::Staff => Draft::new(
                Some(info.company_id),
                NotificationKind::DocumentAvailable,
                "Доступен документ",
                format!("{}: документ от лизингодателя.", info.title),
                "Document available",
                format!("{}: a document from the lessor.", info.title),
                params,
                link,
            ),
            Party::Client => Draft::new(
                Some(info.company_id),
                NotificationKind::DocumentFromClient,
                "Документ от клиента",
                format!("Клиент загрузил документ «{}».", info.title),
                "Document from a client",
                format!("A client uploaded “{}”.", info.title),
                params,
                link,
            ),
        }]);
    }
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT company_id, title FROM exchange_documents_view WHERE document_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((company, title)) = row else {
        return Ok(vec![]);
    };
    // The step's side; the other side is told.
    let (actor, ru, en) = match &event {
        E::DocumentIssued { .. } => return Ok(vec![]),
        E::DocumentSentForSignature { signature } => (
            signature.party,
            "направлен на подпись".to_owned(),
            "was sent for signature".to_owned(),
        ),
        E::DocumentDelivered { party } => (
            *party,
            "получен второй стороной".to_owned(),
            "was received by the other side".to_owned(),
        ),
        E::DocumentSigned { signature } => (
            signature.party,
            "подписан обеими сторонами".to_owned(),
            "was signed by both sides".to_owned(),
        ),
        E::DocumentSignatureRejected { party, reason } => (
            *party,
            format!("не подписан: {}", excerpt(reason, 300)),
            format!("was refused: {}", excerpt(reason, 300)),
        ),
        E::DocumentAnnulmentRequested { party, reason } => (
            *party,
            format!("предложено аннулировать: {}", excerpt(reason, 300)),
            format!("annulment was proposed: {}", excerpt(reason, 300)),
        ),
        E::DocumentAnnulled { party } => {
            (*party, "аннулирован".to_owned(), "was annulled".to_owned())
        }
    };
    let kind = match actor {
        Party::Staff => NotificationKind::SignatureRequested,
        Party::Client => NotificationKind::DocumentFromClient,
    };
    Ok(vec![Draft::new(
        Some(company),
        kind,
        "Подписание документа",
        format!("Документ «{title}» {ru}."),
        "Document signing",
        format!("The document “{title}” {en}."),
        json!({ "event": e.event_type, "title": title }),
        link,
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn rubles_are_grouped_by_thousands_the_russian_and_the_english_way() {
        assert_eq!(rub_ru(dec!(45000)), "45 000,00 ₽");
        assert_eq!(rub_ru(dec!(1234567.8)), "1 234 567,80 ₽");
        assert_eq!(rub_ru(dec!(120.5)), "120,50 ₽");
        assert_eq!(rub_en(dec!(1234567.891)), "RUB 1,234,567.89");
        assert_eq!(rub_en(dec!(-1500)), "RUB -1,500.00");
    }

    #[test]
    fn a_batch_folds_open_lines_as_the_statements_one_by_one_did() {
        let d = NaiveDate::from_ymd_opt(2030, 1, 10).unwrap();
        let mut lines = BTreeMap::new();
        LineOp::Upsert(vec![(1, d, dec!(100.00)), (2, d, dec!(100.00))]).apply(&mut lines);
        lines.get_mut(&2).unwrap().reminded = true;
        // Partly paid: stays open with what remains; paid in full: no longer open.
        LineOp::Reduce(1, dec!(40.00)).apply(&mut lines);
        assert_eq!(lines[&1].outstanding, dec!(60.00));
        LineOp::Reduce(1, dec!(60.00)).apply(&mut lines);
        assert!(!lines.contains_key(&1));
        // Paying a line that is not open changes nothing (no row to update).
        LineOp::Reduce(7, dec!(5)).apply(&mut lines);
        assert_eq!(lines.len(), 1);
        // A rescheduled line is open again, its reminder to be sent again.
        LineOp::Upsert(vec![(2, d, dec!(80.00))]).apply(&mut lines);
        assert!(!lines[&2].reminded);
        assert_eq!(lines[&2].outstanding, dec!(80.00));
        LineOp::Drop(vec![2, 9]).apply(&mut lines);
        assert!(lines.is_empty());
        LineOp::Upsert(vec![(3, d, dec!(1))]).apply(&mut lines);
        LineOp::DropAll.apply(&mut lines);
        assert!(lines.is_empty());
    }

    #[test]
    fn ids_follow_the_event_position_and_ordinal_only() {
        assert_eq!(notification_id(42, 0), notification_id(42, 0));
        assert_ne!(notification_id(42, 0), notification_id(42, 1));
        assert_ne!(notification_id(42, 1), notification_id(421, 0));
    }

    #[test]
    fn every_kind_has_a_unique_name_and_overdue_and_decisions_are_mailed_by_default() {
        let mut names: Vec<&str> = NotificationKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NotificationKind::ALL.len());
        assert!(NotificationKind::PaymentOverdue.email_by_default());
        assert!(NotificationKind::RequestDecided.email_by_default());
        assert!(!NotificationKind::NewsPublished.email_by_default());
        assert_eq!(
            NotificationKind::parse("payment_due_soon"),
            Some(NotificationKind::PaymentDueSoon)
        );
    }
}
