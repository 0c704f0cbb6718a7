//! The notice texts and the notification jobs. A notice says that there is a new message and
//! where to log in — never the title, never a link to the content, never a sensitive word.

use super::{sms_window, DeliveryView, NOTIFY_EMAIL, NOTIFY_SMS, REMIND_ANSWER};
use crate::jobs::{Job, JobError};
use crate::person::ContactRecord;
use crate::ports::{Clock, Notifier, NotifyError, Store};
use crate::usecases::run_jobs::JobHandler;
use std::sync::Arc;

/// Language of a notice: the resident's KRR language, bokmål when unknown.
fn lang(contact: &ContactRecord) -> &str {
    match contact.language.as_deref() {
        Some("nn") => "nn",
        Some("en") => "en",
        _ => "nb",
    }
}

/// E-mail subject and body.
pub fn email_notice(language: &str, municipality: &str, portal_url: &str) -> (String, String) {
    match language {
        "nn" => (
            format!("Ny melding frå {municipality}"),
            format!("Du har fått ei ny melding frå {municipality}.\n\nLogg inn på Mi side for å lese henne: {portal_url}\n\nDenne e-posten kan du ikkje svare på."),
        ),
        "en" => (
            format!("New message from {municipality}"),
            format!("You have a new message from {municipality}.\n\nLog in to My page to read it: {portal_url}\n\nThis e-mail cannot be answered."),
        ),
        _ => (
            format!("Ny melding fra {municipality}"),
            format!("Du har fått en ny melding fra {municipality}.\n\nLogg inn på Min side for å lese den: {portal_url}\n\nDenne e-posten kan du ikke svare på."),
        ),
    }
}

/// SMS text.
pub fn sms_notice(language: &str, municipality: &str, portal_url: &str) -> String {
    match language {
        "nn" => format!("Du har fått ei ny melding frå {municipality} på Mi side: {portal_url}"),
        "en" => format!("You have a new message from {municipality} on My page: {portal_url}"),
        _ => format!("Du har fått en ny melding fra {municipality} på Min side: {portal_url}"),
    }
}

/// Reminder e-mail (subject, body) before an answer deadline.
pub fn reminder_email(
    language: &str,
    municipality: &str,
    portal_url: &str,
    deadline: &str,
) -> (String, String) {
    match language {
        "nn" => (
            format!("Påminning frå {municipality}"),
            format!("Hugs å svare på ei melding frå {municipality} innan {deadline}.\n\nLogg inn på Mi side: {portal_url}"),
        ),
        "en" => (
            format!("Reminder from {municipality}"),
            format!("Remember to answer a message from {municipality} by {deadline}.\n\nLog in to My page: {portal_url}"),
        ),
        _ => (
            format!("Påminnelse fra {municipality}"),
            format!("Husk å svare på en melding fra {municipality} innen {deadline}.\n\nLogg inn på Min side: {portal_url}"),
        ),
    }
}

/// Sends one notice for one letter on one channel (`notify_email`, `notify_sms`), or a reminder
/// before an answer deadline (`remind_answer`: e-mail, else SMS within 09–17).
pub struct NotifyHandler {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub notifier: Arc<dyn Notifier>,
    pub municipality: String,
    pub portal_url: String,
    /// The zone a reminder's deadline is written in (`letters.timezone`).
    pub timezone: jiff::tz::TimeZone,
    /// `notify_email` or `notify_sms`.
    pub kind: &'static str,
}

pub(crate) fn letter_id(payload: &str) -> Result<String, JobError> {
    payload
        .split("\"letter\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .ok_or_else(|| JobError::Permanent(format!("payload without a letter id: {payload}")))
}

#[async_trait::async_trait]
impl JobHandler for NotifyHandler {
    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        if self.kind == REMIND_ANSWER {
            let id = letter_id(&job.payload)?;
            let letter = self
                .store
                .letter_for_delivery(&id)
                .await
                .map_err(|e| JobError::Retry(e.to_string()))?
                .ok_or_else(|| JobError::Permanent(format!("no letter {id}")))?;
            return self.remind(&letter).await;
        }
        let mut outcomes = self.notify_all(std::slice::from_ref(job)).await;
        outcomes.pop().unwrap_or(Ok(()))
    }

    /// A claim's notices together: one read of their letters, one of their recipients' contact
    /// records, a notice sent for each letter still unread and not yet notified on this channel,
    /// and one write recording them all. Reminders run one by one.
    async fn run_all(&self, jobs: &[Job]) -> Vec<Result<(), JobError>> {
        if self.kind == REMIND_ANSWER {
            return crate::usecases::run_jobs::one_by_one(self, jobs).await;
        }
        self.notify_all(jobs).await
    }
}

