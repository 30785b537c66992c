//! The documents the cabinet generates, rendered as PDF (docs/domain.md "Documents").
//!
//! # Layout
//! - [`pdf`]: the small PDF writer (embedded DejaVu subsets, ruled tables, images);
//! - [`invoice`]: счёт на оплату with the ГОСТ Р 56042-2014 payment QR code ([`qr`]) and the amount in
//!   words ([`words`]);
//! - [`act`]: акт сверки взаиморасчётов (the numbers come from `domain::reconciliation`);
//! - [`certificate`]: справки (no debt, contract in force, book value) and the ОС-1 act;
//! - [`destruction`]: акт об уничтожении персональных данных;
//! - `inspect` (feature `inspect`): reading a PDF back (text, QR codes) for tests.
//!
//! Rendering is pure and deterministic: the same data gives the same bytes. Where the data comes from (the
//! event log, the read models, the configured lessor) is the caller's business.

pub mod act;
pub mod certificate;
pub mod destruction;
pub mod invoice;
pub mod pdf;
pub mod qr;
pub mod sheet;
pub mod words;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A bank account of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    /// The bank's name.
    pub name: String,
    /// БИК.
    pub bic: String,
    /// Correspondent account.
    pub correspondent_account: String,
    /// Settlement account.
    pub settlement_account: String,
}

/// A party to a document: the lessor (seller) or the lessee (buyer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// Full name.
    pub name: String,
    /// ИНН.
    pub inn: String,
    /// КПП (none for an ИП).
    pub kpp: Option<String>,
    /// Legal address.
    pub address: String,
    /// Bank requisites.
    pub bank: Option<Bank>,
}

impl Organisation {
    /// «name, ИНН …, КПП …, address».
    pub fn line(&self) -> String {
        let mut s = format!("{}, ИНН {}", self.name, self.inn);
        if let Some(kpp) = &self.kpp {
            s.push_str(&format!(", КПП {kpp}"));
        }
        if !self.address.is_empty() {
            s.push_str(&format!(", {}", self.address));
        }
        s
    }
}

/// An amount as printed: «106 618,55» (groups of three, comma before the kopecks; rounding as
/// [`domain::values::Money::written`] states it).
pub fn money(amount: Decimal) -> String {
    domain::values::Money::written(amount, ' ', ',')
}

/// A date as printed: «10.03.2026».
pub fn date(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

/// A VAT rate as printed: «22%», «20%».
pub fn rate(r: Decimal) -> String {
    format!("{}%", r.normalize())
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn amounts_and_dates_are_printed_the_russian_way() {
        assert_eq!(money(dec!(106618.55)), "106 618,55");
        assert_eq!(money(dec!(1200000)), "1 200 000,00");
        assert_eq!(money(dec!(999.5)), "999,50");
        assert_eq!(money(dec!(-1500.005)), "-1 500,01");
        assert_eq!(money(dec!(0)), "0,00");
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()),
            "10.03.2026"
        );
        assert_eq!(rate(dec!(22.00)), "22%");
    }
}

#[cfg(any(test, feature = "inspect"))]
pub mod inspect;

#[cfg(test)]
mod render_tests;
