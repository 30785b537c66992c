//! Generating documents from the event log and the read models: the invoice for payment, the
//! reconciliation act, the certificates and the ОС-1 act. Each generated PDF is stored once by its content
//! hash (the document store) and recorded as a Document (DocumentIssued), so its life is in the log and
//! its download goes through the same authorization as everything else.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use documents::certificate::{Certificate, Os1};
use documents::invoice::{Invoice, Line, LineKind};
use documents::{act::Act, money, Organisation};
use domain::contract::ContractEvent;
use domain::document::{Document, DocumentCommand, DocumentInfo, DocumentKind};
use domain::policy::PolicyEvent;
use domain::reconciliation::{reconcile, Reconciliation};
use domain::request::Party;
use domain::schedule::LineKind as ScheduleKind;
use domain::values::{vat_rate_on, FileRef, Money};
use projections::store::command::CommandExecutor;
use projections::store::event::{load_aggregate_events, CommandMeta};
use projections::views::contracts::{self as views, ContractView};
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app::files::FileStore;
use crate::error::ApiError;

/// The lessor as it appears on documents.
#[derive(Debug, Clone)]
pub struct Lessor {
    /// Requisites with the bank.
    pub organisation: Organisation,
    /// Who signs.
    pub signatory: String,
    /// The requisites are the operator's own (`[lessor]` set), or this is the demo: false means the
    /// fictional defaults, under which no document is issued (it would print a payable QR code to an
    /// account nobody owns).
    pub configured: bool,
}

impl Lessor {
    /// The lessor's requisites, when documents may be issued under them.
    ///
    /// # Errors
    /// LESSOR_NOT_CONFIGURED outside the demo while `[lessor]` is not set.
    pub fn require(&self) -> Result<&Organisation, ApiError> {
        if self.configured {
            Ok(&self.organisation)
        } else {
            Err(ApiError::Forbidden {
                code: "LESSOR_NOT_CONFIGURED",
                message:
                    "the lessor's requisites are not configured ([lessor] in the settings, or \
                          CABINET_LESSOR__…): no document is issued under the fictional defaults"
                        .into(),
            })
        }
    }
}

/// What generating documents needs, and nothing else: the database (read models, numbering), the lessor's
/// requisites, the Document commands and the file store.
#[derive(Clone)]
pub struct DocumentService {
    /// The database.
    pub pool: sqlx::PgPool,
    /// The lessor on every document.
    pub lessor: Arc<Lessor>,
    /// Document commands (a generated document is recorded as issued).
    pub documents: Arc<CommandExecutor<Document>>,
    /// Where the rendered files are stored.
    pub store: Arc<dyn FileStore>,
}

/// What an invoice is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvoiceSubject {
    /// The next schedule payment not yet overdue (what is still open on it).
    NextPayment,
    /// Everything overdue.
    Overdue,
    /// Accrued unpaid penalties.
    Penalties,
    /// One re-billed traffic fine.
    Fine(String),
    /// One schedule line (what is still open on it).
    Line(u32),
    /// The contract's re-billed insurance premiums not yet paid.
    Insurance,
    /// The early buyout as the quote computed it.
    EarlyBuyout(domain::contract::BuyoutQuote),
}

/// A generated document, stored and recorded.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The Document's id.
    pub id: Uuid,
    /// Its number.
    pub number: String,
    /// Its title.
    pub title: String,
    /// The stored file.
    pub file: FileRef,
    /// The place of the Document's `Issued` event (`None` when it had been recorded before).
    pub position: Option<i64>,
}

/// Takes the next number of a series in a year: «СЧ-2026-000017».
///
/// # Errors
/// A database error.
pub async fn next_number(
    pool: &sqlx::PgPool,
    series: &str,
    prefix: &str,
    date: NaiveDate,
) -> Result<String, ApiError> {
    let n: i32 = sqlx::query_scalar(
        "INSERT INTO document_numbers (series, year, last) VALUES ($1, $2, 1) \
         ON CONFLICT (series, year) DO UPDATE SET last = document_numbers.last + 1 RETURNING last",
    )
    .bind(series)
    .bind(date.year())
    .fetch_one(pool)
    .await?;
    Ok(format!("{prefix}-{}-{n:06}", date.year()))
}

