//! Live updates over `graphql-transport-ws` (`/graphql/ws`): `notificationAdded`,
//! `unreadNotificationCount`, `requestUpdated`, `documentUpdated`, `policyUpdated`, `edoStatusChanged` and
//! `debtChanged`. Each subscription is authorized like the query it mirrors when it starts and again every
//! [`RECHECK`] (a session that ends or a company that is unlinked ends the subscription). It reads what it
//! sends from the read models after its own position whenever this process's [`LiveFeed`] says a committed
//! batch concerns its company, so nothing is lost to a missed wake-up, and `after` resumes a dropped
//! connection from the last position the client saw.
//!
//! [`LiveFeed`]: crate::app::live::LiveFeed

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{Context, Object, Result, SimpleObject, Subscription};
use futures::Stream;
use projections::engine::runner::Checkpoint;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::context::{allow, app};
use super::contracts::{company_debt, CompanyDebt};
use super::documents::{EdoConnectionStatus, ExchangeDocument};
use super::insurance::Policy;
use super::notifications::Notification;
use super::position::Position;
use super::requests::{request_by_id, Request};
use crate::app::live::{self, Wake};
use crate::app::notifications::{self as service, Position as NotificationPlace, Scope};
use crate::app::App;
use crate::auth::policy::{authorize, Operation};
use crate::auth::sessions;
use crate::auth::Actor;
use crate::error::ApiError;

/// How often a running subscription re-checks its session and authorization.
pub const RECHECK: Duration = Duration::from_secs(30);
/// Rows read per catch-up query.
const BATCH: i64 = 200;

/// A request that changed.
#[derive(Debug, Clone)]
pub struct RequestUpdate {
    position: Checkpoint,
    request_id: Uuid,
}

#[Object]
impl RequestUpdate {
    /// The place of the event that changed it: give it as `after` to resume.
    async fn position(&self) -> Position {
        Position::event(self.position.position)
    }

    /// The request's id.
    async fn request_id(&self) -> Uuid {
        self.request_id
    }

    /// The request as it is now.
    async fn request(&self, ctx: &Context<'_>) -> Result<Request> {
        Ok(request_by_id(ctx, self.request_id).await?)
    }
}

/// An exchange document that changed.
#[derive(Debug, Clone)]
pub struct DocumentUpdate {
    position: Checkpoint,
    document_id: Uuid,
}

#[Object]
impl DocumentUpdate {
    /// The place of the event that changed it: give it as `after` to resume.
    async fn position(&self) -> Position {
        Position::event(self.position.position)
    }

    /// The document's id.
    async fn document_id(&self) -> Uuid {
        self.document_id
    }

    /// The document as it is now.
    async fn document(&self, ctx: &Context<'_>) -> Result<ExchangeDocument> {
        Ok(super::documents::load(ctx, self.document_id).await?)
    }
}

/// A policy that changed.
#[derive(Debug, Clone)]
pub struct PolicyUpdate {
    position: Checkpoint,
    policy_id: Uuid,
}

#[Object]
impl PolicyUpdate {
    /// The place of the event that changed it: give it as `after` to resume.
    async fn position(&self) -> Position {
        Position::event(self.position.position)
    }

    /// The policy's id.
    async fn policy_id(&self) -> Uuid {
        self.policy_id
    }

    /// The policy as it is now.
    async fn policy(&self, ctx: &Context<'_>) -> Result<Policy> {
        Ok(super::insurance::policy_by_id(ctx, self.policy_id).await?)
    }
}

/// A company's ЭДО connection after a change.
#[derive(Debug, Clone)]
pub struct EdoUpdate {
    position: Checkpoint,
    company_id: Uuid,
}

#[Object]
impl EdoUpdate {
    /// The place of the event that changed it: give it as `after` to resume.
    async fn position(&self) -> Position {
        Position::event(self.position.position)
    }

    /// The connection as it is now.
    async fn edo_status(&self, ctx: &Context<'_>) -> Result<EdoConnectionStatus> {
        Ok(super::documents::edo_status(ctx, self.company_id).await?)
    }
}

/// An update naming the thing that changed.
trait Changed: Send + 'static {
    fn thing(&self) -> Uuid;
}

impl Changed for RequestUpdate {
    fn thing(&self) -> Uuid {
        self.request_id
    }
}

impl Changed for DocumentUpdate {
    fn thing(&self) -> Uuid {
        self.document_id
    }
}

impl Changed for PolicyUpdate {
    fn thing(&self) -> Uuid {
        self.policy_id
    }
}

impl Changed for EdoUpdate {
    fn thing(&self) -> Uuid {
        self.company_id
    }
}

