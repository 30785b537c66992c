//! Where the settings come from, in order, each overriding the one before: built-in defaults → a TOML file
//! (`--config`/`CABINET_CONFIG`, else `<data_dir>/cabinet.toml` when present) → environment variables →
//! command-line flags. Merged with figment, which remembers where each value came from (`cabinet config show`).
//!
//! Every key has a variable: `CABINET_` and the key in capitals, a section's keys after `__`
//! (`CABINET_HTTP__REQUEST_MAX_BYTES`, `CABINET_SERVICE_LEVELS__COMPLAINT`); `DATABASE_URL` and `SMTP_URL` also
//! without the prefix, as is customary. A secret (see [`SECRET_KEYS`]) may instead be read from a file named by
//! the same variable with `_FILE` (`DATABASE_URL_FILE=/run/secrets/db`; one trailing newline dropped): the way
//! container secrets and systemd credentials arrive. Variables starting with `CABINET_` that name no setting
//! are reported ([`Loaded::ignored`]) and otherwise left alone (the test harness uses a few).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};

use super::Settings;

/// The environment variables' prefix.
pub const PREFIX: &str = "CABINET_";
/// Between a section and its key in a variable's name.
pub const SEPARATOR: &str = "__";

/// Keys holding secrets (`*` is any key of a map): never parsed, shown redacted, also read from `<VAR>_FILE`.
pub const SECRET_KEYS: &[&str] = &[
    "database_url",
    "smtp_url",
    "read_replica_urls",
    "metrics_token",
    "personal_data.master_keys.*",
    "tracing.otlp_headers",
];

/// Variables of the cabinet that are not settings.
const NOT_SETTINGS: &[&str] = &[
    "CABINET_CONFIG",
    "CABINET_DEMO_PASSWORD",
    "CABINET_DEMO_PASSWORD_FILE",
];

/// Customary names without the prefix.
const UNPREFIXED: &[(&str, &str)] = &[("DATABASE_URL", "database_url"), ("SMTP_URL", "smtp_url")];

/// What the command line gives, before the settings are merged.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// `--config` (clap reads `CABINET_CONFIG` for it): this file must exist.
    pub config_file: Option<PathBuf>,
    /// The process's environment (tests pass their own).
    pub env: Vec<(String, String)>,
    /// Flags that set a key: (flag as written, key, value).
    pub flags: Vec<(String, String, Value)>,
}

impl Sources {
    /// The process's own environment and no flags.
    pub fn from_process() -> Self {
        Self {
            config_file: None,
            env: std::env::vars().collect(),
            flags: Vec::new(),
        }
    }

    /// Adds a flag's value for `key` when the flag was given.
    pub fn flag(&mut self, flag: &str, key: &str, value: Option<impl Into<Value>>) {
        if let Some(v) = value {
            self.flags.push((flag.to_owned(), key.to_owned(), v.into()));
        }
    }
}

/// The merged settings and where each came from.
pub struct Loaded {
    /// The effective settings.
    pub settings: Settings,
    figment: Figment,
    /// Variables starting with `CABINET_` that name no setting.
    pub ignored: Vec<String>,
}

/// One layer of values with a name saying where they came from.
struct Layer {
    name: String,
    dict: Dict,
}

impl Layer {
    /// A layer holding one value at `path`.
    fn at(name: String, path: &[String], value: Value) -> Self {
        let mut dict = Dict::new();
        insert(&mut dict, path, value);
        Self { name, dict }
    }
}

