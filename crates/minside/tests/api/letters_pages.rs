//! The resident's messages: inbox, letter page with read receipt, documents, filters, search,
//! pagination, archive and mark-as-unread.

use crate::helpers::{form_value, TestApp};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use minside_core::person::{CandidateGroup, LoginCandidate};
use serde_json::{json, Value};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

/// Sends a letter through the API and returns its id.
async fn send(app: &TestApp, to: &LoginCandidate, sender_ref: &str, extra: Value) -> String {
    let mut body = json!({
        "sender_ref": sender_ref,
        "recipient": {"fodselsnummer": to.fnr.as_str()},
        "title": format!("Brev {sender_ref}"),
        "sender_unit": "Barnehageetaten",
        "body": "Første avsnitt.\n\nAndre avsnitt.",
        "documents": [{"filename": "vedtak.pdf", "mime_type": "application/pdf", "content_base64": STANDARD.encode(PDF)}],
        "archive_ref": {"saksaar": 2026, "sekvensnummer": 77, "journalpostnummer": 3}
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let res = app.post_letter(&body).await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Posts an answer to `url` (`…/svar`): the first step, or the confirmed one.
async fn answer(
    app: &TestApp,
    url: &str,
    csrf: &str,
    option: &str,
    confirm: bool,
) -> reqwest::Response {
    let mut form = vec![("csrf", csrf), ("option", option)];
    if confirm {
        form.push(("confirm", "yes"));
    }
    app.client.post(url).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn a_letter_shows_up_unread_and_opening_it_records_one_read_receipt() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let id = send(&app, &kari, "2026/77-3", json!({})).await;
    let dashboard = app
        .login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("Uleste meldinger: 1"), "{dashboard}");
    let (_, _, inbox) = app.get_html("/min-side/meldinger").await;
    assert!(inbox.contains("<strong>Brev 2026/77-3</strong>") && inbox.contains("Ulest"));
    assert!(
        inbox.contains(&format!("Innlogget som {}", kari.name)),
        "the header names the resident"
    );

    let (status_code, _, page) = app.get_html(&format!("/min-side/meldinger/{id}")).await;
    assert_eq!(status_code, 200);
    assert!(
        page.contains("Første avsnitt.")
            && page.contains("Andre avsnitt.")
            && page.contains("2026/77-3")
            && page.contains("vedtak.pdf")
    );
    let s = app.letter_status(&id).await;
    assert_eq!(s["status"], "LEST");
    app.get_html(&format!("/min-side/meldinger/{id}")).await;
    let s = app.letter_status(&id).await;
    let reads = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "read")
        .count();
    assert_eq!(reads, 1, "read is recorded once: {s}");
    let (_, _, inbox) = app.get_html("/min-side/meldinger").await;
    assert!(
        !inbox.contains("<strong>Brev 2026/77-3</strong>"),
        "no longer unread"
    );
}

/// A failure the resident cannot fix (here the document's file is gone from the blob store) is
/// a 500 with the error page in the resident's language, the code to quote (the operation id of
/// the log line with the cause), and the same security headers as every other page.
#[tokio::test]
async fn a_failed_request_gets_the_error_page_in_the_residents_language() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let id = send(&app, &kari, "lost-1", json!({})).await;
    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    for entry in std::fs::read_dir(&app.config.blob_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
    for (lang, title, body) in [
        ("nn", "Noko gjekk gale", "Oppgi koden "),
        ("en", "Something went wrong", "Quote the code "),
    ] {
        app.get(&format!("/lang/{lang}")).await;
        let res = app
            .get(&format!("/min-side/meldinger/{id}/dokumenter/0"))
            .await;
        assert_eq!(res.status(), 500);
        let headers = res.headers().clone();
        let html = res.text().await.unwrap();
        assert!(
            html.contains(&format!("<html lang=\"{lang}\"")) && html.contains(title),
            "{html}"
        );
        let code = html
            .split_once(body)
            .map(|(_, rest)| {
                // The operation id: ten characters of a base64url token.
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(code, 10, "the page gives a code to quote: {html}");
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'"));
        assert_eq!(headers["cache-control"], "no-store");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "plain http"
        );
    }
    // An HTTP/2 client may send each cookie in a header of its own: the language is found in
    // whichever of them holds it.
    app.get("/lang/nn").await;
    let url = reqwest::Url::parse(&app.url("/")).unwrap();
    let jar = reqwest::cookie::CookieStore::cookies(app.jar.as_ref(), &url).unwrap();
    let jar = jar.to_str().unwrap();
    let mut split = reqwest::header::HeaderMap::new();
    let mut pairs: Vec<&str> = jar.split("; ").collect();
    // The language cookie in the last header (a first header was all the error page looked at).
    pairs.sort_by_key(|pair| pair.starts_with("lang="));
    for pair in pairs {
        split.append(reqwest::header::COOKIE, pair.parse().unwrap());
    }
    assert!(
        split.get_all(reqwest::header::COOKIE).iter().count() >= 2,
        "{jar}"
    );
    let res = reqwest::Client::new()
        .get(app.url(&format!("/min-side/meldinger/{id}/dokumenter/0")))
        .headers(split)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"nn\"") && html.contains("Noko gjekk gale"),
        "{html}"
    );
}

