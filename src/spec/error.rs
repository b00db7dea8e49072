//! Spec errors that read like compiler errors: file, line, column, field,
//! what was wrong and what is allowed.

use std::fmt;

use super::locate;

/// What is wrong with a spec, before it is given a place in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecErrorKind {
    /// The text is not well-formed YAML. `message` is the YAML parser's,
    /// with the context it was parsing (e.g. "while parsing a flow sequence
    /// at line 6 column 11").
    Syntax { message: String },
    /// Well-formed YAML that does not fit the shape of a spec: an unknown
    /// field or enum value, a missing or repeated field, or a value of the
    /// wrong type. Built from serde's message.
    Shape {
        /// Dotted path of the field; `None` when the whole document is wrong.
        field: Option<String>,
        /// The headline, naming the field.
        problem: String,
        /// What the field accepts, when known.
        allowed: Option<String>,
        help: Option<String>,
    },
    /// A number outside its range.
    OutOfRange {
        field: String,
        value: String,
        allowed: String,
        help: Option<String>,
    },
    /// A name that cannot be used as a Verilog module prefix.
    BadIdentifier {
        field: String,
        value: String,
        what: String,
    },
    /// Fields that are each in range but disagree.
    Contradiction {
        field: String,
        message: String,
        help: String,
    },
}

impl SpecErrorKind {
    /// The dotted path of the field the error is about, if it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            SpecErrorKind::Syntax { .. } => None,
            SpecErrorKind::Shape { field, .. } => field.as_deref(),
            SpecErrorKind::OutOfRange { field, .. }
            | SpecErrorKind::BadIdentifier { field, .. }
            | SpecErrorKind::Contradiction { field, .. } => Some(field),
        }
    }

    pub(crate) fn with_help(self, text: String) -> SpecErrorKind {
        match self {
            SpecErrorKind::OutOfRange {
                field,
                value,
                allowed,
                ..
            } => SpecErrorKind::OutOfRange {
                field,
                value,
                allowed,
                help: Some(text),
            },
            other => other,
        }
    }
}

/// A spec error with its place: `file:line:column` (1-based).
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Boxed: the error travels in `Result`s and should stay small.
    pub kind: Box<SpecErrorKind>,
}

impl SpecError {
    /// An error from `serde_yaml::from_str::<Spec>`. serde_yaml's locations
    /// are already 1-based.
    ///
    /// serde_yaml reports the first problem in event order, so when the YAML
    /// is malformed the message may be a consequence of the malformation
    /// (say, a missing field where a bad indent closed a mapping early).
    /// [`SpecError::from_serde_in`] avoids that when the text is at hand.
    pub(crate) fn from_serde(file: &str, err: serde_yaml::Error) -> SpecError {
        let location = err.location();
        let line = location.as_ref().map(|l| l.line());
        let column = location.as_ref().map(|l| l.column());
        let mut message = err.to_string();
        // serde_yaml appends the place (` at line L column C`); it is printed
        // on its own line instead. A YAML parser's message may go on with the
        // context it was parsing and that context's place, which is kept.
        if let (Some(l), Some(c)) = (line, column) {
            let mark = format!(" at line {l} column {c}");
            if message.ends_with(&mark) {
                message.truncate(message.len() - mark.len());
            } else if let Some(cut) = message.find(&format!("{mark},")) {
                message.replace_range(cut..cut + mark.len(), "");
            }
        }
        // At the end of the file the useful place is where the unfinished
        // construct (a quoted string, a `[`) began, which is the context's.
        if let Some((context, l, c)) = message
            .strip_prefix("found unexpected end of stream, ")
            .and_then(context_at)
        {
            return SpecError {
                file: file.into(),
                line: Some(l),
                column: Some(c),
                kind: Box::new(SpecErrorKind::Syntax {
                    message: format!("the file ends {context} that starts here"),
                }),
            };
        }
        let kind = shape(&message).unwrap_or_else(|| SpecErrorKind::Syntax {
            message: explain(message),
        });
        SpecError {
            file: file.into(),
            line,
            column,
            kind: Box::new(kind),
        }
    }

