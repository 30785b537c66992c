//! Reading a generated PDF back, as a reader or a banking app would: its text (through the fonts' ToUnicode
//! maps) and the payloads of the QR codes in its images. For tests; the parsing is lopdf's and the QR
//! decoding rqrr's, independent of the writer.

/// The text of every page, pages separated by a form feed.
///
/// # Panics
/// When the bytes are not a PDF lopdf can read.
pub fn text(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    pages
        .iter()
        .map(|p| doc.extract_text(&[*p]).expect("the page's text"))
        .collect::<Vec<_>>()
        .join("\u{c}")
}

/// The payloads of the QR codes found in the PDF's greyscale images.
///
/// # Panics
/// When the bytes are not a PDF lopdf can read.
pub fn qr_codes(pdf: &[u8]) -> Vec<String> {
    let doc = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let mut found = Vec::new();
    for object in doc.objects.values() {
        let Ok(stream) = object.as_stream() else {
            continue;
        };
        let is_image = stream
            .dict
            .get(b"Subtype")
            .and_then(|s| s.as_name())
            .is_ok_and(|n| n == b"Image");
        if !is_image {
            continue;
        }
        let dim = |k: &[u8]| {
            stream
                .dict
                .get(k)
                .and_then(|v| v.as_i64())
                .expect("image dimensions") as usize
        };
        let (w, h) = (dim(b"Width"), dim(b"Height"));
        let pixels = stream
            .decompressed_content()
            .unwrap_or_else(|_| stream.content.clone());
        if pixels.len() < w * h {
            continue;
        }
        // Scale up as a renderer would, so the decoder sees modules several pixels wide.
        let scale = 6;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w * scale, h * scale, |x, y| {
            pixels[(y / scale) * w + x / scale]
        });
        for grid in img.detect_grids() {
            let mut bytes = Vec::new();
            if grid.decode_to(&mut bytes).is_ok() {
                found.push(String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    found
}
