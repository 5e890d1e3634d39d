//! One typed configuration: defaults that run the demo, overridden by a TOML file
//! (`--config`), overridden by `TONGBAN_*` environment variables.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `TONGBAN_DATABASE_URL`: `sqlite://FILE` (default `sqlite://tongban.db`) or `postgres://…`.
    pub database_url: String,
    /// `TONGBAN_PUBLIC_ADDR`: citizens and open APIs (default `127.0.0.1:8080`).
    pub public_addr: String,
    /// `TONGBAN_INTERNAL_ADDR`: staff console, admin, `/metrics` (default `127.0.0.1:8081`).
    pub internal_addr: String,
    /// `TONGBAN_PUBLIC_URL`: the address citizens and partners reach the public listener at,
    /// as published in discovery documents (default `http://` + `public_addr`). Never taken
    /// from a request's Host header.
    pub public_url: Option<String>,
    /// `TONGBAN_RATE_PER_HOUR`: anonymous work orders, registrations and submissions with
    /// files one address may make in an hour (default 20; 429 with `Retry-After` beyond).
    pub rate_per_hour: i64,
    /// `TONGBAN_RATE_PER_PHONE_DAY`: anonymous work orders one phone number may file in a
    /// day (default 10).
    pub rate_per_phone_day: i64,
    /// `TONGBAN_API_CALLS_PER_MINUTE`: open data API calls (CKAN actions) one address, or one
    /// publisher's token, may make in a minute on one node (default 600; 429 with
    /// `Retry-After` beyond).
    pub api_calls_per_minute: i64,
    /// `TONGBAN_SQL_TIME_LIMIT_MS`: the longest one open data SQL query
    /// (`datastore_search_sql`) may run before it is stopped (default 5000).
    pub sql_time_limit_ms: u64,
    /// `TONGBAN_OPEN_DATA_BUILTINS`: whether the worker publishes and refreshes the built-in
    /// open datasets from the platform's figures (default true).
    pub open_data_builtins: bool,
    /// `TONGBAN_HEADER_TIMEOUT_SECS`: time a connection has to send its request headers (and
    /// finish TLS), and the longest a keep-alive connection may sit idle (default 20).
    pub header_timeout_secs: u64,
    /// `TONGBAN_CONNECTIONS_PER_ADDRESS`: connections one address may hold open on a listener
    /// (default 256; raise it behind a reverse proxy, where every request comes from one
    /// address).
    pub connections_per_address: usize,
    /// `TONGBAN_TIMEZONE`: zone for dates and working days (default `Asia/Shanghai`).
    pub timezone: String,
    /// `TONGBAN_UPLOAD_DIR`: where uploaded materials are stored by content hash; shared by
    /// all nodes (default `uploads`).
    pub upload_dir: PathBuf,
    /// `TONGBAN_MAX_UPLOAD_BYTES`: largest single material (default 10 MiB).
    pub max_upload_bytes: usize,
    /// `TONGBAN_MAX_CASE_UPLOAD_BYTES`: all materials of one submission or supplement
    /// together (default 40 MiB).
    pub max_case_upload_bytes: usize,
    /// `TONGBAN_REGION_CODE`: administrative division code that prefixes case numbers (by
    /// default the imported region's `code`).
    pub region_code: Option<String>,
    /// `TONGBAN_CITIZEN_SESSION_MINUTES`: citizen session idle timeout (default 120).
    pub citizen_session_minutes: i64,
    /// `TONGBAN_STAFF_SESSION_MINUTES`: staff session idle timeout (default 30).
    pub staff_session_minutes: i64,
    /// `TONGBAN_LOCKOUT_FAILURES`: consecutive failed logins that lock an account (default 5).
    pub lockout_failures: i64,
    /// `TONGBAN_LOCKOUT_MINUTES`: how long a locked account stays locked (default 15).
    pub lockout_minutes: i64,
    /// `TONGBAN_ADDRESS_FAILURES`: failed logins from one address, across accounts, within
    /// `address_window_minutes` before that address must wait (default 20 in 5 minutes).
    pub address_failures: i64,
    pub address_window_minutes: i64,
    /// `TONGBAN_PUBLIC_TLS_CERT` / `TONGBAN_PUBLIC_TLS_KEY`: PEM certificate chain and key to
    /// serve the public listener over TLS (rustls); both or neither.
    pub public_tls_cert: Option<PathBuf>,
    pub public_tls_key: Option<PathBuf>,
    /// `TONGBAN_INTERNAL_TLS_CERT` / `TONGBAN_INTERNAL_TLS_KEY`: the same for the internal listener.
    pub internal_tls_cert: Option<PathBuf>,
    pub internal_tls_key: Option<PathBuf>,
    /// `TONGBAN_EXCHANGE_CA`: PEM certificates of the authorities trusted, besides the usual
    /// public roots, for HTTPS calls to exchange peers (a province's own CA).
    pub exchange_ca: Option<PathBuf>,
    /// `TONGBAN_AUDIT_RETENTION_DAYS`: audit entries younger than this are never deleted
    /// (default and minimum 180).
    pub audit_retention_days: i64,
    /// `TONGBAN_KEY_FILE`: the SM4 data keys (created on first start; keep it out of the
    /// database and back it up on its own). Default `tongban-keys.toml`.
    pub key_file: PathBuf,
    /// `TONGBAN_SMTP_URL`: where citizen e-mail goes: `smtp://host:port` (plain, e.g. a local
    /// relay), `smtp://host?tls=required` (STARTTLS) or `smtps://user:pass@host` (TLS).
    /// Unset: e-mail events are written to the log.
    pub smtp_url: Option<String>,
    /// `TONGBAN_SMS_URL`: the text-message gateway (none: messages are written to the log,
    /// masked). `aliyun://KEY_ID:KEY_SECRET@dysmsapi.aliyuncs.com?sign_name=…&template=SMS_…`
    /// for Alibaba Cloud SMS (`aliyun+http://` for a local test gateway), or
    /// `https://TOKEN@host/path` for a JSON webhook (`http://` likewise). `demo://` (what
    /// `tongban demo` uses when none is set) sends nothing and hands verification codes back
    /// to the page that asked, so the demo can be tried without a gateway; never in production.
    pub sms_url: Option<String>,
    /// `TONGBAN_MAIL_FROM`: the sender of citizen e-mail.
    pub mail_from: String,
    /// `TONGBAN_WORKER_INTERVAL_MS`: how often the background worker delivers notifications,
    /// escalates overdue work and records default ratings (default 5000).
    pub worker_interval_ms: u64,
    /// `TONGBAN_DEFAULT_RATING_DAYS`: working days after conclusion before an unrated case or
    /// order is recorded as 满意 (default 5; 0 turns default ratings off).
    pub default_rating_days: u32,
    /// `TONGBAN_RECTIFICATION_DAYS`: working days a department has to rectify a bad rating
    /// (default 5).
    pub rectification_days: u32,
    /// `TONGBAN_POPULATION`: resident population, for per-10,000 figures of the evaluation
    /// (by default the imported region's, from its divisions' `population`).
    pub population: Option<i64>,
    /// `TONGBAN_EVALUATION_WEIGHTS`: weights of the evaluation's four dimensions (基础准备,
    /// 在线服务, 电子参与, 移动政务), comma-separated; they are normalised to sum to 1.
    pub evaluation_weights: Vec<f64>,
    /// `TONGBAN_PDF_FONT`: the CJK font receipts and result notices are set in (a TrueType or
    /// OpenType file or collection, `path` or `path#face`); by default the usual places of
    /// Noto Sans CJK, WenQuanYi, Droid Sans Fallback and the macOS/Windows fonts are tried.
    pub pdf_font: Option<PathBuf>,
}

