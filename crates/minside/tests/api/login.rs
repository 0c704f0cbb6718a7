//! Citizen login through the relying party, exactly as against ID-porten.

use crate::helpers::{browser, login_until_callback, TestApp};
use jiff::SignedDuration;
use minside_core::person::CandidateGroup;

#[tokio::test]
async fn a_resident_logs_in_through_the_test_idp_and_sees_their_name_on_the_dashboard() {
    let app = TestApp::spawn().await;
    let guardian = app.first_candidate(CandidateGroup::Guardian).await;
    let res = app
        .login_citizen(Some(guardian.fnr.as_str()), "idporten-loa-substantial")
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.url().path().ends_with("/min-side"), "{}", res.url());
    let html = res.text().await.unwrap();
    let given = guardian.name.split(' ').next().unwrap();
    assert!(html.contains(&format!("Hei, {given}")), "{html}");
    assert!(html.contains("Meldinger") && html.contains("Fakturaer") && html.contains("Eiendom"));
}

#[tokio::test]
async fn the_authorization_request_carries_pkce_s256_state_nonce_and_the_requested_level() {
    let app = TestApp::spawn().await;
    let (url, _) = app.open_test_idp("/login").await;
    let url = reqwest::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 43 && q["nonce"].len() >= 43);
    assert_eq!(q["acr_values"], "idporten-loa-substantial");
    assert_eq!(q["scope"], "openid profile");
    assert_eq!(q["ui_locales"], "nb");
}

#[tokio::test]
async fn a_person_typed_in_by_number_can_log_in_and_an_unknown_number_is_refused_with_a_message() {
    let app = TestApp::spawn().await;
    let (_, html) = app.open_test_idp("/login").await;
    let res = app
        .pick_person(&html, Some("20914695016"), "idporten-loa-substantial")
        .await;
    assert_eq!(
        res.status(),
        422,
        "a valid number that is not seeded is not a test person"
    );
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Vi fant ingen testperson"));
    let (_, html) = app.open_test_idp("/login").await;
    let owner = app.first_candidate(CandidateGroup::Owner).await;
    let res = app
        .pick_person(&html, Some(owner.fnr.as_str()), "idporten-loa-substantial")
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.url().path().ends_with("/min-side"));
}