    /// Like `SpecError::from_serde` (for an error alone), but when `yaml` is not well-formed
    /// YAML the syntax error is reported rather than whatever serde stumbled
    /// on first in the events read before it.
    pub fn from_serde_in(file: &str, yaml: &str, err: serde_yaml::Error) -> SpecError {
        match serde_yaml::from_str::<serde::de::IgnoredAny>(yaml) {
            Err(syntax) => SpecError::from_serde(file, syntax),
            Ok(_) => SpecError::from_serde(file, err),
        }
    }

    pub(crate) fn locate(file: &str, yaml: &str, kind: SpecErrorKind) -> SpecError {
        let place = kind.field().and_then(|f| locate::value_position(yaml, f));
        SpecError {
            file: file.into(),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            kind: Box::new(kind),
        }
    }
}

/// Adds the likely cause to the YAML parser's terser messages.
fn explain(message: String) -> String {
    if message.starts_with("deserializing from YAML containing more than one document") {
        "the file holds more than one YAML document (a `---` line starts another); \
         a spec is one document"
            .into()
    } else if message.starts_with("found character that cannot start any token") {
        format!("{message} (YAML indents with spaces, never tabs)")
    } else {
        message
    }
}

/// Splits a YAML parser's context, `while scanning a quoted scalar at line
/// 2 column 7`, into its text and 1-based place.
fn context_at(text: &str) -> Option<(&str, usize, usize)> {
    let (context, place) = text.rsplit_once(" at line ")?;
    let (line, column) = place.split_once(" column ")?;
    Some((context, line.parse().ok()?, column.parse().ok()?))
}

/// Field names and enum values are all plain identifiers.
fn is_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '?' | '-'))
}

