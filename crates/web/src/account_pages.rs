//! A citizen's own account pages: registration with a code sent to the phone, the account
//! overview, and changing the password or the phone. Each form works without JavaScript:
//! "get a code" is a second submit button of the same form, which comes back filled in.

use crate::form::SafeForm;
use crate::page::{safe_next, CitizenPage, Page};
use crate::routes::{field_errors, with_cookie};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{context, Value};
use std::collections::HashMap;
use tongban_platform::accounts::{self, Registration};
use tongban_platform::http::ClientAddr;
use tongban_platform::phone_codes::{self, Purpose};
use tongban_platform::{ApiError, Ctx};

/// Paths of these pages (public listener).
pub const PATHS: [&str; 4] = [
    "/register",
    "/account",
    "/account/password",
    "/account/phone",
];

pub fn router() -> axum::Router<Ctx> {
    use axum::routing::get;
    let [register_path, account_path, password_path, phone_path] = PATHS;
    axum::Router::new()
        .route(register_path, get(register_form).post(register))
        .route(account_path, get(account))
        .route(password_path, get(password_form).post(change_password))
        .route(phone_path, get(phone_form).post(change_phone))
}

#[derive(serde::Deserialize)]
struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    phone: String,
    /// Present once the form is at its second step (the code and the password).
    sms_code: Option<String>,
    #[serde(default)]
    password: String,
    next: Option<String>,
    /// `send_code` when the "get a code" button was pressed.
    action: Option<String>,
}

#[derive(serde::Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    pub(crate) old_password: String,
    #[serde(default)]
    pub(crate) new_password: String,
    #[serde(default)]
    pub(crate) confirm_password: String,
}

#[derive(serde::Deserialize)]
struct PhoneForm {
    #[serde(default)]
    phone: String,
    sms_code: Option<String>,
    #[serde(default)]
    password: String,
    action: Option<String>,
}

async fn register_form(page: Page, Query(q): Query<HashMap<String, String>>) -> Response {
    let next = safe_next(q.get("next").map(String::as_str), "/my/cases");
    page.ok(
        "register.html",
        context! { next => next, values => context!{}, errors => context!{} },
    )
}

/// Errors of a failed form: by field when the error names fields, else one summary line.
fn form_errors(page: &Page, e: &ApiError) -> (HashMap<String, String>, Option<String>) {
    let errors = field_errors(page, e);
    let summary = errors.is_empty().then(|| page.error_text(e));
    (errors, summary)
}

/// Send a code and say so (with the code itself when the demo gateway is configured).
async fn send_code(
    ctx: &Ctx,
    page: &Page,
    phone: &str,
    purpose: Purpose,
    addr: &str,
) -> Result<Value, ApiError> {
    let sent = phone_codes::request(ctx, phone, purpose, addr).await?;
    let masked = tongban_platform::mask::phone(phone.trim());
    Ok(context! {
        text => page.t("phone_code.sent").replace("{}", &masked),
        demo_code => sent.demo_code,
        resend_after => sent.resend_after,
    })
}

async fn register(
    State(ctx): State<Ctx>,
    ClientAddr(addr): ClientAddr,
    page: Page,
    SafeForm(f): SafeForm<RegisterForm>,
) -> Response {
    let next = safe_next(f.next.as_deref(), "/my/cases");
    let values = context! { name => f.name, id_number => f.id_number, phone => f.phone };
    if f.action.as_deref() == Some("send_code") {
        let code_step = f.sms_code.is_some();
        let checked = accounts::check_identity(&f.name, &f.id_number, &f.phone);
        let sending = match checked {
            Ok(()) => send_code(&ctx, &page, &f.phone, Purpose::Register, &addr).await,
            Err(e) => Err(e),
        };
        let (status, sent, errors, error) = match sending {
            Ok(sent) => (StatusCode::OK, Some(sent), HashMap::new(), None),
            Err(e) => {
                let (errors, summary) = form_errors(&page, &e);
                (e.status, None, errors, summary)
            }
        };
        return page.render(
            status,
            "register.html",
            context! { next, values, errors, error, sent, code_step },
        );
    }
    let reg = Registration {
        name: f.name,
        id_number: f.id_number,
        phone: f.phone,
        password: f.password,
        sms_code: f.sms_code.unwrap_or_default(),
    };
    let phone = reg.phone.clone();
    let password = reg.password.clone();
    match accounts::register(&ctx, reg).await {
        Ok(_) => match accounts::login_citizen(&ctx, &phone, password, &addr).await {
            Ok(token) => with_cookie(page.citizen_cookie(&token), &next),
            Err(e) => page.error(&e),
        },
        Err(e) => {
            let (errors, error) = form_errors(&page, &e);
            page.render(
                e.status,
                "register.html",
                context! { next, values, errors, error, code_step => true },
            )
        }
    }
}