/// A secret's value from the file a `<VAR>_FILE` variable names: its text with one trailing newline (LF or
/// CRLF) dropped — how container secrets and systemd credentials are written.
///
/// # Errors
/// The file cannot be read; the message names the variable.
pub fn read_secret_file(variable: &str, path: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{variable}: reading the file {path}"))?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(text.strip_suffix('\r').unwrap_or(text).to_owned())
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

fn is_secret(path: &[String]) -> bool {
    SECRET_KEYS.iter().any(|pattern| {
        let parts: Vec<&str> = pattern.split('.').collect();
        parts.len() == path.len() && parts.iter().zip(path).all(|(p, k)| *p == "*" || p == k)
    })
}

/// Puts `value` at `path` in `dict`, making the sections on the way.
fn insert(dict: &mut Dict, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            dict.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = dict
                .entry(first.clone())
                .or_insert_with(|| Value::from(Dict::new()));
            if entry.as_dict().is_none() {
                *entry = Value::from(Dict::new());
            }
            if let Value::Dict(_, inner) = entry {
                insert(inner, rest, value);
            }
        }
    }
}

/// The default value at `path`, if the defaults hold one there.
fn default_at<'a>(defaults: &'a Dict, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = defaults.get(first)?;
    if rest.is_empty() {
        Some(v)
    } else {
        default_at(v.as_dict()?, rest)
    }
}

/// A variable's text as the value its key takes: a string where the key holds text (or nothing by default:
/// every optional setting is text), else parsed (numbers, `true`/`false`, `[a, b]`; a list also as `a,b`).
fn value_for(defaults: &Dict, path: &[String], raw: &str) -> Value {
    let list = matches!(default_at(defaults, path), Some(Value::Array(..)));
    if is_secret(path) && !list {
        return Value::from(raw.to_owned());
    }
    let numeric_map = path.len() == 2 && path[0] == "service_levels";
    match default_at(defaults, path) {
        // A list (of secrets too: replica URLs) as `a,b`.
        Some(Value::Array(..)) if !raw.trim_start().starts_with('[') => Value::from(
            raw.split(',')
                .map(|s| Value::from(s.trim().to_owned()))
                .filter(|v| v.as_str() != Some(""))
                .collect::<Vec<_>>(),
        ),
        Some(Value::String(..)) | None if !numeric_map => Value::from(raw.to_owned()),
        _ => raw
            .parse::<Value>()
            .unwrap_or_else(|_| Value::from(raw.to_owned())),
    }
}

/// The variable's key path (`CABINET_HTTP__REQUEST_MAX_BYTES` → `http`, `request_max_bytes`), if it is one
/// of ours.
fn path_of(name: &str) -> Option<Vec<String>> {
    if let Some((_, key)) = UNPREFIXED.iter().find(|(v, _)| *v == name) {
        return Some(vec![(*key).to_owned()]);
    }
    let rest = name.strip_prefix(PREFIX)?;
    Some(rest.split(SEPARATOR).map(str::to_ascii_lowercase).collect())
}

/// The environment's layers (one per variable, so that each value says which variable set it) and the
/// `CABINET_` variables that name no setting.
fn env_layers(
    defaults: &Dict,
    env: &[(String, String)],
) -> anyhow::Result<(Vec<Layer>, Vec<String>)> {
    let mut layers = Vec::new();
    let mut ignored = Vec::new();
    let mut vars: Vec<&(String, String)> = env.iter().collect();
    // `_FILE` variants first, so that a plain variable given as well wins.
    vars.sort_by_key(|(name, _)| (!name.ends_with("_FILE"), name.clone()));
    for (name, raw) in vars {
        if NOT_SETTINGS.contains(&name.as_str()) {
            continue;
        }
        let secret_file = name
            .strip_suffix("_FILE")
            .and_then(path_of)
            .filter(|p| is_secret(p));
        let plain = path_of(name).filter(|p| {
            p.first().is_some_and(|k| defaults.contains_key(k)) && !p.iter().any(String::is_empty)
        });
        match (secret_file, plain) {
            // `CABINET_CALENDAR_FILE` is the key `calendar_file`; `CABINET_SMTP_URL_FILE` a file for `smtp_url`.
            (Some(path), _) => layers.push(Layer::at(
                format!("file {raw} named by {name}"),
                &path,
                Value::from(read_secret_file(name, raw)?),
            )),
            (None, Some(path)) => layers.push(Layer::at(
                format!("environment variable {name}"),
                &path,
                value_for(defaults, &path, raw),
            )),
            (None, None) if name.starts_with(PREFIX) => ignored.push(name.clone()),
            (None, None) => {}
        }
    }
    Ok((layers, ignored))
}

