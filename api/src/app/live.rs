//! The live feed: each `cabinet serve` process follows the event log in global commit order (woken by the
//! store's `NOTIFY` after each commit, and polling besides) and tells its own subscriptions which companies
//! an event batch concerns. Subscriptions then read what they send from the read models, from their own
//! last position, so a wake-up that is missed or lagged loses nothing: the next one (or the lag itself)
//! makes them read everything after their position. A mutation handled by any process on the database
//! reaches subscribers on every process.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use projections::engine::horizon;
use projections::engine::runner::Checkpoint;
use projections::store::event_store::EVENTS_CHANNEL;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

/// How often the feed looks at the log without a `NOTIFY` (a transaction that committed while an older one
/// was still open becomes readable only when that one ends, without a notification of its own).
pub const POLL: Duration = Duration::from_millis(250);

/// How long a new subscription waits for the feed to pass what is already committed (see
/// [`LiveFeed::subscribe`]).
const CATCH_UP: Duration = Duration::from_secs(2);

/// How long the feed lets pass after an append's notification before it reads (see `run`).
const COALESCE: Duration = Duration::from_millis(10);

/// Companies an event batch concerns, per subject.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Every company.
    pub all: bool,
    /// These companies.
    pub companies: HashSet<Uuid>,
}

impl Targets {
    /// Whether `company` is concerned.
    pub fn concerns(&self, company: Uuid) -> bool {
        self.all || self.companies.contains(&company)
    }

    /// Whether any company is concerned.
    pub fn any(&self) -> bool {
        self.all || !self.companies.is_empty()
    }

    /// Whether `company` is concerned, or without one any company.
    pub fn about(&self, company: Option<Uuid>) -> bool {
        company.map_or_else(|| self.any(), |c| self.concerns(c))
    }

    fn add(&mut self, company: Option<Uuid>) {
        match company {
            Some(c) => {
                self.companies.insert(c);
            }
            None => self.all = true,
        }
    }
}

/// What one batch of committed events concerns.
#[derive(Debug, Clone, Default)]
pub struct Wake {
    /// The last event of the batch.
    pub checkpoint: Checkpoint,
    /// The commit horizon the batch was read below: a reader woken by it reads below at least this.
    pub horizon: i64,
    /// Companies with new notifications (`all`: a notification for every client).
    pub notifications: Targets,
    /// Companies with staff notifications.
    pub staff_notifications: Targets,
    /// Companies whose requests changed.
    pub requests: Targets,
    /// Companies whose exchange documents changed.
    pub documents: Targets,
    /// Companies whose policies changed.
    pub policies: Targets,
    /// Companies whose ЭДО connection changed.
    pub edo: Targets,
    /// Companies whose debt may have changed.
    pub debt: Targets,
    /// Companies with new messages in their conversation (their own thread, or a request's).
    pub conversations: Targets,
}

impl Wake {
    /// Whether it brings notifications of `company` (or of any company) for the staff's or the clients'
    /// audience.
    pub fn has_notifications(&self, staff: bool, company: Option<Uuid>) -> bool {
        let targets = if staff {
            &self.staff_notifications
        } else {
            &self.notifications
        };
        match company {
            Some(c) => targets.concerns(c),
            None => targets.any(),
        }
    }
}

/// The channel on which marking notifications read announces the account (its unread count changed).
pub const READS_CHANNEL: &str = "cabinet_notification_reads";

/// The feed of one process.
pub struct LiveFeed {
    pool: PgPool,
    wakes: broadcast::Sender<Arc<Wake>>,
    /// Accounts that marked notifications read (on any node).
    reads: broadcast::Sender<Uuid>,
    position: watch::Sender<Option<Checkpoint>>,
    /// Subscriptions started (their "from now" fixed) since the process started.
    started: std::sync::atomic::AtomicU64,
}

