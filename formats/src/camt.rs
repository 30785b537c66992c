//! An ISO 20022 bank-to-customer statement (`camt.053`, any version from 001.02): `Document/BkToCstmrStmt/Stmt`
//! with its account and `Ntry` entries. Each entry is read as a small tree (at most [`MAX_RECORD_BYTES`] of
//! text), then turned into one [`StatementLine`] per transaction (`NtryDtls/TxDtls`; an entry without details
//! is one). Elements are matched by local name, so any namespace prefix and version is read alike.
//!
//! Russian banks put the payer's ИНН and КПП in `Dbtr/Id/OrgId/Othr` (or `PrvtId/Othr`) with the scheme
//! `TXID` or `INN` (ИНН) and `KPP` (КПП); the УИН, when there is one, in `RmtInf/Strd/CdtrRefInf/Ref`.

use std::io::BufRead;

use quick_xml::events::Event;

use crate::{amount, date, digits, FileError, Party, Rejected, StatementLine, MAX_RECORD_BYTES};

/// Deepest nesting accepted (a real statement nests about twelve).
const MAX_DEPTH: usize = 64;

/// An element of an entry.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    /// The first descendant along `path` (local names separated by `/`).
    fn at(&self, path: &str) -> Option<&Node> {
        let mut n = self;
        for part in path.split('/') {
            n = n.children.iter().find(|c| c.name == part)?;
        }
        Some(n)
    }

    /// Every child named `name`.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn text_at(&self, path: &str) -> Option<&str> {
        self.at(path)
            .map(|n| n.text.trim())
            .filter(|t| !t.is_empty())
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the statement says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The namespace (it names the version: `urn:iso:std:iso:20022:tech:xsd:camt.053.001.08`).
    pub namespace: Option<String>,
    /// The statement's account(s) (`Stmt/Acct/Id`).
    pub accounts: Vec<String>,
}

/// Reads a camt.053 statement entry by entry.
pub struct Reader<R> {
    xml: quick_xml::Reader<R>,
    buf: Vec<u8>,
    path: Vec<String>,
    header: Header,
    entries: usize,
    /// Lines of the last entry not given out yet (an entry may hold several transactions), last first.
    ready: Vec<Result<StatementLine, Rejected>>,
    ended: bool,
}

fn local(name: &[u8]) -> String {
    let n = String::from_utf8_lossy(name);
    match n.rsplit_once(':') {
        Some((_, l)) => l.to_owned(),
        None => n.into_owned(),
    }
}

fn xml_error(e: impl std::fmt::Display) -> FileError {
    FileError::format("Document", format!("the XML is not well-formed: {e}"))
}

