//! The traffic fines register: the resolutions issued against the lessor's vehicles (the lessor is their
//! registered owner), as the lessor receives them from ГИС ГМП or its fines service and passes them on.
//! Two spellings of one record (docs/formats.md "Fines register"):
//!
//! - **CSV**: UTF-8 (a BOM allowed) or Windows-1251; `;` or `,` between fields (told from the header);
//!   fields quoted with `"` when they hold the separator, a quote (doubled) or a line break; a header row
//!   naming the columns in any order, in English or Russian (`uin`/`УИН`, …);
//! - **XML**: `<FinesRegister>` with one `<Fine>` per resolution, its fields as child elements
//!   (`<UIN>`, `<ResolutionDate>`, …), UTF-8.
//!
//! Either is read a record at a time, each a [`FineLine`] or a [`Rejected`] naming the field and why.

use std::collections::HashMap;
use std::io::BufRead;

use chrono::NaiveDate;
use quick_xml::events::Event;
use rust_decimal::Decimal;

use crate::{amount, date, read_line_bounded, FileError, Rejected, MAX_RECORD_BYTES};

/// One resolution of the register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FineLine {
    /// The record's place: its line (CSV, the header is line 1) or its ordinal (XML), from 1.
    pub place: usize,
    /// The resolution's УИН (20 or 25 digits): the fine's identity.
    pub uin: String,
    /// The date the resolution was issued.
    pub date: NaiveDate,
    /// The fine as imposed.
    pub amount: Decimal,
    /// The discount's last day, when the register states it.
    pub discount_until: Option<NaiveDate>,
    /// The offence's article as written («ч. 2 ст. 12.9»), when given.
    pub article: Option<String>,
    /// The vehicle's VIN (17 characters), uppercased.
    pub vin: Option<String>,
    /// The registration plate as written.
    pub plate: Option<String>,
    /// The vehicle registration certificate (СТС), when given.
    pub sts: Option<String>,
    /// What the offence is, as written (may be empty).
    pub description: String,
}

/// What a register file is, told from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterFormat {
    /// Delimited text with a header row.
    Csv,
    /// `<FinesRegister>`.
    Xml,
}

impl RegisterFormat {
    /// Tells the format from the start of a file; `None` when it is neither (nothing to read, or binary).
    pub fn detect(head: &[u8]) -> Option<Self> {
        let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
        let head = &head[start..];
        if head.starts_with(b"<") {
            return Some(Self::Xml);
        }
        // A header row: text up to the first line break, with a separator, and no control bytes.
        let line = head.split(|b| *b == b'\n').next().unwrap_or(head);
        let text_like = line
            .iter()
            .all(|b| *b >= 0x20 || *b == b'\t' || *b == b'\r');
        (text_like && (line.contains(&b';') || line.contains(&b','))).then_some(Self::Csv)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xml => "xml",
        }
    }
}

/// The fields of a record, by the register's canonical (XML) names.
const FIELDS: &[(&str, &[&str])] = &[
    ("UIN", &["uin", "уин"]),
    (
        "ResolutionDate",
        &[
            "resolution_date",
            "resolutiondate",
            "дата_постановления",
            "дата постановления",
        ],
    ),
    (
        "Amount",
        &["amount", "сумма", "сумма_штрафа", "сумма штрафа"],
    ),
    (
        "DiscountUntil",
        &["discount_until", "discountuntil", "скидка_до", "скидка до"],
    ),
    ("Article", &["article", "статья"]),
    ("VIN", &["vin"]),
    ("Plate", &["plate", "госномер", "грз"]),
    ("STS", &["sts", "стс"]),
    ("Description", &["description", "описание"]),
];

fn canonical(header: &str) -> Option<&'static str> {
    let h = header.trim().trim_matches('"').trim().to_lowercase();
    FIELDS
        .iter()
        .find(|(name, aliases)| name.to_lowercase() == h || aliases.contains(&h.as_str()))
        .map(|(name, _)| *name)
}

