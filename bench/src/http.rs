//! The benchmark's HTTP side: a GraphQL client of the server under test.

use serde_json::{json, Value};

/// A GraphQL client of the server under test, signed in as `token` (none: anonymous).
#[derive(Clone)]
pub struct Http {
    pub client: reqwest::Client,
    pub url: String,
    pub token: String,
}

impl Http {
    /// Runs `query`; the error code (or the errors) when it failed.
    pub async fn gql(&self, query: &str, variables: Value) -> Result<Value, String> {
        let mut request = self.client.post(&self.url);
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        let r: Value = request
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match r["errors"][0]["extensions"]["code"].as_str() {
            Some(code) => Err(code.to_owned()),
            None if !r["errors"].is_null() => Err(r["errors"].to_string()),
            None => Ok(r),
        }
    }

    /// The sum of a metric's samples on `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let Ok(r) = self
            .client
            .get(self.url.replace("/graphql", "/metrics"))
            .send()
            .await
        else {
            return 0.0;
        };
        let text = r.text().await.unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(name))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

/// The payment mutation every command level sends.
pub const PAY: &str =
    "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { position debt { total } } }";
