//! PDF documents the platform hands out (receipts, result notices): an A4 sheet of titled
//! fields, an optional QR code that links back to the platform, notes and a footer.
//!
//! Text is set in the CJK font `font` found, subset to the glyphs the document uses and
//! embedded (TrueType outlines as `CIDFontType2`, CFF as `CIDFontType0` in an OpenType
//! stream), with a `ToUnicode` map so the text can be searched and copied. Without a font the
//! document names Adobe's `STSong-Light`, which readers supply themselves.

pub mod font;

use flate2::{write::ZlibEncoder, Compression};
use pdf_writer::types::{ActionType, AnnotationType, CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;
use std::io::Write;

/// One document: a title, rows of fields, an optional QR code, notes and a footer.
#[derive(Debug, Clone, Default)]
pub struct Doc {
    pub title: String,
    /// Under the title, smaller: who issues the document.
    pub issuer: String,
    pub rows: Vec<Row>,
    pub qr: Option<Qr>,
    /// Paragraphs after the rows (what happens next, how to ask).
    pub notes: Vec<String>,
    /// At the foot of every page.
    pub footer: String,
}

#[derive(Debug, Clone)]
pub enum Row {
    /// A label and its value; long values wrap.
    Field(String, String),
    /// A heading between groups of fields.
    Heading(String),
    /// A label with a ruled space to write in by hand (a blank form).
    Blank(String),
    /// A box to tick and its text (a checklist of materials).
    Check(String),
}

/// A QR code and its caption; the code's area links to the same address.
#[derive(Debug, Clone)]
pub struct Qr {
    pub url: String,
    pub caption: String,
}

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 56.0;
const LABEL_W: f32 = 120.0;
const BODY: f32 = 11.0;
const LEAD: f32 = 18.0;
const QR_SIZE: f32 = 108.0;
/// Pixels per QR module in the image (a reader scales it; whole pixels keep the edges sharp).
const QR_PX: usize = 4;

/// Sets the document with the process's font (`font::current`).
pub fn render(doc: &Doc) -> Vec<u8> {
    let mut setter = Setter::new(font::current());
    let mut pages: Vec<Content> = Vec::new();
    let mut page = Content::new();
    let mut y = PAGE_H - MARGIN - 20.0;

    setter.centered(&mut page, &doc.title, 20.0, y);
    y -= 24.0;
    if !doc.issuer.is_empty() {
        setter.centered(&mut page, &doc.issuer, 10.5, y);
        y -= 14.0;
    }
    rule(&mut page, y);
    y -= LEAD + 4.0;

    let value_w = PAGE_W - 2.0 * MARGIN - LABEL_W;
    for row in &doc.rows {
        let (lines, heading) = match row {
            Row::Field(_, value) => (setter.wrap(value, BODY, value_w), false),
            Row::Check(text) => (setter.wrap(text, BODY, value_w + LABEL_W - 18.0), false),
            Row::Heading(_) | Row::Blank(_) => {
                (vec![String::new()], matches!(row, Row::Heading(_)))
            }
        };
        let need = LEAD * lines.len() as f32 + if heading { 8.0 } else { 0.0 };
        if y - need < MARGIN + 40.0 {
            pages.push(std::mem::replace(&mut page, Content::new()));
            y = PAGE_H - MARGIN - 20.0;
        }
        match row {
            Row::Heading(text) => {
                y -= 6.0;
                setter.text(&mut page, text, 12.5, MARGIN, y);
                y -= LEAD + 2.0;
            }
            Row::Field(label, _) => {
                page.set_fill_gray(0.35);
                setter.text(&mut page, label, BODY, MARGIN, y);
                page.set_fill_gray(0.0);
                for line in &lines {
                    setter.text(&mut page, line, BODY, MARGIN + LABEL_W, y);
                    y -= LEAD;
                }
            }
            Row::Blank(label) => {
                setter.text(&mut page, label, BODY, MARGIN, y);
                // The line to write on starts after the label, however long it is.
                let start = (MARGIN + LABEL_W).max(MARGIN + setter.width(label, BODY) + 6.0);
                page.set_stroke_gray(0.5);
                page.set_line_width(0.5);
                page.move_to(start, y - 3.0);
                page.line_to(PAGE_W - MARGIN, y - 3.0);
                page.stroke();
                y -= LEAD + 8.0;
            }
            Row::Check(_) => {
                page.set_stroke_gray(0.2);
                page.set_line_width(0.7);
                page.rect(MARGIN, y - 1.5, 9.0, 9.0);
                page.stroke();
                for line in &lines {
                    setter.text(&mut page, line, BODY, MARGIN + 18.0, y);
                    y -= LEAD;
                }
            }
        }
    }

    let mut qr_at = None;
    if let Some(qr) = &doc.qr {
        let need = QR_SIZE + 40.0;
        if y - need < MARGIN + 40.0 {
            pages.push(std::mem::replace(&mut page, Content::new()));
            y = PAGE_H - MARGIN - 20.0;
        }
        y -= 8.0;
        let x = (PAGE_W - QR_SIZE) / 2.0;
        page.save_state();
        page.transform([QR_SIZE, 0.0, 0.0, QR_SIZE, x, y - QR_SIZE]);
        page.x_object(Name(b"Qr"));
        page.restore_state();
        qr_at = Some((pages.len(), Rect::new(x, y - QR_SIZE, x + QR_SIZE, y)));
        y -= QR_SIZE + 16.0;
        setter.centered(&mut page, &qr.caption, 9.5, y);
        y -= LEAD + 6.0;
    }

    if !doc.notes.is_empty() {
        y -= 6.0;
    }
    for note in &doc.notes {
        let lines = setter.wrap(note, 10.0, PAGE_W - 2.0 * MARGIN);
        if y - LEAD * (lines.len() as f32) < MARGIN + 40.0 {
            pages.push(std::mem::replace(&mut page, Content::new()));
            y = PAGE_H - MARGIN - 20.0;
        }
        for line in &lines {
            setter.text(&mut page, line, 10.0, MARGIN, y);
            y -= 16.0;
        }
        y -= 4.0;
    }
    pages.push(page);

    // The footer on every page, with the page number when there are several.
    let count = pages.len();
    for (i, page) in pages.iter_mut().enumerate() {
        let foot = if count > 1 {
            format!("{}    {}/{}", doc.footer, i + 1, count)
        } else {
            doc.footer.clone()
        };
        page.set_fill_gray(0.4);
        setter.centered(page, &foot, 8.5, MARGIN - 20.0);
    }
    assemble(doc, setter, pages, qr_at)
}

fn rule(page: &mut Content, y: f32) {
    page.set_stroke_gray(0.6);
    page.set_line_width(0.6);
    page.move_to(MARGIN, y);
    page.line_to(PAGE_W - MARGIN, y);
    page.stroke();
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(data);
    z.finish().unwrap_or_default()
}

fn assemble(
    doc: &Doc,
    setter: Setter,
    pages: Vec<Content>,
    qr_at: Option<(usize, Rect)>,
) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut id = || {
        next += 1;
        Ref::new(next - 1)
    };
    let catalog = id();
    let tree = id();
    let info = id();
    let font_id = id();
    let qr_id = id();
    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (id(), id())).collect();
    let link_id = id();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().map(|(p, _)| *p))
        .count(page_ids.len() as i32);
    let mut meta = pdf.document_info(info);
    meta.title(TextStr(&doc.title));
    meta.creator(TextStr("Tongban"));
    meta.finish();

    for (i, ((page_id, content_id), content)) in page_ids.iter().zip(pages).enumerate() {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
        page.parent(tree);
        page.contents(*content_id);
        let mut resources = page.resources();
        resources.fonts().pair(Name(b"F1"), font_id);
        if doc.qr.is_some() {
            resources.x_objects().pair(Name(b"Qr"), qr_id);
        }
        resources.finish();
        if let Some((_, _)) = qr_at.filter(|(on, _)| *on == i) {
            page.annotations([link_id]);
        }
        page.finish();
        let data = deflate(&content.finish());
        pdf.stream(*content_id, &data).filter(Filter::FlateDecode);
    }

    if let (Some(qr), Some((_, rect))) = (&doc.qr, qr_at) {
        let (side, pixels) = qr_pixels(&qr.url);
        let data = deflate(&pixels);
        let mut image = pdf.image_xobject(qr_id, &data);
        image.filter(Filter::FlateDecode);
        image.width(side as i32);
        image.height(side as i32);
        image.color_space().device_gray();
        image.bits_per_component(8);
        image.finish();
        let mut link = pdf.annotation(link_id);
        link.subtype(AnnotationType::Link);
        link.rect(rect);
        link.border(0.0, 0.0, 0.0, None);
        link.action()
            .action_type(ActionType::Uri)
            .uri(Str(qr.url.as_bytes()));
        link.finish();
    }
    setter.write_font(&mut pdf, font_id, &mut id);
    pdf.finish()
}

