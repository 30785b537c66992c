//! Settings, layered: built-in defaults → a TOML file (`--config`, or `cabinet.toml` in the data directory
//! when present) → environment variables (`CABINET_…`, every key) → command-line flags; see [`sources`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

mod secret;
mod sources;

pub use secret::Secret;
pub use sources::{read_secret_file, variable_for, Loaded, Sources};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Who starts business days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum ClockMode {
    /// `serve` starts each new day at local midnight in `time_zone`.
    #[default]
    Auto,
    /// Only `cabinet clock advance` and the `advanceClock` mutation start days (tests, back-dated demos).
    Manual,
}

/// Everything configurable.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// PostgreSQL URL; when absent a private cluster is started under the data directory.
    pub database_url: Option<Secret>,
    /// Streaming replicas of that database for the screens' heavy reads (issue 27): URLs, in order; none:
    /// every read goes to the primary.
    pub read_replica_urls: Vec<Secret>,
    /// Milliseconds a read that names a position (`Cabinet-Read-After`) waits for a replica to replay it
    /// before it is answered by the primary.
    pub replica_wait_ms: u64,
    /// Refuse to start without `database_url` instead of starting a private cluster (on in the container
    /// image, where a private cluster would live and die with the container); `serve --private-cluster`
    /// overrides it.
    pub require_database_url: bool,
    /// Where the private cluster, mail files and documents live.
    pub data_dir: PathBuf,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// A session unused this many hours ends.
    pub session_idle_hours: i64,
    /// A session ends this many days after sign-in, used or not.
    pub session_max_days: i64,
    /// The cabinet's public address, for links in mails.
    pub public_url: String,
    /// The sender of mails: `address` or `Name <address>`.
    pub mail_from: String,
    /// SMTP relay URL (`smtp://user:pass@host:587?tls=required`, `smtps://…`); when absent, mails are written
    /// as .eml files under `<data_dir>/mail`.
    pub smtp_url: Option<Secret>,
    /// Calls of `login`, `requestPasswordReset` and `resetPassword` allowed per client address per minute
    /// (each separately).
    pub auth_rate_per_minute: u32,
    /// ADMIN accounts must sign in with two factors: until one enrols an authenticator app, its sessions may
    /// only enrol.
    pub admin_totp_required: bool,
    /// Minutes a staff notification about a company with a manager account waits in that manager's inbox,
    /// unread, before it is handed to the whole back office.
    pub manager_first_minutes: u32,
    /// The TCP peer is a proxy of ours that appends the client's address to X-Forwarded-For: take the client
    /// address from that header, from the right, skipping `trusted_proxies` (only behind such a proxy).
    pub trust_forwarded_for: bool,
    /// Further proxies of ours in a chain (their addresses, as they appear in X-Forwarded-For): skipped when
    /// the client address is read from the right of the header.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `requestPasswordReset` answers no sooner than this many milliseconds, whether or not the account
    /// exists.
    pub reset_answer_floor_ms: u64,
    /// argon2id cost (see docs/security.md for the measured time).
    pub argon2: crate::auth::passwords::HashCost,
    /// Snapshot every N events of an aggregate.
    pub snapshot_every: i64,
    /// Database connections in the pool. Background work holds about ten of them for good (each catch-up
    /// consumer's leadership connection and its LISTEN connection, the live feed's LISTEN), so keep it well
    /// above that.
    pub pool_size: u32,
    /// Log format.
    pub log_format: LogFormat,
    /// Who starts business days.
    pub clock: ClockMode,
    /// The lessor's time zone: a business day starts at local midnight there (IANA name).
    pub time_zone: String,
    /// A production calendar file replacing the shipped one (see domain/data/production-calendar-ru.txt).
    pub calendar_file: Option<PathBuf>,
    /// Largest uploaded file (attachments, policy forms, result documents), in bytes.
    pub upload_max_bytes: usize,
    /// Service levels: working days to handle a request, per kind (`complaint = 10`); kinds not named keep
    /// the default of [`default_service_level`].
    pub service_levels: std::collections::BTreeMap<String, u32>,
    /// The lessor as it appears on generated documents (seller of invoices, issuer of certificates).
    pub lessor: LessorSettings,
    /// The version of the ЭДО offer clients accept (`acceptEdoOffer(version)` must name it).
    pub edo_offer_version: i32,
    /// The lessor's own ЭДО participant id, shown to clients (they need it to invite the lessor through
    /// their operator's roaming); unset: not shown.
    pub edo_participant_id: Option<String>,
    /// The text of the ЭДО offer clients accept (unset: the built-in summary of the usual terms).
    pub edo_offer_text: Option<String>,
    /// Limits of the HTTP and WebSocket transport (`[http]` in the settings file).
    pub http: HttpSettings,
    /// Who may ask the schema about itself (`__schema`, `__type`).
    pub introspection: Introspection,
    /// Serve GraphiQL at `GET /graphql` (its scripts and styles come from this server).
    pub graphiql: bool,
    /// When set, `GET /metrics` asks for `Authorization: Bearer <metrics_token>`; when not, it answers only
    /// callers on the loopback interface (or only on `metrics_listen`).
    pub metrics_token: Option<Secret>,
    /// Serve `/metrics` on this address of its own instead of the public listener.
    pub metrics_listen: Option<SocketAddr>,
    /// Caps on mail a caller can make the cabinet send (`[mail_caps]`).
    pub mail_caps: MailCaps,
    /// How long the database may keep the cabinet waiting (`[database]`).
    pub database: projections::postgres::db::DbLimits,
    /// The background workers' recovery and watch (`[workers]`).
    pub workers: WorkerSettings,
    /// Personal data: master keys, destruction deadlines, retention (`[personal_data]`, issue 21).
    pub personal_data: PersonalDataSettings,
    /// Trace export (`[tracing]`).
    pub tracing: TracingSettings,
    /// This process runs the demo (`serve --demo`): the fictional lessor may sign documents. Not a setting.
    #[serde(skip)]
    pub demo: bool,
}

