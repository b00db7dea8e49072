//! Runs the measurement behind `sprint-rtl report` and `sweep`: every
//! selected head in the three compared modes, in the RTL (one Verilator
//! build per design, cached in the work folder, runs in parallel on the
//! machine's cores) or in the analytical model alone, and assembles the
//! [`Report`] whose JSON form `docs/src/report-schema.md` documents.

use std::path::PathBuf;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::perf::{self, HeadReport, ModeRun, PaperComparison, Summary};
use crate::golden::{self, Derived, HeadResult, Mode, RunConfig};
use crate::sim::verify::{RunOutcome, Testbench, TraceRun, VerifyError};
use crate::spec::{Energy, Spec};
use crate::tools::SimBuild;

/// Version of the JSON report's layout; bumped when a field changes meaning
/// or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Where cycles come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleSource {
    /// The CYCLES counter of the RTL, simulated in Verilator with no idle
    /// cycles and no back-pressure.
    Rtl,
    /// The analytical cycle model ([`crate::golden::cycles`]) alone.
    Model,
}

/// A head to measure: its label, place in the model and run.
#[derive(Debug, Clone)]
pub struct HeadJob {
    pub layer: usize,
    pub head: usize,
    /// Its input (already cut to the queries wanted), scale and threshold.
    pub run: TraceRun,
    /// Exact softmax probabilities of the run's queries over its keys
    /// (queries × keys, float Q and K of the trace), for
    /// [`perf::selection`]; empty when unknown.
    pub probabilities: Vec<Vec<f64>>,
}

/// How to measure.
#[derive(Debug, Clone)]
pub struct MeasureOptions {
    pub source: CycleSource,
    /// The design's work folder (design, Verilator build, stimulus files);
    /// a build there is reused while the design is unchanged.
    pub work_dir: PathBuf,
}

/// The whole report: what `report.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub generator_version: String,
    pub spec: String,
    pub spec_hash: String,
    /// The trace file, as given on the command line.
    pub trace: String,
    pub cycle_source: CycleSource,
    /// `verilator --version`, when simulated.
    pub verilator: Option<String>,
    /// The design's shape, for readers of the JSON alone.
    pub design: DesignSummary,
    /// The per-operation energies used, in pJ.
    pub energy_constants: Energy,
    pub heads: Vec<HeadReport>,
    pub summary: Summary,
    pub paper: PaperComparison,
    /// Every assumption behind the figures.
    pub assumptions: Vec<String>,
    /// Area and timing of the design from the synthesis flow; absent until
    /// a synthesis result is attached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synthesis: Option<serde_json::Value>,
}

/// The spec parameters that shape the figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignSummary {
    pub seq_len: u32,
    pub head_dim: u32,
    pub lanes: u32,
    pub buffer_bytes: u32,
    pub slots: u32,
    pub slot_bytes: u32,
    pub key_msb_bits: u32,
    pub xbar_latency_cycles: u32,
    pub mem_latency_cycles: u32,
    pub mem_bytes_per_cycle: u32,
}

impl DesignSummary {
    /// The shape of `d`.
    pub fn of(d: &Derived) -> DesignSummary {
        DesignSummary {
            seq_len: d.seq_len,
            head_dim: d.head_dim,
            lanes: d.lanes,
            buffer_bytes: d.buffer_bytes,
            slots: d.slots,
            slot_bytes: d.slot_bytes,
            key_msb_bits: d.key_msb_bits,
            xbar_latency_cycles: d.xbar_latency,
            mem_latency_cycles: d.mem_latency,
            mem_bytes_per_cycle: d.mem_bytes_per_cycle,
        }
    }
}

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The RTL disagreed with the golden model: its cycles mean nothing.
    #[error("the RTL does not match the golden model on {label}: {failure}")]
    Mismatch { label: String, failure: String },
}

