//! Reading what a payer wrote in a payment's purpose (назначение платежа): the contract numbers, invoice
//! numbers and УИН it names, what the money is for, and the parts it states («в т.ч. пени 1 500,00»). The
//! one home of these rules: the matcher reads statements with it, and a test reads the purpose every
//! invoice the cabinet issues prints with it, so an invoice paid as printed is matched on the way back.

use rust_decimal::Decimal;

/// What a payment (or a part of one) is for, as its purpose says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Leasing payments.
    Leasing,
    /// Penalties (пени, неустойка).
    Penalty,
    /// Traffic fines re-billed by the lessor.
    Fine,
    /// Insurance premium re-billed by the lessor.
    Insurance,
}

/// Words that say what money is for, in the order they are tried (the first kind named in the purpose is
/// its main kind). Stems, lower case.
const KIND_WORDS: &[(Kind, &[&str])] = &[
    (Kind::Penalty, &["пени", "пеня", "неустойк"]),
    (
        Kind::Fine,
        &["штраф", "постановлени", "гибдд", "гаи", "административн"],
    ),
    (
        Kind::Insurance,
        &["страхов", "каско", "осаго", "полис", "премии", "премия"],
    ),
    (Kind::Leasing, &["лизинг", "по графику", "аванс", "выкуп"]),
];

/// What a purpose says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Numbers written after «№» (or «N»), in order, as written: candidates for contract numbers.
    pub numbers: Vec<String>,
    /// Invoice numbers of the cabinet's own series («СЧ-2026-000017»).
    pub invoices: Vec<String>,
    /// 20- or 25-digit numbers: УИН of fines.
    pub uins: Vec<String>,
    /// The kinds named, first named first.
    pub kinds: Vec<Kind>,
    /// Parts stated with their amounts («в т.ч. пени 1 500,00»).
    pub parts: Vec<(Kind, Decimal)>,
}

impl Reading {
    /// The main kind: the first named other than those stated as parts; leasing when none is named.
    pub fn main_kind(&self) -> Kind {
        self.kinds
            .iter()
            .copied()
            .find(|k| !self.parts.iter().any(|(p, _)| p == k))
            .unwrap_or(Kind::Leasing)
    }
}

fn kind_at(lower: &str) -> Option<Kind> {
    KIND_WORDS
        .iter()
        .find(|(_, words)| words.iter().any(|w| lower.starts_with(w)))
        .map(|(k, _)| *k)
}

/// The invoice series the cabinet prints (documents: `next_number(.., "СЧ", ..)`).
pub const INVOICE_PREFIX: &str = "СЧ-";

fn is_invoice_number(token: &str) -> bool {
    // СЧ-YYYY-NNNNNN
    let Some(rest) = token.strip_prefix(INVOICE_PREFIX) else {
        return false;
    };
    let mut parts = rest.split('-');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(y), Some(n), None)
            if y.len() == 4 && y.chars().all(|c| c.is_ascii_digit())
                && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
    )
}

/// A number token: letters, digits and `-`, `/`, `.` inside (a trailing point or comma is punctuation).
fn token(s: &str) -> &str {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || matches!(c, '-' | '/' | '.' | '_')))
        .map_or(s.len(), |(i, _)| i);
    s[..end].trim_end_matches(['.', '-', '/'])
}

/// Parses an amount as payers write it: «1 500,00», «1500.00», «1500 руб.», «1500-00».
fn amount_at(s: &str) -> Option<Decimal> {
    let mut digits = String::new();
    let mut seen_sep = false;
    let mut decimals = 0;
    for c in s.trim_start().chars() {
        match c {
            '0'..='9' => {
                if seen_sep {
                    decimals += 1;
                    if decimals > 2 {
                        break;
                    }
                }
                digits.push(c);
            }
            ' ' | '\u{a0}' if !seen_sep && !digits.is_empty() => {}
            ',' | '.' | '-' if !seen_sep && !digits.is_empty() => {
                seen_sep = true;
                digits.push('.');
            }
            _ => break,
        }
    }
    let digits = digits.trim_end_matches('.');
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok().filter(|d: &Decimal| *d > Decimal::ZERO)
}

