//! Text-message gateways, chosen by `sms_url`: Alibaba Cloud SMS (`SendSms` of the
//! `dysmsapi` 2017-05-25 API: an HTTPS POST signed with HMAC-SHA1 over the canonical query,
//! a sign name, a template code and its parameters as JSON), a JSON webhook for any other
//! gateway, or the log. A refusal that a later try cannot change (a bad number, a wrong
//! template or key) is given up with the provider's reason; an outage (5xx, timeout, a
//! provider's throttling) is tried again with backoff by the outbox. The phone number is
//! never written to the log, and never kept in an error.

use crate::notify::SmsProvider;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// A boxed send.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), (bool, String)>> + Send + 'a>>;

/// The gateway `url` names (the log when there is none).
pub fn provider(url: Option<&str>) -> Result<Arc<dyn SmsProvider>, String> {
    let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
        return Ok(Arc::new(crate::notify::LogSms));
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("sms_url {:?}: expected scheme://…", redact(url)))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("sms_url: {e}"))?;
    match scheme {
        "demo" => Ok(Arc::new(crate::notify::DemoSms)),
        "aliyun" | "aliyun+http" => Ok(Arc::new(Aliyun::parse(scheme, rest, client)?)),
        "https" | "http" => Ok(Arc::new(Webhook::parse(scheme, rest, client)?)),
        other => Err(format!(
            "sms_url: unknown gateway {other:?}; use aliyun://, https:// (a JSON webhook) or leave it empty"
        )),
    }
}

/// The URL without its secrets, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://…{}", &url[at..]),
        _ => url.to_owned(),
    }
}