/// The QR code of `url` as an SVG image for a page (one path of dark modules, a quiet zone
/// of four), labelled `label` for screen readers.
pub fn qr_svg(url: &str, label: &str) -> String {
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .or_else(|_| qrcode::QrCode::new(b"-"))
        .expect("a one-byte QR code always fits");
    let modules = code.width();
    let colors = code.to_colors();
    let mut d = String::new();
    for my in 0..modules {
        for mx in 0..modules {
            if colors[my * modules + mx] == qrcode::Color::Dark {
                d.push_str(&format!("M{} {}h1v1h-1z", mx + 4, my + 4));
            }
        }
    }
    let side = modules + 8;
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" role=\"img\" aria-label=\"{}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path d=\"{d}\" fill=\"#000\"/></svg>",
        esc(label)
    )
}

/// The QR code as 8-bit grey pixels, a quiet zone of four modules around it.
fn qr_pixels(url: &str) -> (usize, Vec<u8>) {
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .or_else(|_| qrcode::QrCode::new(b"-"))
        .expect("a one-byte QR code always fits");
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 8) * QR_PX;
    let mut pixels = vec![255u8; side * side];
    for my in 0..modules {
        for mx in 0..modules {
            if colors[my * modules + mx] == qrcode::Color::Dark {
                for py in 0..QR_PX {
                    let row = ((my + 4) * QR_PX + py) * side;
                    let start = row + (mx + 4) * QR_PX;
                    pixels[start..start + QR_PX].fill(0);
                }
            }
        }
    }
    (side, pixels)
}

