//! The bank-client exchange file (`1CClientBankExchange`, format 1.03): a header of `key=value` lines, account
//! sections (`СекцияРасчСчет … КонецРасчСчет`), one `СекцияДокумент=<kind> … КонецДокумента` block per payment
//! document, and `КонецФайла`. Banks write it in Windows-1251 (`Кодировка=Windows`), some in DOS (866) or
//! UTF-8; the encoding is told from the header itself (the first line with letters other than Latin decodes
//! to a known key in exactly one of them), so a file whose `Кодировка` line is wrong is still read.
//!
//! [`Reader`] yields one document at a time; a damaged document is a [`Rejected`] naming its line and field,
//! and reading goes on with the next.

use std::collections::HashMap;
use std::io::BufRead;

use encoding_rs::{Encoding, IBM866, UTF_8, WINDOWS_1251};

use crate::{amount, date, digits, FileError, Party, Rejected, StatementLine, MAX_RECORD_BYTES};

/// The most fields one document may have (a real one has about forty).
const MAX_FIELDS: usize = 200;

/// Header keys, to tell the encoding.
const KNOWN_KEYS: &[&str] = &[
    "ВерсияФормата",
    "Кодировка",
    "Отправитель",
    "Получатель",
    "ДатаСоздания",
    "ВремяСоздания",
    "ДатаНачала",
    "ДатаКонца",
    "РасчСчет",
    "СекцияРасчСчет",
    "СекцияДокумент",
    "Документ",
    "КонецФайла",
];

/// What the header says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// `ВерсияФормата`.
    pub version: Option<String>,
    /// The encoding the file was read in (`windows-1251`, `IBM866`, `UTF-8`).
    pub encoding: &'static str,
    /// `Отправитель` (the program that wrote it).
    pub sender: Option<String>,
    /// The statement's accounts (`РасчСчет` in the header and in account sections).
    pub accounts: Vec<String>,
}

/// Reads a 1C exchange file document by document.
pub struct Reader<R> {
    input: R,
    encoding: &'static Encoding,
    /// Lines read so far.
    line: usize,
    /// A line read ahead (the header's end), with its number.
    ahead: Option<(usize, String)>,
    /// Further lines read ahead, last first.
    queued: Vec<(usize, String)>,
    header: Header,
    ended: bool,
}

/// One line, at most [`MAX_RECORD_BYTES`]: `None` at the end, `Some(true)` when it was longer (the rest is
/// skipped).
fn read_line(input: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    out.clear();
    let mut too_long = false;
    let mut any = false;
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(any.then_some(too_long));
        }
        any = true;
        let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (&buf[..i], Some(i + 1)),
            None => (buf, None),
        };
        let room = MAX_RECORD_BYTES.saturating_sub(out.len());
        if chunk.len() > room {
            too_long = true;
        }
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = found.unwrap_or(buf.len());
        input.consume(used);
        if found.is_some() {
            if out.last() == Some(&b'\r') {
                out.pop();
            }
            return Ok(Some(too_long));
        }
    }
}

/// The encoding in which `raw` decodes to a line starting with a known key.
fn tell_encoding(raw: &[u8]) -> Option<&'static Encoding> {
    [UTF_8, WINDOWS_1251, IBM866].into_iter().find(|e| {
        let (text, had_errors) = e.decode_without_bom_handling(raw);
        !had_errors && KNOWN_KEYS.iter().any(|k| text.starts_with(k))
    })
}

