//! The crossbar emulator (`<name>_xbar_emu`) in place of the behavioral
//! crossbar, co-simulated in Verilator against the golden model: every keep
//! vector, output word, fetch and counter, with golden noise and without.
//!
//! These need Verilator, so they are ignored by a plain `cargo test`;
//! `cargo test --release --test emulator -- --include-ignored` runs them.

mod common;

use std::path::PathBuf;

use sprint_rtl::golden::{Derived, EmuDerived};
use sprint_rtl::sim::verify::{
    self, Crossbar, StimulusOptions, Testbench, VerifyOptions, VerifyReport,
};
use sprint_rtl::spec::{Emulator, EmulatorNoise, Spec};
use sprint_rtl::tools::SimBuild;

use common::spec;

/// The tiny spec with an emulator of `noise`, scoring `bit_lines` keys a
/// cycle, under another name (its own work folder).
fn tiny_with(noise: EmulatorNoise, bit_lines: u32) -> Spec {
    let mut s = spec("tiny");
    s.name = format!("tiny_emu_{bit_lines}");
    s.crossbar.emulator = Some(Emulator { noise, bit_lines });
    s.validate().unwrap();
    s
}

fn emulator_options(s: &Spec, seeds: &[u64]) -> VerifyOptions {
    let mut opts = VerifyOptions::for_spec(s);
    opts.seeds = seeds.to_vec();
    opts.crossbar = Crossbar::Emulator;
    opts.work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("emulator")
        .join(&s.name);
    opts
}

/// Every run passed, with every output row and counter checked, and the
/// pruning runs checked every keep vector the emulator sent.
fn assert_bit_exact(s: &Spec, report: &VerifyReport, runs: usize) {
    assert!(
        report.passed(),
        "{}: {}",
        s.name,
        report.failure.clone().unwrap_or_default()
    );
    assert_eq!(report.runs.len(), runs, "{}: every run reported", s.name);
    for r in &report.runs {
        assert_eq!(r.outputs, u64::from(r.queries), "{}: every row", r.label);
        assert_eq!(r.counters_checked, 5, "{}: every counter", r.label);
        if r.mode.prune() {
            assert_eq!(
                r.keeps_checked,
                u64::from(r.queries),
                "{}: every keep",
                r.label
            );
        }
    }
}

#[test]
#[ignore = "needs Verilator"]
fn the_emulator_with_golden_noise_is_the_crossbar_bit_for_bit() {
    common::tool("verilator");
    let s = spec("tiny");
    let d = Derived::from_spec(&s);
    assert!(
        d.prog_noise_mult > 0 && d.read_noise_mult > 0,
        "noise to emulate"
    );
    let report = verify::verify(&s, &emulator_options(&s, &[1]), &|_| {}).unwrap();
    assert_bit_exact(&s, &report, 8);
}

/// Without noise the emulator predicts a noiseless crossbar: it passes
/// against the golden model without noise, and fails, on a keep vector,
/// against the spec's noisy crossbar (so the keep check can fail). It
/// scores a whole beat (32 keys) a cycle, the other extreme of the
/// default's 4.
#[test]
#[ignore = "needs Verilator"]
fn the_emulator_without_noise_is_the_noiseless_crossbar() {
    common::tool("verilator");
    let s = tiny_with(EmulatorNoise::None, 32);
    let d = Derived::from_spec(&s);
    let noiseless = EmuDerived::from_spec(&s, &d).golden_derived(&d);
    assert_eq!(
        (noiseless.prog_noise_mult, noiseless.read_noise_mult),
        (0, 0)
    );
    let mut opts = emulator_options(&s, &[3]);
    opts.robustness = false;
    let report = verify::verify(&s, &opts, &|_| {}).unwrap();
    assert_bit_exact(&s, &report, 4);

    let tb = Testbench::build_with(
        &s,
        &opts.work_dir,
        SimBuild::Checking,
        Crossbar::Emulator,
        &|_| {},
    )
    .unwrap();
    let noisy = VerifyOptions {
        crossbar: Crossbar::Model,
        ..opts.clone()
    };
    let text = verify::seed_stimulus(&s, &noisy, 3);
    let run = tb
        .run_stimulus("noisy", 3, &text, &StimulusOptions::default())
        .unwrap();
    let failure = run.failure.unwrap_or_default();
    assert!(failure.starts_with("MISMATCH keep"), "{failure}");
}