impl<R: BufRead> Reader<R> {
    /// Reads up to the root element.
    ///
    /// # Errors
    /// [`FileError::Format`] when the root is not a camt.053 `Document` (or `BkToCstmrStmt`).
    pub fn new(input: R) -> Result<Self, FileError> {
        let mut xml = quick_xml::Reader::from_reader(input);
        xml.config_mut().trim_text(false);
        let mut r = Self {
            xml,
            buf: Vec::new(),
            path: Vec::new(),
            header: Header::default(),
            entries: 0,
            ready: Vec::new(),
            ended: false,
        };
        loop {
            r.buf.clear();
            match r.xml.read_event_into(&mut r.buf).map_err(xml_error)? {
                Event::Start(e) => {
                    let name = local(e.name().as_ref());
                    let ns = e
                        .attributes()
                        .flatten()
                        .find(|a| {
                            a.key.as_ref() == b"xmlns" || a.key.as_ref().starts_with(b"xmlns:")
                        })
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned());
                    let is_camt = ns.as_deref().is_none_or(|n| n.contains("camt.053"));
                    if !(name == "Document" && is_camt || name == "BkToCstmrStmt") {
                        return Err(FileError::format(
                            "Document",
                            format!(
                                "the root element is «{name}»{}: this is not a camt.053 statement",
                                ns.map(|n| format!(" in {n}")).unwrap_or_default()
                            ),
                        ));
                    }
                    r.header.namespace = ns;
                    r.path.push(name);
                    return Ok(r);
                }
                Event::Eof => {
                    return Err(FileError::format(
                        "Document",
                        "the file has no root element",
                    ))
                }
                Event::Empty(_) => {
                    return Err(FileError::format("Document", "the root element is empty"))
                }
                _ => {}
            }
        }
    }

    /// The statement's header as read so far (its accounts come before its entries).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Reads the element whose start `start` was just read, into a tree.
    fn subtree(&mut self, name: String, attrs: Vec<(String, String)>) -> Result<Node, FileError> {
        let mut stack = vec![Node {
            name,
            attrs,
            ..Node::default()
        }];
        let mut size = 0usize;
        loop {
            self.buf.clear();
            let ev = self.xml.read_event_into(&mut self.buf).map_err(xml_error)?;
            match ev {
                Event::Start(e) => {
                    if self.path.len() + stack.len() > MAX_DEPTH {
                        return Err(FileError::format(
                            "Ntry",
                            format!("entry {} nests deeper than {MAX_DEPTH}", self.entries),
                        ));
                    }
                    stack.push(Node {
                        name: local(e.name().as_ref()),
                        attrs: attributes(&e),
                        ..Node::default()
                    });
                }
                Event::Empty(e) => {
                    let n = Node {
                        name: local(e.name().as_ref()),
                        attrs: attributes(&e),
                        ..Node::default()
                    };
                    stack.last_mut().expect("open").children.push(n);
                }
                Event::Text(t) => {
                    let text = t.decode().map_err(xml_error)?;
                    let text = quick_xml::escape::unescape(&text).map_err(xml_error)?;
                    size += text.len();
                    stack.last_mut().expect("open").text.push_str(&text);
                }
                Event::CData(t) => {
                    size += t.len();
                    stack
                        .last_mut()
                        .expect("open")
                        .text
                        .push_str(&String::from_utf8_lossy(&t));
                }
                Event::GeneralRef(r) => {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    let c = match name.as_str() {
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "amp" => "&".to_owned(),
                        "apos" => "'".to_owned(),
                        "quot" => "\"".to_owned(),
                        _ => match r.resolve_char_ref().map_err(xml_error)? {
                            Some(c) => c.to_string(),
                            None => {
                                return Err(xml_error(format!("unknown entity «&{name};»")));
                            }
                        },
                    };
                    size += c.len();
                    stack.last_mut().expect("open").text.push_str(&c);
                }
                Event::End(_) => {
                    let done = stack.pop().expect("open");
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::Eof => {
                    return Err(FileError::format(
                        "Ntry",
                        format!("the file ends inside entry {}", self.entries),
                    ))
                }
                _ => {}
            }
            size += 16;
            if size > MAX_RECORD_BYTES {
                return Err(FileError::format(
                    "Ntry",
                    format!(
                        "entry {} is larger than {MAX_RECORD_BYTES} bytes",
                        self.entries
                    ),
                ));
            }
        }
    }

    /// The next transaction: a payment, or the rejection of one; `None` at the end.
    ///
    /// # Errors
    /// A file that is not well-formed XML, or an entry past the size or depth bounds (the rest of such a
    /// file cannot be trusted to be read correctly).
    pub fn next_line(&mut self) -> Result<Option<Result<StatementLine, Rejected>>, FileError> {
        loop {
            if let Some(l) = self.ready.pop() {
                return Ok(Some(l));
            }
            if self.ended {
                return Ok(None);
            }
            self.buf.clear();
            let ev = self.xml.read_event_into(&mut self.buf).map_err(xml_error)?;
            match ev {
                Event::Start(e) => {
                    let name = local(e.name().as_ref());
                    let attrs = attributes(&e);
                    if self.path.len() >= MAX_DEPTH {
                        return Err(FileError::format(
                            "Document",
                            format!("the statement nests deeper than {MAX_DEPTH}"),
                        ));
                    }
                    let in_stmt = self.path.last().is_some_and(|p| p == "Stmt");
                    if in_stmt && name == "Ntry" {
                        self.entries += 1;
                        let node = self.subtree(name, attrs)?;
                        let mut lines = entry(&node, self.entries, &self.header.accounts);
                        lines.reverse();
                        self.ready = lines;
                    } else if in_stmt && name == "Acct" {
                        let node = self.subtree(name, attrs)?;
                        if let Some(id) = node
                            .text_at("Id/IBAN")
                            .or_else(|| node.text_at("Id/Othr/Id"))
                        {
                            self.header.accounts.push(id.to_owned());
                        }
                    } else {
                        self.path.push(name);
                    }
                }
                Event::End(_) => {
                    self.path.pop();
                }
                Event::Eof => {
                    if !self.path.is_empty() {
                        return Err(FileError::format(
                            "Document",
                            format!("the file ends inside «{}»", self.path.join("/")),
                        ));
                    }
                    self.ended = true;
                }
                _ => {}
            }
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = Result<Result<StatementLine, Rejected>, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_line() {
            Ok(Some(l)) => Some(Ok(l)),
            Ok(None) => None,
            Err(e) => {
                self.ended = true;
                self.ready.clear();
                Some(Err(e))
            }
        }
    }
}

fn attributes(e: &quick_xml::events::BytesStart<'_>) -> Vec<(String, String)> {
    e.attributes()
        .flatten()
        .map(|a| {
            (
                local(a.key.as_ref()),
                String::from_utf8_lossy(&a.value).into_owned(),
            )
        })
        .collect()
}

/// The party `role` (`Dbtr`, `Cdtr`) of a transaction, with its account and bank.
fn party(tx: &Node, role: &str, agent: &str) -> Result<Party, (String, String)> {
    let rp = tx.at("RltdPties");
    let who = rp.and_then(|p| p.at(role));
    // Version 8 and later wrap the party in `Pty`.
    let who = who.map(|w| w.at("Pty").unwrap_or(w));
    let mut p = Party {
        name: who
            .and_then(|w| w.text_at("Nm"))
            .unwrap_or_default()
            .to_owned(),
        ..Party::default()
    };
    if let Some(w) = who {
        for kind in ["OrgId", "PrvtId"] {
            let Some(id) = w.at(&format!("Id/{kind}")) else {
                continue;
            };
            for othr in id.all("Othr") {
                let value = othr.text_at("Id").unwrap_or_default();
                let scheme = othr
                    .text_at("SchmeNm/Cd")
                    .or_else(|| othr.text_at("SchmeNm/Prtry"))
                    .unwrap_or_default()
                    .to_uppercase();
                match scheme.as_str() {
                    "TXID" | "INN" | "ИНН" => {
                        p.inn = digits(value, &[10, 12])
                            .map_err(|e| (format!("{role}/Id/{kind}/Othr/Id"), e))?
                    }
                    "KPP" | "КПП" => {
                        p.kpp = digits(value, &[9])
                            .map_err(|e| (format!("{role}/Id/{kind}/Othr/Id"), e))?
                    }
                    _ => {}
                }
            }
        }
    }
    let account = rp.and_then(|p| p.at(&format!("{role}Acct")));
    p.account = account
        .and_then(|a| a.text_at("Id/IBAN").or_else(|| a.text_at("Id/Othr/Id")))
        .map(ToOwned::to_owned);
    p.bank = tx
        .at(&format!("RltdAgts/{agent}/FinInstnId"))
        .and_then(|b| {
            b.text_at("ClrSysMmbId/MmbId")
                .or_else(|| b.text_at("BICFI"))
                .or_else(|| b.text_at("BIC"))
        })
        .map(ToOwned::to_owned);
    Ok(p)
}

/// The lines of one entry.
fn entry(n: &Node, ordinal: usize, accounts: &[String]) -> Vec<Result<StatementLine, Rejected>> {
    let reject = |field: &str, reason: String| Rejected {
        place: ordinal,
        field: field.to_owned(),
        reason,
    };
    let status = n
        .text_at("Sts/Cd")
        .or_else(|| n.text_at("Sts"))
        .unwrap_or("BOOK");
    if status != "BOOK" {
        return vec![Err(reject(
            "Sts",
            format!("the entry is «{status}», not booked (BOOK)"),
        ))];
    }
    let incoming = match n.text_at("CdtDbtInd") {
        Some("CRDT") => true,
        Some("DBIT") => false,
        other => {
            return vec![Err(reject(
                "CdtDbtInd",
                format!("must be CRDT or DBIT, not «{}»", other.unwrap_or("")),
            ))]
        }
    };
    let booked = n
        .text_at("BookgDt/Dt")
        .or_else(|| n.text_at("BookgDt/DtTm"))
        .map(date)
        .transpose();
    let booked = match booked {
        Ok(d) => d,
        Err(e) => return vec![Err(reject("BookgDt", e))],
    };
    let value_date = n
        .text_at("ValDt/Dt")
        .or_else(|| n.text_at("ValDt/DtTm"))
        .map(date)
        .transpose();
    let value_date = match value_date {
        Ok(d) => d,
        Err(e) => return vec![Err(reject("ValDt", e))],
    };
    let details: Vec<&Node> = n.all("NtryDtls").flat_map(|d| d.all("TxDtls")).collect();
    let one = [n];
    let txs: Vec<&Node> = if details.is_empty() {
        one.to_vec()
    } else {
        details
    };
    let single = txs.len() == 1;
    txs.into_iter()
        .map(|tx| {
            let amt = if single {
                tx.at("AmtDtls/TxAmt/Amt")
                    .or_else(|| tx.at("Amt"))
                    .or_else(|| n.at("Amt"))
            } else {
                tx.at("AmtDtls/TxAmt/Amt").or_else(|| tx.at("Amt"))
            };
            let Some(amt) = amt else {
                return Err(reject("Amt", "is required".into()));
            };
            if let Some(ccy) = amt.attr("Ccy") {
                if ccy != "RUB" {
                    return Err(reject("Amt", format!("is in {ccy}; only RUB is accepted")));
                }
            }
            let value = amount(amt.text.trim()).map_err(|e| reject("Amt", e))?;
            let refs = |k: &str| {
                tx.text_at(&format!("Refs/{k}"))
                    .filter(|v| !v.eq_ignore_ascii_case("NOTPROVIDED"))
            };
            let bank_reference = refs("AcctSvcrRef")
                .or_else(|| n.text_at("AcctSvcrRef"))
                .map(ToOwned::to_owned);
            let number = refs("EndToEndId")
                .or_else(|| refs("InstrId"))
                .or_else(|| refs("TxId"))
                .or(bank_reference.as_deref())
                .or_else(|| n.text_at("NtryRef"))
                .map(ToOwned::to_owned)
                .ok_or_else(|| reject("Refs", "the entry has no reference to tell it by".into()))?;
            // The value date is the payment's; the booking date when there is none.
            let date_ = value_date
                .or(booked)
                .ok_or_else(|| reject("BookgDt", "is required".into()))?;
            let mut payer = party(tx, "Dbtr", "DbtrAgt").map_err(|(f, e)| reject(&f, e))?;
            let mut payee = party(tx, "Cdtr", "CdtrAgt").map_err(|(f, e)| reject(&f, e))?;
            // The statement's own account is the payee of money coming in, the payer of money going out.
            let own = accounts.first().cloned();
            if incoming && payee.account.is_none() {
                payee.account = own;
            } else if !incoming && payer.account.is_none() {
                payer.account = own;
            }
            let purpose = tx
                .at("RmtInf")
                .map(|r| {
                    r.all("Ustrd")
                        .map(|u| u.text.trim())
                        .filter(|t| !t.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let uin = tx
                .at("RmtInf")
                .into_iter()
                .flat_map(|r| r.all("Strd"))
                .filter_map(|s| s.text_at("CdtrRefInf/Ref"))
                .find_map(|r| digits(r, &[20, 25]).ok().flatten());
            Ok(StatementLine {
                place: ordinal,
                number,
                date: date_,
                credited_on: booked,
                amount: value,
                payer,
                payee,
                purpose,
                uin,
                bank_reference,
                incoming: Some(incoming),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">
 <BkToCstmrStmt>
  <GrpHdr><MsgId>S-1</MsgId><CreDtTm>2026-03-13T09:00:00</CreDtTm></GrpHdr>
  <Stmt>
   <Id>1</Id>
   <Acct><Id><Othr><Id>40701810000000000001</Id></Othr></Id><Ccy>RUB</Ccy></Acct>
   <Ntry>
    <Amt Ccy="RUB">150000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-03-13</Dt></BookgDt><ValDt><Dt>2026-03-12</Dt></ValDt>
    <AcctSvcrRef>BANK-REF-1</AcctSvcrRef>
    <NtryDtls><TxDtls>
     <Refs><EndToEndId>51</EndToEndId></Refs>
     <RltdPties>
      <Dbtr><Pty><Nm>ООО &quot;Ромашка&quot;</Nm><Id><OrgId>
       <Othr><Id>7707083893</Id><SchmeNm><Cd>TXID</Cd></SchmeNm></Othr>
       <Othr><Id>773601001</Id><SchmeNm><Prtry>KPP</Prtry></SchmeNm></Othr>
      </OrgId></Id></Pty></Dbtr>
      <DbtrAcct><Id><Othr><Id>40702810900000000002</Id></Othr></Id></DbtrAcct>
     </RltdPties>
     <RltdAgts><DbtrAgt><FinInstnId><ClrSysMmbId><MmbId>044525225</MmbId></ClrSysMmbId></FinInstnId></DbtrAgt></RltdAgts>
     <RmtInf><Ustrd>Лизинговый платеж по договору лизинга № ЛД-7</Ustrd><Ustrd>от 01.02.2026</Ustrd></RmtInf>
    </TxDtls></NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="RUB">500.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-03-13</Dt></BookgDt><AcctSvcrRef>BANK-REF-2</AcctSvcrRef>
   </Ntry>
   <Ntry>
    <Amt Ccy="USD">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><Dt>2026-03-13</Dt></BookgDt><AcctSvcrRef>BANK-REF-3</AcctSvcrRef>
   </Ntry>
   <Ntry>
    <Amt Ccy="RUB">3000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
    <BookgDt><Dt>2026-03-13</Dt></BookgDt><AcctSvcrRef>BANK-REF-4</AcctSvcrRef>
    <NtryDtls>
     <TxDtls><Refs><EndToEndId>61</EndToEndId></Refs><Amt Ccy="RUB">1000.00</Amt>
      <RmtInf><Strd><CdtrRefInf><Ref>18810177260312345678</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>
     <TxDtls><Refs><EndToEndId>62</EndToEndId></Refs><Amt Ccy="RUB">2000.00</Amt></TxDtls>
    </NtryDtls>
   </Ntry>
  </Stmt>
 </BkToCstmrStmt>
</Document>"#;

    #[test]
    fn entries_credits_debits_and_batched_transactions_are_read() {
        let mut r = Reader::new(SAMPLE.as_bytes()).unwrap();
        let lines: Vec<_> = r.by_ref().map(Result::unwrap).collect();
        assert_eq!(r.header().accounts, ["40701810000000000001"]);
        assert!(r
            .header()
            .namespace
            .as_deref()
            .unwrap()
            .ends_with("053.001.08"));
        assert_eq!(lines.len(), 5, "{lines:#?}");
        let first = lines[0].as_ref().unwrap();
        assert_eq!(first.number, "51");
        assert_eq!(first.amount, dec!(150000.00));
        assert_eq!(first.date, NaiveDateExt::ymd(2026, 3, 12));
        assert_eq!(first.credited_on, Some(NaiveDateExt::ymd(2026, 3, 13)));
        assert_eq!(first.payer.name, "ООО \"Ромашка\"");
        assert_eq!(first.payer.inn.as_deref(), Some("7707083893"));
        assert_eq!(first.payer.kpp.as_deref(), Some("773601001"));
        assert_eq!(first.payer.bank.as_deref(), Some("044525225"));
        assert_eq!(first.payee.account.as_deref(), Some("40701810000000000001"));
        assert_eq!(first.bank_reference.as_deref(), Some("BANK-REF-1"));
        assert_eq!(
            first.purpose,
            "Лизинговый платеж по договору лизинга № ЛД-7 от 01.02.2026"
        );
        assert_eq!(first.incoming, Some(true));
        let out = lines[1].as_ref().unwrap();
        assert_eq!(out.incoming, Some(false));
        assert_eq!(out.number, "BANK-REF-2");
        let usd = lines[2].as_ref().unwrap_err();
        assert_eq!((usd.place, usd.field.as_str()), (3, "Amt"));
        let a = lines[3].as_ref().unwrap();
        let b = lines[4].as_ref().unwrap();
        assert_eq!((a.number.as_str(), a.amount), ("61", dec!(1000.00)));
        assert_eq!(a.uin.as_deref(), Some("18810177260312345678"));
        assert_eq!((b.number.as_str(), b.amount), ("62", dec!(2000.00)));
    }

    struct NaiveDateExt;
    impl NaiveDateExt {
        fn ymd(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
            chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
        }
    }

    #[test]
    fn a_foreign_root_a_broken_file_and_hostile_shapes_are_refused_by_name() {
        let e = Reader::new(
            &b"<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.001.001.03\"/>"[..],
        )
        .err()
        .unwrap();
        assert!(e.to_string().starts_with("Document"), "{e}");
        let e = Reader::new(&b"<html><body/></html>"[..]).err().unwrap();
        assert!(e.to_string().contains("«html»"), "{e}");
        // Deep nesting inside an entry, an entity the XML does not define, an entry past the size bound,
        // a file cut short: each an error naming its element, never a crash.
        let deep = format!(
            "<Document><BkToCstmrStmt><Stmt><Ntry>{}{}</Ntry></Stmt></BkToCstmrStmt></Document>",
            "<a>".repeat(10_000),
            "</a>".repeat(10_000)
        );
        let big = format!(
            "<Document><BkToCstmrStmt><Stmt><Ntry><Amt>{}</Amt></Ntry></Stmt></BkToCstmrStmt></Document>",
            "1".repeat(MAX_RECORD_BYTES + 1)
        );
        for (bad, field) in [
            (deep.as_str(), "Ntry"),
            ("<!DOCTYPE d [<!ENTITY x \"y\">]><Document><BkToCstmrStmt><Stmt><Ntry><Amt>&x;</Amt></Ntry></Stmt></BkToCstmrStmt></Document>", "Document"),
            (big.as_str(), "Ntry"),
            ("<Document><BkToCstmrStmt><Stmt><Ntry><Amt>1", "Ntry"),
            ("<Document><BkToCstmrStmt><Stmt>", "Document"),
        ] {
            let mut r = Reader::new(bad.as_bytes()).unwrap();
            let e = r
                .find_map(|x| x.err())
                .unwrap_or_else(|| panic!("no error for {}", &bad[..60.min(bad.len())]));
            assert!(e.to_string().starts_with(field), "{e}");
        }
    }
}