/// The business day (the documents' date).
///
/// # Errors
/// NOT_FOUND before the first business day.
pub async fn business_day(docs: &DocumentService) -> Result<NaiveDate, ApiError> {
    views::load_business_day(&docs.pool)
        .await?
        .0
        .ok_or_else(|| ApiError::NotFound("no business day has started yet".into()))
}

/// A company as a party to a document.
///
/// # Errors
/// NOT_FOUND for an unknown company.
pub async fn company(docs: &DocumentService, id: Uuid) -> Result<Organisation, ApiError> {
    let c = projections::views::companies::load_company(&docs.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("company {id}")))?;
    Ok(Organisation {
        name: c.full_name,
        inn: c.inn,
        kpp: c.kpp,
        address: c.legal_address,
        bank: None,
    })
}

/// A contract's row.
///
/// # Errors
/// NOT_FOUND for an unknown contract.
pub async fn contract(docs: &DocumentService, id: Uuid) -> Result<ContractView, ApiError> {
    views::load_contract(&docs.pool, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("contract {id}")))
}

fn vat(amount: Decimal, date: NaiveDate) -> (Decimal, Decimal) {
    let rate = vat_rate_on(date);
    let m = Money::round(amount).vat_inside(rate);
    (rate, m.amount())
}

/// Builds the invoice for `subject` on a contract (nothing is stored).
///
/// # Errors
/// NOT_FOUND for an unknown contract, line or fine; VALIDATION on `what` when there is nothing to pay.
pub async fn invoice(
    docs: &DocumentService,
    contract_id: Uuid,
    subject: &InvoiceSubject,
    number: String,
    date: NaiveDate,
) -> Result<Invoice, ApiError> {
    docs.lessor.require()?;
    let c = contract(docs, contract_id).await?;
    let lines = views::load_schedules(&docs.pool, &[contract_id]).await?;
    let open = |l: &views::ScheduleLineView| l.amount - l.paid;
    let describe = |l: &views::ScheduleLineView| {
        let what = match l.kind.as_str() {
            "advance" => "Авансовый платеж".to_owned(),
            "redemption" => "Выкупной платеж".to_owned(),
            _ => format!("Лизинговый платеж № {}", l.line_number),
        };
        format!(
            "{what} по договору лизинга № {} от {}, срок оплаты {}",
            c.number,
            documents::date(c.contract_date),
            documents::date(l.due_date)
        )
    };
    let leasing = |l: &views::ScheduleLineView| {
        let amount = open(l);
        // VAT follows the line's date; the rate is kept on the line.
        let vat_amount = Money::round(amount).vat_inside(l.vat_rate).amount();
        Line {
            kind: LineKind::Leasing,
            description: describe(l),
            amount,
            vat_rate: Some(l.vat_rate),
            vat_amount,
        }
    };
    let active = |l: &&views::ScheduleLineView| l.status != "cancelled" && open(l) > Decimal::ZERO;
    let (items, due_date): (Vec<Line>, NaiveDate) = match subject {
        InvoiceSubject::NextPayment => {
            let l = lines
                .iter()
                .filter(active)
                .filter(|l| l.status != "overdue")
                .min_by_key(|l| l.due_date)
                .ok_or_else(|| {
                    ApiError::validation("what", "there is no next payment to invoice")
                })?;
            (vec![leasing(l)], l.due_date.max(date))
        }
        InvoiceSubject::Line(n) => {
            let l = lines
                .iter()
                .find(|l| l.line_number == *n as i32)
                .ok_or_else(|| ApiError::NotFound(format!("schedule line {n}")))?;
            if !active(&l) {
                return Err(ApiError::validation(
                    "what.line",
                    "the line is paid or cancelled",
                ));
            }
            (vec![leasing(l)], l.due_date.max(date))
        }
        InvoiceSubject::Overdue => {
            let items: Vec<Line> = lines
                .iter()
                .filter(active)
                .filter(|l| l.status == "overdue")
                .map(leasing)
                .collect();
            if items.is_empty() {
                return Err(ApiError::validation("what", "nothing is overdue"));
            }
            (items, date)
        }
        InvoiceSubject::Penalties => {
            let debt = views::load_contract_debts(&docs.pool, &[contract_id]).await?;
            let penalties = debt.first().map_or(Decimal::ZERO, |d| d.penalties);
            if penalties <= Decimal::ZERO {
                return Err(ApiError::validation(
                    "what",
                    "there are no unpaid penalties",
                ));
            }
            (
                vec![Line {
                    kind: LineKind::Penalty,
                    description: format!(
                        "Пени по договору лизинга № {} от {} на {}",
                        c.number,
                        documents::date(c.contract_date),
                        documents::date(date)
                    ),
                    amount: penalties,
                    vat_rate: None,
                    vat_amount: Decimal::ZERO,
                }],
                date,
            )
        }
        InvoiceSubject::Fine(resolution) => {
            let fines = views::load_fines(&docs.pool, contract_id).await?;
            let f = fines
                .iter()
                .find(|f| &f.resolution_number == resolution)
                .ok_or_else(|| ApiError::NotFound(format!("fine {resolution}")))?;
            // What is owed for it (the discounted amount while the discount lasts, and the lessor's fee:
            // the fine's `due`), payments covering the fine before the fee.
            let outstanding = f.due - f.paid;
            if outstanding <= Decimal::ZERO {
                return Err(ApiError::validation("what.fine", "the fine is paid"));
            }
            let fine_part = (f.due - f.fee - f.paid).max(Decimal::ZERO);
            let fee_part = outstanding - fine_part;
            let discount = match (f.discount_until, f.discount_expired) {
                (Some(until), false) => format!(
                    ", со скидкой 50 % при оплате до {} включительно (ч. 1.3 ст. 32.2 КоАП РФ)",
                    documents::date(until)
                ),
                _ => String::new(),
            };
            let mut items = Vec::new();
            if fine_part > Decimal::ZERO {
                items.push(Line {
                    kind: LineKind::Fine,
                    description: format!(
                        "Возмещение штрафа по постановлению № {} от {} ({}){discount}",
                        f.resolution_number,
                        documents::date(f.issued_on),
                        f.vehicle
                    ),
                    amount: fine_part,
                    vat_rate: None,
                    vat_amount: Decimal::ZERO,
                });
            }
            if fee_part > Decimal::ZERO {
                // The lessor's fee is a service of its own: VAT inside, at the rate of the invoice's date.
                let rate = domain::values::vat_rate_on(date);
                items.push(Line {
                    kind: LineKind::Fine,
                    description: format!(
                        "Вознаграждение лизингодателя за перевыставление штрафа по постановлению № {}",
                        f.resolution_number
                    ),
                    amount: fee_part,
                    vat_rate: Some(rate),
                    vat_amount: Money::round(fee_part).vat_inside(rate).amount(),
                });
            }
            let due = match (f.discount_until, f.discount_expired) {
                (Some(until), false) if until >= date => until,
                _ => date,
            };
            (items, due)
        }
        InvoiceSubject::Insurance => {
            let policies: Vec<(String, String, String, Decimal)> = sqlx::query_as(
                "SELECT kind, number, insurer, premium - premium_paid FROM policies_view \
                 WHERE contract_id = $1 AND payer = 'lessor' AND status <> 'cancelled' \
                   AND premium > premium_paid ORDER BY first_starts_on, policy_id",
            )
            .bind(contract_id)
            .fetch_all(&docs.pool)
            .await?;
            if policies.is_empty() {
                return Err(ApiError::validation(
                    "what",
                    "no insurance premium is owed on the contract",
                ));
            }
            let items = policies
                .into_iter()
                .map(|(kind, number, insurer, unpaid)| Line {
                    kind: LineKind::Insurance,
                    description: format!(
                        "Возмещение страховой премии по полису {} № {number} ({insurer}), договор лизинга № {} от {}",
                        match kind.as_str() {
                            "osago" => "ОСАГО",
                            "kasko" => "КАСКО",
                            "property" => "страхования имущества",
                            _ => "страхования",
                        },
                        c.number,
                        documents::date(c.contract_date)
                    ),
                    amount: unpaid,
                    vat_rate: None,
                    vat_amount: Decimal::ZERO,
                })
                .collect();
            (items, date)
        }
        InvoiceSubject::EarlyBuyout(q) => {
            if q.total <= Money::ZERO {
                return Err(ApiError::validation(
                    "what.earlyBuyout",
                    "nothing is to be paid for the early buyout on that day",
                ));
            }
            // The leasing part (principal, unpaid lines, the redemption, less the credit) carries VAT at the
            // rate of the quote's day; penalties and fines do not.
            let leasing = q.outstanding_principal + q.unpaid_due + q.redemption - q.credit;
            let rate = domain::values::vat_rate_on(q.as_of);
            let mut items = Vec::new();
            if leasing > Money::ZERO {
                items.push(Line {
                    kind: LineKind::Buyout,
                    description: format!(
                        "Досрочный выкуп предмета лизинга по договору лизинга № {} от {} на {}: \
                         невозмещённая стоимость {}, неоплаченные платежи {}, выкупной платёж {}{}",
                        c.number,
                        documents::date(c.contract_date),
                        documents::date(q.as_of),
                        documents::money(q.outstanding_principal.amount()),
                        documents::money(q.unpaid_due.amount()),
                        documents::money(q.redemption.amount()),
                        if q.credit > Money::ZERO {
                            format!(
                                ", за вычетом переплаты {}",
                                documents::money(q.credit.amount())
                            )
                        } else {
                            String::new()
                        }
                    ),
                    amount: leasing.amount(),
                    vat_rate: Some(rate),
                    vat_amount: leasing.vat_inside(rate).amount(),
                });
            }
            if q.penalties > Money::ZERO {
                items.push(Line {
                    kind: LineKind::Penalty,
                    description: format!(
                        "Пени по договору лизинга № {} по {}",
                        c.number,
                        documents::date(q.as_of)
                    ),
                    amount: q.penalties.amount(),
                    vat_rate: None,
                    vat_amount: Decimal::ZERO,
                });
            }
            if q.fines > Money::ZERO {
                items.push(Line {
                    kind: LineKind::Fine,
                    description: format!("Возмещение штрафов по договору лизинга № {}", c.number),
                    amount: q.fines.amount(),
                    vat_rate: None,
                    vat_amount: Decimal::ZERO,
                });
            }
            (items, q.as_of)
        }
    };
    Ok(Invoice {
        number,
        date,
        due_date: due_date.max(date),
        seller: docs.lessor.organisation.clone(),
        buyer: company(docs, c.company_id).await?,
        contracts: vec![(c.number, c.contract_date)],
        lines: items,
        signatory: docs.lessor.signatory.clone(),
    })
}

