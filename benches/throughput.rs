//! Benchmarks (`cargo bench`): generation time of each shipped spec,
//! golden-model throughput in queries per second on a real head, and
//! Verilator co-simulation speed in simulated cycles per second.
//!
//! The co-simulation benchmark needs Verilator and is skipped without it;
//! its testbench is the measurement build that `report` uses
//! ([`SimBuild::Measuring`]), built once, before timing, in
//! `target/sprint-rtl/bench/minilm`. It is timed end to end per run:
//! writing the stimulus, starting the testbench, simulating and checking.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use sprint_rtl::emit;
use sprint_rtl::eval::calibrate::Thresholds;
use sprint_rtl::golden::{self, Derived, Mode, RunConfig};
use sprint_rtl::sim::verify::{Testbench, TraceRun};
use sprint_rtl::spec::Spec;
use sprint_rtl::tools::{self, SimBuild};
use sprint_rtl::trace::Trace;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec(name: &str) -> Spec {
    let path = root().join("specs").join(format!("{name}.yaml"));
    Spec::parse(
        &path.display().to_string(),
        &std::fs::read_to_string(&path).expect("shipped spec"),
    )
    .expect("valid shipped spec")
}

/// Head l3h9 of the committed trace at its calibrated threshold.
fn real_head(d: &Derived) -> TraceRun {
    let trace_path = root().join("tests/data/minilm_passage.npz");
    let trace = Trace::read_npz(&trace_path).expect("committed trace");
    let thresholds =
        Thresholds::read(&Thresholds::default_path(&trace_path)).expect("committed thresholds");
    let h = trace
        .heads
        .iter()
        .find(|h| (h.layer, h.head) == (3, 9))
        .expect("head l3h9");
    TraceRun::from_head(d, h, thresholds.lookup(3, 9).expect("calibrated").threshold)
}

fn generation(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate");
    g.sample_size(20);
    for name in ["sprint_s", "minilm", "tiny", "causal"] {
        let s = spec(name);
        g.bench_function(name, |b| b.iter(|| emit::render(black_box(&s))));
    }
    g.finish();
}

fn golden_model(c: &mut Criterion) {
    let d = Derived::from_spec(&spec("minilm"));
    let run = real_head(&d);
    let mut g = c.benchmark_group("golden_model_l3h9");
    g.sample_size(10);
    g.throughput(Throughput::Elements(run.input.q.len() as u64));
    for mode in Mode::COMPARED {
        let cfg = RunConfig {
            mode,
            threshold: run.threshold,
            scale: run.scale,
        };
        g.bench_function(mode.label(), |b| {
            b.iter(|| golden::run_head(&d, black_box(&run.input), &cfg))
        });
    }
    g.finish();
}

fn verilator(c: &mut Criterion) {
    if tools::version("verilator").is_none() {
        eprintln!("verilator is not installed: co-simulation benchmark skipped");
        return;
    }
    let s = spec("minilm");
    let d = Derived::from_spec(&s);
    let mut run = real_head(&d);
    run.input.q.truncate(16);
    let work = Path::new("target/sprint-rtl/bench/minilm");
    let tb = Testbench::build(&s, work, SimBuild::Measuring, &|_| {}).expect("testbench builds");
    let mut g = c.benchmark_group("verilator_minilm_16_queries");
    g.sample_size(10);
    for mode in [Mode::Baseline, Mode::Sprint] {
        let first = tb.measure(&d, &run, &[mode]).expect("runs");
        assert!(first.failure.is_none(), "{:?}", first.failure);
        g.throughput(Throughput::Elements(first.outcomes[0].cycles));
        g.bench_function(mode.label(), |b| {
            b.iter(|| tb.measure(&d, black_box(&run), &[mode]).expect("runs"))
        });
    }
    g.finish();
}

criterion_group!(benches, generation, golden_model, verilator);
criterion_main!(benches);
