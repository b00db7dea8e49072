//! The testbench's own checks cannot pass vacuously: a stimulus file with
//! one expected value corrupted must fail, naming what mismatched, and a
//! driver that breaks a valid/ready rule must fail, naming the port and the
//! cycle.
//!
//! These tests need Verilator, so they are ignored by a plain `cargo test`;
//! `cargo test --release --test checker -- --include-ignored` (and CI) runs
//! them, and a missing Verilator fails them (see `tests/common`).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use sprint_rtl::sim::verify::{
    self, DriverFault, StimulusOptions, StimulusRun, Testbench, VerifyOptions,
};
use sprint_rtl::tools::SimBuild;

use common::spec;

/// The tiny design's checking testbench, built once for every test here,
/// and the stimulus of `verify --seed 1 --no-robustness` (the four modes).
fn tiny() -> &'static (Testbench, String) {
    static TB: OnceLock<(Testbench, String)> = OnceLock::new();
    TB.get_or_init(|| {
        common::tool("verilator");
        let s = spec("tiny");
        let mut opts = VerifyOptions::for_spec(&s);
        opts.robustness = false;
        let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("checker/tiny");
        let tb = Testbench::build(&s, &work, SimBuild::Checking, &|_| {}).unwrap();
        (tb, verify::seed_stimulus(&s, &opts, 1))
    })
}

/// Rewrites the first line whose command is `command` with `edit` (which
/// gets the line's words), and returns the new file and the original words.
fn mutate_first(
    text: &str,
    command: &str,
    edit: impl Fn(&[&str]) -> String,
) -> (String, Vec<String>) {
    let mut original = None;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if original.is_none() && words.first() == Some(&command) {
                original = Some(words.iter().map(|w| w.to_string()).collect());
                edit(&words)
            } else {
                line.to_string()
            }
        })
        .collect();
    let original = original.unwrap_or_else(|| panic!("the stimulus has no `{command}` line"));
    (lines.join("\n") + "\n", original)
}

/// Flips bit 0 of a big-endian hex string (element 0's or key 0's lowest
/// bit).
fn flip_lowest_bit(hex: &str) -> String {
    let (head, last) = hex.split_at(hex.len() - 1);
    let digit = u32::from_str_radix(last, 16).unwrap() ^ 1;
    format!("{head}{digit:x}")
}

fn run(name: &str, text: &str) -> StimulusRun {
    tiny()
        .0
        .run_stimulus(name, 1, text, &StimulusOptions::default())
        .unwrap()
}

/// Asserts that `done` failed with exit status 1 and that its first failure
/// line starts with `starts`.
fn assert_fails_with(done: &StimulusRun, starts: &str) {
    let failure = done.failure.as_deref().unwrap_or_else(|| {
        panic!("a corrupted expectation passed:\n{}", done.log);
    });
    assert!(failure.starts_with(starts), "{failure}");
    assert_eq!(done.exit_code, Some(1), "{}", done.log);
    assert!(!done.log.contains("PASS"), "{}", done.log);
}

#[test]
#[ignore = "needs Verilator"]
fn the_unchanged_stimulus_passes() {
    let done = run("unchanged", &tiny().1);
    assert_eq!(done.failure, None, "{}", done.log);
    assert_eq!(done.exit_code, Some(0));
    assert!(done.log.contains("\nPASS checks="), "{}", done.log);
}

#[test]
#[ignore = "needs Verilator"]
fn a_corrupted_output_word_fails() {
    let (text, words) = mutate_first(&tiny().1, "expect", |w| {
        format!("expect {} {}", w[1], flip_lowest_bit(w[2]))
    });
    let done = run("bad_output", &text);
    assert_eq!(words[1], "0");
    assert_fails_with(
        &done,
        "MISMATCH output label=seed1/baseline query=0 element=0 ",
    );
}

#[test]
#[ignore = "needs Verilator"]
fn a_corrupted_fetch_fails() {
    let (text, words) = mutate_first(&tiny().1, "fetch", |w| {
        let key: u32 = w[2].parse().unwrap();
        format!("fetch {} {}", w[1], key ^ 1)
    });
    let key: u32 = words[2].parse().unwrap();
    let done = run("bad_fetch", &text);
    assert_fails_with(
        &done,
        &format!(
            "MISMATCH fetch label=seed1/baseline query={} expected key={} got key={key}",
            words[1],
            key ^ 1
        ),
    );
}

#[test]
#[ignore = "needs Verilator"]
fn a_corrupted_keep_bit_fails() {
    let (text, words) = mutate_first(&tiny().1, "keep", |w| {
        format!("keep {} {} {}", w[1], w[2], flip_lowest_bit(w[3]))
    });
    let kept = u32::from_str_radix(&words[3][words[3].len() - 1..], 16).unwrap() & 1;
    let done = run("bad_keep", &text);
    // The baseline prunes nothing: the first keep vector is prune-only's.
    assert_fails_with(
        &done,
        &format!(
            "MISMATCH keep label=seed1/prune-only query={} key=0 expected={} got={kept}",
            words[1],
            kept ^ 1
        ),
    );
}

#[test]
#[ignore = "needs Verilator"]
fn a_corrupted_counter_fails() {
    let (text, words) = mutate_first(&tiny().1, "expect_csr", |w| {
        let value: u32 = w[2].parse().unwrap();
        format!("expect_csr {} {} {}", w[1], value + 1, w[3])
    });
    let value: u32 = words[2].parse().unwrap();
    assert_eq!(words[3], "seed1/baseline.kept");
    let done = run("bad_counter", &text);
    assert_fails_with(
        &done,
        &format!(
            "MISMATCH csr label=seed1/baseline name=seed1/baseline.kept expected={} got={value}",
            value + 1
        ),
    );
}

/// Runs the unchanged stimulus with the query driver breaking a rule once.
fn run_with_fault(fault: DriverFault) -> StimulusRun {
    let options = StimulusOptions {
        fault: Some(fault),
        ..StimulusOptions::default()
    };
    tiny()
        .0
        .run_stimulus(fault.name(), 1, &tiny().1, &options)
        .unwrap()
}

/// The cycle a protocol failure line names.
fn cycle_of(failure: &str) -> u64 {
    let field = failure
        .split_whitespace()
        .find_map(|w| w.strip_prefix("cycle="));
    field
        .and_then(|c| c.trim_end_matches(':').parse().ok())
        .unwrap_or_else(|| panic!("no cycle in {failure}"))
}

#[test]
#[ignore = "needs Verilator"]
fn a_dropped_valid_fails_the_protocol_check() {
    let done = run_with_fault(DriverFault::DropQueryValid);
    assert_fails_with(
        &done,
        "MISMATCH protocol label=seed1/baseline port=s_q rule=valid-held cycle=",
    );
    assert!(cycle_of(done.failure.as_deref().unwrap()) > 0);
}

#[test]
#[ignore = "needs Verilator"]
fn changed_data_while_waiting_fails_the_protocol_check() {
    let done = run_with_fault(DriverFault::ChangeQueryData);
    let failure = done.failure.as_deref().unwrap_or_default();
    assert_fails_with(
        &done,
        "MISMATCH protocol label=seed1/baseline port=s_q rule=data-stable cycle=",
    );
    assert!(failure.contains("s_q_data changed"), "{failure}");
    assert!(cycle_of(failure) > 0);
}