/// `[tracing]`: where spans go besides the log.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingSettings {
    /// An OTLP/HTTP collector's base address (`http://collector:4318`): spans are exported in batches to
    /// `<endpoint>/v1/traces`. Not set: no export (spans still carry the ids into the log).
    pub otlp_endpoint: Option<String>,
    /// Headers sent with each export, `name=value` separated by commas (a collector's API key).
    pub otlp_headers: Option<Secret>,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// The share of traces started here that are exported, 0 to 1 (a caller's sampled `traceparent` is
    /// always followed).
    pub sample_ratio: f64,
}

impl TracingSettings {
    /// The export's headers from `otlp_headers`.
    ///
    /// # Errors
    /// A pair without `=`, naming the key.
    pub fn headers(&self) -> anyhow::Result<std::collections::HashMap<String, String>> {
        let mut headers = std::collections::HashMap::new();
        if let Some(h) = &self.otlp_headers {
            for pair in h.expose().split(',').filter(|p| !p.trim().is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    anyhow::anyhow!(
                        "tracing.otlp_headers: expected name=value pairs separated by commas"
                    )
                })?;
                headers.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        Ok(headers)
    }

    /// Checks the ratio and the headers.
    ///
    /// # Errors
    /// The key that is wrong and why.
    pub fn check(&self) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.sample_ratio) {
            anyhow::bail!(
                "tracing.sample_ratio: {} is not between 0 and 1",
                self.sample_ratio
            );
        }
        self.headers().map(|_| ())
    }
}

impl Default for TracingSettings {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            otlp_headers: None,
            service_name: "cabinet".into(),
            sample_ratio: 1.0,
        }
    }
}

/// How the background workers recover and are watched.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// Longest pause between restarts of a failing worker, seconds (the pause doubles from half a second).
    pub restart_max_seconds: u64,
    /// A consumer whose oldest unhandled event is older than this many seconds is reported stalled (log and
    /// `cabinet_worker_stalled`).
    pub stall_seconds: u64,
    /// How long a sender's claim on a mail lasts, seconds: a mail claimed by a sender that died goes out
    /// again after this long at most. Keep it well above the SMTP timeout (30 s per step).
    pub mail_lease_seconds: u64,
    /// Segments each process manager runs in (1–256): the nodes share a worker by its segments, each node
    /// holding about `segments / nodes` of them. Every node should say the same; a starting node sets it.
    pub segments: u32,
}

/// `[personal_data]`: how personal data is sealed, and when it is destroyed (docs/personal-data.md).
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonalDataSettings {
    /// Master keys by id (32 bytes, base64; `cabinet personal-data new-key` makes one). Every node needs
    /// the same set. Empty: a key generated into the database on first use (destruction stays final, but
    /// a dump of the database opens live values — configure keys in production).
    pub master_keys: std::collections::BTreeMap<String, Secret>,
    /// The key that wraps new data keys (required with `master_keys`); the others still unwrap.
    pub current_key: Option<String>,
    /// Days between an account's deletion and the destruction of its personal data (at most 30 by law).
    pub account_destroy_days: u32,
    /// Years a client company's personal data is kept after its last contract ended.
    pub client_retention_years: u32,
    /// Years a closed request's personal data is kept.
    pub request_retention_years: u32,
    /// The destruction ledger (one JSON line per destruction, no personal value): keep it outside the
    /// database's backups, and re-apply it after a restore. Default `<data_dir>/personal-data-ledger.jsonl`.
    pub ledger: Option<PathBuf>,
}