/// The reconciliation of a contract for `from..=to`, computed from its events and those of its policies.
///
/// # Errors
/// NOT_FOUND for an unknown contract; VALIDATION on `to` before `from`.
pub async fn reconciliation(
    docs: &DocumentService,
    contract_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Reconciliation, ApiError> {
    docs.lessor.require()?;
    if to < from {
        return Err(ApiError::validation("to", "must not be before from"));
    }
    contract(docs, contract_id).await?;
    fn decode<E: serde::de::DeserializeOwned>(
        e: &projections::store::event::StoredEvent,
    ) -> Result<E, ApiError> {
        e.decode_event()
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("decoding an event: {e}")))
    }
    let contract_events: Vec<ContractEvent> =
        load_aggregate_events(&docs.pool, "Contract", &contract_id.to_string(), 0, None)
            .await?
            .iter()
            .map(decode)
            .collect::<Result<_, _>>()?;
    let policy_ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT policy_id FROM policies_view WHERE contract_id = $1 ORDER BY policy_id",
    )
    .bind(contract_id)
    .fetch_all(&docs.pool)
    .await?;
    let mut policies: Vec<Vec<PolicyEvent>> = Vec::new();
    for p in policy_ids {
        let events = load_aggregate_events(&docs.pool, "Policy", &p.to_string(), 0, None).await?;
        policies.push(events.iter().map(decode).collect::<Result<_, _>>()?);
    }
    Ok(reconcile(&contract_events, &policies, from, to))
}