#[tokio::test]
async fn documents_download_as_stored_and_nobody_else_can_open_the_letter() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let other = app.first_candidate(CandidateGroup::Elderly).await;
    let id = send(&app, &kari, "doc-1", json!({})).await;
    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    let doc = app
        .get(&format!("/min-side/meldinger/{id}/dokumenter/0"))
        .await;
    assert_eq!(doc.status(), 200);
    assert_eq!(doc.headers()["content-type"], "application/pdf");
    assert!(doc.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("vedtak.pdf"));
    assert_eq!(doc.bytes().await.unwrap().as_ref(), PDF);
    assert_eq!(
        app.get(&format!("/min-side/meldinger/{id}/dokumenter/9"))
            .await
            .status(),
        404
    );

    app.login_citizen(Some(other.fnr.as_str()), "idporten-loa-high")
        .await;
    assert_eq!(
        app.get(&format!("/min-side/meldinger/{id}")).await.status(),
        404
    );
    assert_eq!(
        app.get(&format!("/min-side/meldinger/{id}/dokumenter/0"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.letter_status(&id).await["status"],
        "AKSEPTERT",
        "another person's attempt is not a read"
    );
}

#[tokio::test]
async fn a_sensitive_letter_asks_a_substantial_session_to_step_up() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Owner).await;
    let id = send(&app, &kari, "sensitive-1", json!({"sensitive": true})).await;
    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    let (_, url, html) = app.get_html(&format!("/min-side/meldinger/{id}")).await;
    assert!(
        url.contains("/test-idp/authorize") && url.contains("acr_values=idporten-loa-high"),
        "{url}"
    );
    assert_eq!(
        app.letter_status(&id).await["status"],
        "AKSEPTERT",
        "not read before the step-up"
    );
    let res = app
        .pick_person(&html, Some(kari.fnr.as_str()), "idporten-loa-high")
        .await;
    assert!(res
        .url()
        .path()
        .ends_with(&format!("/min-side/meldinger/{id}")));
    assert_eq!(app.letter_status(&id).await["status"], "LEST");
}

