//! Finds where a dotted field path (`buffer.bytes`) sits in the YAML text,
//! so that errors found on the parsed tree still point at a line and
//! column; and, in the same event pass, the keys given twice and the
//! aliases, which a parsed tree no longer shows.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, ScanError};

/// What one pass over a well-formed YAML text found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Aliases (`*name`) used.
    pub aliases: usize,
    /// Keys given twice in one mapping: dotted path and 1-based (line,
    /// column) of the second.
    pub duplicates: Vec<(String, (usize, usize))>,
}

/// Reads `yaml` once.
///
/// # Errors
/// The parser's error for text that is not well-formed YAML.
pub(crate) fn scan(yaml: &str) -> Result<Scan, ScanError> {
    let mut finder = Finder::new("");
    Parser::new_from_str(yaml).load(&mut finder, true)?;
    Ok(finder.scan)
}

/// 1-based (line, column) of the value of `path`, or of the deepest mapping
/// key on the path that exists. An alias value is located at the `*alias`.
pub fn value_position(yaml: &str, path: &str) -> Option<(usize, usize)> {
    position(yaml, path, true)
}

/// 1-based (line, column) of the key of `path`, or of the deepest mapping
/// key on the path that exists.
pub fn key_position(yaml: &str, path: &str) -> Option<(usize, usize)> {
    position(yaml, path, false)
}

fn position(yaml: &str, path: &str, values: bool) -> Option<(usize, usize)> {
    let mut finder = Finder::new(path);
    finder.values = values;
    // A syntax error after the target does not hide what was found before it.
    let _ = Parser::new_from_str(yaml).load(&mut finder, false);
    finder.best.map(|(_, m)| (m.line(), m.col() + 1))
}

/// One open collection.
enum Frame {
    /// A mapping: the key path to it (`None` inside a sequence, which the
    /// spec never has), whether the next node is a key, and the key whose
    /// value comes next.
    Mapping {
        path: Option<Vec<String>>,
        expecting_key: bool,
        pending_key: Option<String>,
        /// The keys read so far.
        seen: Vec<String>,
    },
    /// A sequence: its items have no field path.
    Sequence,
}

struct Finder {
    target: Vec<String>,
    stack: Vec<Frame>,
    /// Rank and position of the best match so far. The rank is twice the
    /// depth matched, plus one for a value, so that a value beats its key.
    best: Option<(usize, Marker)>,
    /// Whether a value may be the best match (else keys only).
    values: bool,
    scan: Scan,
}

impl Finder {
    fn new(path: &str) -> Finder {
        Finder {
            target: path.split('.').map(str::to_owned).collect(),
            stack: Vec::new(),
            best: None,
            values: true,
            scan: Scan::default(),
        }
    }

    /// Records `mark` if `path` is a prefix of the target deeper than (or,
    /// for a value, as deep as) the best match so far.
    fn note(&mut self, path: &[String], is_value: bool, mark: Marker) {
        let on_target = path.len() <= self.target.len() && self.target.starts_with(path);
        if is_value && !self.values {
            return;
        }
        let rank = 2 * path.len() + usize::from(is_value);
        if on_target && self.best.is_none_or(|(r, _)| rank > r) {
            self.best = Some((rank, mark));
        }
    }

    /// Called for every node that starts now. A mapping key is recorded
    /// and remembered; a value's path is returned (`None` if it has none:
    /// the document root, a sequence item, or inside either) and, if it is
    /// not a collection, recorded. A collection is located at its key: the
    /// parser marks a block mapping at its first key's colon.
    fn node(
        &mut self,
        key_text: Option<&str>,
        collection: bool,
        mark: Marker,
    ) -> Option<Vec<String>> {
        let Some(Frame::Mapping {
            path,
            expecting_key,
            pending_key,
            seen,
        }) = self.stack.last_mut()
        else {
            return None;
        };
        if *expecting_key {
            // A key. Complex (non-scalar) keys are not part of the spec.
            *expecting_key = false;
            *pending_key = key_text.map(str::to_owned);
            let key_path = path.clone().zip(key_text).map(|(mut p, k)| {
                p.push(k.to_owned());
                p
            });
            if let Some(k) = key_text {
                if seen.iter().any(|s| s == k) {
                    let shown = key_path.as_ref().map_or(k.to_owned(), |p| p.join("."));
                    self.scan
                        .duplicates
                        .push((shown, (mark.line(), mark.col() + 1)));
                } else {
                    seen.push(k.to_owned());
                }
            }
            if let Some(p) = key_path {
                self.note(&p, false, mark);
            }
            return None;
        }
        *expecting_key = true;
        let key = pending_key.take();
        let value_path = path.clone().zip(key).map(|(mut p, k)| {
            p.push(k);
            p
        });
        if let Some(p) = value_path.as_ref().filter(|_| !collection) {
            self.note(p, true, mark);
        }
        value_path
    }
}

