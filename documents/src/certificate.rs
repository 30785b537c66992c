//! Certificates (справки) the lessor issues on a contract — no debt, contract in force, book value of the
//! asset — and the ОС-1 act of acceptance-transfer of a fixed asset (ОКУД 0306001) for a completed contract.
//! The caller decides whether a certificate may be issued (a no-debt certificate only without debt) and
//! composes its statement; this module lays it out.

use chrono::NaiveDate;

use crate::pdf::{Align, Cell, Doc, Weight, CONTENT_WIDTH, MARGIN};
use crate::{date, Organisation};

/// A certificate, ready to render.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// Title, e.g. «Справка об отсутствии задолженности».
    pub title: String,
    /// Number.
    pub number: String,
    /// Date of issue.
    pub date: NaiveDate,
    /// The lessor (letterhead).
    pub lessor: Organisation,
    /// The lessee (addressee).
    pub lessee: Organisation,
    /// The statement.
    pub statement: String,
    /// Facts: (name, value) rows under the statement.
    pub facts: Vec<(String, String)>,
    /// Who signs for the lessor.
    pub signatory: String,
}

impl Certificate {
    /// The PDF.
    pub fn render(&self) -> Vec<u8> {
        let mut d = Doc::new(&format!("{} № {}", self.title, self.number));
        d.paragraph(9.0, Weight::Bold, &self.lessor.name);
        d.paragraph(7.5, Weight::Regular, &self.lessor.line());
        let y = d.y + 4.0;
        d.line(MARGIN, y, MARGIN + CONTENT_WIDTH, y, 0.8);
        d.space(12.0);
        d.paragraph(
            9.0,
            Weight::Regular,
            &format!("Исх. № {} от {}", self.number, date(self.date)),
        );
        d.paragraph_at(
            MARGIN + CONTENT_WIDTH / 2.0,
            CONTENT_WIDTH / 2.0,
            9.0,
            Weight::Regular,
            &format!("{}\nИНН {}", self.lessee.name, self.lessee.inn),
        );
        d.space(18.0);
        d.heading(14.0, &self.title);
        d.space(10.0);
        d.paragraph(10.0, Weight::Regular, &self.statement);
        if !self.facts.is_empty() {
            d.space(10.0);
            let rows: Vec<Vec<Cell>> = self
                .facts
                .iter()
                .map(|(k, v)| vec![Cell::left(k.clone()), Cell::left(v.clone()).bold()])
                .collect();
            d.table(&[200.0, CONTENT_WIDTH - 200.0], &rows, 0, 9.0);
        }
        signature(&mut d, &self.signatory);
        d.finish()
    }
}

fn signature(d: &mut Doc, signatory: &str) {
    d.space(36.0);
    d.ensure(30.0);
    let y = d.y;
    d.text(MARGIN, y, 9.0, Weight::Regular, "Генеральный директор");
    d.line(MARGIN + 150.0, y + 2.0, MARGIN + 300.0, y + 2.0, 0.5);
    d.text(MARGIN + 310.0, y, 9.0, Weight::Regular, signatory);
    d.y = y + 10.0;
}

/// The data of an ОС-1 act for an asset passing to the lessee when its contract is complete.
#[derive(Debug, Clone)]
pub struct Os1 {
    /// Number.
    pub number: String,
    /// Date drawn up.
    pub date: NaiveDate,
    /// The organisation handing the asset over (the lessor).
    pub transferor: Organisation,
    /// The organisation receiving it (the lessee).
    pub recipient: Organisation,
    /// The basis: «Договор лизинга № … от …».
    pub basis: String,
    /// Date of transfer (the contract's completion).
    pub transfer_date: NaiveDate,
    /// The asset: (name, value) rows — name, make and model, VIN, serial number, year, value.
    pub asset: Vec<(String, String)>,
    /// Who signs for the transferor.
    pub signatory: String,
}

impl Os1 {
    /// The PDF.
    pub fn render(&self) -> Vec<u8> {
        let title = format!(
            "Акт № {} о приеме-передаче объекта основных средств (кроме зданий, сооружений)",
            self.number
        );
        let mut d = Doc::new(&title);
        let y = d.y + 8.0;
        d.text_in(
            (MARGIN, CONTENT_WIDTH),
            y,
            7.0,
            Weight::Regular,
            Align::Right,
            "Унифицированная форма № ОС-1. Форма по ОКУД 0306001",
        );
        d.y = y + 6.0;
        d.space(8.0);
        d.table(
            &[170.0, CONTENT_WIDTH - 170.0],
            &[
                vec![
                    Cell::left("Организация-сдатчик"),
                    Cell::left(self.transferor.line()).bold(),
                ],
                vec![
                    Cell::left("Организация-получатель"),
                    Cell::left(self.recipient.line()).bold(),
                ],
                vec![Cell::left("Основание"), Cell::left(self.basis.clone())],
                vec![Cell::left("Дата составления"), Cell::left(date(self.date))],
                vec![
                    Cell::left("Дата передачи"),
                    Cell::left(date(self.transfer_date)),
                ],
            ],
            0,
            8.5,
        );
        d.space(14.0);
        d.heading(12.0, &title);
        d.space(8.0);
        d.paragraph(9.0, Weight::Bold, "Сведения об объекте основных средств");
        d.space(4.0);
        let rows: Vec<Vec<Cell>> = self
            .asset
            .iter()
            .map(|(k, v)| vec![Cell::left(k.clone()), Cell::left(v.clone()).bold()])
            .collect();
        d.table(&[200.0, CONTENT_WIDTH - 200.0], &rows, 0, 9.0);
        d.space(10.0);
        d.paragraph(
            9.0,
            Weight::Regular,
            "Объект основных средств передан в собственность организации-получателя в связи с исполнением \
             договора лизинга. Объект технически исправен, претензий у сторон нет.",
        );
        d.space(28.0);
        d.ensure(50.0);
        let y = d.y;
        let half = CONTENT_WIDTH / 2.0;
        d.text(MARGIN, y, 8.5, Weight::Bold, "Сдал");
        d.text(MARGIN + half, y, 8.5, Weight::Bold, "Принял");
        d.line(MARGIN, y + 24.0, MARGIN + half - 20.0, y + 24.0, 0.5);
        d.line(
            MARGIN + half,
            y + 24.0,
            MARGIN + CONTENT_WIDTH,
            y + 24.0,
            0.5,
        );
        d.text(MARGIN, y + 34.0, 7.5, Weight::Regular, &self.signatory);
        d.y = y + 40.0;
        d.finish()
    }
}