/// The act document for a reconciliation.
///
/// # Errors
/// As [`reconciliation`].
pub async fn act(
    docs: &DocumentService,
    contract_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    number: String,
    date: NaiveDate,
) -> Result<Act, ApiError> {
    docs.lessor.require()?;
    let c = contract(docs, contract_id).await?;
    Ok(Act {
        number,
        date,
        lessor: docs.lessor.organisation.clone(),
        lessee: company(docs, c.company_id).await?,
        contract_number: c.number,
        contract_date: c.contract_date,
        reconciliation: reconciliation(docs, contract_id, from, to).await?,
        signatory: docs.lessor.signatory.clone(),
    })
}

/// A certificate of `kind` as of `as_of`.
///
/// # Errors
/// VALIDATION on `kind` when the certificate cannot be issued: a no-debt certificate while there is debt as
/// of the date, a contract-in-force certificate for a contract not in force on it.
pub async fn certificate(
    docs: &DocumentService,
    contract_id: Uuid,
    kind: DocumentKind,
    as_of: NaiveDate,
    number: String,
    date: NaiveDate,
) -> Result<Certificate, ApiError> {
    docs.lessor.require()?;
    let c = contract(docs, contract_id).await?;
    if as_of > date {
        return Err(ApiError::validation(
            "asOf",
            format!("must not be after the business day {date}"),
        ));
    }
    if as_of < c.contract_date {
        return Err(ApiError::validation("asOf", "is before the contract date"));
    }
    let lessee = company(docs, c.company_id).await?;
    let contract_line = format!(
        "договору лизинга № {} от {}",
        c.number,
        documents::date(c.contract_date)
    );
    let subject = format!(
        "{} {} {}, {} г.в.{}",
        c.subject_kind,
        c.subject_make,
        c.subject_model,
        c.subject_year,
        c.vin
            .as_ref()
            .map(|v| format!(", VIN {v}"))
            .unwrap_or_default()
    );
    let on = documents::date(as_of);
    let mut facts = vec![
        (
            "Договор лизинга".to_owned(),
            format!("№ {} от {}", c.number, documents::date(c.contract_date)),
        ),
        ("Предмет лизинга".to_owned(), subject),
    ];
    let (title, statement) = match kind {
        DocumentKind::NoDebtCertificate => {
            let r = reconciliation(docs, contract_id, c.contract_date, as_of).await?;
            if r.debt() > Decimal::ZERO {
                return Err(ApiError::validation(
                    "kind",
                    format!(
                        "there is debt of {} ₽ on {on}: a no-debt certificate cannot be issued",
                        money(r.debt())
                    ),
                ));
            }
            (
                "Справка об отсутствии задолженности",
                format!(
                    "{} подтверждает, что по состоянию на {on} у {} (ИНН {}) отсутствует задолженность по {} \
                     по лизинговым платежам, пеням, штрафам и страховым платежам.",
                    docs.lessor.organisation.name, lessee.name, lessee.inn, contract_line
                ),
            )
        }
        DocumentKind::ContractInForceCertificate => {
            let closed = c.closed_on.is_some_and(|d| d <= as_of);
            if closed {
                return Err(ApiError::validation(
                    "kind",
                    format!(
                        "the contract was not in force on {on} (closed on {})",
                        documents::date(c.closed_on.unwrap_or(as_of))
                    ),
                ));
            }
            let lines = views::load_schedules(&docs.pool, &[contract_id]).await?;
            let remaining: Decimal = lines
                .iter()
                .filter(|l| l.status != "cancelled" && l.due_date > as_of)
                .map(|l| l.amount)
                .sum();
            let last = lines
                .iter()
                .filter(|l| l.status != "cancelled")
                .map(|l| l.due_date)
                .max();
            facts.push((
                "Платежи по графику после даты справки".into(),
                format!("{} руб.", money(remaining)),
            ));
            if let Some(last) = last {
                facts.push(("Последний платеж по графику".into(), documents::date(last)));
            }
            (
                "Справка о действии договора лизинга",
                format!(
                    "{} подтверждает, что по состоянию на {on} {} с {} (ИНН {}) действует.",
                    docs.lessor.organisation.name,
                    contract_line.replacen("договору", "договор", 1),
                    lessee.name,
                    lessee.inn
                ),
            )
        }
        DocumentKind::BookValueCertificate => {
            let title = "Справка о балансовой (остаточной) стоимости предмета лизинга";
            // The accounting system's figure when it reported one on or before the date.
            if let (Some(value), Some(reported)) =
                (c.book_value, c.book_value_as_of.filter(|d| *d <= as_of))
            {
                let on_books = documents::date(reported);
                facts.push((
                    "Источник суммы".into(),
                    format!("данные бухгалтерского учёта лизингодателя на {on_books}"),
                ));
                facts.push((
                    "Балансовая (остаточная) стоимость".into(),
                    format!("{} руб.", money(value)),
                ));
                facts.push((
                    "Стоимость предмета лизинга по договору".into(),
                    format!("{} руб.", money(c.price)),
                ));
                (
                    title,
                    format!(
                        "{} сообщает, что по данным бухгалтерского учёта на {on_books} балансовая (остаточная) \
                         стоимость предмета лизинга по {} составляет {} руб.",
                        docs.lessor.organisation.name,
                        contract_line,
                        money(value)
                    ),
                )
            } else {
                let lines = views::load_schedules(&docs.pool, &[contract_id]).await?;
                // No book value from the accounting system for the date: the figure is the cabinet's
                // estimate, and says so — the part of the financed amount not yet repaid: the principal of
                // the lines falling due after the date (an explicit schedule's lines have no split: their
                // whole amount, as the early-buyout quote counts them), and the redemption payment.
                let principal: Decimal = lines
                    .iter()
                    .filter(|l| l.status != "cancelled" && l.due_date > as_of)
                    .map(|l| match l.kind.as_str() {
                        "redemption" => l.amount,
                        _ => l.principal.unwrap_or(l.amount),
                    })
                    .sum();
                facts.push((
                    "Источник суммы".into(),
                    "расчётная оценка по графику платежей (не данные бухгалтерского учёта)".into(),
                ));
                let (rate, vat_amount) = vat(principal, as_of);
                facts.push((
                    "Остаточная (невозмещённая) стоимость".into(),
                    format!(
                        "{} руб., в т.ч. НДС {} {} руб.",
                        money(principal),
                        documents::rate(rate),
                        money(vat_amount)
                    ),
                ));
                facts.push((
                    "Стоимость предмета лизинга по договору".into(),
                    format!("{} руб.", money(c.price)),
                ));
                (
                    title,
                    format!(
                        "{} сообщает, что по состоянию на {on} остаточная стоимость предмета лизинга по {} — \
                         невозмещённая часть стоимости предмета лизинга (основной долг по платежам, срок которых \
                         не наступил, и выкупной платеж), рассчитанная по графику платежей, — составляет {} руб.",
                        docs.lessor.organisation.name,
                        contract_line,
                        money(principal)
                    ),
                )
            }
        }
        _ => return Err(ApiError::validation("kind", "not a certificate")),
    };
    Ok(Certificate {
        title: title.into(),
        number,
        date,
        lessor: docs.lessor.organisation.clone(),
        lessee,
        statement,
        facts,
        signatory: docs.lessor.signatory.clone(),
    })
}

