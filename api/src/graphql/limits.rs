//! Bounds on a request's text, checked before the parser sees it. The GraphQL parser recurses once per
//! level of nesting (`[`, `{`, `(` in selections, lists and input objects), so an unbounded nesting is an
//! unbounded stack: a few kilobytes of `[` abort the whole process. The bound is checked for every
//! transport (POST and WebSocket alike) by a schema extension that runs before parsing.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{ServerResult, Variables};

use crate::error::ApiError;

/// The deepest nesting of brackets, braces and parentheses a request may have. The cabinet's deepest
/// legitimate request (a screen's selection under the depth limit, with input objects) stays far below.
pub const MAX_NESTING: usize = 64;

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

/// The schema extension that refuses a request nested deeper than [`MAX_NESTING`] before parsing it.
pub struct RequestLimits;

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimitsExtension)
    }
}

struct RequestLimitsExtension;

#[async_trait::async_trait]
impl Extension for RequestLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        if nesting_depth(query) > MAX_NESTING {
            return Err(async_graphql::Error::from(ApiError::validation(
                "query",
                format!("is nested more than {MAX_NESTING} levels deep"),
            ))
            .into_server_error(async_graphql::Pos::default()));
        }
        next.run(ctx, query, variables).await
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
}
