//! Spec errors that read like compiler errors: file, line, column, field,
//! what was wrong and what is allowed.

use std::fmt;

use super::locate;

/// What is wrong with a spec, before it is given a place in the file.
#[derive(Debug, Clone, PartialEq)]
pub enum SpecErrorKind {
    /// The YAML could not be read into a spec: malformed YAML, an unknown
    /// field, a missing field or a wrong type. `message` is serde's.
    Syntax { message: String },
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
    pub kind: SpecErrorKind,
}

impl SpecError {
    pub(crate) fn from_serde(file: &str, err: serde_yaml::Error) -> SpecError {
        let location = err.location();
        let mut message = err.to_string();
        // serde_yaml appends the place; it is printed on its own line instead.
        if let Some(cut) = message.find(" at line ") {
            message.truncate(cut);
        }
        SpecError {
            file: file.into(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            kind: SpecErrorKind::Syntax { message },
        }
    }

    pub(crate) fn locate(file: &str, yaml: &str, kind: SpecErrorKind) -> SpecError {
        let place = kind.field().and_then(|f| locate::value_position(yaml, f));
        SpecError {
            file: file.into(),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            kind,
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SpecErrorKind::Syntax { message } => writeln!(f, "error: {message}")?,
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
        match &self.kind {
            SpecErrorKind::Syntax { .. } => {}
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
