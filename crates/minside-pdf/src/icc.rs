//! A minimal ICC version 2 monochrome display profile (gamma 2.2, D50 white): the output intent
//! a PDF/A-1 file needs before it may paint in DeviceGray.

fn s15f16(v: f64) -> [u8; 4] {
    ((v * 65536.0).round() as i32).to_be_bytes()
}

fn pad4(b: &mut Vec<u8>) {
    while b.len() & 3 != 0 {
        b.push(0);
    }
}

/// `textDescriptionType` with an ASCII description and empty Unicode/ScriptCode parts.
fn desc(text: &str) -> Vec<u8> {
    let mut b = b"desc\0\0\0\0".to_vec();
    b.extend_from_slice(&(text.len() as u32 + 1).to_be_bytes());
    b.extend_from_slice(text.as_bytes());
    b.push(0);
    b.extend_from_slice(&[0; 8]); // Unicode language code and count
    b.extend_from_slice(&[0; 3]); // ScriptCode code and count
    b.extend_from_slice(&[0; 67]);
    b
}

fn xyz(x: f64, y: f64, z: f64) -> Vec<u8> {
    let mut b = b"XYZ \0\0\0\0".to_vec();
    for v in [x, y, z] {
        b.extend_from_slice(&s15f16(v));
    }
    b
}

fn text(t: &str) -> Vec<u8> {
    let mut b = b"text\0\0\0\0".to_vec();
    b.extend_from_slice(t.as_bytes());
    b.push(0);
    b
}

fn gamma_curve(gamma: f64) -> Vec<u8> {
    let mut b = b"curv\0\0\0\0".to_vec();
    b.extend_from_slice(&1u32.to_be_bytes());
    b.extend_from_slice(&((gamma * 256.0).round() as u16).to_be_bytes());
    b
}

/// The profile's bytes.
pub fn gray_profile() -> Vec<u8> {
    const D50: (f64, f64, f64) = (0.9642, 1.0, 0.8249);
    let tags: [(&[u8; 4], Vec<u8>); 4] = [
        (b"desc", desc("minside Gray gamma 2.2")),
        (b"wtpt", xyz(D50.0, D50.1, D50.2)),
        (b"cprt", text("No copyright, use freely")),
        (b"kTRC", gamma_curve(2.2)),
    ];
    let table_len = 4 + 12 * tags.len();
    let mut data = Vec::new();
    let mut entries = Vec::new();
    for (sig, body) in &tags {
        let offset = 128 + table_len + data.len();
        entries.push((*sig, offset as u32, body.len() as u32));
        data.extend_from_slice(body);
        pad4(&mut data);
    }
    let size = 128 + table_len + data.len();
    let mut h = Vec::with_capacity(size);
    h.extend_from_slice(&(size as u32).to_be_bytes());
    h.extend_from_slice(&[0; 4]); // preferred CMM
    h.extend_from_slice(&[2, 0x10, 0, 0]); // version 2.1.0
    h.extend_from_slice(b"mntr");
    h.extend_from_slice(b"GRAY");
    h.extend_from_slice(b"XYZ ");
    for v in [2026u16, 1, 1, 0, 0, 0] {
        h.extend_from_slice(&v.to_be_bytes());
    }
    h.extend_from_slice(b"acsp");
    h.extend_from_slice(&[0; 4]); // platform
    h.extend_from_slice(&[0; 4]); // flags
    h.extend_from_slice(&[0; 8]); // manufacturer, model
    h.extend_from_slice(&[0; 8]); // attributes
    h.extend_from_slice(&[0; 4]); // rendering intent: perceptual
    for v in [D50.0, D50.1, D50.2] {
        h.extend_from_slice(&s15f16(v));
    }
    h.extend_from_slice(&[0; 4]); // creator
    h.resize(128, 0);
    h.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    for (sig, offset, len) in entries {
        h.extend_from_slice(sig);
        h.extend_from_slice(&offset.to_be_bytes());
        h.extend_from_slice(&len.to_be_bytes());
    }
    h.extend_from_slice(&data);
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_a_version_2_monochrome_display_profile_of_its_own_size() {
        let p = gray_profile();
        assert_eq!(
            u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize,
            p.len()
        );
        assert_eq!(&p[8..10], &[2, 0x10]);
        assert_eq!(&p[12..24], b"mntrGRAYXYZ ");
        assert_eq!(&p[36..40], b"acsp");
        assert_eq!(u32::from_be_bytes([p[128], p[129], p[130], p[131]]), 4);
    }

    #[test]
    fn every_tag_points_inside_the_profile_on_a_four_byte_boundary() {
        let p = gray_profile();
        for i in 0..4 {
            let e = &p[132 + 12 * i..144 + 12 * i];
            let offset = u32::from_be_bytes([e[4], e[5], e[6], e[7]]) as usize;
            let len = u32::from_be_bytes([e[8], e[9], e[10], e[11]]) as usize;
            assert_eq!(offset % 4, 0);
            assert!(offset + len <= p.len());
            assert_eq!(
                &p[offset..offset + 4],
                [&b"desc"[..], b"XYZ ", b"text", b"curv"][i]
            );
        }
    }
}
