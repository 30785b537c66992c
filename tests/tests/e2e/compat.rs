//! The schema stays compatible with the released one: `docs/schema.released.graphql` is the contract the
//! shipped frontends were generated from, and the schema the server serves may add to it but not break
//! it — a field, argument, enum value or input field goes only after it was marked `@deprecated` in the
//! released schema (one release of notice). What counts as breaking follows what a client generated with
//! graphql-codegen would trip over:
//! - a type removed or changed in kind; a union member removed; an interface no longer implemented;
//! - an output field removed (unless deprecated), or its type changed other than made non-null;
//! - an argument or input field removed (unless deprecated), or its type changed other than made
//!   nullable; a new required argument or input field (non-null without a default);
//! - an enum value removed (unless deprecated).
//!
//! At a release, copy docs/schema.graphql over it: `UPDATE_RELEASED_SCHEMA=1 cargo test -p cabinet-tests
//! --test e2e compat::` (and say so in the CHANGELOG).

use std::collections::HashMap;

use async_graphql::parser::types::{
    BaseType, FieldDefinition, InputValueDefinition, Type, TypeDefinition, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::parser::Positioned;

fn types(sdl: &str) -> HashMap<String, TypeDefinition> {
    async_graphql::parser::parse_schema(sdl)
        .expect("an SDL")
        .definitions
        .into_iter()
        .filter_map(|d| match d {
            TypeSystemDefinition::Type(t) => Some((t.node.name.node.to_string(), t.node)),
            _ => None,
        })
        .collect()
}

fn deprecated(directives: &[Positioned<async_graphql::parser::types::ConstDirective>]) -> bool {
    directives
        .iter()
        .any(|d| d.node.name.node.as_str() == "deprecated")
}

fn kind(t: &TypeKind) -> &'static str {
    match t {
        TypeKind::Scalar => "scalar",
        TypeKind::Object(_) => "type",
        TypeKind::Interface(_) => "interface",
        TypeKind::Union(_) => "union",
        TypeKind::Enum(_) => "enum",
        TypeKind::InputObject(_) => "input",
    }
}

/// The same type but for nullability, at every depth of lists, where `nullability_ok(old, new)` says
/// which changes of nullability a client survives.
fn same_type(old: &Type, new: &Type, nullability_ok: fn(bool, bool) -> bool) -> bool {
    nullability_ok(old.nullable, new.nullable)
        && match (&old.base, &new.base) {
            (BaseType::Named(a), BaseType::Named(b)) => a == b,
            (BaseType::List(a), BaseType::List(b)) => same_type(a, b, nullability_ok),
            _ => false,
        }
}

/// An output type may become stricter: `T` → `T!`.
fn output_compatible(old: &Type, new: &Type) -> bool {
    same_type(old, new, |old, new| old || !new)
}

/// An input type may become looser: `T!` → `T`.
fn input_compatible(old: &Type, new: &Type) -> bool {
    same_type(old, new, |old, new| new || !old)
}

fn inputs(
    at: &str,
    old: &[Positioned<InputValueDefinition>],
    new: &[Positioned<InputValueDefinition>],
    out: &mut Vec<String>,
) {
    for o in old {
        let name = o.node.name.node.as_str();
        match new.iter().find(|n| n.node.name.node.as_str() == name) {
            None if deprecated(&o.node.directives) => {}
            None => out.push(format!(
                "{at}.{name} was removed without being deprecated first"
            )),
            Some(n) if !input_compatible(&o.node.ty.node, &n.node.ty.node) => out.push(format!(
                "{at}.{name} changed from {} to {}",
                o.node.ty.node, n.node.ty.node
            )),
            Some(_) => {}
        }
    }
    for n in new {
        let name = n.node.name.node.as_str();
        let required = !n.node.ty.node.nullable && n.node.default_value.is_none();
        if required && !old.iter().any(|o| o.node.name.node.as_str() == name) {
            out.push(format!("{at}.{name} is new and required"));
        }
    }
}