/// The ОС-1 act for a completed contract.
///
/// # Errors
/// VALIDATION on `contractId` when the contract is not completed.
pub async fn os1(
    docs: &DocumentService,
    contract_id: Uuid,
    number: String,
    date: NaiveDate,
) -> Result<Os1, ApiError> {
    docs.lessor.require()?;
    let c = contract(docs, contract_id).await?;
    let Some(closed) = c.closed_on.filter(|_| c.status == "completed") else {
        return Err(ApiError::validation(
            "contractId",
            "the ОС-1 act is drawn up when the contract is completed and the asset passes to the lessee",
        ));
    };
    let lines = views::load_schedules(&docs.pool, &[contract_id]).await?;
    let redemption: Decimal = lines
        .iter()
        .filter(|l| l.kind == ScheduleKind::Redemption.as_str())
        .map(|l| l.amount)
        .sum();
    let mut asset = vec![
        (
            "Наименование объекта".to_owned(),
            format!("{} {} {}", c.subject_kind, c.subject_make, c.subject_model),
        ),
        ("Год выпуска".to_owned(), c.subject_year.to_string()),
    ];
    if let Some(v) = &c.vin {
        asset.push(("VIN".into(), v.clone()));
    }
    if let Some(s) = &c.serial_number {
        asset.push(("Заводской (серийный) номер".into(), s.clone()));
    }
    if let Some(p) = &c.registration_plate {
        asset.push(("Государственный регистрационный знак".into(), p.clone()));
    }
    asset.push((
        "Стоимость передачи (выкупной платеж), руб.".into(),
        money(redemption),
    ));
    asset.push((
        "Первоначальная стоимость по договору лизинга, руб.".into(),
        money(c.price),
    ));
    Ok(Os1 {
        number,
        date,
        transferor: docs.lessor.organisation.clone(),
        recipient: company(docs, c.company_id).await?,
        basis: format!(
            "Договор лизинга № {} от {}",
            c.number,
            documents::date(c.contract_date)
        ),
        transfer_date: closed,
        asset,
        signatory: docs.lessor.signatory.clone(),
    })
}

