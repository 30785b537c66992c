//! A small PDF writer for the cabinet's documents: A4 pages, text in DejaVu Sans (regular and bold) embedded
//! as font subsets with a ToUnicode map (so Cyrillic renders everywhere and the text can be searched and
//! copied), ruled tables, and greyscale images (the payment QR code). Coordinates are in points from the
//! top-left corner of the page; a cursor flows paragraphs and tables down the page and opens new pages.
//!
//! The output is deterministic: the same document gives the same bytes, so a document is stored once by its
//! content hash however often it is generated.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

const REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A4 width, points.
pub const PAGE_WIDTH: f32 = 595.28;
/// A4 height, points.
pub const PAGE_HEIGHT: f32 = 841.89;
/// Page margin, points.
pub const MARGIN: f32 = 42.0;
/// Width between the margins.
pub const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;

/// Horizontal alignment of text in a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Left.
    Left,
    /// Centred.
    Center,
    /// Right.
    Right,
}

/// Regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// DejaVu Sans.
    Regular,
    /// DejaVu Sans Bold.
    Bold,
}

struct FontState {
    face: ttf_parser::Face<'static>,
    data: &'static [u8],
    base_name: &'static str,
    resource: &'static [u8],
    remapper: GlyphRemapper,
    /// New glyph id → the character it shows.
    unicode: BTreeMap<u16, char>,
}

impl FontState {
    fn new(data: &'static [u8], base_name: &'static str, resource: &'static [u8]) -> Self {
        let face = ttf_parser::Face::parse(data, 0).expect("the embedded font parses");
        Self {
            face,
            data,
            base_name,
            resource,
            remapper: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
        }
    }

    fn advance(&self, c: char) -> f32 {
        let gid = self.face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        f32::from(self.face.glyph_hor_advance(gid).unwrap_or(0))
            / f32::from(self.face.units_per_em())
    }

    /// The text encoded as two-byte CIDs of the subset (the glyphs are added to it).
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let old = self.face.glyph_index(c).map_or(0, |g| g.0);
            let new = self.remapper.remap(old);
            if old != 0 {
                self.unicode.entry(new).or_insert(c);
            }
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }
}

struct Image {
    resource: String,
    width: u32,
    height: u32,
    gray: Vec<u8>,
}

/// A document being written.
pub struct Doc {
    title: String,
    fonts: [FontState; 2],
    pages: Vec<Content>,
    images: Vec<(usize, Image)>,
    /// The cursor: distance from the top of the current page, points.
    pub y: f32,
}

