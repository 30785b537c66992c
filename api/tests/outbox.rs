//! The mail outbox on PostgreSQL: a committed mail survives a failing transport and is delivered once with
//! its Message-ID, a rolled-back one is never sent, bodies are wiped after sending, and SMTP's permanent and
//! temporary refusals are told apart (against a minimal SMTP server on loopback).

use api::app::files::PgFileStore;
use api::mail::templates::{self, Locale};
use api::mail::transport::Transport;
use api::mail::Outbox;
use api::workers::outbox::deliver_due;
use lettre::message::Mailbox;
use sqlx::PgPool;

mod support;

use support::smtp_server;

fn outbox() -> Outbox {
    Outbox::new(from(), "https://lk.leasing.test")
}

fn from() -> Mailbox {
    "Кабинет <cabinet@leasing.test>".parse().unwrap()
}

async fn queue(pool: &PgPool, to: &str) -> String {
    let mut tx = pool.begin().await.unwrap();
    let letter = templates::password_changed(Locale::Ru, &outbox().site, chrono::Utc::now());
    let id = outbox().enqueue(&mut tx, to, letter).await.unwrap();
    tx.commit().await.unwrap();
    id
}

#[derive(sqlx::FromRow, Debug)]
struct Row {
    attempts: i32,
    sent: bool,
    failed: bool,
    has_body: bool,
    last_error: Option<String>,
    due_in_s: f64,
}

async fn row(pool: &PgPool, message_id: &str) -> Row {
    sqlx::query_as(
        "SELECT attempts, sent_at IS NOT NULL AS sent, failed_at IS NOT NULL AS failed, \
                body_text IS NOT NULL AS has_body, last_error, \
                extract(epoch FROM next_attempt_at - clock_timestamp())::float8 AS due_in_s \
         FROM outbox WHERE message_id = $1",
    )
    .bind(message_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_committed_mail_survives_a_failing_transport_and_is_delivered_once_with_its_message_id() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(3).await.unwrap();
    let dir = std::env::temp_dir().join(format!("cabinet-outbox-{}", uuid::Uuid::new_v4()));
    let transport = Transport::new(None, dir.clone()).unwrap();
    let id = queue(&pool, "buh@romashka.ru").await;
    // A change that rolls back leaves no mail.
    let mut tx = pool.begin().await.unwrap();
    let letter = templates::password_changed(Locale::En, &outbox().site, chrono::Utc::now());
    outbox()
        .enqueue(&mut tx, "never@romashka.ru", letter)
        .await
        .unwrap();
    tx.rollback().await.unwrap();

    // The transport fails (its directory is gone): the mail stays, with a retry in 10 s.
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        deliver_due(&pool, &PgFileStore::new(pool.clone()), &transport, &from())
            .await
            .unwrap(),
        0
    );
    let r = row(&pool, &id).await;
    assert_eq!(
        (r.attempts, r.sent, r.failed, r.has_body),
        (1, false, false, true),
        "{r:?}"
    );
    assert!(r.last_error.is_some());
    assert!((8.0..=10.5).contains(&r.due_in_s), "{r:?}");
    // Not due yet: nothing is tried.
    std::fs::create_dir_all(&dir).unwrap();
    assert_eq!(
        deliver_due(&pool, &PgFileStore::new(pool.clone()), &transport, &from())
            .await
            .unwrap(),
        0
    );
    assert_eq!(row(&pool, &id).await.attempts, 1);

    sqlx::query("UPDATE outbox SET next_attempt_at = clock_timestamp()")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        deliver_due(&pool, &PgFileStore::new(pool.clone()), &transport, &from())
            .await
            .unwrap(),
        1
    );
    let r = row(&pool, &id).await;
    assert_eq!((r.attempts, r.sent, r.has_body), (2, true, false), "{r:?}");
    // Sent is sent: nothing goes out twice.
    assert_eq!(
        deliver_due(&pool, &PgFileStore::new(pool.clone()), &transport, &from())
            .await
            .unwrap(),
        0
    );
    let written = files(&dir);
    assert_eq!(written.len(), 1);
    assert!(
        written[0].contains(&format!("Message-ID: {id}")),
        "{}",
        written[0]
    );
    assert!(written[0].contains("X-Cabinet-Template: password_changed"));
    assert!(written[0].contains("To: buh@romashka.ru"));
    assert!(written[0].contains("multipart/alternative"));
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(total, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn smtp_delivers_retries_a_temporary_refusal_and_gives_up_on_a_permanent_one() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(3).await.unwrap();
    let dir = std::env::temp_dir();

    let (port, received) = smtp_server("250 OK").await;
    let smtp = Transport::new(Some(&format!("smtp://127.0.0.1:{port}")), dir.clone()).unwrap();
    let id = queue(&pool, "buh@romashka.ru").await;
    assert_eq!(
        deliver_due(&pool, &PgFileStore::new(pool.clone()), &smtp, &from())
            .await
            .unwrap(),
        1
    );
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert!(got[0].contains(&format!("Message-ID: {id}")), "{}", got[0]);
    assert!(row(&pool, &id).await.sent);

    let (port, _) = smtp_server("451 try later").await;
    let smtp = Transport::new(Some(&format!("smtp://127.0.0.1:{port}")), dir.clone()).unwrap();
    let id = queue(&pool, "later@romashka.ru").await;
    assert_eq!(
        deliver_due(&pool, &PgFileStore::new(pool.clone()), &smtp, &from())
            .await
            .unwrap(),
        0
    );
    let r = row(&pool, &id).await;
    assert_eq!(
        (r.sent, r.failed, r.has_body, r.attempts),
        (false, false, true, 1),
        "{r:?}"
    );

    let (port, _) = smtp_server("550 no such mailbox").await;
    let smtp = Transport::new(Some(&format!("smtp://127.0.0.1:{port}")), dir).unwrap();
    sqlx::query("DELETE FROM outbox")
        .execute(&pool)
        .await
        .unwrap();
    let id = queue(&pool, "gone@romashka.ru").await;
    assert_eq!(
        deliver_due(&pool, &PgFileStore::new(pool.clone()), &smtp, &from())
            .await
            .unwrap(),
        0
    );
    let r = row(&pool, &id).await;
    assert_eq!(
        (r.sent, r.failed, r.has_body),
        (false, true, false),
        "{r:?}"
    );
    assert!(r.last_error.unwrap().contains("550"));
}