impl Default for PersonalDataSettings {
    fn default() -> Self {
        Self {
            master_keys: std::collections::BTreeMap::new(),
            current_key: None,
            account_destroy_days: 14,
            client_retention_years: 5,
            request_retention_years: 5,
            ledger: None,
        }
    }
}

impl std::fmt::Debug for PersonalDataSettings {
    // Never the keys.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonalDataSettings")
            .field("master_keys", &self.master_keys.keys().collect::<Vec<_>>())
            .field("current_key", &self.current_key)
            .field("account_destroy_days", &self.account_destroy_days)
            .field("client_retention_years", &self.client_retention_years)
            .field("request_retention_years", &self.request_retention_years)
            .field("ledger", &self.ledger)
            .finish()
    }
}

impl PersonalDataSettings {
    /// Installs the configured master keys for this process (nothing when none are configured).
    ///
    /// # Errors
    /// Malformed keys, a missing or unknown `current_key`, or a deadline beyond 30 days.
    pub fn install(&self) -> anyhow::Result<()> {
        if !(1..=30).contains(&self.account_destroy_days) {
            anyhow::bail!("personal_data.account_destroy_days: must be 1 to 30 (152-ФЗ art. 21)");
        }
        if self.master_keys.is_empty() {
            if self.current_key.is_some() {
                anyhow::bail!("personal_data.current_key: no master_keys are configured");
            }
            return Ok(());
        }
        let current = self.current_key.as_deref().ok_or_else(|| {
            anyhow::anyhow!("personal_data.current_key: required with master_keys")
        })?;
        let keys: Vec<(&str, &str)> = self
            .master_keys
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect();
        projections::personal::configure(projections::personal::MasterKeys::new(current, &keys)?)?;
        Ok(())
    }

    /// The ledger file.
    pub fn ledger_path(&self, data_dir: &Path) -> PathBuf {
        self.ledger
            .clone()
            .unwrap_or_else(|| data_dir.join("personal-data-ledger.jsonl"))
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            restart_max_seconds: 30,
            stall_seconds: 60,
            mail_lease_seconds: 300,
            segments: 1,
        }
    }
}

/// Who may use introspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum Introspection {
    /// Nobody: frontends take the committed docs/schema.graphql.
    Off,
    /// Signed-in callers only (the default): the schema is not shown to anyone who finds the address.
    #[default]
    Authenticated,
    /// Anyone.
    Public,
}

/// Limits of the transport: every one bounds what a single client can hold of the server.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest body of a JSON request, bytes. A multipart request may carry its files on top
    /// (`upload_max_bytes` each, at most 10).
    pub request_max_bytes: usize,
    /// Seconds a client has to send a request's headers (also how long an idle kept-alive connection stays
    /// open).
    pub header_read_timeout_seconds: u64,
    /// Seconds from a request's first byte to its answer, body upload included (WebSockets excepted).
    pub request_timeout_seconds: u64,
    /// Open connections in all.
    pub max_connections: usize,
    /// Open connections from one client address (the TCP peer; not applied to `trusted_proxies` and a
    /// trusted forwarding peer, whose clients are told apart by the forwarded address).
    pub max_connections_per_address: usize,
    /// Seconds between the server's pings on a WebSocket; a socket that answers nothing for two of them is
    /// closed.
    pub ws_keepalive_seconds: u64,
    /// Seconds a WebSocket may take to send `connection_init`.
    pub ws_init_timeout_seconds: u64,
    /// Operations (subscriptions, queries, mutations) one WebSocket may run at once.
    pub ws_max_operations: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            request_max_bytes: 1024 * 1024,
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 60,
            max_connections: 4096,
            max_connections_per_address: 64,
            ws_keepalive_seconds: 30,
            ws_init_timeout_seconds: 10,
            ws_max_operations: 32,
        }
    }
}

/// Caps on mail callers trigger.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailCaps {
    /// Mails one recipient address may be sent on a caller's request (sign-in notices, recovery, login
    /// change) per hour.
    pub per_recipient_per_hour: u32,
    /// Login changes one account may start per day.
    pub login_changes_per_account_per_day: u32,
}

