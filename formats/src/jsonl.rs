//! JSON Lines, the shape of the files the accounting system writes (contracts, accounting documents): one
//! JSON object per line, UTF-8 (a BOM allowed), blank lines skipped. Each line is read on its own, so a file
//! of any length is read in bounded memory; a line that is not the record is a rejection naming its line,
//! the field serde names and why. Amounts are JSON strings: a floating-point number is refused by the
//! record's types.

use std::io::BufRead;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;

use crate::{read_line_bounded, FileError, Rejected, MAX_RECORD_BYTES};

/// A record of a JSON Lines file, told its line.
pub trait Record: DeserializeOwned {
    /// The record read at line `place` (from 1).
    #[must_use]
    fn placed(self, place: usize) -> Self;
}

/// Reads a JSON Lines file a record at a time.
pub struct Reader<R, T> {
    input: R,
    line: usize,
    ended: bool,
    record: PhantomData<fn() -> T>,
}

impl<R: BufRead, T> Reader<R, T> {
    /// A reader of `input`.
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: 0,
            ended: false,
            record: PhantomData,
        }
    }
}

/// The field a serde message names («missing field `number`», «unknown field `colour`»…), or `record`.
fn field_of(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .filter(|_| message.contains("field `"))
        .map_or_else(|| "record".to_owned(), str::to_owned)
}

impl<R: BufRead, T: Record> Iterator for Reader<R, T> {
    type Item = Result<Result<T, Rejected>, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.ended {
                return None;
            }
            let mut bytes = Vec::new();
            let read = match read_line_bounded(&mut self.input, &mut bytes) {
                Ok(n) => n,
                Err(e) => {
                    self.ended = true;
                    return Some(Err(e));
                }
            };
            let too_long = read > MAX_RECORD_BYTES;
            if bytes.is_empty() && !too_long {
                self.ended = true;
                return None;
            }
            self.line += 1;
            let place = self.line;
            let rejected = |reason: String| {
                Some(Ok(Err(Rejected {
                    place,
                    field: "record".into(),
                    reason,
                })))
            };
            if too_long {
                return rejected(format!("longer than {MAX_RECORD_BYTES} bytes"));
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return rejected("is not UTF-8".into());
            };
            let text = text.trim_start_matches('\u{feff}').trim();
            if text.is_empty() {
                continue;
            }
            return Some(Ok(match serde_json::from_str::<T>(text) {
                Ok(r) => Ok(r.placed(place)),
                Err(e) => Err(Rejected {
                    place,
                    field: field_of(&e.to_string()),
                    reason: e.to_string(),
                }),
            }));
        }
    }
}

/// Whether the start of a file looks like JSON Lines (a JSON object first).
pub fn detect(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}
