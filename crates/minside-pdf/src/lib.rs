//! PDF/A-1b documents for paper: a print batch is one file with, per letter, an address cover page
//! (for a window envelope) and the letter's text; the sender's own PDF documents follow each cover
//! page as separate files (see the manifest the print adapter writes).

mod font;
mod icc;
mod writer;

pub use writer::{wrap, write, Meta, Page, TextLine, PAGE_HEIGHT, PAGE_WIDTH};

use minside_core::letters::print::{PrintBatch, PrintItem};

const MARGIN: f64 = 56.7; // 20 mm
const BODY_SIZE: f64 = 11.0;
const LEADING: f64 = 15.0;
const BOTTOM: f64 = 72.0;

/// The rendered batch and, per letter, its first and last page (from 1).
#[derive(Debug, Clone)]
pub struct RenderedBatch {
    pub pdf: Vec<u8>,
    pub pages: Vec<(usize, usize)>,
}

/// Who sends the letters, printed at the top of every cover page.
#[derive(Debug, Clone)]
pub struct Sender {
    pub municipality: String,
    pub portal_url: String,
    /// The zone the letters' dates are written in (`letters.timezone`).
    pub timezone: jiff::tz::TimeZone,
}

fn date(tz: &jiff::tz::TimeZone, t: jiff::Timestamp) -> String {
    t.to_zoned(tz.clone()).strftime("%d.%m.%Y").to_string()
}

fn footer(page: &mut Page, batch: &PrintBatch, item: &PrintItem, of: usize) {
    page.text(
        MARGIN,
        36.0,
        7.0,
        format!(
            "Utskrift {} · brev {} av {} · {}",
            batch.public_id, item.sequence, of, item.public_id
        ),
    );
}

fn letter_pages(sender: &Sender, batch: &PrintBatch, item: &PrintItem) -> Vec<Page> {
    let of = batch.items.len();
    let width = PAGE_WIDTH - 2.0 * MARGIN;
    let mut cover = Page::default();
    let top = PAGE_HEIGHT - MARGIN;
    cover.text(MARGIN, top, 14.0, sender.municipality.clone());
    cover.text(MARGIN, top - 16.0, 9.0, item.sender_unit.clone());
    // The address window of a C5/E65 envelope: 20 mm from the left, 45–70 mm from the top.
    let window = PAGE_HEIGHT - 45.0 * 2.835 - 12.0;
    cover.text(MARGIN, window, 11.0, item.recipient.name.clone());
    cover.text(MARGIN, window - 14.0, 11.0, item.recipient.street.clone());
    cover.text(
        MARGIN,
        window - 28.0,
        11.0,
        format!("{} {}", item.recipient.postcode, item.recipient.city),
    );
    let mut y = PAGE_HEIGHT - 110.0 * 2.835;
    cover.text(
        PAGE_WIDTH - MARGIN - 120.0,
        y + 40.0,
        9.0,
        format!("Dato: {}", date(&sender.timezone, item.created_at)),
    );
    if let Some(a) = &item.archive_ref {
        cover.text(
            PAGE_WIDTH - MARGIN - 120.0,
            y + 28.0,
            9.0,
            format!("Saksnr.: {a}"),
        );
    }
    for line in wrap(&item.title, 14.0, width) {
        cover.text(MARGIN, y, 14.0, line);
        y -= 20.0;
    }
    y -= 6.0;
    let intro = format!(
        "Dette brevet ble sendt til deg digitalt på Min side ({}). Fordi det ikke er lest digitalt, \
         eller fordi du ikke kan få brev digitalt, får du det på papir.",
        sender.portal_url
    );
    for line in wrap(&intro, 9.0, width) {
        cover.text(MARGIN, y, 9.0, line);
        y -= 12.0;
    }
    y -= 10.0;
    let mut pages = vec![cover];
    for line in wrap(item.body.as_deref().unwrap_or_default(), BODY_SIZE, width) {
        if y < BOTTOM {
            pages.push(Page::default());
            y = PAGE_HEIGHT - MARGIN;
        }
        if let Some(page) = pages.last_mut() {
            page.text(MARGIN, y, BODY_SIZE, line);
        }
        y -= LEADING;
    }
    if !item.documents.is_empty() {
        if let Some(page) = pages.last_mut() {
            let names: Vec<&str> = item.documents.iter().map(|d| d.filename.as_str()).collect();
            page.text(
                MARGIN,
                (y - LEADING).max(BOTTOM - 20.0),
                9.0,
                format!("Vedlegg: {}", names.join(", ")),
            );
        }
    }
    for p in &mut pages {
        footer(p, batch, item, of);
    }
    pages
}

