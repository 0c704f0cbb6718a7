//! RP-initiated and front-channel logout both end the local session.

use crate::helpers::{form_value, TestApp};
use minside_core::ports::Store;

#[tokio::test]
async fn logout_needs_the_csrf_token_and_then_ends_both_sessions_via_the_end_session_endpoint() {
    let app = TestApp::spawn().await;
    let html = app
        .login_citizen(None, "idporten-loa-substantial")
        .await
        .text()
        .await
        .unwrap();
    let forged = app
        .client
        .post(app.url("/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert!(forged.url().path() == "/", "forged logout is ignored");
    let (_, url, _) = app.get_html("/min-side").await;
    assert!(
        url.ends_with("/min-side"),
        "still logged in after a forged logout"
    );
    let csrf = form_value(&html, "csrf").unwrap();
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = format!("minside={}", app.session_cookie().unwrap());
    let res = plain
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let end_session = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        end_session.starts_with(&app.url("/test-idp/logout?id_token_hint=")),
        "{end_session}"
    );
    assert!(end_session.contains("post_logout_redirect_uri="));
    let back = plain.get(&end_session).send().await.unwrap();
    assert_eq!(
        back.headers()["location"]
            .to_str()
            .unwrap()
            .split('?')
            .next()
            .unwrap(),
        app.url("/logged-out")
    );
    let after = plain
        .get(app.url("/min-side"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "the session is gone");
}

#[tokio::test]
async fn front_channel_logout_by_iss_and_sid_ends_the_session_without_a_cookie() {
    let app = TestApp::spawn().await;
    app.login_citizen(None, "idporten-loa-substantial").await;
    let secret = app.session_cookie().unwrap();
    let key = minside_core::session::SessionKey(minside_web::security::sha256_hex(&format!(
        "{}:{secret}",
        app.config.session_secret.0
    )));
    let session = app
        .store
        .session(&key)
        .await
        .unwrap()
        .expect("stored session");
    let sid = session.sid.clone().expect("sid from the ID token");
    let plain = reqwest::Client::new();
    let wrong = plain
        .get(app.url("/auth/frontchannel-logout"))
        .query(&[("iss", "https://evil.example"), ("sid", sid.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 200);
    assert!(
        app.store.session(&key).await.unwrap().is_some(),
        "another issuer cannot end our sessions"
    );
    let iss = format!("{}/", app.url("/test-idp"));
    let res = plain
        .get(app.url("/auth/frontchannel-logout"))
        .query(&[("iss", iss.as_str()), ("sid", sid.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors") && csp.contains(&app.address),
        "the IdP may frame this page: {csp}"
    );
    assert!(
        app.store.session(&key).await.unwrap().is_none(),
        "session ended by sid"
    );
}
