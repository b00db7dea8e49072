//! Spec errors that read like compiler errors: file, line, column, field,
//! what was wrong and what is allowed.

use std::fmt;

use super::locate;

/// What is wrong with a spec, before it is given a place in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecErrorKind {
    /// The text is not well-formed YAML (`message` is the YAML parser's), or
    /// not exactly one YAML document.
    Syntax { message: String },
    /// A file beyond the bounds of [`super::limits`]: too long or nested too
    /// deep.
    TooLarge { what: String, allowed: String },
    /// Well-formed YAML that does not fit the shape of a spec
    /// ([`super::schema`]): an unknown field or enum value, a missing or
    /// repeated field, or a value of the wrong type.
    Shape {
        /// Dotted path of the field; `None` when the whole document is wrong.
        field: Option<String>,
        /// The headline, naming the field.
        problem: String,
        /// What the field accepts, when known.
        allowed: Option<String>,
        help: Option<String>,
        /// The error points at the field's key, not its value (an unknown
        /// or repeated field).
        at_key: bool,
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
            SpecErrorKind::Syntax { .. } | SpecErrorKind::TooLarge { .. } => None,
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
    /// `kind` at 1-based `place` in `file`.
    pub(crate) fn at(file: &str, place: Option<(usize, usize)>, kind: SpecErrorKind) -> SpecError {
        SpecError {
            file: file.into(),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            kind: Box::new(kind),
        }
    }

    /// `kind` at the place in `yaml` of the field it names.
    pub(crate) fn locate(file: &str, yaml: &str, kind: SpecErrorKind) -> SpecError {
        let at_key = matches!(kind, SpecErrorKind::Shape { at_key: true, .. });
        let place = kind.field().and_then(|f| match at_key {
            true => locate::key_position(yaml, f),
            false => locate::value_position(yaml, f),
        });
        SpecError {
            file: file.into(),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            kind: Box::new(kind),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind.as_ref() {
            SpecErrorKind::Syntax { message } => writeln!(f, "error: invalid YAML: {message}")?,
            SpecErrorKind::TooLarge { what, .. } => writeln!(f, "error: the spec {what}")?,
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
            SpecErrorKind::TooLarge { allowed, .. } => writeln!(f, "  = allowed: {allowed}")?,
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

/// Every independent problem of one spec, in the order of the file. Never
/// empty.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    /// The problems of `file`: `kinds`, each at the place of the field it
    /// names in `yaml`, sorted by place.
    pub(crate) fn located(file: &str, yaml: &str, kinds: Vec<SpecErrorKind>) -> SpecErrors {
        SpecErrors::sorted(
            kinds
                .into_iter()
                .map(|k| SpecError::locate(file, yaml, k))
                .collect(),
        )
    }

    /// `errors`, sorted by place (those without one last).
    pub(crate) fn sorted(mut errors: Vec<SpecError>) -> SpecErrors {
        errors.sort_by_key(|e| (e.line.unwrap_or(usize::MAX), e.column.unwrap_or(0)));
        SpecErrors(errors)
    }

    /// The first problem.
    pub fn first(&self) -> &SpecError {
        &self.0[0]
    }
}

impl From<SpecError> for SpecErrors {
    fn from(e: SpecError) -> SpecErrors {
        SpecErrors(vec![e])
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.0.len() > 1 {
            writeln!(f, "\n{} problems in {}", self.0.len(), self.0[0].file)?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

#[cfg(test)]
mod tests {
    use crate::spec::Spec;

    const TINY: &str = include_str!("../../specs/tiny.yaml");

    fn errors_of(yaml: &str) -> String {
        Spec::parse("t.yaml", yaml)
            .expect_err("bad spec")
            .to_string()
    }

    #[test]
    fn a_syntax_error_points_at_the_parser_s_place() {
        let e = errors_of(&TINY.replace("  causal: false", "  causal: [false"));
        assert!(e.starts_with("error: invalid YAML: "), "{e}");
        assert!(e.contains("--> t.yaml:9:"), "{e}");
        // A dedented key is a syntax error, not a missing field.
        let e = errors_of(&TINY.replace("  cols: 32", " cols: 32"));
        assert!(e.starts_with("error: invalid YAML: "), "{e}");
    }

    #[test]
    fn every_independent_problem_is_reported_in_file_order() {
        let yaml = TINY
            .replace("seq_len: 32", "seq_len: 1")
            .replace("lanes: 2", "lanes: 3")
            .replace("bits_per_cell: 2", "bits_per_cell: 9");
        let e = errors_of(&yaml);
        let headlines: Vec<&str> = e.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(
            headlines,
            [
                "error: `attention.seq_len` = 1 is out of range",
                "error: `crossbar.bits_per_cell` = 9 is out of range",
                "error: `recompute.lanes`: 3 lanes do not divide attention.head_dim = 8",
            ],
            "{e}"
        );
        assert!(e.ends_with("3 problems in t.yaml\n"), "{e}");
    }

    #[test]
    fn a_rule_on_an_invalid_field_is_not_checked() {
        // data_bits out of range: out_bits, whose bound it is, is not judged.
        let e = errors_of(&TINY.replace("data_bits: 8", "data_bits: 40"));
        assert_eq!(e.matches("error:").count(), 1, "{e}");
        assert!(e.contains("`numerics.data_bits` = 40"), "{e}");
    }

    #[test]
    fn shape_errors_come_before_ranges_and_name_the_field() {
        let e = errors_of("name: 5\nattention: 3\n");
        assert!(
            e.contains("error: `name` has the wrong type: found the integer 5\n  --> t.yaml:1:7")
        );
        assert!(e.contains(
            "error: `attention` has the wrong type: found the integer 3\n  --> t.yaml:2:12"
        ));
        assert!(e.contains("error: missing field `numerics`"), "{e}");
        let e = errors_of("[1, 2]\n");
        assert!(
            e.starts_with("error: the spec has the wrong type: found a sequence"),
            "{e}"
        );
    }

    #[test]
    fn a_repeated_key_points_at_its_second_line() {
        let yaml = TINY.replace("  lanes: 2", "  lanes: 2\n  lanes: 2");
        let e = errors_of(&yaml);
        let line = TINY.lines().position(|l| l == "  lanes: 2").unwrap() + 2;
        assert!(
            e.starts_with("error: `recompute.lanes` is given more than once\n"),
            "{e}"
        );
        assert!(e.contains(&format!("--> t.yaml:{line}:3")), "{e}");
    }

    #[test]
    fn documents_and_bounds() {
        assert!(errors_of("").contains("no YAML document"));
        assert!(errors_of(&format!("{TINY}---\n{TINY}")).contains("2 YAML documents"));
        let laughs = format!(
            "a: &a [x, x]\n{}",
            (0..40)
                .map(|i| format!("b{i}: [*a, *a]\n"))
                .collect::<String>()
        );
        assert!(errors_of(&laughs).contains("error: the spec uses 80 aliases"));
    }

    #[test]
    fn a_hostile_file_is_refused_before_parsing() {
        // The bounds are checked on the raw text, so these messages come from
        // src/spec/limits.rs, not from a YAML parser that would take time
        // quadratic in the nesting.
        let nested = format!(
            "name: x\nattention: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let e = errors_of(&nested);
        assert!(
            e.starts_with(&format!("error: the spec is {} bytes long", nested.len())),
            "{e}"
        );
        let nested = format!(
            "name: x\nattention: {}{}\n",
            "[".repeat(30_000),
            "]".repeat(30_000)
        );
        assert!(errors_of(&nested).contains("nests `[` or `{` more than 16 deep"));
        let nested = format!("attention: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(errors_of(&nested).contains("nests `[` or `{` more than 16 deep"));
    }
}