impl Loaded {
    /// Merges the sources and checks the result.
    ///
    /// # Errors
    /// A missing `--config` file, an unreadable `_FILE`, or a key that is unknown, mistyped or out of range —
    /// the message names the key and where its value came from.
    pub fn load(sources: Sources) -> anyhow::Result<Self> {
        let defaults = match Value::serialize(Settings::default())? {
            Value::Dict(_, d) => d,
            _ => anyhow::bail!("the defaults are not a table"),
        };
        let (env, ignored) = env_layers(&defaults, &sources.env)?;
        let flags: Vec<Layer> = sources
            .flags
            .into_iter()
            .map(|(flag, key, value)| {
                let path: Vec<String> = key.split('.').map(str::to_owned).collect();
                Layer::at(format!("command line {flag}"), &path, value)
            })
            .collect();
        // The data directory decides where the default settings file is: flag, then variable, then default
        // (the last layer that sets it, flags being merged last).
        let data_dir = env
            .iter()
            .chain(&flags)
            .rev()
            .find_map(|l| {
                l.dict
                    .get("data_dir")
                    .and_then(Value::as_str)
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| Settings::default().data_dir);
        let file = match sources.config_file {
            Some(p) if !p.is_file() => anyhow::bail!("--config {}: no such file", p.display()),
            Some(p) => Some(p),
            None => Some(data_dir.join("cabinet.toml")).filter(|p| p.is_file()),
        };
        let mut figment = Figment::from(Layer {
            name: "default".into(),
            dict: defaults,
        });
        if let Some(f) = &file {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let table: toml::Table =
                toml::from_str(&text).with_context(|| format!("parsing {}", f.display()))?;
            let dict = match Value::serialize(table)? {
                Value::Dict(_, d) => d,
                _ => Dict::new(),
            };
            figment = figment.merge(Layer {
                name: format!("file {}", f.display()),
                dict,
            });
        }
        for layer in env.into_iter().chain(flags) {
            figment = figment.merge(layer);
        }
        let settings: Settings = figment.extract().map_err(|e| {
            let mut text = String::new();
            for err in e {
                let key = err.path.join(".");
                let from = err
                    .metadata
                    .as_ref()
                    .map_or_else(String::new, |m| format!(" (from {})", m.name));
                text.push_str(&format!("{key}: {}{from}; ", err.kind));
            }
            anyhow::anyhow!("settings: {}", text.trim_end_matches("; "))
        })?;
        settings.check()?;
        Ok(Self {
            settings,
            figment,
            ignored,
        })
    }

    /// Every key with its effective value (secrets redacted) and where it came from, in key order.
    pub fn show(&self) -> Vec<(String, String, String)> {
        let value = serde_json::to_value(&self.settings).unwrap_or_default();
        let mut rows = Vec::new();
        flatten(&value, String::new(), &mut rows);
        rows.into_iter()
            .map(|(key, shown)| {
                let from = self
                    .figment
                    .find_metadata(&key)
                    .map_or_else(|| "default".to_owned(), |m| m.name.to_string());
                (key, shown, from)
            })
            .collect()
    }
}

fn flatten(value: &serde_json::Value, prefix: String, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() || prefix.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, key, out);
            }
        }
        serde_json::Value::Null => out.push((prefix, "(not set)".into())),
        other => out.push((prefix, other.to_string())),
    }
}