impl LiveFeed {
    /// A feed over `pool`; it follows the log once [`LiveFeed::run`] runs.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            wakes: broadcast::channel(1024).0,
            reads: broadcast::channel(1024).0,
            position: watch::channel(None).0,
            started: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Subscribes to wake-ups, then returns where a subscription "from now" starts: the log's head as
    /// committed when the call began. Waits until the feed has started, and (for at most [`CATCH_UP`]) until
    /// it has passed that head, so everything after the returned position is announced to the receiver: a
    /// subscription does not start with what was committed before it only because the feed was one
    /// coalescing window behind, nor skip what was committed while it waited because the feed read past it.
    /// (When the feed does not catch up in time, or the head cannot be read, it starts at the feed's
    /// position.)
    pub async fn subscribe(&self) -> (broadcast::Receiver<Arc<Wake>>, Checkpoint) {
        let rx = self.wakes.subscribe();
        let mut pos = self.position.subscribe();
        // Unknown (the database did not answer): the feed's own position, as before.
        let now = head(&self.pool).await.ok();
        let deadline = tokio::time::Instant::now() + CATCH_UP;
        let cp = loop {
            let at = *pos.borrow_and_update();
            if let Some(cp) = at {
                match now {
                    // From the head as it was when the call began, not from where the feed has got to
                    // meanwhile: what was committed while this waited is announced to `rx` (subscribed
                    // first), and a cursor past it would skip it.
                    Some(n) if cp >= n => break n,
                    Some(_) => {}
                    None => break cp,
                }
            }
            match (at, tokio::time::timeout_at(deadline, pos.changed()).await) {
                (_, Ok(Ok(()))) => {}
                // The feed ended, or (started) did not catch up in time: from where it is.
                (_, Ok(Err(_))) => break pos.borrow().unwrap_or_default(),
                (Some(cp), Err(_)) => break cp,
                // Not started yet: wait for the start however long it takes.
                (None, Err(_)) => {
                    if pos.changed().await.is_err() {
                        break Checkpoint::default();
                    }
                }
            }
        };
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (rx, cp)
    }

    /// How many subscriptions have started on this process (each counted once its starting position is
    /// fixed): what comes after lets a caller know a subscription it asked for is in place.
    pub fn started(&self) -> u64 {
        self.started.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The accounts that mark notifications read from now on, on any node.
    pub fn reads(&self) -> broadcast::Receiver<Uuid> {
        self.reads.subscribe()
    }

    /// Relays a read mark to this node's subscribers; true when the notification is an append instead.
    fn relay(&self, n: &sqlx::postgres::PgNotification) -> bool {
        if n.channel() != READS_CHANNEL {
            return true;
        }
        if let Ok(account) = n.payload().parse::<Uuid>() {
            // Nobody listening on this node is not an error.
            let _ = self.reads.send(account);
        }
        false
    }

    /// Follows the log until `stop` turns true.
    ///
    /// # Errors
    /// A database error (the caller restarts the feed, which resumes from where it was).
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<bool>) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen_all([EVENTS_CHANNEL, READS_CHANNEL]).await?;
        let known = *self.position.borrow();
        let mut cp = match known {
            Some(cp) => cp,
            None => head(&self.pool).await?,
        };
        self.position.send_replace(Some(cp));
        loop {
            let mut conn = self.pool.acquire().await?;
            let (events, horizon) = committed_after(&mut conn, cp).await?;
            // How far behind the log this node's live updates run: the age of the oldest event it has
            // only now read (0 when it is caught up).
            metrics::gauge!("cabinet_live_feed_lag_seconds")
                .set(events.first().map_or(0.0, |e| e.age.max(0.0)));
            if let Some(last) = events.last() {
                let next = Checkpoint {
                    transaction_id: last.transaction_id,
                    position: last.position,
                };
                // The position moves first: a subscription that starts after the check below starts after
                // this batch, and one that started before it is woken.
                self.position.send_replace(Some(next));
                // Nobody subscribed on this process: only move on.
                if self.wakes.receiver_count() > 0 {
                    let mut wake = targets(&mut conn, &events, cp, next).await?;
                    wake.checkpoint = next;
                    wake.horizon = horizon;
                    // A receiver that left meanwhile is not an error.
                    let _ = self.wakes.send(Arc::new(wake));
                }
                cp = next;
                continue;
            }
            drop(conn);
            tokio::select! {
                n = listener.try_recv() => {
                    if let Some(n) = n? {
                        if self.relay(&n) {
                            // Appends that follow closely are read together: under load the feed reads
                            // the horizon (a scan of the lock table) once per COALESCE, not once per
                            // command. The notifications that came meanwhile are covered by that read.
                            tokio::time::sleep(COALESCE).await;
                            while let Some(n) = listener.next_buffered() {
                                self.relay(&n);
                            }
                        }
                    }
                }
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => return Ok(()),
            }
            if *stop.borrow() {
                return Ok(());
            }
        }
    }
}