impl NotifyHandler {
    /// `notify_email` / `notify_sms` for `jobs`: one outcome per job.
    async fn notify_all(&self, jobs: &[Job]) -> Vec<Result<(), JobError>> {
        let every = |e: crate::ports::StoreError| -> Vec<Result<(), JobError>> {
            let e = JobError::Retry(e.to_string());
            jobs.iter().map(|_| Err(e.clone())).collect()
        };
        let channel = if self.kind == NOTIFY_SMS {
            "sms"
        } else {
            "email"
        };
        let ids: Vec<Result<String, JobError>> =
            jobs.iter().map(|j| letter_id(&j.payload)).collect();
        let wanted: Vec<&str> = ids.iter().filter_map(|r| r.as_deref().ok()).collect();
        let letters = match self.store.letters_for_delivery(&wanted).await {
            Ok(letters) => letters,
            Err(e) => return every(e),
        };
        let find = |id: &str| letters.iter().find(|l| l.public_id == id);
        // Already read, or already notified on this channel (a re-run after a crash): nothing to
        // send, and no contact record to read.
        let to_notify = |l: &&DeliveryView| !l.read && !l.notified.iter().any(|c| c == channel);
        let mut recipients: Vec<&crate::ident::Fodselsnummer> = letters
            .iter()
            .filter(to_notify)
            .filter_map(|l| l.recipient.as_ref())
            .collect();
        recipients.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        recipients.dedup();
        let contacts = match self.store.contact_records(&recipients).await {
            Ok(contacts) => contacts,
            Err(e) => return every(e),
        };
        // Contact info is read now, not when the letter arrived: it may have changed since.
        let now = self.clock.now();
        let mut outcomes = Vec::with_capacity(jobs.len());
        let mut notices: Vec<(i64, &str)> = Vec::new();
        let mut sent_by: Vec<usize> = Vec::new();
        for id in &ids {
            let letter = match id {
                Ok(id) => find(id).ok_or_else(|| JobError::Permanent(format!("no letter {id}"))),
                Err(e) => Err(e.clone()),
            };
            let letter = match letter {
                Ok(l) => l,
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            };
            // The same letter twice in one claim is notified once.
            if !to_notify(&letter) || notices.iter().any(|(l, _)| *l == letter.id) {
                outcomes.push(Ok(()));
                continue;
            }
            let contact = letter.recipient.as_ref().and_then(|fnr| {
                contacts
                    .iter()
                    .find(|(f, _)| f == fnr)
                    .map(|(_, contact)| contact)
            });
            let outcome = match contact {
                Some(contact) => self.send_notice(letter, contact, now).await,
                None => Ok(false),
            };
            if matches!(outcome, Ok(true)) {
                notices.push((letter.id, channel));
                sent_by.push(outcomes.len());
            }
            outcomes.push(outcome.map(|_| ()));
        }
        if let Err(e) = self.store.record_notified(&notices, now).await {
            // Sent but not recorded: those jobs run again (and may send their notice twice).
            let e = JobError::Retry(e.to_string());
            for i in sent_by {
                outcomes[i] = Err(e.clone());
            }
        }
        outcomes
    }

    /// Sends the notice for `letter` on this handler's channel if the resident can get it there
    /// now; whether one was sent.
    async fn send_notice(
        &self,
        letter: &DeliveryView,
        contact: &ContactRecord,
        now: jiff::Timestamp,
    ) -> Result<bool, JobError> {
        let decision = crate::delivery::decide_channel(letter.kind, contact, now);
        let crate::delivery::Channel::Digital(notify) = decision else {
            return Ok(false);
        };
        let language = lang(contact);
        let sent = match (self.kind, notify.email, notify.sms) {
            (NOTIFY_EMAIL, Some(to), _) => {
                let (subject, body) = email_notice(language, &self.municipality, &self.portal_url);
                self.notifier.send_email(&to, &subject, &body).await
            }
            (NOTIFY_SMS, _, Some(to)) => {
                self.notifier
                    .send_sms(
                        &to,
                        &sms_notice(language, &self.municipality, &self.portal_url),
                    )
                    .await
            }
            _ => return Ok(false),
        };
        match sent {
            Ok(()) => Ok(true),
            Err(NotifyError::Temporary(e)) => Err(JobError::Retry(e)),
            Err(NotifyError::Permanent(e)) => Err(JobError::Permanent(e)),
        }
    }

