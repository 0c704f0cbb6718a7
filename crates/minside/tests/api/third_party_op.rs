//! Login against a third-party certified OpenID provider (npm `oidc-provider`) configured to look
//! like ID-porten: proves the relying party works with an OP nobody here wrote. Needs Node.js and
//! web/node_modules, so `scripts/test` runs it explicitly (`--ignored third_party`).

use crate::helpers::{env, fresh_database_url, test_config, TestApp};
use minside::config::Secret;
use minside_core::person::CandidateGroup;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Op(Child);
impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

#[tokio::test]
#[ignore = "needs Node.js and oidc-provider from web/node_modules; scripts/test runs it"]
async fn third_party_oidc_provider_login_works_through_the_same_relying_party() {
    let script = env("MINSIDE_OIDC_PROVIDER_SCRIPT")
        .expect("MINSIDE_OIDC_PROVIDER_SCRIPT points at tests/oidc/op.mjs");
    // Reserve a port for minside so the OP can register its exact redirect URI.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new("node")
        .arg(&script)
        .env("MINSIDE_BASE", &base)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    // Keep draining the OP's stdout so that its later log lines never hit a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let _op = Op(child);
    let issuer = line.strip_prefix("issuer ").expect(&line).to_owned();

    let mut config = test_config(fresh_database_url().await);
    config.listen = format!("127.0.0.1:{port}");
    config.citizen_idp.issuer = issuer.clone();
    config.citizen_idp.client_id = "minside-op-test".into();
    config.citizen_idp.client_secret = Secret("op-test-secret".into());
    let app = TestApp::spawn_with(config).await;
    let person = app.first_candidate(CandidateGroup::Guardian).await;

    let (status, url, html) = app.get_html("/login?loa=high").await;
    assert_eq!(status, 200);
    assert!(url.starts_with(&issuer), "at the third-party OP: {url}");
    assert!(html.contains("name=\"pid\""), "{html}");
    let action = html
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let target = reqwest::Url::parse(&url).unwrap().join(&action).unwrap();
    let res = app
        .client
        .post(target)
        .form(&[("pid", person.fnr.as_str()), ("acr", "idporten-loa-high")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.url());
    assert!(
        res.url().as_str().starts_with(&app.url("/min-side")),
        "{}",
        res.url()
    );
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!("Hei, {}", person.name.split(' ').next().unwrap())));
    let (_, url, mine) = app.get_html("/min-side/mine-opplysninger").await;
    assert!(
        url.ends_with("/min-side/mine-opplysninger"),
        "acr=high from the OP satisfies the page"
    );
    assert!(mine.contains(person.fnr.as_str()));
}
