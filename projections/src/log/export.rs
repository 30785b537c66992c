//! `cabinet events export`: the log as JSON lines in global order, and the checks `--verify` makes on an export.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use futures::TryStreamExt;
use serde_json::{json, Value};
use sqlx::{PgPool, QueryBuilder};

use crate::log::audit::EventFilter;
use crate::store::event::{StoredEvent, EVENT_COLUMNS};

/// Writes every event matching `f` as one JSON object per line, in global commit order ((transaction_id,
/// position)): position, transaction, aggregate, sequence, type, version (current and stored), payload
/// (upcast), metadata, recorded_at. With `check`, each line is also checked as it is written.
///
/// # Errors
/// A database or write error.
pub async fn export(
    pool: &PgPool,
    f: &EventFilter,
    out: &mut impl Write,
    mut check: Option<&mut ExportCheck>,
) -> anyhow::Result<u64> {
    // The history the export covers must be present: an archived partition that was dropped is named, not
    // silently skipped (ADR 0029).
    let missing: Vec<(i64, i64)> = crate::store::partitions::history_gaps(pool)
        .await?
        .into_iter()
        .filter(|(a, b)| {
            f.position_from.is_none_or(|from| from < *b) && f.position_to.is_none_or(|to| to >= *a)
        })
        .collect();
    if !missing.is_empty() {
        return Err(crate::store::partitions::HistoryIncomplete(missing).into());
    }
    let mut q = QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM event_log"));
    f.push_where(&mut q);
    q.push(" ORDER BY transaction_id, position");
    let query = q.build();
    let mut rows = query.fetch(pool);
    // Personal values are exported opened (or as destroyed): a second connection reads their keys while
    // the first streams the log.
    let mut keys = pool.acquire().await?;
    let mut n = 0;
    while let Some(row) = rows.try_next().await? {
        let mut e = StoredEvent::from_row(&row)?;
        if e.has_personal() {
            crate::store::event::open_events(&mut keys, std::slice::from_mut(&mut e)).await?;
        }
        let l = line(&e);
        if let Some(c) = check.as_deref_mut() {
            c.push(&l);
        }
        serde_json::to_writer(&mut *out, &l)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

/// The exported form of one event.
pub fn line(e: &StoredEvent) -> Value {
    json!({
        "position": e.position,
        "transaction_id": e.transaction_id,
        "aggregate_type": e.aggregate_type,
        "aggregate_id": e.aggregate_id,
        "sequence": e.sequence,
        "event_type": e.event_type,
        "event_version": e.event_version,
        "stored_version": e.stored_version,
        "payload": e.payload,
        "metadata": e.metadata,
        "recorded_at": e.recorded_at,
    })
}

/// What an export may legitimately leave out, which decides how strict the checks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every event of every aggregate it holds: sequences start at 1 and have no gaps.
    Complete,
    /// A window of the log (a time or position range): each aggregate's sequences have no gaps from the
    /// first one seen.
    Window,
    /// Some events of each aggregate (by type, actor or correlation): sequences only increase.
    Subset,
}

impl Coverage {
    /// How complete an export with filter `f` is.
    pub fn of(f: &EventFilter) -> Self {
        if !f.event_types.is_empty() || f.actor.is_some() || f.correlation_id.is_some() {
            Self::Subset
        } else if f.recorded_from.is_some() || f.position_from.is_some() {
            Self::Window
        } else {
            Self::Complete
        }
    }
}

/// Checks an export line by line: the lines are in strictly increasing global order, positions are unique,
/// and within each aggregate sequences and positions increase — without gaps unless the export is a subset,
/// and from 1 when it is complete.
#[derive(Debug)]
pub struct ExportCheck {
    coverage: Coverage,
    last: Option<(i64, i64)>,
    positions: HashSet<i64>,
    aggregates: HashMap<(String, String), (i64, i64)>,
    lines: u64,
    problems: u64,
    samples: Vec<String>,
}

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Lines read.
    pub events: u64,
    /// Distinct aggregates.
    pub aggregates: usize,
    /// How many problems.
    pub problems: u64,
    /// The first problems, described.
    pub samples: Vec<String>,
}

const SAMPLES: usize = 20;

impl ExportCheck {
    /// A check for an export of the given coverage.
    pub fn new(coverage: Coverage) -> Self {
        Self {
            coverage,
            last: None,
            positions: HashSet::new(),
            aggregates: HashMap::new(),
            lines: 0,
            problems: 0,
            samples: Vec::new(),
        }
    }