/// The assumptions printed with every report.
pub fn assumptions(source: CycleSource) -> Vec<String> {
    let mut a = vec![
        match source {
            CycleSource::Rtl => "Cycles are the RTL's CYCLES counter in Verilator, with no idle \
                                 cycles on the inputs and no back-pressure on the outputs; every \
                                 output word, keep vector, fetch and counter was checked against \
                                 the golden model."
                .to_string(),
            CycleSource::Model => "Cycles are MODELLED by the analytical cycle model \
                                   (src/golden/cycles.rs), not simulated."
                .to_string(),
        },
        "Each head runs its queries one after the other, starting with an empty buffer; \
         per-query figures are the run's totals over its queries."
            .to_string(),
        "The lower bound per query is the crossbar latency (pruning modes) plus the larger of \
         the kept keys' MAC-lane cycles (kept x 2 x head_dim / lanes) and the memory time of \
         the newly fetched rows (latency + bytes / bytes_per_cycle)."
            .to_string(),
        "Energy is dynamic energy only (no leakage); K and V are written to the ReRAM memory \
         the same way in every mode and that write is left out; crossbar programming (the key \
         MSBs, once per head) is charged to the pruning modes, spread over the run's queries."
            .to_string(),
        "Per-operation energies are 45 nm (Horowitz, ISSCC 2014) for the digital parts and the \
         paper's for the ReRAM; the paper's design is 65 nm at 1 GHz. The 8 KB SRAM figure is \
         used for the buffer whatever its size."
            .to_string(),
    ];
    a.push(
        "Speedup and energy reduction are ratios between the modes of one design on the same \
         queries, summed over the selected heads."
            .to_string(),
    );
    a
}

/// Measures `jobs` on `spec`. `on_step` hears each phase (building, ...);
/// `on_run` is called once per finished (head, mode), of which there are
/// `3 · jobs.len()`.
///
/// # Errors
/// Verilator missing or failing, files that cannot be written, or an RTL
/// run that does not match the golden model.
pub fn measure(
    spec: &Spec,
    trace: &str,
    jobs: &[HeadJob],
    opts: &MeasureOptions,
    on_step: &(dyn Fn(&str) + Sync),
    on_run: &(dyn Fn() + Sync),
) -> Result<Report, MeasureError> {
    let d = Derived::from_spec(spec);
    let energy = spec.energy();
    let tb = match opts.source {
        CycleSource::Rtl => Some(Testbench::build(
            spec,
            &opts.work_dir,
            SimBuild::Measuring,
            on_step,
        )?),
        CycleSource::Model => None,
    };
    on_step("simulating");
    let tasks: Vec<(usize, Mode)> = (0..jobs.len())
        .flat_map(|j| Mode::COMPARED.map(|m| (j, m)))
        .collect();
    let results: Vec<(HeadResult, Option<RunOutcome>)> = tasks
        .par_iter()
        .map(|&(j, mode)| {
            let run = &jobs[j].run;
            let out = match &tb {
                Some(tb) => {
                    let m = tb.measure(&d, run, &[mode])?;
                    if let Some(failure) = m.failure {
                        return Err(MeasureError::Mismatch {
                            label: format!("{}/{}", run.label, mode.label()),
                            failure,
                        });
                    }
                    let expected = m.expected.into_iter().next().expect("one mode");
                    (expected, m.outcomes.into_iter().next())
                }
                None => {
                    let cfg = RunConfig {
                        mode,
                        threshold: run.threshold,
                        scale: run.scale,
                    };
                    (golden::run_head(&d, &run.input, &cfg), None)
                }
            };
            on_run();
            Ok(out)
        })
        .collect::<Result<_, MeasureError>>()?;
    let heads: Vec<HeadReport> = jobs
        .iter()
        .enumerate()
        .map(|(j, job)| {
            let keys = job.run.input.k.len() as u64;
            let modes = (0..3)
                .map(|i| {
                    let (expected, rtl) = &results[3 * j + i];
                    perf::mode_report(
                        &d,
                        &energy,
                        keys,
                        &ModeRun {
                            mode: Mode::COMPARED[i],
                            expected,
                            rtl: rtl.as_ref(),
                        },
                    )
                })
                .collect();
            let sprint = &results[3 * j + 2].0;
            let mut head = perf::head_report(
                &job.run.label,
                job.layer,
                job.head,
                keys,
                job.run.threshold,
                modes,
            );
            head.selection = perf::selection(&job.probabilities, &sprint.queries, d.causal);
            head
        })
        .collect();
    let summary = perf::summarise(&heads);
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        generator_version: d.generator_version.clone(),
        spec: d.name.clone(),
        spec_hash: d.spec_hash.clone(),
        trace: trace.to_string(),
        cycle_source: opts.source,
        verilator: tb.map(|t| t.verilator_version),
        design: DesignSummary::of(&d),
        energy_constants: energy,
        paper: perf::compare_with_paper(&summary),
        summary,
        heads,
        assumptions: assumptions(opts.source),
        synthesis: None,
    })
}