impl MarkedEventReceiver for Finder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, ..) => {
                self.node(Some(&text), false, mark);
            }
            Event::Alias(..) => {
                self.scan.aliases += 1;
                self.node(None, false, mark);
            }
            Event::MappingStart(..) => {
                let root = self.stack.is_empty();
                let path = self.node(None, true, mark);
                self.stack.push(Frame::Mapping {
                    path: if root { Some(Vec::new()) } else { path },
                    expecting_key: true,
                    pending_key: None,
                    seen: Vec::new(),
                });
            }
            Event::SequenceStart(..) => {
                self.node(None, true, mark);
                self.stack.push(Frame::Sequence);
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::value_position;

    const TINY: &str = include_str!("../../specs/tiny.yaml");

    /// 1-based (line, column) of the first occurrence of `needle` in `text`.
    fn position_of(text: &str, needle: &str) -> (usize, usize) {
        let at = text.find(needle).expect("needle in text");
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        (text[..at].matches('\n').count() + 1, at - line_start + 1)
    }

    #[test]
    fn nested_paths_point_at_the_value() {
        assert_eq!(
            value_position(TINY, "crossbar.noise.read_sigma"),
            Some(position_of(TINY, "1.0"))
        );
        assert_eq!(
            value_position(TINY, "crossbar.noise.read_sigma"),
            Some((23, 17))
        );
        assert_eq!(value_position(TINY, "name"), Some((4, 7)));
        assert_eq!(value_position(TINY, "rtl.reset"), Some((33, 10)));
    }

    #[test]
    fn the_same_key_in_two_mappings_is_told_apart() {
        // `latency_cycles` is in both `crossbar` and `memory`.
        assert_eq!(
            value_position(TINY, "crossbar.latency_cycles"),
            Some((19, 19))
        );
        assert_eq!(
            value_position(TINY, "memory.latency_cycles"),
            Some((30, 19))
        );
        assert_eq!(
            value_position(TINY, "memory.latency_cycles"),
            Some(position_of(TINY, "4\n  bytes_per_cycle"))
        );
    }

    #[test]
    fn flow_mappings_quoted_keys_and_aliases() {
        let yaml = "a: {b: 1, \"c\": {d: 2}}\ne:\n  f: &x 3\n  g: *x\n  h: 4\n";
        assert_eq!(value_position(yaml, "a.b"), Some((1, 8)));
        assert_eq!(value_position(yaml, "a.c.d"), Some((1, 20)));
        assert_eq!(value_position(yaml, "e.g"), Some((4, 6)));
        // The alias does not shift the keys after it.
        assert_eq!(value_position(yaml, "e.h"), Some((5, 6)));
    }

    #[test]
    fn sequences_do_not_shift_the_keys_after_them() {
        let yaml = "a:\n  s: [x, y, {b: 9}]\n  t:\n    - b\n    - c\n  b: 5\n";
        assert_eq!(value_position(yaml, "a.b"), Some((6, 6)));
    }

    #[test]
    fn a_missing_leaf_falls_back_to_the_deepest_key() {
        // tiny.yaml has `crossbar.noise` but no `crossbar.noise.other`.
        assert_eq!(value_position(TINY, "crossbar.noise.other"), Some((20, 3)));
        assert_eq!(value_position(TINY, "nothing.here"), None);
    }

    #[test]
    fn the_scan_finds_duplicate_keys_and_aliases() {
        let yaml = "a:\n  b: &x 1\n  c: *x\n  b: 2\nd: [1, {e: 1, e: 2}]\n";
        let found = super::scan(yaml).unwrap();
        assert_eq!(found.aliases, 1);
        assert_eq!(
            found.duplicates,
            [("a.b".to_owned(), (4, 3)), ("e".to_owned(), (5, 15))]
        );
        assert!(super::scan("a: [\n").is_err());
    }

    #[test]
    fn a_syntax_error_after_the_value_does_not_hide_it() {
        let yaml = "a:\n  b: 1\nc: [\n";
        assert_eq!(value_position(yaml, "a.b"), Some((2, 6)));
    }
}
