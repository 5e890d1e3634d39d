//! The shared templates: every page template compiled once into one minijinja environment
//! (auto-escaped HTML), with the functions templates call (`t`, `has_t`, `label`) in the
//! language of the page being rendered.

use crate::i18n::{self, Lang};
use minijinja::{Environment, State, Value};
use std::sync::OnceLock;

pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "console_followers.html",
        include_str!("../templates/console_followers.html"),
    ),
    ("register.html", include_str!("../templates/register.html")),
    ("password.html", include_str!("../templates/password.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("matters.html", include_str!("../templates/matters.html")),
    ("matter.html", include_str!("../templates/matter.html")),
    ("apply.html", include_str!("../templates/apply.html")),
    (
        "submitted.html",
        include_str!("../templates/submitted.html"),
    ),
    ("my_cases.html", include_str!("../templates/my_cases.html")),
    ("case.html", include_str!("../templates/case.html")),
    (
        "console_login.html",
        include_str!("../templates/console_login.html"),
    ),
    (
        "console_menu.html",
        include_str!("../templates/console_menu.html"),
    ),
    (
        "console_queue.html",
        include_str!("../templates/console_queue.html"),
    ),
    (
        "console_case.html",
        include_str!("../templates/console_case.html"),
    ),
    (
        "console_matters.html",
        include_str!("../templates/console_matters.html"),
    ),
    (
        "console_matter.html",
        include_str!("../templates/console_matter.html"),
    ),
    (
        "console_audit.html",
        include_str!("../templates/console_audit.html"),
    ),
    (
        "workorder_new.html",
        include_str!("../templates/workorder_new.html"),
    ),
    (
        "workorder.html",
        include_str!("../templates/workorder.html"),
    ),
    (
        "my_workorders.html",
        include_str!("../templates/my_workorders.html"),
    ),
    ("letters.html", include_str!("../templates/letters.html")),
    (
        "console_workorders.html",
        include_str!("../templates/console_workorders.html"),
    ),
    (
        "console_workorder.html",
        include_str!("../templates/console_workorder.html"),
    ),
    (
        "console_workorder_new.html",
        include_str!("../templates/console_workorder_new.html"),
    ),
    (
        "console_apikeys.html",
        include_str!("../templates/console_apikeys.html"),
    ),
    (
        "console_evaluation.html",
        include_str!("../templates/console_evaluation.html"),
    ),
    (
        "console_dashboard.html",
        include_str!("../templates/console_dashboard.html"),
    ),
    (
        "console_account.html",
        include_str!("../templates/console_account.html"),
    ),
    (
        "console_insight.html",
        include_str!("../templates/console_insight.html"),
    ),
    (
        "case_rating.html",
        include_str!("../templates/case_rating.html"),
    ),
    (
        "console_rectifications.html",
        include_str!("../templates/console_rectifications.html"),
    ),
];

thread_local! {
    /// The language of the page being rendered on this thread. Rendering is synchronous, and
    /// imported macros do not see the caller's variables, so `t()` reads it from here.
    pub(crate) static RENDER_LANG: std::cell::Cell<Lang> = const { std::cell::Cell::new(Lang::Zh) };
}

fn lang_of(_state: &State) -> Lang {
    RENDER_LANG.with(|l| l.get())
}

pub(crate) fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, src) in TEMPLATES {
            if let Err(e) = env.add_template(name, src) {
                tracing::error!(template = name, error = %e, "template does not compile");
            }
        }
        // t("key") — the text in the page's language; t("key", x) fills "{}" with x.
        env.add_function(
            "t",
            |state: &State, key: &str, arg: Option<Value>| -> String {
                let text = i18n::t(lang_of(state), key);
                match arg {
                    Some(a) => text.replace("{}", &a.to_string()),
                    None => text,
                }
            },
        );
        // has_t("key") — whether a translation exists (error codes fall back to messages).
        env.add_function("has_t", |key: &str| i18n::has(key));
        // label(field) — a schema field's label in the page's language.
        env.add_function("label", |state: &State, f: Value| -> String {
            let get = |k: &str| {
                f.get_attr(k)
                    .ok()
                    .filter(|v| !v.is_undefined() && !v.is_none())
                    .map(|v| v.to_string())
            };
            match (lang_of(state), get("label_en")) {
                (Lang::En, Some(en)) if !en.is_empty() => en,
                _ => get("label_zh").unwrap_or_default(),
            }
        });
        env
    })
}

/// Check that every template compiles (used by tests).
pub fn check_templates() -> Result<(), String> {
    let env = env();
    for (name, _) in TEMPLATES {
        env.get_template(name).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}