impl Config {
    /// Whether the demo's SMS gateway is configured (codes are shown to whoever asked).
    pub fn sms_demo(&self) -> bool {
        self.sms_url.as_deref().map(str::trim) == Some("demo://")
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://tongban.db".into(),
            public_addr: "127.0.0.1:8080".into(),
            internal_addr: "127.0.0.1:8081".into(),
            public_url: None,
            rate_per_hour: 20,
            header_timeout_secs: 20,
            connections_per_address: 256,
            rate_per_phone_day: 10,
            api_calls_per_minute: 600,
            sql_time_limit_ms: 5000,
            open_data_builtins: true,
            timezone: "Asia/Shanghai".into(),
            upload_dir: PathBuf::from("uploads"),
            max_upload_bytes: 10 * 1024 * 1024,
            max_case_upload_bytes: 40 * 1024 * 1024,
            region_code: None,
            citizen_session_minutes: 120,
            staff_session_minutes: 30,
            lockout_failures: 5,
            lockout_minutes: 15,
            address_failures: 20,
            address_window_minutes: 5,
            key_file: PathBuf::from("tongban-keys.toml"),
            audit_retention_days: 180,
            public_tls_cert: None,
            public_tls_key: None,
            internal_tls_cert: None,
            internal_tls_key: None,
            exchange_ca: None,
            smtp_url: None,
            sms_url: None,
            mail_from: "12345 <noreply@tongban.localhost>".into(),
            worker_interval_ms: 5000,
            default_rating_days: 5,
            rectification_days: 5,
            population: None,
            evaluation_weights: vec![0.25, 0.25, 0.3, 0.2],
            pdf_font: None,
        }
    }
}

