//! The shared templates: every page template compiled once into one minijinja environment
//! (auto-escaped HTML), with the functions templates call (`t`, `has_t`, `label`) in the
//! language of the page being rendered.

use crate::i18n::{self, Lang};
use minijinja::{Environment, State, Value};
use std::sync::OnceLock;

pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "data_catalogue.html",
        include_str!("../templates/data_catalogue.html"),
    ),
    (
        "data_dataset.html",
        include_str!("../templates/data_dataset.html"),
    ),
    ("data_api.html", include_str!("../templates/data_api.html")),
    (
        "data_request.html",
        include_str!("../templates/data_request.html"),
    ),
    (
        "data_requests.html",
        include_str!("../templates/data_requests.html"),
    ),
    (
        "console_articles.html",
        include_str!("../templates/console_articles.html"),
    ),
    (
        "console_article_fields.html",
        include_str!("../templates/console_article_fields.html"),
    ),
    (
        "console_article.html",
        include_str!("../templates/console_article.html"),
    ),
    (
        "console_disclosure.html",
        include_str!("../templates/console_disclosure.html"),
    ),
    (
        "console_disclosure_one.html",
        include_str!("../templates/console_disclosure_one.html"),
    ),
    (
        "site_base.html",
        include_str!("../templates/site_base.html"),
    ),
    ("sites.html", include_str!("../templates/sites.html")),
    ("site.html", include_str!("../templates/site.html")),
    (
        "site_column.html",
        include_str!("../templates/site_column.html"),
    ),
    (
        "site_article.html",
        include_str!("../templates/site_article.html"),
    ),
    (
        "gk_catalogue.html",
        include_str!("../templates/gk_catalogue.html"),
    ),
    ("gk_guide.html", include_str!("../templates/gk_guide.html")),
    (
        "gk_reports.html",
        include_str!("../templates/gk_reports.html"),
    ),
    (
        "gk_report.html",
        include_str!("../templates/gk_report.html"),
    ),
    ("gk_apply.html", include_str!("../templates/gk_apply.html")),
    (
        "my_disclosure.html",
        include_str!("../templates/my_disclosure.html"),
    ),
    (
        "my_disclosure_one.html",
        include_str!("../templates/my_disclosure_one.html"),
    ),
    ("macros.html", include_str!("../templates/macros.html")),
    ("error.html", include_str!("../templates/error.html")),
    ("login.html", include_str!("../templates/login.html")),
    (
        "console_followers.html",
        include_str!("../templates/console_followers.html"),
    ),
    ("register.html", include_str!("../templates/register.html")),
    ("account.html", include_str!("../templates/account.html")),
    ("offline.html", include_str!("../templates/offline.html")),
    (
        "oidc_consent.html",
        include_str!("../templates/oidc_consent.html"),
    ),
    (
        "account_apps.html",
        include_str!("../templates/account_apps.html"),
    ),
    (
        "oidc_onward.html",
        include_str!("../templates/oidc_onward.html"),
    ),
    ("phone.html", include_str!("../templates/phone.html")),
    (
        "phone_code_sent.html",
        include_str!("../templates/phone_code_sent.html"),
    ),
    (
        "phone_code_field.html",
        include_str!("../templates/phone_code_field.html"),
    ),
    ("password.html", include_str!("../templates/password.html")),
    ("home.html", include_str!("../templates/home.html")),
    ("matters.html", include_str!("../templates/matters.html")),
    ("matter.html", include_str!("../templates/matter.html")),
    ("apply.html", include_str!("../templates/apply.html")),
    (
        "apply_review.html",
        include_str!("../templates/apply_review.html"),
    ),
    (
        "submitted.html",
        include_str!("../templates/submitted.html"),
    ),
    ("my_cases.html", include_str!("../templates/my_cases.html")),
    (
        "my_certificates.html",
        include_str!("../templates/my_certificates.html"),
    ),
    (
        "my_certificate.html",
        include_str!("../templates/my_certificate.html"),
    ),
    (
        "certificate_check.html",
        include_str!("../templates/certificate_check.html"),
    ),
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
    ("search.html", include_str!("../templates/search.html")),
    (
        "console_search.html",
        include_str!("../templates/console_search.html"),
    ),
    (
        "console_exchange.html",
        include_str!("../templates/console_exchange.html"),
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
            |state: &State, key: &str, arg: Option<Value>, second: Option<Value>| -> String {
                // A count of one takes English's singular.
                let n = arg.as_ref().and_then(|a| {
                    f64::try_from(a.clone())
                        .ok()
                        .or_else(|| a.as_str()?.parse().ok())
                });
                let text = i18n::t_n(lang_of(state), key, n);
                match (arg, second) {
                    // Two values fill the text's two places in order.
                    (Some(a), Some(b)) => {
                        text.replacen("{}", &a.to_string(), 1)
                            .replacen("{}", &b.to_string(), 1)
                    }
                    (Some(a), None) => text.replace("{}", &a.to_string()),
                    _ => text,
                }
            },
        );
        // icon("warn") — an inline SVG icon, drawn in the text's colour (no emoji font needed).
        env.add_function("icon", |name: &str| Value::from_safe_string(icon(name)));
        // x|num — a figure as people write it: whole numbers without ".0", others to one
        // decimal place.
        env.add_filter("num", number);
        env.add_filter("filesize", filesize);
        // has_t("key") — whether a translation exists (error codes fall back to messages).
        env.add_function("has_t", |key: &str| i18n::has(key));
        // local(obj, "name") — obj.name in the page's language: obj.name_en for English
        // readers when there is one, else the Chinese marked lang="zh-CN" (so a screen reader
        // reads it as Chinese).
        env.add_function("local", |state: &State, obj: Value, field: &str| -> Value {
            let get = |k: &str| {
                obj.get_attr(k)
                    .ok()
                    .filter(|v| !v.is_undefined() && !v.is_none())
                    .map(|v| v.to_string())
                    .filter(|v| !v.is_empty())
            };
            let zh = get(field).unwrap_or_default();
            let escaped = |t: &str| {
                t.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
                    .replace('"', "&quot;")
            };
            if lang_of(state) != Lang::En {
                return Value::from(zh);
            }
            match get(&format!("{field}_en")) {
                Some(en) => Value::from(en),
                None if zh.is_empty() => Value::from(""),
                None => {
                    Value::from_safe_string(format!("<span lang=\"zh-CN\">{}</span>", escaped(&zh)))
                }
            }
        });
        // label(field) — a schema field's label in the page's language.
        env.add_function("label", |state: &State, f: Value| -> String {
            let get = |k: &str| {
                f.get_attr(k)
                    .ok()
                    .filter(|v| !v.is_undefined() && !v.is_none())
                    .map(|v| v.to_string())
            };
            // Form fields carry label_zh/label_en; materials name_en/name.
            let en = get("label_en").or_else(|| get("name_en"));
            match (lang_of(state), en) {
                (Lang::En, Some(en)) if !en.is_empty() => en,
                _ => get("label_zh").or_else(|| get("name")).unwrap_or_default(),
            }
        });
        env
    })
}