#[tokio::test]
async fn filters_and_title_search_find_the_right_letters() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    send(&app, &kari, "plain", json!({"title": "Eiendomsskatt 2027"})).await;
    send(
        &app,
        &kari,
        "offer",
        json!({"title": "Tilbud om barnehageplass", "response_options": [{"code": "accept", "label": "Ta imot"}],
               "response_deadline": "2099-01-01T00:00:00Z"}),
    )
    .await;
    let archived = send(&app, &kari, "old", json!({"title": "Gammelt vedtak"})).await;
    let html = app
        .login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await
        .text()
        .await
        .unwrap();
    let csrf = form_value(&html, "csrf").unwrap();
    let res = app
        .client
        .post(app.url(&format!("/min-side/meldinger/{archived}")))
        .form(&[("csrf", csrf.as_str()), ("action", "archive")])
        .send()
        .await
        .unwrap();
    assert!(res.url().path().ends_with("/min-side/meldinger"));

    let titles = |html: &str| {
        [
            "Eiendomsskatt 2027",
            "Tilbud om barnehageplass",
            "Gammelt vedtak",
        ]
        .into_iter()
        .filter(|t| html.contains(t))
        .collect::<Vec<_>>()
    };
    let (_, _, all) = app.get_html("/min-side/meldinger").await;
    assert_eq!(
        titles(&all),
        vec!["Eiendomsskatt 2027", "Tilbud om barnehageplass"]
    );
    let (_, _, needs) = app
        .get_html("/min-side/meldinger?filter=needs-answer")
        .await;
    assert_eq!(titles(&needs), vec!["Tilbud om barnehageplass"]);
    assert!(needs.contains("Svar innen 01.01.2099"));
    let (_, _, arch) = app.get_html("/min-side/meldinger?filter=archived").await;
    assert_eq!(titles(&arch), vec!["Gammelt vedtak"]);
    let (_, _, found) = app.get_html("/min-side/meldinger?q=SKATT").await;
    assert_eq!(titles(&found), vec!["Eiendomsskatt 2027"]);
    let (_, _, unread) = app.get_html("/min-side/meldinger?filter=unread").await;
    assert_eq!(
        titles(&unread),
        vec!["Eiendomsskatt 2027", "Tilbud om barnehageplass"],
        "archiving without opening is not reading"
    );
}

#[tokio::test]
async fn the_inbox_pages_newest_first_and_mark_as_unread_needs_the_csrf_token() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let mut ids = Vec::new();
    for n in 0..45 {
        ids.push(
            send(
                &app,
                &kari,
                &format!("n{n:02}"),
                json!({"title": format!("Melding nummer {n:02}")}),
            )
            .await,
        );
        app.clock.advance(jiff::SignedDuration::from_secs(1));
    }
    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    let mut seen = Vec::new();
    let mut next = Some("/min-side/meldinger".to_owned());
    while let Some(path) = next.take() {
        let (_, _, html) = app.get_html(&path).await;
        let on_page: Vec<usize> = (0..45)
            .filter(|n| html.contains(&format!("Melding nummer {n:02}")))
            .collect();
        assert!(on_page.len() <= 20);
        seen.extend(on_page.into_iter().rev());
        next = html
            .split("after=") // the only link with a cursor is "older messages"
            .nth(1)
            .map(|rest| {
                format!(
                    "/min-side/meldinger?filter=all&q=&after={}",
                    rest.split('"').next().unwrap()
                )
            });
    }
    assert_eq!(
        seen,
        (0..45).rev().collect::<Vec<_>>(),
        "every letter once, newest first, over three pages"
    );

    let (_, _, page) = app
        .get_html(&format!("/min-side/meldinger/{}", ids[0]))
        .await;
    let forged = app
        .client
        .post(app.url(&format!("/min-side/meldinger/{}", ids[0])))
        .form(&[("csrf", "x"), ("action", "unread")])
        .send()
        .await
        .unwrap();
    assert!(forged.url().path().ends_with(&ids[0]));
    let (_, _, unread) = app
        .get_html("/min-side/meldinger?filter=unread&q=nummer+00")
        .await;
    assert!(!unread.contains("Melding nummer 00"));
    let csrf = form_value(&page, "csrf").unwrap();
    app.client
        .post(app.url(&format!("/min-side/meldinger/{}", ids[0])))
        .form(&[("csrf", csrf.as_str()), ("action", "unread")])
        .send()
        .await
        .unwrap();
    let (_, _, unread) = app
        .get_html("/min-side/meldinger?filter=unread&q=nummer+00")
        .await;
    assert!(unread.contains("Melding nummer 00"), "marked unread again");
    assert_eq!(
        app.letter_status(&ids[0]).await["status"],
        "LEST",
        "the sender's read receipt stays"
    );
}

