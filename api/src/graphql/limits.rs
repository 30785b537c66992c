//! Bounds on a request, checked before async-graphql parses and validates it, for every transport (POST and
//! WebSocket alike), by a schema extension:
//! - before the parser sees the text: the nesting of `[`, `{`, `(` — the parser recurses once per level, so
//!   unbounded nesting is an unbounded stack (a few kilobytes of `[` aborted the whole process);
//! - once parsed (by this extension, and the document handed on), before any check walks it: the size of
//!   each operation with its fragments expanded — fragments
//!   that each spread the previous one twice make a kilobyte expand to billions of fields, and validation
//!   walks the expansion (13.5 s and 3.4 GiB for one such request). The size is computed once per fragment,
//!   so checking it is linear in the document.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Request, ServerResult};

use crate::error::ApiError;

/// The deepest nesting of brackets, braces and parentheses a request may have. The cabinet's deepest
/// legitimate request (a screen's selection under the depth limit, with input objects) stays far below.
pub const MAX_NESTING: usize = 64;

/// The most fields one operation may have once its fragments are expanded.
pub const MAX_EXPANDED_FIELDS: u64 = 5_000;

/// Requests longer than this (bytes) are parsed on the blocking pool rather than on an async worker.
pub const PARSE_ASIDE_BYTES: usize = 8 * 1024;

/// The most fragment definitions one document may hold (which also bounds how deep a chain of fragments
/// spreading each other can make the size computation recurse).
pub const MAX_FRAGMENTS: usize = 200;

/// Root fields that check a password (argon2, deliberately slow) or send mail: one request may hold at
/// most [`MAX_COSTLY_FIELDS`] of them, aliases and fragments counted, so that no single request queues
/// hundreds of hashes or mails.
pub const COSTLY_FIELDS: &[&str] = &[
    "login",
    "changePassword",
    "requestPasswordReset",
    "resetPassword",
    "requestLoginChange",
    "confirmLoginChange",
    "resetAccountPassword",
    "requestAccountDeletion",
    "inviteColleague",
    "acceptInvitation",
    "acceptStaffInvitation",
    "inviteStaff",
    "startTotpEnrolment",
    "disableTotp",
];

/// See [`COSTLY_FIELDS`].
pub const MAX_COSTLY_FIELDS: usize = 1;

/// The most [`COSTLY_FIELDS`] at the root of any operation in `doc` (each alias and each spread counts).
pub fn costly_fields(doc: &ExecutableDocument) -> usize {
    fn count<'a>(
        doc: &'a ExecutableDocument,
        set: &'a SelectionSet,
        visiting: &mut Vec<&'a str>,
    ) -> usize {
        set.items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(f) => {
                    usize::from(COSTLY_FIELDS.contains(&f.node.name.node.as_str()))
                }
                Selection::InlineFragment(i) => count(doc, &i.node.selection_set.node, visiting),
                Selection::FragmentSpread(sp) => {
                    let name = sp.node.fragment_name.node.as_str();
                    if visiting.contains(&name) {
                        return 0;
                    }
                    let Some(def) = doc.fragments.get(&sp.node.fragment_name.node) else {
                        return 0;
                    };
                    visiting.push(name);
                    let n = count(doc, &def.node.selection_set.node, visiting);
                    visiting.pop();
                    n
                }
            })
            .fold(0usize, usize::saturating_add)
    }
    doc.operations
        .iter()
        .map(|(_, op)| count(doc, &op.node.selection_set.node, &mut Vec::new()))
        .max()
        .unwrap_or(0)
}

/// The size of the largest operation in `doc` with every fragment spread expanded (fields counted, at
/// most `cap` + 1: counting stops there). A fragment that spreads itself, directly or not, counts nothing
/// more (validation refuses it anyway).
pub fn expanded_size(doc: &ExecutableDocument, cap: u64) -> u64 {
    let mut memo: HashMap<&str, u64> = HashMap::new();
    doc.operations
        .iter()
        .map(|(_, op)| {
            set_size(
                doc,
                &op.node.selection_set.node,
                &mut memo,
                &mut Vec::new(),
                cap,
            )
        })
        .max()
        .unwrap_or(0)
}

fn set_size<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    memo: &mut HashMap<&'a str, u64>,
    visiting: &mut Vec<&'a str>,
    cap: u64,
) -> u64 {
    let mut total = 0u64;
    for item in &set.items {
        let n = match &item.node {
            Selection::Field(f) => {
                1 + set_size(doc, &f.node.selection_set.node, memo, visiting, cap)
            }
            Selection::InlineFragment(i) => {
                set_size(doc, &i.node.selection_set.node, memo, visiting, cap)
            }
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                if let Some(n) = memo.get(name) {
                    *n
                } else if visiting.contains(&name) {
                    0
                } else if let Some(def) = doc.fragments.get(&s.node.fragment_name.node) {
                    visiting.push(name);
                    let n = set_size(doc, &def.node.selection_set.node, memo, visiting, cap);
                    visiting.pop();
                    memo.insert(name, n);
                    n
                } else {
                    0
                }
            }
        };
        total = total.saturating_add(n);
        if total > cap {
            return cap + 1;
        }
    }
    total
}