fn query_of(s: &str) -> BTreeMap<String, String> {
    s.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encoding as Alibaba Cloud's signature wants it (RFC 3986: unreserved characters
/// kept, everything else `%XX` in upper case, so a space is `%20` and `*` is `%2A`).
pub fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The signature of a `SendSms` request: Base64(HMAC-SHA1(secret + "&",
/// "POST&%2F&" + percent(canonical query))). Returns (canonical query, signature).
pub fn aliyun_signature(params: &BTreeMap<String, String>, secret: &str) -> (String, String) {
    let canonical = params
        .iter()
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&");
    let to_sign = format!("POST&{}&{}", percent("/"), percent(&canonical));
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes any key length");
    mac.update(to_sign.as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (canonical, sig)
}

/// Alibaba Cloud SMS.
pub struct Aliyun {
    base: String,
    key_id: String,
    secret: String,
    sign_name: String,
    template: String,
    /// The template's variable that carries the text (default `content`).
    param: String,
    region: String,
    client: reqwest::Client,
}

impl Aliyun {
    fn parse(scheme: &str, rest: &str, client: reqwest::Client) -> Result<Aliyun, String> {
        let (auth, hostq) = rest
            .rsplit_once('@')
            .ok_or("sms_url: aliyun://KEY_ID:KEY_SECRET@host?sign_name=…&template=…")?;
        let (key_id, secret) = auth
            .split_once(':')
            .ok_or("sms_url: give the AccessKey as KEY_ID:KEY_SECRET")?;
        let (host, query) = hostq.split_once('?').unwrap_or((hostq, ""));
        let q = query_of(query);
        let need = |k: &str| {
            q.get(k)
                .filter(|v| !v.is_empty())
                .cloned()
                .ok_or_else(|| format!("sms_url: aliyun needs {k}=…"))
        };
        Ok(Aliyun {
            base: format!(
                "{}://{}",
                if scheme == "aliyun" { "https" } else { "http" },
                host.trim_end_matches('/')
            ),
            key_id: decode(key_id),
            secret: decode(secret),
            sign_name: need("sign_name")?,
            template: need("template")?,
            param: q.get("param").cloned().unwrap_or_else(|| "content".into()),
            region: q
                .get("region")
                .cloned()
                .unwrap_or_else(|| "cn-hangzhou".into()),
            client,
        })
    }

    /// What a provider's code means for the outbox: `true` when a later try may succeed.
    fn retriable(code: &str) -> bool {
        matches!(
            code,
            "isv.BUSINESS_LIMIT_CONTROL"
                | "Throttling"
                | "Throttling.User"
                | "ServiceUnavailable"
                | "InternalError"
                | "isp.SYSTEM_ERROR"
                | "isp.RAM_PERMISSION_DENY"
        )
    }

    async fn send_now(&self, phone: &str, text: &str) -> Result<(), (bool, String)> {
        let mut p: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in [
            ("AccessKeyId", self.key_id.clone()),
            ("Action", "SendSms".into()),
            ("Format", "JSON".into()),
            ("PhoneNumbers", phone.to_owned()),
            ("RegionId", self.region.clone()),
            ("SignName", self.sign_name.clone()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureNonce", crate::crypto::random_token()),
            ("SignatureVersion", "1.0".into()),
            ("TemplateCode", self.template.clone()),
            (
                "TemplateParam",
                serde_json::json!({ self.param.as_str(): text }).to_string(),
            ),
            (
                "Timestamp",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            ("Version", "2017-05-25".into()),
        ] {
            p.insert(k.to_owned(), v);
        }
        let (canonical, sig) = aliyun_signature(&p, &self.secret);
        let body = format!("Signature={}&{canonical}", percent(&sig));
        let r = self
            .client
            .post(format!("{}/", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| (true, format!("aliyun: not reached: {}", e.without_url())))?;
        let status = r.status();
        let v: serde_json::Value = r.json().await.unwrap_or_default();
        let code = v["Code"].as_str().unwrap_or("");
        let message = crate::mask::scrub_text(v["Message"].as_str().unwrap_or(""));
        if status.is_success() && code == "OK" {
            return Ok(());
        }
        if status.is_server_error() || (code.is_empty() && !status.is_client_error()) {
            return Err((true, format!("aliyun: HTTP {status} {code} {message}")));
        }
        Err((
            Self::retriable(code),
            format!(
                "aliyun refused: {code}: {message} (HTTP {})",
                status.as_u16()
            ),
        ))
    }
}

impl SmsProvider for Aliyun {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> Sending<'a> {
        Box::pin(self.send_now(phone, text))
    }
}

/// Any gateway that takes `{"phone", "text"}` as JSON (with `Authorization: Bearer TOKEN`
/// when the URL carries one): 2xx sent, 4xx refused (given up), 5xx or no answer retried.
pub struct Webhook {
    url: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Webhook {
    fn parse(scheme: &str, rest: &str, client: reqwest::Client) -> Result<Webhook, String> {
        let (token, hostpath) = match rest.split_once('@') {
            Some((t, h)) if !t.contains('/') => (Some(decode(t)), h),
            _ => (None, rest),
        };
        if hostpath.is_empty() {
            return Err("sms_url: a webhook needs a host".into());
        }
        Ok(Webhook {
            url: format!("{scheme}://{hostpath}"),
            token,
            client,
        })
    }

    async fn send_now(&self, phone: &str, text: &str) -> Result<(), (bool, String)> {
        let mut req = self
            .client
            .post(&self.url)
            .json(&serde_json::json!({"phone": phone, "text": text}));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let r = req
            .send()
            .await
            .map_err(|e| (true, format!("webhook: not reached: {}", e.without_url())))?;
        let status = r.status();
        if status.is_success() {
            return Ok(());
        }
        let body: String = crate::mask::scrub_text(&r.text().await.unwrap_or_default())
            .chars()
            .take(200)
            .collect();
        Err((
            status.is_server_error() || status.as_u16() == 429,
            format!("webhook: HTTP {}: {body}", status.as_u16()),
        ))
    }
}

impl SmsProvider for Webhook {
    fn send<'a>(&'a self, phone: &'a str, text: &'a str) -> Sending<'a> {
        Box::pin(self.send_now(phone, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_follows_the_published_example() {
        // Alibaba Cloud's documented example for SendSms (accessKeyId testId, secret
        // testSecret, nonce 45e25e9b-0a6f-4070-8c85-2956eda1b466, 2017-07-12T02:42:19Z)
        // signs to zJDF+Lrzhj/ThnlvIToysFRq6t4= with GET; we sign POST, whose string to
        // sign differs only in its first word.
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", "{\"customer\":\"test\"}"),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ] {
            p.insert(k.to_owned(), v.to_owned());
        }
        let (canonical, _) = aliyun_signature(&p, "testSecret");
        assert!(canonical.starts_with("AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123"));
        assert!(canonical.contains("SignName=%E9%98%BF%E9%87%8C%E4%BA%91"));
        assert!(canonical.contains("TemplateParam=%7B%22customer%22%3A%22test%22%7D"));
        assert!(canonical.contains("Timestamp=2017-07-12T02%3A42%3A19Z"));
        let to_sign = format!("GET&{}&{}", percent("/"), percent(&canonical));
        let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(b"testSecret&").unwrap();
        mac.update(to_sign.as_bytes());
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(sig, "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
    }

    #[test]
    fn urls_are_read_and_secrets_kept_out_of_messages() {
        assert!(provider(None).is_ok() && provider(Some("")).is_ok());
        let e = provider(Some("smpp://u:p@host")).err().unwrap_or_default();
        assert!(e.contains("unknown gateway"));
        let e = provider(Some("aliyun://id:secret@dysmsapi.aliyuncs.com"))
            .err()
            .unwrap_or_default();
        assert!(e.contains("sign_name") && !e.contains("secret"));
        assert!(provider(Some(
            "aliyun://id:secret@dysmsapi.aliyuncs.com?sign_name=%E6%B5%8B%E8%AF%95&template=SMS_1"
        ))
        .is_ok());
        assert!(provider(Some("https://token@sms.example.gov.cn/send")).is_ok());
        assert_eq!(redact("aliyun://id:secret@host?x=1"), "aliyun://…@host?x=1");
        assert_eq!(decode("%E6%B5%8B%E8%AF%95"), "测试");
        assert_eq!(
            decode("%测%4"),
            "%测%4",
            "a bad escape is kept, never a panic"
        );
    }
}
