//! Everything started beside the API: the process managers (business days, account provisioning, request
//! effects, notification mail, payment posting) in segments the nodes share (ADR 0028), the outbox sender
//! (the nodes share it by claiming mail), this node's live feed, and the midnight clock.
//!
//! # Layout
//! - [`days`]: closing each business day on every contract with open lines;
//! - [`provisioning`]: a cabinet account for a concluded contract's contact person;
//! - [`effects`]: what completing a request changes elsewhere;
//! - [`notification_mail`]: notifications mailed by the recipients' preferences;
//! - [`posting`]: matched bank payments posted to their contracts and policies;
//! - [`outbox`]: delivering queued mail;
//! - [`clock`]: the midnight clock;
//! - `staff-routing`: staff notifications a company's manager left unread handed to the back office
//!   ([`crate::app::notifications::escalate`]);
//! - [`watch`]: how far each worker is behind, in `/metrics` and the log.
//!
//! Every worker recovers by itself: any error ends its run (closing the connection that held its
//! leadership, so the lock goes with it) and it starts again after a pause that doubles from half a second
//! up to `workers.restart_max_seconds`, and starts over once a run has lasted a minute.

pub mod clock;
pub mod days;
pub mod effects;
pub mod notification_mail;
pub mod outbox;
pub mod posting;
pub mod provisioning;
pub mod watch;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use projections::engine::process_manager::ProcessManager;
use projections::engine::segments::{self, Presence, Segmented};

use crate::app::App;
use crate::config::{ClockMode, Settings};

/// How often unread staff notifications are looked at for escalation.
const ROUTING_EVERY: Duration = Duration::from_secs(30);
/// How often a node looks at the partitions ahead of the log's last position.
const PARTITIONS_EVERY: Duration = Duration::from_secs(60);

/// The process managers, in the order `projections status` lists them.
pub fn process_managers(app: &App) -> Vec<Arc<dyn ProcessManager>> {
    vec![
        Arc::new(days::BusinessDays::new(app.contracts.clone())),
        Arc::new(provisioning::Provisioning::new(app.outbox.clone())),
        Arc::new(effects::RequestEffects::new(app.clone())),
        Arc::new(notification_mail::NotificationMail::new(app.outbox.clone())),
        Arc::new(posting::Posting::new(
            app.contracts.clone(),
            app.policies.clone(),
            app.payments.clone(),
        )),
    ]
}

