//! Exports for accountants (issue 25): a contract's schedule, its payments and the act of reconciliation —
//! or the same across all of a company's contracts — as XLSX or CSV (`documents::sheet`). Computed from the
//! read models and, for the act, from the events (`domain::reconciliation`), as the screens and the PDF act
//! are; nothing is stored.

use chrono::NaiveDate;
use documents::sheet::{self, Cell, Table};
use domain::reconciliation::Reconciliation;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::app::documents::{self as docs, DocumentService};
use crate::error::ApiError;

/// What is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// The payment schedule, line by line.
    Schedule,
    /// The payments received and what they paid.
    Payments,
    /// The act of reconciliation for a period.
    Reconciliation,
}

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Office Open XML spreadsheet.
    Xlsx,
    /// Semicolon-separated values, UTF-8 with a BOM.
    Csv,
}

impl Format {
    /// The content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
        }
    }
}

/// Of one contract, or of every contract of a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One contract.
    Contract(Uuid),
    /// Every contract of the company.
    Company(Uuid),
}

/// A file to send.
#[derive(Debug, Clone)]
pub struct Export {
    /// Its name.
    pub name: String,
    /// Its content type.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

const STATUS: &[(&str, &str)] = &[
    ("upcoming", "предстоит"),
    ("due", "к оплате"),
    ("partially_paid", "оплачен частично"),
    ("paid", "оплачен"),
    ("overdue", "просрочен"),
    ("cancelled", "отменён"),
];

const PURPOSE: &[(&str, &str)] = &[
    ("leasing_payment", "лизинговый платёж"),
    ("penalty", "пени"),
    ("fine", "штраф"),
    ("insurance", "страхование"),
    ("unallocated", "не указано (аванс)"),
];

fn russian(table: &[(&str, &'static str)], key: &str) -> String {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map_or_else(|| key.to_owned(), |(_, v)| (*v).to_owned())
}

/// The contracts of the scope, (id, number), by number.
async fn contracts(d: &DocumentService, scope: Scope) -> Result<Vec<(Uuid, String)>, ApiError> {
    Ok(match scope {
        Scope::Contract(id) => {
            let c = docs::contract(d, id).await?;
            vec![(c.contract_id, c.number)]
        }
        Scope::Company(company) => {
            docs::company(d, company).await?;
            sqlx::query_as(
                "SELECT contract_id, number FROM contracts_view WHERE company_id = $1 ORDER BY number",
            )
            .bind(company)
            .fetch_all(&d.pool)
            .await?
        }
    })
}

fn file_name(what: What, scope_name: &str, format: Format) -> String {
    let base = match what {
        What::Schedule => "График платежей",
        What::Payments => "Платежи",
        What::Reconciliation => "Акт сверки",
    };
    format!("{base} {scope_name}.{}", format.extension())
}

/// Builds the export.
///
/// # Errors
/// NOT_FOUND for an unknown contract or company; for the act, VALIDATION on `to` before `from` or when the
/// period is missing.
pub async fn export(
    d: &DocumentService,
    what: What,
    scope: Scope,
    period: Option<(NaiveDate, NaiveDate)>,
    format: Format,
) -> Result<Export, ApiError> {
    let list = contracts(d, scope).await?;
    let many = matches!(scope, Scope::Company(_));
    let scope_name = match scope {
        Scope::Contract(_) => format!("по договору {}", list.first().map_or("", |c| c.1.as_str())),
        Scope::Company(id) => format!("по всем договорам {}", docs::company(d, id).await?.name),
    };
    let title = |t: &str| format!("{t} {scope_name}");
    let number_of = |id: Uuid| {
        list.iter()
            .find(|c| c.0 == id)
            .map(|c| c.1.clone())
            .unwrap_or_default()
    };
    let ids: Vec<Uuid> = list.iter().map(|c| c.0).collect();
    let mut table = match what {
        What::Schedule => {
            let lines = projections::views::contracts::load_schedules(&d.pool, &ids).await?;
            let mut columns = vec![
                "№".to_owned(),
                "Дата платежа".into(),
                "Сумма с НДС".into(),
                "Ставка НДС, %".into(),
                "НДС".into(),
                "Оплачено".into(),
                "Остаток".into(),
                "Статус".into(),
                "Пени".into(),
            ];
            if many {
                columns.insert(0, "Договор".into());
            }
            let rows = lines
                .into_iter()
                .map(|l| {
                    let mut r = vec![
                        Cell::Int(i64::from(l.line_number)),
                        Cell::Date(l.due_date),
                        Cell::Money(l.amount),
                        Cell::Money(l.vat_rate),
                        Cell::Money(l.vat_amount),
                        Cell::Money(l.paid),
                        Cell::Money(if l.status == "cancelled" {
                            Decimal::ZERO
                        } else {
                            l.amount - l.paid
                        }),
                        Cell::Text(russian(STATUS, &l.status)),
                        Cell::Money(l.penalty),
                    ];
                    if many {
                        r.insert(0, Cell::Text(number_of(l.contract_id)));
                    }
                    r
                })
                .collect();
            Table {
                name: "График".into(),
                caption: vec![title("График платежей")],
                columns,
                rows,
            }
        }
        What::Payments => {
            let mut columns = vec![
                "Дата".to_owned(),
                "Сумма".into(),
                "Назначение".into(),
                "Банковский документ".into(),
                "Зачтено".into(),
            ];
            if many {
                columns.insert(0, "Договор".into());
            }
            let mut rows = Vec::new();
            for (id, number) in &list {
                for p in projections::views::contracts::load_payments(&d.pool, *id).await? {
                    let parts: Vec<String> = p
                        .allocations
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| {
                            let target = &a["target"];
                            let what = match target["kind"].as_str().unwrap_or("") {
                                "line" => format!("платёж № {}", target["number"]),
                                "penalties" => "пени".into(),
                                "fine" => format!(
                                    "штраф {}",
                                    target["resolution_number"].as_str().unwrap_or("")
                                ),
                                "insurance" => "страхование".into(),
                                _ => "аванс".into(),
                            };
                            format!("{what}: {}", a["amount"].as_str().unwrap_or(""))
                        })
                        .collect();
                    let mut r = vec![
                        Cell::Date(p.paid_on),
                        Cell::Money(p.amount),
                        Cell::Text(russian(PURPOSE, &p.purpose)),
                        Cell::Text(p.bank_reference),
                        Cell::Text(parts.join("; ")),
                    ];
                    if many {
                        r.insert(0, Cell::Text(number.clone()));
                    }
                    rows.push(r);
                }
            }
            Table {
                name: "Платежи".into(),
                caption: vec![title("Платежи")],
                columns,
                rows,
            }
        }
        What::Reconciliation => {
            let (from, to) = period.ok_or_else(|| {
                ApiError::validation(
                    "from",
                    "the act of reconciliation needs a period: from and to",
                )
            })?;
            let mut acts: Vec<(String, Reconciliation)> = Vec::new();
            for (id, number) in &list {
                acts.push((
                    number.clone(),
                    docs::reconciliation(d, *id, from, to).await?,
                ));
            }
            reconciliation_table(&acts, many, title("Акт сверки"), from, to)
        }
    };
    if table.rows.is_empty() && what != What::Reconciliation {
        table.caption.push("Нет записей".into());
    }
    let bytes = match format {
        Format::Xlsx => sheet::xlsx(&[table])
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("writing the XLSX file: {e}")))?,
        Format::Csv => sheet::csv(&table),
    };
    Ok(Export {
        name: file_name(what, &scope_name, format),
        content_type: format.content_type(),
        bytes,
    })
}