/// Builds a line from a record's fields (canonical names); the first field at fault rejects it.
fn record(place: usize, fields: &HashMap<&'static str, String>) -> Result<FineLine, Rejected> {
    let reject = |field: &str, reason: String| Rejected {
        place,
        field: field.to_owned(),
        reason,
    };
    let get = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let uin = get("UIN").ok_or_else(|| reject("UIN", "is missing".into()))?;
    if !(uin.len() == 20 || uin.len() == 25) || !uin.chars().all(|c| c.is_ascii_digit()) {
        return Err(reject("UIN", format!("«{uin}» is not 20 or 25 digits")));
    }
    let date =
        date(get("ResolutionDate").ok_or_else(|| reject("ResolutionDate", "is missing".into()))?)
            .map_err(|r| reject("ResolutionDate", r))?;
    let amount = amount(get("Amount").ok_or_else(|| reject("Amount", "is missing".into()))?)
        .map_err(|r| reject("Amount", r))?;
    let discount_until = get("DiscountUntil")
        .map(crate::date)
        .transpose()
        .map_err(|r| reject("DiscountUntil", r))?;
    let vin = get("VIN").map(str::to_uppercase);
    if let Some(v) = &vin {
        if v.chars().count() != 17
            || !v.chars().all(|c| c.is_ascii_alphanumeric())
            || v.contains(['I', 'O', 'Q'])
        {
            return Err(reject(
                "VIN",
                format!("«{v}» is not a VIN (17 letters and digits, no I, O or Q)"),
            ));
        }
    }
    let plate = get("Plate").map(str::to_owned);
    if vin.is_none() && plate.is_none() {
        return Err(reject(
            "VIN",
            "neither a VIN nor a plate names the vehicle".into(),
        ));
    }
    Ok(FineLine {
        place,
        uin: uin.to_owned(),
        date,
        amount,
        discount_until,
        article: get("Article").map(str::to_owned),
        vin,
        plate,
        sts: get("STS").map(str::to_owned),
        description: get("Description").unwrap_or("").to_owned(),
    })
}

/// The key a plate is compared by: upper case, no spaces, the Cyrillic letters a Russian plate uses
/// written as the Latin letters they look like («а 123 вс 77» and «A123BC77» are one plate). The SQL of the
/// match computes the same (`plate_key` in migration 0019).
pub fn plate_key(plate: &str) -> String {
    plate
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'А' => 'A',
            'В' => 'B',
            'Е' => 'E',
            'К' => 'K',
            'М' => 'M',
            'Н' => 'H',
            'О' => 'O',
            'Р' => 'P',
            'С' => 'C',
            'Т' => 'T',
            'У' => 'Y',
            'Х' => 'X',
            other => other,
        })
        .collect()
}

/// One record or a rejection; `Err` when the file cannot be read further.
pub type Item = Result<Result<FineLine, Rejected>, FileError>;

/// Reads a register record by record.
pub enum Reader<R> {
    /// CSV.
    Csv(CsvReader<R>),
    /// XML.
    Xml(XmlReader<R>),
}

impl<R: BufRead> Reader<R> {
    /// A reader of `input` in `format`.
    ///
    /// # Errors
    /// The header (CSV) or the root element (XML) is not the register's.
    pub fn new(input: R, format: RegisterFormat) -> Result<Self, FileError> {
        Ok(match format {
            RegisterFormat::Csv => Self::Csv(CsvReader::new(input)?),
            RegisterFormat::Xml => Self::Xml(XmlReader::new(input)),
        })
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        match self {
            Self::Csv(r) => r.next(),
            Self::Xml(r) => r.next(),
        }
    }
}

/// The CSV spelling.
pub struct CsvReader<R> {
    input: R,
    separator: char,
    columns: Vec<Option<&'static str>>,
    /// The line the next record starts on.
    line: usize,
    cp1251: bool,
    ended: bool,
}

impl<R: BufRead> CsvReader<R> {
    fn new(mut input: R) -> Result<Self, FileError> {
        let mut cp1251 = false;
        let mut lines_read = 0;
        let header = read_record(&mut input, &mut cp1251, &mut lines_read)?
            .ok_or_else(|| FileError::format("header", "the file is empty"))?;
        let header = header.trim_start_matches('\u{feff}').to_owned();
        let separator = if header.contains(';') { ';' } else { ',' };
        let columns: Vec<Option<&'static str>> = split(&header, separator)
            .iter()
            .map(|h| canonical(h))
            .collect();
        for required in ["UIN", "ResolutionDate", "Amount"] {
            if !columns.contains(&Some(required)) {
                return Err(FileError::format(
                    "header",
                    format!(
                        "the column {required} is missing (docs/formats.md \"Fines register\")"
                    ),
                ));
            }
        }
        if !columns.contains(&Some("VIN")) && !columns.contains(&Some("Plate")) {
            return Err(FileError::format(
                "header",
                "neither a VIN nor a Plate column names the vehicles",
            ));
        }
        Ok(Self {
            input,
            separator,
            columns,
            line: 1 + lines_read,
            cp1251,
            ended: false,
        })
    }