    fn problem(&mut self, s: String) {
        self.problems += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(s);
        }
    }

    /// Checks the next line.
    pub fn push(&mut self, l: &Value) {
        self.lines += 1;
        let n = self.lines;
        let int = |k: &str| l.get(k).and_then(Value::as_i64);
        let text = |k: &str| l.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(position), Some(txid), Some(sequence), Some(t), Some(id)) = (
            int("position"),
            int("transaction_id"),
            int("sequence"),
            text("aggregate_type"),
            text("aggregate_id"),
        ) else {
            self.problem(format!(
                "line {n}: not an exported event (position, transaction_id, aggregate_type, aggregate_id, sequence)"
            ));
            return;
        };
        if let Some(prev) = self.last {
            if (txid, position) <= prev {
                self.problem(format!(
                    "line {n}: position {position} (transaction {txid}) is not after position {} (transaction {}): \
                     not in global order",
                    prev.1, prev.0
                ));
            }
        }
        self.last = Some((txid, position));
        if !self.positions.insert(position) {
            self.problem(format!("line {n}: position {position} appears twice"));
        }
        let key = (t, id);
        match self.aggregates.get(&key).copied() {
            None => {
                if self.coverage == Coverage::Complete && sequence != 1 {
                    self.problem(format!(
                        "line {n}: {}:{} starts at sequence {sequence}, not 1",
                        key.0, key.1
                    ));
                }
            }
            Some((seq, pos)) => {
                let expected_gap_free = self.coverage != Coverage::Subset;
                if sequence <= seq {
                    self.problem(format!(
                        "line {n}: {}:{} sequence {sequence} after {seq}",
                        key.0, key.1
                    ));
                } else if expected_gap_free && sequence != seq + 1 {
                    self.problem(format!(
                        "line {n}: {}:{} jumps from sequence {seq} to {sequence} (missing {}..={})",
                        key.0,
                        key.1,
                        seq + 1,
                        sequence - 1
                    ));
                }
                if position <= pos {
                    self.problem(format!(
                        "line {n}: {}:{} position {position} not after its previous event's {pos}",
                        key.0, key.1
                    ));
                }
            }
        }
        self.aggregates.insert(key, (sequence, position));
    }

    /// Notes a line that is not JSON.
    pub fn unreadable(&mut self, why: &str) {
        self.lines += 1;
        let n = self.lines;
        self.problem(format!("line {n}: not JSON ({why})"));
    }

    /// The result.
    pub fn report(&self) -> CheckReport {
        CheckReport {
            events: self.lines,
            aggregates: self.aggregates.len(),
            problems: self.problems,
            samples: self.samples.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pos: i64, tx: i64, id: &str, seq: i64) -> Value {
        json!({"position": pos, "transaction_id": tx, "aggregate_type": "Contract", "aggregate_id": id, "sequence": seq})
    }

    fn check(coverage: Coverage, lines: &[Value]) -> CheckReport {
        let mut c = ExportCheck::new(coverage);
        for x in lines {
            c.push(x);
        }
        c.report()
    }

    #[test]
    fn a_complete_export_in_commit_order_passes_even_when_positions_interleave() {
        // Transaction 11 took position 2 before transaction 10 took position 3: commit order is by
        // transaction, and positions still rise within each aggregate.
        let r = check(
            Coverage::Complete,
            &[
                l(1, 10, "a", 1),
                l(3, 10, "a", 2),
                l(2, 11, "b", 1),
                l(4, 11, "b", 2),
            ],
        );
        assert_eq!(r.problems, 0, "{:?}", r.samples);
        assert_eq!((r.events, r.aggregates), (4, 2));
    }

    #[test]
    fn a_missing_event_a_duplicate_and_disorder_are_each_reported() {
        let r = check(
            Coverage::Complete,
            &[
                l(1, 10, "a", 1),
                l(3, 12, "a", 3),
                l(3, 13, "b", 1),
                l(2, 11, "c", 2),
            ],
        );
        assert_eq!(r.problems, 4, "{:?}", r.samples);
        assert!(r.samples[0].contains("jumps from sequence 1 to 3"));
        assert!(r.samples[1].contains("appears twice"));
        assert!(r.samples[2].contains("not in global order"));
        assert!(r.samples[3].contains("starts at sequence 2"));
    }

    #[test]
    fn windows_may_start_late_and_subsets_may_skip() {
        let late = [l(5, 10, "a", 4), l(6, 11, "a", 5)];
        assert_eq!(check(Coverage::Window, &late).problems, 0);
        assert_eq!(check(Coverage::Complete, &late).problems, 1);
        let skipping = [l(5, 10, "a", 4), l(9, 11, "a", 7)];
        assert_eq!(check(Coverage::Subset, &skipping).problems, 0);
        assert_eq!(check(Coverage::Window, &skipping).problems, 1);
        let backwards = [l(5, 10, "a", 4), l(9, 11, "a", 3)];
        assert_eq!(check(Coverage::Subset, &backwards).problems, 1);
    }
}