/// The deepest nesting of `{`, `[` and `(` in `query`, outside strings, block strings and comments.
pub fn nesting_depth(query: &str) -> usize {
    let b = query.as_bytes();
    let (mut depth, mut max, mut i) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' if b[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < b.len() && !b[i..].starts_with(b"\"\"\"") {
                    i += if b[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                max = max.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    max
}

/// The schema extension that refuses a request nested deeper than [`MAX_NESTING`] before parsing it, and
/// one with more than [`MAX_FRAGMENTS`] fragments or [`MAX_EXPANDED_FIELDS`] expanded fields before
/// validating it.
pub struct RequestLimits;

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimitsExtension)
    }
}

struct RequestLimitsExtension;

#[async_trait::async_trait]
impl Extension for RequestLimitsExtension {
    // The checks run when the request is prepared, before async-graphql parses it, and the document they
    // parse is the one the schema then uses: async-graphql's own checks right after parsing walk the
    // fragments expanded, so the expansion must be bounded before them.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let refuse = |reason: String| {
            async_graphql::Error::from(ApiError::validation("query", reason))
                .into_server_error(async_graphql::Pos::default())
        };
        if nesting_depth(&request.query) > MAX_NESTING {
            return Err(refuse(format!(
                "is nested more than {MAX_NESTING} levels deep"
            )));
        }
        if request.query.len() > PARSE_ASIDE_BYTES {
            // A long text takes a while to parse: not on the async workers every other request shares.
            let text = request.query.clone();
            let parsed =
                tokio::task::spawn_blocking(move || async_graphql::parser::parse_query(text))
                    .await
                    .map_err(|e| {
                        async_graphql::Error::from(ApiError::Internal(e.into()))
                            .into_server_error(async_graphql::Pos::default())
                    })?;
            request.set_parsed_query(parsed?);
        }
        let doc = request.parsed_query()?;
        if doc.fragments.len() > MAX_FRAGMENTS {
            return Err(refuse(format!(
                "has more than {MAX_FRAGMENTS} fragment definitions"
            )));
        }
        if expanded_size(doc, MAX_EXPANDED_FIELDS) > MAX_EXPANDED_FIELDS {
            return Err(refuse(format!(
                "has more than {MAX_EXPANDED_FIELDS} fields once its fragments are expanded"
            )));
        }
        if costly_fields(doc) > MAX_COSTLY_FIELDS {
            return Err(refuse(format!(
                "may hold at most {MAX_COSTLY_FIELDS} of the fields that check passwords or send mail ({})",
                COSTLY_FIELDS.join(", ")
            )));
        }
        next.run(ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_braces_and_parentheses_outside_strings_and_comments() {
        assert_eq!(nesting_depth("{ me { email } }"), 2);
        assert_eq!(nesting_depth("query($a: [[Int]]) { f(a: [[1]]) { x } }"), 4);
        assert_eq!(
            nesting_depth(&format!("{{ f(a: {}) }}", "[".repeat(3000))),
            3002
        );
        assert_eq!(nesting_depth(r#"{ f(s: "[[[[{{{{") }"#), 2);
        assert_eq!(nesting_depth(r#"{ f(s: "a \" [[[[") }"#), 2);
        assert_eq!(nesting_depth("{ f(s: \"\"\"[[[[\\\"\"\"[[\"\"\") }"), 2);
        assert_eq!(nesting_depth("# [[[[[\n{ x }"), 1);
        assert_eq!(nesting_depth("]]]]{ x }"), 1);
    }

    fn parse(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).expect("a valid document")
    }

    #[test]
    fn costly_fields_are_counted_through_aliases_and_fragments() {
        assert_eq!(costly_fields(&parse("mutation { login(a: 1) { t } }")), 1);
        assert_eq!(
            costly_fields(&parse(
                "mutation { a: login { t } b: login { t } c: acceptTerms }"
            )),
            2
        );
        assert_eq!(
            costly_fields(&parse(
                "mutation { ...F ... on M { requestLoginChange } } fragment F on M { changePassword ...F }"
            )),
            2
        );
        assert_eq!(costly_fields(&parse("{ me { login } }")), 0);
    }

    #[test]
    fn the_expanded_size_counts_fields_through_fragments_once_each() {
        assert_eq!(expanded_size(&parse("{ a b { c d } }"), 100), 4);
        assert_eq!(
            expanded_size(
                &parse("{ ...F ...F } fragment F on Q { a b ... on Q { c } }"),
                100
            ),
            6
        );
        // Thirty fragments each spreading the previous twice: 2^30 fields, counted in a moment and capped.
        let mut q = String::from("query { ...F29 } fragment F0 on Q { a b }");
        for i in 1..30 {
            q.push_str(&format!(
                " fragment F{i} on Q {{ ...F{j} ...F{j} }}",
                j = i - 1
            ));
        }
        assert_eq!(expanded_size(&parse(&q), 5_000), 5_001);
        // A fragment that spreads itself counts once, and nothing loops.
        assert_eq!(
            expanded_size(&parse("{ ...F } fragment F on Q { a ...F }"), 100),
            1
        );
        // The largest operation counts.
        assert_eq!(
            expanded_size(&parse("query A { a } query B { a b c }"), 100),
            3
        );
    }
}