/// Encodes text for the one font of a document and remembers the glyphs it used.
struct Setter {
    font: Option<(&'static font::Loaded, ttf_parser::Face<'static>)>,
    remap: subsetter::GlyphRemapper,
    /// New glyph id → the character it shows (for ToUnicode).
    chars: BTreeMap<u16, char>,
}

impl Setter {
    fn new(loaded: Option<&'static font::Loaded>) -> Setter {
        let font = loaded.and_then(|l| {
            ttf_parser::Face::parse(&l.data, l.index)
                .ok()
                .map(|face| (l, face))
        });
        let mut remap = subsetter::GlyphRemapper::new();
        remap.remap(0);
        Setter {
            font,
            remap,
            chars: BTreeMap::new(),
        }
    }

    /// Width of one character in thousandths of the font size.
    fn advance(&self, c: char) -> f32 {
        match &self.font {
            Some((_, face)) => {
                let gid = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                let adv = face.glyph_hor_advance(gid).unwrap_or(0) as f32;
                adv * 1000.0 / face.units_per_em() as f32
            }
            None if c.is_ascii() => 500.0,
            None => 1000.0,
        }
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars().map(|c| self.advance(c)).sum::<f32>() * size / 1000.0
    }

    /// Breaks text into lines no wider than `max`: at spaces where a line has them, else
    /// anywhere (Chinese has no spaces to break at); explicit newlines are kept.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut out = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            let mut width = 0.0;
            for c in para.chars() {
                let w = self.advance(c) * size / 1000.0;
                if width + w > max && !line.is_empty() {
                    let cut = line
                        .rfind(' ')
                        .filter(|&i| i > 0 && line.is_ascii())
                        .unwrap_or(line.len());
                    let rest = line.split_off(cut);
                    out.push(std::mem::take(&mut line));
                    line = rest.trim_start().to_owned();
                    width = self.width(&line, size);
                }
                line.push(c);
                width += w;
            }
            out.push(line);
        }
        out
    }

    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            match &self.font {
                Some((_, face)) => {
                    let gid = face.glyph_index(c).map_or(0, |g| g.0);
                    let new = self.remap.remap(gid);
                    if gid != 0 {
                        self.chars.entry(new).or_insert(c);
                    }
                    out.extend_from_slice(&new.to_be_bytes());
                }
                None => {
                    let unit = u16::try_from(u32::from(c)).unwrap_or(u16::from(b'?'));
                    out.extend_from_slice(&unit.to_be_bytes());
                }
            }
        }
        out
    }

    fn text(&mut self, page: &mut Content, text: &str, size: f32, x: f32, y: f32) {
        let bytes = self.encode(text);
        page.begin_text();
        page.set_font(Name(b"F1"), size);
        page.next_line(x, y);
        page.show(Str(&bytes));
        page.end_text();
    }

    fn centered(&mut self, page: &mut Content, text: &str, size: f32, y: f32) {
        let x = ((PAGE_W - self.width(text, size)) / 2.0).max(MARGIN);
        self.text(page, text, size, x, y);
    }

    fn write_font(self, pdf: &mut Pdf, font_id: Ref, id: &mut impl FnMut() -> Ref) {
        let cid_id = id();
        let descriptor_id = id();
        let Some((loaded, face)) = self.font else {
            standard_font(pdf, font_id, cid_id, descriptor_id);
            return;
        };
        let unicode_id = id();
        let file_id = id();
        let scale = 1000.0 / face.units_per_em() as f32;
        let cff = face.tables().glyf.is_none();
        let tag = subset_tag(&self.chars);
        let base = format!("{tag}+{}", postscript_name(&face, &loaded.name));

        pdf.type0_font(font_id)
            .base_font(Name(base.as_bytes()))
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_id)
            .to_unicode(unicode_id);

        let mut cid = pdf.cid_font(cid_id);
        cid.subtype(if cff {
            CidFontType::Type0
        } else {
            CidFontType::Type2
        });
        cid.base_font(Name(base.as_bytes()));
        cid.system_info(SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"Identity"),
            supplement: 0,
        });
        cid.font_descriptor(descriptor_id);
        cid.default_width(1000.0);
        let widths: Vec<f32> = self
            .remap
            .remapped_gids()
            .map(|old| {
                face.glyph_hor_advance(ttf_parser::GlyphId(old))
                    .unwrap_or(0) as f32
                    * scale
            })
            .collect();
        cid.widths().consecutive(0, widths);
        if !cff {
            cid.cid_to_gid_map_predefined(Name(b"Identity"));
        }
        cid.finish();

        let bbox = face.global_bounding_box();
        let mut descriptor = pdf.font_descriptor(descriptor_id);
        descriptor
            .name(Name(base.as_bytes()))
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(
                bbox.x_min as f32 * scale,
                bbox.y_min as f32 * scale,
                bbox.x_max as f32 * scale,
                bbox.y_max as f32 * scale,
            ))
            .italic_angle(0.0)
            .ascent(face.ascender() as f32 * scale)
            .descent(face.descender() as f32 * scale)
            .cap_height(face.capital_height().unwrap_or(face.ascender()) as f32 * scale)
            .stem_v(80.0);
        if cff {
            descriptor.font_file3(file_id);
        } else {
            descriptor.font_file2(file_id);
        }
        descriptor.finish();

        let mut cmap = pdf_writer::types::UnicodeCmap::new(
            Name(b"Custom"),
            SystemInfo {
                registry: Str(b"Adobe"),
                ordering: Str(b"UCS"),
                supplement: 0,
            },
        );
        for (gid, c) in &self.chars {
            cmap.pair(*gid, *c);
        }
        pdf.cmap(unicode_id, &cmap.finish());

        // A font that cannot be subset is embedded whole rather than not at all.
        let data = subsetter::subset(&loaded.data, loaded.index, &self.remap)
            .unwrap_or_else(|_| loaded.data.clone());
        let data = deflate(&data);
        let mut stream = pdf.stream(file_id, &data);
        stream.filter(Filter::FlateDecode);
        if cff {
            stream.pair(Name(b"Subtype"), Name(b"OpenType"));
        }
    }
}