#[tokio::test]
async fn a_kindergarten_offer_is_accepted_with_a_confirm_step_once_and_the_sender_sees_the_answer()
{
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let offer = json!({"title": "Tilbud om barnehageplass", "response_deadline": "2099-01-01T00:00:00Z",
                       "response_options": [{"code": "accept", "label": "Ta imot plassen"}, {"code": "decline", "label": "Takk nei"}]});
    let id = send(&app, &kari, "offer-1", offer).await;
    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    let (_, _, letter) = app.get_html(&format!("/min-side/meldinger/{id}")).await;
    assert!(
        letter.contains("name=\"option\" value=\"accept\"") && letter.contains("Ta imot plassen")
    );
    let csrf = form_value(&letter, "csrf").unwrap();
    let svar = app.url(&format!("/min-side/meldinger/{id}/svar"));

    let confirm = answer(&app, &svar, &csrf, "accept", false).await;
    assert_eq!(confirm.status(), 200);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains("Bekreft svaret") && confirm.contains("«Ta imot plassen»"));
    assert!(
        app.letter_status(&id).await["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["event"] != "answered"),
        "nothing stored before confirming"
    );

    let done = answer(&app, &svar, &csrf, "accept", true).await;
    assert!(done.url().path().ends_with(&id));
    let page = done.text().await.unwrap();
    assert!(
        page.contains("Du svarte «Ta imot plassen»"),
        "the receipt shows on the letter"
    );
    let events = app.letter_status(&id).await["events"].clone();
    let answered: Vec<&Value> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "answered")
        .collect();
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0]["detail"]["option"], "accept");

    let again = answer(&app, &svar, &csrf, "decline", true).await;
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("allerede besvart"));
}

#[tokio::test]
async fn an_answer_after_the_deadline_or_with_an_unknown_option_is_refused() {
    let app = TestApp::spawn().await;
    let kari = app.first_candidate(CandidateGroup::Guardian).await;
    let deadline = (app.clock.now_for_tests() + jiff::SignedDuration::from_mins(20)).to_string();
    let id = send(&app, &kari, "offer-2", json!({"response_deadline": deadline, "response_options": [{"code": "accept", "label": "Ja"}]})).await;
    let html = app
        .login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await
        .text()
        .await
        .unwrap();
    let csrf = form_value(&html, "csrf").unwrap();
    let svar = app.url(&format!("/min-side/meldinger/{id}/svar"));
    let bad = answer(&app, &svar, &csrf, "maybe", true).await;
    assert_eq!(bad.status(), 422);
    // Past the deadline, still inside the session's idle limit.
    app.clock.advance(jiff::SignedDuration::from_mins(25));
    let (_, _, fresh) = app.get_html("/min-side").await;
    let csrf = form_value(&fresh, "csrf").unwrap();
    let late = answer(&app, &svar, &csrf, "accept", true).await;
    assert_eq!(late.status(), 422);
    assert!(late
        .text()
        .await
        .unwrap()
        .contains("Svarfristen har gått ut"));
}

#[tokio::test]
async fn the_demos_kindergarten_offer_is_answered_with_one_click_from_the_dashboard_card() {
    use minside_core::letters::{InboxFilter, InboxQuery};
    use minside_core::ports::Store;
    let mut config = crate::helpers::test_config(crate::helpers::fresh_database_url().await);
    config.seed.letters = true;
    config.seed.persons = 400;
    let app = TestApp::spawn_with(config).await;
    let query = InboxQuery {
        filter: InboxFilter::NeedsAnswer,
        search: None,
        after: None,
        limit: 5,
        now: app.clock.now_for_tests(),
    };
    let mut parent = None;
    for c in app
        .store
        .login_candidates(50)
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.group == CandidateGroup::Guardian)
    {
        if !app
            .store
            .inbox(&c.fnr, &query)
            .await
            .unwrap()
            .items
            .is_empty()
        {
            parent = Some(c);
            break;
        }
    }
    let parent = parent.expect("a guardian with a seeded kindergarten offer");
    let dashboard = app
        .login_citizen(Some(parent.fnr.as_str()), "idporten-loa-substantial")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        dashboard.contains("Tilbud om barnehageplass for") && dashboard.contains("Svar innen"),
        "{dashboard}"
    );
    let action = dashboard
        .split("action=\"/min-side/meldinger/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let csrf = form_value(&dashboard, "csrf").unwrap();
    let url = app.url(&format!("/min-side/meldinger/{action}"));
    let confirm = answer(&app, &url, &csrf, "accept", false)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        confirm.contains("«Ta imot plassen»"),
        "one click brings the confirm step"
    );
    let letter = answer(&app, &url, &csrf, "accept", true)
        .await
        .text()
        .await
        .unwrap();
    assert!(letter.contains("Du svarte «Ta imot plassen»"));
    let (_, _, after) = app.get_html("/min-side").await;
    assert!(
        !after.contains(&format!("action=\"/min-side/meldinger/{action}\"")),
        "the card is gone once answered"
    );
}