/// Stores a generated PDF and records it as a Document issued by the lessor. `id` makes it idempotent: a
/// retry with the same id records nothing new.
///
/// # Errors
/// A store error.
#[allow(clippy::too_many_arguments)]
pub async fn issue(
    docs: &DocumentService,
    meta: &CommandMeta,
    id: Uuid,
    kind: DocumentKind,
    company_id: Uuid,
    contract_id: Option<Uuid>,
    request_id: Option<Uuid>,
    number: String,
    title: String,
    date: NaiveDate,
    pdf: Vec<u8>,
    covers: Vec<domain::document::InvoiceShare>,
) -> Result<Generated, ApiError> {
    let hash: String = Sha256::digest(&pdf)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = format!("{}.pdf", number.replace(['/', '\\'], "-"));
    let file = FileRef::new(&hash, &name, "application/pdf", pdf.len() as u64)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a generated file: {}", e.reason)))?;
    docs.store.put(&file, &pdf, &meta.actor).await?;
    let command = DocumentCommand::Issue {
        document_id: id,
        party: Party::Staff,
        info: Box::new(DocumentInfo {
            company_id,
            contract_id,
            request_id,
            kind,
            number: Some(number.clone()),
            title: title.clone(),
            date,
            file: file.clone(),
            accounting: None,
            covers,
        }),
    };
    let position = match docs.documents.execute(&id.to_string(), command, meta).await {
        Ok(out) => out.last_position,
        Err(projections::store::command::CommandError::Rejected(
            domain::document::DocumentError::AlreadyExists,
        )) => None,
        Err(e) => return Err(crate::error::command_error(e)),
    };
    Ok(Generated {
        id,
        number,
        title,
        file,
        position,
    })
}

