//! Why a command stops short of success, and the one place that turns it
//! into an exit status.
//!
//! Exit status: 0 success; 1 the command ran and what it checks failed (a
//! mismatch with the golden model, a lint finding, a synthesis result
//! outside its baseline, a missed goal); 2 it could not run (bad
//! arguments, a bad spec, model, trace or data file, a missing tool, an
//! output that could not be written), in which case nothing was
//! half-written.

use std::fmt;
use std::process::ExitCode;

/// Why a command stopped, with the text it prints on stderr.
#[derive(Debug)]
pub(crate) struct Failure {
    kind: Kind,
    /// The whole message, `error: ` first where the text has no prefix of
    /// its own; empty when the command already printed its findings.
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Exit status 2.
    Input,
    /// Exit status 1.
    Failed,
}

/// What a subcommand returns.
pub(crate) type Outcome = Result<(), Failure>;

impl Failure {
    /// Bad input or a missing tool: `error: <message>`, exit status 2.
    pub(crate) fn input(message: impl fmt::Display) -> Failure {
        Failure {
            kind: Kind::Input,
            message: format!("error: {message}"),
        }
    }

    /// Bad input whose message is already formatted in full (a spec
    /// error, which names its file and line): exit status 2.
    pub(crate) fn formatted(message: impl fmt::Display) -> Failure {
        Failure {
            kind: Kind::Input,
            message: message.to_string(),
        }
    }

    /// A check that ran and failed, its findings already printed: exit
    /// status 1 and nothing more on stderr.
    pub(crate) fn findings_printed() -> Failure {
        Failure {
            kind: Kind::Failed,
            message: String::new(),
        }
    }

    /// Prints the message on stderr and gives the exit status.
    pub(crate) fn report(self) -> ExitCode {
        if !self.message.is_empty() {
            eprint!("{}", self.message);
            if !self.message.ends_with('\n') {
                eprintln!();
            }
        }
        match self.kind {
            Kind::Input => ExitCode::from(2),
            Kind::Failed => ExitCode::from(1),
        }
    }
}

/// Any library error is bad input or a missing tool: the library reports a
/// failed check as a result, never as an error.
impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::input(e)
    }
}