/// The stream of a subscription to one kind of thing of a company (or one of them, `(company, id)`):
/// authorized by `op` now and every [`RECHECK`]; each read sends one update per thing that changed (its
/// last change in the read), built by `make` from the change's place and the thing's id.
async fn changes<T: Changed>(
    ctx: &Context<'_>,
    op: fn(Uuid) -> Operation,
    subject: &'static live::Subject,
    (company_id, id): (Option<Uuid>, Option<Uuid>),
    after: Option<Position>,
    relevant: fn(&Wake, Option<Uuid>) -> bool,
    make: fn(Checkpoint, Uuid) -> T,
) -> Result<impl Stream<Item = T>, ApiError> {
    // One company; or, without one, every company the caller sees: staff all of them, a client the ones
    // it is linked to at each read (a company unlinked meanwhile drops out).
    let (guard, scope) = match company_id {
        Some(c) => (Guard::new(ctx, op(c))?.0, Followed::One(c)),
        None => {
            let (guard, actor) = Guard::new(ctx, Operation::Me)?;
            if actor.is_staff() {
                authorize(Some(actor), op(Uuid::nil()))?;
                (guard, Followed::All)
            } else {
                for c in &actor.companies() {
                    authorize(Some(actor), op(*c))?;
                }
                (guard, Followed::Linked(actor.account_id))
            }
        }
    };
    let after = match after {
        Some(a) => Some(a.checkpoint(&app(ctx).pool, "after").await?),
        None => None,
    };
    let (rx, head) = app(ctx).live.subscribe().await;
    let pool = app(ctx).pool.clone();
    let fetch: Fetch<Checkpoint, T> = Box::new(move |cursor: Checkpoint, floor| {
        let pool = pool.clone();
        Box::pin(async move {
            let companies = match scope {
                Followed::One(c) => Some(vec![c]),
                Followed::All => None,
                Followed::Linked(account) => Some(
                    sqlx::query_scalar(
                        "SELECT company_id FROM account_companies WHERE account_id = $1",
                    )
                    .bind(account)
                    .fetch_all(&pool)
                    .await?,
                ),
            };
            let rows = live::changes_after(
                &pool,
                subject,
                companies.as_deref(),
                id,
                cursor,
                BATCH,
                floor,
            )
            .await?;
            let next = rows.last().map_or(cursor, |r| Checkpoint {
                transaction_id: r.0,
                position: r.1,
            });
            let mut updates: Vec<T> = Vec::new();
            for (t, p, thing) in rows {
                updates.retain(|u| u.thing() != thing);
                updates.push(make(
                    Checkpoint {
                        transaction_id: t,
                        position: p,
                    },
                    thing,
                ));
            }
            Ok((updates, next))
        })
    });
    Ok(follow(Follow {
        rx,
        cursor: after.unwrap_or(head),
        pending: VecDeque::new(),
        read_now: after.is_some(),
        relevant,
        company: company_id,
        at_wake: |c| c,
        fetch,
        guard,
        floor: 0,
    }))
}

/// Whose things a subscription follows.
#[derive(Debug, Clone, Copy)]
enum Followed {
    /// One company's.
    One(Uuid),
    /// Every company's (staff).
    All,
    /// The companies the account is linked to when each read runs.
    Linked(Uuid),
}

/// A company's debt after a change.
#[derive(Debug, Clone, SimpleObject)]
pub struct DebtUpdate {
    /// The place the feed had reached: give it as `after` to resume.
    pub position: Position,
    /// The debt now.
    pub debt: CompanyDebt,
}

/// A subscription's read after its cursor, below at least the given commit horizon.
type Fetch<C, T> = Box<
    dyn FnMut(C, i64) -> Pin<Box<dyn Future<Output = Result<(Vec<T>, C), ApiError>> + Send>> + Send,
>;

/// Re-checks the caller's session and `op` every [`RECHECK`], and at once after the caller's account was
/// announced (a session ended, a role in a company changed, a removal from a company).
struct Guard {
    app: App,
    token_hash: Option<Vec<u8>>,
    op: Operation,
    checked: Instant,
    account: Uuid,
    announced: tokio::sync::broadcast::Receiver<Uuid>,
}

