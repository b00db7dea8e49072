//! `sprint-rtl fuzz`: the options, the progress and the summary of
//! [`sprint_rtl::sim::fuzz`].

use std::path::PathBuf;

use clap::Args;

use sprint_rtl::sim::fuzz::{self, FuzzOptions, FuzzSummary};

use super::failure::{Failure, Outcome};

#[derive(Args)]
pub struct FuzzArgs {
    /// Random designs to draw.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    designs: u32,
    /// Index of the first design to draw (0-based): a long run splits into
    /// parts, `--first-design 0 --designs 100`, `--first-design 100
    /// --designs 100`, ..., that draw the designs of the whole.
    #[arg(long, default_value_t = 0, conflicts_with = "spec")]
    first_design: u32,
    /// Stimulus seeds per design.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    seeds: u32,
    /// Fuzz seed: design i is the same for the same seed. With --spec, the first stimulus seed.
    #[arg(long, default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=2_147_483_647))]
    seed: u64,
    /// Run this spec on --seeds consecutive seeds instead of random designs.
    #[arg(long, value_name = "SPEC")]
    spec: Option<PathBuf>,
    /// Queries per head with --spec, 1..=seq_len (default: min(seq_len, 32)).
    #[arg(long, requires = "spec", value_parser = clap::value_parser!(u32).range(1..))]
    queries: Option<u32>,
    /// Most shrink candidates tried per failing design (each a rebuild).
    #[arg(long, default_value_t = 40)]
    shrink_tries: u32,
    /// Small designs only (seq_len <= 48, head_dim <= 16, <= 2 cores, <= 16 slots a core):
    /// a quick slice.
    #[arg(long, conflicts_with = "spec")]
    small: bool,
    /// Keep every design's generated files and Verilator build, not only failing ones'.
    #[arg(long)]
    keep_work: bool,
    /// Folder for the specs, reproducers and fuzz.json.
    #[arg(short, long, default_value = "target/sprint-rtl/fuzz")]
    output: PathBuf,
}

/// Runs `fuzz`: exit 0 when every design passed, 1 when one failed, 2 for
/// a bad spec or a missing tool.
pub fn fuzz(args: &FuzzArgs) -> Outcome {
    let spec = match &args.spec {
        None => None,
        Some(path) => Some(super::load_spec(Some(path))?),
    };
    if let (Some(s), Some(q)) = (&spec, args.queries)
        && q > s.attention.seq_len
    {
        return Err(Failure::input(format!(
            "--queries {q} is more than the spec's attention.seq_len = {}",
            s.attention.seq_len
        )));
    }
    let mut opts = FuzzOptions::new(&args.output);
    opts.designs = args.designs;
    opts.first_design = args.first_design;
    opts.seeds = args.seeds;
    opts.seed = args.seed;
    opts.spec = spec;
    opts.queries = args.queries;
    opts.shrink_tries = args.shrink_tries;
    opts.keep_work = args.keep_work;
    if args.small {
        opts.size = fuzz::space::Size::Small;
    }
    let bar = super::spinner();
    let simulated = std::cell::Cell::new(0u64);
    let progress = |step: &str| {
        bar.set_message(step.to_string());
        if step.contains(": simulating seed") {
            // Without a terminal (a log), every 50th seed shows that a long
            // run moves, without a line per seed.
            simulated.set(simulated.get() + 1);
            if !bar.is_hidden() || !simulated.get().is_multiple_of(50) {
                return;
            }
        }
        if bar.is_hidden() {
            eprintln!("  {step}");
        } else {
            bar.println(format!("  {step}"));
        }
    };
    let result = fuzz::fuzz(&opts, &progress);
    bar.finish_and_clear();
    let summary = result?;
    print_summary(&summary, &args.output);
    if summary.passed() {
        Ok(())
    } else {
        Err(Failure::findings_printed())
    }
}

fn print_summary(s: &FuzzSummary, out: &std::path::Path) {
    for r in &s.records {
        if let Some(f) = &r.failure {
            let repro = &f.reproducer;
            println!("FAIL {} ({:?}): {}", r.name, f.stage, f.message);
            println!(
                "  shrunk in {} tries to seq_len {}, head_dim {}, {} lane(s), {} core(s), {} \
                 quer(ies): {}",
                repro.tries,
                repro.seq_len,
                repro.head_dim,
                repro.lanes,
                repro.cores,
                repro.queries,
                repro.message
            );
            println!("  replay: {}", repro.command);
        }
    }
    let from = match s.first_design {
        0 => String::new(),
        k => format!(" (from design {})", k + 1),
    };
    println!(
        "{} design(s){from} x {} seed(s), fuzz seed {}: {} runs checked, {} failing design(s), \
         {:.0} s ({})",
        s.designs, s.seeds_per_design, s.seed, s.runs, s.failures, s.seconds, s.verilator
    );
    println!("summary: {}", out.join("fuzz.json").display());
}
