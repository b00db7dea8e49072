//! Bounds on a spec file, checked on the raw text before any YAML parser
//! sees it, so that a hostile file is refused in time linear in its size.
//! A real spec is about 1 KB with three levels of nesting; YAML parsers
//! take time quadratic in the nesting depth, and aliases can expand a small
//! file into a huge tree.

use super::{SpecError, SpecErrorKind};

/// A 1-based (line, column).
type Place = (usize, usize);

/// Largest spec file, in bytes.
pub const MAX_BYTES: usize = 64 * 1024;
/// Deepest nesting of flow collections (`[`, `{`).
pub const MAX_FLOW_DEPTH: usize = 16;
/// Widest indentation of a line, in columns, counting `- ` item markers.
pub const MAX_INDENT: usize = 64;
/// Most aliases (`*name`) in a spec.
pub const MAX_ALIASES: usize = 32;

/// The first bound that `yaml` breaks, as an error of `file`.
pub(crate) fn check(file: &str, yaml: &str) -> Result<(), SpecError> {
    breach(yaml).map_or(Ok(()), |(kind, place)| {
        Err(SpecError::at(file, place, kind))
    })
}

fn breach(yaml: &str) -> Option<(SpecErrorKind, Option<Place>)> {
    if yaml.len() > MAX_BYTES {
        return Some((
            SpecErrorKind::TooLarge {
                what: format!("is {} bytes long", yaml.len()),
                allowed: format!("at most {MAX_BYTES} bytes (a spec is about 1 KB)"),
            },
            None,
        ));
    }
    for (i, line) in yaml.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '-']).len();
        if indent > MAX_INDENT {
            return Some((
                SpecErrorKind::TooLarge {
                    what: format!("nests line {} {indent} columns deep", i + 1),
                    allowed: format!("at most {MAX_INDENT} columns of indentation"),
                },
                Some((i + 1, 1)),
            ));
        }
    }
    deepest_flow(yaml).map(|place| {
        let kind = SpecErrorKind::TooLarge {
            what: format!("nests `[` or `{{` more than {MAX_FLOW_DEPTH} deep"),
            allowed: format!("at most {MAX_FLOW_DEPTH} levels of brackets"),
        };
        (kind, Some(place))
    })
}

/// Where flow nesting first passes [`MAX_FLOW_DEPTH`], skipping quoted
/// scalars and comments.
fn deepest_flow(yaml: &str) -> Option<Place> {
    flow_scan(yaml, usize::MAX).0
}

/// The 1-based place of the innermost `[` or `{` still open at the start of
/// line `before` (1-based), if any: a parser's error inside an unclosed flow
/// collection is often reported far from the bracket that caused it.
pub(crate) fn open_bracket_before(yaml: &str, before: usize) -> Option<Place> {
    flow_scan(yaml, before).1
}

/// One pass over the lines before `before`: where the flow depth first
/// passes [`MAX_FLOW_DEPTH`], and the innermost bracket left open.
fn flow_scan(yaml: &str, before: usize) -> (Option<Place>, Option<Place>) {
    let mut open: Vec<Place> = Vec::new();
    for (i, line) in yaml.lines().enumerate().take(before.saturating_sub(1)) {
        let mut quote = None;
        let mut previous = ' ';
        for (col, c) in line.chars().enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') if previous.is_whitespace() => break,
                (None, '[' | '{') => {
                    open.push((i + 1, col + 1));
                    if open.len() > MAX_FLOW_DEPTH {
                        return (Some((i + 1, col + 1)), None);
                    }
                }
                (None, ']' | '}') => {
                    open.pop();
                }
                _ => {}
            }
            previous = c;
        }
    }
    (None, open.last().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_spec_is_within_bounds() {
        assert!(breach(crate::spec::DEFAULT_SPEC_YAML).is_none());
    }

    #[test]
    fn deep_brackets_are_refused_where_they_pass_the_bound() {
        let yaml = format!(
            "name: x\nattention: {}{}\n",
            "[".repeat(100),
            "]".repeat(100)
        );
        let (_, place) = breach(&yaml).unwrap();
        assert_eq!(place, Some((2, 12 + MAX_FLOW_DEPTH)));
        // Brackets in a quoted string or a comment do not count.
        let quoted = format!("name: \"{}\" # {}\n", "[".repeat(40), "{".repeat(40));
        assert!(breach(&quoted).is_none());
    }

    #[test]
    fn the_open_bracket_before_a_line_is_found() {
        let yaml = "a: [1, 2]\nb: [x, {y: 1\nc: 2\n";
        assert_eq!(open_bracket_before(yaml, 3), Some((2, 8)));
        assert_eq!(open_bracket_before(yaml, 2), None);
    }

    #[test]
    fn deep_indentation_and_long_files_are_refused() {
        let deep = format!("a:\n{}b: 1\n", " ".repeat(MAX_INDENT + 1));
        assert_eq!(breach(&deep).unwrap().1, Some((2, 1)));
        let items = format!("a:\n{}b\n", "- ".repeat(40));
        assert!(breach(&items).is_some());
        let long = format!("name: x\n#{}\n", "x".repeat(MAX_BYTES));
        assert!(breach(&long).is_some());
    }
}