/// The account overview: who is signed in, the phone and where to change things.
async fn account(State(ctx): State<Ctx>, CitizenPage(page, id): CitizenPage) -> Response {
    match ctx
        .db
        .read(move |c| tongban_platform::identity::get_citizen(c, id))
        .await
    {
        Ok(Some(c)) => page.ok(
            "account.html",
            context! {
                name => c.name,
                id_number => tongban_platform::mask::id_number(&c.id_number),
                phone => tongban_platform::mask::phone(&c.phone),
            },
        ),
        Ok(None) => page.error(&ApiError::unauthorized("this account no longer exists")),
        Err(e) => page.error(&e.into()),
    }
}

async fn password_form(CitizenPage(page, _): CitizenPage) -> Response {
    page.ok("password.html", context! { errors => context!{} })
}

async fn change_password(
    State(ctx): State<Ctx>,
    CitizenPage(page, id): CitizenPage,
    SafeForm(f): SafeForm<PasswordForm>,
) -> Response {
    let PasswordForm {
        old_password: old,
        new_password: new,
        confirm_password,
    } = f;
    if confirm_password != new {
        let errors = HashMap::from([(
            "confirm_password".to_owned(),
            page.t("field_error.password_mismatch"),
        )]);
        return page.render(
            StatusCode::UNPROCESSABLE_ENTITY,
            "password.html",
            context! { errors => errors },
        );
    }
    let token = page.token.clone().unwrap_or_default();
    match accounts::change_password(&ctx, id, token, old, new).await {
        Ok(()) => page.ok(
            "password.html",
            context! { done => true, errors => context!{} },
        ),
        Err(e) => {
            let errors = field_errors(&page, &e);
            page.render(
                e.status,
                "password.html",
                context! { errors => errors, error => page.error_text(&e) },
            )
        }
    }
}

async fn phone_form(CitizenPage(page, _): CitizenPage) -> Response {
    page.ok(
        "phone.html",
        context! { values => context!{}, errors => context!{} },
    )
}

async fn change_phone(
    State(ctx): State<Ctx>,
    ClientAddr(addr): ClientAddr,
    CitizenPage(page, id): CitizenPage,
    SafeForm(f): SafeForm<PhoneForm>,
) -> Response {
    let values = context! { phone => f.phone };
    if f.action.as_deref() == Some("send_code") {
        let code_step = f.sms_code.is_some();
        let (status, sent, errors, error) =
            match send_code(&ctx, &page, &f.phone, Purpose::ChangePhone, &addr).await {
                Ok(sent) => (StatusCode::OK, Some(sent), HashMap::new(), None),
                Err(e) => {
                    let (errors, summary) = form_errors(&page, &e);
                    (e.status, None, errors, summary)
                }
            };
        return page.render(
            status,
            "phone.html",
            context! { values, errors, error, sent, code_step },
        );
    }
    let code = f.sms_code.unwrap_or_default();
    match phone_codes::change_phone(&ctx, id, &f.phone, &code, f.password).await {
        Ok(()) => page.ok(
            "phone.html",
            context! { done => true, values => context!{}, errors => context!{} },
        ),
        Err(e) => {
            let (errors, error) = form_errors(&page, &e);
            page.render(
                e.status,
                "phone.html",
                context! { values, errors, error, code_step => true },
            )
        }
    }
}