/// Starts the work that runs beside the API: the process managers, this node's live feed, the outbox
/// sender and, with `clock = auto`, the midnight clock. Each process manager runs in `workers.segments`
/// segments, this node holding its share of them (the count is set in the database first, so every node
/// follows the last one started). They stop when `shutdown` turns true.
///
/// # Errors
/// The segment count is out of range, the database cannot be reached, or the configured time zone is
/// unknown.
pub async fn start(
    app: &App,
    settings: &Settings,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let poll = Duration::from_secs(5);
    let restart_max = Duration::from_secs(settings.workers.restart_max_seconds.max(1));
    let mut tasks = Vec::new();
    let managers = process_managers(app);
    let count = i32::try_from(settings.workers.segments)
        .ok()
        .filter(|n| (1..=256).contains(n))
        .ok_or_else(|| anyhow::anyhow!("workers.segments: must be 1 to 256"))?;
    for manager in &managers {
        segments::set_count(&app.pool, manager.name(), count).await?;
    }
    let presence = Arc::new(Presence::join(&app.pool).await?);
    // The node's consumers are woken together by every append: one horizon read serves them all.
    let horizon = Arc::new(projections::engine::horizon::Shared::default());
    for manager in managers.clone() {
        let (pool, horizon, presence) = (app.pool.clone(), horizon.clone(), presence.clone());
        tasks.push(spawn_restarting(
            manager.name(),
            restart_max,
            shutdown.clone(),
            move |stop| {
                Segmented::new(manager.clone(), manager.batch(), horizon.clone()).run(
                    pool.clone(),
                    presence.clone(),
                    poll,
                    stop,
                )
            },
        ));
    }
    // Every node watches how far the workers are behind.
    let pool = app.pool.clone();
    let stall = Duration::from_secs(settings.workers.stall_seconds.max(1));
    let time_zone = settings.tz()?;
    tasks.push(spawn_restarting(
        "worker-watch",
        restart_max,
        shutdown.clone(),
        move |stop| {
            watch::run(
                pool.clone(),
                time_zone,
                managers.clone(),
                stall,
                Duration::from_secs(5),
                stop,
            )
        },
    ));
    // Every node fans committed events out to its own subscribers.
    let live = app.live.clone();
    tasks.push(spawn_restarting(
        "live-feed",
        restart_max,
        shutdown.clone(),
        move |stop| live.clone().run(stop),
    ));
    // Every node looks at its read replicas' health and lag.
    let (reads, pool) = (app.reads.clone(), app.pool.clone());
    tasks.push(spawn_restarting(
        "replica-watch",
        restart_max,
        shutdown.clone(),
        move |stop| reads.clone().watch(pool.clone(), stop),
    ));
    // Every node hears of revoked sessions, to close their WebSockets.
    let (revocations, pool) = (app.revocations.clone(), app.pool.clone());
    tasks.push(spawn_restarting(
        "session-revocations",
        restart_max,
        shutdown.clone(),
        move |stop| revocations.clone().run(pool.clone(), stop),
    ));
    let (pool, store, transport, from) = (
        app.pool.clone(),
        app.store.clone(),
        app.transport.clone(),
        app.outbox.from.clone(),
    );
    // One sender for the life of the process: what it could not write survives its restarts.
    let sender = Arc::new(outbox::Sender::new(Duration::from_secs(
        settings.workers.mail_lease_seconds,
    )));
    tasks.push(spawn_restarting(
        "outbox-sender",
        restart_max,
        shutdown.clone(),
        move |stop| {
            outbox::run(
                pool.clone(),
                store.clone(),
                transport.clone(),
                from.clone(),
                sender.clone(),
                poll,
                stop,
            )
        },
    ));
    // Every node keeps empty partitions of the log ahead of the last position (ADR 0029): creating them
    // is idempotent and serialised in the database, and a node that finds them missing creates them too.
    let pool_for_partitions = app.pool.clone();
    tasks.push(spawn_restarting(
        "event-partitions",
        restart_max,
        shutdown.clone(),
        move |mut stop| {
            let pool = pool_for_partitions.clone();
            async move {
                loop {
                    let created = projections::store::partitions::ensure(&pool).await?;
                    if created > 0 {
                        tracing::info!(partitions = created, "event log partitions created ahead");
                    }
                    let ahead = projections::store::partitions::empty_ahead(&pool).await?;
                    metrics::gauge!("cabinet_event_partitions_ahead").set(ahead as f64);
                    tokio::select! {
                        _ = tokio::time::sleep(PARTITIONS_EVERY) => {}
                        _ = stop.changed() => return Ok::<(), anyhow::Error>(()),
                    }
                }
            }
        },
    ));
    // Personal data due for destruction (one node at a time: the run takes a lock), checked every minute so
    // that a business day started by hand is acted on at once.
    let app_for_destruction = app.clone();
    tasks.push(spawn_restarting(
        "personal-data-destruction",
        restart_max,
        shutdown.clone(),
        move |mut stop| {
            let app = app_for_destruction.clone();
            async move {
                loop {
                    app.destroy_due_personal_data().await?;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                        _ = stop.changed() => return Ok::<(), anyhow::Error>(()),
                    }
                }
            }
        },
    ));
    // Staff notifications a company's manager left unread past `manager_first_minutes` go to the back
    // office (several nodes may look at once: an inbox ignores a look it has already had).
    let app_for_routing = app.clone();
    tasks.push(spawn_restarting(
        "staff-routing",
        restart_max,
        shutdown.clone(),
        move |mut stop| {
            let app = app_for_routing.clone();
            async move {
                loop {
                    let cutoff = chrono::Utc::now()
                        - chrono::Duration::minutes(i64::from(app.manager_first_minutes));
                    let n = crate::app::notifications::escalate(&app, cutoff)
                        .await
                        .map_err(|e| anyhow::anyhow!("escalating: {}", e.message()))?;
                    if n > 0 {
                        tracing::info!(notifications = n, "escalated to the back office");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(ROUTING_EVERY) => {}
                        _ = stop.changed() => return Ok::<(), anyhow::Error>(()),
                    }
                }
            }
        },
    ));
    if settings.clock == ClockMode::Auto {
        let tz = settings.tz()?;
        let clock = app.clock.clone();
        tasks.push(tokio::spawn(clock::run_midnight_clock(clock, tz, shutdown)));
    }
    Ok(tasks)
}

/// Runs a worker (`run`, given the shutdown signal) until it returns or `stop` turns true, starting it again
/// after a failure: the pause doubles from half a second up to `max`, and starts over once a run has
/// lasted a minute. Counts restarts and shows whether it is running (`cabinet_worker_restarts_total`,
/// `cabinet_worker_up`).
fn spawn_restarting<F, Fut, E>(
    name: &'static str,
    max: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    run: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(tokio::sync::watch::Receiver<bool>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    const FIRST: Duration = Duration::from_millis(500);
    const HEALTHY: Duration = Duration::from_secs(60);
    tokio::spawn(async move {
        let mut pause = FIRST;
        loop {
            let started = std::time::Instant::now();
            metrics::gauge!("cabinet_worker_up", "worker" => name).set(1.0);
            let error = match run(stop.clone()).await {
                Ok(()) => None,
                Err(e) => Some(e.to_string()),
            };
            metrics::gauge!("cabinet_worker_up", "worker" => name).set(0.0);
            match error {
                None => return,
                Some(e) => {
                    if started.elapsed() >= HEALTHY {
                        pause = FIRST;
                    }
                    metrics::counter!("cabinet_worker_restarts_total", "worker" => name)
                        .increment(1);
                    tracing::error!(
                        worker = name,
                        error = %e,
                        restart_in_ms = pause.as_millis() as u64,
                        "worker failed; restarting"
                    );
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = stop.changed() => return,
            }
            pause = (pause * 2).min(max.max(FIRST));
        }
    })
}