    fn next(&mut self) -> Option<Item> {
        loop {
            if self.ended {
                return None;
            }
            let place = self.line;
            let mut lines = 0;
            let text = match read_record(&mut self.input, &mut self.cp1251, &mut lines) {
                Ok(Some(t)) => t,
                Ok(None) => {
                    self.ended = true;
                    return None;
                }
                Err(FileError::Format { field, reason }) if field == "record" => {
                    self.line += lines.max(1);
                    return Some(Ok(Err(Rejected {
                        place,
                        field,
                        reason,
                    })));
                }
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            };
            self.line += lines.max(1);
            if text.trim().is_empty() {
                continue;
            }
            let values = split(&text, self.separator);
            let mut fields = HashMap::new();
            for (column, value) in self.columns.iter().zip(values) {
                if let Some(c) = column {
                    fields.insert(*c, value);
                }
            }
            return Some(Ok(record(place, &fields)));
        }
    }
}

/// Reads one record (several physical lines when a quoted field holds a line break), decoded; counts the
/// lines it took. `None` at the end. A record longer than [`MAX_RECORD_BYTES`] is skipped and reported as a
/// `record` format error (the reader goes on with the next line).
fn read_record<R: BufRead>(
    input: &mut R,
    cp1251: &mut bool,
    lines: &mut usize,
) -> Result<Option<String>, FileError> {
    let mut bytes = Vec::new();
    loop {
        let mut line = Vec::new();
        let n = read_line_bounded(input, &mut line)?;
        if n == 0 {
            break;
        }
        *lines += 1;
        if line.len() > MAX_RECORD_BYTES || bytes.len() + line.len() > MAX_RECORD_BYTES {
            return Err(FileError::format(
                "record",
                format!("longer than {MAX_RECORD_BYTES} bytes"),
            ));
        }
        bytes.extend_from_slice(&line);
        // An odd number of quotes: a quoted field goes on on the next line.
        if bytes.iter().filter(|b| **b == b'"').count() % 2 == 0 {
            break;
        }
    }
    if bytes.is_empty() {
        return Ok(None);
    }
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    if !*cp1251 {
        match String::from_utf8(bytes) {
            Ok(s) => return Ok(Some(s)),
            Err(e) => {
                // Not UTF-8: the Windows code page Russian Excel saves CSV in.
                *cp1251 = true;
                bytes = e.into_bytes();
            }
        }
    }
    let (text, _, _) = encoding_rs::WINDOWS_1251.decode(&bytes);
    Ok(Some(text.into_owned()))
}