fn fields(
    at: &str,
    old: &[Positioned<FieldDefinition>],
    new: &[Positioned<FieldDefinition>],
    out: &mut Vec<String>,
) {
    for o in old {
        let name = o.node.name.node.as_str();
        match new.iter().find(|n| n.node.name.node.as_str() == name) {
            None if deprecated(&o.node.directives) => {}
            None => out.push(format!(
                "{at}.{name} was removed without being deprecated first"
            )),
            Some(n) => {
                if !output_compatible(&o.node.ty.node, &n.node.ty.node) {
                    out.push(format!(
                        "{at}.{name} changed from {} to {}",
                        o.node.ty.node, n.node.ty.node
                    ));
                }
                inputs(
                    &format!("{at}.{name}"),
                    &o.node.arguments,
                    &n.node.arguments,
                    out,
                );
            }
        }
    }
}

/// Every breaking change from `old` to `new`, one sentence each.
pub fn breaking_changes(old: &str, new: &str) -> Vec<String> {
    let (old, new) = (types(old), types(new));
    let mut out = Vec::new();
    let mut names: Vec<&String> = old.keys().collect();
    names.sort();
    for name in names {
        let o = &old[name];
        let Some(n) = new.get(name) else {
            out.push(format!("{name} was removed"));
            continue;
        };
        match (&o.kind, &n.kind) {
            (TypeKind::Object(a), TypeKind::Object(b)) => {
                fields(name, &a.fields, &b.fields, &mut out);
                for i in &a.implements {
                    if !b.implements.iter().any(|j| j.node == i.node) {
                        out.push(format!("{name} no longer implements {}", i.node));
                    }
                }
            }
            (TypeKind::Interface(a), TypeKind::Interface(b)) => {
                fields(name, &a.fields, &b.fields, &mut out)
            }
            (TypeKind::InputObject(a), TypeKind::InputObject(b)) => {
                inputs(name, &a.fields, &b.fields, &mut out)
            }
            (TypeKind::Union(a), TypeKind::Union(b)) => {
                for m in &a.members {
                    if !b.members.iter().any(|x| x.node == m.node) {
                        out.push(format!("{name} lost its member {}", m.node));
                    }
                }
            }
            (TypeKind::Enum(a), TypeKind::Enum(b)) => {
                for v in &a.values {
                    let value = v.node.value.node.as_str();
                    if !deprecated(&v.node.directives)
                        && !b.values.iter().any(|x| x.node.value.node.as_str() == value)
                    {
                        out.push(format!(
                            "{name}.{value} was removed without being deprecated first"
                        ));
                    }
                }
            }
            (TypeKind::Scalar, TypeKind::Scalar) => {}
            (a, b) => out.push(format!("{name} changed from {} to {}", kind(a), kind(b))),
        }
    }
    out
}

#[test]
fn the_schema_keeps_every_promise_of_the_released_one() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let released_path = dir.join("schema.released.graphql");
    let current = api::graphql::sdl();
    if std::env::var_os("UPDATE_RELEASED_SCHEMA").is_some() {
        std::fs::write(&released_path, &current).unwrap();
    }
    let released = std::fs::read_to_string(&released_path).expect("docs/schema.released.graphql");
    let breaking = breaking_changes(&released, &current);
    assert!(
        breaking.is_empty(),
        "breaking changes against docs/schema.released.graphql (deprecate first, remove a release later):\n{}",
        breaking.join("\n")
    );
}