/// What the inbox itself lists, counted the slow way: the dashboard's summary row must agree.
async fn recount(
    app: &TestApp,
    fnr: &minside_core::ident::Fodselsnummer,
) -> minside_core::letters::InboxCounts {
    use minside_core::letters::{InboxFilter, InboxQuery};
    use minside_core::ports::Store;
    let list = |filter| InboxQuery {
        filter,
        search: None,
        after: None,
        limit: 1000,
        now: app.clock.now_for_tests(),
    };
    let all = app.store.inbox(fnr, &list(InboxFilter::All)).await.unwrap();
    let unread = app
        .store
        .inbox(fnr, &list(InboxFilter::Unread))
        .await
        .unwrap();
    let open = || {
        all.items
            .iter()
            .filter(|i| !i.options.is_empty() && !i.answered)
    };
    minside_core::letters::InboxCounts {
        letters: all.items.len() as i64,
        unread: unread.items.len() as i64,
        to_answer: open().count() as i64,
        answer_by: open().filter_map(|i| i.response_deadline).max(),
    }
}

/// Someone who is not in this municipality's register (moved away, say) still gets letters, and
/// ID-porten logs them in: their dashboard has no register data but their letter counts. (The
/// built-in test IdP only offers registered residents, so this reads the use case directly.)
#[tokio::test]
async fn a_dashboard_without_register_data_still_counts_the_residents_letters() {
    use minside_core::auth::Loa;
    use minside_core::ports::Store;
    use minside_core::session::{NewSession, Principal, SessionKey, SessionPolicy};
    use minside_core::usecases::show_dashboard::show_dashboard;
    let app = &TestApp::spawn().await;
    let moved_away = "20914695016";
    let res = app
        .post_letter(&json!({
            "sender_ref": "moved-1",
            "recipient": {"fodselsnummer": moved_away},
            "title": "Sluttfaktura",
            "sender_unit": "Kemneren",
            "body": "Sluttoppgjør.",
            "documents": [{"filename": "faktura.pdf", "mime_type": "application/pdf", "content_base64": STANDARD.encode(PDF)}]
        }))
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let key = SessionKey("moved-away-session".into());
    let now = app.clock.now_for_tests();
    let session = NewSession {
        key: key.clone(),
        principal: Principal::Citizen {
            fnr: minside_core::ident::Fodselsnummer::parse(moved_away).unwrap(),
            loa: Loa::Substantial,
            name: None,
        },
        csrf_token: "csrf".into(),
        issuer: app.url("/test-idp"),
        sid: None,
        id_token: "id-token".into(),
        created_at: now,
    };
    app.store.create_session(&session, None).await.unwrap();
    let shown = show_dashboard(&app.store, &SessionPolicy::default(), &key, now)
        .await
        .unwrap()
        .expect("a live resident's session");
    assert_eq!(shown.citizen.fnr.as_str(), moved_away);
    let view = shown.view;
    assert!(view.register.is_none(), "not in the register");
    assert_eq!((view.counts.letters, view.counts.unread), (1, 1));
}

