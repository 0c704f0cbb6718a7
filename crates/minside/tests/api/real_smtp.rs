//! An e-mail notice reaches a real SMTP server (Python's aiosmtpd), through the same SMTP adapter
//! production uses. Needs Python with aiosmtpd, so `scripts/test` runs it (`--ignored real_smtp`).

use crate::helpers::{fresh_database_url, test_config, TestApp};
use crate::letters_delivery::emailable;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
    }
}

#[tokio::test]
#[ignore = "needs Python's aiosmtpd; scripts/test installs and runs it"]
async fn real_smtp_an_email_notice_reaches_a_real_smtp_server() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Debugging",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 -m aiosmtpd");
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut config = test_config(fresh_database_url().await);
    config.smtp.host = "127.0.0.1".into();
    config.smtp.port = port;
    config.smtp.starttls = false;
    config.smtp.from = "Min side <noreply@example.test>".into();
    let app = TestApp::spawn_with(config).await;
    let (kari, email) = emailable(&app).await;
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/letters"))
        .bearer_auth(app.api_token("minside:letters.write"))
        .json(
            &json!({"sender_ref": "smtp-1", "recipient": {"fodselsnummer": kari.fnr.as_str()},
                      "title": "Vedtak", "sender_unit": "Byggesak", "body": "Innvilget."}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let report = app
        .run_jobs_with(minside::smtp::notifier(&app.config).unwrap())
        .await;
    assert!(report.done >= 1, "{report:?}");

    let mut message = String::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(10)) {
        message.push_str(&line);
        message.push('\n');
        if line.contains("END MESSAGE") {
            break;
        }
    }
    assert!(message.contains(&format!("To: {email}")), "{message}");
    assert!(message.contains("<noreply@example.test>"), "{message}");
    // The subject is in the resident's KRR language, MIME-encoded where it is not ASCII.
    assert!(
        message.contains("Subject: Ny melding") && message.contains("Bergen kommune"),
        "{message}"
    );
    assert!(
        message.contains(&app.address),
        "the portal's address is in the body: {message}"
    );
}