/// The variable that sets `key` (`http.request_max_bytes` → `CABINET_HTTP__REQUEST_MAX_BYTES`).
pub fn variable_for(key: &str) -> String {
    format!(
        "{PREFIX}{}",
        key.split('.')
            .map(str::to_ascii_uppercase)
            .collect::<Vec<_>>()
            .join(SEPARATOR)
    )
}

impl Settings {
    /// Defaults overlaid by a TOML file: `file` if given (it must exist), else `<data_dir>/cabinet.toml` if
    /// it exists; no environment (tests and tools that build settings themselves).
    ///
    /// # Errors
    /// As [`Loaded::load`].
    pub fn load(file: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut sources = Sources {
            config_file: file.map(Path::to_path_buf),
            ..Sources::default()
        };
        sources.flag(
            "--data-dir",
            "data_dir",
            data_dir.map(|d| d.display().to_string()),
        );
        Ok(Loaded::load(sources)?.settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn load(env: &[(&str, &str)]) -> anyhow::Result<Loaded> {
        Loaded::load(Sources {
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Sources::default()
        })
    }

    fn shown<'a>(rows: &'a [(String, String, String)], key: &str) -> &'a (String, String, String) {
        rows.iter()
            .find(|(k, _, _)| k == key)
            .unwrap_or_else(|| panic!("{key} not shown"))
    }

