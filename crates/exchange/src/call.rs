//! One exchange: a signed request is verified, authorized by a grant, checked against the
//! service's schema, answered by the service's backend, signed, and logged — refusals too.

use crate::canonical::{self, digest};
use crate::log::Entry;
use crate::{grants, log, registry, schema, store, ExchangeError};
use serde_json::{json, Value};
use std::time::Instant;
use tongban_platform::Ctx;

/// The headers of a call (values percent-encoded UTF-8 where they may hold Chinese).
pub const H_CONSUMER: &str = "x-tongban-consumer";
pub const H_PURPOSE: &str = "x-tongban-purpose";
pub const H_SUBJECT: &str = "x-tongban-subject";
pub const H_MESSAGE_ID: &str = "x-tongban-message-id";
pub const H_SENT_AT: &str = "x-tongban-sent-at";
pub const H_KEY_ID: &str = "x-tongban-key-id";
pub const H_SIGNATURE: &str = "x-tongban-signature";
pub const H_REQUEST_DIGEST: &str = "x-tongban-request-digest";

/// How far a request's `sent_at` may be from the receiver's clock.
pub const MAX_SKEW_MS: i64 = 300_000;

/// A request as it arrives (or is made here).
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub provider: String,
    pub service: String,
    pub consumer: String,
    pub purpose: String,
    /// The case or work order it serves.
    pub subject: String,
    pub message_id: String,
    pub sent_at: i64,
    pub key_id: String,
    pub signature: String,
    pub body: Value,
}

impl Call {
    /// A call of department `consumer` to `service` of `provider`: a fresh message id, sent
    /// now, not signed yet.
    pub fn new(
        consumer: &str,
        provider: &str,
        service: &str,
        purpose: &str,
        subject: &str,
        body: Value,
    ) -> Call {
        Call {
            provider: provider.to_owned(),
            service: service.to_owned(),
            consumer: consumer.to_owned(),
            purpose: purpose.to_owned(),
            subject: subject.to_owned(),
            message_id: new_message_id(),
            sent_at: tongban_platform::time::now_millis(),
            body,
            ..Call::default()
        }
    }

    /// What the consumer signs: every header that matters, and the body.
    pub fn signed_form(&self) -> Value {
        json!({
            "provider": self.provider, "service": self.service, "consumer": self.consumer,
            "purpose": self.purpose, "subject": self.subject, "message_id": self.message_id,
            "sent_at": self.sent_at, "body": self.body,
        })
    }

    /// Sign with the deployment's key (sets `key_id` and `signature`).
    pub fn sign(mut self) -> Result<Call, ExchangeError> {
        let (id, sig, _) = canonical::sign(&self.signed_form())?;
        self.key_id = id;
        self.signature = sig;
        Ok(self)
    }
}

/// The signed answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub body: Value,
    pub message_id: String,
    pub request_digest: String,
    pub key_id: String,
    pub signature: String,
    /// The public key (SEC1 hex) the answer's signature is checked with.
    pub public_key: String,
    /// The log entry's sequence number.
    pub seq: i64,
}

/// What the provider signs in its answer.
pub fn answer_form(message_id: &str, request_digest: &str, body: &Value) -> Value {
    json!({"message_id": message_id, "request_digest": request_digest, "body": body})
}

/// A fresh message id.
pub fn new_message_id() -> String {
    tongban_platform::crypto::to_hex(&tongban_platform::crypto::random_bytes::<16>())
}

