//! The response's fields in the order the request selected them.
//!
//! The GraphQL specification orders every object of a response by its selection set (CollectFields), so a
//! client, a snapshot test or a byte comparison of two replays sees the same text for the same data.
//! async-graphql resolves an object's fields concurrently and writes each one as it completes, so the order
//! of the keys followed the timing of the database (`{"fines":…,"payments":…}` one call, the other order the
//! next). This extension puts every object of the answer — of queries, mutations and each event of a
//! subscription — back in the order of its selection set, without giving up the concurrency.
//!
//! The order is computed once per request, when the document is parsed, for each of its operations (the
//! fragments expanded, fields of the same response key merged as CollectFields merges them), as a tree of
//! plans applied to the answer; the document itself is not kept. A key
//! selected only inside fragments of different type conditions takes the position of its first occurrence;
//! CollectFields would skip the fragments that do not apply to the object, which can move such a key only
//! relative to keys the object does not have.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Name, Response, ServerResult, Value, Variables};

/// The schema extension (see the module's documentation).
pub struct SelectionOrder;

impl ExtensionFactory for SelectionOrder {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(SelectionOrderExtension::default())
    }
}

#[derive(Default)]
struct SelectionOrderExtension {
    /// The plan of every operation of the request's document, by name, built when it is parsed (a
    /// subscription answers many times from one document).
    plans: OnceLock<Vec<(Option<String>, Plan)>>,
}

#[async_trait::async_trait]
impl Extension for SelectionOrderExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let _ = self.plans.set(plans_of(&doc));
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        if let Some(plan) = self
            .plans
            .get()
            .and_then(|plans| chosen(plans, operation_name))
        {
            plan.apply(&mut response.data);
        }
        response
    }
}

/// The plan of every operation of `doc`, with its name.
fn plans_of(doc: &ExecutableDocument) -> Vec<(Option<String>, Plan)> {
    doc.operations
        .iter()
        .map(|(name, op)| {
            (
                name.map(|n| n.to_string()),
                Plan::build(doc, &[&op.node.selection_set.node]),
            )
        })
        .collect()
}

/// The plan of the operation a request runs: the one it names, or the document's only one.
fn chosen<'a>(plans: &'a [(Option<String>, Plan)], name: Option<&str>) -> Option<&'a Plan> {
    match (plans, name) {
        // One anonymous operation runs whatever name the request gives.
        ([(None, plan)], _) => Some(plan),
        (_, Some(name)) => plans
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name))
            .map(|(_, p)| p),
        ([(_, plan)], None) => Some(plan),
        (_, None) => None,
    }
}

/// The order of one object's keys, and the plans of the keys that select fields of their own.
#[derive(Debug, Default)]
struct Plan {
    position: HashMap<Name, usize>,
    children: HashMap<Name, Plan>,
}

impl Plan {
    /// The plan of the selection sets `sets` (several when fields of one response key merge).
    fn build(doc: &ExecutableDocument, sets: &[&SelectionSet]) -> Self {
        let mut keys: Vec<(&Name, Vec<&SelectionSet>)> = Vec::new();
        let mut visiting = Vec::new();
        for set in sets {
            collect(doc, set, &mut keys, &mut visiting);
        }
        let position = keys
            .iter()
            .enumerate()
            .map(|(i, (k, _))| ((*k).clone(), i))
            .collect();
        let children = keys
            .into_iter()
            .filter(|(_, subs)| subs.iter().any(|s| !s.items.is_empty()))
            .map(|(k, subs)| (k.clone(), Plan::build(doc, &subs)))
            .collect();
        Plan { position, children }
    }

    /// Puts `value` (an object, a list of them, or anything else, left alone) in this plan's order.
    fn apply(&self, value: &mut Value) {
        match value {
            Value::List(items) => items.iter_mut().for_each(|item| self.apply(item)),
            Value::Object(map) => {
                // Keys the plan does not know (none, today) keep their place after the known ones.
                map.sort_by_cached_key(|k, _| self.position.get(k).copied().unwrap_or(usize::MAX));
                for (key, child) in &self.children {
                    if let Some(v) = map.get_mut(key) {
                        child.apply(v);
                    }
                }
            }
            _ => {}
        }
    }
}

/// CollectFields without the type conditions: every field of `set`, its fragments expanded in place, in
/// order of first appearance, with the selection sets of every field that shares its response key.
fn collect<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    keys: &mut Vec<(&'a Name, Vec<&'a SelectionSet>)>,
    visiting: &mut Vec<&'a Name>,
) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                let key = &f.node.response_key().node;
                let sub = &f.node.selection_set.node;
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, subs)) => subs.push(sub),
                    None => keys.push((key, vec![sub])),
                }
            }
            Selection::InlineFragment(i) => {
                collect(doc, &i.node.selection_set.node, keys, visiting)
            }
            Selection::FragmentSpread(sp) => {
                let name = &sp.node.fragment_name.node;
                if visiting.contains(&name) {
                    continue;
                }
                if let Some(def) = doc.fragments.get(name) {
                    visiting.push(name);
                    collect(doc, &def.node.selection_set.node, keys, visiting);
                    visiting.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(query: &str, answer: &str) -> String {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        let plans = plans_of(&doc);
        let mut value: Value = serde_json::from_str(answer).unwrap();
        chosen(&plans, None).unwrap().apply(&mut value);
        serde_json::to_string(&value).unwrap()
    }

    #[test]
    fn objects_follow_their_selection_sets_at_every_level_and_in_lists() {
        assert_eq!(
            ordered(
                "{ contract(id: 1) { payments { amount id } fines { id amount } number } }",
                r#"{"contract":{"number":"1","fines":[{"amount":"1","id":"a"},{"amount":"2","id":"b"}],"payments":[{"id":"c","amount":"3"}]}}"#,
            ),
            r#"{"contract":{"payments":[{"amount":"3","id":"c"}],"fines":[{"id":"a","amount":"1"},{"id":"b","amount":"2"}],"number":"1"}}"#
        );
    }

    #[test]
    fn aliases_fragments_and_merged_fields_keep_the_order_collect_fields_gives() {
        let query = "query Q { b: company { ...F } a: company { id } b: company { name } }
                     fragment F on Company { id ... on Company { inn } }";
        assert_eq!(
            ordered(
                query,
                r#"{"a":{"id":"1"},"b":{"name":"n","inn":"7","id":"2"}}"#
            ),
            r#"{"b":{"id":"2","inn":"7","name":"n"},"a":{"id":"1"}}"#
        );
    }

    #[test]
    fn a_named_operation_is_chosen_by_its_name() {
        let doc = async_graphql::parser::parse_query("query A { x y } query B { y x }").unwrap();
        let plans = plans_of(&doc);
        assert!(chosen(&plans, None).is_none());
        assert!(chosen(&plans, Some("C")).is_none());
        let mut value: Value = serde_json::from_str(r#"{"x":1,"y":2}"#).unwrap();
        chosen(&plans, Some("B")).unwrap().apply(&mut value);
        assert_eq!(serde_json::to_string(&value).unwrap(), r#"{"y":2,"x":1}"#);
    }
}
