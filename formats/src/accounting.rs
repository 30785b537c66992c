//! Accounting documents from the lessor's accounting system (docs/formats.md "Accounting documents"): a
//! package — a ZIP archive or a directory — holding a manifest, `documents.jsonl`, one document per line,
//! and the files each line names (the printed PDF, and for a счёт-фактура or УПД the formalised file in the
//! ФНС XML format that ЭДО carries). The manifest is JSON Lines ([`crate::jsonl`]); amounts are strings.
//!
//! [`read_formal`] reads the few facts of a ФНС XML file the import checks against its manifest line (the
//! document's function, number, date, the buyer's ИНН and the totals): formats 5.01 (приказ ФНС
//! ММВ-7-15/820@, КНД 1115125) and 5.03 (приказ ФНС ЕД-7-26/970@, КНД 1115131), Windows-1251 or UTF-8.

use chrono::NaiveDate;
use quick_xml::events::Event;
use rust_decimal::Decimal;
use serde::Deserialize;

/// The manifest's name at the package's root.
pub const MANIFEST: &str = "documents.jsonl";

/// The most a file of the package may take.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// Deepest nesting of a ФНС XML file accepted (the formats nest 7 deep).
const MAX_DEPTH: usize = 16;

/// One document of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentRecord {
    /// The line of the manifest (from 1).
    #[serde(skip)]
    pub place: usize,
    /// The accounting system's id of the document: its identity across imports.
    pub external_id: String,
    /// `invoice` (счёт-фактура), `upd` (УПД), `act` (акт оказанных услуг).
    pub kind: String,
    /// The accounting system's id of the contract (as in the contracts file).
    pub contract: String,
    /// The document's number.
    pub number: String,
    /// The document's date (YYYY-MM-DD).
    pub date: NaiveDate,
    /// First day of the period it covers.
    pub period_from: NaiveDate,
    /// Last day of the period it covers.
    pub period_to: NaiveDate,
    /// Total with VAT.
    pub amount: String,
    /// The VAT in it («0» without).
    pub vat: String,
    /// The printed form: a PDF's path in the package.
    pub pdf: String,
    /// The ФНС XML file's path in the package (a счёт-фактура or УПД exchanged through ЭДО).
    #[serde(default)]
    pub xml: Option<String>,
    /// The title to list it under (by default the kind, number and date).
    #[serde(default)]
    pub title: Option<String>,
    /// The lessor's signature (a detached CMS file in the package): the document is then sent for the
    /// lessee's signature.
    #[serde(default)]
    pub signature: Option<SignatureRecord>,
}

/// The lessor's signature of a document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureRecord {
    /// The detached signature's path in the package.
    pub file: String,
    /// The signer's full name, as in the certificate.
    pub signer_name: String,
    /// The signer's position.
    pub signer_position: String,
    /// The certificate's SHA-1 thumbprint.
    pub thumbprint: String,
    /// When it was signed (RFC 3339).
    pub signed_at: chrono::DateTime<chrono::Utc>,
}

impl crate::jsonl::Record for DocumentRecord {
    fn placed(mut self, place: usize) -> Self {
        self.place = place;
        self
    }
}

/// Reads a manifest line by line.
pub type Reader<R> = crate::jsonl::Reader<R, DocumentRecord>;

/// A package path as the manifest may give it: relative, `/`-separated, no `..`, no empty part.
///
/// # Errors
/// Why the path is refused.
pub fn package_path(raw: &str) -> Result<&str, String> {
    let p = raw.trim();
    if p.is_empty() || p.len() > 500 {
        return Err("must be a path of 1 to 500 characters".into());
    }
    if p.starts_with('/') || p.contains('\\') || p.contains(':') {
        return Err(format!("«{p}» is not a relative path inside the package"));
    }
    if p.split('/')
        .any(|part| part.is_empty() || part == "." || part == "..")
    {
        return Err(format!("«{p}» is not a relative path inside the package"));
    }
    Ok(p)
}

/// What a ФНС XML file says of the document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Formal {
    /// The form's КНД (1115131, 1115125).
    pub knd: String,
    /// `Функция`: СЧФ (счёт-фактура), СЧФДОП (УПД), ДОП (a transfer document without a счёт-фактура).
    pub function: String,
    /// The document's number.
    pub number: String,
    /// The document's date.
    pub date: Option<NaiveDate>,
    /// The seller's ИНН.
    pub seller_inn: Option<String>,
    /// The buyer's ИНН.
    pub buyer_inn: Option<String>,
    /// Total with VAT (`ВсегоОпл/@СтТовУчНалВсего`).
    pub total: Option<Decimal>,
    /// The VAT (`ВсегоОпл/СумНалВсего/СумНал`; none: «без НДС»).
    pub vat: Option<Decimal>,
}