/// Splits a record at `separator` outside quotes, unquoting.
fn split(text: &str, separator: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == separator && !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// The XML spelling.
pub struct XmlReader<R> {
    xml: quick_xml::Reader<R>,
    buf: Vec<u8>,
    depth: usize,
    records: usize,
    root_seen: bool,
    ended: bool,
}

/// Deepest nesting accepted: the root, a record, its fields.
const MAX_DEPTH: usize = 3;

impl<R: BufRead> XmlReader<R> {
    fn new(input: R) -> Self {
        let xml = quick_xml::Reader::from_reader(input);
        Self {
            xml,
            buf: Vec::new(),
            depth: 0,
            records: 0,
            root_seen: false,
            ended: false,
        }
    }

    fn fail(&mut self, field: &str, reason: impl Into<String>) -> Option<Item> {
        self.ended = true;
        Some(Err(FileError::format(field, reason)))
    }

    fn next(&mut self) -> Option<Item> {
        let mut fields: HashMap<&'static str, String> = HashMap::new();
        let mut current: Option<&'static str> = None;
        let mut bytes = 0usize;
        let mut bad: Option<(String, String)> = None;
        loop {
            if self.ended {
                return None;
            }
            self.buf.clear();
            let event = match self.xml.read_event_into(&mut self.buf) {
                Ok(e) => e.into_owned(),
                Err(e) => return self.fail("xml", format!("not well-formed XML: {e}")),
            };
            match event {
                Event::Start(e) => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return self
                            .fail("xml", format!("nested deeper than {MAX_DEPTH} elements"));
                    }
                    let name = local(e.name().as_ref());
                    match self.depth {
                        1 if name == "FinesRegister" => self.root_seen = true,
                        1 => {
                            return self.fail(
                                "FinesRegister",
                                format!("the root element is <{name}>, not <FinesRegister>"),
                            )
                        }
                        2 if name == "Fine" => {
                            self.records += 1;
                            fields.clear();
                            bytes = 0;
                            bad = None;
                        }
                        2 => {}
                        _ => {
                            current = FIELDS.iter().find(|(n, _)| *n == name).map(|(n, _)| *n);
                            if current.is_none() && bad.is_none() {
                                bad = Some((name, "is not a field of a fine".into()));
                            }
                        }
                    }
                }
                Event::Empty(e) if self.depth == 0 => {
                    let name = local(e.name().as_ref());
                    if name == "FinesRegister" {
                        self.ended = true;
                        return None;
                    }
                    return self.fail(
                        "FinesRegister",
                        format!("the root element is <{name}>, not <FinesRegister>"),
                    );
                }
                Event::Text(t) => {
                    if let Some(field) = current {
                        let text = match t.decode() {
                            Ok(s) => quick_xml::escape::unescape(&s)
                                .map(|s| s.into_owned())
                                .unwrap_or_else(|_| s.into_owned()),
                            Err(e) => {
                                return self.fail("xml", format!("text is not UTF-8: {e}"));
                            }
                        };
                        bytes += text.len();
                        if bytes > MAX_RECORD_BYTES {
                            return self.fail(
                                "Fine",
                                format!("a record is longer than {MAX_RECORD_BYTES} bytes"),
                            );
                        }
                        fields.entry(field).or_default().push_str(&text);
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(field) = current {
                        let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                        let c = match name.as_str() {
                            "amp" => "&".to_owned(),
                            "lt" => "<".to_owned(),
                            "gt" => ">".to_owned(),
                            "quot" => "\"".to_owned(),
                            "apos" => "'".to_owned(),
                            _ => match r.resolve_char_ref() {
                                Ok(Some(c)) => c.to_string(),
                                _ => return self.fail("xml", format!("unknown entity «&{name};»")),
                            },
                        };
                        fields.entry(field).or_default().push_str(&c);
                    }
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    match self.depth {
                        2 => current = None,
                        1 => {
                            let place = self.records;
                            if let Some((field, reason)) = bad.take() {
                                return Some(Ok(Err(Rejected {
                                    place,
                                    field,
                                    reason,
                                })));
                            }
                            return Some(Ok(record(place, &fields)));
                        }
                        _ => {}
                    }
                }
                Event::Eof => {
                    self.ended = true;
                    if !self.root_seen {
                        return Some(Err(FileError::format(
                            "FinesRegister",
                            "no <FinesRegister> element",
                        )));
                    }
                    if self.depth > 0 {
                        return Some(Err(FileError::format("xml", "the file breaks off")));
                    }
                    return None;
                }
                Event::DocType(_) => {
                    return self.fail("xml", "a DOCTYPE is not accepted");
                }
                _ => {}
            }
        }
    }
}

