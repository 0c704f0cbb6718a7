//! A small PDF/A-1b writer: pages of positioned text in one embedded font, XMP metadata, a gray
//! output intent, a cross-reference table and a file identifier.

use crate::font;
use crate::icc;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// A4 in points.
pub const PAGE_WIDTH: f64 = 595.28;
pub const PAGE_HEIGHT: f64 = 841.89;

/// One line of text at a position (points from the bottom left).
#[derive(Debug, Clone)]
pub struct TextLine {
    pub x: f64,
    pub y: f64,
    pub size: f64,
    pub text: String,
}

/// One page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub lines: Vec<TextLine>,
}

impl Page {
    pub fn text(&mut self, x: f64, y: f64, size: f64, text: impl Into<String>) {
        self.lines.push(TextLine {
            x,
            y,
            size,
            text: text.into(),
        });
    }
}

/// The document's metadata (XMP).
#[derive(Debug, Clone)]
pub struct Meta {
    pub title: String,
    pub created: jiff::Timestamp,
}

/// A PDF literal string of WinAnsi bytes; everything outside printable ASCII is an octal escape.
fn literal(text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 2);
    s.push('(');
    for c in text.chars() {
        let b = font::byte_of(c);
        match b {
            b'(' | b')' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7E => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\{b:03o}");
            }
        }
    }
    s.push(')');
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn xmp(meta: &Meta) -> String {
    let created = meta.created.strftime("%Y-%m-%dT%H:%M:%SZ");
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
<rdf:Description rdf:about=\"\" xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\
<pdfaid:part>1</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>\n\
<rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
<dc:format>application/pdf</dc:format>\
<dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title></rdf:Description>\n\
<rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\">\
<xmp:CreateDate>{created}</xmp:CreateDate><xmp:ModifyDate>{created}</xmp:ModifyDate>\
<xmp:CreatorTool>minside</xmp:CreatorTool></rdf:Description>\n\
<rdf:Description rdf:about=\"\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\
<pdf:Producer>minside</pdf:Producer></rdf:Description>\n\
</rdf:RDF>\n</x:xmpmeta>\n<?xpacket end=\"w\"?>",
        title = xml_escape(&meta.title),
    )
}

struct Objects {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl Objects {
    fn begin(&mut self, id: usize) {
        if self.offsets.len() <= id {
            self.offsets.resize(id + 1, 0);
        }
        self.offsets[id] = self.out.len();
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }

    fn dict(&mut self, id: usize, body: &str) {
        self.begin(id);
        self.out.extend_from_slice(body.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }

    /// A stream object; `dict` holds the entries besides /Length.
    fn stream(&mut self, id: usize, dict: &str, data: &[u8]) {
        self.begin(id);
        self.out
            .extend_from_slice(format!("<< {dict} /Length {} >>\nstream\n", data.len()).as_bytes());
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }
}

fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Writes the document.
pub fn write(meta: &Meta, pages: &[Page]) -> Vec<u8> {
    // Fixed objects: 1 catalog, 2 page tree, 3 metadata, 4 output intent, 5 ICC profile,
    // 6 font, 7 font descriptor, 8 font file; then per page: the page and its content stream.
    const FIRST_PAGE: usize = 9;
    let mut o = Objects {
        out: Vec::with_capacity(64 * 1024),
        offsets: vec![0],
    };
    o.out.extend_from_slice(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n");
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| FIRST_PAGE + 2 * i).collect();
    o.dict(
        1,
        "<< /Type /Catalog /Pages 2 0 R /Metadata 3 0 R /OutputIntents [4 0 R] >>",
    );
    let kids: Vec<String> = page_ids.iter().map(|id| format!("{id} 0 R")).collect();
    o.dict(
        2,
        &format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        ),
    );
    o.stream(3, "/Type /Metadata /Subtype /XML", xmp(meta).as_bytes());
    o.dict(
        4,
        "<< /Type /OutputIntent /S /GTS_PDFA1 /OutputConditionIdentifier (Gray gamma 2.2) \
         /Info (minside Gray gamma 2.2) /DestOutputProfile 5 0 R >>",
    );
    o.stream(5, "/N 1", &icc::gray_profile());
    let m = font::metrics();
    let widths: Vec<String> = m.widths.iter().map(i64::to_string).collect();
    o.dict(
        6,
        &format!(
            "<< /Type /Font /Subtype /TrueType /BaseFont /DejaVuSans /FirstChar {} /LastChar {} \
             /Widths [{}] /Encoding /WinAnsiEncoding /FontDescriptor 7 0 R >>",
            font::FIRST_CHAR,
            font::LAST_CHAR,
            widths.join(" ")
        ),
    );
    o.dict(
        7,
        &format!(
            "<< /Type /FontDescriptor /FontName /DejaVuSans /Flags 32 /FontBBox [{} {} {} {}] \
             /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 8 0 R >>",
            m.bbox[0], m.bbox[1], m.bbox[2], m.bbox[3], m.ascent, m.descent, m.cap_height
        ),
    );
    let (program, length1) = font::program();
    o.stream(
        8,
        &format!("/Filter /FlateDecode /Length1 {length1}"),
        program,
    );
    for (page, id) in pages.iter().zip(&page_ids) {
        let mut content = String::new();
        for l in &page.lines {
            let _ = writeln!(
                content,
                "BT /F1 {} Tf {} {} Td {} Tj ET",
                num(l.size),
                num(l.x),
                num(l.y),
                literal(&l.text)
            );
        }
        o.dict(
            *id,
            &format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] \
                 /Resources << /Font << /F1 6 0 R >> >> /Contents {} 0 R >>",
                num(PAGE_WIDTH),
                num(PAGE_HEIGHT),
                id + 1
            ),
        );
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(content.as_bytes(), 6);
        o.stream(id + 1, "/Filter /FlateDecode", &packed);
    }
    let xref_at = o.out.len();
    let count = o.offsets.len();
    let mut xref = format!("xref\n0 {count}\n0000000000 65535 f \n");
    for off in &o.offsets[1..] {
        let _ = writeln!(xref, "{off:010} 00000 n ");
    }
    let digest = Sha256::digest(&o.out);
    let id: String = digest[..16].iter().map(|b| format!("{b:02X}")).collect();
    let _ = write!(
        xref,
        "trailer\n<< /Size {count} /Root 1 0 R /ID [<{id}> <{id}>] >>\nstartxref\n{xref_at}\n%%EOF\n"
    );
    o.out.extend_from_slice(xref.as_bytes());
    o.out
}

