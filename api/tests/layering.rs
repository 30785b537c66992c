//! The house's layering, kept by a test (docs/architecture.md, "Layers").
//!
//! - In `api`: `app/`, `auth/`, `mail/` never reach up into `graphql/`, `http/`, `workers/`, `startup`,
//!   `cli`, nor use `axum` or `async_graphql`; `graphql/` never reaches `http/`, `workers/`, `startup`,
//!   `cli`; `workers/` never reaches `graphql/`, `http/`, `startup`, `cli`; `http/` never reaches
//!   `workers/`, `startup`, `cli`.
//! - In `projections`: read models (`views/`) never issue commands; the write side (`store/`) never
//!   reaches the read models or the log readers.
//! - In every crate of the workspace: no circle between modules.
//!
//! The check reads the sources as text: comments and string literals are skipped, every `crate::…`,
//! `super::…`, `self::…` path and every path through a child module is resolved to the module it names. A
//! failure names the file and line of each offending reference.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One Rust source file of a crate, as a module.
struct Module {
    /// `a::b` (the crate root is ``).
    path: String,
    /// The file, relative to the workspace.
    file: PathBuf,
    /// The code with comments and string literals blanked out (line structure kept), test modules cut.
    code: String,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the api crate sits in the workspace")
        .to_path_buf()
}

