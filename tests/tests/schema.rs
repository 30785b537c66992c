//! The committed SDL (docs/schema.graphql) is the schema the server serves. Regenerate with
//! `UPDATE_SCHEMA=1 cargo test -p cabinet-tests --test schema`.

#[test]
fn the_committed_sdl_matches_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema.graphql");
    let sdl = api::graphql::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "docs/schema.graphql is out of date: run UPDATE_SCHEMA=1 cargo test -p cabinet-tests --test schema"
    );
}
