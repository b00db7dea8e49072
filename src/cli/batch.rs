//! `sweep-point` and `sweep-collect`: one job of a sweep's jobs folder, and
//! the report of the finished jobs (see [`sprint_rtl::batch`]).

use std::path::PathBuf;

use clap::Args;

use sprint_rtl::batch::{self, Collected, PointState};

use super::failure::{Failure, Outcome};
use super::report::write_sweep;

#[derive(Args)]
pub struct SweepPointArgs {
    /// The jobs folder `sweep --jobs-dir` wrote.
    pub dir: PathBuf,
    /// The point: its line in jobs.txt, counted from 0.
    pub index: usize,
}

#[derive(Args)]
pub struct SweepCollectArgs {
    /// The jobs folder `sweep --jobs-dir` wrote.
    pub dir: PathBuf,
    /// Output folder of the report (default: DIR/report).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// `sprint-rtl sweep-point`: exit 0 with points/<k>/result.json written, 2
/// (as `sweep`) when the point failed, with its error in points/<k>/error.txt
/// when the plan could be read.
pub fn sweep_point(args: &SweepPointArgs) -> Outcome {
    let p = batch::run_point(&args.dir, args.index, &|| {})?;
    println!("point {} ({}): {:.1} s", args.index, p.label, p.seconds);
    Ok(())
}

/// `sprint-rtl sweep-collect`: the report of a finished jobs folder, as
/// `sweep` writes it; exit 1 naming every point without a result and the
/// command that reruns it.
pub fn sweep_collect(args: &SweepCollectArgs) -> Outcome {
    match batch::collect(&args.dir)? {
        Collected::Complete(sweep) => {
            let dir = args
                .output
                .clone()
                .unwrap_or_else(|| args.dir.join("report"));
            write_sweep(&sweep, &dir)
        }
        Collected::Incomplete(unfinished) => {
            eprintln!(
                "error: {} point(s) of {} have no result:",
                unfinished.len(),
                args.dir.display()
            );
            for u in &unfinished {
                let why = match &u.state {
                    PointState::Missing => "missing (not run, still running, or killed: \
                                            see its log logs/<k>.out under Slurm)"
                        .replace("<k>", &u.index.to_string()),
                    PointState::Failed(message) => format!("failed: {message}"),
                    PointState::BadResult(message) => format!("unusable result: {message}"),
                };
                eprintln!("  point {} ({}): {why}", u.index, u.label);
                eprintln!("    rerun: {}", u.rerun);
            }
            Err(Failure::findings_printed())
        }
    }
}