#[tokio::test]
async fn two_senders_at_once_deliver_each_mail_once_and_a_dead_senders_claim_waits_for_its_lease() {
    use api::workers::outbox::Sender;
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(6).await.unwrap();
    let dir = std::env::temp_dir().join(format!("cabinet-outbox-{}", uuid::Uuid::new_v4()));
    let transport = Transport::new(None, dir.clone()).unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(queue(&pool, &format!("buh{i}@romashka.ru")).await);
    }
    // Two senders (as after a change of leadership), each claiming through its own connection.
    let (a, b) = (
        Sender::new(std::time::Duration::from_secs(60)),
        Sender::new(std::time::Duration::from_secs(60)),
    );
    let (mut ca, mut cb) = (pool.acquire().await.unwrap(), pool.acquire().await.unwrap());
    let store = PgFileStore::new(pool.clone());
    let sender = from();
    let (sa, sb) = tokio::join!(
        a.deliver_due(&mut ca, &pool, &store, &transport, &sender),
        b.deliver_due(&mut cb, &pool, &store, &transport, &sender)
    );
    assert_eq!(sa.unwrap() + sb.unwrap(), 40);
    let written = files(&dir);
    assert_eq!(written.len(), 40, "each mail written once");
    for id in &ids {
        let n = written
            .iter()
            .filter(|f| f.contains(&format!("Message-ID: {id}")))
            .count();
        assert_eq!(n, 1, "{id}");
    }
    // No temporary file is left beside them.
    let hidden = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(hidden, 0);
    let claimed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE claimed_by IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(claimed, 0);

    // A mail claimed by a sender that died: nobody else sends it until the claim's lease ends.
    let late = queue(&pool, "late@romashka.ru").await;
    sqlx::query(
        "UPDATE outbox SET claimed_by = 'dead:1:0', lease_until = clock_timestamp() + interval '2 seconds' \
         WHERE message_id = $1",
    )
    .bind(&late)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        a.deliver_due(&mut ca, &pool, &store, &transport, &from())
            .await
            .unwrap(),
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        a.deliver_due(&mut ca, &pool, &store, &transport, &from())
            .await
            .unwrap(),
        1
    );
    assert!(row(&pool, &late).await.sent);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_queued_mails_bodies_are_sealed_at_rest_and_their_key_goes_once_sent() {
    let db = projections::postgres::testing::fresh_database()
        .await
        .unwrap();
    let pool = db.pool(3).await.unwrap();
    let dir = std::env::temp_dir().join(format!("cabinet-outbox-{}", uuid::Uuid::new_v4()));
    let transport = Transport::new(None, dir.clone()).unwrap();
    // A temporary password: the kind of secret a body holds until sent.
    let mut tx = pool.begin().await.unwrap();
    let letter = templates::temporary_password_reset(
        Locale::Ru,
        &outbox().site,
        "buh@romashka.ru",
        "Zx9-temporary-Qw7",
        chrono::Utc::now(),
    );
    let id = outbox()
        .enqueue(&mut tx, "buh@romashka.ru", letter)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (text, html): (String, String) =
        sqlx::query_as("SELECT body_text, body_html FROM outbox WHERE message_id = $1")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    for body in [&text, &html] {
        assert!(
            body.starts_with(projections::personal::SEALED_TEXT),
            "{body}"
        );
        assert!(!body.contains("Zx9-temporary-Qw7"));
    }
    let keys = |pool: PgPool, id: String| async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM subject_keys WHERE scope_type = 'Mail' AND scope_id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    assert_eq!(keys(pool.clone(), id.clone()).await, 1);
    deliver_due(&pool, &PgFileStore::new(pool.clone()), &transport, &from())
        .await
        .unwrap();
    // Sent in clear to the recipient; at rest nothing is left of the body, nor of its key.
    assert!(files(&dir)
        .iter()
        .any(|m| plain_part(m).contains("Zx9-temporary-Qw7")));
    assert!(row(&pool, &id).await.sent);
    assert!(!row(&pool, &id).await.has_body);
    assert_eq!(keys(pool.clone(), id).await, 0);
}

/// The decoded text/plain part of a mail lettre wrote (base64).
fn plain_part(raw: &str) -> String {
    use base64::Engine;
    let raw = raw.replace("\r\n", "\n");
    let Some(start) = raw.find("Content-Type: text/plain") else {
        return String::new();
    };
    let Some((_, encoded)) = raw[start..].split_once("\n\n") else {
        return String::new();
    };
    let encoded: String = encoded
        .lines()
        .take_while(|l| !l.starts_with("--"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}
