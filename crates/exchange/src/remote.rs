//! Calls out. A provider named `{peer}/{department}` is a department of another Tongban
//! deployment: the call is signed here, sent over HTTPS to the peer's exchange endpoint, and
//! its answer accepted only when it carries the peer's pinned key's signature over this very
//! request (its digest) and the body as received. Both sides log the exchange: the peer as
//! the provider, this deployment as the consumer (provider `{peer}/{department}`).

use crate::call::{self, Answer, Call};
use crate::canonical::{self, digest};
use crate::log::{self, Entry};
use crate::peers::{self, Peer};
use crate::ExchangeError;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tongban_platform::Ctx;

/// Call service `service` of `provider` (a department here, or `{peer}/{department}`) as
/// department `consumer` of this deployment.
pub async fn to(
    ctx: &Ctx,
    consumer: &str,
    provider: &str,
    service: &str,
    purpose: &str,
    subject: &str,
    body: Value,
) -> Result<Answer, ExchangeError> {
    match peers::split(provider) {
        None => call::local(ctx, consumer, provider, service, purpose, subject, body).await,
        Some((peer, department)) => {
            let call = Call::new(consumer, department, service, purpose, subject, body);
            remote(ctx, peer, call).await
        }
    }
}

/// Send `call` (unsigned yet) to peer `peer`, and log it here whatever the outcome.
async fn remote(ctx: &Ctx, peer: &str, call: Call) -> Result<Answer, ExchangeError> {
    let started = Instant::now();
    let name = peer.to_owned();
    let peer = ctx
        .db
        .read(move |c| peers::get(c, &name))
        .await?
        .ok_or_else(|| {
            ExchangeError::ServiceNotFound(format!(
                "{peer} is not a peer of this deployment: an operator adds it with `tongban exchange peer add`"
            ))
        })?;
    let call = call.sign()?;
    let request_digest = hex::encode(digest(&call.signed_form()));
    let mut entry = Entry {
        message_id: call.message_id.clone(),
        at: call.sent_at,
        consumer: call.consumer.clone(),
        provider: format!("{}/{}", peer.name, call.provider),
        service: call.service.clone(),
        purpose: call.purpose.clone(),
        subject: call.subject.clone(),
        outcome: String::new(),
        key_id: call.key_id.clone(),
        request_digest: request_digest.clone(),
        response_digest: String::new(),
        elapsed_us: 0,
    };
    let result = exchange(
        ctx.config.exchange_ca.as_deref(),
        &peer,
        &call,
        &request_digest,
    )
    .await;
    entry.elapsed_us = started.elapsed().as_micros() as i64;
    match result {
        Ok((body, signature, response_digest)) => {
            let seq = log::answered(&ctx.db, entry, response_digest).await?;
            Ok(Answer {
                body,
                message_id: call.message_id,
                request_digest,
                key_id: peer.key_id,
                signature,
                public_key: peer.public_key,
                seq: seq.unwrap_or(0),
            })
        }
        Err(err) => {
            log::refused(&ctx.db, entry, &err).await?;
            Err(err)
        }
    }
}

