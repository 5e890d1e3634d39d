//! The site shell shared by every room's pages: the templates (minijinja, auto-escaped),
//! the zh-CN / en message catalogues, the CSS, the page context (language, elderly mode,
//! who is logged in) and the account pages. Rooms render their pages through [`Page`].

pub mod account_pages;
pub mod charts;
pub mod files;
pub mod form;
pub mod i18n;
pub mod install;
pub mod page;
pub mod pdf;
pub mod routes;
pub mod security;
mod templates;

pub use form::{NoFields, SafeForm, SafeMultipart};
pub use i18n::Lang;
pub use page::{CitizenPage, Page, StaffPage};