    async fn remind(&self, letter: &DeliveryView) -> Result<(), JobError> {
        let store_err = |e: crate::ports::StoreError| JobError::Retry(e.to_string());
        let now = self.clock.now();
        // Answered, or too late to remind: the reminder is cancelled.
        let Some(deadline) = letter
            .response_deadline
            .filter(|d| *d > now && !letter.answered)
        else {
            return Ok(());
        };
        let Some(fnr) = &letter.recipient else {
            return Ok(());
        };
        let Some(contact) = self.store.contact_record(fnr).await.map_err(store_err)? else {
            return Ok(());
        };
        let crate::delivery::Channel::Digital(notify) =
            crate::delivery::decide_channel(letter.kind, &contact, now)
        else {
            return Ok(());
        };
        let date = deadline
            .to_zoned(self.timezone.clone())
            .strftime("%d.%m.%Y")
            .to_string();
        let language = lang(&contact);
        let (channel, sent) = match (notify.email, notify.sms) {
            (Some(to), _) => {
                let (subject, body) =
                    reminder_email(language, &self.municipality, &self.portal_url, &date);
                (
                    "email",
                    self.notifier.send_email(&to, &subject, &body).await,
                )
            }
            (None, Some(to)) => {
                let window = sms_window(now, &self.timezone);
                if window > now {
                    return Err(JobError::RetryAt(window));
                }
                let (_, body) =
                    reminder_email(language, &self.municipality, &self.portal_url, &date);
                (
                    "sms",
                    self.notifier
                        .send_sms(&to, body.lines().next().unwrap_or_default())
                        .await,
                )
            }
            (None, None) => return Ok(()),
        };
        match sent {
            Ok(()) => {
                let detail = format!("{{\"channel\":\"{channel}\"}}");
                self.store
                    .record_letter_event(letter.id, "reminded", &detail, now)
                    .await
                    .map_err(store_err)
            }
            Err(NotifyError::Temporary(e)) => Err(JobError::Retry(e)),
            Err(NotifyError::Permanent(e)) => Err(JobError::Permanent(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every notice text in every language, as residents get them. A change shows in review as a
    /// change to `notice-texts.snap`; `MINSIDE_UPDATE_SNAPSHOTS=1 cargo test` rewrites it.
    #[test]
    fn notice_texts_match_their_snapshot() {
        let (m, url) = ("Bergen kommune", "https://minside.bergen.kommune.no");
        let mut all = String::new();
        for lang in ["nb", "nn", "en"] {
            let (subject, body) = email_notice(lang, m, url);
            let (r_subject, r_body) = reminder_email(lang, m, url, "15.01.2027");
            all.push_str(&format!(
                "== {lang} e-mail\n{subject}\n\n{body}\n\n== {lang} sms\n{}\n\n== {lang} reminder\n{r_subject}\n\n{r_body}\n\n",
                sms_notice(lang, m, url)
            ));
        }
        let path = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap())
            .join("src/letters/notice-texts.snap");
        if std::env::var_os("MINSIDE_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &all).unwrap();
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap_or_default(), all);
    }

    #[test]
    fn notices_name_the_municipality_and_the_portal_and_nothing_about_the_content() {
        let (subject, body) = email_notice("nb", "Bergen kommune", "https://minside.example.no");
        assert_eq!(subject, "Ny melding fra Bergen kommune");
        assert_eq!(
            body,
            "Du har fått en ny melding fra Bergen kommune.\n\nLogg inn på Min side for å lese den: https://minside.example.no\n\nDenne e-posten kan du ikke svare på."
        );
        assert_eq!(
            sms_notice("nn", "Bergen kommune", "https://m.no"),
            "Du har fått ei ny melding frå Bergen kommune på Mi side: https://m.no"
        );
        assert_eq!(
            sms_notice("en", "Bergen kommune", "https://m.no"),
            "You have a new message from Bergen kommune on My page: https://m.no"
        );
    }

    #[test]
    fn payloads_carry_the_letter_id() {
        assert_eq!(letter_id("{\"letter\":\"abc-1\"}").unwrap(), "abc-1");
        assert!(letter_id("{}").is_err());
    }
}
