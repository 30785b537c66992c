//! Sample values for tests in this and other crates (feature `testing`): a valid legal entity, whose
//! identifiers and bank keys were computed independently of this crate's checks.

use crate::company::CompanyProfile;
use crate::values::{BankAccount, BankRequisites, Bik, Email, Inn, Kpp, Phone, RegistrationNumber};

/// A legal entity (ИНН 7707083893, ОГРН 1027700132195, Сбербанк) with the given КПП.
///
/// # Panics
/// When `kpp` is not a valid КПП (a test's own mistake).
pub fn sample_profile(kpp: &str) -> CompanyProfile {
    CompanyProfile {
        inn: Inn::parse("7707083893").expect("valid ИНН"),
        kpp: Some(Kpp::parse(kpp).expect("valid КПП")),
        ogrn: RegistrationNumber::parse("1027700132195").expect("valid ОГРН"),
        full_name: "Общество с ограниченной ответственностью «Ромашка»".into(),
        short_name: "ООО «Ромашка»".into(),
        legal_address: "117997, Москва, ул. Вавилова, 19".into(),
        postal_address: "117997, Москва, ул. Вавилова, 19".into(),
        bank: sample_bank(),
        contact_email: Email::parse("office@romashka.ru").expect("valid e-mail"),
        contact_phone: Phone::parse("+7 495 500-55-50").expect("valid phone"),
    }
}

/// Сбербанк's БИК and correspondent account with a settlement account whose key matches.
///
/// # Panics
/// Never: the values are constants checked by this crate's tests.
pub fn sample_bank() -> BankRequisites {
    BankRequisites::new(
        "ПАО Сбербанк",
        Bik::parse("044525225").expect("valid БИК"),
        BankAccount::parse("30101810400000000225").expect("20 digits"),
        BankAccount::parse("40702810938000012345").expect("20 digits"),
    )
    .expect("keys match the БИК")
}

/// A date written `YYYY-MM-DD`.
///
/// # Panics
/// When it is not such a date (a test's own mistake).
pub fn d(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("a YYYY-MM-DD date")
}

/// An amount of money written as in a payment order, e.g. `"150000"` or `"2550.00"`.
///
/// # Panics
/// When it is not an amount (a test's own mistake).
pub fn m(s: &str) -> crate::values::Money {
    crate::values::Money::parse(s).expect("an amount")
}

/// A contract for `company_id`: dated 2026-02-01, one explicit line of 300,000 due 2026-03-10, no advance and
/// no redemption, 0.1% a day with VAT, the payment day counting; the subject has a serial number, no VIN.
///
/// # Panics
/// Never: the values are constants.
pub fn sample_contract(
    contract_id: uuid::Uuid,
    company_id: uuid::Uuid,
    number: &str,
) -> crate::contract::ContractTerms {
    use crate::contract::{Advance, ContractTerms, LeasingSubject};
    ContractTerms {
        contract_id,
        company_id,
        number: number.into(),
        date: d("2026-02-01"),
        contact_email: Email::parse("buh@romashka.ru").expect("valid e-mail"),
        subject: LeasingSubject {
            kind: "станок".into(),
            make: "DMG".into(),
            model: "CTX".into(),
            year: 2025,
            vin: None,
            serial_number: Some("SN-1".into()),
            registration_plate: None,
        },
        price: m("300000"),
        advance: Advance::Amount(m("0")),
        term_months: 1,
        annual_rate: rust_decimal::Decimal::ZERO,
        first_due_date: d("2026-03-10"),
        schedule_kind: crate::schedule::ScheduleKind::Explicit,
        explicit_lines: vec![(d("2026-03-10"), m("300000"))],
        redemption: m("0"),
        redemption_kind: None,
        penalty: crate::penalty::PenaltyTerms {
            rate_per_day: rust_decimal::Decimal::new(1, 1),
            base_includes_vat: true,
            payment_day_counts: true,
        },
    }
}