impl Guard {
    /// Authorizes `op` for the caller, like the query the subscription mirrors, and keeps what re-checking
    /// it needs; also gives the caller.
    fn new<'a>(ctx: &Context<'a>, op: Operation) -> Result<(Self, &'a Actor), ApiError> {
        let (actor, req) = allow(ctx, op)?;
        let guard = Self {
            app: app(ctx).clone(),
            token_hash: req.token_hash.clone(),
            op,
            checked: Instant::now(),
            account: actor.account_id,
            announced: app(ctx).revocations.subscribe(),
        };
        Ok((guard, actor))
    }

    /// Whether the caller's account was announced since the last look.
    fn was_announced(&mut self) -> bool {
        use tokio::sync::broadcast::error::TryRecvError;
        let mut announced = false;
        loop {
            match self.announced.try_recv() {
                Ok(a) => announced |= a == self.account,
                Err(TryRecvError::Lagged(_)) => announced = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => return announced,
            }
        }
    }

    async fn still_allowed(&mut self) -> bool {
        if !self.was_announced() && self.checked.elapsed() < RECHECK {
            return true;
        }
        self.checked = Instant::now();
        let Some(hash) = &self.token_hash else {
            return false;
        };
        match sessions::resolve_hash(&self.app.pool, hash, self.app.accounts.session_policy()).await
        {
            Ok(actor) => authorize(actor.as_ref(), self.op).is_ok(),
            Err(_) => false,
        }
    }
}

struct Follow<C, T> {
    rx: broadcast::Receiver<Arc<Wake>>,
    cursor: C,
    pending: VecDeque<T>,
    read_now: bool,
    relevant: fn(&Wake, Option<Uuid>) -> bool,
    /// The company followed (`None`: every company the caller sees).
    company: Option<Uuid>,
    at_wake: fn(Checkpoint) -> C,
    fetch: Fetch<C, T>,
    guard: Guard,
    /// The highest commit horizon a wake-up was read below (0: none yet).
    floor: i64,
}