/// The text between the first pair of backquotes, and what follows it.
fn quoted(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('`')?;
    let end = rest.find('`')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// serde's `expected one of `a`, `b``, `expected `a`` or `there are no
/// fields` as a list for `= allowed:`, and the names in it.
fn one_of(text: &str) -> (String, Vec<String>) {
    let text = text.trim_start_matches(", ");
    if let Some(list) = text
        .strip_prefix("expected one of ")
        .or_else(|| text.strip_prefix("expected "))
    {
        let names = list
            .split(", ")
            .map(|n| n.trim_matches('`').to_owned())
            .collect();
        (list.to_owned(), names)
    } else {
        (text.replace("there are no ", "no "), Vec::new())
    }
}

/// serde's name for an expected type, as a user would say it.
fn expected(text: &str) -> String {
    match text {
        "u8" | "u16" | "u32" | "u64" | "usize" => "an unsigned integer".into(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "an integer".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" => "`true` or `false`".into(),
        t if t.starts_with("struct ") => "a mapping of `field: value` lines".into(),
        // serde_yaml's wording for an enum given as anything but a name.
        "a YAML tag starting with '!'" => {
            "one of the names this field accepts, written plain".into()
        }
        t => t.into(),
    }
}

/// serde's description of what it found, as a user would say it.
fn found(text: &str) -> String {
    let value = |prefix: &str| {
        text.strip_prefix(prefix)
            .map(|v| v.trim_matches('`').to_owned())
    };
    if let Some(v) = value("integer ") {
        format!("the integer {v}")
    } else if let Some(v) = value("floating point ") {
        format!("the number {v}")
    } else if let Some(v) = value("boolean ") {
        format!("the boolean {v}")
    } else if let Some(v) = value("string ") {
        format!("the string {v}")
    } else {
        match text {
            "sequence" => "a sequence".into(),
            "map" => "a mapping".into(),
            "unit value" => "no value (null)".into(),
            t => t.into(),
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The allowed name closest to `given`, if it is close enough to be a typo.
fn did_you_mean(given: &str, names: &[String]) -> Option<String> {
    names
        .iter()
        .map(|n| (distance(given, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| format!("did you mean `{n}`?"))
}

/// Reads serde's message for a spec that is well-formed YAML but does not
/// fit the spec's shape. `None` for anything else (a YAML syntax error).
fn shape(message: &str) -> Option<SpecErrorKind> {
    const PROBLEMS: &[&str] = &[
        "unknown field ",
        "unknown variant ",
        "missing field ",
        "duplicate field ",
        "invalid type: ",
        "invalid value: ",
        "invalid length ",
    ];
    let starts_problem = |m: &str| PROBLEMS.iter().any(|p| m.starts_with(p));
    // serde_yaml puts the dotted path of a nested field before the message.
    let (parent, what) = match message.split_once(": ") {
        Some((path, rest)) if is_path(path) && starts_problem(rest) => (Some(path), rest),
        _ if starts_problem(message) => (None, message),
        _ => return None,
    };
    let child = |name: &str| match parent {
        Some(p) => format!("{p}.{name}"),
        None => name.to_owned(),
    };
    let kind = if let Some(rest) = what.strip_prefix("unknown field ") {
        let (name, rest) = quoted(rest)?;
        let (allowed, names) = one_of(rest);
        let field = child(name);
        SpecErrorKind::Shape {
            problem: format!("unknown field `{field}`"),
            field: Some(field),
            allowed: Some(match parent {
                Some(p) => format!("the fields of `{p}`: {allowed}"),
                None => format!("the top-level fields {allowed}"),
            }),
            help: did_you_mean(name, &names),
        }
    } else if let Some(rest) = what.strip_prefix("unknown variant ") {
        let (name, rest) = quoted(rest)?;
        let (allowed, names) = one_of(rest);
        let field = parent.unwrap_or("the spec");
        SpecErrorKind::Shape {
            problem: format!("`{field}` = {name} is not a known value"),
            field: parent.map(str::to_owned),
            allowed: Some(allowed),
            help: did_you_mean(name, &names),
        }
    } else if let Some(rest) = what.strip_prefix("missing field ") {
        let (name, _) = quoted(rest)?;
        let field = child(name);
        SpecErrorKind::Shape {
            problem: format!("missing field `{field}`"),
            field: Some(field),
            allowed: None,
            help: Some(match parent {
                Some(p) => format!("the field is required: add `{name}: ...` under `{p}:`"),
                None => format!("the field is required: add `{name}: ...` at the top level"),
            }),
        }
    } else if let Some(rest) = what.strip_prefix("duplicate field ") {
        let (name, _) = quoted(rest)?;
        let field = child(name);
        SpecErrorKind::Shape {
            problem: format!("`{field}` is given more than once"),
            field: Some(field),
            allowed: None,
            help: Some(format!("keep one `{name}:` line")),
        }
    } else {
        let rest = what
            .strip_prefix("invalid type: ")
            .or_else(|| what.strip_prefix("invalid value: "));
        let (given, wanted) = rest.and_then(|r| r.rsplit_once(", expected "))?;
        let subject = match parent {
            Some(p) => format!("`{p}`"),
            None => "the spec".to_owned(),
        };
        let negative = given.starts_with("integer `-");
        let unsigned = matches!(wanted, "u8" | "u16" | "u32" | "u64" | "usize");
        let problem = if negative && unsigned {
            format!("{subject} = {} is negative", given[8..].trim_matches('`'))
        } else if given.starts_with("integer ") && unsigned {
            format!("{subject} = {} is too large", given[8..].trim_matches('`'))
        } else {
            format!("{subject} has the wrong type: found {}", found(given))
        };
        SpecErrorKind::Shape {
            field: parent.map(str::to_owned),
            problem,
            allowed: Some(expected(wanted)),
            help: None,
        }
    };
    Some(kind)
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind.as_ref() {
            SpecErrorKind::Syntax { message } => writeln!(f, "error: invalid YAML: {message}")?,
            SpecErrorKind::Shape { problem, .. } => writeln!(f, "error: {problem}")?,
            SpecErrorKind::OutOfRange { field, value, .. } => {
                writeln!(f, "error: `{field}` = {value} is out of range")?
            }
            SpecErrorKind::BadIdentifier { field, value, what } => {
                writeln!(f, "error: `{field}` = \"{value}\" {what}")?
            }
            SpecErrorKind::Contradiction { field, message, .. } => {
                writeln!(f, "error: `{field}`: {message}")?
            }
        }
        match (self.line, self.column) {
            (Some(l), Some(c)) => writeln!(f, "  --> {}:{l}:{c}", self.file)?,
            _ => writeln!(f, "  --> {}", self.file)?,
        }
        match self.kind.as_ref() {
            SpecErrorKind::Syntax { .. } => {}
            SpecErrorKind::Shape { allowed, help, .. } => {
                if let Some(a) = allowed {
                    writeln!(f, "  = allowed: {a}")?;
                }
                if let Some(h) = help {
                    writeln!(f, "  = help: {h}")?;
                }
            }
            SpecErrorKind::OutOfRange { allowed, help, .. } => {
                writeln!(f, "  = allowed: {allowed}")?;
                if let Some(h) = help {
                    writeln!(f, "  = help: {h}")?;
                }
            }
            SpecErrorKind::BadIdentifier { .. } => writeln!(
                f,
                "  = allowed: a letter or `_`, then letters, digits or `_`; at most 48 characters; not a Verilog keyword"
            )?,
            SpecErrorKind::Contradiction { help, .. } => writeln!(f, "  = help: {help}")?,
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    fn serde_error(yaml: &str) -> serde_yaml::Error {
        serde_yaml::from_str::<Spec>(yaml).expect_err("bad spec")
    }

    const TINY: &str = include_str!("../../specs/tiny.yaml");

    #[test]
    fn at_the_end_of_the_file_the_error_points_where_the_construct_began() {
        let yaml = TINY.replace("name: tiny", "name: \"tiny");
        let e = SpecError::from_serde("t.yaml", serde_error(&yaml));
        assert_eq!(
            e.to_string(),
            "error: invalid YAML: the file ends while scanning a quoted scalar \
             that starts here\n  --> t.yaml:4:7\n"
        );
    }

    #[test]
    fn syntax_error_keeps_the_parser_context() {
        let yaml = TINY.replace("  causal: false", "  causal: [false");
        let e = SpecError::from_serde_in("t.yaml", &yaml, serde_error(&yaml));
        assert_eq!(
            e.to_string(),
            "error: invalid YAML: did not find expected ',' or ']', \
             while parsing a flow sequence at line 8 column 11\n  --> t.yaml:9:9\n"
        );
    }

    #[test]
    fn with_the_text_a_syntax_error_beats_what_serde_saw_first() {
        // The dedented `cols` closes `crossbar` early: serde alone reports a
        // missing `crossbar.cols`.
        let yaml = TINY.replace("  cols: 32", " cols: 32");
        let alone = SpecError::from_serde("t.yaml", serde_error(&yaml));
        assert_eq!(alone.kind.field(), Some("crossbar.cols"));
        let e = SpecError::from_serde_in("t.yaml", &yaml, serde_error(&yaml));
        assert_eq!(
            e.to_string(),
            "error: invalid YAML: did not find expected key, \
             while parsing a block mapping at line 4 column 1\n  --> t.yaml:14:2\n"
        );
        // Well-formed YAML keeps serde's error.
        let yaml = TINY.replace("  rows: 16", "  rows: sixteen");
        let e = SpecError::from_serde_in("t.yaml", &yaml, serde_error(&yaml));
        assert_eq!(e.kind.field(), Some("crossbar.rows"));
    }

    #[test]
    fn shape_errors_name_the_field() {
        let e = SpecError::from_serde("t.yaml", serde_error("name: 5\nattention: 3\n"));
        assert_eq!(e.kind.field(), Some("attention"));
        assert!(e.to_string().starts_with(
            "error: `attention` has the wrong type: found the integer 3\n  --> t.yaml:2:12\n"
        ));
        let e = SpecError::from_serde("t.yaml", serde_error("x: 1"));
        assert_eq!(e.kind.field(), Some("x"));
        let e = SpecError::from_serde("t.yaml", serde_error("name: t\n"));
        assert_eq!(e.kind.field(), Some("attention"));
        let e = SpecError::from_serde("t.yaml", serde_error("- 1\n"));
        assert_eq!(e.kind.field(), None);
        assert!(
            e.to_string()
                .starts_with("error: the spec has the wrong type")
        );
    }

    #[test]
    fn too_large_for_u32() {
        let yaml = TINY.replace("  rows: 16", "  rows: 5000000000");
        let e = SpecError::from_serde("t.yaml", serde_error(&yaml));
        assert_eq!(
            e.to_string(),
            "error: `crossbar.rows` = 5000000000 is too large\n  --> t.yaml:13:9\n  \
             = allowed: an unsigned integer\n"
        );
    }

    #[test]
    fn did_you_mean_only_for_near_misses() {
        let names = ["latency_cycles".to_owned(), "rows".to_owned()];
        assert_eq!(
            did_you_mean("latency_cycle", &names).as_deref(),
            Some("did you mean `latency_cycles`?")
        );
        assert_eq!(did_you_mean("clock_mhz", &names), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