#[test]
fn every_kind_of_breaking_change_is_caught_and_additions_are_not() {
    let old = r#"
        type Query { a: String b(x: Int, y: Int!): Int! gone: Int old: Int @deprecated(reason: "r") u: U e: E }
        type A { id: ID! }
        type B { id: ID! }
        union U = A | B
        enum E { ONE TWO THREE @deprecated }
        input I { keep: Int! loose: Int! dropped: Int }
        scalar S
    "#;
    // Additions, deprecated removals, an output made stricter, an input made looser: all fine.
    let compatible = r#"
        type Query { a: String! b(x: Int, y: Int, z: Int): Int! gone: Int u: U e: E new: Int n(i: I): Int }
        type A { id: ID! more: String }
        type B { id: ID! }
        type C { id: ID! }
        union U = A | B | C
        enum E { ONE TWO FOUR }
        input I { keep: Int! loose: Int dropped: Int extra: Int defaulted: Int! = 1 }
        scalar S
    "#;
    assert_eq!(breaking_changes(old, compatible), Vec::<String>::new());
    let broken = r#"
        type Query { a: Int b(y: Int!, z: Int!): Int u: U e: E }
        type A { id: ID! }
        union U = A
        enum E { TWO }
        input I { keep: Int! loose: Int! required: String! }
        enum S { X }
    "#;
    let mut got = breaking_changes(old, broken);
    got.sort();
    let mut want = vec![
        "B was removed",
        "E.ONE was removed without being deprecated first",
        "I.dropped was removed without being deprecated first",
        "I.required is new and required",
        "Query.a changed from String to Int",
        "Query.b changed from Int! to Int",
        "Query.b.x was removed without being deprecated first",
        "Query.b.z is new and required",
        "Query.gone was removed without being deprecated first",
        "S changed from scalar to enum",
        "U lost its member B",
    ];
    want.sort();
    assert_eq!(got, want);
    // An input made stricter breaks the callers that leave it out.
    let stricter = old.replace("b(x: Int, y: Int!)", "b(x: Int!, y: Int!)");
    assert_eq!(
        breaking_changes(old, &stricter),
        ["Query.b.x changed from Int to Int!"]
    );
}

/// Every mutation has one shape (ADR 0019): at most the arguments `input` (one input object, non-null)
/// and `idempotencyKey`, and a non-null payload object named `…Payload` with `position: Position` and
/// `replayed: Boolean!` — so a client handles every answer alike and can always resume a subscription
/// from it.
#[test]
fn every_mutation_takes_one_input_and_answers_with_a_payload_that_has_position_and_replayed() {
    let sdl = api::graphql::sdl();
    let all = types(&sdl);
    let TypeKind::Object(mutations) = &all["MutationRoot"].kind else {
        panic!("MutationRoot is not an object");
    };
    let mut wrong = Vec::new();
    for f in &mutations.fields {
        let f = &f.node;
        let name = f.name.node.as_str();
        for a in &f.arguments {
            let a = &a.node;
            match a.name.node.as_str() {
                "input" => {
                    let BaseType::Named(t) = &a.ty.node.base else {
                        wrong.push(format!("{name}: input is a list"));
                        continue;
                    };
                    if a.ty.node.nullable
                        || !matches!(
                            all.get(t.as_str()).map(|d| &d.kind),
                            Some(TypeKind::InputObject(_))
                        )
                    {
                        wrong.push(format!("{name}: input is not a non-null input object"));
                    }
                }
                "idempotencyKey" => {}
                other => wrong.push(format!("{name}: argument {other} outside input")),
            }
        }
        let ty = &f.ty.node;
        let BaseType::Named(t) = &ty.base else {
            wrong.push(format!("{name}: answers a list"));
            continue;
        };
        if ty.nullable || !t.ends_with("Payload") {
            wrong.push(format!("{name}: answers {t}, not a non-null …Payload"));
            continue;
        }
        let Some(TypeKind::Object(payload)) = all.get(t.as_str()).map(|d| &d.kind) else {
            wrong.push(format!("{name}: {t} is not an object"));
            continue;
        };
        let field = |n: &str| {
            payload
                .fields
                .iter()
                .find(|x| x.node.name.node == n)
                .map(|x| x.node.ty.node.to_string())
        };
        if field("position").as_deref() != Some("Position") {
            wrong.push(format!("{name}: {t} has no position: Position"));
        }
        if field("replayed").as_deref() != Some("Boolean!") {
            wrong.push(format!("{name}: {t} has no replayed: Boolean!"));
        }
    }
    assert!(mutations.fields.len() > 60, "the mutations were not read");
    assert!(
        wrong.is_empty(),
        "mutations of another shape:\n{}",
        wrong.join("\n")
    );
}
