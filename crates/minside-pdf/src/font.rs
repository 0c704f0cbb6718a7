//! The embedded font (DejaVu Sans, see fonts/LICENSE-DejaVu.txt) as a simple TrueType font with
//! WinAnsiEncoding: Norwegian letters, quotes and dashes fit in one byte per character.

use std::sync::OnceLock;

const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
pub const FIRST_CHAR: u8 = 32;
pub const LAST_CHAR: u8 = 255;

/// Windows-1252 bytes 0x80..=0x9F (0 where the code page leaves a hole).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// The character a WinAnsiEncoding byte shows, if any.
pub fn char_of(byte: u8) -> Option<char> {
    match byte {
        0x20..=0x7E | 0xA0..=0xFF => Some(char::from(byte)),
        0x80..=0x9F => match CP1252_HIGH[usize::from(byte - 0x80)] {
            0 => None,
            u => char::from_u32(u32::from(u)),
        },
        _ => None,
    }
}

/// The WinAnsiEncoding byte for a character; `?` for what the encoding cannot show.
pub fn byte_of(c: char) -> u8 {
    match c {
        ' '..='~' | '\u{A0}'..='\u{FF}' => c as u8,
        '\t' => b' ',
        _ => (0x80u8..=0x9F)
            .find(|b| char_of(*b) == Some(c))
            .unwrap_or(b'?'),
    }
}

/// Metrics in PDF glyph space (1/1000 of the font size).
#[derive(Debug)]
pub struct Metrics {
    pub widths: Vec<i64>,
    pub bbox: [i64; 4],
    pub ascent: i64,
    pub descent: i64,
    pub cap_height: i64,
}

/// The font program, parsed once.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let Ok(face) = ttf_parser::Face::parse(FONT, 0) else {
            // The font is compiled in and tested; an unreadable one is a build defect.
            return Metrics {
                widths: vec![500; usize::from(LAST_CHAR - FIRST_CHAR) + 1],
                bbox: [0, -250, 1000, 1000],
                ascent: 900,
                descent: -250,
                cap_height: 700,
            };
        };
        let scale = 1000.0 / f64::from(face.units_per_em());
        let s = |v: i16| (f64::from(v) * scale).round() as i64;
        let advance = |g: ttf_parser::GlyphId| {
            (f64::from(face.glyph_hor_advance(g).unwrap_or(0)) * scale).round() as i64
        };
        let notdef = advance(ttf_parser::GlyphId(0));
        let widths = (FIRST_CHAR..=LAST_CHAR)
            .map(|b| {
                char_of(b)
                    .and_then(|c| face.glyph_index(c))
                    .map_or(notdef, advance)
            })
            .collect();
        let b = face.global_bounding_box();
        Metrics {
            widths,
            bbox: [s(b.x_min), s(b.y_min), s(b.x_max), s(b.y_max)],
            ascent: s(face.ascender()),
            descent: s(face.descender()),
            cap_height: s(face.capital_height().unwrap_or(face.ascender())),
        }
    })
}

/// The font program compressed for the FontFile2 stream (once per process) and its length.
pub fn program() -> &'static (Vec<u8>, usize) {
    static P: OnceLock<(Vec<u8>, usize)> = OnceLock::new();
    P.get_or_init(|| {
        (
            miniz_oxide::deflate::compress_to_vec_zlib(FONT, 6),
            FONT.len(),
        )
    })
}

/// Width of encoded text at `size` points.
pub fn width(encoded: &[u8], size: f64) -> f64 {
    let m = metrics();
    let units: i64 = encoded
        .iter()
        .map(|b| {
            b.checked_sub(FIRST_CHAR)
                .and_then(|i| m.widths.get(usize::from(i)))
                .copied()
                .unwrap_or(0)
        })
        .sum();
    units as f64 * size / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norwegian_letters_and_typographic_marks_have_one_byte_each() {
        for (c, b) in [
            ('æ', 0xE6),
            ('ø', 0xF8),
            ('å', 0xE5),
            ('Å', 0xC5),
            ('–', 0x96),
            ('€', 0x80),
        ] {
            assert_eq!(byte_of(c), b, "{c}");
            assert_eq!(char_of(b), Some(c));
        }
        assert_eq!(byte_of('ŋ'), b'?');
    }

    #[test]
    fn every_encodable_character_has_a_glyph_in_the_embedded_font() {
        let face = ttf_parser::Face::parse(FONT, 0).unwrap();
        for b in FIRST_CHAR..=LAST_CHAR {
            if let Some(c) = char_of(b) {
                assert!(face.glyph_index(c).is_some(), "no glyph for {c:?}");
            }
        }
        assert!(
            metrics().widths[usize::from(b'W' - FIRST_CHAR)]
                > metrics().widths[usize::from(b'i' - FIRST_CHAR)]
        );
    }
}