impl<R: BufRead> Reader<R> {
    /// Reads the header.
    ///
    /// # Errors
    /// [`FileError::Format`] when the first line is not `1CClientBankExchange` or the encoding cannot be
    /// told; an I/O error.
    pub fn new(mut input: R) -> Result<Self, FileError> {
        let mut raw = Vec::new();
        let first = read_line(&mut input, &mut raw)?;
        let first_line = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw);
        if first.is_none() || first_line.trim_ascii() != b"1CClientBankExchange" {
            return Err(FileError::format(
                "1CClientBankExchange",
                "the first line must be «1CClientBankExchange»: this is not a bank-client exchange file",
            ));
        }
        let mut line = 1;
        // Header lines up to the first with letters other than Latin, which tells the encoding.
        let mut pending: Vec<(usize, Vec<u8>)> = Vec::new();
        let encoding = loop {
            match read_line(&mut input, &mut raw)? {
                None => break UTF_8,
                Some(_) => {
                    line += 1;
                    pending.push((line, raw.clone()));
                    if raw.is_ascii() {
                        if pending.len() > 50 {
                            break UTF_8;
                        }
                        continue;
                    }
                    break tell_encoding(&raw).ok_or_else(|| {
                        FileError::format(
                            "Кодировка",
                            format!(
                                "line {line}: the encoding cannot be told (expected Windows-1251, DOS 866 or \
                                 UTF-8 and a known header key)"
                            ),
                        )
                    })?;
                }
            }
        };
        let mut reader = Self {
            input,
            encoding,
            line,
            ahead: None,
            queued: Vec::new(),
            header: Header {
                encoding: encoding.name(),
                ..Header::default()
            },
            ended: false,
        };
        // The header proper: until the first section.
        let mut lines = pending
            .into_iter()
            .map(|(n, raw)| (n, reader.decode(&raw)))
            .collect::<Vec<_>>()
            .into_iter();
        loop {
            let (n, text) = match lines.next() {
                Some(l) => l,
                None => match reader.next_line()? {
                    Some(l) => l,
                    None => break,
                },
            };
            let (key, value) = split(&text);
            match key {
                "ВерсияФормата" => reader.header.version = Some(value.to_owned()),
                "Отправитель" => reader.header.sender = Some(value.to_owned()),
                "РасчСчет" if !value.is_empty() => {
                    reader.header.accounts.push(value.to_owned())
                }
                "СекцияРасчСчет" | "СекцияДокумент" | "КонецФайла" =>
                {
                    // Whatever was read with it is given back in order.
                    let rest: Vec<(usize, String)> =
                        std::iter::once((n, text)).chain(lines).collect();
                    reader.push_back(rest);
                    break;
                }
                _ => {}
            }
        }
        Ok(reader)
    }

    fn push_back(&mut self, lines: Vec<(usize, String)>) {
        // Only the first can be the header's end; any more were already-read header lines (none in
        // practice: the encoding is told from the first lines, before any section).
        let mut it = lines.into_iter();
        self.ahead = it.next();
        let rest: Vec<(usize, String)> = it.collect();
        if !rest.is_empty() {
            self.queued = rest.into_iter().rev().collect();
        }
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    fn decode(&self, raw: &[u8]) -> String {
        self.encoding
            .decode_without_bom_handling(raw)
            .0
            .trim()
            .to_owned()
    }

    /// The next line, decoded and trimmed, with its number.
    fn next_line(&mut self) -> Result<Option<(usize, String)>, FileError> {
        if let Some(l) = self.ahead.take() {
            return Ok(Some(l));
        }
        if let Some(l) = self.queued.pop() {
            return Ok(Some(l));
        }
        let mut raw = Vec::new();
        match read_line(&mut self.input, &mut raw)? {
            None => Ok(None),
            Some(too_long) => {
                self.line += 1;
                let mut text = self.decode(&raw);
                if too_long {
                    // Marked so the document it is in is rejected.
                    text = format!("\u{0}{text}");
                }
                Ok(Some((self.line, text)))
            }
        }
    }

    /// The next document: a payment, or the rejection of a damaged one; `None` at `КонецФайла` or the end.
    ///
    /// # Errors
    /// An I/O error.
    pub fn next_document(&mut self) -> Result<Option<Result<StatementLine, Rejected>>, FileError> {
        while !self.ended {
            let Some((n, text)) = self.next_line()? else {
                self.ended = true;
                break;
            };
            let (key, _) = split(&text);
            match key {
                "КонецФайла" => self.ended = true,
                "СекцияРасчСчет" => self.account_section()?,
                "СекцияДокумент" => return Ok(Some(self.document(n)?)),
                _ => {}
            }
        }
        Ok(None)
    }

    fn account_section(&mut self) -> Result<(), FileError> {
        while let Some((_, text)) = self.next_line()? {
            let (key, value) = split(&text);
            match key {
                "КонецРасчСчет" => return Ok(()),
                "РасчСчет"
                    if !value.is_empty() && !self.header.accounts.iter().any(|a| a == value) =>
                {
                    self.header.accounts.push(value.to_owned())
                }
                // A section that is not closed: the next one starts.
                "СекцияДокумент" | "КонецФайла" => {
                    let l = (self.line, text);
                    self.ahead = Some(l);
                    return Ok(());
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn document(&mut self, start: usize) -> Result<Result<StatementLine, Rejected>, FileError> {
        let mut fields: HashMap<String, String> = HashMap::new();
        let mut damage: Option<Rejected> = None;
        let reject = |field: &str, reason: String| Rejected {
            place: start,
            field: field.to_owned(),
            reason,
        };
        loop {
            let Some((n, text)) = self.next_line()? else {
                self.ended = true;
                return Ok(Err(reject(
                    "КонецДокумента",
                    "the file ends inside the document (no КонецДокумента)".into(),
                )));
            };
            if let Some(rest) = text.strip_prefix('\u{0}') {
                let key = split(rest).0.to_owned();
                damage.get_or_insert(reject(
                    &key,
                    format!("line {n} is longer than {MAX_RECORD_BYTES} bytes"),
                ));
                continue;
            }
            let (key, value) = split(&text);
            match key {
                "КонецДокумента" => break,
                "СекцияДокумент" | "КонецФайла" => {
                    // The next block begins: this one was never closed.
                    self.ahead = Some((n, text.clone()));
                    return Ok(Err(reject(
                        "КонецДокумента",
                        format!("the document is not closed before line {n}"),
                    )));
                }
                "" => {}
                _ => {
                    if !text.contains('=') {
                        damage.get_or_insert(reject(key, format!("line {n} is not «key=value»")));
                    } else if fields.len() >= MAX_FIELDS {
                        damage.get_or_insert(reject(
                            key,
                            format!("more than {MAX_FIELDS} fields in one document"),
                        ));
                    } else {
                        fields.insert(key.to_owned(), value.to_owned());
                    }
                }
            }
        }
        if let Some(d) = damage {
            return Ok(Err(d));
        }
        Ok(read_document(start, &fields))
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Result<StatementLine, Rejected>, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_document().transpose()
    }
}

fn split(line: &str) -> (&str, &str) {
    match line.split_once('=') {
        Some((k, v)) => (k.trim(), v.trim()),
        None => (line.trim(), ""),
    }
}

fn read_document(start: usize, f: &HashMap<String, String>) -> Result<StatementLine, Rejected> {
    let reject = |field: &str, reason: String| Rejected {
        place: start,
        field: field.to_owned(),
        reason,
    };
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let required = |k: &str| {
        let v = get(k);
        if v.is_empty() {
            Err(reject(k, "is required".into()))
        } else {
            Ok(v)
        }
    };
    let number = required("Номер")?.to_owned();
    let date_ = date(required("Дата")?).map_err(|e| reject("Дата", e))?;
    let amount_ = amount(required("Сумма")?).map_err(|e| reject("Сумма", e))?;
    let credited_on = match get("ДатаПоступило") {
        "" => None,
        v => Some(date(v).map_err(|e| reject("ДатаПоступило", e))?),
    };
    let party = |prefix: &str| -> Result<Party, Rejected> {
        let inn_key = format!("{prefix}ИНН");
        let kpp_key = format!("{prefix}КПП");
        let account_key = format!("{prefix}Счет");
        let bank_key = format!("{prefix}БИК");
        let name = match get(&format!("{prefix}1")) {
            "" => strip_inn(get(prefix)).to_owned(),
            v => v.to_owned(),
        };
        Ok(Party {
            name,
            inn: digits(get(&inn_key), &[10, 12]).map_err(|e| reject(&inn_key, e))?,
            kpp: digits(get(&kpp_key), &[9]).map_err(|e| reject(&kpp_key, e))?,
            account: digits(get(&account_key), &[20]).map_err(|e| reject(&account_key, e))?,
            bank: digits(get(&bank_key), &[9]).map_err(|e| reject(&bank_key, e))?,
        })
    };
    let payer = party("Плательщик")?;
    let payee = party("Получатель")?;
    let purpose = match get("НазначениеПлатежа") {
        "" => (1..=6)
            .map(|i| get(&format!("НазначениеПлатежа{i}")))
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        v => v.to_owned(),
    };
    let uin = digits(get("Код"), &[20, 25]).map_err(|e| reject("Код", e))?;
    Ok(StatementLine {
        place: start,
        number,
        date: date_,
        credited_on,
        amount: amount_,
        payer,
        payee,
        purpose,
        uin,
        bank_reference: None,
        incoming: None,
    })
}

/// «ИНН 7707083893 ООО "Ромашка"» → «ООО "Ромашка"».
fn strip_inn(name: &str) -> &str {
    let n = name.trim();
    match n.strip_prefix("ИНН") {
        Some(rest) => {
            let rest = rest.trim_start();
            let digits_end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            rest[digits_end..].trim_start()
        }
        None => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn sample() -> String {
        [
            "1CClientBankExchange",
            "ВерсияФормата=1.03",
            "Кодировка=Windows",
            "Отправитель=Бухгалтерия предприятия",
            "ДатаСоздания=13.03.2026",
            "РасчСчет=40701810000000000001",
            "СекцияРасчСчет",
            "ДатаНачала=12.03.2026",
            "РасчСчет=40701810000000000001",
            "КонецРасчСчет",
            "СекцияДокумент=Платежное поручение",
            "Номер=51",
            "Дата=12.03.2026",
            "Сумма=150000.00",
            "ПлательщикСчет=40702810900000000002",
            "Плательщик=ИНН 7707083893 ООО \"Ромашка\"",
            "ПлательщикИНН=7707083893",
            "ПлательщикКПП=773601001",
            "ПолучательСчет=40701810000000000001",
            "ДатаПоступило=13.03.2026",
            "Код=0",
            "НазначениеПлатежа=Лизинговый платеж по договору лизинга № ЛД-7 от 01.02.2026, в т.ч. НДС 22%",
            "КонецДокумента",
            "СекцияДокумент=Платежное поручение",
            "Номер=52",
            "Дата=32.03.2026",
            "Сумма=10",
            "КонецДокумента",
            "СекцияДокумент=Платежное поручение",
            "Номер=53",
            "Дата=12.03.2026",
            "Сумма=2500,50",
            "Плательщик1=ИП Иванов Иван Иванович",
            "ПлательщикИНН=500100732259",
            "Код=18810177260312345678",
            "НазначениеПлатежа1=Возмещение штрафа",
            "НазначениеПлатежа2=по постановлению",
            "КонецДокумента",
            "КонецФайла",
        ]
        .join("\r\n")
    }

    fn read(bytes: &[u8]) -> (Header, Vec<Result<StatementLine, Rejected>>) {
        let mut r = Reader::new(bytes).unwrap();
        let docs: Vec<_> = r.by_ref().map(Result::unwrap).collect();
        (r.header().clone(), docs)
    }

    #[test]
    fn a_statement_is_read_in_windows_1251_dos_and_utf8_alike() {
        let text = sample();
        let (cp1251, _, _) = WINDOWS_1251.encode(&text);
        let (cp866, _, _) = IBM866.encode(&text);
        let mut outcomes = Vec::new();
        for (bytes, name) in [
            (cp1251.to_vec(), "windows-1251"),
            (cp866.to_vec(), "IBM866"),
            (text.as_bytes().to_vec(), "UTF-8"),
        ] {
            let (header, docs) = read(&bytes);
            assert_eq!(header.encoding, name);
            assert_eq!(header.version.as_deref(), Some("1.03"));
            assert_eq!(header.accounts, ["40701810000000000001"]);
            outcomes.push(docs);
        }
        assert_eq!(outcomes[0], outcomes[1]);
        assert_eq!(outcomes[0], outcomes[2]);
        let docs = &outcomes[0];
        assert_eq!(docs.len(), 3);
        let first = docs[0].as_ref().unwrap();
        assert_eq!(first.place, 11);
        assert_eq!(first.number, "51");
        assert_eq!(first.amount, dec!(150000.00));
        assert_eq!(first.payer.name, "ООО \"Ромашка\"");
        assert_eq!(first.payer.inn.as_deref(), Some("7707083893"));
        assert_eq!(first.payer.kpp.as_deref(), Some("773601001"));
        assert_eq!(first.payee.account.as_deref(), Some("40701810000000000001"));
        assert_eq!(first.uin, None);
        assert!(first.purpose.contains("ЛД-7"));
        let bad = docs[1].as_ref().unwrap_err();
        assert_eq!((bad.place, bad.field.as_str()), (24, "Дата"));
        let third = docs[2].as_ref().unwrap();
        assert_eq!(third.amount, dec!(2500.50));
        assert_eq!(third.payer.name, "ИП Иванов Иван Иванович");
        assert_eq!(third.uin.as_deref(), Some("18810177260312345678"));
        assert_eq!(third.purpose, "Возмещение штрафа по постановлению");
    }

    #[test]
    fn a_damaged_document_is_rejected_with_its_field_and_reading_goes_on() {
        let cases: &[(&str, &str)] = &[
            ("Номер=1\nСумма=5\n", "Дата"),
            ("Номер=1\nДата=01.01.2026\nСумма=-5\n", "Сумма"),
            (
                "Номер=1\nДата=01.01.2026\nСумма=5\nПлательщикИНН=12345\n",
                "ПлательщикИНН",
            ),
            ("Номер=1\nДата=01.01.2026\nСумма=5\nКод=123\n", "Код"),
            (
                "Номер=1\nДата=01.01.2026\nСумма=5\nпросто текст\n",
                "просто текст",
            ),
        ];
        for (body, field) in cases {
            let text = format!(
                "1CClientBankExchange\nВерсияФормата=1.03\nСекцияДокумент=Платежное поручение\n{body}\
                 КонецДокумента\nСекцияДокумент=Платежное поручение\nНомер=2\nДата=01.01.2026\nСумма=7\n\
                 КонецДокумента\nКонецФайла\n"
            );
            let (_, docs) = read(text.as_bytes());
            assert_eq!(docs.len(), 2, "{body}");
            assert_eq!(docs[0].as_ref().unwrap_err().field, *field, "{body}");
            assert_eq!(docs[1].as_ref().unwrap().number, "2", "{body}");
        }
    }

    #[test]
    fn an_unclosed_document_an_overlong_line_and_a_foreign_file_are_told_apart() {
        let text = "1CClientBankExchange\nВерсияФормата=1.03\nСекцияДокумент=П\nНомер=1\n\
                    СекцияДокумент=П\nНомер=2\nДата=01.01.2026\nСумма=7\nКонецДокумента\n";
        let (_, docs) = read(text.as_bytes());
        assert_eq!(docs[0].as_ref().unwrap_err().field, "КонецДокумента");
        assert_eq!(docs[1].as_ref().unwrap().number, "2");
        let long = format!(
            "1CClientBankExchange\nВерсияФормата=1.03\nСекцияДокумент=П\nНомер=1\nДата=01.01.2026\n\
             Сумма=7\nНазначениеПлатежа={}\nКонецДокумента\n",
            "я".repeat(MAX_RECORD_BYTES)
        );
        let (_, docs) = read(long.as_bytes());
        let e = docs[0].as_ref().unwrap_err();
        assert_eq!(e.field, "НазначениеПлатежа");
        assert!(e.reason.contains("longer"), "{e:?}");
        let not = Reader::new(&b"<xml/>"[..]).err().unwrap();
        assert!(not.to_string().starts_with("1CClientBankExchange"), "{not}");
        let end = "1CClientBankExchange\nВерсияФормата=1.03\nСекцияДокумент=П\nНомер=1\n";
        let (_, docs) = read(end.as_bytes());
        assert_eq!(docs[0].as_ref().unwrap_err().field, "КонецДокумента");
    }
}