/// Reads a purpose.
pub fn read(purpose: &str) -> Reading {
    let mut r = Reading::default();
    let lower = purpose.to_lowercase();
    // Kinds, in the order named.
    let mut positions: Vec<(usize, Kind)> = Vec::new();
    for (i, _) in lower.char_indices() {
        let starts_word = i == 0
            || lower[..i]
                .chars()
                .next_back()
                .is_some_and(|c| !c.is_alphanumeric());
        if starts_word {
            if let Some(k) = kind_at(&lower[i..]) {
                positions.push((i, k));
            }
        }
    }
    for (_, k) in &positions {
        if !r.kinds.contains(k) {
            r.kinds.push(*k);
        }
    }
    // Numbers after «№», «N», «No»; invoice numbers anywhere.
    let chars: Vec<(usize, char)> = purpose.char_indices().collect();
    for (idx, (i, c)) in chars.iter().enumerate() {
        let after = match c {
            '№' => Some(i + c.len_utf8()),
            'N' | 'n' => {
                let prev_ok = idx == 0 || !chars[idx - 1].1.is_alphanumeric();
                let rest = &purpose[i + 1..];
                let rest = rest.strip_prefix(['o', 'O']).unwrap_or(rest);
                let next_ok = rest.starts_with([' ', '.']);
                (prev_ok && next_ok).then(|| purpose.len() - rest.len())
            }
            _ => None,
        };
        if let Some(at) = after {
            let rest = purpose[at..].trim_start_matches([' ', '.', '\u{a0}']);
            let t = token(rest);
            if !t.is_empty() && t.chars().any(|c| c.is_ascii_digit()) {
                r.numbers.push(t.to_owned());
            }
        }
    }
    for word in purpose.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')')) {
        let t = token(word);
        if is_invoice_number(t) && !r.invoices.iter().any(|x| x == t) {
            r.invoices.push(t.to_owned());
        }
        if (t.len() == 20 || t.len() == 25)
            && t.chars().all(|c| c.is_ascii_digit())
            && !r.uins.iter().any(|x| x == t)
        {
            r.uins.push(t.to_owned());
        }
    }
    // Parts: after «в т.ч.» / «в том числе», «<kind word> <amount>».
    for marker in ["в т.ч.", "в т. ч.", "в том числе", "втч"] {
        let mut from = 0;
        while let Some(p) = lower[from..].find(marker) {
            let start = from + p + marker.len();
            from = start;
            for segment in lower[start..].split([',', ';']) {
                let seg = segment.trim_start();
                let Some(kind) = kind_at(seg) else {
                    // НДС and other words end the list of parts.
                    break;
                };
                let word_end = seg.find([' ', '\u{a0}']).unwrap_or(seg.len());
                let rest = seg[word_end..].trim_start_matches(|c: char| {
                    c.is_whitespace() || c.is_alphabetic() && !c.is_ascii_digit()
                });
                if let Some(a) = amount_at(rest) {
                    if !r.parts.iter().any(|(k, _)| *k == kind) {
                        r.parts.push((kind, a));
                    }
                }
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn contract_invoice_and_uin_numbers_are_found_as_payers_write_them() {
        let r = read(
            "Лизинговый платеж по договору лизинга № ЛД-7 от 01.02.2026, в т.ч. НДС 22% - 27049,18 руб.",
        );
        assert_eq!(r.numbers, ["ЛД-7"]);
        assert_eq!(r.kinds, [Kind::Leasing]);
        assert!(r.parts.is_empty(), "{r:?}");
        assert_eq!(
            read("Оплата по дог.N 2025/ЛД-15. НДС не облагается").numbers,
            ["2025/ЛД-15"]
        );
        assert_eq!(read("по договору №ЛД-8, аванс").numbers, ["ЛД-8"]);
        assert_eq!(read("No 12-34 оплата").numbers, ["12-34"]);
        // «N» inside a word is not a number sign.
        assert!(read("ONLINE оплата").numbers.is_empty());
        let r = read("Оплата по счету № СЧ-2026-000017 от 12.03.2026 (ЛД-7)");
        assert_eq!(r.invoices, ["СЧ-2026-000017"]);
        let r = read("Возмещение штрафа по постановлению 18810177260312345678 ГИБДД");
        assert_eq!(r.uins, ["18810177260312345678"]);
        assert_eq!(r.kinds, [Kind::Fine]);
        assert_eq!(r.main_kind(), Kind::Fine);
    }

    #[test]
    fn stated_parts_are_split_and_the_rest_is_the_main_kind() {
        let r =
            read("Оплата по договору лизинга № ЛД-7, в т.ч. пени 1 500,00 руб., НДС не облагается");
        assert_eq!(r.parts, [(Kind::Penalty, dec!(1500.00))]);
        assert_eq!(r.main_kind(), Kind::Leasing);
        let r = read("Платеж по дог. № ЛД-7 в том числе пени 200, штраф ГИБДД 500-00");
        assert_eq!(
            r.parts,
            [(Kind::Penalty, dec!(200)), (Kind::Fine, dec!(500.00))]
        );
        let r = read("Страховая премия КАСКО по договору № ЛД-7");
        assert_eq!(r.main_kind(), Kind::Insurance);
        let r = read("Пени по договору лизинга № ЛД-7");
        assert_eq!(r.main_kind(), Kind::Penalty);
        assert_eq!(read("Оплата").main_kind(), Kind::Leasing);
    }
}
