//! The staff area: separate login, roles decided in core, look-ups access-logged.

use crate::helpers::{form_value, TestApp};
use minside_core::person::CandidateGroup;
use minside_core::ports::Store;

#[tokio::test]
async fn a_resident_session_never_reaches_a_staff_page() {
    let app = TestApp::spawn().await;
    app.login_citizen(None, "idporten-loa-high").await;
    let (status, url, _) = app.get_html("/staff").await;
    assert_eq!(status, 200);
    assert!(
        url.contains("/test-idp/authorize") && url.contains("client_id=minside-staff"),
        "sent to staff login: {url}"
    );
}

#[tokio::test]
async fn an_employees_session_never_opens_a_residents_dashboard() {
    let app = TestApp::spawn().await;
    app.login_staff("saksbehandler").await;
    let (status, url, html) = app.get_html("/min-side").await;
    assert_eq!(status, 200);
    assert!(
        url.contains("/test-idp/authorize") && !url.contains("client_id=minside-staff"),
        "sent to the residents' login: {url}"
    );
    assert!(!html.contains("Siri Saksbehandler"), "{html}");
}

#[tokio::test]
async fn an_employee_logs_in_separately_and_sees_their_roles() {
    let app = TestApp::spawn().await;
    let res = app.login_staff("saksbehandler").await;
    assert!(res.url().path().ends_with("/staff"), "{}", res.url());
    let html = res.text().await.unwrap();
    assert!(html.contains("Siri Saksbehandler") && html.contains("Saksbehandler"));
    assert!(html.contains("/staff/person"));
}

#[tokio::test]
async fn a_statistician_may_not_look_up_residents() {
    let app = TestApp::spawn().await;
    app.login_staff("statistikk").await;
    let res = app.get("/staff/person").await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn a_caseworkers_look_up_is_access_logged_and_the_resident_sees_who_and_why() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Owner).await;
    let html = app.login_staff("saksbehandler").await.text().await.unwrap();
    let csrf = form_value(&html, "csrf").unwrap();
    let res = app
        .client
        .post(app.url("/staff/person"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("fnr", person.fnr.as_str()),
            ("purpose", "Henvendelse om eiendomsskatt"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains(&person.name));
    let id = app
        .store
        .person_by_fnr(&person.fnr)
        .await
        .unwrap()
        .unwrap()
        .id;
    let log = app.store.access_log(id).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].actor_kind.as_str(), log[0].actor_name.as_str()),
        ("staff", "Siri Saksbehandler")
    );
    assert_eq!(log[0].purpose, "Henvendelse om eiendomsskatt");

    let resident = TestApp {
        client: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
        ..app
    };
    let (_, html) = resident
        .open_test_idp("/login?loa=high&return_to=/min-side/mine-opplysninger")
        .await;
    let page = resident
        .pick_person(&html, Some(person.fnr.as_str()), "idporten-loa-high")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Siri Saksbehandler") && page.contains("Henvendelse om eiendomsskatt"),
        "{page}"
    );
}

#[tokio::test]
async fn bad_input_gives_field_errors_in_the_users_language_and_nothing_is_logged() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Owner).await;
    app.get("/lang/en").await;
    let html = app.login_staff("saksbehandler").await.text().await.unwrap();
    let csrf = form_value(&html, "csrf").unwrap();
    let res = look_up(&app, &csrf, "13097248032", " ").await;
    assert_eq!(res.status(), 422);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("The number is not valid") && page.contains("Enter why you are looking up"),
        "{page}"
    );
    assert!(page.contains("href=\"#fnr\"") && page.contains("aria-invalid=\"true\""));
    let no_csrf = app
        .client
        .post(app.url("/staff/person"))
        .form(&[("fnr", person.fnr.as_str()), ("purpose", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let id = app
        .store
        .person_by_fnr(&person.fnr)
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(app.store.access_log(id).await.unwrap().is_empty());
}

#[tokio::test]
async fn looking_up_someone_who_is_not_resident_says_so_and_logs_nothing() {
    let app = TestApp::spawn().await;
    let html = app.login_staff("personvern").await.text().await.unwrap();
    let csrf = form_value(&html, "csrf").unwrap();
    let res = look_up(&app, &csrf, "20914695016", "Innsynskrav").await;
    assert_eq!(res.status(), 404);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Vi fant ingen innbygger"));
}

/// Submits the look-up form as the logged-in employee.
async fn look_up(app: &TestApp, csrf: &str, fnr: &str, purpose: &str) -> reqwest::Response {
    app.client
        .post(app.url("/staff/person"))
        .form(&[("csrf", csrf), ("fnr", fnr), ("purpose", purpose)])
        .send()
        .await
        .unwrap()
}
