//! The command line of `tongban`: its subcommands and their arguments (clap). What each
//! command does is in `main.rs`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "tongban",
    version,
    about = "通办 Tongban: one-stop city e-government platform"
)]
pub(crate) struct Cli {
    /// TOML configuration file; TONGBAN_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Migrate the database, then serve the public and internal listeners.
    Serve,
    /// As serve, seeding the demo catalogue and accounts into an empty database first, with a
    /// plausible past (work orders, cases, ratings, page views) for topics and reports.
    Demo {
        /// Days of history to generate before today (0 for none).
        #[arg(long, default_value_t = 365)]
        history_days: u32,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Staff accounts.
    #[command(subcommand)]
    Staff(StaffCmd),
    /// Apps that sign citizens in (OpenID Connect) and partner apps (client credentials).
    #[command(subcommand)]
    Clients(ClientsCmd),
    /// The service catalogue as XLSX or JSON.
    #[command(subcommand)]
    Matters(MattersCmd),
    /// The working-day calendar.
    #[command(subcommand)]
    Calendar(CalendarCmd),
    /// The region served: divisions, departments, halls, boundaries, 12345 categories and
    /// routing, as a folder of files.
    #[command(subcommand)]
    Region(RegionCmd),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Data sharing between departments: the message log.
    #[command(subcommand)]
    Exchange(ExchangeCmd),
    /// The SM4 data keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// The one search index (each node keeps its own, derived from the database).
    #[command(subcommand)]
    Search(SearchCmd),
    /// The website group's sites.
    #[command(subcommand)]
    Sites(SitesCmd),
    /// Work orders.
    #[command(subcommand)]
    Workorders(WorkordersCmd),
    /// Reports.
    #[command(subcommand)]
    Report(ReportCmd),
    /// Open311 API keys for partner applications.
    #[command(subcommand)]
    Apikey(ApikeyCmd),
    /// Derived data of the dashboards.
    #[command(subcommand)]
    Insight(InsightCmd),
    /// Background followers (insight's analysis, the outbox) and their quarantine.
    #[command(subcommand)]
    Followers(FollowersCmd),
    /// Take a consistent online backup: SQLite `VACUUM INTO` a new file, or `pg_dump` for
    /// PostgreSQL (custom format). The data key file is not in it: back that up on its own.
    Backup { file: PathBuf },
    /// Restore a backup into the database of TONGBAN_DATABASE_URL (stop the servers first).
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
pub(crate) enum RegionCmd {
    /// Load a region folder (region.toml, divisions.csv, departments.csv, categories.csv, and
    /// optionally halls.csv, routing.csv, boundaries.geojson, places.txt), all or nothing:
    /// every bad row is listed by file and line. Importing a changed folder updates the
    /// region; divisions and categories left out are retired, never deleted.
    Import { dir: PathBuf },
}

#[derive(Subcommand)]
pub(crate) enum ReportCmd {
    /// The e-government evaluation of a month as an XLSX workbook (总览 and 指标 sheets).
    Evaluation {
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Where to write the workbook.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum WorkordersCmd {
    /// Load history from JSON lines (order_no, received_at, channel, type, category, district,
    /// street, title, content, status, closed_at?, department?, reply?, replied_at?). Every line is checked first;
    /// a file with a bad line imports nothing and the bad lines are listed by number.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
pub(crate) enum InsightCmd {
    /// Recompute the daily figures behind the dashboards for every day from the first
    /// application or work order to today (after loading data by SQL, or to check them).
    Rebuild,
}

#[derive(Subcommand)]
pub(crate) enum FollowersCmd {
    /// List the rows the followers set aside (quarantine), newest first.
    List,
    /// Mark quarantined rows to be tried again; the workers take them within one interval.
    Retry {
        /// Only this follower's rows (`insight.index`, `outbox`).
        #[arg(long)]
        follower: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum ApikeyCmd {
    /// Issue a key and print it (it is stored only as its SM3 hash and shown this once).
    Add {
        /// The partner application's name.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum KeysCmd {
    /// Create the deployment's SM2 signing key pair (kept in the key file; the public key is
    /// published at GET /api/v1/keys).
    Init,
    /// Add a new data key, make it current, and re-encrypt all personal data under it
    /// (running servers pick the new key up within a minute and read both meanwhile).
    Rotate,
}

#[derive(Subcommand)]
pub(crate) enum ExchangeCmd {
    /// Walk the message log's SM3 hash chain; exit non-zero naming the first entry changed,
    /// removed or reordered.
    Verify,
    /// Other Tongban deployments (a city and its province) to exchange with, each pinned to
    /// its SM2 public key.
    #[command(subcommand)]
    Peer(PeerCmd),
    /// Load a base registry (CSV or XLSX, first row the headers) for a department; all or
    /// nothing, bad rows named by line. For files larger than the HTTP upload limit.
    Load {
        /// The registry's name (the `registry` of its services), e.g. population.
        #[arg(long)]
        registry: String,
        /// The department that keeps it, e.g. wx-gaj.
        #[arg(long)]
        department: String,
        /// The column records are found by, e.g. id_number.
        #[arg(long)]
        key_field: String,
        file: PathBuf,
    },
}

#[derive(Subcommand)]
pub(crate) enum SearchCmd {
    /// Ask every running node to build its search index afresh from the database (each does
    /// within one worker pass; a node also builds it whenever it starts).
    Rebuild,
}

#[derive(Subcommand)]
pub(crate) enum SitesCmd {
    /// Load sites from a JSON file (`{"sites": [{"code", "kind", "name", "name_en",
    /// "department", "host", "index_scheme", "position", "columns": [{"code", "name",
    /// "name_en"}]}]}`), all or nothing; a site already there is replaced.
    Load { file: PathBuf },
    /// List the sites.
    List,
}

#[derive(Subcommand)]
pub(crate) enum PeerCmd {
    /// Add a peer, or change the URL and key of one: calls signed by this key come from its
    /// departments (`{name}/{department}` in grants); calls to `{name}/{department}` go to
    /// URL/exchange/v1/… over HTTPS and their answers must carry this key's signature.
    Add {
        /// Short name, e.g. province (defaults to the URL's host with dots as dashes).
        #[arg(long)]
        name: Option<String>,
        /// Base URL of the peer's internal listener, https://… (http only on loopback).
        #[arg(long)]
        url: String,
        /// The peer's SM2 public key in hex, as its GET /api/v1/keys publishes it.
        #[arg(long)]
        public_key: String,
    },
    /// List the peers and their pinned keys.
    List,
    /// Forget a peer: its calls are refused from then on.
    Remove { name: String },
}

#[derive(Subcommand)]
pub(crate) enum AuditCmd {
    /// Walk the SM3 hash chain; exit non-zero naming the first entry changed, removed or reordered.
    Verify,
    /// Delete entries older than a date (YYYY-MM-DD), after exporting them; refused within the
    /// retention period (audit_retention_days, at least 180). The chain stays verifiable.
    Prune {
        #[arg(long, value_name = "DATE")]
        before: String,
    },
    /// Write entries at or after a date (YYYY-MM-DD, in the configured zone) as JSON lines.
    Export {
        #[arg(long, value_name = "DATE")]
        since: String,
        /// Output file (standard output when absent).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(crate) enum ClientsCmd {
    /// Register an app; prints its client id and, for a confidential app, its secret (once).
    Add(ClientAdd),
    /// List the registered apps.
    List,
}

#[derive(Args)]
pub(crate) struct ClientAdd {
    /// The app's name, as citizens see it on the consent page.
    #[arg(long)]
    pub(crate) name: String,
    /// An exact redirect URI (repeat for more).
    #[arg(long = "redirect-uri")]
    pub(crate) redirect_uris: Vec<String>,
    /// A scope it may ask for: openid, profile, phone, id_number, or the partner scope
    /// open311 (repeat for more).
    #[arg(long = "scope", required = true)]
    pub(crate) scopes: Vec<String>,
    /// A phone or browser app without a secret (PKCE alone).
    #[arg(long)]
    pub(crate) public: bool,
    /// Partner API calls a minute.
    #[arg(long, default_value_t = 600)]
    pub(crate) rate_per_minute: i64,
}

#[derive(Subcommand)]
pub(crate) enum StaffCmd {
    /// Create a staff account.
    Add(StaffAdd),
}

#[derive(Args)]
pub(crate) struct StaffAdd {
    /// Login name.
    #[arg(long)]
    pub(crate) username: String,
    /// Department code, e.g. wx-gaj (see the catalogue).
    #[arg(long)]
    pub(crate) department: String,
    /// Comma-separated roles: clerk, reviewer, approver, admin, auditor, pii_reader,
    /// dispatcher, handler, supervisor, editor.
    #[arg(long)]
    pub(crate) roles: String,
    /// Display name (defaults to the username).
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Read the password from standard input (first line).
    #[arg(long)]
    pub(crate) password_stdin: bool,
    /// Where the staff member receives notices (early warnings), optional.
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// Enrol a TOTP second factor and print its otpauth:// URI (required for admin).
    #[arg(long)]
    pub(crate) totp: bool,
}

#[derive(Subcommand)]
pub(crate) enum MattersCmd {
    /// Import matters from FILE.xlsx or FILE.json; all or nothing.
    Import { file: PathBuf },
    /// Export every matter to FILE.xlsx or FILE.json.
    Export { file: PathBuf },
}

#[derive(Subcommand)]
pub(crate) enum CalendarCmd {
    /// Import holiday lines (date,kind,name,year) from a CSV file; replaces the years in it.
    Import { file: PathBuf },
}