/// Renders a whole batch.
pub fn render_batch(sender: &Sender, batch: &PrintBatch) -> RenderedBatch {
    let mut pages = Vec::new();
    let mut ranges = Vec::with_capacity(batch.items.len());
    for item in &batch.items {
        let first = pages.len() + 1;
        pages.extend(letter_pages(sender, batch, item));
        ranges.push((first, pages.len()));
    }
    let pdf = write(
        &Meta {
            title: format!("Utskrift {}", batch.public_id),
            created: batch.created_at,
        },
        &pages,
    );
    RenderedBatch { pdf, pages: ranges }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minside_core::letters::print::PostalAddress;

    fn item(seq: i64, body: &str) -> PrintItem {
        PrintItem {
            sequence: seq,
            letter_id: seq,
            public_id: format!("letter-{seq}"),
            title: "Eigedomsskatt 2027".into(),
            sender_unit: "Eiendomsskattekontoret".into(),
            body: Some(body.into()),
            created_at: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            archive_ref: None,
            recipient: PostalAddress {
                name: "Åse Ødegård".into(),
                street: "Storgata 1".into(),
                postcode: "5003".into(),
                city: "BERGEN".into(),
            },
            documents: vec![],
        }
    }

    /// The cover's date is the letter's day in the configured zone: 08:00 UTC on 15 January is
    /// still the 14th in American Samoa.
    #[test]
    fn the_cover_dates_the_letter_in_the_configured_zone() {
        let batch = PrintBatch {
            id: 1,
            public_id: "b-1".into(),
            created_at: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            items: vec![item(1, "Kort.")],
        };
        for (zone, expected) in [
            ("Europe/Oslo", "Dato: 15.01.2027"),
            ("Pacific/Pago_Pago", "Dato: 14.01.2027"),
        ] {
            let sender = Sender {
                municipality: "Testkommune".into(),
                portal_url: "https://minside.test".into(),
                timezone: jiff::tz::TimeZone::get(zone).unwrap(),
            };
            let pages = super::letter_pages(&sender, &batch, &batch.items[0]);
            assert!(
                pages[0].lines.iter().any(|l| l.text == expected),
                "{zone}: {:?}",
                pages[0].lines.iter().map(|l| &l.text).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn each_letter_gets_a_cover_page_and_as_many_pages_as_its_text_needs() {
        let long = "Linje med tekst som går over flere sider. ".repeat(400);
        let batch = PrintBatch {
            id: 1,
            public_id: "b-1".into(),
            created_at: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            items: vec![item(1, "Kort."), item(2, &long)],
        };
        let r = render_batch(
            &Sender {
                municipality: "Testkommune".into(),
                portal_url: "https://minside.test".into(),
                timezone: jiff::tz::TimeZone::UTC,
            },
            &batch,
        );
        assert_eq!(r.pages[0], (1, 1));
        assert_eq!(r.pages[1].0, 2);
        assert!(
            r.pages[1].1 > 3,
            "a long letter continues on more pages: {:?}",
            r.pages
        );
        let text = String::from_utf8_lossy(&r.pdf);
        assert!(text.contains(&format!("/Count {}", r.pages[1].1)));
    }
}
