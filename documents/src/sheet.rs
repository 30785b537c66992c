//! Tables for accountants, as XLSX (one sheet per table, typed cells: amounts as numbers with two decimals,
//! dates as dates) and as CSV the way Russian Excel opens it (UTF-8 with a BOM, `;` between fields, a comma
//! before the kopecks, dates DD.MM.YYYY, CRLF). A text cell that a spreadsheet would take for a formula
//! (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is written with a leading apostrophe in CSV
//! and always as text in XLSX, so a bank reference a payer wrote can never run as a formula.

use chrono::{Datelike, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

/// A cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// An amount in roubles.
    Money(Decimal),
    /// A date.
    Date(NaiveDate),
    /// A whole number.
    Int(i64),
    /// Nothing.
    Empty,
}

/// A table: a sheet of an XLSX file, or a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The sheet's name (at most 31 characters in XLSX).
    pub name: String,
    /// Lines above the header (the title, the period).
    pub caption: Vec<String>,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

/// The XLSX file of `tables`, a sheet each.
///
/// # Errors
/// The writer's error, as text.
pub fn xlsx(tables: &[Table]) -> Result<Vec<u8>, String> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    let date = Format::new().set_num_format("dd.mm.yyyy");
    for t in tables {
        let sheet = book.add_worksheet();
        let name: String = t.name.chars().take(31).collect();
        sheet.set_name(name).map_err(|e| e.to_string())?;
        let mut row: u32 = 0;
        for c in &t.caption {
            sheet
                .write_string_with_format(row, 0, c, &bold)
                .map_err(|e| e.to_string())?;
            row += 1;
        }
        if !t.caption.is_empty() {
            row += 1;
        }
        for (i, h) in t.columns.iter().enumerate() {
            sheet
                .write_string_with_format(row, i as u16, h, &bold)
                .map_err(|e| e.to_string())?;
            sheet
                .set_column_width(i as u16, (h.chars().count().max(12) + 2) as f64)
                .map_err(|e| e.to_string())?;
        }
        row += 1;
        for r in &t.rows {
            for (i, cell) in r.iter().enumerate() {
                let col = i as u16;
                let written = match cell {
                    Cell::Text(s) => sheet.write_string(row, col, s).map(|_| ()),
                    // A spreadsheet number: the amount to the kopeck (two decimals are exact in a double up
                    // to 10¹³ roubles).
                    Cell::Money(d) => sheet
                        .write_number_with_format(
                            row,
                            col,
                            d.round_dp(2).to_f64().unwrap_or(0.0),
                            &money,
                        )
                        .map(|_| ()),
                    Cell::Date(d) => {
                        let dt = ExcelDateTime::from_ymd(
                            d.year() as u16,
                            d.month() as u8,
                            d.day() as u8,
                        )
                        .map_err(|e| e.to_string())?;
                        sheet
                            .write_datetime_with_format(row, col, &dt, &date)
                            .map(|_| ())
                    }
                    Cell::Int(n) => sheet.write_number(row, col, *n as f64).map(|_| ()),
                    Cell::Empty => Ok(()),
                };
                written.map_err(|e| e.to_string())?;
            }
            row += 1;
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}

/// A text as a CSV field: quoted when it holds `;`, a quote or a line break; an apostrophe first when a
/// spreadsheet would read it as a formula.
fn field(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if guarded.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The CSV file of one table.
pub fn csv(t: &Table) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    for c in &t.caption {
        out.push_str(&field(c));
        out.push_str("\r\n");
    }
    let line = |cells: Vec<String>| cells.join(";") + "\r\n";
    out.push_str(&line(t.columns.iter().map(|h| field(h)).collect()));
    for r in &t.rows {
        out.push_str(&line(
            r.iter()
                .map(|c| match c {
                    Cell::Text(s) => field(s),
                    Cell::Money(d) => format!("{:.2}", d.round_dp(2)).replace('.', ","),
                    Cell::Date(d) => d.format("%d.%m.%Y").to_string(),
                    Cell::Int(n) => n.to_string(),
                    Cell::Empty => String::new(),
                })
                .collect(),
        ));
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn table() -> Table {
        Table {
            name: "График".into(),
            caption: vec!["График платежей по договору № ЛД-7".into()],
            columns: vec![
                "№".into(),
                "Дата".into(),
                "Сумма".into(),
                "Примечание".into(),
            ],
            rows: vec![
                vec![
                    Cell::Int(1),
                    Cell::Date(NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()),
                    Cell::Money(dec!(106618.5)),
                    Cell::Text("=HYPERLINK(\"x\")".into()),
                ],
                vec![
                    Cell::Int(2),
                    Cell::Empty,
                    Cell::Money(dec!(-5)),
                    Cell::Text("a; \"b\"".into()),
                ],
            ],
        }
    }

    #[test]
    fn csv_is_what_russian_excel_opens_and_never_a_formula() {
        let text = String::from_utf8(csv(&table())).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].starts_with('\u{feff}'));
        assert_eq!(lines[1], "№;Дата;Сумма;Примечание");
        assert_eq!(
            lines[2],
            "1;10.03.2026;106618,50;\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(lines[3], "2;;-5,00;\"a; \"\"b\"\"\"");
    }

    #[test]
    fn xlsx_is_a_zip_with_the_sheet() {
        let bytes = xlsx(&[table()]).unwrap();
        assert!(bytes.starts_with(b"PK"));
        assert!(bytes.len() > 1000);
    }
}