/// Blanks comments, string and char literals (keeping newlines), so only code is searched.
fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for &ch in &b[i..j.min(b.len())] {
                out.push(blank(ch));
            }
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && b.get(i + 2) == Some(&'\'') && next.is_some_and(|n| n != '\\') {
            out.push_str("   ");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            // '\n', '\'', '\u{…}'
            let mut j = i + 2;
            while j < b.len() && b[j] != '\'' {
                j += 1;
            }
            for _ in i..=j.min(b.len() - 1) {
                out.push(' ');
            }
            i = j + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Cuts `#[cfg(test)] mod … { … }` blocks: tests may reach anywhere.
fn cut_tests(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        let after = &rest[at + "#[cfg(test)]".len()..];
        let trimmed = after.trim_start();
        if !trimmed.starts_with("mod ") {
            out.push_str(&rest[..at + "#[cfg(test)]".len()]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..at]);
        // Skip to the end of the module's braces (or its `;`).
        let start = rest.len() - after.len();
        let mut depth = 0usize;
        let mut end = rest.len();
        for (k, ch) in rest[start..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = start + k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = start + k + 1;
                    break;
                }
                _ => {}
            }
        }
        // Keep the line count.
        out.extend(rest[at..end].chars().filter(|c| *c == '\n'));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn modules_of(crate_dir: &Path, src: &str) -> Vec<Module> {
    let root = crate_dir.join(src);
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("a source directory") {
            let p = e.expect("a directory entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&root).expect("under the source root");
            let mut parts: Vec<String> = rel
                .with_extension("")
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let code = cut_tests(&strip(
                &std::fs::read_to_string(&f).expect("a readable source file"),
            ));
            Module {
                path: parts.join("::"),
                file: f
                    .strip_prefix(workspace())
                    .expect("in the workspace")
                    .to_path_buf(),
                code,
            }
        })
        .collect()
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path the code names that starts with `crate`, `super`, `self` or one of `children`, as its
/// segments with the line it stands on. Grouped imports (`use crate::{a, b::c}`) are expanded.
fn paths(code: &str, children: &BTreeSet<String>) -> Vec<(Vec<String>, usize)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if !is_ident(chars[i]) || (i > 0 && (is_ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        // Read a path: ident(::ident)* possibly ending in ::{ … }.
        let start_line = line;
        let mut segs = Vec::new();
        let mut j = i;
        loop {
            let s = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            segs.push(chars[s..j].iter().collect::<String>());
            if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
                j += 2;
                if chars.get(j) == Some(&'{') {
                    // A group: collect its top-level items.
                    let mut depth = 0;
                    let mut k = j;
                    let mut item = String::new();
                    let mut items = Vec::new();
                    while k < chars.len() {
                        let ch = chars[k];
                        match ch {
                            '{' => {
                                depth += 1;
                                if depth > 1 {
                                    item.push(ch);
                                }
                            }
                            '}' => {
                                depth -= 1;
                                if depth == 0 {
                                    items.push(std::mem::take(&mut item));
                                    break;
                                }
                                item.push(ch);
                            }
                            ',' if depth == 1 => items.push(std::mem::take(&mut item)),
                            '\n' => line += 1,
                            _ => item.push(ch),
                        }
                        k += 1;
                    }
                    let first = segs[0].clone();
                    if first == "crate"
                        || first == "super"
                        || first == "self"
                        || children.contains(&first)
                    {
                        for it in items {
                            let it: String = it.chars().filter(|c| !c.is_whitespace()).collect();
                            let it = it.split(" as ").next().unwrap_or("").to_owned();
                            let mut p = segs.clone();
                            p.extend(
                                it.split("::")
                                    .take_while(|s| !s.starts_with('{'))
                                    .filter(|s| !s.is_empty())
                                    .map(str::to_owned),
                            );
                            out.push((p, start_line));
                        }
                    }
                    j = k + 1;
                    segs.clear();
                    break;
                }
                if !chars.get(j).is_some_and(|c| is_ident(*c)) {
                    break;
                }
            } else {
                break;
            }
        }
        if segs.len() > 1 {
            let first = &segs[0];
            if first == "crate" || first == "super" || first == "self" || children.contains(first) {
                out.push((segs, start_line));
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// Names a module re-exports (`pub use child::Item;`), each with the module that defines it: a re-export
/// is a facade, not a dependency, and a path through it depends on the module behind it.
type Reexports = BTreeMap<String, BTreeMap<String, String>>;

/// The module a path names: the longest prefix that is a module of the crate, resolved from `from`, and,
/// when the next segment is an item the module re-exports, the module behind it.
fn resolve(
    from: &Module,
    segs: &[String],
    known: &BTreeSet<String>,
    reexports: &Reexports,
) -> Option<String> {
    let here: Vec<String> = if from.path.is_empty() {
        Vec::new()
    } else {
        from.path.split("::").map(str::to_owned).collect()
    };
    let base: Vec<String>;
    let mut rest = segs;
    match segs[0].as_str() {
        "crate" => {
            base = Vec::new();
            rest = &segs[1..];
        }
        "self" => {
            base = here.clone();
            rest = &segs[1..];
        }
        "super" => {
            let mut b = here.clone();
            while rest.first().map(String::as_str) == Some("super") {
                b.pop();
                rest = &rest[1..];
            }
            base = b;
        }
        _ => base = here.clone(),
    }
    let mut best = None;
    for k in 0..=rest.len() {
        let mut p = base.clone();
        p.extend(rest[..k].iter().cloned());
        let name = p.join("::");
        if known.contains(&name) {
            best = Some((name, k));
        }
    }
    let (mut module, k) = best?;
    if let Some(item) = rest.get(k) {
        // Follow re-exports (a facade may re-export a facade).
        for _ in 0..4 {
            match reexports.get(&module).and_then(|r| r.get(item)) {
                Some(behind) if *behind != module => module = behind.clone(),
                _ => break,
            }
        }
    }
    Some(module).filter(|m| *m != from.path)
}

/// The `pub use …;` statements of `code` (any visibility), cut out: their paths, and the code without them.
fn split_reexports(code: &str, children: &BTreeSet<String>) -> (Vec<Vec<String>>, String) {
    let mut rest = code.to_owned();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = rest[from..].find("pub").map(|a| a + from) {
        let before_ok = at == 0 || !rest[..at].chars().next_back().is_some_and(is_ident);
        let tail = &rest[at + 3..];
        let after_vis = if let Some(t) = tail.strip_prefix('(') {
            t.find(')').map(|e| &t[e + 1..])
        } else {
            Some(tail)
        };
        let Some(after_vis) = after_vis.filter(|_| before_ok) else {
            from = at + 3;
            continue;
        };
        let trimmed = after_vis.trim_start();
        if !trimmed.starts_with("use ") {
            from = at + 3;
            continue;
        }
        let end = rest[at..].find(';').map_or(rest.len(), |e| at + e + 1);
        let stmt = rest[at..end].to_owned();
        for (p, _) in paths(&stmt, children) {
            found.push(p);
        }
        // Blank the statement, keeping its lines.
        let blanked: String = stmt
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        rest.replace_range(at..end, &blanked);
        from = end;
    }
    (found, rest)
}

/// Module → (module → first reference line).
type Graph = BTreeMap<String, BTreeMap<String, usize>>;

fn graph(modules: &[Module]) -> Graph {
    let known: BTreeSet<String> = modules.iter().map(|m| m.path.clone()).collect();
    let children_of = |m: &Module| -> BTreeSet<String> {
        let prefix = if m.path.is_empty() {
            String::new()
        } else {
            format!("{}::", m.path)
        };
        known
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|k| !k.is_empty() && !k.contains("::"))
            .map(str::to_owned)
            .collect()
    };
    // First the facades: what each module re-exports, and from where.
    let mut reexports = Reexports::new();
    let mut bodies = Vec::new();
    for m in modules {
        let children = children_of(m);
        let (stmts, body) = split_reexports(&m.code, &children);
        bodies.push((m, children, body));
        for p in stmts {
            let (Some(item), Some(_)) = (p.last(), p.first()) else {
                continue;
            };
            let empty = Reexports::new();
            if let Some(target) = resolve(m, &p, &known, &empty) {
                reexports
                    .entry(m.path.clone())
                    .or_default()
                    .insert(item.clone(), target);
            }
        }
    }
    let mut g = Graph::new();
    for (m, children, body) in bodies {
        let edges = g.entry(m.path.clone()).or_default();
        for (segs, line) in paths(&body, &children) {
            if let Some(target) = resolve(m, &segs, &known, &reexports) {
                edges.entry(target).or_insert(line);
            }
        }
    }
    g
}

/// The strongly connected components with more than one module (Tarjan).
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(edges) = t.g.get(v) {
            for w in edges.keys() {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(lw);
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low.get_mut(v).expect("visited");
                    *lv = (*lv).min(iw);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn describe_circle(g: &Graph, modules: &[Module], comp: &[String]) -> String {
    let file = |m: &str| {
        modules
            .iter()
            .find(|x| x.path == m)
            .map(|x| x.file.display().to_string())
            .unwrap_or_default()
    };
    let members: BTreeSet<&String> = comp.iter().collect();
    let mut lines = vec![format!("circle between {}:", comp.join(", "))];
    for a in comp {
        for (b, line) in g.get(a).into_iter().flatten() {
            if members.contains(b) {
                lines.push(format!("  {}:{line}: {a} -> {b}", file(a)));
            }
        }
    }
    lines.join("\n")
}

fn check_no_circles(crate_name: &str, src: &str) -> Vec<String> {
    let modules = modules_of(&workspace().join(crate_name), src);
    let g = graph(&modules);
    circles(&g)
        .iter()
        .map(|c| describe_circle(&g, &modules, c))
        .collect()
}

#[test]
fn no_crate_has_a_circle_between_its_modules() {
    let mut found = Vec::new();
    for (krate, src) in [
        ("domain", "src"),
        ("documents", "src"),
        ("formats", "src"),
        ("projections", "src"),
        ("api", "src"),
        ("bench", "src"),
    ] {
        found.extend(check_no_circles(krate, src));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// A layering rule: modules under `from` must not reach the modules under any of `forbidden` (module
/// paths), nor name any of `forbidden_text` (external paths, e.g. `axum`).
struct Rule {
    from: &'static [&'static str],
    forbidden: &'static [&'static str],
    forbidden_text: &'static [&'static str],
}

fn under(path: &str, prefixes: &[&str]) -> bool {
    prefixes
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}::")))
}

fn violations(crate_name: &str, rules: &[Rule]) -> Vec<String> {
    let modules = modules_of(&workspace().join(crate_name), "src");
    let g = graph(&modules);
    let mut out = Vec::new();
    for rule in rules {
        for m in modules.iter().filter(|m| under(&m.path, rule.from)) {
            for (target, line) in g.get(&m.path).into_iter().flatten() {
                if under(target, rule.forbidden) {
                    out.push(format!(
                        "{}:{line}: {} reaches up into {target}",
                        m.file.display(),
                        m.path
                    ));
                }
            }
            for (n, text) in m.code.lines().enumerate() {
                for f in rule.forbidden_text {
                    let hit = text.match_indices(f).any(|(at, _)| {
                        let before = text[..at].chars().next_back();
                        let after = text[at + f.len()..].chars().next();
                        !before.is_some_and(|c| is_ident(c) || c == ':')
                            && !after.is_some_and(is_ident)
                    });
                    if hit {
                        out.push(format!(
                            "{}:{}: {} names {f}",
                            m.file.display(),
                            n + 1,
                            m.path
                        ));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn the_api_crate_points_down_only() {
    let found = violations(
        "api",
        &[
            Rule {
                from: &["app", "auth", "mail"],
                forbidden: &["graphql", "http", "workers", "startup", "cli"],
                forbidden_text: &["axum", "async_graphql", "async_graphql_axum"],
            },
            Rule {
                from: &["graphql"],
                forbidden: &["http", "workers", "startup", "cli"],
                forbidden_text: &["axum"],
            },
            Rule {
                from: &["workers"],
                forbidden: &["graphql", "http", "startup", "cli"],
                forbidden_text: &["axum", "async_graphql"],
            },
            Rule {
                from: &["http"],
                forbidden: &["workers", "startup", "cli"],
                forbidden_text: &[],
            },
        ],
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn read_models_never_issue_commands_and_the_store_never_reads_views() {
    let found = violations(
        "projections",
        &[
            Rule {
                from: &["views", "engine"],
                forbidden: &["store::command", "executors"],
                forbidden_text: &["CommandExecutor"],
            },
            Rule {
                from: &["store"],
                forbidden: &["views", "log", "executors"],
                forbidden_text: &[],
            },
        ],
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_checker_sees_a_circle_and_a_reach_up_where_there_is_one() {
    // The checker itself, on sources written here: a test that passes on anything proves nothing.
    let code = |s: &str| cut_tests(&strip(s));
    let modules = vec![
        Module {
            path: String::new(),
            file: "lib.rs".into(),
            code: code("pub mod a; pub mod b;"),
        },
        Module {
            path: "a".into(),
            file: "a.rs".into(),
            code: code("use crate::b::Thing;\n// crate::c::Ignored in a comment\nfn f() { let s = \"crate::c\"; }"),
        },
        Module {
            path: "b".into(),
            file: "b.rs".into(),
            code: code("use super::{a::{self, Other}};\n#[cfg(test)]\nmod tests { use crate::c::X; }"),
        },
        Module {
            path: "c".into(),
            file: "c.rs".into(),
            code: String::new(),
        },
    ];
    let g = graph(&modules);
    assert_eq!(g["a"].keys().collect::<Vec<_>>(), ["b"]);
    assert_eq!(g["b"].keys().collect::<Vec<_>>(), ["a"]);
    assert_eq!(g["b"]["a"], 1);
    assert_eq!(circles(&g), vec![vec!["a".to_owned(), "b".to_owned()]]);
    // A facade re-exporting its children is no dependency; a child reaching an item through it depends on
    // the sibling that defines the item.
    let facade = vec![
        Module {
            path: "v".into(),
            file: "v/mod.rs".into(),
            code: code("mod e; mod x;\npub use e::Error;\npub use x::X;\npub struct Shared;"),
        },
        Module {
            path: "v::e".into(),
            file: "v/e.rs".into(),
            code: code("pub struct Error;"),
        },
        Module {
            path: "v::x".into(),
            file: "v/x.rs".into(),
            code: code("use super::{Error, Shared};"),
        },
    ];
    let gf = graph(&facade);
    assert!(gf["v"].is_empty(), "{gf:?}");
    assert_eq!(gf["v::x"].keys().collect::<Vec<_>>(), ["v", "v::e"]);
    assert!(circles(&gf).is_empty());
    let d = describe_circle(&g, &modules, &circles(&g)[0]);
    assert!(d.contains("a.rs:1: a -> b"), "{d}");
    assert!(d.contains("b.rs:1: b -> a"), "{d}");
    let raw = "let s = r#\"crate::x\"#; 'a' // crate::y";
    let stripped = strip(raw);
    assert_eq!(stripped.len(), raw.len());
    assert!(!stripped.contains("crate"), "{stripped}");
    assert!(
        stripped.starts_with("let s = ") && stripped.contains(';'),
        "{stripped}"
    );
}

#[test]
fn the_commit_order_horizon_is_written_once_and_every_appender_registers() {
    // ADR 0003 and 0014: every reader of the log in commit order goes through `engine::horizon` (nobody
    // writes the old xmin rule), and every transaction that inserts events registers as an appender.
    let home = Path::new("projections/src/engine/horizon.rs");
    let mut found = Vec::new();
    let mut unregistered = Vec::new();
    for (krate, src) in [("projections", "src"), ("api", "src"), ("bench", "src")] {
        for m in modules_of(&workspace().join(krate), src) {
            if m.file == home {
                continue;
            }
            let text = std::fs::read_to_string(workspace().join(&m.file)).expect("readable");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if code.contains("pg_snapshot_xmin") {
                    found.push(format!("{}:{}", m.file.display(), n + 1));
                }
            }
            if text.contains("INSERT INTO events") && !text.contains("register_appender") {
                unregistered.push(m.file.display().to_string());
            }
        }
    }
    assert!(
        found.is_empty(),
        "the horizon written outside engine/horizon.rs: {}",
        found.join(", ")
    );
    assert!(
        unregistered.is_empty(),
        "events inserted without registering as an appender: {}",
        unregistered.join(", ")
    );
}