/// `v` as people write a figure: a whole number without ".0" (80683, not 80683.0; 0, not
/// 0.0), anything else rounded to one decimal place.
/// A file's size for people: bytes below a kilobyte, then KB and MB with one decimal.
pub fn filesize(bytes: f64) -> String {
    if bytes < 1024.0 {
        format!("{} B", bytes.max(0.0) as i64)
    } else if bytes < 1024.0 * 1024.0 {
        format!("{} KB", number(bytes / 1024.0))
    } else {
        format!("{} MB", number(bytes / 1024.0 / 1024.0))
    }
}

pub fn number(v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// The inline SVG of icon `name` (`warn`, `clock`, `error`, `ok`): decorative, hidden from
/// screen readers (the text beside it says the same), sized to the text and drawn in its
/// colour, so it shows the same on every device whatever fonts it has.
pub fn icon(name: &str) -> String {
    let body = match name {
        "warn" => r#"<path d="M12 3 2 21h20L12 3z"/><path d="M12 10v5M12 18v.5"/>"#,
        "clock" => r#"<circle cx="12" cy="13" r="8"/><path d="M12 9v4l3 2M5 4 2 7M19 4l3 3"/>"#,
        "error" => r#"<circle cx="12" cy="12" r="9"/><path d="m9 9 6 6M15 9l-6 6"/>"#,
        "ok" => r#"<circle cx="12" cy="12" r="9"/><path d="m8 12 3 3 5-6"/>"#,
        "doc" => r#"<path d="M6 2h8l4 4v16H6z"/><path d="M14 2v4h4M9 12h6M9 16h6"/>"#,
        "phone" => {
            r#"<path d="M5 3h4l2 5-2.5 1.5a11 11 0 0 0 6 6L16 13l5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z"/>"#
        }
        _ => return String::new(),
    };
    format!(
        r#"<svg class="icon" viewBox="0 0 24 24" width="1em" height="1em" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">{body}</svg>"#
    )
}

/// Check that every template compiles (used by tests).
pub fn check_templates() -> Result<(), String> {
    let env = env();
    for (name, _) in TEMPLATES {
        env.get_template(name).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Emoji and dingbats draw as empty boxes where no emoji font is installed.
    fn pictograph(c: char) -> bool {
        matches!(c as u32, 0x2300..=0x23FF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x1F000..=0x1FAFF)
    }

    #[test]
    fn file_sizes_read_as_people_write_them() {
        assert_eq!(filesize(30.0), "30 B");
        assert_eq!(filesize(1536.0), "1.5 KB");
        assert_eq!(filesize(2048.0), "2 KB");
        assert_eq!(filesize(5.0 * 1024.0 * 1024.0), "5 MB");
    }

    #[test]
    fn icons_are_inline_svg_not_emoji() {
        for (name, src) in TEMPLATES {
            let found: Vec<char> = src.chars().filter(|c| pictograph(*c)).collect();
            assert!(found.is_empty(), "{name} draws {found:?} as text");
        }
        for name in ["warn", "clock", "error", "ok", "doc", "phone"] {
            let svg = icon(name);
            assert!(
                svg.starts_with("<svg") && svg.contains("aria-hidden=\"true\""),
                "{name}: {svg}"
            );
        }
        assert_eq!(icon("no-such-icon"), "");
        let html = env()
            .render_str(r#"<p>{{ icon("clock") }}</p>"#, ())
            .unwrap();
        assert!(
            html.starts_with("<p><svg class=\"icon\""),
            "escaped: {html}"
        );
    }

    #[test]
    fn figures_are_written_as_people_write_them() {
        assert_eq!(number(80683.0), "80683");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.04), "0");
        assert_eq!(number(12.34), "12.3");
        assert_eq!(number(-3.96), "-4");
        assert_eq!(number(f64::NAN), "—");
        let html = env()
            .render_str(
                "{{ a|num }} {{ b|num }} {{ c|num }}",
                minijinja::context! { a => 80683.0, b => 7, c => 0.25 },
            )
            .unwrap();
        assert_eq!(html, "80683 7 0.3");
    }

    #[test]
    fn disclosure_markers_stay_visible() {
        // A summary displayed as anything but a list item loses its ▸/▾ marker.
        let css = crate::routes::SITE_CSS;
        for rule in css.split('}') {
            let Some((selector, body)) = rule.split_once('{') else {
                continue;
            };
            let selector = selector.lines().last().unwrap_or_default();
            if selector.contains("summary") && body.contains("display") {
                assert!(
                    body.contains("display: list-item"),
                    "{selector} {{{body}}} hides the disclosure marker"
                );
            }
        }
    }
}