/// What the feed needs of an event: its place and its aggregate (never the payload).
struct Seen {
    transaction_id: i64,
    position: i64,
    aggregate_type: String,
    aggregate_id: String,
    /// Seconds since it was recorded, when read.
    age: f64,
}

/// The next events after `after` from finished transactions, in global order (as the catch-up read).
async fn committed_after(
    conn: &mut sqlx::PgConnection,
    after: Checkpoint,
) -> Result<(Vec<Seen>, i64), sqlx::Error> {
    let bound = horizon::read(&mut *conn).await?;
    let rows: Vec<(i64, i64, String, String, f64)> = sqlx::query_as(&format!(
        "SELECT transaction_id::text::bigint AS txid, position, aggregate_type, aggregate_id, \
                extract(epoch FROM clock_timestamp() - recorded_at)::float8 AS age FROM events \
         WHERE (transaction_id, position) > ($1::bigint::text::xid8, $2) \
           AND {} \
         ORDER BY transaction_id, position LIMIT 1000",
        horizon::below("transaction_id", 3)
    ))
    .bind(after.transaction_id)
    .bind(after.position)
    .bind(bound)
    .fetch_all(&mut *conn)
    .await?;
    Ok((
        rows.into_iter()
            .map(
                |(transaction_id, position, aggregate_type, aggregate_id, age)| Seen {
                    transaction_id,
                    position,
                    aggregate_type,
                    aggregate_id,
                    age,
                },
            )
            .collect(),
        bound,
    ))
}

/// The last event of a finished transaction: where a new feed starts.
async fn head(pool: &PgPool) -> Result<Checkpoint, sqlx::Error> {
    let bound = horizon::read(pool).await?;
    let row: Option<(i64, i64)> = sqlx::query_as(&format!(
        "SELECT transaction_id::text::bigint, position FROM events WHERE {} \
         ORDER BY transaction_id DESC, position DESC LIMIT 1",
        horizon::below("transaction_id", 1)
    ))
    .bind(bound)
    .fetch_optional(pool)
    .await?;
    Ok(row
        .map(|(transaction_id, position)| Checkpoint {
            transaction_id,
            position,
        })
        .unwrap_or_default())
}

fn uuids(events: &[Seen], aggregate_type: &str) -> Vec<Uuid> {
    events
        .iter()
        .filter(|e| e.aggregate_type == aggregate_type)
        .filter_map(|e| e.aggregate_id.parse().ok())
        .collect()
}

/// Which companies the events after `from` through `to` concern.
async fn targets(
    conn: &mut sqlx::PgConnection,
    events: &[Seen],
    from: Checkpoint,
    to: Checkpoint,
) -> Result<Wake, sqlx::Error> {
    let mut wake = Wake::default();
    let rows: Vec<(Option<Uuid>, String)> = sqlx::query_as(
        "SELECT company_id, audience FROM notifications \
         WHERE (transaction_id, position) > ($1::bigint::text::xid8, $2) \
           AND (transaction_id, position) <= ($3::bigint::text::xid8, $4)",
    )
    .bind(from.transaction_id)
    .bind(from.position)
    .bind(to.transaction_id)
    .bind(to.position)
    .fetch_all(&mut *conn)
    .await?;
    for (company, audience) in rows {
        if audience == "staff" {
            wake.staff_notifications.add(company);
        } else {
            wake.notifications.add(company);
        }
    }
    for (subject, targets) in [
        (&REQUESTS, &mut wake.requests),
        (&DOCUMENTS, &mut wake.documents),
        (&POLICIES, &mut wake.policies),
        (&EDO, &mut wake.edo),
    ] {
        let ids = uuids(events, subject.aggregate_type);
        if ids.is_empty() {
            continue;
        }
        let companies: Vec<Uuid> = match subject.view {
            // The aggregate is the company's own.
            None => ids,
            Some((view, id)) => {
                sqlx::query_scalar(&format!(
                    "SELECT DISTINCT company_id FROM {view} WHERE {id} = ANY($1)"
                ))
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await?
            }
        };
        targets.companies.extend(companies);
    }
    let contracts = uuids(events, "Contract");
    if !contracts.is_empty() {
        let companies: Vec<Uuid> = sqlx::query_scalar(
            "SELECT DISTINCT company_id FROM contracts_view WHERE contract_id = ANY($1)",
        )
        .bind(&contracts)
        .fetch_all(&mut *conn)
        .await?;
        wake.debt.companies.extend(companies);
    }
    // A request's thread is part of the conversation.
    wake.conversations
        .companies
        .extend(uuids(events, "Conversation"));
    let request_companies = wake.requests.companies.clone();
    wake.conversations.companies.extend(request_companies);
    // A policy's re-billed premium is part of the debt.
    let policy_companies = wake.policies.companies.clone();
    wake.debt.companies.extend(policy_companies);
    // A new business day moves amounts into "due" and "overdue" for any company.
    if events.iter().any(|e| e.aggregate_type == "BusinessClock") {
        wake.debt.all = true;
    }
    Ok(wake)
}