/// The act as a table: opening balance, operations by date (with the contract across a company), turnovers,
/// closing balance — debt positive.
fn reconciliation_table(
    acts: &[(String, Reconciliation)],
    many: bool,
    title: String,
    from: NaiveDate,
    to: NaiveDate,
) -> Table {
    let mut columns = vec![
        "Дата".to_owned(),
        "Документ".into(),
        "Операция".into(),
        "Дебет (начислено)".into(),
        "Кредит (оплачено)".into(),
    ];
    if many {
        columns.insert(0, "Договор".into());
    }
    let pad = |mut r: Vec<Cell>| {
        if many {
            r.insert(0, Cell::Empty);
        }
        r
    };
    let opening: Decimal = acts.iter().map(|(_, a)| a.opening).sum();
    let debit: Decimal = acts.iter().map(|(_, a)| a.debit_turnover).sum();
    let credit: Decimal = acts.iter().map(|(_, a)| a.credit_turnover).sum();
    let closing: Decimal = acts.iter().map(|(_, a)| a.closing).sum();
    let mut ops: Vec<(NaiveDate, String, &domain::reconciliation::Operation)> = acts
        .iter()
        .flat_map(|(n, a)| a.operations.iter().map(move |o| (o.date, n.clone(), o)))
        .collect();
    ops.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
    let balance = |label: &str, v: Decimal| {
        pad(vec![
            Cell::Empty,
            Cell::Empty,
            Cell::Text(label.into()),
            Cell::Money(v.max(Decimal::ZERO)),
            Cell::Money((-v).max(Decimal::ZERO)),
        ])
    };
    let mut rows = vec![balance(
        &format!("Сальдо на {}", from.format("%d.%m.%Y")),
        opening,
    )];
    for (_, number, o) in ops {
        let mut r = vec![
            Cell::Date(o.date),
            Cell::Text(o.document.clone()),
            Cell::Text(o.description.clone()),
            Cell::Money(o.debit),
            Cell::Money(o.credit),
        ];
        if many {
            r.insert(0, Cell::Text(number));
        }
        rows.push(r);
    }
    rows.push(pad(vec![
        Cell::Empty,
        Cell::Empty,
        Cell::Text("Обороты за период".into()),
        Cell::Money(debit),
        Cell::Money(credit),
    ]));
    rows.push(balance(
        &format!("Сальдо на {}", to.format("%d.%m.%Y")),
        closing,
    ));
    Table {
        name: "Акт сверки".into(),
        caption: vec![
            title,
            format!(
                "за период с {} по {}",
                from.format("%d.%m.%Y"),
                to.format("%d.%m.%Y")
            ),
        ],
        columns,
        rows,
    }
}