    /// The settings table of docs/operations.md: (key, variable, example).
    fn documented() -> Vec<(String, String, String)> {
        let doc = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md"),
        )
        .unwrap();
        let tick = |cell: &str| cell.split('`').nth(1).map(str::to_owned);
        doc.lines()
            .filter(|l| l.starts_with("| `"))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split(" | ").collect();
                if cells.len() < 5 {
                    return None;
                }
                Some((tick(cells[0])?, tick(cells[1])?, tick(cells[3])?))
            })
            .filter(|(_, var, _)| {
                var.starts_with(PREFIX) || !var.contains('_') || var.ends_with("_URL")
            })
            .collect()
    }

    #[test]
    fn every_documented_variable_takes_effect() {
        let rows = documented();
        let defaults = load(&[]).unwrap().show();
        // Every key is documented.
        for (key, _, _) in &defaults {
            if key.starts_with("service_levels") || key.starts_with("personal_data.master_keys") {
                continue;
            }
            assert!(
                rows.iter().any(|(k, _, _)| k == key),
                "{key} is not in the settings table of docs/operations.md"
            );
        }
        let mut checked = 0;
        for (key, var, example) in rows.iter().filter(|(k, _, _)| !k.contains('<')) {
            assert_eq!(
                *var,
                if key == "database_url" || key == "smtp_url" {
                    key.to_ascii_uppercase()
                } else {
                    variable_for(key)
                },
                "{key}"
            );
            let loaded =
                load(&[(var, example)]).unwrap_or_else(|e| panic!("{var}={example}: {e:#}"));
            let all = loaded.show();
            let (_, value, source) = shown(&all, key);
            assert_eq!(source, &format!("environment variable {var}"), "{key}");
            let expected = if SECRET_KEYS.contains(&key.as_str()) {
                Secret::from(example.as_str()).redacted()
            } else {
                example.clone()
            };
            let value = match serde_json::from_str::<serde_json::Value>(value).unwrap() {
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            assert_eq!(value, expected, "{var}");
            checked += 1;
        }
        assert!(checked >= 60, "only {checked} variables checked");
        // Maps: a key of the map per variable.
        let l = load(&[
            ("CABINET_SERVICE_LEVELS__COMPLAINT", "12"),
            ("CABINET_PERSONAL_DATA__MASTER_KEYS__K2026", "a2V5"),
        ])
        .unwrap();
        assert_eq!(l.settings.service_levels["complaint"], 12);
        assert_eq!(
            l.settings.personal_data.master_keys["k2026"].expose(),
            "a2V5"
        );
    }

    #[test]
    fn secrets_come_from_files_and_never_show() {
        let dir = std::env::temp_dir().join(format!("cabinet-secrets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("db");
        std::fs::write(&file, "postgres://cabinet:hunter2@db/cabinet\n").unwrap();
        let key = dir.join("key");
        std::fs::write(&key, "bWFzdGVy").unwrap();
        let l = load(&[
            ("DATABASE_URL_FILE", file.to_str().unwrap()),
            (
                "CABINET_PERSONAL_DATA__MASTER_KEYS__MAIN_FILE",
                key.to_str().unwrap(),
            ),
            ("CABINET_CALENDAR_FILE", "/etc/calendar.txt"),
        ])
        .unwrap();
        assert_eq!(
            l.settings.database_url.as_ref().unwrap().expose(),
            "postgres://cabinet:hunter2@db/cabinet"
        );
        assert_eq!(
            l.settings.personal_data.master_keys["main"].expose(),
            "bWFzdGVy"
        );
        assert_eq!(
            l.settings.calendar_file.as_deref(),
            Some(Path::new("/etc/calendar.txt"))
        );
        let all = l.show();
        assert!(shown(&all, "database_url").2.contains("DATABASE_URL_FILE"));
        let printed = format!("{all:?} {:?}", l.settings);
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("bWFzdGVy"), "{printed}");
        // The plain variable beats its file.
        let l = load(&[
            ("DATABASE_URL_FILE", file.to_str().unwrap()),
            ("DATABASE_URL", "postgres://other/db"),
        ])
        .unwrap();
        assert_eq!(
            l.settings.database_url.unwrap().expose(),
            "postgres://other/db"
        );
        // A file that cannot be read is an error naming the variable.
        let e = load(&[("CABINET_METRICS_TOKEN_FILE", "/nonexistent/token")])
            .err()
            .unwrap();
        assert!(
            format!("{e:#}").contains("CABINET_METRICS_TOKEN_FILE"),
            "{e:#}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn flags_beat_variables_beat_the_file_beats_defaults() {
        let dir = std::env::temp_dir().join(format!("cabinet-layers-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("cabinet.toml"),
            "pool_size = 7\nsnapshot_every = 9\nlisten = \"127.0.0.1:1\"\n[http]\nws_max_operations = 3\n",
        )
        .unwrap();
        let mut sources = Sources {
            env: vec![
                ("CABINET_DATA_DIR".into(), dir.display().to_string()),
                ("CABINET_POOL_SIZE".into(), "11".into()),
                ("CABINET_LISTEN".into(), "127.0.0.1:2".into()),
                ("CABINET_BIN".into(), "/usr/bin/cabinet".into()),
            ],
            ..Sources::default()
        };
        sources.flag("--listen", "listen", Some("127.0.0.1:3"));
        let l = Loaded::load(sources).unwrap();
        assert_eq!(l.settings.pool_size, 11);
        assert_eq!(l.settings.snapshot_every, 9);
        assert_eq!(l.settings.http.ws_max_operations, 3);
        assert_eq!(l.settings.listen.port(), 3);
        assert_eq!(l.settings.session_idle_hours, 12);
        assert_eq!(l.ignored, vec!["CABINET_BIN".to_owned()]);
        // The flag's data directory, not the variable's, is where the settings file is looked for.
        let mut flag_wins = Sources {
            env: vec![("CABINET_DATA_DIR".into(), "/nonexistent/cabinet".into())],
            ..Sources::default()
        };
        flag_wins.flag("--data-dir", "data_dir", Some(dir.display().to_string()));
        let by_flag = Loaded::load(flag_wins).unwrap();
        assert_eq!(by_flag.settings.snapshot_every, 9);
        assert_eq!(by_flag.settings.data_dir, dir);
        let all = l.show();
        assert!(shown(&all, "snapshot_every").2.starts_with("file "));
        assert_eq!(shown(&all, "listen").2, "command line --listen");
        assert_eq!(shown(&all, "session_idle_hours").2, "default");
        // A wrong value names its key and its source.
        let e = load(&[("CABINET_HTTP__REQUEST_MAX_BYTES", "lots")])
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("http.request_max_bytes") && e.contains("CABINET_HTTP__REQUEST_MAX_BYTES"),
            "{e}"
        );
        let e = load(&[("CABINET_TRACING__SAMPLE_RATIO", "1.5")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("tracing.sample_ratio"), "{e}");
        let e = load(&[("CABINET_TRACING__OTLP_HEADERS", "api-key")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("tracing.otlp_headers"), "{e}");
        let e = load(&[("CABINET_HTTP__REQUEST_MAX_BYTS", "1")])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("request_max_byts"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[cfg(test)]
mod deployment {
    use super::*;

    /// The `CABINET_…`, `DATABASE_URL` and `SMTP_URL` variables a deployment file sets.
    fn variables(file: &str) -> Vec<(String, String)> {
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file))
                .unwrap();
        let interpolate = |v: &str| -> String {
            // `${NAME:-default}` → default; `${NAME}`/`${NAME:?…}` → a stand-in.
            let mut out = String::new();
            let mut rest = v;
            while let Some(i) = rest.find("${") {
                out.push_str(&rest[..i]);
                let end = rest[i..].find('}').map_or(rest.len(), |e| i + e);
                let inner = &rest[i + 2..end];
                out.push_str(inner.split_once(":-").map_or("secret", |(_, d)| d));
                rest = &rest[(end + 1).min(rest.len())..];
            }
            out.push_str(rest);
            out.trim_matches('"').to_owned()
        };
        let mut vars = Vec::new();
        for line in text.lines() {
            let line = line
                .trim()
                .trim_start_matches("ENV ")
                .trim_end_matches('\\')
                .trim();
            let line = line.strip_prefix("Environment=").unwrap_or(line);
            if line.starts_with('#') {
                continue;
            }
            let pair = line
                .split_once('=')
                .filter(|(k, _)| !k.contains(' '))
                .or_else(|| line.split_once(": "));
            if let Some((k, v)) = pair {
                let k = k.trim();
                if k.starts_with(PREFIX)
                    || k == "DATABASE_URL"
                    || k == "SMTP_URL"
                    || k.ends_with("_FILE")
                {
                    vars.push((k.to_owned(), interpolate(v.trim())));
                }
            }
        }
        vars
    }

    #[test]
    fn the_deployment_files_set_only_real_settings() {
        for file in [
            "Dockerfile",
            "deploy/compose/compose.yaml",
            "deploy/systemd/cabinet.service",
        ] {
            let vars = variables(file);
            assert!(vars.len() >= 3, "{file}: {vars:?}");
            // A secret's file is named, not read, here.
            let (files, plain): (Vec<_>, Vec<_>) = vars
                .into_iter()
                .partition(|(k, _)| k.ends_with("_FILE") && k != "CABINET_CALENDAR_FILE");
            for (k, _) in &files {
                let path = path_of(k.strip_suffix("_FILE").unwrap()).unwrap();
                assert!(is_secret(&path), "{file}: {k} names no secret");
            }
            let loaded = Loaded::load(Sources {
                env: plain.clone(),
                ..Sources::default()
            })
            .unwrap_or_else(|e| panic!("{file}: {e:#}"));
            assert!(
                loaded.ignored.is_empty(),
                "{file}: {:?} are no settings",
                loaded.ignored
            );
            if file != "deploy/compose/compose.yaml" {
                // Images and units never fall back to a private cluster.
                assert!(loaded.settings.require_database_url, "{file}");
            }
        }
        let dockerfile =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../Dockerfile"))
                .unwrap();
        let user = dockerfile
            .lines()
            .find_map(|l| l.strip_prefix("USER "))
            .expect("a USER line");
        assert!(
            !user.starts_with('0') && !user.starts_with("root"),
            "{user}"
        );
    }
}
