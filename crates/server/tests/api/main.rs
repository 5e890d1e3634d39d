//! One integration-test binary: the real server over HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod admin_pages;
mod audit;
mod authz;
mod backup;
mod bad_input;
mod bounds;
mod calendar;
mod catalog;
mod cli;
mod connections;
mod crash;
mod dashboards;
mod encryption;
mod flow;
mod followers;
mod forgery;
mod fuzz_http;
mod hotline_pages;
mod import;
mod insight;
mod keys;
mod listeners;
mod logs;
mod masking;
mod nodes;
mod open311;
mod outbox;
mod pages;
mod participation;
mod queue;
mod throttle;
mod tls;
mod uploads;
mod workorders;
