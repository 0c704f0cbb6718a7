//! Staff statistics: the numbers on the page, in the CSV, the API and the open dataset add up to
//! exactly what happened to the letters.

use crate::helpers::TestApp;
use crate::letters_delivery::resident;
use jiff::SignedDuration;
use minside_core::person::{CandidateGroup, LoginCandidate};
use minside_core::ports::{Clock, Store};
use serde_json::{json, Value};

async fn send(
    app: &TestApp,
    to: &LoginCandidate,
    unit: &str,
    sender_ref: &str,
    options: bool,
) -> String {
    let mut body = json!({"sender_ref": sender_ref, "recipient": {"fodselsnummer": to.fnr.as_str()},
        "title": "Melding", "sender_unit": unit, "body": "Tekst."});
    if options {
        body["response_options"] = json!([{"code": "accept", "label": "Ja"}]);
        body["response_deadline"] =
            json!((app.clock.now() + SignedDuration::from_hours(24 * 20)).to_string());
    }
    app.send_letter_ok(&body).await
}

/// Six letters in March 2027: three from Barnehage read after 10, 30 and 50 minutes (one of them
/// answered); three from Byggesak printed (two to a reserved resident at once, one unread at the
/// deadline).
async fn march_2027() -> TestApp {
    let app = TestApp::spawn().await;
    app.clock.set("2027-03-09T09:00:00Z".parse().unwrap());
    let kari = resident(&app, true).await;
    let reserved = app.first_candidate(CandidateGroup::Reserved).await;
    let b: Vec<String> = [
        send(&app, &kari, "Barnehage", "s-1", false).await,
        send(&app, &kari, "Barnehage", "s-2", true).await,
        send(&app, &kari, "Barnehage", "s-3", false).await,
    ]
    .into();
    send(&app, &reserved, "Byggesak", "s-4", false).await;
    send(&app, &reserved, "Byggesak", "s-5", false).await;
    send(&app, &kari, "Byggesak", "s-6", false).await;
    app.drain_jobs().await;
    app.clock.advance(SignedDuration::from_mins(10));
    app.read_letter(&kari.fnr, &b[0]).await;
    app.clock.advance(SignedDuration::from_mins(20));
    let answered = app.read_letter(&kari.fnr, &b[1]).await;
    app.store
        .answer_letter(answered, "accept", &kari.fnr, app.clock.now(), &[])
        .await
        .unwrap();
    app.clock.advance(SignedDuration::from_mins(20));
    app.read_letter(&kari.fnr, &b[2]).await;
    app.clock.advance(SignedDuration::from_hours(24 * 5));
    app.drain_jobs().await;
    app
}

const CSV: &str = "month,sender_unit,sent,read_digitally,printed,answered,median_minutes_to_read,money_saved_nok\r\n\
2027-03,Barnehage,3,3,0,1,30,66\r\n\
2027-03,Byggesak,3,0,3,0,,0\r\n";

#[tokio::test]
async fn the_api_counts_exactly_what_happened_and_the_money_saved() {
    let app = march_2027().await;
    let r = app
        .api_get(
            "/api/v1/statistics/letters?from=2027-02&to=2027-03",
            "minside:statistics.read",
        )
        .await;
    assert_eq!(r.status(), 200);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["saving_per_letter_nok"], 22);
    assert_eq!(
        s["rows"].as_array().unwrap().len(),
        2,
        "February had no letters"
    );
    assert_eq!(
        s["rows"][0],
        json!({"month": "2027-03", "sender_unit": "Barnehage", "sent": 3, "read_digitally": 3,
        "printed": 0, "answered": 1, "median_minutes_to_read": 30, "money_saved_nok": 66})
    );
    assert_eq!(s["rows"][1]["printed"], 3);
    assert_eq!(s["rows"][1]["median_minutes_to_read"], Value::Null);
    assert_eq!(
        s["totals"],
        json!({"sent": 6, "read_digitally": 3, "printed": 3, "answered": 1,
        "median_minutes_to_read": 30, "money_saved_nok": 66})
    );

    let bad = app
        .api_get(
            "/api/v1/statistics/letters?from=2027-03&to=2026-01",
            "minside:statistics.read",
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let no_scope = app
        .api_get("/api/v1/statistics/letters", "minside:letters.read")
        .await;
    assert_eq!(no_scope.status(), 403);
}

#[tokio::test]
async fn a_statistician_sees_the_table_the_csv_and_the_chart_and_the_public_gets_the_same_csv() {
    let app = march_2027().await;
    app.login_staff("statistikk").await;
    let (status, _, html) = app
        .get_html("/staff/statistikk?from=2027-03&to=2027-03")
        .await;
    assert_eq!(status, 200);
    for cell in [
        "<td>Barnehage</td>",
        "<td>66</td>",
        "<td>30</td>",
        "Brev fra 2027-03 til 2027-03",
        "22 kroner",
    ] {
        assert!(html.contains(cell), "{cell} in the page");
    }
    let csv = app
        .get("/staff/statistikk.csv?from=2027-03&to=2027-03")
        .await;
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert_eq!(csv.text().await.unwrap(), CSV);
    let svg = app
        .get("/staff/statistikk.svg?from=2027-03&to=2027-03")
        .await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("2027-03: 6 Sendt, 3 Lest digitalt, 3 Skrevet ut"),
        "{svg}"
    );

    let public = reqwest::get(app.url("/apne-data/brevstatistikk.csv?from=2027-03&to=2027-03"))
        .await
        .unwrap();
    assert_eq!(public.status(), 200);
    let public = public.text().await.unwrap();
    assert_eq!(public, CSV, "the open dataset holds the same aggregates");
    assert!(!public.contains(
        app.first_candidate(CandidateGroup::Reserved)
            .await
            .fnr
            .as_str()
    ));

    let (status, _, html) = app.get_html("/staff/statistikk?from=2027-13").await;
    assert_eq!(status, 400);
    assert!(html.contains("ÅÅÅÅ-MM"));
}

#[tokio::test]
async fn only_the_statistics_role_opens_the_statistics() {
    let app = TestApp::spawn().await;
    app.login_staff("saksbehandler").await;
    assert_eq!(app.get("/staff/statistikk").await.status(), 403);
    assert_eq!(app.get("/staff/statistikk.csv").await.status(), 403);
    let (_, _, home) = app.get_html("/staff").await;
    assert!(!home.contains("/staff/statistikk"));
}
