//! Акт сверки взаиморасчётов for a contract and period: opening balance, every operation with its date and
//! document, turnovers, closing balance and the statement of the debt.

use chrono::NaiveDate;
use domain::reconciliation::Reconciliation;
use rust_decimal::Decimal;

use crate::pdf::{Cell, Doc, Weight, CONTENT_WIDTH, MARGIN};
use crate::{date, money, words, Organisation};

/// The act, ready to render.
#[derive(Debug, Clone)]
pub struct Act {
    /// Number.
    pub number: String,
    /// Date (the business day it was drawn up).
    pub date: NaiveDate,
    /// The lessor.
    pub lessor: Organisation,
    /// The lessee.
    pub lessee: Organisation,
    /// Contract number.
    pub contract_number: String,
    /// Contract date.
    pub contract_date: NaiveDate,
    /// The numbers.
    pub reconciliation: Reconciliation,
    /// Who signs for the lessor.
    pub signatory: String,
}

fn split(balance: Decimal) -> (String, String) {
    if balance > Decimal::ZERO {
        (money(balance), String::new())
    } else if balance < Decimal::ZERO {
        (String::new(), money(-balance))
    } else {
        (String::new(), String::new())
    }
}

impl Act {
    /// The statement of the debt at the end of the period.
    pub fn statement(&self) -> String {
        let r = &self.reconciliation;
        let on = date(r.to);
        let debt = r.debt();
        let mut s = if debt > Decimal::ZERO {
            format!(
                "По данным {} на {on} задолженность {} в пользу {} составляет {} руб. ({}).",
                self.lessor.name,
                self.lessee.name,
                self.lessor.name,
                money(debt),
                words::rubles(debt)
            )
        } else {
            format!(
                "По данным {} на {on} задолженность {} перед {} отсутствует.",
                self.lessor.name, self.lessee.name, self.lessor.name
            )
        };
        if r.prepaid > Decimal::ZERO {
            s.push_str(&format!(
                " Сальдо учитывает авансы в счёт платежей, срок которых не наступил: {} руб.",
                money(r.prepaid)
            ));
        }
        if r.closing < Decimal::ZERO {
            s.push_str(&format!(" Переплата на {on}: {} руб.", money(-r.closing)));
        }
        s
    }

    /// The PDF.
    pub fn render(&self) -> Vec<u8> {
        let r = &self.reconciliation;
        let title = format!("Акт сверки взаимных расчетов № {}", self.number);
        let mut d = Doc::new(&title);
        d.heading(13.0, &title);
        d.paragraph(
            9.0,
            Weight::Regular,
            &format!(
                "за период с {} по {} между {} и {} по договору лизинга № {} от {}",
                date(r.from),
                date(r.to),
                self.lessor.name,
                self.lessee.name,
                self.contract_number,
                date(self.contract_date)
            ),
        );
        d.paragraph(
            8.0,
            Weight::Regular,
            &format!("Лизингодатель: {}", self.lessor.line()),
        );
        d.paragraph(
            8.0,
            Weight::Regular,
            &format!("Лизингополучатель: {}", self.lessee.line()),
        );
        d.paragraph(
            8.0,
            Weight::Regular,
            &format!("Дата составления: {}. Суммы в рублях.", date(self.date)),
        );
        d.space(8.0);
        let widths = [62.0, 150.0, CONTENT_WIDTH - 362.0, 75.0, 75.0];
        let (od, oc) = split(r.opening);
        let mut rows = vec![
            vec![
                Cell::center("Дата").bold(),
                Cell::center("Документ").bold(),
                Cell::center("Операция").bold(),
                Cell::center("Дебет").bold(),
                Cell::center("Кредит").bold(),
            ],
            vec![
                Cell::left(""),
                Cell::left(""),
                Cell::left(format!("Сальдо начальное на {}", date(r.from))).bold(),
                Cell::right(od).bold(),
                Cell::right(oc).bold(),
            ],
        ];
        for o in &r.operations {
            rows.push(vec![
                Cell::center(date(o.date)),
                Cell::left(o.document.clone()),
                Cell::left(o.description.clone()),
                Cell::right(if o.debit.is_zero() {
                    String::new()
                } else {
                    money(o.debit)
                }),
                Cell::right(if o.credit.is_zero() {
                    String::new()
                } else {
                    money(o.credit)
                }),
            ]);
        }
        let (cd, cc) = split(r.closing);
        rows.push(vec![
            Cell::left(""),
            Cell::left(""),
            Cell::left("Обороты за период").bold(),
            Cell::right(money(r.debit_turnover)).bold(),
            Cell::right(money(r.credit_turnover)).bold(),
        ]);
        rows.push(vec![
            Cell::left(""),
            Cell::left(""),
            Cell::left(format!("Сальдо конечное на {}", date(r.to))).bold(),
            Cell::right(cd).bold(),
            Cell::right(cc).bold(),
        ]);
        d.table(&widths, &rows, 1, 7.5);
        d.space(10.0);
        d.paragraph(9.0, Weight::Bold, &self.statement());
        d.space(24.0);
        d.ensure(60.0);
        let y = d.y;
        let half = CONTENT_WIDTH / 2.0;
        d.text(MARGIN, y, 8.5, Weight::Bold, "От лизингодателя");
        d.text(MARGIN + half, y, 8.5, Weight::Bold, "От лизингополучателя");
        d.line(MARGIN, y + 26.0, MARGIN + half - 20.0, y + 26.0, 0.5);
        d.line(
            MARGIN + half,
            y + 26.0,
            MARGIN + CONTENT_WIDTH,
            y + 26.0,
            0.5,
        );
        d.text(MARGIN, y + 36.0, 7.5, Weight::Regular, &self.signatory);
        d.y = y + 40.0;
        d.finish()
    }
}
