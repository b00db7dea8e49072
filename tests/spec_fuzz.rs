//! The spec parser's fuzzing corpus, replayed on the stable toolchain: the
//! inputs of `fuzz/corpus/spec_parse/` (the seeds from `specs/` and
//! `tests/bad_specs/` and what libFuzzer's coverage kept of its runs, see
//! `fuzz/`) must each give a spec or an error, never a panic, and quickly.
//! An input that once broke the parser belongs in that folder too. As in the fuzz target, a spec that parses must
//! derive its parameters and an error must print.

use std::panic;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sprint_rtl::golden::Derived;
use sprint_rtl::spec::Spec;

/// Longest parse of one input; a spec takes well under a millisecond, so
/// this only catches a blow-up (quadratic nesting, alias expansion).
const MOST_PER_INPUT: Duration = Duration::from_secs(2);

fn inputs(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// What the fuzz target does with one input; the panic, if any, is the
/// finding.
fn parse_like_the_fuzz_target(data: &[u8]) {
    let Ok(yaml) = std::str::from_utf8(data) else {
        return;
    };
    match Spec::parse("fuzz.yaml", yaml) {
        Ok(spec) => {
            Derived::from_spec(&spec);
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
}

fn replay(folder: &str) -> usize {
    let files = inputs(folder);
    let mut failures = Vec::new();
    for path in &files {
        let data = std::fs::read(path).expect("readable input");
        let start = Instant::now();
        if panic::catch_unwind(|| parse_like_the_fuzz_target(&data)).is_err() {
            failures.push(format!("{}: panicked", path.display()));
        }
        let took = start.elapsed();
        if took > MOST_PER_INPUT {
            failures.push(format!("{}: took {took:?}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    files.len()
}

#[test]
fn the_fuzzing_corpus_parses_without_a_panic() {
    let n = replay("fuzz/corpus/spec_parse");
    let seeds = inputs("specs").len() + inputs("tests/bad_specs").len();
    assert!(n >= seeds, "{n} inputs, fewer than the {seeds} seeds");
}