/// Breaks `text` into lines no wider than `max_width` at `size` (paragraphs kept, long words cut).
pub fn wrap(text: &str, size: f64, max_width: f64) -> Vec<String> {
    let fits = |s: &str| {
        let bytes: Vec<u8> = s.chars().map(font::byte_of).collect();
        font::width(&bytes, size) <= max_width
    };
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if fits(&candidate) {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut rest = word.to_owned();
            while !fits(&rest) {
                let mut cut = rest.chars().count().saturating_sub(1).max(1);
                while cut > 1 && !fits(&rest.chars().take(cut).collect::<String>()) {
                    cut -= 1;
                }
                lines.push(rest.chars().take(cut).collect());
                rest = rest.chars().skip(cut).collect();
            }
            line = rest;
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut p = Page::default();
        p.text(
            56.0,
            780.0,
            12.0,
            "Vedtak om barnehageplass (Ærlig) \\ – 50 %",
        );
        write(
            &Meta {
                title: "Utskrift <1>".into(),
                created: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            },
            &[p.clone(), p],
        )
    }

    #[test]
    fn the_file_declares_pdfa_1b_with_an_output_intent_and_an_embedded_font() {
        let pdf = sample();
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n"));
        assert!(
            text.contains("<pdfaid:part>1</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>")
        );
        assert!(text.contains("/S /GTS_PDFA1"));
        assert!(text.contains("/FontFile2 8 0 R"));
        assert!(text.contains("Utskrift &lt;1&gt;"));
        assert!(text.contains("/ID [<"));
        assert!(text.trim_end().ends_with("%%EOF"));
        // The metadata stream is not compressed (PDF/A-1 6.7.2).
        let meta_at = text.find("/Subtype /XML").unwrap();
        assert!(!text[meta_at - 40..meta_at].contains("Filter"));
    }

    #[test]
    fn the_cross_reference_table_points_at_every_object() {
        let pdf = sample();
        let find = |needle: &[u8]| {
            pdf.windows(needle.len())
                .rposition(|w| w == needle)
                .unwrap()
        };
        let tail = std::str::from_utf8(&pdf[find(b"startxref\n")..]).unwrap();
        let start: usize = tail.lines().nth(1).unwrap().parse().unwrap();
        let xref = std::str::from_utf8(&pdf[start..]).unwrap();
        assert!(xref.starts_with("xref\n0 "));
        let entries: Vec<&str> = xref
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .collect();
        assert_eq!(entries.len(), 8 + 2 * 2);
        for (i, e) in entries.iter().enumerate() {
            let off: usize = e[..10].parse().unwrap();
            assert!(
                pdf[off..].starts_with(format!("{} 0 obj\n", i + 1).as_bytes()),
                "object {}",
                i + 1
            );
        }
    }

    #[test]
    fn text_is_escaped_and_encoded_in_winansi() {
        assert_eq!(literal("a(b)\\"), "(a\\(b\\)\\\\)");
        assert_eq!(literal("Ærlig – ø"), "(\\306rlig \\226 \\370)");
    }

    #[test]
    fn wrapping_keeps_lines_within_the_width_and_keeps_every_word() {
        let text = "Du har fått tilbud om plass i Solsikken barnehage fra 1. august. \
                    Svar innen fristen.\n\nEtterpå: Superlangtordutenmellomromsomikkefårplasspåenlinjeialleverdenerlangtlangtlangt";
        let lines = wrap(text, 11.0, 200.0);
        for l in &lines {
            let bytes: Vec<u8> = l.chars().map(font::byte_of).collect();
            assert!(font::width(&bytes, 11.0) <= 200.0, "{l}");
        }
        assert_eq!(
            lines.concat().replace(' ', ""),
            text.replace([' ', '\n'], "")
        );
        assert!(
            lines.iter().any(String::is_empty),
            "the blank line between paragraphs stays"
        );
    }
}
