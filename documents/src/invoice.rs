//! Счёт на оплату (invoice for payment): number, date, seller with its bank, buyer, lines with their VAT,
//! total, total in words, due date, the payment purpose in the lessors' format, and the payment QR code.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::pdf::{Align, Cell, Doc, Weight, CONTENT_WIDTH, MARGIN};
use crate::qr::{self, Payment};
use crate::{date, money, rate, words, Organisation};

/// What a line charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// A leasing payment (VAT inside, at the rate of the line's date).
    Leasing,
    /// Penalties (неустойка: not a supply, no VAT).
    Penalty,
    /// A re-billed traffic fine (compensation, no VAT).
    Fine,
    /// A re-billed insurance premium (compensation of an insurance service, no VAT).
    Insurance,
    /// The early buyout of the asset (VAT inside on the leasing part).
    Buyout,
}

/// A line of the invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What it charges.
    pub kind: LineKind,
    /// As printed.
    pub description: String,
    /// Amount with VAT.
    pub amount: Decimal,
    /// VAT rate, percent; none for amounts without VAT.
    pub vat_rate: Option<Decimal>,
    /// VAT inside the amount.
    pub vat_amount: Decimal,
}

/// An invoice for payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// Number.
    pub number: String,
    /// Date (the business day it was issued).
    pub date: NaiveDate,
    /// Pay by.
    pub due_date: NaiveDate,
    /// The lessor; must have a bank.
    pub seller: Organisation,
    /// The lessee.
    pub buyer: Organisation,
    /// The contracts it is for: number and date — one for a contract's invoice, each of a company's for
    /// one covering them all.
    pub contracts: Vec<(String, NaiveDate)>,
    /// Lines.
    pub lines: Vec<Line>,
    /// Who signs for the seller.
    pub signatory: String,
}