impl Default for MailCaps {
    fn default() -> Self {
        Self {
            per_recipient_per_hour: 10,
            login_changes_per_account_per_day: 5,
        }
    }
}

/// The lessor's requisites for generated documents (`[lessor]` in the settings file). The defaults are a
/// fictional company with valid check digits, for development and the demo.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LessorSettings {
    /// Full name.
    pub name: String,
    /// ИНН.
    pub inn: String,
    /// КПП.
    pub kpp: String,
    /// Legal address.
    pub address: String,
    /// The bank's name.
    pub bank_name: String,
    /// БИК.
    pub bic: String,
    /// The bank's correspondent account.
    pub correspondent_account: String,
    /// The lessor's settlement account.
    pub settlement_account: String,
    /// Who signs documents (printed under the signature line).
    pub signatory: String,
}

impl Default for LessorSettings {
    fn default() -> Self {
        Self {
            name: "ООО «Лизинг-Демо»".into(),
            inn: "7701000001".into(),
            kpp: "770101001".into(),
            address: "125009, г. Москва, ул. Тверская, д. 1".into(),
            bank_name: "ПАО Сбербанк".into(),
            bic: "044525225".into(),
            correspondent_account: "30101810400000000225".into(),
            settlement_account: "40702810200000000001".into(),
            signatory: "Иванов И. И.".into(),
        }
    }
}

impl LessorSettings {
    /// Whether the operator set the requisites (anything but the fictional defaults).
    pub fn is_set(&self) -> bool {
        let d = Self::default();
        [
            (&self.name, &d.name),
            (&self.inn, &d.inn),
            (&self.bic, &d.bic),
            (&self.settlement_account, &d.settlement_account),
        ]
        .iter()
        .any(|(a, b)| a != b)
    }

    /// Checks the requisites (ИНН, КПП, БИК, both accounts' keys) and builds the documents' organisation.
    ///
    /// # Errors
    /// The field that is wrong, as `lessor.<field>`.
    pub fn organisation(&self) -> anyhow::Result<documents::Organisation> {
        use domain::values::{BankAccount, Bik, Inn, Kpp};
        let field = |name: &str, e: domain::values::ValueError| {
            anyhow::anyhow!("lessor.{name}: {}", e.reason)
        };
        Inn::parse(&self.inn).map_err(|e| field("inn", e))?;
        Kpp::parse(&self.kpp).map_err(|e| field("kpp", e))?;
        let bik = Bik::parse(&self.bic).map_err(|e| field("bic", e))?;
        let corr = BankAccount::parse(&self.correspondent_account)
            .map_err(|e| field("correspondent_account", e))?;
        let acc = BankAccount::parse(&self.settlement_account)
            .map_err(|e| field("settlement_account", e))?;
        if !corr.is_correspondent() || !corr.key_matches(&bik) {
            anyhow::bail!(
                "lessor.correspondent_account: not the correspondent account of БИК {}",
                self.bic
            );
        }
        if !acc.key_matches(&bik) {
            anyhow::bail!(
                "lessor.settlement_account: the key does not match БИК {}",
                self.bic
            );
        }
        for (name, v) in [
            ("name", &self.name),
            ("address", &self.address),
            ("bank_name", &self.bank_name),
        ] {
            if v.trim().is_empty() {
                anyhow::bail!("lessor.{name}: must not be empty");
            }
        }
        Ok(documents::Organisation {
            name: self.name.trim().to_owned(),
            inn: self.inn.clone(),
            kpp: Some(self.kpp.clone()),
            address: self.address.trim().to_owned(),
            bank: Some(documents::Bank {
                name: self.bank_name.trim().to_owned(),
                bic: self.bic.clone(),
                correspondent_account: self.correspondent_account.clone(),
                settlement_account: self.settlement_account.clone(),
            }),
        })
    }
}

