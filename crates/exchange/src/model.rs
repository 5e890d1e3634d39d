//! A service a department provides, as it is registered and listed.

use crate::ExchangeError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The national sharing classes of government information resources (政务信息资源共享管理
/// 暂行办法, art. 9).
pub const SHARING: [(&str, &str, &str); 3] = [
    ("unconditional", "无条件共享", "Shared without conditions"),
    ("conditional", "有条件共享", "Shared on conditions"),
    ("none", "不予共享", "Not shared"),
];

/// What answers a service: a base registry loaded into Tongban, or an external REST service.
pub const BACKENDS: [&str; 2] = ["registry", "rest"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Service {
    /// The providing department's code.
    #[serde(default)]
    pub provider: String,
    /// Taken from the path when registering.
    #[serde(default)]
    pub code: String,
    pub version: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the request body (an OpenAPI 3 schema object is a JSON Schema).
    pub request_schema: Value,
    pub response_schema: Value,
    /// unconditional, conditional or none.
    pub sharing: String,
    /// registry or rest.
    pub backend: String,
    /// For `registry`: the registry's name.
    #[serde(default)]
    pub registry: Option<String>,
    /// For `rest`: where requests are sent (signed), and how long to wait.
    #[serde(default)]
    pub rest_url: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_ms: i64,
}

fn default_timeout() -> i64 {
    5_000
}

fn code_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

impl Service {
    /// Every problem of a definition, in one message.
    pub fn check(&self) -> Result<(), ExchangeError> {
        let mut bad = Vec::new();
        if !code_ok(&self.code) {
            bad.push(format!(
                "code must be 1-64 letters, digits, '-', '_' or '.', got {:?}",
                self.code
            ));
        }
        if self.version.trim().is_empty() || self.version.len() > 32 {
            bad.push("version must be 1-32 characters (for example 1.0)".to_owned());
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            bad.push("name must be 1-100 characters".to_owned());
        }
        if self.description.chars().count() > 2000 {
            bad.push("description must be at most 2000 characters".to_owned());
        }
        if !SHARING.iter().any(|(c, ..)| *c == self.sharing) {
            bad.push(format!(
                "sharing must be unconditional (无条件共享), conditional (有条件共享) or none (不予共享), got {:?}",
                self.sharing
            ));
        }
        for (what, s) in [
            ("request_schema", &self.request_schema),
            ("response_schema", &self.response_schema),
        ] {
            if let Err(e) = crate::schema::compile(s) {
                bad.push(format!("{what} is not a usable JSON Schema: {e}"));
            }
        }
        match self.backend.as_str() {
            "registry" => {
                if self.registry.as_deref().is_none_or(|r| !code_ok(r)) {
                    bad.push("a registry service names its registry (registry)".to_owned());
                }
            }
            "rest" => {
                let url = self.rest_url.as_deref().unwrap_or("");
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    bad.push("a rest service gives its rest_url (http:// or https://)".to_owned());
                }
                if !(100..=60_000).contains(&self.timeout_ms) {
                    bad.push("timeout_ms must be 100-60000".to_owned());
                }
            }
            other => bad.push(format!("backend must be registry or rest, got {other:?}")),
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(ExchangeError::Invalid(bad.join("; ")))
        }
    }

    /// The sharing class's Chinese name.
    pub fn sharing_name(&self) -> &'static str {
        SHARING
            .iter()
            .find(|(c, ..)| *c == self.sharing)
            .map_or("", |(_, zh, _)| zh)
    }
}