/// The stream of a subscription: waits for a relevant wake-up (or a lag), then reads everything after its
/// cursor; when a read comes back short, everything up to the last wake-up was seen, and the cursor moves
/// there (a quiet company's subscriber never rescans the busy log behind it).
fn follow<C, T>(f: Follow<C, T>) -> impl Stream<Item = T>
where
    C: Copy + Ord + Send + 'static,
    T: Send + 'static,
{
    futures::stream::unfold(f, |mut s| async move {
        loop {
            if let Some(item) = s.pending.pop_front() {
                return Some((item, s));
            }
            let mut last_wake = None;
            if !s.read_now {
                loop {
                    match s.rx.recv().await {
                        Ok(w) => {
                            last_wake = Some(w.checkpoint);
                            // Read at least below the horizon the wake's batch was read below, so a short
                            // read really means everything up to the wake was seen.
                            s.floor = s.floor.max(w.horizon);
                            if (s.relevant)(&w, s.company) {
                                break;
                            }
                            s.cursor = s.cursor.max((s.at_wake)(w.checkpoint));
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
            s.read_now = false;
            if !s.guard.still_allowed().await {
                return None;
            }
            match (s.fetch)(s.cursor, s.floor).await {
                Ok((items, cursor)) => {
                    let full = items.len() as i64 >= BATCH;
                    s.cursor = s.cursor.max(cursor);
                    if full {
                        s.read_now = true;
                    } else if let Some(w) = last_wake {
                        s.cursor = s.cursor.max((s.at_wake)(w));
                    }
                    s.pending.extend(items);
                }
                Err(e) => {
                    tracing::warn!(error = ?e, "subscription read failed; ending it");
                    return None;
                }
            }
        }
    })
}

/// Every subscription.
#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// New notifications, as `notifications` shows them to the caller, in the order they were committed:
    /// of `companyId`, or without it of every company the caller sees (a client's companies and the
    /// notifications for every client; for staff, the back office's of all companies). With `after` (any
    /// position), first everything after it.
    async fn notification_added(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = Notification>> {
        let (guard, actor) = Guard::new(ctx, super::notifications::reading(company_id))?;
        let scope = Scope::of(actor, company_id);
        let staff = scope.staff;
        let after = match after {
            Some(a) => Some(a.notification_place(&app(ctx).pool, "after").await?),
            None => None,
        };
        let (rx, head) = app(ctx).live.subscribe().await;
        let pool = app(ctx).pool.clone();
        let scope: Arc<Scope> = Arc::new(scope);
        let fetch: Fetch<NotificationPlace, Notification> =
            Box::new(move |cursor: NotificationPlace, floor| {
                let (pool, scope) = (pool.clone(), scope.clone());
                Box::pin(async move {
                    let rows = service::since(&pool, &scope, cursor, BATCH, floor).await?;
                    let next = rows.last().map_or(cursor, |r| r.place());
                    Ok((rows.into_iter().map(Notification).collect(), next))
                })
            });
        let at_wake = |c: Checkpoint| NotificationPlace {
            transaction_id: c.transaction_id,
            position: c.position,
            ordinal: i32::MAX,
        };
        Ok(follow(Follow {
            rx,
            cursor: after.unwrap_or(at_wake(head)),
            pending: VecDeque::new(),
            read_now: after.is_some(),
            // Without a company, any wake with notifications is read (the read keeps to the scope).
            relevant: if staff {
                |w: &Wake, c| w.has_notifications(true, c)
            } else {
                |w: &Wake, c| w.has_notifications(false, c)
            },
            company: company_id,
            at_wake,
            fetch,
            guard,
            floor: 0,
        }))
    }

    /// The caller's unread notification count — of `companyId`, or of every company it sees — now, and
    /// again each time it changes: when notifications arrive, and when the caller marks some read (on any
    /// device, through any server process).
    async fn unread_notification_count(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
    ) -> Result<impl Stream<Item = i64>> {
        let (guard, actor) = Guard::new(ctx, super::notifications::reading(company_id))?;
        let scope = Scope::of(actor, company_id);
        let account = actor.account_id;
        let live = &app(ctx).live;
        // Listening first, then counting: a change after the count wakes the stream.
        let (wakes, _) = live.subscribe().await;
        let reads = live.reads();
        let pool = app(ctx).pool.clone();
        let first = service::unread_count(&pool, &scope)
            .await
            .map_err(ApiError::from)?;
        struct Counting {
            wakes: broadcast::Receiver<Arc<Wake>>,
            reads: broadcast::Receiver<Uuid>,
            pool: sqlx::PgPool,
            scope: Scope,
            account: Uuid,
            company: Option<Uuid>,
            guard: Guard,
            last: Option<i64>,
            next: Option<i64>,
        }
        let state = Counting {
            wakes,
            reads,
            pool,
            scope,
            account,
            company: company_id,
            guard,
            last: None,
            next: Some(first),
        };
        Ok(futures::stream::unfold(state, |mut s| async move {
            loop {
                if let Some(n) = s.next.take() {
                    if s.last != Some(n) {
                        s.last = Some(n);
                        return Some((n, s));
                    }
                }
                let changed = tokio::select! {
                    w = s.wakes.recv() => match w {
                        Ok(w) => w.has_notifications(s.scope.staff, s.company),
                        Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    a = s.reads.recv() => match a {
                        Ok(a) => a == s.account,
                        Err(broadcast::error::RecvError::Lagged(_)) => true,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                };
                if !changed {
                    continue;
                }
                if !s.guard.still_allowed().await {
                    return None;
                }
                match service::unread_count(&s.pool, &s.scope).await {
                    Ok(n) => s.next = Some(n),
                    Err(e) => {
                        tracing::warn!(error = ?e, "unread count read failed; ending the subscription");
                        return None;
                    }
                }
            }
        }))
    }

    /// Changes to the requests of `companyId` (or only `requestId`; without `companyId`, of every company
    /// the caller sees): each time one changes, the request as it is then. With `after` (an update's `position`), first the requests changed since.
    async fn request_updated(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
        request_id: Option<Uuid>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = RequestUpdate>> {
        Ok(changes(
            ctx,
            Operation::ReadRequests,
            &live::REQUESTS,
            (company_id, request_id),
            after,
            |w, c| w.requests.about(c),
            |position, request_id| RequestUpdate {
                position,
                request_id,
            },
        )
        .await?)
    }

    /// Changes to the exchange documents of `companyId` (or only `documentId`; without `companyId`, of every
    /// company the caller sees): each time one is issued,
    /// uploaded or takes a signing step, the document as it is then. With `after`, first the documents
    /// changed since.
    async fn document_updated(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
        document_id: Option<Uuid>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = DocumentUpdate>> {
        Ok(changes(
            ctx,
            Operation::ReadExchange,
            &live::DOCUMENTS,
            (company_id, document_id),
            after,
            |w, c| w.documents.about(c),
            |position, document_id| DocumentUpdate {
                position,
                document_id,
            },
        )
        .await?)
    }

    /// Changes to the policies of `companyId` (or only `policyId`; without `companyId`, of every company the
    /// caller sees): issued, prolonged, changed, cancelled,
    /// premium paid, an insured event reported — the policy as it is then. With `after`, first the policies
    /// changed since.
    async fn policy_updated(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
        policy_id: Option<Uuid>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = PolicyUpdate>> {
        Ok(changes(
            ctx,
            Operation::ReadPolicies,
            &live::POLICIES,
            (company_id, policy_id),
            after,
            |w, c| w.policies.about(c),
            |position, policy_id| PolicyUpdate {
                position,
                policy_id,
            },
        )
        .await?)
    }

    /// `companyId`'s ЭДО connection (without it, every company's the caller sees) each time it changes (questionnaire, offer, roaming, confirmation,
    /// refusal). With `after`, first the changes since.
    async fn edo_status_changed(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = EdoUpdate>> {
        Ok(changes(
            ctx,
            Operation::ReadExchange,
            &live::EDO,
            (company_id, None),
            after,
            |w, c| w.edo.about(c),
            |position, company_id| EdoUpdate {
                position,
                company_id,
            },
        )
        .await?)
    }

    /// New messages in the conversation of `companyId` (its own thread and its requests' threads), as
    /// `conversationMessages` shows them, in the order they were committed. Without `companyId`: a client's
    /// companies; a staff member's, the companies they are the manager of (as each read finds them). With
    /// `after` (a position), first everything after it.
    async fn conversation_message_added(
        &self,
        ctx: &Context<'_>,
        company_id: Option<Uuid>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = super::conversations::ConversationMessage>> {
        use crate::app::conversations as talk;
        let (guard, actor) = match company_id {
            Some(c) => Guard::new(ctx, Operation::ReadConversation(c))?,
            None => Guard::new(ctx, Operation::Me)?,
        };
        let which = super::conversations::followed(actor, company_id)?;
        let after = match after {
            Some(a) => Some(a.checkpoint(&app(ctx).pool, "after").await?),
            None => None,
        };
        let (rx, head) = app(ctx).live.subscribe().await;
        let pool = app(ctx).pool.clone();
        let which = Arc::new(which);
        let fetch: Fetch<Checkpoint, super::conversations::ConversationMessage> =
            Box::new(move |cursor: Checkpoint, floor| {
                let (pool, which) = (pool.clone(), which.clone());
                Box::pin(async move {
                    let companies = talk::companies(&pool, &which).await?;
                    let rows = talk::since(
                        &pool,
                        &companies,
                        (cursor.transaction_id, cursor.position),
                        BATCH,
                        floor,
                    )
                    .await?;
                    let next = rows.last().map_or(cursor, |(t, m)| Checkpoint {
                        transaction_id: *t,
                        position: m.position,
                    });
                    let items = rows
                        .into_iter()
                        .map(|(_, m)| m.try_into())
                        .collect::<Result<Vec<_>, ApiError>>()?;
                    Ok((items, next))
                })
            });
        Ok(follow(Follow {
            rx,
            cursor: after.unwrap_or(head),
            pending: VecDeque::new(),
            read_now: after.is_some(),
            relevant: |w: &Wake, c| w.conversations.about(c),
            company: company_id,
            at_wake: |c| c,
            fetch,
            guard,
            floor: 0,
        }))
    }

    /// `companyId`'s debt each time it changes. With `after`, the current debt first.
    async fn debt_changed(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = DebtUpdate>> {
        let (guard, _) = Guard::new(ctx, Operation::ReadContracts(company_id))?;
        let after = match after {
            Some(a) => Some(a.checkpoint(&app(ctx).pool, "after").await?),
            None => None,
        };
        let (rx, head) = app(ctx).live.subscribe().await;
        let pool = app(ctx).pool.clone();
        // The last debt sent (as text), so only a change is sent; none yet when resuming.
        let last = Arc::new(tokio::sync::Mutex::new(if after.is_some() {
            None
        } else {
            Some(format!("{:?}", company_debt(&pool, company_id).await?))
        }));
        let fetch: Fetch<Checkpoint, DebtUpdate> = Box::new(move |cursor: Checkpoint, _floor| {
            let (pool, last) = (pool.clone(), last.clone());
            Box::pin(async move {
                let debt = company_debt(&pool, company_id).await?;
                let text = format!("{debt:?}");
                let mut last = last.lock().await;
                // Where the feed was when this read started (never before the subscription's start).
                let at = cursor.max(head);
                if last.as_deref() == Some(text.as_str()) {
                    return Ok((vec![], cursor));
                }
                *last = Some(text);
                Ok((
                    vec![DebtUpdate {
                        // Everything through the event the feed reached was seen, its notifications too.
                        position: Position {
                            event: at.position,
                            ordinal: i32::MAX,
                        },
                        debt,
                    }],
                    cursor,
                ))
            })
        });
        Ok(follow(Follow {
            rx,
            cursor: after.unwrap_or(head),
            pending: VecDeque::new(),
            read_now: after.is_some(),
            relevant: |w: &Wake, c| c.is_some_and(|c| w.debt.concerns(c)),
            company: Some(company_id),
            at_wake: |c| c,
            fetch,
            guard,
            floor: 0,
        }))
    }
}
