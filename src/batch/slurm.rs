//! A jobs folder as a Slurm job array: the `sweep.sbatch` script and its
//! submission with `sbatch`.
//!
//! Array task k runs line k+1 of `jobs.txt` and writes its output to
//! `logs/<k>.out`; the tasks share nothing but the file system, so they may
//! run on any nodes that see the jobs folder, the trace and the program
//! at the same paths. Slurm refuses arrays longer than its `MaxArraySize`
//! (1001 tasks by default): split a larger sweep.

use std::process::Command;

use thiserror::Error;

use super::{JobsDir, Plan};
use crate::tools::ToolError;

/// Why a submission failed.
#[derive(Debug, Error)]
pub enum SlurmError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("sbatch printed no job id: `{0}`")]
    NoJobId(String),
}

/// The `sweep.sbatch` job array script of a plan written into `jobs`.
pub fn script(jobs: &JobsDir, plan: &Plan) -> String {
    let root = jobs.root.display();
    let last = plan.points.len().saturating_sub(1);
    let axes: Vec<String> = plan
        .sweep
        .axes
        .iter()
        .map(|a| {
            let values: Vec<String> = a.values.iter().map(i64::to_string).collect();
            format!("{}={}", a.param.name(), values.join(","))
        })
        .collect();
    format!(
        "#!/bin/sh\n\
         # sprint-rtl {version}: sweep of {spec} over {axes}, {n} points,\n\
         # one array task each: task K runs line K+1 of jobs.txt, which writes\n\
         # points/K/result.json (or points/K/error.txt).\n\
         # Submit: sbatch [options] {root}/sweep.sbatch\n\
         # Then:   sprint-rtl sweep-collect {root}\n\
         #SBATCH --job-name=sprint-rtl-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --output={root}/logs/%a.out\n\
         set -eu\n\
         line=$(sed -n \"$((SLURM_ARRAY_TASK_ID + 1))p\" {root}/jobs.txt)\n\
         exec sh -c \"$line\"\n",
        version = plan.generator_version,
        spec = plan.sweep.spec,
        axes = axes.join(" "),
        n = plan.points.len(),
    )
}

/// Submits the job array of `jobs` with `sbatch --parsable`, the
/// `extra` options (e.g. `--partition=cpu`, `--time=1:00:00`) before the
/// script; returns the job id.
///
/// # Errors
/// [`ToolError::Missing`] when sbatch is not installed,
/// [`ToolError::Failed`] with its output when it refuses the job (or finds
/// no Slurm configuration: `/etc/slurm/slurm.conf` or `SLURM_CONF`).
pub fn submit(jobs: &JobsDir, extra: &[String]) -> Result<String, SlurmError> {
    // Not `tools::require`: sbatch fails without a configuration even for
    // `--version`, and that is a failure to report, not a missing tool.
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(extra)
        .arg(jobs.sbatch())
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ToolError::Missing {
                tool: "sbatch".into(),
                install: "apt-get install -y slurm-client".into(),
            },
            _ => ToolError::Io {
                tool: "sbatch".into(),
                source,
            },
        })?;
    if !out.status.success() {
        return Err(ToolError::Failed {
            tool: "sbatch".into(),
            status: out.status.to_string(),
            log: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    job_id(&text).ok_or_else(|| SlurmError::NoJobId(text.trim().to_string()))
}

/// The job id of `sbatch --parsable`'s output: `<id>` or `<id>;<cluster>`.
fn job_id(parsable: &str) -> Option<String> {
    let id = parsable.trim().split(';').next()?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_of_sbatch_parsable() {
        assert_eq!(job_id("1234\n").as_deref(), Some("1234"));
        assert_eq!(job_id("77;cluster\n").as_deref(), Some("77"));
        assert_eq!(job_id("Submitted batch job 5\n"), None);
        assert_eq!(job_id(""), None);
    }
}
