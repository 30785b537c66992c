//! Keys per data subject and sealed personal values (issue 21, first part) on a real PostgreSQL.

use projections::personal::{Keyring, MasterKeys, PersonalError, MARK};
use projections::postgres::testing::fresh_database;
use serde_json::{json, Value};
use uuid::Uuid;

fn masters(current: &str, keys: &[(&str, &str)]) -> MasterKeys {
    MasterKeys::new(current, keys).unwrap()
}

fn payload(contact: Uuid, driver: Uuid) -> Value {
    json!({"ContractConcluded": {
        "number": "ДЛ-1",
        "contact_email": { MARK: { "s": contact, "v": "buh@romashka.ru" } },
        "drivers": [
            { "name": { MARK: { "s": driver, "v": {"full_name": "Иванов Иван", "licence": "77АА123456"} } } }
        ]
    }})
}

#[tokio::test]
async fn sealed_values_hold_no_clear_text_open_again_and_read_as_destroyed_once_the_key_is_gone() {
    let pool = fresh_database().await.unwrap().pool(2).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let k1 = MasterKeys::generate();
    let mut ring = Keyring::new(masters("m1", &[("m1", &k1)]));
    let (contact, driver) = (Uuid::now_v7(), Uuid::now_v7());
    let clear = payload(contact, driver);

    let mut sealed = clear.clone();
    ring.seal(&mut conn, &mut sealed).await.unwrap();
    let text = sealed.to_string();
    for secret in ["buh@romashka.ru", "Иванов", "77АА123456"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // What is not personal stays as it was.
    assert_eq!(sealed["ContractConcluded"]["number"], "ДЛ-1");
    // Two keys stored, wrapped, none in clear.
    let keys: i64 =
        sqlx::query_scalar("SELECT count(*) FROM subject_keys WHERE wrapped_key IS NOT NULL")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(keys, 2);

    // A fresh keyring (another process) opens it.
    let mut other = Keyring::new(masters("m1", &[("m1", &k1)]));
    let mut opened = sealed.clone();
    other.open(&mut conn, &mut opened).await.unwrap();
    assert_eq!(opened, clear);

    // A ciphertext moved to another subject does not open.
    let mut moved = sealed.clone();
    moved["ContractConcluded"]["contact_email"][MARK]["c"] =
        sealed["ContractConcluded"]["drivers"][0]["name"][MARK]["c"].clone();
    moved["ContractConcluded"]["contact_email"][MARK]["n"] =
        sealed["ContractConcluded"]["drivers"][0]["name"][MARK]["n"].clone();
    assert!(matches!(
        other.open(&mut conn, &mut moved).await,
        Err(PersonalError::Corrupt(_))
    ));

    // The driver's key destroyed: the driver reads as destroyed, the contact still opens.
    ring.destroy(&mut conn, driver).await.unwrap();
    let mut later = Keyring::new(masters("m1", &[("m1", &k1)]));
    let mut after = sealed.clone();
    later.open(&mut conn, &mut after).await.unwrap();
    assert_eq!(
        after["ContractConcluded"]["drivers"][0]["name"],
        json!({ MARK: { "s": driver, "x": true } })
    );
    assert_eq!(
        after["ContractConcluded"]["contact_email"],
        clear["ContractConcluded"]["contact_email"]
    );
    // And nothing personal can be sealed for a destroyed subject again.
    let mut again = payload(contact, driver);
    later.seal(&mut conn, &mut again).await.unwrap();
    assert_eq!(
        again["ContractConcluded"]["drivers"][0]["name"],
        json!({ MARK: { "s": driver, "x": true } })
    );
    let stored: (Option<Vec<u8>>, bool) = sqlx::query_as(
        "SELECT wrapped_key, destroyed_at IS NOT NULL FROM subject_keys WHERE subject_id = $1",
    )
    .bind(driver)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(stored, (None, true));
}

#[tokio::test]
async fn a_new_master_key_rewraps_the_data_keys_and_the_old_sealed_values_still_open() {
    let pool = fresh_database().await.unwrap().pool(2).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let (k1, k2) = (MasterKeys::generate(), MasterKeys::generate());
    let subject = Uuid::now_v7();
    let mut sealed = json!({ "e": { MARK: { "s": subject, "v": "+7 495 500-55-50" } } });
    Keyring::new(masters("m1", &[("m1", &k1)]))
        .seal(&mut conn, &mut sealed)
        .await
        .unwrap();
    // m2 becomes current; m1 is still known while keys are re-wrapped.
    let mut ring = Keyring::new(masters("m2", &[("m1", &k1), ("m2", &k2)]));
    assert_eq!(ring.rewrap_all(&mut conn).await.unwrap(), 1);
    // Now m1 can go: the event, untouched, opens under m2 alone.
    let mut opened = sealed.clone();
    Keyring::new(masters("m2", &[("m2", &k2)]))
        .open(&mut conn, &mut opened)
        .await
        .unwrap();
    assert_eq!(opened["e"][MARK]["v"], "+7 495 500-55-50");
    // Without the master key that wraps it, nothing opens.
    let mut lost = sealed.clone();
    assert!(matches!(
        Keyring::new(masters("m1", &[("m1", &k1)]))
            .open(&mut conn, &mut lost)
            .await,
        Err(PersonalError::UnknownMasterKey(_))
    ));
}

#[tokio::test]
async fn sealed_text_is_bound_to_its_context_and_unsealed_text_passes_through() {
    let pool = fresh_database().await.unwrap().pool(2).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let k = MasterKeys::generate();
    let mut ring = Keyring::new(masters("m", &[("m", &k)]));
    let subject = Uuid::now_v7();
    let sealed = ring
        .seal_text(
            &mut conn,
            subject,
            "Временный пароль: Тихий-Дон-1928",
            b"<m1@x>",
        )
        .await
        .unwrap();
    assert!(sealed.starts_with(projections::personal::SEALED_TEXT));
    assert!(!sealed.contains("Тихий"));
    let mut other = Keyring::new(masters("m", &[("m", &k)]));
    assert_eq!(
        other
            .open_text(&mut conn, subject, &sealed, b"<m1@x>")
            .await
            .unwrap()
            .as_deref(),
        Some("Временный пароль: Тихий-Дон-1928")
    );
    // Bound to its Message-ID: under another it does not open.
    assert!(matches!(
        other
            .open_text(&mut conn, subject, &sealed, b"<m2@x>")
            .await,
        Err(PersonalError::Corrupt(_))
    ));
    // Text written before sealing existed is returned as it is.
    assert_eq!(
        other
            .open_text(&mut conn, subject, "plain", b"<m1@x>")
            .await
            .unwrap()
            .as_deref(),
        Some("plain")
    );
    // A destroyed key: nothing to open.
    other.destroy(&mut conn, subject).await.unwrap();
    assert_eq!(
        Keyring::new(masters("m", &[("m", &k)]))
            .open_text(&mut conn, subject, &sealed, b"<m1@x>")
            .await
            .unwrap(),
        None
    );
}
