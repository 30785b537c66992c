//! The application services: the shared [`App`] (command executors, the database, the file store, the
//! account flows, the live feed) and the services GraphQL, the workers and the command line share.
//!
//! # Layout
//! - [`authority`]: signing authority (a director, or a power of attorney) before a client commits its company;
//! - [`compromise`]: a client's "my account was compromised" (block, then a recovery request per company);
//! - [`files`]: checking, storing and authorizing files (the [`files::FileStore`]);
//! - [`documents`]: generated documents (invoice, reconciliation act, certificates, ОС-1), numbered and
//!   recorded as Documents;
//! - [`exports`]: the schedule, payments and act of reconciliation as XLSX and CSV;
//! - [`imports`]: bank statements read and their payments received and matched (issue 25);
//! - [`notifications`]: reading and marking a person's notifications, and their preferences;
//! - [`live`]: this process's fan-out of committed events to its subscriptions;
//! - [`demo`]: the demo data of `serve --demo`.

pub mod authority;
pub mod compromise;
pub mod conversations;
pub mod demo;
pub mod documents;
pub mod exports;
pub mod files;
pub mod imports;
pub mod links;
pub mod live;
pub mod notifications;
pub mod personal_data;
pub mod reads;

use std::sync::Arc;
use std::time::Duration;

use domain::calendar::ProductionCalendar;
use domain::clock::BusinessClock;
use domain::company::Company;
use domain::contract::Contract;
use lettre::message::Mailbox;
use projections::engine::read_model::ReadModel;
use projections::store::command::CommandExecutor;
use sqlx::PgPool;

use crate::app::documents::{DocumentService, Lessor};
use crate::app::files::{FileStore, PgFileStore};
use crate::auth::service::{AccountService, AccountSettings};
use crate::auth::sessions::SessionPolicy;
use crate::config::Settings;
use crate::mail::transport::Transport;
use crate::mail::Outbox;

/// The application's shared state.
#[derive(Clone)]
pub struct App {
    /// The database.
    pub pool: PgPool,
    /// Company commands.
    pub companies: Arc<CommandExecutor<Company>>,
    /// Contract commands.
    pub contracts: Arc<CommandExecutor<Contract>>,
    /// Policy commands.
    pub policies: Arc<CommandExecutor<domain::policy::Policy>>,
    /// Client request commands.
    pub requests: Arc<CommandExecutor<domain::request::ClientRequest>>,
    /// News commands.
    pub news: Arc<CommandExecutor<domain::content::News>>,
    /// FAQ commands.
    pub faq: Arc<CommandExecutor<domain::content::FaqEntry>>,
    /// Terms-of-use commands.
    pub terms: Arc<CommandExecutor<domain::content::TermsOfUse>>,
    /// This process's fan-out of committed events to its subscriptions.
    pub live: Arc<crate::app::live::LiveFeed>,
    /// Streaming replicas for the screens' heavy reads (none: the primary).
    pub reads: Arc<crate::app::reads::Replicas>,
    /// Signed download links.
    pub links: crate::app::links::Links,
    /// Working days to handle each kind of request.
    pub service_levels: Arc<std::collections::HashMap<domain::request::RequestKind, u32>>,
    /// Largest uploaded file, in bytes.
    pub upload_max_bytes: usize,
    /// The business clock.
    pub clock: Arc<CommandExecutor<BusinessClock>>,
    /// Working days (payment deadlines, buyout quotes).
    pub calendar: Arc<ProductionCalendar>,
    /// The inline projections (for rebuild/verify/status).
    pub inline: Arc<[Arc<dyn ReadModel>]>,
    /// The account flows (sign-in, recovery, staff actions).
    pub accounts: Arc<AccountService>,
    /// Where mails are written (the outbox) and how they leave (the transport).
    pub outbox: Outbox,
    /// How the outbox sender delivers.
    pub transport: Transport,
    /// Take the client address from X-Forwarded-For.
    pub trust_forwarded_for: bool,
    /// Further proxies of ours, skipped in X-Forwarded-For.
    pub trusted_proxies: Arc<[std::net::IpAddr]>,
    /// Document commands (exchange and signing).
    pub documents: Arc<CommandExecutor<domain::document::Document>>,
    /// ЭДО connection commands.
    pub edo: Arc<CommandExecutor<domain::edo::EdoConnection>>,
    /// The ЭДО operator list's commands.
    pub edo_operators: Arc<CommandExecutor<domain::edo::EdoOperatorList>>,
    /// The contacts page.
    pub contacts: Arc<CommandExecutor<domain::content::Contacts>>,
    /// Companies' conversations with the lessor.
    pub conversations: Arc<CommandExecutor<domain::conversation::Conversation>>,
    /// The back office's inboxes (escalations).
    pub inbox: Arc<CommandExecutor<domain::inbox::StaffInbox>>,
    /// Minutes a staff notification waits unread in the company manager's inbox before escalation.
    pub manager_first_minutes: u32,
    /// Incoming bank payment commands (imported statements, the staff's queue).
    pub payments: Arc<CommandExecutor<domain::payments::BankPayment>>,
    /// Generating documents.
    pub document_service: DocumentService,
    /// The current ЭДО offer version.
    pub edo_offer_version: i32,
    /// The lessor's ЭДО participant id, when set.
    pub edo_participant_id: Option<String>,
    /// The ЭДО offer's text (the setting, or the built-in one).
    pub edo_offer_text: String,
    /// Where file contents live.
    pub store: Arc<dyn FileStore>,
    /// Sessions revoked on any node (the workers follow them; open WebSockets close on them).
    pub revocations: Arc<crate::auth::sessions::Revocations>,
    /// Destruction deadlines and retention (`[personal_data]`).
    pub personal_data: Arc<crate::config::PersonalDataSettings>,
    /// Where the file transport writes mails (their files are removed with the data they hold).
    pub mail_dir: std::path::PathBuf,
    /// The destruction ledger.
    pub ledger: std::path::PathBuf,
}

