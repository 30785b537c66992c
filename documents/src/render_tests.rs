//! Rendering the documents and reading them back through an independent PDF reader and QR decoder.

use crate::certificate::{Certificate, Os1};
use crate::invoice::{Invoice, Line, LineKind};
use crate::{inspect, qr, Bank, Organisation};
use chrono::NaiveDate;
use rust_decimal_macros::dec;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn lessor() -> Organisation {
    Organisation {
        name: "ООО «Лизинг-Демо»".into(),
        inn: "7701000001".into(),
        kpp: Some("770101001".into()),
        address: "125009, г. Москва, ул. Тверская, д. 1".into(),
        bank: Some(Bank {
            name: "ПАО Сбербанк".into(),
            bic: "044525225".into(),
            correspondent_account: "30101810400000000225".into(),
            settlement_account: "40702810900000000001".into(),
        }),
    }
}

fn lessee() -> Organisation {
    Organisation {
        name: "ООО «Ромашка»".into(),
        inn: "7707083893".into(),
        kpp: Some("773601001".into()),
        address: "117997, г. Москва, ул. Вавилова, д. 19".into(),
        bank: None,
    }
}

fn invoice() -> Invoice {
    Invoice {
        number: "2026-000017".into(),
        date: d("2026-03-02"),
        due_date: d("2026-03-10"),
        seller: lessor(),
        buyer: lessee(),
        contracts: vec![("Л-2026/001".into(), d("2026-01-15"))],
        lines: vec![
            Line {
                kind: LineKind::Leasing,
                description: "Лизинговый платеж № 2 по графику, срок 10.03.2026".into(),
                amount: dec!(106618.55),
                vat_rate: Some(dec!(22)),
                vat_amount: dec!(19226.07),
            },
            Line {
                kind: LineKind::Leasing,
                description: "Лизинговый платеж № 1 по графику, срок 10.12.2025".into(),
                amount: dec!(1200),
                vat_rate: Some(dec!(20)),
                vat_amount: dec!(200),
            },
        ],
        signatory: "Иванов И. И.".into(),
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn an_invoice_carries_every_required_field_in_cyrillic_text_and_a_payment_qr_code_a_bank_can_read()
{
    let inv = invoice();
    let pdf = inv.render();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(
        pdf.len() < 120_000,
        "the fonts are subset: {} bytes",
        pdf.len()
    );
    let text = squash(&inspect::text(&pdf));
    for needle in [
        "Счет на оплату № 2026-000017 от 02.03.2026",
        "ООО «Лизинг-Демо», ИНН 7701000001, КПП 770101001, 125009, г. Москва, ул. Тверская, д. 1",
        "ПАО Сбербанк",
        "044525225",
        "30101810400000000225",
        "40702810900000000001",
        "ООО «Ромашка», ИНН 7707083893, КПП 773601001",
        "Договор лизинга № Л-2026/001 от 15.01.2026",
        "106 618,55",
        "19 226,07",
        "22%",
        "20%",
        "Всего к оплате:",
        "107 818,55",
        "Сто семь тысяч восемьсот восемнадцать рублей 55 копеек",
        "Оплатить не позднее 10.03.2026",
        "Лизинговый платеж по договору лизинга № Л-2026/001 от 15.01.2026, в т.ч. НДС 20% 200,00 руб., НДС 22% 19 226,07 руб.",
    ] {
        assert!(text.contains(needle), "missing «{needle}» in:\n{text}");
    }
    let codes = inspect::qr_codes(&pdf);
    assert_eq!(codes.len(), 1);
    let fields = qr::parse(&codes[0]).expect("a ГОСТ Р 56042-2014 payload");
    assert!(codes[0].starts_with("ST00012|"));
    assert_eq!(fields["Name"], "ООО «Лизинг-Демо»");
    assert_eq!(fields["PersonalAcc"], "40702810900000000001");
    assert_eq!(fields["BankName"], "ПАО Сбербанк");
    assert_eq!(fields["BIC"], "044525225");
    assert_eq!(fields["CorrespAcc"], "30101810400000000225");
    assert_eq!(fields["PayeeINN"], "7701000001");
    assert_eq!(fields["KPP"], "770101001");
    assert_eq!(fields["Sum"], "10781855");
    assert_eq!(fields["Purpose"], inv.purpose());
}

#[test]
fn the_same_document_renders_to_the_same_bytes() {
    assert_eq!(invoice().render(), invoice().render());
}

#[test]
fn penalties_are_invoiced_without_vat() {
    let mut inv = invoice();
    inv.lines = vec![Line {
        kind: LineKind::Penalty,
        description: "Пени по договору".into(),
        amount: dec!(2550),
        vat_rate: None,
        vat_amount: dec!(0),
    }];
    assert_eq!(
        inv.purpose(),
        "Пени по договору лизинга № Л-2026/001 от 15.01.2026, НДС не облагается"
    );
    let text = squash(&inspect::text(&inv.render()));
    assert!(text.contains("без НДС"), "{text}");
    assert!(text.contains("Две тысячи пятьсот пятьдесят рублей 00 копеек"));
}

#[test]
fn a_long_table_continues_on_further_pages_with_its_header() {
    let mut inv = invoice();
    inv.lines = (1..=60)
        .map(|n| Line {
            kind: LineKind::Leasing,
            description: format!("Лизинговый платеж № {n} по графику"),
            amount: dec!(100),
            vat_rate: Some(dec!(22)),
            vat_amount: dec!(18.03),
        })
        .collect();
    let text = inspect::text(&inv.render());
    let pages: Vec<&str> = text.split('\u{c}').collect();
    assert!(pages.len() >= 2, "{}", pages.len());
    assert!(pages[1].contains("Наименование"));
    assert!(squash(&text).contains("Лизинговый платеж № 60 по графику"));
}

#[test]
fn certificates_and_the_os1_act_render_their_statements() {
    let c = Certificate {
        title: "Справка об отсутствии задолженности".into(),
        number: "С-2026-000001".into(),
        date: d("2026-04-01"),
        lessor: lessor(),
        lessee: lessee(),
        statement: "Задолженность отсутствует.".into(),
        facts: vec![(
            "Договор лизинга".into(),
            "№ Л-2026/001 от 15.01.2026".into(),
        )],
        signatory: "Иванов И. И.".into(),
    };
    let text = squash(&inspect::text(&c.render()));
    assert!(text.contains("Справка об отсутствии задолженности"));
    assert!(text.contains("Исх. № С-2026-000001 от 01.04.2026"));
    assert!(text.contains("№ Л-2026/001 от 15.01.2026"));
    let os1 = Os1 {
        number: "ОС-2026-000001".into(),
        date: d("2027-01-15"),
        transferor: lessor(),
        recipient: lessee(),
        basis: "Договор лизинга № Л-2026/001 от 15.01.2026".into(),
        transfer_date: d("2027-01-15"),
        asset: vec![("VIN".into(), "WVWZZZ1JZ3W386752".into())],
        signatory: "Иванов И. И.".into(),
    };
    let text = squash(&inspect::text(&os1.render()));
    assert!(text.contains("ОКУД 0306001"));
    assert!(text.contains("WVWZZZ1JZ3W386752"));
    assert!(text.contains("Дата передачи 15.01.2027"));
}

#[test]
fn every_invoice_purpose_is_read_back_by_the_statement_matcher_as_its_contract_and_kind() {
    // The purpose an invoice prints is what the payer copies into the payment order: the matcher
    // (domain::payments::purpose) must find the contract number and the kind in it, and the invoice's own
    // number when the invoice mixes kinds.
    use domain::payments::purpose::{read, Kind};
    let line = |kind: LineKind| Line {
        kind,
        description: "x".into(),
        amount: dec!(100),
        vat_rate: None,
        vat_amount: dec!(0),
    };
    let mut inv = invoice();
    inv.number = "СЧ-2026-000017".into();
    for (kinds, expected) in [
        (vec![LineKind::Leasing], Kind::Leasing),
        (vec![LineKind::Penalty], Kind::Penalty),
        (vec![LineKind::Fine], Kind::Fine),
    ] {
        inv.lines = kinds.into_iter().map(line).collect();
        let r = read(&inv.purpose());
        assert_eq!(r.numbers, [inv.contracts[0].0.clone()], "{}", inv.purpose());
        assert_eq!(r.main_kind(), expected, "{}", inv.purpose());
        assert!(r.parts.is_empty(), "{}", inv.purpose());
    }
    inv.lines = vec![line(LineKind::Leasing), line(LineKind::Penalty)];
    let r = read(&inv.purpose());
    assert_eq!(r.invoices, ["СЧ-2026-000017"], "{}", inv.purpose());
    assert!(r.numbers.contains(&inv.contracts[0].0), "{}", inv.purpose());
}

#[test]
fn a_company_invoice_names_its_contracts_and_its_number_within_a_payment_orders_210_characters() {
    use domain::payments::purpose::read;
    let mut inv = invoice();
    inv.number = "СЧ-2026-000018".into();
    inv.contracts = vec![
        ("Л-2026/001".into(), d("2026-01-15")),
        ("Л-2026/002".into(), d("2026-02-01")),
    ];
    let purpose = inv.purpose();
    let r = read(&purpose);
    assert_eq!(r.invoices, ["СЧ-2026-000018"], "{purpose}");
    assert!(purpose.contains("№ Л-2026/001, № Л-2026/002"), "{purpose}");
    let text = squash(&inspect::text(&inv.render()));
    assert!(
        text.contains("Договоры лизинга № Л-2026/001 от 15.01.2026; № Л-2026/002 от 01.02.2026"),
        "{text}"
    );
    // Thirty contracts do not fit: the purpose counts them, and still names the invoice.
    inv.contracts = (1..=30)
        .map(|i| (format!("Л-2026/{i:03}"), d("2026-01-15")))
        .collect();
    let purpose = inv.purpose();
    assert!(purpose.chars().count() <= 210, "{purpose}");
    assert!(purpose.contains("по 30 договорам лизинга"), "{purpose}");
    assert_eq!(read(&purpose).invoices, ["СЧ-2026-000018"]);
}