/// The HTTPS round trip and the checks of the answer: (body, signature, response digest).
async fn exchange(
    ca: Option<&Path>,
    peer: &Peer,
    call: &Call,
    request_digest: &str,
) -> Result<(Value, String, String), ExchangeError> {
    let url = format!(
        "{}/exchange/v1/{}/{}",
        peer.url,
        call::encode_header(&call.provider),
        call::encode_header(&call.service)
    );
    let r = client(ca)?
        .post(&url)
        .header(call::H_CONSUMER, call::encode_header(&call.consumer))
        .header(call::H_PURPOSE, call::encode_header(&call.purpose))
        .header(call::H_SUBJECT, call::encode_header(&call.subject))
        .header(call::H_MESSAGE_ID, &call.message_id)
        .header(call::H_SENT_AT, call.sent_at.to_string())
        .header(call::H_KEY_ID, &call.key_id)
        .header(call::H_SIGNATURE, &call.signature)
        .json(&call.body)
        .send()
        .await
        .map_err(|e| {
            ExchangeError::Upstream(format!(
                "peer {} at {url} did not answer: {}",
                peer.name,
                if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    e.to_string()
                }
            ))
        })?;
    let status = r.status();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (key_id, signature, digest_back, message_id) = (
        header(call::H_KEY_ID),
        header(call::H_SIGNATURE),
        header(call::H_REQUEST_DIGEST),
        header(call::H_MESSAGE_ID),
    );
    let bytes = r.bytes().await.map_err(|e| {
        ExchangeError::Upstream(format!("peer {}'s answer broke off: {e}", peer.name))
    })?;
    if !status.is_success() {
        return Err(refusal(&peer.name, status.as_u16(), &bytes));
    }
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ExchangeError::BadSignature(format!(
            "peer {}'s answer is not the JSON it signs: {e}",
            peer.name
        ))
    })?;
    if key_id != peer.key_id {
        return Err(ExchangeError::BadSignature(format!(
            "peer {}'s answer is signed with key {key_id:?}, not its pinned key {}",
            peer.name, peer.key_id
        )));
    }
    if digest_back != request_digest || message_id != call.message_id {
        return Err(ExchangeError::BadSignature(format!(
            "peer {}'s answer is for another request (its request digest or message id differs)",
            peer.name
        )));
    }
    let form = call::answer_form(&message_id, request_digest, &body);
    if !canonical::verify(&form, &peer.public_key, &signature) {
        return Err(ExchangeError::BadSignature(format!(
            "peer {}'s answer does not match its signature: it was changed in transit",
            peer.name
        )));
    }
    Ok((body, signature, hex::encode(digest(&form))))
}

/// A peer's refusal as the error it names (its code kept), prefixed with the peer.
fn refusal(peer: &str, status: u16, bytes: &[u8]) -> ExchangeError {
    let v: Value = serde_json::from_slice(bytes).unwrap_or_default();
    let code = v["error"]["code"].as_str().unwrap_or("");
    let m = format!(
        "peer {peer} refused (HTTP {status}): {}",
        v["error"]["message"].as_str().unwrap_or("no reason given")
    );
    match code {
        "no_grant" => ExchangeError::NoGrant(m),
        "grant_expired" => ExchangeError::GrantExpired(m),
        "purpose_not_granted" => ExchangeError::PurposeNotGranted(m),
        "bad_signature" => ExchangeError::BadSignature(m),
        "replayed" => ExchangeError::Replayed(m),
        "service_not_found" => ExchangeError::ServiceNotFound(m),
        "invalid_request" => ExchangeError::InvalidRequest {
            field: v["error"]["fields"]
                .as_object()
                .and_then(|f| f.keys().next().cloned())
                .unwrap_or_default(),
            message: m,
        },
        _ => ExchangeError::Upstream(m),
    }
}

/// The HTTPS client for peers: the public roots, plus the authorities in `ca` (PEM) when
/// given; built once per CA file.
fn client(ca: Option<&Path>) -> Result<reqwest::Client, ExchangeError> {
    static KEPT: Mutex<Option<(Option<PathBuf>, reqwest::Client)>> = Mutex::new(None);
    let key = ca.map(Path::to_path_buf);
    if let Some((k, c)) = KEPT.lock().ok().and_then(|k| k.clone()) {
        if k == key {
            return Ok(c);
        }
    }
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15));
    if let Some(path) = ca {
        let pem = std::fs::read(path).map_err(|e| {
            ExchangeError::Upstream(format!(
                "TONGBAN_EXCHANGE_CA {} cannot be read: {e}",
                path.display()
            ))
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            ExchangeError::Upstream(format!(
                "TONGBAN_EXCHANGE_CA {} holds no PEM certificates: {e}",
                path.display()
            ))
        })?;
        for cert in certs {
            b = b.add_root_certificate(cert);
        }
    }
    let c = b
        .build()
        .map_err(|e| ExchangeError::Upstream(format!("cannot make the HTTPS client: {e}")))?;
    if let Ok(mut k) = KEPT.lock() {
        *k = Some((key, c.clone()));
    }
    Ok(c)
}