fn local(name: &[u8]) -> String {
    let n = String::from_utf8_lossy(name);
    match n.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => n.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn read(bytes: &[u8]) -> Result<Vec<Result<FineLine, Rejected>>, FileError> {
        let format = RegisterFormat::detect(bytes).expect("a register");
        Reader::new(bytes, format)?.collect()
    }

    const CSV: &str = "УИН;Дата постановления;Сумма;Скидка до;Статья;VIN;Госномер;Описание\n\
        18810177260303000001;03.03.2026;500,00;23.03.2026;ч. 2 ст. 12.9;XTA210990Y2766389;;\"Превышение скорости; 20–40 км/ч\"\n\
        18810177260303000002;2026-03-04;5000;;ч. 1 ст. 12.26;;а 123 вс 77;\"Отказ от \"\"освидетельствования\"\"\n(повторно)\"\n\
        \n\
        123;04.03.2026;500;;;;А123ВС77;\n\
        18810177260303000003;04.03.2026;-1;;;;А123ВС77;\n\
        18810177260303000004;04.03.2026;300;;;;;\n";

    #[test]
    fn a_csv_register_is_read_by_its_header_with_quotes_line_breaks_and_russian_names() {
        let got = read(CSV.as_bytes()).unwrap();
        assert_eq!(got.len(), 5, "{got:?}");
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.place, 2);
        assert_eq!(first.uin, "18810177260303000001");
        assert_eq!(first.amount, dec!(500.00));
        assert_eq!(first.discount_until, NaiveDate::from_ymd_opt(2026, 3, 23));
        assert_eq!(first.vin.as_deref(), Some("XTA210990Y2766389"));
        assert_eq!(first.description, "Превышение скорости; 20–40 км/ч");
        let second = got[1].as_ref().unwrap();
        assert_eq!(second.place, 3);
        assert_eq!(second.plate.as_deref(), Some("а 123 вс 77"));
        assert_eq!(
            second.description,
            "Отказ от \"освидетельствования\"\n(повторно)"
        );
        // The quoted line break took a line; the blank line is skipped.
        let bad: Vec<(usize, String)> = got[2..]
            .iter()
            .map(|r| {
                let r = r.as_ref().unwrap_err();
                (r.place, r.field.clone())
            })
            .collect();
        assert_eq!(
            bad,
            vec![
                (6, "UIN".to_owned()),
                (7, "Amount".to_owned()),
                (8, "VIN".to_owned())
            ]
        );
    }

    #[test]
    fn a_windows_1251_csv_with_commas_is_read_too() {
        let text = "uin,resolution_date,amount,plate,article\n18810177260303000001,03.03.2026,800,В777ОР199,12.12.2\n";
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
        let got = read(&bytes).unwrap();
        let line = got[0].as_ref().unwrap();
        assert_eq!(line.plate.as_deref(), Some("В777ОР199"));
        assert_eq!(line.article.as_deref(), Some("12.12.2"));
    }

    #[test]
    fn a_header_without_the_required_columns_is_refused_as_a_whole() {
        let e = read(b"uin;amount;vin\n1;2;3\n").unwrap_err();
        assert!(e.to_string().contains("ResolutionDate"), "{e}");
        let e = read(b"uin;resolution_date;amount\n").unwrap_err();
        assert!(e.to_string().contains("VIN"), "{e}");
    }

    #[test]
    fn an_xml_register_is_read_record_by_record() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<FinesRegister version="1">
  <Fine>
    <UIN>18810177260303000001</UIN><ResolutionDate>2026-03-03</ResolutionDate><Amount>1500.00</Amount>
    <Article>ч. 4 ст. 12.16</Article><Plate>А123ВС77</Plate><Description>Поворот &amp; разворот</Description>
  </Fine>
  <Fine><UIN>1</UIN><ResolutionDate>2026-03-03</ResolutionDate><Amount>1</Amount><Plate>x</Plate></Fine>
  <Fine><UIN>18810177260303000002</UIN><Colour>red</Colour></Fine>
  <Fine/>
</FinesRegister>"#;
        let got = read(xml.as_bytes()).unwrap();
        assert_eq!(got.len(), 3, "{got:?}");
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.place, 1);
        assert_eq!(first.amount, dec!(1500.00));
        assert_eq!(first.description, "Поворот & разворот");
        assert_eq!(got[1].as_ref().unwrap_err().field, "UIN");
        assert_eq!(got[2].as_ref().unwrap_err().field, "Colour");
    }

    #[test]
    fn hostile_xml_ends_the_file_with_a_reason() {
        for (xml, field) in [
            ("<Other/>", "FinesRegister"),
            (
                "<FinesRegister><Fine><UIN><a>1</a></UIN></Fine></FinesRegister>",
                "xml",
            ),
            ("<!DOCTYPE x [<!ENTITY a \"b\">]><FinesRegister/>", "xml"),
            ("<FinesRegister><Fine><UIN>1", "xml"),
        ] {
            let e = read(xml.as_bytes()).unwrap_err();
            assert!(
                matches!(&e, FileError::Format { field: f, .. } if f == field),
                "{xml}: {e}"
            );
        }
    }

    #[test]
    fn plates_compare_whatever_alphabet_and_spacing_they_are_written_in() {
        assert_eq!(plate_key("а 123 вс 77"), "A123BC77");
        assert_eq!(plate_key("A123BC77"), "A123BC77");
        assert_eq!(plate_key("В777-ОР 199"), "B777OP199");
    }
}
