//! Finds where a dotted field path (`buffer.bytes`) sits in the YAML text,
//! so that validation errors, found after serde has finished, still point at
//! a line and column.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// 1-based (line, column) of the value of `path`, or of the deepest mapping
/// key on the path that exists.
pub fn value_position(yaml: &str, path: &str) -> Option<(usize, usize)> {
    let mut finder = Finder {
        target: path.split('.').map(str::to_owned).collect(),
        stack: Vec::new(),
        best: None,
    };
    Parser::new_from_str(yaml).load(&mut finder, false).ok()?;
    finder.best.map(|(_, m)| (m.line(), m.col() + 1))
}

/// One open mapping: the key path to it, and whether the next scalar is a key.
struct Frame {
    path: Vec<String>,
    expecting_key: bool,
    pending_key: Option<String>,
}

struct Finder {
    target: Vec<String>,
    stack: Vec<Frame>,
    /// Depth matched and position of the best match so far.
    best: Option<(usize, Marker)>,
}

impl Finder {
    fn note(&mut self, path: &[String], mark: Marker) {
        let matched = path
            .iter()
            .zip(&self.target)
            .take_while(|(a, b)| a == b)
            .count();
        if matched == path.len() && self.best.is_none_or(|(d, _)| matched > d) {
            self.best = Some((matched, mark));
        }
    }

    /// Path of the value that starts now, if the parent is a mapping.
    fn value_path(&mut self) -> Option<Vec<String>> {
        let frame = self.stack.last_mut()?;
        let key = frame.pending_key.take()?;
        frame.expecting_key = true;
        let mut p = frame.path.clone();
        p.push(key);
        Some(p)
    }
}

impl MarkedEventReceiver for Finder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(text, ..) => {
                let expecting_key = self.stack.last().is_some_and(|f| f.expecting_key);
                if expecting_key {
                    let frame = self.stack.last_mut().expect("checked above");
                    frame.expecting_key = false;
                    frame.pending_key = Some(text);
                } else if let Some(p) = self.value_path() {
                    self.note(&p, mark);
                }
            }
            Event::MappingStart(..) => {
                let path = self.value_path().unwrap_or_default();
                self.stack.push(Frame {
                    path,
                    expecting_key: true,
                    pending_key: None,
                });
            }
            Event::MappingEnd => {
                self.stack.pop();
            }
            Event::SequenceStart(..) => {
                // Sequences are not part of the spec; skip their items.
                self.value_path();
            }
            _ => {}
        }
    }
}
