//! Contracts and their schedules from the lessor's accounting system: JSON Lines (one contract per line,
//! UTF-8), so a file of any length is read one contract at a time (docs/formats.md "Contracts"). A line is
//! the contract as the accounting system holds it now, under its own id (`externalId`): imported again, it
//! changes nothing; imported with a changed schedule, it replaces the lines that differ.
//!
//! Amounts are JSON strings («1500.00»): money never travels as a floating-point number.

use chrono::NaiveDate;
use serde::Deserialize;

/// The lessee, as the accounting system names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompanyRef {
    /// ИНН.
    pub inn: String,
    /// КПП (needed when several companies of the cabinet share the ИНН).
    #[serde(default)]
    pub kpp: Option<String>,
}

/// What is leased.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subject {
    /// «легковой автомобиль», «экскаватор»…
    pub kind: String,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Year of manufacture.
    pub year: i32,
    /// VIN.
    #[serde(default)]
    pub vin: Option<String>,
    /// Serial or factory number.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// Registration plate.
    #[serde(default)]
    pub registration_plate: Option<String>,
}

/// Penalty terms.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Penalty {
    /// Percent of the base per day («0.1»).
    pub rate_per_day: String,
    /// Whether the base includes VAT.
    pub base_includes_vat: bool,
    /// Whether the day the payment arrives counts.
    pub payment_day_counts: bool,
}

/// A regular line of the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Line {
    /// Due date (YYYY-MM-DD).
    pub due_date: NaiveDate,
    /// Amount with VAT.
    pub amount: String,
}

/// One contract of the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContractRecord {
    /// The line of the file (from 1).
    #[serde(skip)]
    pub place: usize,
    /// The accounting system's id of the contract: its identity across imports.
    pub external_id: String,
    /// Contract number.
    pub number: String,
    /// Contract date.
    pub date: NaiveDate,
    /// The lessee.
    pub company: CompanyRef,
    /// The lessee's contact e-mail.
    pub contact_email: String,
    /// What is leased.
    pub subject: Subject,
    /// Price with VAT.
    pub price: String,
    /// The advance with VAT («0» without).
    #[serde(default)]
    pub advance: Option<String>,
    /// Annual rate, percent (informational for an explicit schedule).
    #[serde(default)]
    pub annual_rate: Option<String>,
    /// The redemption payment («0» without).
    #[serde(default)]
    pub redemption: Option<String>,
    /// `symbolic` (after the last line) or `residual` (with it); needed when the redemption is above zero.
    #[serde(default)]
    pub redemption_kind: Option<String>,
    /// Penalty terms.
    pub penalty: Penalty,
    /// The regular lines, in order.
    pub schedule: Vec<Line>,
    /// The lessor's fee for re-billing each traffic fine, when the contract agrees one.
    #[serde(default)]
    pub fine_fee: Option<String>,
    /// The asset's book (residual) value as the books have it on a date.
    #[serde(default)]
    pub book_value: Option<BookValue>,
    /// The contract's insurance policies.
    #[serde(default)]
    pub policies: Vec<PolicyRecord>,
}

/// An insurance policy of the contract, as the accounting system holds it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRecord {
    /// The accounting system's id of the policy: its identity across imports.
    pub external_id: String,
    /// `osago`, `kasko`, `property` or `other`.
    pub kind: String,
    /// The insurance company.
    pub insurer: String,
    /// The policy's number.
    pub number: String,
    /// First day of cover.
    pub starts_on: NaiveDate,
    /// Last day of cover (a later one than the cabinet's prolongs the policy).
    pub ends_on: NaiveDate,
    /// Sum insured.
    pub sum_insured: String,
    /// The premium of the period.
    pub premium: String,
    /// The premium's installments (by default all of it on the first day of the period).
    #[serde(default)]
    pub installments: Vec<Line>,
    /// Who pays the insurer: `lessor` (re-billed to the lessee) or `lessee`.
    pub payer: String,
}

/// The asset's book value on a date.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookValue {
    /// The date the figure is for (YYYY-MM-DD).
    pub as_of: NaiveDate,
    /// The value.
    pub amount: String,
}

/// Reads a contracts file line by line.
pub type Reader<R> = crate::jsonl::Reader<R, ContractRecord>;

impl crate::jsonl::Record for ContractRecord {
    fn placed(mut self, place: usize) -> Self {
        self.place = place;
        self
    }
}

/// Whether the start of a file looks like a contracts file (a JSON object first).
pub fn detect(head: &[u8]) -> bool {
    crate::jsonl::detect(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"{"externalId": "1C-000123", "number": "ЛД-123", "date": "2026-02-01", "company": {"inn": "7707083893"}, "contactEmail": "buh@romashka.ru", "subject": {"kind": "легковой автомобиль", "make": "LADA", "model": "Vesta", "year": 2025, "vin": "XTA210990Y2766389"}, "price": "1200000.00", "penalty": {"ratePerDay": "0.1", "baseIncludesVat": true, "paymentDayCounts": true}, "schedule": [{"dueDate": "2026-03-10", "amount": "600000.00"}, {"dueDate": "2026-04-10", "amount": "600000.00"}]}"#;

    #[test]
    fn a_contract_per_line_is_read_and_a_broken_line_names_its_field() {
        let file = format!(
            "{ONE}\n\n{}\n{}\nnot json\n",
            ONE.replace("\"number\": \"ЛД-123\", ", ""),
            ONE.replace("\"year\": 2025", "\"year\": 2025, \"colour\": \"red\"")
        );
        let got: Vec<_> = Reader::new(file.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(got.len(), 4, "{got:?}");
        let first = got[0].as_ref().unwrap();
        assert_eq!(
            (
                first.place,
                first.external_id.as_str(),
                first.schedule.len()
            ),
            (1, "1C-000123", 2)
        );
        let fields: Vec<(usize, String)> = got[1..]
            .iter()
            .map(|r| {
                let r = r.as_ref().unwrap_err();
                (r.place, r.field.clone())
            })
            .collect();
        assert_eq!(
            fields,
            vec![
                (3, "number".to_owned()),
                (4, "colour".to_owned()),
                (5, "record".to_owned())
            ]
        );
        assert!(detect(b"\xEF\xBB\xBF  {\"externalId\""));
        assert!(!detect(b"1CClientBankExchange"));
    }

    #[test]
    fn money_as_a_floating_point_number_is_refused() {
        let file = ONE.replace("\"1200000.00\"", "1200000.5");
        let got: Vec<_> = Reader::new(file.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let r = got[0].as_ref().unwrap_err();
        assert!(r.reason.contains("expected a string"), "{r:?}");
    }
}
