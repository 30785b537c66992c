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

/// The role matrix in docs/security.md is rendered from the policy table itself. Regenerate with
/// `UPDATE_DOCS=1 cargo test -p cabinet-tests --test schema`.
#[test]
fn the_role_matrix_in_docs_security_md_is_the_policy() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/security.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let (begin, end) = ("<!-- role-matrix:begin -->\n", "<!-- role-matrix:end -->");
    let (Some(a), Some(b)) = (doc.find(begin), doc.find(end)) else {
        panic!("docs/security.md has no {begin:?} … {end:?} block");
    };
    let rendered = format!(
        "{}{begin}{}{}",
        &doc[..a],
        api::auth::policy::role_matrix(),
        &doc[b..]
    );
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &rendered).unwrap();
    }
    assert!(
        std::fs::read_to_string(&path).unwrap() == rendered,
        "the role matrix in docs/security.md is out of date: run UPDATE_DOCS=1 cargo test -p cabinet-tests --test schema"
    );
}
