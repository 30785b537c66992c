//! Amounts in words (сумма прописью), as printed on Russian payment documents:
//! «Сто шесть тысяч шестьсот восемнадцать рублей 55 копеек».

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

const UNITS_MASCULINE: [&str; 10] = [
    "",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
];
const UNITS_FEMININE: [&str; 10] = [
    "",
    "одна",
    "две",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
];
const TEENS: [&str; 10] = [
    "десять",
    "одиннадцать",
    "двенадцать",
    "тринадцать",
    "четырнадцать",
    "пятнадцать",
    "шестнадцать",
    "семнадцать",
    "восемнадцать",
    "девятнадцать",
];
const TENS: [&str; 10] = [
    "",
    "",
    "двадцать",
    "тридцать",
    "сорок",
    "пятьдесят",
    "шестьдесят",
    "семьдесят",
    "восемьдесят",
    "девяносто",
];
const HUNDREDS: [&str; 10] = [
    "",
    "сто",
    "двести",
    "триста",
    "четыреста",
    "пятьсот",
    "шестьсот",
    "семьсот",
    "восемьсот",
    "девятьсот",
];

/// The form of a noun after a number: one (рубль), few (рубля), many (рублей).
pub fn plural<'a>(n: u64, one: &'a str, few: &'a str, many: &'a str) -> &'a str {
    let (d, h) = (n % 10, n % 100);
    if (11..=14).contains(&h) {
        many
    } else if d == 1 {
        one
    } else if (2..=4).contains(&d) {
        few
    } else {
        many
    }
}

fn triad(n: u64, feminine: bool, out: &mut Vec<&'static str>) {
    let (h, t, u) = (n / 100, (n / 10) % 10, n % 10);
    if h > 0 {
        out.push(HUNDREDS[h as usize]);
    }
    if t == 1 {
        out.push(TEENS[u as usize]);
        return;
    }
    if t > 1 {
        out.push(TENS[t as usize]);
    }
    if u > 0 {
        out.push(if feminine {
            UNITS_FEMININE[u as usize]
        } else {
            UNITS_MASCULINE[u as usize]
        });
    }
}

/// A whole number in words (masculine), «ноль» for zero.
pub fn number(n: u64) -> String {
    if n == 0 {
        return "ноль".into();
    }
    // (divisor, feminine, one, few, many)
    let scales: [(u64, bool, &str, &str, &str); 4] = [
        (
            1_000_000_000_000,
            false,
            "триллион",
            "триллиона",
            "триллионов",
        ),
        (1_000_000_000, false, "миллиард", "миллиарда", "миллиардов"),
        (1_000_000, false, "миллион", "миллиона", "миллионов"),
        (1_000, true, "тысяча", "тысячи", "тысяч"),
    ];
    let mut words: Vec<&str> = Vec::new();
    let mut rest = n;
    for (div, feminine, one, few, many) in scales {
        let part = rest / div;
        rest %= div;
        if part > 0 {
            triad(part % 1000, feminine, &mut words);
            words.push(plural(part, one, few, many));
        }
    }
    triad(rest, false, &mut words);
    words.join(" ")
}

/// An amount of rubles in words with its kopecks in digits, capitalised: «Сто шесть тысяч шестьсот
/// восемнадцать рублей 55 копеек». The amount is rounded to kopecks (half away from zero); a negative amount
/// is written as its absolute value preceded by «минус».
pub fn rubles(amount: Decimal) -> String {
    let a = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let negative = a.is_sign_negative() && !a.is_zero();
    let a = a.abs();
    let whole = a.trunc().to_u64().unwrap_or(0);
    let kopecks = ((a - a.trunc()) * Decimal::from(100)).to_u64().unwrap_or(0);
    let text = format!(
        "{}{} {} {:02} {}",
        if negative { "минус " } else { "" },
        number(whole),
        plural(whole, "рубль", "рубля", "рублей"),
        kopecks,
        plural(kopecks, "копейка", "копейки", "копеек"),
    );
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn amounts_are_written_in_words_with_the_right_forms() {
        assert_eq!(
            rubles(dec!(106618.55)),
            "Сто шесть тысяч шестьсот восемнадцать рублей 55 копеек"
        );
        assert_eq!(rubles(dec!(1)), "Один рубль 00 копеек");
        assert_eq!(rubles(dec!(2.01)), "Два рубля 01 копейка");
        assert_eq!(rubles(dec!(11.12)), "Одиннадцать рублей 12 копеек");
        assert_eq!(rubles(dec!(21.22)), "Двадцать один рубль 22 копейки");
        assert_eq!(
            rubles(dec!(2001000)),
            "Два миллиона одна тысяча рублей 00 копеек"
        );
        assert_eq!(
            rubles(dec!(1234567.899)),
            "Один миллион двести тридцать четыре тысячи пятьсот шестьдесят семь рублей 90 копеек"
        );
        assert_eq!(
            rubles(dec!(112000)),
            "Сто двенадцать тысяч рублей 00 копеек"
        );
        assert_eq!(rubles(dec!(0)), "Ноль рублей 00 копеек");
        assert_eq!(rubles(dec!(-5)), "Минус пять рублей 00 копеек");
        assert_eq!(rubles(dec!(3000000000)), "Три миллиарда рублей 00 копеек");
    }
}