#[tokio::test]
async fn the_dashboards_counts_follow_every_change_to_a_letter_in_the_same_transaction() {
    use minside_core::ports::Store;
    let app = &TestApp::spawn().await;
    let kari = &app.first_candidate(CandidateGroup::Owner).await;
    let check = |step: &'static str| async move {
        let stored = app.store.inbox_counts(&kari.fnr).await.unwrap();
        assert_eq!(stored, recount(app, &kari.fnr).await, "after {step}");
        let (_, _, dashboard) = app.get_html("/min-side").await;
        let shown = format!("Uleste meldinger: {}", stored.unread);
        assert_eq!(
            dashboard.contains(&shown),
            stored.unread > 0,
            "after {step}: {shown}"
        );
        (stored, dashboard)
    };
    assert_eq!(
        app.store.inbox_counts(&kari.fnr).await.unwrap(),
        Default::default(),
        "no letters yet"
    );
    let deadline = (app.clock.now_for_tests() + jiff::SignedDuration::from_hours(48)).to_string();
    let plain = send(app, kari, "count-1", json!({})).await;
    let offer = send(
        app,
        kari,
        "count-2",
        json!({"title": "Tilbud om plass", "response_deadline": deadline,
                     "response_options": [{"code": "accept", "label": "Ta imot"}]}),
    )
    .await;
    let other = send(app, kari, "count-3", json!({})).await;
    app.login_citizen(Some(kari.fnr.as_str()), "idporten-loa-substantial")
        .await;
    let (c, dashboard) = check("three letters").await;
    assert_eq!((c.letters, c.unread, c.to_answer), (3, 3, 1));
    assert!(dashboard.contains("Tilbud om plass"), "the answer card");

    let (_, _, page) = app.get_html(&format!("/min-side/meldinger/{plain}")).await;
    let (c, _) = check("reading one").await;
    assert_eq!(c.unread, 2);

    let csrf = form_value(&page, "csrf").unwrap();
    let act = |id: String, action: &'static str| {
        let csrf = csrf.clone();
        async move {
            app.client
                .post(app.url(&format!("/min-side/meldinger/{id}")))
                .form(&[("csrf", csrf.as_str()), ("action", action)])
                .send()
                .await
                .unwrap()
        }
    };
    act(plain.clone(), "unread").await;
    let (c, _) = check("marking it unread").await;
    assert_eq!(c.unread, 3);

    act(other.clone(), "archive").await;
    let (c, _) = check("archiving one").await;
    assert_eq!((c.letters, c.unread), (2, 2));

    let svar = app.url(&format!("/min-side/meldinger/{offer}/svar"));
    assert!(answer(app, &svar, &csrf, "accept", true)
        .await
        .status()
        .is_success());
    let (c, dashboard) = check("answering the offer").await;
    assert_eq!(c.to_answer, 0);
    assert!(!dashboard.contains("Tilbud om plass"), "no answer card");

    act(other, "unarchive").await;
    let (c, _) = check("restoring the archived one").await;
    // Acting on a letter opens it (archive, answer), so only the one marked unread is left.
    assert_eq!((c.letters, c.unread, c.to_answer), (3, 1, 0));

    // New letters are added to the counts rather than recounted: the latest open deadline wins,
    // whichever order they come in, and a letter without answers to choose from leaves it.
    let in_hours =
        |h: i64| (app.clock.now_for_tests() + jiff::SignedDuration::from_hours(h)).to_string();
    for (sender_ref, deadline) in [
        ("count-4", Some(72)),
        ("count-5", Some(24)),
        ("count-6", None),
    ] {
        let extra = match deadline {
            Some(h) => json!({"response_deadline": in_hours(h),
                              "response_options": [{"code": "accept", "label": "Ta imot"}]}),
            None => json!({}),
        };
        send(app, kari, sender_ref, extra).await;
        check(sender_ref).await;
    }
    let (c, _) = check("two offers and a letter").await;
    assert_eq!((c.letters, c.unread, c.to_answer), (6, 4, 2));
    // (Stored to the microsecond.)
    let latest = app.clock.now_for_tests() + jiff::SignedDuration::from_hours(72);
    let shown = c.answer_by.expect("an open deadline");
    assert!(
        latest.duration_since(shown).abs() < jiff::SignedDuration::from_millis(1),
        "the latest open deadline: {shown}"
    );
}