/// Working days the lessor takes to handle a request of `kind`, unless `service_levels` says otherwise.
pub fn default_service_level(kind: domain::request::RequestKind) -> u32 {
    use domain::request::RequestKind as K;
    match kind {
        K::TechnicalSupport | K::LoginEmailChange => 1,
        K::Consultation | K::InsuredEvent => 2,
        K::TravelAbroad
        | K::PartialRepayment
        | K::RequisitesChange
        | K::Certificate
        | K::AccountingDocuments => 3,
        K::VehiclePassport
        | K::EarlyBuyout
        | K::InsuranceProlongation
        | K::InsuranceTermsChange
        | K::VehicleInsurance
        | K::EdoConnection => 5,
        K::Complaint | K::AccountDeletion => 10,
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: None,
            require_database_url: false,
            data_dir: PathBuf::from(".cabinet"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            session_idle_hours: 12,
            session_max_days: 30,
            public_url: "http://127.0.0.1:8080".into(),
            mail_from: "Личный кабинет лизингополучателя <cabinet@leasing.local>".into(),
            smtp_url: None,
            read_replica_urls: Vec::new(),
            replica_wait_ms: 500,
            auth_rate_per_minute: 20,
            admin_totp_required: true,
            manager_first_minutes: 240,
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            reset_answer_floor_ms: 400,
            argon2: crate::auth::passwords::HashCost::default(),
            snapshot_every: 100,
            pool_size: 30,
            log_format: LogFormat::Text,
            clock: ClockMode::Auto,
            time_zone: "Europe/Moscow".into(),
            calendar_file: None,
            upload_max_bytes: 10 * 1024 * 1024,
            service_levels: std::collections::BTreeMap::new(),
            lessor: LessorSettings::default(),
            edo_offer_version: 1,
            edo_participant_id: None,
            edo_offer_text: None,
            http: HttpSettings::default(),
            introspection: Introspection::default(),
            graphiql: true,
            metrics_token: None,
            metrics_listen: None,
            mail_caps: MailCaps::default(),
            database: projections::postgres::db::DbLimits::default(),
            workers: WorkerSettings::default(),
            personal_data: PersonalDataSettings::default(),
            tracing: TracingSettings::default(),
            demo: false,
        }
    }
}

impl Settings {
    /// Checks what types alone cannot (after every source is merged).
    ///
    /// # Errors
    /// The key that is wrong and why.
    pub fn check(&self) -> anyhow::Result<()> {
        for kind in self.service_levels.keys() {
            if domain::request::RequestKind::parse(kind).is_none() {
                anyhow::bail!("service_levels: «{kind}» is not a request kind");
            }
        }
        self.tz()?;
        self.tracing.check()?;
        if let Some(id) = &self.edo_participant_id {
            domain::values::EdoParticipantId::parse(id)
                .map_err(|e| anyhow::anyhow!("edo_participant_id: {:?} {}", id, e.reason))?;
        }
        Ok(())
    }
}

impl Settings {
    /// Working days to handle a request of `kind`.
    pub fn service_level(&self, kind: domain::request::RequestKind) -> u32 {
        self.service_levels
            .get(kind.as_str())
            .copied()
            .unwrap_or_else(|| default_service_level(kind))
    }

    /// The time zone business days follow.
    ///
    /// # Errors
    /// `time_zone` is not an IANA zone name.
    pub fn tz(&self) -> anyhow::Result<chrono_tz::Tz> {
        self.time_zone.parse().map_err(|_| {
            anyhow::anyhow!(
                "time_zone: {:?} is not an IANA time zone such as Europe/Moscow",
                self.time_zone
            )
        })
    }

    /// The production calendar: `calendar_file` when set, else the shipped one.
    ///
    /// # Errors
    /// The file cannot be read or has a bad line.
    pub fn production_calendar(&self) -> anyhow::Result<domain::calendar::ProductionCalendar> {
        match &self.calendar_file {
            None => Ok(domain::calendar::ProductionCalendar::russia()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading calendar_file {}", p.display()))?;
                domain::calendar::ProductionCalendar::parse(&text)
                    .with_context(|| format!("calendar_file {}", p.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("cabinet-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("cabinet.toml"),
            "session_idle_hours = 2\nlisten = \"0.0.0.0:9000\"\n[argon2]\nmemory_kib = 8192\niterations = 1\nparallelism = 1\n",
        )
        .unwrap();
        let s = Settings::load(None, Some(&dir)).unwrap();
        assert_eq!(s.session_idle_hours, 2);
        assert_eq!(s.argon2.memory_kib, 8192);
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.snapshot_every, 100);
        std::fs::write(dir.join("cabinet.toml"), "sesion_idle_hours = 2\n").unwrap();
        assert!(Settings::load(None, Some(&dir)).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_time_zone_and_calendar_are_checked() {
        let mut s = Settings::default();
        assert_eq!(s.tz().unwrap(), chrono_tz::Europe::Moscow);
        s.time_zone = "Mars/Olympus".into();
        assert!(s.tz().unwrap_err().to_string().contains("time_zone"));
        let dir = std::env::temp_dir().join(format!("cabinet-cal-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("cal.txt"),
            "2030-01-01 holiday\n2030-01-02 maybe\n",
        )
        .unwrap();
        s.calendar_file = Some(dir.join("cal.txt"));
        assert!(format!("{:#}", s.production_calendar().unwrap_err()).contains("line 2"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
