//! БИК, bank accounts and their control key (Положение ЦБ № 515), bank requisites as a whole.

use serde::{Deserialize, Serialize};

use super::{exact_digits, string_value, Rule, ValueError};

/// БИК: `^[012]\d{8}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bik(String);
string_value!(Bik);

impl Bik {
    /// Parses a БИК.
    ///
    /// # Errors
    /// [`ValueError`] unless it is 9 digits starting with 0, 1 or 2.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        let d = exact_digits("БИК", s, 9)?;
        if d[0] > 2 {
            return Err(ValueError::new(
                "БИК",
                Rule::Format,
                "must start with 0, 1 or 2",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A 20-digit bank account number. Its control key depends on the bank's БИК, so the key is checked by
/// [`BankRequisites::new`], which has both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BankAccount(String);
string_value!(BankAccount);

impl BankAccount {
    /// Parses the 20 digits of an account number (the key is checked against a БИК separately).
    ///
    /// # Errors
    /// [`ValueError`] unless it is exactly 20 digits.
    pub fn parse(s: &str) -> Result<Self, ValueError> {
        let s = s.trim();
        exact_digits("bank account", s, 20)?;
        Ok(Self(s.to_owned()))
    }

    /// Whether this is a correspondent account (starts with 301).
    pub fn is_correspondent(&self) -> bool {
        self.0.starts_with("301")
    }

    /// The control key check (Порядок ЦБ № 515): the 3-digit prefix + the 20 digits, weights 7,1,3 repeated,
    /// the last digits of the products add up to a multiple of 10. The prefix is БИК digits 7–9 for a
    /// client's account, and "0" + БИК digits 5–6 for a correspondent account.
    pub fn key_matches(&self, bik: &Bik) -> bool {
        let b = bik.as_str();
        let prefix = if self.is_correspondent() {
            format!("0{}", &b[4..6])
        } else {
            b[6..9].to_owned()
        };
        const WEIGHTS: [u32; 3] = [7, 1, 3];
        let total: u32 = prefix
            .chars()
            .chain(self.0.chars())
            .filter_map(|c| c.to_digit(10))
            .enumerate()
            .map(|(i, d)| (d * WEIGHTS[i % 3]) % 10)
            .sum();
        total.is_multiple_of(10)
    }
}

/// Which requisite of a [`BankRequisites`] is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BankField {
    /// The bank's name.
    BankName,
    /// The correspondent account.
    CorrespondentAccount,
    /// The settlement account.
    SettlementAccount,
}

/// A bank: name, БИК, correspondent account and the holder's settlement account, checked together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankRequisites {
    /// The bank's name.
    pub bank_name: String,
    /// The bank's БИК.
    pub bik: Bik,
    /// The bank's correspondent account at the Central Bank (starts with 301).
    pub correspondent_account: BankAccount,
    /// The holder's settlement account (расчётный счёт).
    pub settlement_account: BankAccount,
}

impl BankRequisites {
    /// Checks the accounts against the БИК.
    ///
    /// # Errors
    /// The field that is wrong and why: an empty bank name, a correspondent account that does not start with
    /// 301 or whose key does not match the БИК, a settlement account whose key does not match the БИК.
    pub fn new(
        bank_name: &str,
        bik: Bik,
        correspondent_account: BankAccount,
        settlement_account: BankAccount,
    ) -> Result<Self, (BankField, ValueError)> {
        let bank_name = bank_name.trim();
        if bank_name.is_empty() {
            return Err((
                BankField::BankName,
                ValueError::new("bank name", Rule::Required, "must not be empty"),
            ));
        }
        if !correspondent_account.is_correspondent() {
            return Err((
                BankField::CorrespondentAccount,
                ValueError::new("correspondent account", Rule::Format, "must start with 301"),
            ));
        }
        if !correspondent_account.key_matches(&bik) {
            return Err((
                BankField::CorrespondentAccount,
                ValueError::new(
                    "correspondent account",
                    Rule::CheckDigit,
                    "control key does not match the БИК",
                ),
            ));
        }
        if settlement_account.is_correspondent() {
            return Err((
                BankField::SettlementAccount,
                ValueError::new(
                    "settlement account",
                    Rule::Format,
                    "is a correspondent account (starts with 301)",
                ),
            ));
        }
        if !settlement_account.key_matches(&bik) {
            return Err((
                BankField::SettlementAccount,
                ValueError::new(
                    "settlement account",
                    Rule::CheckDigit,
                    "control key does not match the БИК",
                ),
            ));
        }
        Ok(Self {
            bank_name: bank_name.to_owned(),
            bik,
            correspondent_account,
            settlement_account,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bik() -> Bik {
        Bik::parse("044525225").unwrap()
    }

    #[test]
    fn bik_cases() {
        for (s, ok) in [
            ("044525225", true),
            ("144525225", true),
            ("244525225", true),
            ("344525225", false),
            ("04452522", false),
            ("0445252250", false),
            ("04452522x", false),
        ] {
            assert_eq!(Bik::parse(s).is_ok(), ok, "БИК {s:?}");
        }
    }

    #[test]
    fn account_key_cases() {
        // docs/domain.md's example, and settlement accounts whose key was computed independently.
        for (acc, ok) in [
            ("30101810400000000225", true),
            ("30101810500000000225", false),
            ("40702810938000012345", true),
            ("40702810200000000001", true),
            ("40802810600000000077", true),
            ("40702810038000012345", false),
            ("40702810300000000001", false),
        ] {
            let a = BankAccount::parse(acc).unwrap();
            assert_eq!(a.key_matches(&bik()), ok, "account {acc}");
        }
        assert!(BankAccount::parse("4070281093800001234").is_err());
        assert!(BankAccount::parse("4070281093800001234a").is_err());
    }

    #[test]
    fn requisites_name_the_wrong_field() {
        let corr = BankAccount::parse("30101810400000000225").unwrap();
        let settle = BankAccount::parse("40702810938000012345").unwrap();
        assert!(BankRequisites::new("ПАО Сбербанк", bik(), corr.clone(), settle.clone()).is_ok());
        let e = BankRequisites::new(" ", bik(), corr.clone(), settle.clone()).unwrap_err();
        assert_eq!(e.0, BankField::BankName);
        let e = BankRequisites::new("Банк", bik(), settle.clone(), settle.clone()).unwrap_err();
        assert_eq!(e.0, BankField::CorrespondentAccount);
        let bad_corr = BankAccount::parse("30101810500000000225").unwrap();
        let e = BankRequisites::new("Банк", bik(), bad_corr, settle.clone()).unwrap_err();
        assert_eq!(e.0, BankField::CorrespondentAccount);
        let bad_settle = BankAccount::parse("40702810038000012345").unwrap();
        let e = BankRequisites::new("Банк", bik(), corr.clone(), bad_settle).unwrap_err();
        assert_eq!(e.0, BankField::SettlementAccount);
        let e = BankRequisites::new("Банк", bik(), corr.clone(), corr).unwrap_err();
        assert_eq!(e.0, BankField::SettlementAccount);
    }

    proptest! {
        #[test]
        fn exactly_one_key_digit_makes_an_account_valid(
            head in "[0-9]{8}", tail in "[0-9]{11}", bik_tail in "[0-9]{8}"
        ) {
            let bik = Bik::parse(&format!("0{bik_tail}")).unwrap();
            let valid: Vec<u32> = (0..10)
                .filter(|k| BankAccount::parse(&format!("{head}{k}{tail}")).unwrap().key_matches(&bik))
                .collect();
            // Weight 1 on the key position: exactly one digit balances the sum.
            prop_assert_eq!(valid.len(), 1);
        }
    }
}
