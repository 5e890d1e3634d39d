//! One identity (issue 18): the OpenID Connect provider that lets other apps sign citizens
//! in with their Tongban account — clients registered by admins (`clients`, `staff`), the
//! code flow with PKCE and a consent page (`authorize`), codes and rotating refresh tokens
//! (`grants`), ES256 ID tokens and the JWK set (`keys`), claims by scope (`claims`), and the
//! token, UserInfo, revocation and discovery endpoints (`token`). Verified phones live with
//! the accounts in the platform (`tongban_platform::phone_codes`).

pub mod authorize;
pub mod claims;
pub mod clients;
pub mod error;
pub mod grants;
pub mod keys;
pub mod pages;
pub mod partners;
pub mod staff;
pub mod token;

use axum::routing::{get, post};
use axum::Router;
use tongban_platform::Ctx;

pub const MIGRATIONS: &[tongban_platform::db::Migration] = &[
    tongban_platform::migration!("identity", 1, "0001_oidc"),
    tongban_platform::migration!("identity", 2, "0002_partners"),
];

/// Paths served on the public listener.
pub const PUBLIC_PATHS: [&str; 6] = [
    "/.well-known/openid-configuration",
    "/oauth2/jwks",
    "/oauth2/authorize",
    "/oauth2/token",
    "/oauth2/userinfo",
    "/oauth2/revoke",
];

pub fn public_router() -> Router<Ctx> {
    let [discovery, jwks, authorize_path, token_path, userinfo_path, revoke_path] = PUBLIC_PATHS;
    Router::new()
        .route(discovery, get(token::discovery))
        .route(jwks, get(token::jwks))
        .route(
            authorize_path,
            get(authorize::authorize).post(authorize::decide),
        )
        .route(token_path, post(token::token))
        .route(userinfo_path, get(token::userinfo).post(token::userinfo))
        .route(revoke_path, post(token::revoke))
        .merge(pages::public_router())
}
