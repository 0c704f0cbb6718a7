//! Every page in every language: translated, framed, secured.

use crate::helpers::{fresh_database_url, test_config, TestApp};
use minside_core::person::CandidateGroup;

const LANGS: [(&str, &str); 3] = [
    ("nb", "Hopp til hovedinnhold"),
    ("nn", "Hopp til hovudinnhaldet"),
    ("en", "Skip to main content"),
];

async fn assert_page(app: &TestApp, path: &str, lang: &str, skip: &str) {
    let res = app.get(path).await;
    let url = res.url().to_string();
    let headers = res.headers().clone();
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("<html lang=\"{lang}\"")),
        "{path} in {lang} ({url})"
    );
    assert!(html.contains(skip), "{path} in {lang} has the skip link");
    assert!(
        !html.contains('⟦'),
        "{path} in {lang} has a missing translation"
    );
    assert_eq!(html.matches("<h1").count(), 1, "{path} has exactly one h1");
    assert!(html.contains("<main id=\"main\""));
    assert!(
        html.contains("href=\"https://uustatus.no/"),
        "{path}: the accessibility statement is linked"
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn every_page_renders_in_bokmal_nynorsk_and_english() {
    let app = TestApp::spawn().await;
    let owner = app.first_candidate(CandidateGroup::Owner).await;
    for (lang, skip) in LANGS {
        app.get(&format!("/lang/{lang}")).await;
        assert_page(&app, "/", lang, skip).await;
        assert_page(&app, "/no-such-page", lang, skip).await;
        assert_page(&app, "/login", lang, skip).await;
    }
    let (_, html) = app.open_test_idp("/login").await;
    app.pick_person(&html, Some(owner.fnr.as_str()), "idporten-loa-high")
        .await;
    for (lang, skip) in LANGS {
        app.get(&format!("/lang/{lang}")).await;
        for path in ["/min-side", "/min-side/mine-opplysninger", "/logged-out"] {
            assert_page(&app, path, lang, skip).await;
        }
    }
    app.login_staff("admin").await;
    for (lang, skip) in LANGS {
        app.get(&format!("/lang/{lang}")).await;
        for path in ["/staff", "/staff/person", "/staff/login"] {
            assert_page(&app, path, lang, skip).await;
        }
    }
}

#[tokio::test]
async fn the_language_switch_remembers_the_choice_and_returns_only_to_local_pages() {
    let app = TestApp::spawn().await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = plain
        .get(app.url("/lang/nn?return_to=/min-side"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/min-side");
    assert!(r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .starts_with("lang=nn"));
    let r = plain
        .get(app.url("/lang/en?return_to=https://evil.example/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/");
}

/// Served behind https (the configured public URL says so) every answer tells browsers to come
/// back over https only (HSTS) and cookies are `Secure`; served over plain http (a developer's
/// machine, the embedded default) neither, or the browser could never reach it again.
#[tokio::test]
async fn behind_https_pages_send_hsts_and_cookies_are_secure() {
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut config = test_config(fresh_database_url().await);
    config.public_url = "https://minside.example.no".into();
    let https = TestApp::spawn_with(config).await;
    let http = TestApp::spawn().await;
    for (app, behind_https) in [(&https, true), (&http, false)] {
        for path in ["/", "/nope", "/static/minside.css"] {
            let r = plain
                .get(format!("{}{path}", app.local))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.headers()
                    .get("strict-transport-security")
                    .map(|v| v.to_str().unwrap()),
                behind_https.then_some("max-age=31536000; includeSubDomains"),
                "{path}"
            );
        }
        let r = plain
            .get(format!("{}/lang/nn?return_to=/", app.local))
            .send()
            .await
            .unwrap();
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        assert_eq!(cookie.contains("; Secure"), behind_https, "{cookie}");
    }
}

#[tokio::test]
async fn unknown_pages_are_404_and_health_endpoints_answer() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/nope").await.status(), 404);
    assert_eq!(app.get("/healthz").await.text().await.unwrap(), "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let css = app.get("/static/minside.css").await;
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(app.get("/static/../Cargo.toml").await.status(), 404);
}

/// The rows of one query (for expectations read straight from the database).
async fn column(app: &TestApp, sql: &str, fnr: &str) -> Vec<String> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.config.database_url.0)
        .await
        .unwrap();
    let out = sqlx::query(sql)
        .bind(fnr)
        .fetch_all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect();
    pool.close().await;
    out
}

/// The first resident (by number) with two or more rows in the joined table.
async fn with_two(app: &TestApp, join: &str) -> String {
    let sql = format!(
        "select p.fodselsnummer from persons p join {join} where p.fodselsnummer <> $1 \
         group by p.fodselsnummer having count(*) >= 2 order by 1"
    );
    column(app, &sql, "").await.remove(0)
}

/// The dashboard a resident sees after logging in (substantial).
async fn dashboard_of(app: &TestApp, fnr: &str) -> String {
    app.login_citizen(Some(fnr), "idporten-loa-substantial")
        .await
        .text()
        .await
        .unwrap()
}

/// The list (`<ul>…</ul>`) after `heading` holds exactly `items`, in this order.
fn listed_in_order(html: &str, heading: &str, items: &[String]) {
    let after = &html[html.find(heading).expect(heading)..];
    let list = &after[after.find("<ul").expect("a list")..];
    let list = &list[..list.find("</ul>").expect("the list's end")];
    let shown: Vec<&str> = list
        .split("<li>")
        .skip(1)
        .map(|li| li.split("</li>").next().unwrap_or_default())
        .collect();
    assert_eq!(shown.len(), items.len(), "{shown:?}");
    for (li, item) in shown.iter().zip(items) {
        assert!(li.starts_with(item.as_str()), "{shown:?} against {items:?}");
    }
}

#[tokio::test]
async fn the_dashboard_lists_children_by_birth_and_properties_by_matrikkel() {
    let app = TestApp::spawn().await;
    // Residents with more than one of each, so that the order is seen.
    let guardian = with_two(&app, "guardianships g on g.guardian_id = p.id").await;
    let children = column(
        &app,
        "select c.given_name from persons p join guardianships g on g.guardian_id = p.id \
         join persons c on c.id = g.child_id where p.fodselsnummer = $1 order by c.birth_date, c.given_name",
        &guardian,
    )
    .await;
    let html = dashboard_of(&app, &guardian).await;
    listed_in_order(&html, "Barn du er foresatt for", &children);
    let owner = with_two(&app, "property_owners o on o.person_id = p.id").await;
    let properties = column(
        &app,
        "select pr.address from persons p join property_owners o on o.person_id = p.id \
         join properties pr on pr.id = o.property_id where p.fodselsnummer = $1 order by pr.matrikkel",
        &owner,
    )
    .await;
    let html = dashboard_of(&app, &owner).await;
    listed_in_order(&html, "id=\"properties-h\"", &properties);
}

/// The lists come from the database as JSON (on both engines): text that JSON must escape
/// arrives as it was stored.
#[tokio::test]
async fn the_dashboard_shows_an_address_with_quotes_backslashes_and_letters_beyond_ascii() {
    let app = TestApp::spawn().await;
    let owner = with_two(&app, "property_owners o on o.person_id = p.id").await;
    let changed = column(
        &app,
        "update properties set address = 'Bryggen \"Gamle\" 7\\B, Åsane' where id = \
         (select min(o.property_id) from persons p join property_owners o on o.person_id = p.id \
          where p.fodselsnummer = $1) returning address",
        &owner,
    )
    .await;
    assert_eq!(changed, [r#"Bryggen "Gamle" 7\B, Åsane"#]);
    let html = dashboard_of(&app, &owner).await;
    assert!(
        html.contains(r#"Bryggen &#34;Gamle&#34; 7\B, Åsane"#),
        "the address as stored, HTML-escaped once"
    );
}

#[tokio::test]
async fn the_dashboard_shows_the_residents_properties_and_children() {
    let app = TestApp::spawn().await;
    let guardian = app.first_candidate(CandidateGroup::Guardian).await;
    let html = app
        .login_citizen(Some(guardian.fnr.as_str()), "idporten-loa-substantial")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Barn du er foresatt for"),
        "guardians see their children"
    );
    assert!(
        !html.contains(guardian.fnr.as_str()),
        "the dashboard does not print the number"
    );
}
