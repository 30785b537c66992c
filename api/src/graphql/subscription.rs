//! Live updates over `graphql-transport-ws` (`/graphql/ws`): `notificationAdded`, `requestUpdated` and
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
use super::notifications::Notification;
use super::position::Position;
use super::requests::{request_by_id, Request};
use crate::app::live::Wake;
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

/// Re-checks the caller's session and `op` every [`RECHECK`].
struct Guard {
    app: App,
    token_hash: Option<Vec<u8>>,
    op: Operation,
    checked: Instant,
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
        };
        Ok((guard, actor))
    }

    async fn still_allowed(&mut self) -> bool {
        if self.checked.elapsed() < RECHECK {
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

    /// Changes to the requests of `companyId` (or only `requestId`): each time one changes, the request as
    /// it is then. With `after` (an update's `position`), first the requests changed since.
    async fn request_updated(
        &self,
        ctx: &Context<'_>,
        company_id: Uuid,
        request_id: Option<Uuid>,
        after: Option<Position>,
    ) -> Result<impl Stream<Item = RequestUpdate>> {
        let (guard, _) = Guard::new(ctx, Operation::ReadRequests(company_id))?;
        let after = match after {
            Some(a) => Some(a.checkpoint(&app(ctx).pool, "after").await?),
            None => None,
        };
        let (rx, head) = app(ctx).live.subscribe().await;
        let pool = app(ctx).pool.clone();
        let fetch: Fetch<Checkpoint, RequestUpdate> = Box::new(move |cursor: Checkpoint, floor| {
            let pool = pool.clone();
            Box::pin(async move {
                let rows = crate::app::live::request_changes_after(
                    &pool, company_id, request_id, cursor, BATCH, floor,
                )
                .await?;
                let next = rows.last().map_or(cursor, |r| Checkpoint {
                    transaction_id: r.0,
                    position: r.1,
                });
                // One update per request: the last change in this read.
                let mut updates: Vec<RequestUpdate> = Vec::new();
                for (t, p, id) in rows {
                    updates.retain(|u| u.request_id != id);
                    updates.push(RequestUpdate {
                        position: Checkpoint {
                            transaction_id: t,
                            position: p,
                        },
                        request_id: id,
                    });
                }
                Ok((updates, next))
            })
        });
        Ok(follow(Follow {
            rx,
            cursor: after.unwrap_or(head),
            pending: VecDeque::new(),
            read_now: after.is_some(),
            relevant: |w: &Wake, c| c.is_some_and(|c| w.requests.concerns(c)),
            company: Some(company_id),
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
