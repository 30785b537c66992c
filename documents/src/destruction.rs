//! Акт об уничтожении персональных данных: the act of destroying personal data, with the fields the
//! regulator's requirements for confirming destruction name (Приказ Роскомнадзора от 28.10.2022 № 179,
//! item 3): the operator; the subjects, here by the identifier the system knows them by (never a value that
//! would undo the destruction); who destroyed them; the categories; the information system; the method;
//! the reason; the date — and, because processing is automated, the extract of the system's event log that
//! records the destruction (item 4).

use chrono::NaiveDate;

use crate::pdf::{Cell, Doc, Weight, CONTENT_WIDTH};
use crate::{date, Organisation};

/// A destruction act, ready to render.
#[derive(Debug, Clone)]
pub struct DestructionAct {
    /// Its number (the destruction's id).
    pub number: String,
    /// The date of destruction.
    pub date: NaiveDate,
    /// The operator (the lessor).
    pub operator: Organisation,
    /// The information system.
    pub system: String,
    /// The subjects, by identifier.
    pub subjects: Vec<String>,
    /// Categories of data destroyed.
    pub categories: Vec<String>,
    /// Why (the ground).
    pub reason: String,
    /// How.
    pub method: String,
    /// Who destroyed the data (the system's process and the responsible person).
    pub destroyed_by: String,
    /// The event log extract: (label, value) rows.
    pub log_extract: Vec<(String, String)>,
}

impl DestructionAct {
    /// The PDF.
    pub fn render(&self) -> Vec<u8> {
        let mut d = Doc::new(&format!(
            "Акт об уничтожении персональных данных № {}",
            self.number
        ));
        d.paragraph(9.0, Weight::Bold, &self.operator.name);
        d.paragraph(7.5, Weight::Regular, &self.operator.line());
        d.space(14.0);
        d.heading(13.0, "Акт об уничтожении персональных данных");
        d.paragraph(
            9.0,
            Weight::Regular,
            &format!("№ {} от {}", self.number, date(self.date)),
        );
        d.space(10.0);
        let rows: Vec<Vec<Cell>> = [
            ("Оператор", self.operator.line()),
            ("Информационная система", self.system.clone()),
            (
                "Субъекты персональных данных (идентификаторы)",
                self.subjects.join(", "),
            ),
            (
                "Категории уничтоженных персональных данных",
                self.categories.join("; "),
            ),
            ("Причина уничтожения", self.reason.clone()),
            ("Способ уничтожения", self.method.clone()),
            ("Уничтожение выполнил", self.destroyed_by.clone()),
            ("Дата уничтожения", date(self.date)),
        ]
        .into_iter()
        .map(|(k, v)| vec![Cell::left(k), Cell::left(v)])
        .collect();
        d.table(&[190.0, CONTENT_WIDTH - 190.0], &rows, 0, 8.5);
        d.space(12.0);
        d.paragraph(
            10.0,
            Weight::Bold,
            "Выгрузка из журнала регистрации событий",
        );
        d.space(4.0);
        let rows: Vec<Vec<Cell>> = self
            .log_extract
            .iter()
            .map(|(k, v)| vec![Cell::left(k.clone()), Cell::left(v.clone())])
            .collect();
        d.table(&[190.0, CONTENT_WIDTH - 190.0], &rows, 0, 8.0);
        d.finish()
    }
}

#[cfg(all(test, feature = "inspect"))]
mod tests {
    use super::*;

    #[test]
    fn the_act_reads_back_with_its_fields() {
        let act = DestructionAct {
            number: "0193-act".into(),
            date: NaiveDate::from_ymd_opt(2026, 12, 18).unwrap(),
            operator: Organisation {
                name: "ООО «Лизинг»".into(),
                inn: "7701000001".into(),
                kpp: None,
                address: "Москва".into(),
                bank: None,
            },
            system: "Личный кабинет лизингополучателя".into(),
            subjects: vec!["0193-subject".into()],
            categories: vec!["контактные данные".into()],
            reason: "удаление учётной записи".into(),
            method: "уничтожение ключей шифрования".into(),
            destroyed_by: "задание уничтожения".into(),
            log_extract: vec![("Позиция события".into(), "42".into())],
        };
        let text = crate::inspect::text(&act.render());
        for s in [
            "Акт об уничтожении",
            "0193-subject",
            "контактные данные",
            "42",
            "18.12.2026",
        ] {
            assert!(text.contains(s), "{s} in {text}");
        }
    }
}