/// Generates, stores and records an invoice for payment on a contract, dated the business day.
///
/// # Errors
/// As [`invoice`]; a store error.
pub async fn issue_invoice(
    docs: &DocumentService,
    meta: &CommandMeta,
    id: Uuid,
    contract_id: Uuid,
    company_id: Uuid,
    subject: &InvoiceSubject,
) -> Result<Generated, ApiError> {
    let date = business_day(docs).await?;
    let mut inv = invoice(docs, contract_id, subject, String::new(), date).await?;
    let number = next_number(&docs.pool, "invoice", "СЧ", date).await?;
    inv.number = number.clone();
    let title = format!("Счет на оплату № {number} от {}", documents::date(date));
    issue(
        docs,
        meta,
        id,
        DocumentKind::Invoice,
        company_id,
        Some(contract_id),
        None,
        number,
        title,
        date,
        inv.render(),
        Vec::new(),
    )
    .await
}

/// Generates, stores and records one invoice covering all of a company's open contracts, dated the business
/// day: for each contract, what a contract's invoice of `subject` (the next payment, or what is overdue)
/// would ask, in the order of the contracts' dates; a contract with nothing to invoice is left out. The
/// document records each contract's share (`covers`), which a payment of the invoice is split back into.
///
/// # Errors
/// VALIDATION on `what` for another subject, or when no contract has anything to invoice; a store error.
pub async fn issue_company_invoice(
    docs: &DocumentService,
    meta: &CommandMeta,
    id: Uuid,
    company_id: Uuid,
    subject: &InvoiceSubject,
) -> Result<Generated, ApiError> {
    if !matches!(
        subject,
        InvoiceSubject::NextPayment | InvoiceSubject::Overdue
    ) {
        return Err(ApiError::validation(
            "what",
            "an invoice of all the company's contracts is for the next payments or what is overdue",
        ));
    }
    docs.lessor.require()?;
    let date = business_day(docs).await?;
    let contracts: Vec<Uuid> = sqlx::query_scalar(
        "SELECT contract_id FROM contracts_view WHERE company_id = $1 \
           AND status IN ('concluded', 'active') ORDER BY contract_date, number, contract_id",
    )
    .bind(company_id)
    .fetch_all(&docs.pool)
    .await?;
    let mut covers = Vec::new();
    let mut refs = Vec::new();
    let mut lines = Vec::new();
    let mut due: Option<NaiveDate> = None;
    for contract_id in contracts {
        let inv = match invoice(docs, contract_id, subject, String::new(), date).await {
            Ok(inv) => inv,
            // Nothing of the subject on this contract.
            Err(ApiError::Validation { .. }) => continue,
            Err(e) => return Err(e),
        };
        covers.push(domain::document::InvoiceShare {
            contract_id,
            amount: Money::round(inv.total()),
        });
        due = Some(due.map_or(inv.due_date, |d| d.min(inv.due_date)));
        refs.extend(inv.contracts);
        lines.extend(inv.lines);
    }
    if covers.is_empty() {
        return Err(ApiError::validation(
            "what",
            "none of the company's contracts has anything of it to invoice",
        ));
    }
    let number = next_number(&docs.pool, "invoice", "СЧ", date).await?;
    let inv = Invoice {
        number: number.clone(),
        date,
        due_date: due.unwrap_or(date).max(date),
        seller: docs.lessor.organisation.clone(),
        buyer: company(docs, company_id).await?,
        contracts: refs,
        lines,
        signatory: docs.lessor.signatory.clone(),
    };
    let title = format!(
        "Счет на оплату № {number} от {} по всем договорам лизинга",
        documents::date(date)
    );
    issue(
        docs,
        meta,
        id,
        DocumentKind::Invoice,
        company_id,
        None,
        None,
        number,
        title,
        date,
        inv.render(),
        covers,
    )
    .await
}