impl Invoice {
    /// The total to pay.
    pub fn total(&self) -> Decimal {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// VAT inside the total, per rate (ascending).
    pub fn vat_by_rate(&self) -> Vec<(Decimal, Decimal)> {
        let mut by: Vec<(Decimal, Decimal)> = Vec::new();
        for l in &self.lines {
            if let Some(r) = l.vat_rate {
                match by.iter_mut().find(|(x, _)| *x == r) {
                    Some((_, v)) => *v += l.vat_amount,
                    None => by.push((r, l.vat_amount)),
                }
            }
        }
        by.sort();
        by
    }

    /// «в т.ч. НДС 22% 19 226,07 руб.» or «НДС не облагается».
    pub fn vat_clause(&self) -> String {
        let by = self.vat_by_rate();
        if by.is_empty() {
            return "НДС не облагается".into();
        }
        let parts: Vec<String> = by
            .iter()
            .map(|(r, v)| format!("НДС {} {} руб.", rate(*r), money(*v)))
            .collect();
        format!("в т.ч. {}", parts.join(", "))
    }

    /// The payment purpose, in the lessors' format: «Лизинговый платеж по договору лизинга № … от …, в т.ч.
    /// НДС …» for leasing payments; penalties and fines are named as such; a mix names the invoice.
    pub fn purpose(&self) -> String {
        if self.contracts.len() > 1 {
            // A company's invoice: its number is what the matcher splits the payment back by; the contracts
            // are named while the purpose keeps within a payment order's 210 characters.
            let head = format!("Оплата по счету № {} от {}", self.number, date(self.date));
            let listed = format!(
                "{head} по договорам лизинга {}, {}",
                self.contracts
                    .iter()
                    .map(|(n, _)| format!("№ {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.vat_clause()
            );
            if listed.chars().count() <= 210 {
                return listed;
            }
            return format!(
                "{head} по {} договорам лизинга, {}",
                self.contracts.len(),
                self.vat_clause()
            );
        }
        let (number, on) = self.contracts.first().cloned().unwrap_or_default();
        let contract = format!("по договору лизинга № {number} от {}", date(on));
        let kinds: Vec<LineKind> = self.lines.iter().map(|l| l.kind).collect();
        let what = if kinds.contains(&LineKind::Buyout) {
            "Досрочный выкуп предмета лизинга".to_owned()
        } else if kinds.iter().all(|k| *k == LineKind::Insurance) {
            "Возмещение страховой премии".to_owned()
        } else if kinds.iter().all(|k| *k == LineKind::Leasing) {
            "Лизинговый платеж".to_owned()
        } else if kinds.iter().all(|k| *k == LineKind::Penalty) {
            "Пени".to_owned()
        } else if kinds.iter().all(|k| *k == LineKind::Fine) {
            "Возмещение штрафа".to_owned()
        } else {
            format!("Оплата по счету № {} от {}", self.number, date(self.date))
        };
        format!("{what} {contract}, {}", self.vat_clause())
    }

    /// The fields of the payment QR code.
    ///
    /// # Panics
    /// When the seller has no bank (the configuration is checked at start-up).
    pub fn payment(&self) -> Payment {
        let bank = self.seller.bank.as_ref().expect("the seller has a bank");
        Payment {
            name: self.seller.name.clone(),
            personal_acc: bank.settlement_account.clone(),
            bank_name: bank.name.clone(),
            bic: bank.bic.clone(),
            corresp_acc: bank.correspondent_account.clone(),
            payee_inn: self.seller.inn.clone(),
            kpp: self.seller.kpp.clone(),
            purpose: self.purpose(),
            sum_kopecks: (self.total() * Decimal::from(100))
                .trunc()
                .try_into()
                .unwrap_or(0),
        }
    }

    /// The PDF.
    pub fn render(&self) -> Vec<u8> {
        let title = format!("Счет на оплату № {} от {}", self.number, date(self.date));
        let mut d = Doc::new(&title);
        let bank = self.seller.bank.clone().expect("the seller has a bank");
        // The bank block, as on a payment order.
        let w = [250.0, 60.0, CONTENT_WIDTH - 310.0];
        d.table(
            &w,
            &[
                vec![
                    Cell::left(format!("{}\nБанк получателя", bank.name)),
                    Cell::left("БИК\nСч. №"),
                    Cell::left(format!("{}\n{}", bank.bic, bank.correspondent_account)),
                ],
                vec![
                    Cell::left(format!(
                        "ИНН {}   КПП {}\n{}\nПолучатель",
                        self.seller.inn,
                        self.seller.kpp.as_deref().unwrap_or("—"),
                        self.seller.name
                    )),
                    Cell::left("Сч. №"),
                    Cell::left(bank.settlement_account.clone()),
                ],
            ],
            0,
            8.5,
        );
        d.space(14.0);
        d.paragraph(14.0, Weight::Bold, &title);
        let y = d.y + 4.0;
        d.line(MARGIN, y, MARGIN + CONTENT_WIDTH, y, 1.2);
        d.space(10.0);
        let label = 92.0;
        for (k, v) in [
            ("Поставщик (Исполнитель):", self.seller.line()),
            ("Покупатель (Заказчик):", self.buyer.line()),
            (
                "Основание:",
                match self.contracts.as_slice() {
                    [(n, on)] => format!("Договор лизинга № {n} от {}", date(*on)),
                    several => format!(
                        "Договоры лизинга {}",
                        several
                            .iter()
                            .map(|(n, on)| format!("№ {n} от {}", date(*on)))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                },
            ),
        ] {
            let top = d.y;
            d.paragraph_at(MARGIN, label, 8.5, Weight::Regular, k);
            let after_label = d.y;
            d.y = top;
            d.paragraph_at(
                MARGIN + label + 4.0,
                CONTENT_WIDTH - label - 4.0,
                8.5,
                Weight::Bold,
                &v,
            );
            d.y = d.y.max(after_label) + 4.0;
        }
        d.space(6.0);
        let widths = [22.0, CONTENT_WIDTH - 272.0, 60.0, 90.0, 100.0];
        let mut rows = vec![vec![
            Cell::center("№").bold(),
            Cell::center("Наименование").bold(),
            Cell::center("Ставка НДС").bold(),
            Cell::center("Сумма НДС, руб.").bold(),
            Cell::center("Сумма, руб.").bold(),
        ]];
        for (i, l) in self.lines.iter().enumerate() {
            rows.push(vec![
                Cell::center((i + 1).to_string()),
                Cell::left(l.description.clone()),
                Cell::center(l.vat_rate.map_or("без НДС".into(), rate)),
                Cell::right(if l.vat_rate.is_some() {
                    money(l.vat_amount)
                } else {
                    "—".into()
                }),
                Cell::right(money(l.amount)),
            ]);
        }
        d.table(&widths, &rows, 1, 8.5);
        d.space(6.0);
        let total = self.total();
        let mut totals = vec![("Итого:".to_owned(), money(total))];
        let by = self.vat_by_rate();
        if by.is_empty() {
            totals.push(("Без налога (НДС):".into(), "—".into()));
        }
        for (r, v) in by {
            totals.push((format!("В том числе НДС {}:", rate(r)), money(v)));
        }
        totals.push(("Всего к оплате:".into(), money(total)));
        for (k, v) in totals {
            d.ensure(14.0);
            d.y += 12.0;
            let y = d.y;
            d.text_in(
                (MARGIN, CONTENT_WIDTH - 110.0),
                y,
                9.0,
                Weight::Bold,
                Align::Right,
                &k,
            );
            d.text_in(
                (MARGIN + CONTENT_WIDTH - 105.0, 105.0),
                y,
                9.0,
                Weight::Bold,
                Align::Right,
                &v,
            );
        }
        d.space(8.0);
        d.paragraph(
            9.0,
            Weight::Regular,
            &format!(
                "Всего наименований {}, на сумму {} руб.",
                self.lines.len(),
                money(total)
            ),
        );
        d.paragraph(9.0, Weight::Bold, &words::rubles(total));
        d.space(8.0);
        // Purpose and due date on the left, the QR code on the right.
        d.ensure(150.0);
        let qr_size = 120.0;
        let top = d.y + 4.0;
        let text_width = CONTENT_WIDTH - qr_size - 16.0;
        d.paragraph_at(
            MARGIN,
            text_width,
            9.0,
            Weight::Bold,
            &format!("Оплатить не позднее {}", date(self.due_date)),
        );
        d.space(4.0);
        d.paragraph_at(
            MARGIN,
            text_width,
            9.0,
            Weight::Regular,
            &format!("Назначение платежа: {}", self.purpose()),
        );
        d.space(4.0);
        d.paragraph_at(
            MARGIN,
            text_width,
            8.0,
            Weight::Regular,
            "В назначении платежа обязательно укажите номер договора лизинга. Для оплаты из мобильного \
             приложения банка отсканируйте QR-код.",
        );
        let text_bottom = d.y;
        let (side, pixels) = qr::image(&self.payment().payload());
        let x = MARGIN + CONTENT_WIDTH - qr_size;
        d.image(x, top, qr_size, side, side, pixels);
        d.text_in(
            (x, qr_size),
            top + qr_size + 10.0,
            7.0,
            Weight::Regular,
            Align::Center,
            "Оплата по QR-коду (ГОСТ Р 56042-2014)",
        );
        d.y = text_bottom.max(top + qr_size + 14.0) + 24.0;
        d.ensure(40.0);
        let y = d.y;
        d.text(MARGIN, y, 9.0, Weight::Bold, "Руководитель");
        d.line(MARGIN + 80.0, y + 2.0, MARGIN + 220.0, y + 2.0, 0.5);
        d.text(MARGIN + 226.0, y, 9.0, Weight::Regular, &self.signatory);
        d.y += 24.0;
        let y = d.y;
        d.text(MARGIN, y, 9.0, Weight::Bold, "Бухгалтер");
        d.line(MARGIN + 80.0, y + 2.0, MARGIN + 220.0, y + 2.0, 0.5);
        d.finish()
    }
}