/// The forms accepted: КНД and the version they are of.
const FORMS: &[(&str, &str)] = &[("1115131", "5.03"), ("1115125", "5.01")];

/// Reads a ФНС XML счёт-фактура or УПД.
///
/// # Errors
/// Why it is not one: not XML, a DTD, nested too deep, another root, an unknown form, a missing number or
/// date.
pub fn read_formal(bytes: &[u8]) -> Result<Formal, String> {
    let text = decode(bytes)?;
    let mut xml = quick_xml::Reader::from_str(&text);
    xml.config_mut().trim_text(true);
    let mut path: Vec<String> = Vec::new();
    let mut f = Formal::default();
    let mut root_seen = false;
    loop {
        let event = xml
            .read_event()
            .map_err(|e| format!("is not well-formed XML: {e}"))?;
        let (start, empty) = match &event {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
            if path.is_empty() {
                if root_seen || name != "Файл" {
                    return Err(format!("the root element is <{name}>, not <Файл>"));
                }
                root_seen = true;
            }
            if path.len() >= MAX_DEPTH {
                return Err(format!("nested deeper than {MAX_DEPTH} elements"));
            }
            let attr = |key: &str| -> Result<Option<String>, String> {
                for a in e.attributes() {
                    let a = a.map_err(|e| format!("an attribute is malformed: {e}"))?;
                    if a.key.local_name().as_ref() == key.as_bytes() {
                        return a
                            .unescape_value()
                            .map(|v| Some(v.trim().to_owned()))
                            .map_err(|e| format!("an attribute is malformed: {e}"));
                    }
                }
                Ok(None)
            };
            let under = |parent: &str| path.iter().any(|p| p == parent);
            match name.as_str() {
                "Документ" if path.len() == 1 => {
                    f.knd = attr("КНД")?.unwrap_or_default();
                    f.function = attr("Функция")?.unwrap_or_default();
                }
                "СвСчФакт" => {
                    f.number = attr("НомерДок")?.or(attr("НомерСчФ")?).unwrap_or_default();
                    f.date = match attr("ДатаДок")?.or(attr("ДатаСчФ")?) {
                        Some(d) => Some(
                            NaiveDate::parse_from_str(&d, "%d.%m.%Y")
                                .map_err(|_| format!("the date «{d}» is not DD.MM.YYYY"))?,
                        ),
                        None => None,
                    };
                }
                "СвЮЛУч" | "СвИП" => {
                    let inn = attr("ИННЮЛ")?.or(attr("ИННФЛ")?);
                    if under("СвПокуп") {
                        f.buyer_inn = f.buyer_inn.or(inn);
                    } else if under("СвПрод") {
                        f.seller_inn = f.seller_inn.or(inn);
                    }
                }
                "ВсегоОпл" => {
                    f.total = attr("СтТовУчНалВсего")?
                        .map(|t| amount("СтТовУчНалВсего", &t))
                        .transpose()?;
                }
                _ => {}
            }
            if !empty {
                path.push(name);
            }
            continue;
        }
        match event {
            Event::Text(t)
                if path.last().is_some_and(|p| p == "СумНал")
                    && path.iter().any(|p| p == "ВсегоОпл") =>
            {
                let t = t.decode().map_err(|e| format!("text is malformed: {e}"))?;
                f.vat = Some(amount("СумНал", &t)?);
            }
            Event::End(_) => {
                path.pop();
            }
            Event::DocType(_) => return Err("a DTD is not accepted".into()),
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err("has no <Файл> element".into());
    }
    if !FORMS.iter().any(|(k, _)| *k == f.knd) {
        return Err(format!(
            "the form КНД «{}» is not a счёт-фактура or УПД (accepted: {})",
            f.knd,
            FORMS
                .iter()
                .map(|(k, v)| format!("{k} (v{v})"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if f.number.is_empty() || f.date.is_none() {
        return Err("<СвСчФакт> names no number or date".into());
    }
    Ok(f)
}

fn amount(field: &str, raw: &str) -> Result<Decimal, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("{field} «{raw}» is not an amount"))
}

/// The file as text: UTF-8 (with or without a BOM, or declared), else what its prolog declares
/// (Windows-1251, as ФНС files are).
fn decode(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8(rest.to_vec()).map_err(|_| "is not UTF-8".to_owned());
    }
    let prolog_end = bytes.iter().position(|b| *b == b'>').unwrap_or(0).min(200);
    let prolog = String::from_utf8_lossy(&bytes[..prolog_end]).to_ascii_lowercase();
    if prolog.contains("windows-1251") || prolog.contains("cp1251") {
        let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(bytes);
        if bad {
            return Err("is not Windows-1251".into());
        }
        return Ok(text.into_owned());
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| "is not UTF-8 (nor declared Windows-1251)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upd(version: &str) -> String {
        let (knd, number) = if version == "5.03" {
            ("1115131", r#"НомерДок="УПД-17" ДатаДок="30.11.2026""#)
        } else {
            ("1115125", r#"НомерСчФ="УПД-17" ДатаСчФ="30.11.2026""#)
        };
        format!(
            r#"<?xml version="1.0" encoding="windows-1251"?>
<Файл ИдФайл="ON_NSCHFDOPPR_1_2_3" ВерсФорм="{version}" ВерсПрог="1С">
  <Документ КНД="{knd}" Функция="СЧФДОП" ДатаИнфПр="30.11.2026">
    <СвСчФакт {number}>
      <СвПрод><ИдСв><СвЮЛУч НаимОрг="ООО &quot;Лизинг&quot;" ИННЮЛ="7702070139" КПП="770201001"/></ИдСв></СвПрод>
      <СвПокуп><ИдСв><СвЮЛУч НаимОрг="ООО Ромашка" ИННЮЛ="7707083893" КПП="770701001"/></ИдСв></СвПокуп>
    </СвСчФакт>
    <ТаблСчФакт>
      <ВсегоОпл СтТовБезНДСВсего="100000.00" СтТовУчНалВсего="120000.00">
        <СумНалВсего><СумНал>20000.00</СумНал></СумНалВсего>
      </ВсегоОпл>
    </ТаблСчФакт>
  </Документ>
</Файл>"#
        )
    }

    #[test]
    fn both_versions_in_windows_1251_are_read() {
        for version in ["5.03", "5.01"] {
            let text = upd(version);
            let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&text);
            let f = read_formal(&bytes).unwrap();
            assert_eq!(
                (
                    f.function.as_str(),
                    f.number.as_str(),
                    f.date,
                    f.seller_inn.as_deref(),
                    f.buyer_inn.as_deref(),
                    f.total,
                    f.vat
                ),
                (
                    "СЧФДОП",
                    "УПД-17",
                    NaiveDate::from_ymd_opt(2026, 11, 30),
                    Some("7702070139"),
                    Some("7707083893"),
                    Some(Decimal::new(12_000_000, 2)),
                    Some(Decimal::new(2_000_000, 2))
                ),
                "{version}"
            );
        }
    }

    #[test]
    fn what_is_not_a_tax_invoice_is_refused_with_the_reason() {
        let utf8 = upd("5.03").replace("windows-1251", "utf-8");
        assert!(read_formal(utf8.as_bytes()).is_ok());
        let cases = [
            (utf8.replace("1115131", "1175010"), "КНД «1175010»"),
            (utf8.replace("Файл", "File"), "not <Файл>"),
            (utf8.replace(r#"НомерДок="УПД-17" "#, ""), "names no number"),
            (
                utf8.replace(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>",
                    "<?xml version=\"1.0\"?><!DOCTYPE Файл [<!ENTITY a \"b\">]>",
                ),
                "DTD",
            ),
            (utf8.replace("</Документ>", ""), "well-formed"),
            (
                format!(
                    "<Файл>{}{}</Файл>",
                    "<a>".repeat(MAX_DEPTH + 2),
                    "</a>".repeat(MAX_DEPTH + 2)
                ),
                "nested deeper",
            ),
            ("%PDF-1.7".to_owned(), "no <Файл>"),
        ];
        for (xml, expected) in cases {
            let e = read_formal(xml.as_bytes()).unwrap_err();
            assert!(e.contains(expected), "{expected}: {e}");
        }
    }

    #[test]
    fn a_path_outside_the_package_is_refused() {
        assert_eq!(package_path(" upd/1.pdf "), Ok("upd/1.pdf"));
        for bad in [
            "",
            "/etc/passwd",
            "../x.pdf",
            "a/../../x",
            "a//b",
            "C:\\x",
            "a\\b",
            "./a",
        ] {
            assert!(package_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_manifest_line_is_read_and_a_float_amount_refused() {
        let line = r#"{"externalId": "BP-1", "kind": "upd", "contract": "1C-000123", "number": "УПД-17", "date": "2026-11-30", "periodFrom": "2026-11-01", "periodTo": "2026-11-30", "amount": "120000.00", "vat": "20000.00", "pdf": "upd/17.pdf", "xml": "upd/17.xml"}"#;
        let file = format!("{line}\n{}\n", line.replace("\"120000.00\"", "120000.5"));
        let got: Vec<_> = Reader::new(file.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let first = got[0].as_ref().unwrap();
        assert_eq!((first.place, first.xml.as_deref()), (1, Some("upd/17.xml")));
        let second = got[1].as_ref().unwrap_err();
        assert_eq!(
            (second.place, second.field.as_str()),
            (2, "record"),
            "{second:?}"
        );
        assert!(second.reason.contains("expected a string"), "{second:?}");
    }
}
