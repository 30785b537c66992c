//! The payment QR code of ГОСТ Р 56042-2014 («Стандарты финансовых операций. Двумерные символы штрихового
//! кода для осуществления платежей физическими лицами»), which Russian banking apps read to fill a payment:
//! the header `ST0001` + the encoding (`2`, UTF-8) followed by `|Key=Value` pairs; the five required keys
//! first (Name, PersonalAcc, BankName, BIC, CorrespAcc), then the optional ones this cabinet fills (Sum in
//! kopecks, Purpose, PayeeINN, KPP).

use std::collections::BTreeMap;

use qrcode::{Color, EcLevel, QrCode};

/// The fields of a payment, as the standard names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Name: the payee (at most 160 characters).
    pub name: String,
    /// PersonalAcc: the payee's settlement account (20 digits).
    pub personal_acc: String,
    /// BankName: the payee's bank (at most 45 characters).
    pub bank_name: String,
    /// BIC: the bank's БИК (9 digits).
    pub bic: String,
    /// CorrespAcc: the bank's correspondent account (20 digits).
    pub corresp_acc: String,
    /// PayeeINN.
    pub payee_inn: String,
    /// KPP of the payee.
    pub kpp: Option<String>,
    /// Purpose (at most 210 characters).
    pub purpose: String,
    /// Sum, kopecks.
    pub sum_kopecks: i64,
}

fn clean(value: &str, max: usize) -> String {
    value
        .chars()
        .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .trim()
        .to_owned()
}

impl Payment {
    /// The text the code carries.
    pub fn payload(&self) -> String {
        let mut fields = vec![
            ("Name", clean(&self.name, 160)),
            ("PersonalAcc", clean(&self.personal_acc, 20)),
            ("BankName", clean(&self.bank_name, 45)),
            ("BIC", clean(&self.bic, 9)),
            ("CorrespAcc", clean(&self.corresp_acc, 20)),
            ("PayeeINN", clean(&self.payee_inn, 12)),
        ];
        if let Some(kpp) = &self.kpp {
            fields.push(("KPP", clean(kpp, 9)));
        }
        fields.push(("Purpose", clean(&self.purpose, 210)));
        fields.push(("Sum", self.sum_kopecks.to_string()));
        let mut out = String::from("ST00012");
        for (k, v) in fields {
            out.push('|');
            out.push_str(k);
            out.push('=');
            out.push_str(&v);
        }
        out
    }
}

/// Splits a payload into its fields; `None` when the header is not `ST0001` with a known encoding.
pub fn parse(payload: &str) -> Option<BTreeMap<String, String>> {
    let mut parts = payload.split('|');
    let header = parts.next()?;
    if !(header.len() == 7 && header.starts_with("ST0001")) {
        return None;
    }
    Some(
        parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// The QR code of `payload` as a greyscale image, one pixel per module with a quiet zone of four modules:
/// (side in pixels, pixels row by row, 0 black and 255 white).
///
/// # Panics
/// When the payload does not fit a QR code (the standard's field limits keep it far below that).
pub fn image(payload: &str) -> (u32, Vec<u8>) {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .expect("a payment payload fits a QR code");
    let n = code.width();
    let quiet = 4;
    let side = n + 2 * quiet;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in code.to_colors().into_iter().enumerate() {
        if c == Color::Dark {
            let (x, y) = (i % n + quiet, i / n + quiet);
            pixels[y * side + x] = 0;
        }
    }
    (side as u32, pixels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment() -> Payment {
        Payment {
            name: "ООО «Лизинг|Демо»".into(),
            personal_acc: "40702810900000000001".into(),
            bank_name: "ПАО Сбербанк".into(),
            bic: "044525225".into(),
            corresp_acc: "30101810400000000225".into(),
            payee_inn: "7701000001".into(),
            kpp: Some("770101001".into()),
            purpose: "Лизинговый платеж по договору лизинга № Л-1 от 01.02.2026, в т.ч. НДС 22%"
                .into(),
            sum_kopecks: 10661855,
        }
    }

    #[test]
    fn the_payload_has_the_standards_header_required_fields_first_and_no_stray_separators() {
        let p = payment().payload();
        assert!(p.starts_with("ST00012|Name=ООО «Лизинг Демо»|PersonalAcc=40702810900000000001|BankName=ПАО Сбербанк|BIC=044525225|CorrespAcc=30101810400000000225|"), "{p}");
        let fields = parse(&p).unwrap();
        assert_eq!(fields["Sum"], "10661855");
        assert_eq!(fields["PayeeINN"], "7701000001");
        assert_eq!(fields["KPP"], "770101001");
        assert_eq!(fields.len(), 9);
        assert!(parse("XX00012|Name=a").is_none());
    }

    #[test]
    fn the_image_decodes_back_to_the_payload() {
        let payload = payment().payload();
        let (side, pixels) = image(&payload);
        let scale = 6usize;
        let big = side as usize * scale;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(big, big, |x, y| {
            pixels[(y / scale) * side as usize + x / scale]
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(text, payload);
    }
}