/// Adobe's standard Simplified Chinese font, not embedded: readers bring their own.
fn standard_font(pdf: &mut Pdf, font_id: Ref, cid_id: Ref, descriptor_id: Ref) {
    pdf.type0_font(font_id)
        .base_font(Name(b"STSong-Light"))
        .encoding_predefined(Name(b"UniGB-UCS2-H"))
        .descendant_font(cid_id);
    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type0);
    cid.base_font(Name(b"STSong-Light"));
    cid.system_info(SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"GB1"),
        supplement: 2,
    });
    cid.font_descriptor(descriptor_id);
    cid.default_width(1000.0);
    cid.widths().same(1, 95, 500.0);
    cid.finish();
    pdf.font_descriptor(descriptor_id)
        .name(Name(b"STSong-Light"))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(-25.0, -254.0, 1000.0, 880.0))
        .italic_angle(0.0)
        .ascent(880.0)
        .descent(-120.0)
        .cap_height(880.0)
        .stem_v(93.0);
}

/// Six capital letters naming the subset, derived from the glyphs in it (PDF 32000 9.6.4).
fn subset_tag(chars: &BTreeMap<u16, char>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (g, c) in chars {
        for b in g
            .to_be_bytes()
            .into_iter()
            .chain(u32::from(*c).to_be_bytes())
        {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
        .collect()
}

fn postscript_name(face: &ttf_parser::Face, fallback: &str) -> String {
    let name = face
        .names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .find_map(|n| n.to_string())
        .unwrap_or_else(|| fallback.to_owned());
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if clean.is_empty() {
        "CJK".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests;