impl App {
    /// Destroys the personal data due on the current business date (the scheduled job and `cabinet
    /// personal-data destroy-due`); returns the acts made.
    ///
    /// # Errors
    /// A database or file error.
    pub async fn destroy_due_personal_data(&self) -> anyhow::Result<Vec<personal_data::Act>> {
        personal_data::destroy_due(
            &self.pool,
            &self.personal_data,
            Some(&self.mail_dir),
            &self.ledger,
        )
        .await
    }
}

impl App {
    /// The importer of back-office files (the staff's upload and `cabinet import`).
    pub fn importer(&self) -> imports::Importer {
        imports::Importer {
            pool: self.pool.clone(),
            payments: self.payments.clone(),
            lessor: self.document_service.lessor.clone(),
            contracts: self.contracts.clone(),
            policies: self.policies.clone(),
            documents: self.document_service.documents.clone(),
            store: self.document_service.store.clone(),
        }
    }
}

impl App {
    /// Wires the executors over `pool`.
    ///
    /// # Errors
    /// The configured production calendar cannot be read.
    pub fn new(pool: PgPool, settings: &Settings) -> anyhow::Result<Self> {
        settings.personal_data.install()?;
        let inline = projections::executors::inline_projections();
        let calendar = Arc::new(settings.production_calendar()?);
        // Commands on one aggregate take turns across nodes, on a small pool of their own.
        let turns = projections::store::turns::Turns::new(projections::postgres::db::side_pool(
            &pool,
            settings.database.command_connections,
            &settings.database,
        ));
        let companies = projections::executors::company_executor(
            pool.clone(),
            inline.clone(),
            settings.snapshot_every,
        )
        .with_turns(turns.clone());
        let contracts = projections::executors::contract_executor(
            pool.clone(),
            inline.clone(),
            settings.snapshot_every,
            calendar.clone(),
        )
        .with_turns(turns.clone());
        let clock = projections::executors::clock_executor(
            pool.clone(),
            inline.clone(),
            settings.snapshot_every,
        )
        .with_turns(turns.clone());
        let policies = projections::executors::policy_executor(
            pool.clone(),
            inline.clone(),
            settings.snapshot_every,
        )
        .with_turns(turns.clone());
        let requests = projections::executors::request_executor(
            pool.clone(),
            inline.clone(),
            settings.snapshot_every,
        )
        .with_turns(turns.clone());
        let snap = settings.snapshot_every;
        use projections::executors::content_executor;
        let news = content_executor(pool.clone(), inline.clone(), snap).with_turns(turns.clone());
        let faq = content_executor(pool.clone(), inline.clone(), snap).with_turns(turns.clone());
        let terms = content_executor(pool.clone(), inline.clone(), snap).with_turns(turns.clone());
        // Batches: a package of accounting documents.
        let documents = content_executor(pool.clone(), inline.clone(), snap)
            .with_batches(())
            .with_turns(turns.clone());
        let edo = content_executor(pool.clone(), inline.clone(), snap).with_turns(turns.clone());
        let edo_operators =
            content_executor(pool.clone(), inline.clone(), snap).with_turns(turns.clone());
        let contacts =
            content_executor(pool.clone(), inline.clone(), snap).with_turns(turns.clone());
        let conversations =
            content_executor(pool.clone(), inline.clone(), snap).with_turns(turns.clone());
        let inbox = content_executor(pool.clone(), inline.clone(), snap).with_turns(turns.clone());
        let payments = content_executor(pool.clone(), inline.clone(), snap)
            .with_batches(())
            .with_turns(turns.clone());
        let lessor = Lessor {
            organisation: settings.lessor.organisation()?,
            signatory: settings.lessor.signatory.clone(),
            configured: settings.demo || settings.lessor.is_set(),
        };
        let service_levels = domain::request::RequestKind::ALL
            .into_iter()
            .map(|k| (k, settings.service_level(k)))
            .collect();
        crate::auth::passwords::configure(settings.argon2);
        let mail_from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("mail_from: {e}"))?;
        let outbox = Outbox::new(mail_from, &settings.public_url);
        let transport = Transport::new(
            settings
                .smtp_url
                .as_ref()
                .map(crate::config::Secret::expose),
            settings.data_dir.join("mail"),
        )?;
        let accounts = AccountService::new(
            pool.clone(),
            outbox.clone(),
            AccountSettings {
                sessions: SessionPolicy {
                    idle: chrono::Duration::hours(settings.session_idle_hours),
                    absolute: chrono::Duration::days(settings.session_max_days),
                    admin_totp: settings.admin_totp_required,
                },
                rate_per_minute: settings.auth_rate_per_minute,
                reset_answer_floor: Duration::from_millis(settings.reset_answer_floor_ms),
                mails_per_recipient_per_hour: settings.mail_caps.per_recipient_per_hour,
                login_changes_per_day: settings.mail_caps.login_changes_per_account_per_day,
                destroy_within_days: settings.personal_data.account_destroy_days,
                client_retention_years: settings.personal_data.client_retention_years,
            },
        );
        let store: Arc<dyn FileStore> = Arc::new(PgFileStore::new(pool.clone()));
        let documents = Arc::new(documents);
        let document_service = DocumentService {
            pool: pool.clone(),
            lessor: Arc::new(lessor),
            documents: documents.clone(),
            store: store.clone(),
        };
        Ok(Self {
            live: Arc::new(crate::app::live::LiveFeed::new(pool.clone())),
            reads: Arc::new(
                crate::app::reads::Replicas::connect(
                    &settings
                        .read_replica_urls
                        .iter()
                        .map(|u| u.expose().to_owned())
                        .collect::<Vec<_>>(),
                    10,
                    Duration::from_millis(settings.replica_wait_ms),
                )
                .map_err(|e| anyhow::anyhow!("read_replica_urls: {e}"))?,
            ),
            links: Default::default(),
            pool,
            companies: Arc::new(companies),
            contracts: Arc::new(contracts),
            policies: Arc::new(policies),
            requests: Arc::new(requests),
            news: Arc::new(news),
            faq: Arc::new(faq),
            terms: Arc::new(terms),
            service_levels: Arc::new(service_levels),
            upload_max_bytes: settings.upload_max_bytes,
            clock: Arc::new(clock),
            calendar,
            inline,
            accounts: Arc::new(accounts),
            outbox,
            transport,
            trust_forwarded_for: settings.trust_forwarded_for,
            trusted_proxies: Arc::from(settings.trusted_proxies.clone()),
            documents,
            edo: Arc::new(edo),
            edo_operators: Arc::new(edo_operators),
            contacts: Arc::new(contacts),
            conversations: Arc::new(conversations),
            inbox: Arc::new(inbox),
            manager_first_minutes: settings.manager_first_minutes,
            payments: Arc::new(payments),
            document_service,
            edo_offer_version: settings.edo_offer_version,
            edo_participant_id: settings.edo_participant_id.clone(),
            edo_offer_text: settings
                .edo_offer_text
                .clone()
                .unwrap_or_else(|| domain::edo::default_offer_text(&settings.lessor.name)),
            store,
            revocations: Arc::default(),
            personal_data: Arc::new(settings.personal_data.clone()),
            mail_dir: settings.data_dir.join("mail"),
            ledger: settings.personal_data.ledger_path(&settings.data_dir),
        })
    }
}