/// A kind of thing a subscription follows: its aggregate, and the read model that names its company
/// (`None`: the aggregate's id is the company's).
#[derive(Debug)]
pub struct Subject {
    /// The aggregate type in the log.
    pub aggregate_type: &'static str,
    /// The view and its id column.
    view: Option<(&'static str, &'static str)>,
}

/// Client requests.
pub const REQUESTS: Subject = Subject {
    aggregate_type: "ClientRequest",
    view: Some(("requests_view", "request_id")),
};
/// Exchange documents.
pub const DOCUMENTS: Subject = Subject {
    aggregate_type: "Document",
    view: Some(("exchange_documents_view", "document_id")),
};
/// Insurance policies.
pub const POLICIES: Subject = Subject {
    aggregate_type: "Policy",
    view: Some(("policies_view", "policy_id")),
};
/// A company's ЭДО connection (its id is the company's).
pub const EDO: Subject = Subject {
    aggregate_type: "EdoConnection",
    view: None,
};

/// The changes to the things of `subject` of `companies` (`None`: every company; or only `id`) after
/// `after` in the global order, from finished transactions (below the commit horizon, and at least
/// `floor`): (transaction, position, id) of each change, at most `limit`.
///
/// # Errors
/// A database error.
#[allow(clippy::too_many_arguments)]
pub async fn changes_after(
    pool: &PgPool,
    subject: &Subject,
    companies: Option<&[Uuid]>,
    id: Option<Uuid>,
    after: Checkpoint,
    limit: i64,
    floor: i64,
) -> Result<Vec<(i64, i64, Uuid)>, sqlx::Error> {
    let bound = horizon::read_at_least(pool, floor).await?;
    let (from, thing, of_company) = match subject.view {
        Some((view, column)) => (
            format!("events e JOIN {view} v ON v.{column}::text = e.aggregate_id"),
            format!("v.{column}"),
            "($1::uuid[] IS NULL OR v.company_id = ANY($1))",
        ),
        None => (
            "events e".to_owned(),
            "e.aggregate_id::uuid".to_owned(),
            "($1::uuid[] IS NULL OR e.aggregate_id = ANY($1::uuid[]::text[]))",
        ),
    };
    sqlx::query_as(&format!(
        "SELECT e.transaction_id::text::bigint, e.position, {thing} FROM {from} \
         WHERE e.aggregate_type = $7 AND {of_company} \
           AND ($2::uuid IS NULL OR {thing} = $2) \
           AND (e.transaction_id, e.position) > ($3::bigint::text::xid8, $4) \
           AND {} \
         ORDER BY e.transaction_id, e.position LIMIT $5",
        horizon::below("e.transaction_id", 6)
    ))
    .bind(companies)
    .bind(id)
    .bind(after.transaction_id)
    .bind(after.position)
    .bind(limit)
    .bind(bound)
    .bind(subject.aggregate_type)
    .fetch_all(pool)
    .await
}

/// The transaction that committed the event at global `position` (`None`: no such event).
///
/// # Errors
/// A database error.
pub async fn transaction_of(pool: &PgPool, position: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT transaction_id::text::bigint FROM event_log WHERE position = $1")
        .bind(position)
        .fetch_optional(pool)
        .await
}