impl Config {
    /// Defaults, then the TOML file if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
                toml::from_str::<Config>(&text)
                    .map_err(|e| format!("config {}: {e}", path.display()))?
            }
            None => Config::default(),
        };
        cfg.apply_env(|k| std::env::var(k).ok())?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        if let Some(v) = get("TONGBAN_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("TONGBAN_PUBLIC_ADDR") {
            self.public_addr = v;
        }
        if let Some(v) = get("TONGBAN_INTERNAL_ADDR") {
            self.internal_addr = v;
        }
        if let Some(v) = get("TONGBAN_PUBLIC_URL") {
            self.public_url = Some(v.trim_end_matches('/').to_owned()).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("TONGBAN_TIMEZONE") {
            self.timezone = v;
        }
        if let Some(v) = get("TONGBAN_UPLOAD_DIR") {
            self.upload_dir = PathBuf::from(v);
        }
        for (name, slot) in [
            ("TONGBAN_PUBLIC_TLS_CERT", &mut self.public_tls_cert),
            ("TONGBAN_PUBLIC_TLS_KEY", &mut self.public_tls_key),
            ("TONGBAN_INTERNAL_TLS_CERT", &mut self.internal_tls_cert),
            ("TONGBAN_INTERNAL_TLS_KEY", &mut self.internal_tls_key),
            ("TONGBAN_PDF_FONT", &mut self.pdf_font),
            ("TONGBAN_EXCHANGE_CA", &mut self.exchange_ca),
        ] {
            if let Some(v) = get(name).filter(|v| !v.is_empty()) {
                *slot = Some(PathBuf::from(v));
            }
        }
        if let Some(v) = get("TONGBAN_KEY_FILE") {
            self.key_file = PathBuf::from(v);
        }
        if let Some(v) = get("TONGBAN_SMTP_URL") {
            self.smtp_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("TONGBAN_SMS_URL") {
            self.sms_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = get("TONGBAN_MAIL_FROM") {
            self.mail_from = v;
        }
        if let Some(v) = get("TONGBAN_REGION_CODE") {
            self.region_code = Some(v);
        }
        let num = |name: &str, v: String| -> Result<i64, String> {
            v.parse::<i64>()
                .map_err(|_| format!("{name} must be a whole number, got {v:?}"))
        };
        if let Some(v) = get("TONGBAN_MAX_UPLOAD_BYTES") {
            self.max_upload_bytes = num("TONGBAN_MAX_UPLOAD_BYTES", v)?.max(0) as usize;
        }
        if let Some(v) = get("TONGBAN_MAX_CASE_UPLOAD_BYTES") {
            self.max_case_upload_bytes = num("TONGBAN_MAX_CASE_UPLOAD_BYTES", v)?.max(0) as usize;
        }
        if let Some(v) = get("TONGBAN_CITIZEN_SESSION_MINUTES") {
            self.citizen_session_minutes = num("TONGBAN_CITIZEN_SESSION_MINUTES", v)?;
        }
        if let Some(v) = get("TONGBAN_STAFF_SESSION_MINUTES") {
            self.staff_session_minutes = num("TONGBAN_STAFF_SESSION_MINUTES", v)?;
        }
        if let Some(v) = get("TONGBAN_AUDIT_RETENTION_DAYS") {
            self.audit_retention_days = num("TONGBAN_AUDIT_RETENTION_DAYS", v)?;
        }
        if let Some(v) = get("TONGBAN_WORKER_INTERVAL_MS") {
            self.worker_interval_ms = num("TONGBAN_WORKER_INTERVAL_MS", v)?.max(1) as u64;
        }
        if let Some(v) = get("TONGBAN_DEFAULT_RATING_DAYS") {
            self.default_rating_days = num("TONGBAN_DEFAULT_RATING_DAYS", v)?.clamp(0, 60) as u32;
        }
        if let Some(v) = get("TONGBAN_RECTIFICATION_DAYS") {
            self.rectification_days = num("TONGBAN_RECTIFICATION_DAYS", v)?.clamp(1, 60) as u32;
        }
        if let Some(v) = get("TONGBAN_POPULATION") {
            self.population = Some(num("TONGBAN_POPULATION", v)?);
        }
        if let Some(v) = get("TONGBAN_EVALUATION_WEIGHTS") {
            self.evaluation_weights = v
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("TONGBAN_EVALUATION_WEIGHTS must be four numbers like 0.25,0.25,0.3,0.2, got {v:?}"))?;
        }
        if let Some(v) = get("TONGBAN_HEADER_TIMEOUT_SECS") {
            self.header_timeout_secs = num("TONGBAN_HEADER_TIMEOUT_SECS", v)?.clamp(1, 3600) as u64;
        }
        if let Some(v) = get("TONGBAN_CONNECTIONS_PER_ADDRESS") {
            self.connections_per_address =
                num("TONGBAN_CONNECTIONS_PER_ADDRESS", v)?.clamp(1, 1_000_000) as usize;
        }
        if let Some(v) = get("TONGBAN_RATE_PER_HOUR") {
            self.rate_per_hour = num("TONGBAN_RATE_PER_HOUR", v)?;
        }
        if let Some(v) = get("TONGBAN_API_CALLS_PER_MINUTE") {
            self.api_calls_per_minute = num("TONGBAN_API_CALLS_PER_MINUTE", v)?;
        }
        if let Some(v) = get("TONGBAN_OPEN_DATA_BUILTINS") {
            self.open_data_builtins = match v.trim() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" => false,
                other => {
                    return Err(format!(
                        "TONGBAN_OPEN_DATA_BUILTINS: true or false, not {other:?}"
                    ))
                }
            };
        }
        if let Some(v) = get("TONGBAN_SQL_TIME_LIMIT_MS") {
            self.sql_time_limit_ms = num("TONGBAN_SQL_TIME_LIMIT_MS", v)?.clamp(1, 600_000) as u64;
        }
        if let Some(v) = get("TONGBAN_RATE_PER_PHONE_DAY") {
            self.rate_per_phone_day = num("TONGBAN_RATE_PER_PHONE_DAY", v)?;
        }
        if let Some(v) = get("TONGBAN_LOCKOUT_FAILURES") {
            self.lockout_failures = num("TONGBAN_LOCKOUT_FAILURES", v)?;
        }
        if let Some(v) = get("TONGBAN_LOCKOUT_MINUTES") {
            self.lockout_minutes = num("TONGBAN_LOCKOUT_MINUTES", v)?;
        }
        if let Some(v) = get("TONGBAN_ADDRESS_FAILURES") {
            self.address_failures = num("TONGBAN_ADDRESS_FAILURES", v)?;
        }
        Ok(())
    }

    /// The public listener's address as published (see `public_url`).
    pub fn public_base(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.public_addr))
    }

    pub fn validate(&self) -> Result<(), String> {
        if let Some(u) = &self.public_url {
            if !(u.starts_with("http://") || u.starts_with("https://")) {
                return Err(format!(
                    "public_url must start with http:// or https://, got {u:?}"
                ));
            }
        }
        crate::time::parse_tz(&self.timezone)?;
        if let Some(code) = &self.region_code {
            if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "region_code must be a 6-digit administrative division code, got {code:?}"
                ));
            }
        }
        if self.citizen_session_minutes < 1 || self.staff_session_minutes < 1 {
            return Err("session timeouts must be at least 1 minute".into());
        }
        if self.public_tls_cert.is_some() != self.public_tls_key.is_some()
            || self.internal_tls_cert.is_some() != self.internal_tls_key.is_some()
        {
            return Err("give a TLS certificate and its key together (public_tls_cert/public_tls_key, internal_tls_cert/internal_tls_key)".into());
        }
        if self.audit_retention_days < 180 {
            return Err(format!(
                "audit_retention_days must be at least 180, got {}",
                self.audit_retention_days
            ));
        }
        if self.lockout_failures < 1
            || self.lockout_minutes < 1
            || self.address_failures < 1
            || self.address_window_minutes < 1
        {
            return Err("lockout_failures, lockout_minutes, address_failures and address_window_minutes must be at least 1".into());
        }
        if self.header_timeout_secs < 1 || self.connections_per_address < 1 {
            return Err(
                "header_timeout_secs and connections_per_address must be at least 1".into(),
            );
        }
        if self.rate_per_hour < 1 || self.rate_per_phone_day < 1 || self.api_calls_per_minute < 1 {
            return Err(
                "rate_per_hour, rate_per_phone_day and api_calls_per_minute must be at least 1"
                    .into(),
            );
        }
        if self.population.is_some_and(|p| p < 1) {
            return Err("population must be at least 1".into());
        }
        if self.evaluation_weights.len() != 4
            || self
                .evaluation_weights
                .iter()
                .any(|w| !w.is_finite() || *w < 0.0)
            || self.evaluation_weights.iter().sum::<f64>() <= 0.0
        {
            return Err(
                "evaluation_weights must be four non-negative numbers, not all zero".into(),
            );
        }
        if self.rectification_days < 1 || self.worker_interval_ms < 1 {
            return Err("rectification_days and worker_interval_ms must be at least 1".into());
        }
        if self.mail_from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(format!(
                "mail_from must be an address like 12345 <noreply@example.gov.cn>, got {:?}",
                self.mail_from
            ));
        }
        Ok(())
    }

    /// The TLS certificate and key of a listener, if it is served over TLS.
    pub fn tls(&self, internal: bool) -> Option<(PathBuf, PathBuf)> {
        let (c, k) = if internal {
            (&self.internal_tls_cert, &self.internal_tls_key)
        } else {
            (&self.public_tls_cert, &self.public_tls_key)
        };
        Some((c.clone()?, k.clone()?))
    }

    pub fn login_limits(&self) -> crate::throttle::Limits {
        crate::throttle::Limits {
            account_failures: self.lockout_failures,
            lock_ms: self.lockout_minutes * 60_000,
            address_failures: self.address_failures,
            address_window_ms: self.address_window_minutes * 60_000,
        }
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        crate::time::parse_tz(&self.timezone).unwrap_or(chrono_tz::Asia::Shanghai)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_defaults() {
        let mut c: Config =
            toml::from_str("public_addr = \"0.0.0.0:9000\"\nregion_code = \"320100\"").unwrap();
        assert_eq!(c.public_addr, "0.0.0.0:9000");
        assert_eq!(c.internal_addr, "127.0.0.1:8081");
        c.apply_env(|k| (k == "TONGBAN_PUBLIC_ADDR").then(|| "127.0.0.1:1".to_string()))
            .unwrap();
        assert_eq!(c.public_addr, "127.0.0.1:1");
        assert_eq!(c.region_code.as_deref(), Some("320100"));
    }

    #[test]
    fn bad_values_are_named() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "TONGBAN_STAFF_SESSION_MINUTES").then(|| "ten".to_string()))
            .unwrap_err();
        assert!(err.contains("TONGBAN_STAFF_SESSION_MINUTES"));
        c.timezone = "Mars/Base".into();
        assert!(c.validate().unwrap_err().contains("Mars/Base"));
        assert!(toml::from_str::<Config>("no_such_key = 1").is_err());
    }
}
