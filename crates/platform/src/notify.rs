//! Notifications to citizens: the outbox follower that delivers `email` events over SMTP
//! (lettre) and `sms` events through an [`SmsProvider`] (`sms_url`: see [`crate::sms`]; the
//! default one writes to the log).
//! Rooms call [`email`] / [`sms`] inside the transaction that changes what the citizen
//! should hear about.

use crate::config::Config;
use crate::db::{Conn, Db, DbError};
use crate::outbox;
use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a notification says and to whom (sealed in the outbox: it holds contact details).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Note {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The text holds a one-time code: gateways that write to the log withhold it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// Whether `s` is an e-mail address the mailer can send to.
pub fn valid_email(s: &str) -> bool {
    s.parse::<lettre::Address>().is_ok()
}

/// Queue an e-mail.
pub fn email(
    c: &mut dyn Conn,
    to: &str,
    subject: &str,
    text: &str,
    now: i64,
) -> Result<(), DbError> {
    let n = Note {
        to: to.into(),
        subject: subject.into(),
        text: text.into(),
        secret: false,
    };
    let v = serde_json::to_value(&n).map_err(|e| DbError::Decode(e.to_string()))?;
    outbox::enqueue(c, "email", subject, &v, now)
}

/// Queue a text message.
pub fn sms(
    c: &mut dyn Conn,
    phone: &str,
    subject: &str,
    text: &str,
    now: i64,
) -> Result<(), DbError> {
    queue_sms(c, phone, subject, text, false, now)
}

/// Queue a text message holding a one-time code (never written to the log).
pub fn sms_secret(
    c: &mut dyn Conn,
    phone: &str,
    subject: &str,
    text: &str,
    now: i64,
) -> Result<(), DbError> {
    queue_sms(c, phone, subject, text, true, now)
}

fn queue_sms(
    c: &mut dyn Conn,
    phone: &str,
    subject: &str,
    text: &str,
    secret: bool,
    now: i64,
) -> Result<(), DbError> {
    let n = Note {
        to: phone.into(),
        subject: subject.into(),
        text: text.into(),
        secret,
    };
    let v = serde_json::to_value(&n).map_err(|e| DbError::Decode(e.to_string()))?;
    outbox::enqueue(c, "sms", subject, &v, now)
}

/// A text-message gateway. `Err(retry, message)`: `retry` only when nothing was sent.
pub trait SmsProvider: Send + Sync {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> crate::sms::Sending<'a>;
    /// Send a text holding a one-time code; gateways that write to the log withhold it.
    fn send_secret<'a>(&'a self, phone: &'a str, text: &'a str) -> crate::sms::Sending<'a> {
        self.send(phone, text)
    }
}

/// The default gateway: writes the (masked) number and the text to the log.
pub struct LogSms;

impl SmsProvider for LogSms {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> crate::sms::Sending<'a> {
        // Notices quote replies that may hold phones, ID numbers and flats: scrubbed.
        tracing::info!(to = %crate::mask::phone(phone), text = %crate::mask::scrub_text(text), "sms");
        Box::pin(async { Ok(()) })
    }
    fn send_secret<'a>(&'a self, phone: &'a str, _text: &'a str) -> crate::sms::Sending<'a> {
        tracing::info!(to = %crate::mask::phone(phone), "sms with a one-time code (text withheld)");
        Box::pin(async { Ok(()) })
    }
}

/// The demo's gateway (`sms_url = "demo://"`): sends nothing and logs as [`LogSms`]; the
/// code endpoint answers with the code itself, so the demo can be tried without a gateway.
/// Never for a real deployment: `serve` warns when it is configured.
pub struct DemoSms;

impl SmsProvider for DemoSms {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> crate::sms::Sending<'a> {
        LogSms.send(phone, text)
    }
    fn send_secret<'a>(&'a self, phone: &'a str, text: &'a str) -> crate::sms::Sending<'a> {
        LogSms.send_secret(phone, text)
    }
}

/// Delivers claimed events.
#[derive(Clone)]
pub struct Notifier {
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    sms: Arc<dyn SmsProvider>,
}

impl Notifier {
    /// From `smtp_url` (`smtp://host:port` plain, `smtp://host?tls=required` STARTTLS,
    /// `smtps://user:pass@host` implicit TLS) and `mail_from`. Without an SMTP URL e-mail
    /// events are logged and marked delivered.
    pub fn from_config(cfg: &Config, sms: Arc<dyn SmsProvider>) -> Result<Notifier, String> {
        let from: Mailbox = cfg
            .mail_from
            .parse()
            .map_err(|e| format!("mail_from {:?}: {e}", cfg.mail_from))?;
        let smtp = match cfg.smtp_url.as_deref().filter(|u| !u.is_empty()) {
            None => None,
            Some(u) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(u)
                    .map_err(|e| format!("smtp_url: {e}"))?
                    .timeout(Some(std::time::Duration::from_secs(20)))
                    .build(),
            ),
        };
        Ok(Notifier { smtp, from, sms })
    }

    /// Claim and deliver one batch; returns how many events were handled.
    pub async fn run_once(&self, db: &Db) -> Result<usize, DbError> {
        let now = crate::time::now_millis();
        let batch = db
            .write(move |c| outbox::claim(c, now, 10 * 60_000, 20))
            .await?;
        let n = batch.len();
        for ev in batch {
            let outcome = self.deliver(&ev).await;
            let (id, attempts) = (ev.id, ev.attempts);
            let now = crate::time::now_millis();
            db.write(move |c| match outcome {
                Ok(()) => outbox::delivered(c, id, now),
                Err((true, e)) => outbox::failed(c, id, attempts, now, &e),
                Err((false, e)) => outbox::failed(c, id, outbox::MAX_ATTEMPTS, now, &e),
            })
            .await?;
        }
        Ok(n)
    }

    async fn deliver(&self, ev: &outbox::Event) -> Result<(), (bool, String)> {
        let keys = crate::vault::keys().map_err(|e| (true, e.to_string()))?;
        let text = keys
            .decrypt(&ev.payload)
            .map_err(|e| (false, format!("cannot open the event: {e}")))?;
        let note: Note =
            serde_json::from_str(&text).map_err(|e| (false, format!("malformed event: {e}")))?;
        match ev.kind.as_str() {
            "sms" if note.secret => self.sms.send_secret(&note.to, &note.text).await,
            "sms" => self.sms.send(&note.to, &note.text).await,
            "email" => self.send_mail(note).await,
            other => Err((false, format!("unknown event kind {other:?}"))),
        }
    }

    async fn send_mail(&self, note: Note) -> Result<(), (bool, String)> {
        let to: Mailbox = note
            .to
            .parse()
            .map_err(|e| (false, format!("bad address: {e}")))?;
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(note.subject.as_str())
            .header(ContentType::TEXT_PLAIN)
            .body(note.text.clone())
            .map_err(|e| (false, e.to_string()))?;
        let Some(smtp) = &self.smtp else {
            tracing::info!(subject = %note.subject, "e-mail (no smtp_url configured)");
            return Ok(());
        };
        match smtp.send(msg).await {
            Ok(_) => Ok(()),
            // A refusal or an unreachable server: nothing was accepted, so a retry cannot
            // deliver twice. A permanent refusal is not retried.
            Err(e) if e.is_permanent() => Err((false, e.to_string())),
            Err(e) => Err((true, e.to_string())),
        }
    }
}