#[tokio::test]
async fn the_session_id_is_rotated_at_login_and_the_old_one_stops_working() {
    let app = TestApp::spawn().await;
    app.login_citizen(None, "idporten-loa-substantial").await;
    let first = app.session_cookie().expect("session cookie after login");
    app.login_citizen(None, "idporten-loa-substantial").await;
    let second = app.session_cookie().unwrap();
    assert_ne!(first, second);
    let stale = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = stale
        .get(app.url("/min-side"))
        .header("cookie", format!("minside={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "the replaced session must be gone");
    assert!(res.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with("/login"));
}

#[tokio::test]
async fn the_session_cookie_is_httponly_and_samesite_lax() {
    let app = TestApp::spawn().await;
    let client = browser();
    let (login_cookie, callback) = login_until_callback(&app, &client).await;
    assert!(
        login_cookie.contains("HttpOnly") && login_cookie.contains("SameSite=Lax"),
        "{login_cookie}"
    );
    let r = client.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("minside="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "plain-HTTP loopback test instance"
    );
}

#[tokio::test]
async fn a_replayed_callback_is_refused() {
    let app = TestApp::spawn().await;
    let client = browser();
    let (_, callback) = login_until_callback(&app, &client).await;
    assert_eq!(client.get(&callback).send().await.unwrap().status(), 303);
    let again = client.get(&callback).send().await.unwrap();
    assert_eq!(again.status(), 400, "state is single-use");
}

#[tokio::test]
async fn a_callback_from_another_browser_is_refused_login_csrf() {
    let app = TestApp::spawn().await;
    let (_, callback) = login_until_callback(&app, &browser()).await;
    let victim = browser();
    let res = victim.get(&callback).send().await.unwrap();
    assert_eq!(
        res.status(),
        400,
        "the state is bound to the browser that started the login"
    );
    assert!(res.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn the_token_endpoint_refuses_a_wrong_code_verifier_and_a_wrong_client_secret() {
    let app = TestApp::spawn().await;
    let (_, callback) = login_until_callback(&app, &browser()).await;
    let callback = reqwest::Url::parse(&callback).unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let redirect = app.url("/auth/callback");
    let token = |secret: &str, verifier: &str| {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", verifier),
            ("client_id", "minside"),
            ("client_secret", secret),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        reqwest::Client::new()
            .post(app.url("/test-idp/token"))
            .form(&form)
            .send()
    };
    assert_eq!(token("wrong", &"x".repeat(43)).await.unwrap().status(), 401);
    let bad = token(
        "citizen-secret",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn a_page_that_needs_a_high_level_steps_up_a_substantial_session() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Owner).await;
    app.login_citizen(Some(person.fnr.as_str()), "idporten-loa-substantial")
        .await;
    let (status, url, html) = app.get_html("/min-side/mine-opplysninger").await;
    assert_eq!(status, 200);
    assert!(
        url.contains("/test-idp/authorize") && url.contains("acr_values=idporten-loa-high"),
        "{url}"
    );
    let res = app
        .pick_person(&html, Some(person.fnr.as_str()), "idporten-loa-high")
        .await;
    assert!(
        res.url().path().ends_with("/min-side/mine-opplysninger"),
        "{}",
        res.url()
    );
    let page = res.text().await.unwrap();
    assert!(
        page.contains(person.fnr.as_str()),
        "the high-level page shows the number"
    );
}

#[tokio::test]
async fn an_id_token_below_the_requested_level_is_refused() {
    let app = TestApp::spawn().await;
    let person = app.first_candidate(CandidateGroup::Owner).await;
    let (_, html) = app
        .open_test_idp("/login?loa=high&return_to=/min-side/mine-opplysninger")
        .await;
    let res = app
        .pick_person(&html, Some(person.fnr.as_str()), "idporten-loa-substantial")
        .await;
    assert_eq!(res.status(), 400);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Innloggingen ble ikke fullført"));
    assert!(app.session_cookie().is_none());
}

#[tokio::test]
async fn a_session_ends_after_thirty_idle_minutes() {
    let app = TestApp::spawn().await;
    app.login_citizen(None, "idporten-loa-substantial").await;
    app.clock.advance(SignedDuration::from_mins(29));
    let (_, url, _) = app.get_html("/min-side").await;
    assert!(
        url.ends_with("/min-side"),
        "still logged in after 29 minutes: {url}"
    );
    app.clock.advance(SignedDuration::from_mins(31));
    let (_, url, _) = app.get_html("/min-side").await;
    assert!(
        url.contains("/test-idp/authorize"),
        "idle timeout sends the browser to login: {url}"
    );
}

#[tokio::test]
async fn an_expired_session_is_ended_not_only_refused() {
    let app = TestApp::spawn().await;
    app.login_citizen(None, "idporten-loa-substantial").await;
    let logged_in_at = app.clock.now_for_tests();
    app.clock.advance(SignedDuration::from_mins(31));
    let (_, url, _) = app.get_html("/min-side").await;
    assert!(url.contains("/test-idp/authorize"), "expired: {url}");
    app.clock.set(logged_in_at + SignedDuration::from_mins(1));
    let (_, url, _) = app.get_html("/min-side").await;
    assert!(
        url.contains("/test-idp/authorize"),
        "the expired session was deleted, so even a clock within its lifetime finds none: {url}"
    );
}

#[tokio::test]
async fn a_session_ends_at_the_absolute_limit_even_when_active() {
    let app = TestApp::spawn().await;
    app.login_citizen(None, "idporten-loa-substantial").await;
    for _ in 0..5 {
        app.clock.advance(SignedDuration::from_mins(20));
        let (_, url, _) = app.get_html("/min-side").await;
        assert!(url.ends_with("/min-side"));
    }
    app.clock.advance(SignedDuration::from_mins(21));
    let (_, url, _) = app.get_html("/min-side").await;
    assert!(
        url.contains("/test-idp/authorize"),
        "two hours after login the session is over: {url}"
    );
}

#[tokio::test]
async fn the_test_idp_is_a_real_openid_provider_with_discovery_and_jwks() {
    let app = TestApp::spawn().await;
    let d: serde_json::Value = app
        .get("/test-idp/.well-known/openid-configuration")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["issuer"], app.url("/test-idp"));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let jwks: serde_json::Value = app.get("/test-idp/jwks").await.json().await.unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
    assert!(
        jwks["keys"][0].get("d").is_none(),
        "no private parts in the JWKS"
    );
}