impl Doc {
    /// A document with one empty page and the cursor at the top margin.
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_owned(),
            fonts: [
                FontState::new(REGULAR, "CABREG+DejaVuSans", b"F1"),
                FontState::new(BOLD, "CABBLD+DejaVuSans-Bold", b"F2"),
            ],
            pages: vec![Content::new()],
            images: Vec::new(),
            y: MARGIN,
        }
    }

    fn font(&self, w: Weight) -> &FontState {
        &self.fonts[w as usize]
    }

    fn page(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page")
    }

    /// Opens a new page and puts the cursor at its top margin.
    pub fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = MARGIN;
    }

    /// Opens a new page when fewer than `height` points are left above the bottom margin.
    pub fn ensure(&mut self, height: f32) {
        if self.y + height > PAGE_HEIGHT - MARGIN {
            self.new_page();
        }
    }

    /// The width of `text` at `size`.
    pub fn width(&self, text: &str, size: f32, weight: Weight) -> f32 {
        let f = self.font(weight);
        text.chars().map(|c| f.advance(c)).sum::<f32>() * size
    }

    /// Writes one line of text with its baseline `y` points from the top.
    pub fn text(&mut self, x: f32, y: f32, size: f32, weight: Weight, text: &str) {
        if text.is_empty() {
            return;
        }
        let resource = self.font(weight).resource;
        let encoded = self.fonts[weight as usize].encode(text);
        let page = self.page();
        page.begin_text();
        page.set_font(Name(resource), size);
        page.next_line(x, PAGE_HEIGHT - y);
        page.show(Str(&encoded));
        page.end_text();
    }

    /// Writes one line of text aligned in the box from `x` of `width` (`span`).
    pub fn text_in(
        &mut self,
        (x, width): (f32, f32),
        y: f32,
        size: f32,
        weight: Weight,
        align: Align,
        text: &str,
    ) {
        let w = self.width(text, size, weight);
        let x = match align {
            Align::Left => x,
            Align::Center => x + (width - w) / 2.0,
            Align::Right => x + width - w,
        };
        self.text(x, y, size, weight, text);
    }

    /// Breaks `text` into lines no wider than `width` (at spaces; a word longer than the line is cut).
    pub fn wrap(&self, text: &str, width: f32, size: f32, weight: Weight) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size, weight) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the line: cut it.
                let mut part = String::new();
                for c in word.chars() {
                    part.push(c);
                    if self.width(&part, size, weight) > width && part.chars().count() > 1 {
                        part.pop();
                        lines.push(std::mem::take(&mut part));
                        part.push(c);
                    }
                }
                line = part;
            }
            lines.push(line);
        }
        lines
    }

    /// Writes a paragraph at the cursor across `width` from `x`, and moves the cursor below it.
    pub fn paragraph_at(&mut self, x: f32, width: f32, size: f32, weight: Weight, text: &str) {
        let leading = size * 1.3;
        for line in self.wrap(text, width, size, weight) {
            self.ensure(leading);
            self.y += leading;
            self.text(x, self.y - size * 0.25, size, weight, &line);
        }
    }

    /// Writes a paragraph across the page at the cursor.
    pub fn paragraph(&mut self, size: f32, weight: Weight, text: &str) {
        self.paragraph_at(MARGIN, CONTENT_WIDTH, size, weight, text);
    }

    /// A centred line at the cursor.
    pub fn heading(&mut self, size: f32, text: &str) {
        let leading = size * 1.4;
        for line in self.wrap(text, CONTENT_WIDTH, size, Weight::Bold) {
            self.ensure(leading);
            self.y += leading;
            self.text_in(
                (MARGIN, CONTENT_WIDTH),
                self.y - size * 0.3,
                size,
                Weight::Bold,
                Align::Center,
                &line,
            );
        }
    }

    /// Moves the cursor down.
    pub fn space(&mut self, points: f32) {
        self.y += points;
    }

    /// A line from (x1, y1) to (x2, y2).
    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        let page = self.page();
        page.set_line_width(width);
        page.move_to(x1, PAGE_HEIGHT - y1);
        page.line_to(x2, PAGE_HEIGHT - y2);
        page.stroke();
    }

    /// A rectangle's outline.
    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        let page = self.page();
        page.set_line_width(width);
        page.rect(x, PAGE_HEIGHT - y - h, w, h);
        page.stroke();
    }

    /// A table at the cursor: rows of cells (text, weight, alignment) in columns of `widths`, every cell
    /// ruled, text wrapped within its cell. Rows that do not fit start a new page (the first `header_rows`
    /// are repeated there).
    pub fn table(&mut self, widths: &[f32], rows: &[Vec<Cell>], header_rows: usize, size: f32) {
        let leading = size * 1.25;
        let pad = 3.0;
        let header: Vec<Vec<Cell>> = rows.iter().take(header_rows).cloned().collect();
        let mut i = 0;
        while i < rows.len() {
            let row = &rows[i];
            let wrapped: Vec<Vec<String>> = row
                .iter()
                .zip(widths)
                .map(|(c, w)| self.wrap(&c.text, w - 2.0 * pad, size, c.weight))
                .collect();
            let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let height = lines as f32 * leading + 2.0 * pad;
            if self.y + height > PAGE_HEIGHT - MARGIN && i >= header_rows && self.y > MARGIN + 1.0 {
                self.new_page();
                for h in &header {
                    self.table(widths, std::slice::from_ref(h), 0, size);
                }
            }
            let top = self.y;
            let mut x = MARGIN;
            for ((cell, w), lines) in row.iter().zip(widths).zip(&wrapped) {
                self.rect(x, top, *w, height, 0.5);
                for (n, l) in lines.iter().enumerate() {
                    let baseline = top + pad + (n as f32 + 1.0) * leading - size * 0.3;
                    self.text_in(
                        (x + pad, w - 2.0 * pad),
                        baseline,
                        size,
                        cell.weight,
                        cell.align,
                        l,
                    );
                }
                x += w;
            }
            self.y = top + height;
            i += 1;
        }
    }

    /// A greyscale image (one byte per pixel, 0 black, 255 white) drawn `size` points wide at (x, y),
    /// scaled without smoothing.
    pub fn image(&mut self, x: f32, y: f32, size: f32, width: u32, height: u32, gray: Vec<u8>) {
        let resource = format!("Im{}", self.images.len() + 1);
        let h = size * height as f32 / width as f32;
        let page = self.page();
        page.save_state();
        page.transform([size, 0.0, 0.0, h, x, PAGE_HEIGHT - y - h]);
        page.x_object(Name(resource.as_bytes()));
        page.restore_state();
        let index = self.pages.len() - 1;
        self.images.push((
            index,
            Image {
                resource,
                width,
                height,
                gray,
            },
        ));
    }

    /// The PDF.
    pub fn finish(self) -> Vec<u8> {
        let mut next = 1;
        let mut alloc = || {
            let r = Ref::new(next);
            next += 1;
            r
        };
        let catalog = alloc();
        let tree = alloc();
        let info = alloc();
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.document_info(info)
            .title(TextStr(&self.title))
            .producer(TextStr("Leasing client cabinet"));

        // Fonts: a Type0 font over a CID font of the subset, each with its ToUnicode map.
        let mut font_refs = Vec::new();
        for f in &self.fonts {
            let type0 = alloc();
            font_refs.push((f.resource, type0));
            if f.remapper.num_gids() <= 1 {
                continue;
            }
            let cid = alloc();
            let descriptor = alloc();
            let file = alloc();
            let cmap = alloc();
            let base = Name(f.base_name.as_bytes());
            let system = SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"Identity"),
                supplement: 0,
            };
            pdf.type0_font(type0)
                .base_font(base)
                .encoding_predefined(Name(b"Identity-H"))
                .descendant_font(cid)
                .to_unicode(cmap);
            let upm = f32::from(f.face.units_per_em());
            let scale = |v: f32| v * 1000.0 / upm;
            let widths: Vec<f32> = f
                .remapper
                .remapped_gids()
                .map(|old| {
                    scale(f32::from(
                        f.face
                            .glyph_hor_advance(ttf_parser::GlyphId(old))
                            .unwrap_or(0),
                    ))
                })
                .collect();
            let mut c = pdf.cid_font(cid);
            c.subtype(CidFontType::Type2)
                .base_font(base)
                .system_info(system)
                .font_descriptor(descriptor)
                .default_width(0.0)
                .cid_to_gid_map_predefined(Name(b"Identity"));
            c.widths().consecutive(0, widths);
            c.finish();
            let b = f.face.global_bounding_box();
            pdf.font_descriptor(descriptor)
                .name(base)
                .flags(FontFlags::NON_SYMBOLIC)
                .bbox(Rect::new(
                    scale(f32::from(b.x_min)),
                    scale(f32::from(b.y_min)),
                    scale(f32::from(b.x_max)),
                    scale(f32::from(b.y_max)),
                ))
                .italic_angle(0.0)
                .ascent(scale(f32::from(f.face.ascender())))
                .descent(scale(f32::from(f.face.descender())))
                .cap_height(scale(f32::from(
                    f.face.capital_height().unwrap_or(f.face.ascender()),
                )))
                .stem_v(if f.resource == b"F2" { 140.0 } else { 80.0 })
                .font_file2(file);
            let subset = subsetter::subset(f.data, 0, &f.remapper).expect("the font subsets");
            let compressed = deflate(&subset);
            pdf.stream(file, &compressed).filter(Filter::FlateDecode);
            pdf.cmap(cmap, &to_unicode(&f.unicode));
        }

        let mut page_refs = Vec::new();
        let mut image_refs: Vec<(usize, String, Ref)> = Vec::new();
        for (page, img) in &self.images {
            let id = alloc();
            let data = deflate(&img.gray);
            let mut x = pdf.image_xobject(id, &data);
            x.filter(Filter::FlateDecode);
            x.width(img.width as i32)
                .height(img.height as i32)
                .bits_per_component(8);
            x.color_space().device_gray();
            x.finish();
            image_refs.push((*page, img.resource.clone(), id));
        }
        for (n, content) in self.pages.into_iter().enumerate() {
            let page_id = alloc();
            let content_id = alloc();
            page_refs.push(page_id);
            let mut page = pdf.page(page_id);
            page.media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
                .parent(tree)
                .contents(content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            for (name, id) in &font_refs {
                fonts.pair(Name(name), *id);
            }
            fonts.finish();
            let mut xobjects = resources.x_objects();
            for (_, name, id) in image_refs.iter().filter(|(p, _, _)| *p == n) {
                xobjects.pair(Name(name.as_bytes()), *id);
            }
            xobjects.finish();
            resources.finish();
            page.finish();
            let data = deflate(&content.finish());
            pdf.stream(content_id, &data).filter(Filter::FlateDecode);
        }
        let count = page_refs.len() as i32;
        pdf.pages(tree).kids(page_refs).count(count);
        pdf.finish()
    }
}

/// A ToUnicode CMap in the conventional form (bfchar ranges of at most 100 entries), mapping each glyph of
/// the subset to the character it shows, so readers can extract and search the text.
fn to_unicode(map: &BTreeMap<u16, char>) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<(&u16, &char)> = map.iter().collect();
    for chunk in entries.chunks(100) {
        s.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (gid, c) in chunk {
            let mut units = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut units)
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            s.push_str(&format!("<{gid:04X}> <{hex}>\n"));
        }
        s.push_str("endbfchar\n");
    }
    s.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    s.into_bytes()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// A table cell.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Text (wrapped within the cell).
    pub text: String,
    /// Weight.
    pub weight: Weight,
    /// Alignment.
    pub align: Align,
}

impl Cell {
    /// Left-aligned regular text.
    pub fn left(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            weight: Weight::Regular,
            align: Align::Left,
        }
    }

    /// Right-aligned regular text (amounts).
    pub fn right(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            weight: Weight::Regular,
            align: Align::Right,
        }
    }

    /// Centred regular text.
    pub fn center(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            weight: Weight::Regular,
            align: Align::Center,
        }
    }

    /// The same cell in bold.
    pub fn bold(mut self) -> Self {
        self.weight = Weight::Bold;
        self
    }
}