/// Generates, stores and records the reconciliation act of a contract for `from..=to`.
///
/// # Errors
/// As [`reconciliation`]; a store error.
#[allow(clippy::too_many_arguments)]
pub async fn issue_act(
    docs: &DocumentService,
    meta: &CommandMeta,
    id: Uuid,
    contract_id: Uuid,
    company_id: Uuid,
    request_id: Option<Uuid>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Generated, ApiError> {
    let date = business_day(docs).await?;
    if to > date {
        return Err(ApiError::validation(
            "to",
            format!("must not be after the business day {date}"),
        ));
    }
    // Built before it is numbered, so a refusal takes no number.
    let mut a = act(docs, contract_id, from, to, String::new(), date).await?;
    let number = next_number(&docs.pool, "act", "АС", date).await?;
    a.number = number.clone();
    let title = format!(
        "Акт сверки № {number} за период с {} по {}",
        documents::date(from),
        documents::date(to)
    );
    issue(
        docs,
        meta,
        id,
        DocumentKind::ReconciliationAct,
        company_id,
        Some(contract_id),
        request_id,
        number,
        title,
        date,
        a.render(),
        Vec::new(),
    )
    .await
}

/// Generates, stores and records a certificate as of `as_of`.
///
/// # Errors
/// As [`certificate`]; a store error.
#[allow(clippy::too_many_arguments)]
pub async fn issue_certificate(
    docs: &DocumentService,
    meta: &CommandMeta,
    id: Uuid,
    contract_id: Uuid,
    company_id: Uuid,
    request_id: Option<Uuid>,
    kind: DocumentKind,
    as_of: NaiveDate,
) -> Result<Generated, ApiError> {
    let date = business_day(docs).await?;
    let mut c = certificate(docs, contract_id, kind, as_of, String::new(), date).await?;
    let number = next_number(&docs.pool, "certificate", "СП", date).await?;
    c.number = number.clone();
    let title = format!("{} № {number} на {}", c.title, documents::date(as_of));
    issue(
        docs,
        meta,
        id,
        kind,
        company_id,
        Some(contract_id),
        request_id,
        number,
        title,
        date,
        c.render(),
        Vec::new(),
    )
    .await
}

/// Generates, stores and records the ОС-1 act of a completed contract.
///
/// # Errors
/// As [`os1`]; a store error.
pub async fn issue_os1(
    docs: &DocumentService,
    meta: &CommandMeta,
    id: Uuid,
    contract_id: Uuid,
    company_id: Uuid,
    request_id: Option<Uuid>,
) -> Result<Generated, ApiError> {
    let date = business_day(docs).await?;
    let mut a = os1(docs, contract_id, String::new(), date).await?;
    let number = next_number(&docs.pool, "os1", "ОС", date).await?;
    a.number = number.clone();
    let title = format!("Акт о приеме-передаче ОС-1 № {number}");
    issue(
        docs,
        meta,
        id,
        DocumentKind::Os1,
        company_id,
        Some(contract_id),
        request_id,
        number,
        title,
        date,
        a.render(),
        Vec::new(),
    )
    .await
}
