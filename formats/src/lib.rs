//! The files the lessor's back office exchanges with the cabinet, read as streams so that a file of any
//! length is read in bounded memory: one document at a time, each either a well-formed line or a rejection
//! naming the place in the file, the field and the reason.
//!
//! - [`onec`]: the bank-client exchange file every Russian bank exports (`1CClientBankExchange`, format
//!   1.03, Windows-1251, DOS (866) or UTF-8);
//! - [`camt`]: an ISO 20022 bank-to-customer statement (`camt.053`, any version from 001.02);
//! - [`fines`]: the traffic fines register (CSV or XML);
//! - [`contracts`]: contracts and schedules from the accounting system (JSON Lines, [`jsonl`]);
//! - [`accounting`]: accounting documents from the accounting system (a package: a JSON Lines manifest and
//!   the files it names) and the ФНС XML of a счёт-фактура or УПД.
//!
//! docs/formats.md describes each field by field.

pub mod accounting;
pub mod camt;
pub mod contracts;
pub mod fines;
pub mod jsonl;
pub mod onec;

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The most one line (1C) or one entry (camt) may take: a longer one is a damaged or hostile file.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// A party of a payment as the statement names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// Name as written (for an individual entrepreneur, a person's name).
    pub name: String,
    /// ИНН, when given (10 digits for an organisation, 12 for an entrepreneur).
    pub inn: Option<String>,
    /// КПП, when given.
    pub kpp: Option<String>,
    /// Account number (20 digits in Russia; an IBAN or other id in camt).
    pub account: Option<String>,
    /// The bank's БИК (or BIC in camt).
    pub bank: Option<String>,
}

/// One money movement of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// Where it starts in the file: the line number (1C) or the entry's ordinal (camt), from 1.
    pub place: usize,
    /// The payment document's number (1C `Номер`; camt: the end-to-end id, else the bank's reference).
    pub number: String,
    /// The payment document's date.
    pub date: NaiveDate,
    /// When the money reached the account (1C `ДатаПоступило`, camt booking date), when stated.
    pub credited_on: Option<NaiveDate>,
    /// The amount, positive, in roubles.
    pub amount: Decimal,
    /// Who paid.
    pub payer: Party,
    /// Who received.
    pub payee: Party,
    /// The payment purpose (`НазначениеПлатежа`, camt `RmtInf/Ustrd`), lines joined by a space.
    pub purpose: String,
    /// The payment's УИН (1C `Код`, camt structured creditor reference), when one is given and not «0».
    pub uin: Option<String>,
    /// The bank's own reference of the movement (camt `AcctSvcrRef`), when given.
    pub bank_reference: Option<String>,
    /// Whether the statement says money came in (camt `CRDT`); `None` when the format leaves it to the
    /// accounts (1C: incoming when the payee's account is the statement's).
    pub incoming: Option<bool>,
}

/// A part of a file that could not be read as a payment, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Where it starts in the file (as [`StatementLine::place`]).
    pub place: usize,
    /// The field at fault (the format's own name of it), or the record.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Not a file of this format (its first line or root element says otherwise).
    #[error("{field}: {reason}")]
    Format {
        /// The field (or element) at fault.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Reading failed.
    #[error("the file could not be read: {0}")]
    Io(#[from] std::io::Error),
}

impl FileError {
    /// A file that is not of the format, with the field at fault.
    pub fn format(field: &str, reason: impl Into<String>) -> Self {
        Self::Format {
            field: field.to_owned(),
            reason: reason.into(),
        }
    }
}

/// What a statement file is, told from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementFormat {
    /// `1CClientBankExchange`.
    OneC,
    /// ISO 20022 camt.053 (XML).
    Camt053,
}

impl StatementFormat {
    /// Tells the format from the start of a file (a BOM and leading white space allowed); `None` when it is
    /// neither.
    pub fn detect(head: &[u8]) -> Option<Self> {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
        let head = &head[start..];
        if head.starts_with(b"1CClientBankExchange") {
            Some(Self::OneC)
        } else if head.starts_with(b"<") {
            Some(Self::Camt053)
        } else {
            None
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OneC => "1c",
            Self::Camt053 => "camt053",
        }
    }
}

/// One physical line, at most a little over [`MAX_RECORD_BYTES`] kept (the rest of a longer line is read
/// and dropped, so memory stays bounded); the bytes read.
pub(crate) fn read_line_bounded<R: std::io::BufRead>(
    input: &mut R,
    out: &mut Vec<u8>,
) -> Result<usize, FileError> {
    let mut total = 0;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(total);
        }
        let (take, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if out.len() <= MAX_RECORD_BYTES {
            out.extend_from_slice(&buf[..take]);
        }
        input.consume(take);
        total += take;
        if done {
            return Ok(total);
        }
    }
}

/// Parses an amount written with a point or a comma and at most two decimals («1500.00», «1 500,5»).
pub fn amount(raw: &str) -> Result<Decimal, String> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    if cleaned.is_empty() {
        return Err("is empty".into());
    }
    if !cleaned.chars().all(|c| c.is_ascii_digit() || c == '.') || cleaned.matches('.').count() > 1
    {
        return Err(format!("«{raw}» is not an amount"));
    }
    let d: Decimal = cleaned
        .parse()
        .map_err(|_| format!("«{raw}» is not an amount"))?;
    if d.scale() > 2 {
        return Err(format!("«{raw}» has more than two decimals"));
    }
    if d <= Decimal::ZERO {
        return Err("must be positive".into());
    }
    if d > Decimal::from(1_000_000_000_000_i64) {
        return Err("is larger than 10¹² roubles".into());
    }
    Ok(d)
}

/// Parses a date written as DD.MM.YYYY (1C) or YYYY-MM-DD (ISO).
pub fn date(raw: &str) -> Result<NaiveDate, String> {
    let raw = raw.trim();
    NaiveDate::parse_from_str(raw, "%d.%m.%Y")
        .or_else(|_| NaiveDate::parse_from_str(raw.get(..10).unwrap_or(raw), "%Y-%m-%d"))
        .map_err(|_| format!("«{raw}» is not a date (DD.MM.YYYY)"))
}

/// A value that is only digits, of one of the lengths, or `None` when empty or «0».
fn digits(raw: &str, lengths: &[usize]) -> Result<Option<String>, String> {
    let v = raw.trim();
    if v.is_empty() || v == "0" {
        return Ok(None);
    }
    if v.chars().all(|c| c.is_ascii_digit()) && lengths.contains(&v.len()) {
        Ok(Some(v.to_owned()))
    } else {
        let lengths: Vec<String> = lengths.iter().map(ToString::to_string).collect();
        Err(format!("«{v}» is not {} digits", lengths.join(" or ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn amounts_with_a_point_a_comma_or_spaces_are_read_and_the_rest_refused() {
        assert_eq!(amount("1500.00"), Ok(dec!(1500.00)));
        assert_eq!(amount("1 500,5"), Ok(dec!(1500.5)));
        for bad in ["", "0", "-5", "1.234", "1e5", "12,3,4", "abc"] {
            assert!(amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_format_is_told_from_the_first_bytes() {
        assert_eq!(
            StatementFormat::detect(b"\xEF\xBB\xBF1CClientBankExchange\r\n"),
            Some(StatementFormat::OneC)
        );
        assert_eq!(
            StatementFormat::detect(b"  <?xml version=\"1.0\"?>"),
            Some(StatementFormat::Camt053)
        );
        assert_eq!(StatementFormat::detect(b"%PDF-1.7"), None);
    }
}