/// Percent-encode a header value (UTF-8).
pub fn encode_header(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decode a percent-encoded header value.
pub fn decode_header(v: &str) -> Option<String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Make a call as department `consumer` of this deployment: signed here, then received like
/// any other (verified, authorized, logged).
pub async fn local(
    ctx: &Ctx,
    consumer: &str,
    provider: &str,
    service: &str,
    purpose: &str,
    subject: &str,
    body: Value,
) -> Result<Answer, ExchangeError> {
    let call = Call::new(consumer, provider, service, purpose, subject, body).sign()?;
    receive(ctx, call).await
}

/// Who signed a call: this deployment (for one of its departments) or a pinned peer (for one
/// of its departments, known here as `{peer}/{department}`). The signer's public key and the
/// consumer's name here.
async fn signer(ctx: &Ctx, call: &Call) -> Result<(String, String), ExchangeError> {
    let (own_id, own_pk) = canonical::own_key()?;
    if call.key_id == own_id {
        return Ok((own_pk, call.consumer.clone()));
    }
    let key_id = call.key_id.clone();
    let peer = ctx
        .db
        .read(move |c| crate::peers::by_key(c, &key_id))
        .await?
        .ok_or_else(|| {
            ExchangeError::BadSignature(format!(
                "key {:?} is neither this deployment's ({own_id}) nor a peer's (peers are added with `tongban exchange peer add`)",
                call.key_id
            ))
        })?;
    if call.consumer.is_empty() || call.consumer.contains('/') {
        return Err(ExchangeError::BadSignature(format!(
            "peer {} may call only for its own departments: the consumer {:?} must be a plain department code",
            peer.name, call.consumer
        )));
    }
    Ok((peer.public_key, format!("{}/{}", peer.name, call.consumer)))
}

/// Receive a call: every step, and the log entry whatever the outcome.
pub async fn receive(ctx: &Ctx, call: Call) -> Result<Answer, ExchangeError> {
    let started = Instant::now();
    let now = tongban_platform::time::now_millis();
    let request_digest = hex::encode(digest(&call.signed_form()));
    let mut entry = Entry {
        message_id: call.message_id.clone(),
        at: now,
        consumer: call.consumer.clone(),
        provider: call.provider.clone(),
        service: call.service.clone(),
        purpose: call.purpose.clone(),
        subject: call.subject.clone(),
        outcome: String::new(),
        key_id: call.key_id.clone(),
        request_digest: request_digest.clone(),
        response_digest: String::new(),
        elapsed_us: 0,
    };
    let result = match signer(ctx, &call).await {
        Ok((public_key, consumer)) => {
            entry.consumer = consumer.clone();
            answer(ctx, &call, &consumer, &public_key, &request_digest, now).await
        }
        Err(e) => Err(e),
    };
    entry.elapsed_us = started.elapsed().as_micros() as i64;
    match result {
        Ok((body, key_id, signature, response_digest)) => {
            let seq = log::answered(&ctx.db, entry, response_digest).await?;
            let Some(seq) = seq else {
                return Err(ExchangeError::Replayed(format!(
                    "message {} was received before: send each request once, with a new message id",
                    call.message_id
                )));
            };
            Ok(Answer {
                body,
                message_id: call.message_id,
                request_digest,
                key_id,
                signature,
                public_key: canonical::own_key()?.1,
                seq,
            })
        }
        Err(err) => {
            // A message that did not verify (or repeats one) must not take its id from the
            // genuine one: its entry gets an id of its own.
            if matches!(
                err,
                ExchangeError::BadSignature(_) | ExchangeError::Replayed(_)
            ) {
                entry.message_id = format!("refused-{}", new_message_id());
            }
            log::refused(&ctx.db, entry, &err).await?;
            Err(err)
        }
    }
}

/// The checks and the backend: (body, key id, signature, response digest). `consumer` is
/// the consumer's name here and `public_key` the signer's.
async fn answer(
    ctx: &Ctx,
    call: &Call,
    consumer: &str,
    public_key: &str,
    request_digest: &str,
    now: i64,
) -> Result<(Value, String, String, String), ExchangeError> {
    // The signature first: nothing unsigned is looked at.
    if !canonical::verify(&call.signed_form(), public_key, &call.signature) {
        return Err(ExchangeError::BadSignature(
            "the signature does not match the request: it was changed after signing, or signed with another key".into(),
        ));
    }
    if (now - call.sent_at).abs() > MAX_SKEW_MS {
        return Err(ExchangeError::Replayed(format!(
            "the request was sent at {} ms, more than five minutes from this server's clock ({now} ms)",
            call.sent_at
        )));
    }
    let (provider, code, consumer, purpose, mid) = (
        call.provider.clone(),
        call.service.clone(),
        consumer.to_owned(),
        call.purpose.clone(),
        call.message_id.clone(),
    );
    let service = ctx
        .db
        .view(move |c| {
            if log::seen(c, &mid)? {
                return Err(ExchangeError::Replayed(format!(
                    "message {mid} was received before: send each request once, with a new message id"
                )));
            }
            let s = store::get(c, &provider, &code)?.ok_or_else(|| {
                ExchangeError::ServiceNotFound(format!("{provider} provides no service {code}"))
            })?;
            if crate::peers::split(&consumer).is_none()
                && tongban_platform::identity::get_department(c, &consumer)?.is_none()
            {
                return Err(ExchangeError::NoGrant(format!(
                    "{consumer} is not a department of this deployment"
                )));
            }
            grants::authorize(c, &provider, &code, &consumer, &purpose, now)?;
            Ok(s)
        })
        .await?;
    let request_schema = schema::cached(&service.request_schema)
        .map_err(|e| ExchangeError::Invalid(format!("the service's request schema: {e}")))?;
    schema::check(&request_schema, &call.body, "request")?;
    let body = match service.backend.as_str() {
        "registry" => from_registry(ctx, &service, &call.body).await?,
        _ => from_rest(&service, call).await?,
    };
    let response_schema = schema::cached(&service.response_schema)
        .map_err(|e| ExchangeError::Invalid(format!("the service's response schema: {e}")))?;
    if let Err(e) = schema::check(&response_schema, &body, "response") {
        return Err(ExchangeError::Upstream(format!(
            "the provider's answer does not match its own response schema: {e}"
        )));
    }
    let form = answer_form(&call.message_id, request_digest, &body);
    let (key_id, signature, response_digest) = canonical::sign(&form)?;
    Ok((body, key_id, signature, response_digest))
}

/// A registry service: the request names the key (the registry's key field); the answer is
/// `{"found": true, "record": {…}}` or `{"found": false}`.
async fn from_registry(
    ctx: &Ctx,
    s: &store_service::Service,
    body: &Value,
) -> Result<Value, ExchangeError> {
    let name = s.registry.clone().unwrap_or_default();
    let body = body.clone();
    // The registry's key field and the record, in one read.
    ctx.db
        .view(move |c| {
            let reg = registry::get(c, &name)?.ok_or_else(|| {
                ExchangeError::Upstream(format!(
                    "registry {name} has not been loaded by its department"
                ))
            })?;
            let key = body
                .get(&reg.key_field)
                .and_then(Value::as_str)
                .unwrap_or("");
            if key.is_empty() {
                return Err(ExchangeError::InvalidRequest {
                    field: reg.key_field.clone(),
                    message: format!("the request must give {} (a string)", reg.key_field),
                });
            }
            Ok(match registry::lookup(c, &name, key)? {
                Some(r) => json!({"found": true, "record": r}),
                None => json!({"found": false}),
            })
        })
        .await
}

/// A REST service: the request is sent on, signed by this deployment, and its JSON answer
/// returned.
async fn from_rest(s: &store_service::Service, call: &Call) -> Result<Value, ExchangeError> {
    let url = s.rest_url.clone().unwrap_or_default();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(s.timeout_ms as u64))
        .build()
        .map_err(|e| ExchangeError::Upstream(e.to_string()))?;
    let out = Call {
        message_id: new_message_id(),
        sent_at: tongban_platform::time::now_millis(),
        ..call.clone()
    }
    .sign()?;
    let r = client
        .post(&url)
        .header(H_CONSUMER, encode_header(&out.consumer))
        .header(H_PURPOSE, encode_header(&out.purpose))
        .header(H_SUBJECT, encode_header(&out.subject))
        .header(H_MESSAGE_ID, &out.message_id)
        .header(H_SENT_AT, out.sent_at.to_string())
        .header(H_KEY_ID, &out.key_id)
        .header(H_SIGNATURE, &out.signature)
        .json(&out.body)
        .send()
        .await
        .map_err(|e| {
            ExchangeError::Upstream(format!(
                "the provider's service at {url} did not answer: {}",
                if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    e.to_string()
                }
            ))
        })?;
    let status = r.status();
    if !status.is_success() {
        return Err(ExchangeError::Upstream(format!(
            "the provider's service at {url} answered HTTP {}",
            status.as_u16()
        )));
    }
    r.json::<Value>().await.map_err(|e| {
        ExchangeError::Upstream(format!(
            "the provider's service at {url} did not answer JSON: {e}"
        ))
    })
}

use crate::model as store_service;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip() {
        for v in ["办件核验", "a b/c", "plain-1.0_~"] {
            assert_eq!(decode_header(&encode_header(v)).as_deref(), Some(v));
        }
        assert_eq!(decode_header("%E4%B8"), None);
        assert_eq!(decode_header("%G0"), None);
    }
}
