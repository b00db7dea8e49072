//! A jobs folder as a Slurm job array: the `sweep.sbatch` script and its
//! submission with `sbatch`.
//!
//! Array task k runs line k+1 of `jobs.txt` and writes its output to
//! `logs/<k>.out`; the tasks share nothing but the file system, so they may
//! run on any nodes that see the jobs folder, the trace and the program
//! at the same paths. Slurm refuses an array longer than its
//! `MaxArraySize` (1001 tasks by default), so [`submit`] sends a larger
//! sweep as several arrays, each told its first point by
//! `SPRINT_RTL_ARRAY_OFFSET`.

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
    #[error(
        "job arrays {} were submitted, but the part from point {first} on was not: {source}",
        submitted.join(", ")
    )]
    Partial {
        submitted: Vec<String>,
        first: usize,
        source: Box<SlurmError>,
    },
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
         # one array task each: point K = task id + SPRINT_RTL_ARRAY_OFFSET (0 if\n\
         # unset) runs line K+1 of jobs.txt, which writes points/K/result.json\n\
         # (or points/K/error.txt); its output goes to logs/K.out.\n\
         # Submit: sbatch [options] {root}/sweep.sbatch, or over Slurm's MaxArraySize\n\
         # in parts: sbatch --array=0-M --export=ALL,SPRINT_RTL_ARRAY_OFFSET=S ...\n\
         # Then:   sprint-rtl sweep-collect {root}\n\
         #SBATCH --job-name=sprint-rtl-sweep\n\
         #SBATCH --array=0-{last}\n\
         #SBATCH --output=/dev/null\n\
         set -eu\n\
         k=$((SLURM_ARRAY_TASK_ID + ${{SPRINT_RTL_ARRAY_OFFSET:-0}}))\n\
         exec >{root}/logs/$k.out 2>&1\n\
         line=$(sed -n \"$((k + 1))p\" {root}/jobs.txt)\n\
         exec sh -c \"$line\"\n",
        version = plan.generator_version,
        spec = plan.sweep.spec,
        axes = axes.join(" "),
        n = plan.points.len(),
    )
}

/// The parts a job array of `points` tasks is submitted in when Slurm
/// allows at most `max` tasks an array: (first point, tasks), in order.
fn parts(points: usize, max: usize) -> Vec<(usize, usize)> {
    let max = max.max(1);
    (0..points)
        .step_by(max)
        .map(|start| (start, max.min(points - start)))
        .collect()
}

/// Slurm's `MaxArraySize` as `scontrol show config` prints it, or its
/// default of 1001 when that cannot be read.
fn max_array_size() -> usize {
    const DEFAULT: usize = 1001;
    let Ok(out) = Command::new("scontrol").args(["show", "config"]).output() else {
        return DEFAULT;
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "MaxArraySize").then(|| value.trim().parse().ok())?
        })
        .unwrap_or(DEFAULT)
}

/// Submits the job array of `jobs` with `sbatch --parsable`, the
/// `extra` options (e.g. `--partition=cpu`, `--time=1:00:00`) before the
/// script; returns the job ids, one an array: more than one when the sweep
/// has more points than Slurm's `MaxArraySize` allows an array.
///
/// # Errors
/// [`ToolError::Missing`] when sbatch is not installed,
/// [`ToolError::Failed`] with its output when it refuses the job (or finds
/// no Slurm configuration: `/etc/slurm/slurm.conf` or `SLURM_CONF`). Parts
/// submitted before a refusal stay submitted; the error says which.
pub fn submit(jobs: &JobsDir, points: usize, extra: &[String]) -> Result<Vec<String>, SlurmError> {
    let parts = parts(points, max_array_size());
    let mut ids = Vec::new();
    for (start, tasks) in parts {
        let array = format!("--array=0-{}", tasks - 1);
        let offset = format!("--export=ALL,SPRINT_RTL_ARRAY_OFFSET={start}");
        match sbatch(jobs, &[array, offset], extra) {
            Ok(id) => ids.push(id),
            Err(e) if ids.is_empty() => return Err(e),
            Err(e) => {
                return Err(SlurmError::Partial {
                    submitted: ids,
                    first: start,
                    source: Box::new(e),
                });
            }
        }
    }
    Ok(ids)
}

/// One `sbatch --parsable` of the jobs folder's script: its job id.
fn sbatch(jobs: &JobsDir, array: &[String], extra: &[String]) -> Result<String, SlurmError> {
    // Not `tools::require`: sbatch fails without a configuration even for
    // `--version`, and that is a failure to report, not a missing tool.
    let out = Command::new("sbatch")
        .arg("--parsable")
        .args(array)
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
    fn arrays_longer_than_slurm_allows_are_split() {
        assert_eq!(parts(4, 1001), vec![(0, 4)]);
        assert_eq!(parts(4, 3), vec![(0, 3), (3, 1)]);
        assert_eq!(parts(2002, 1001), vec![(0, 1001), (1001, 1001)]);
        assert_eq!(parts(0, 3), vec![]);
    }

    #[test]
    fn job_ids_of_sbatch_parsable() {
        assert_eq!(job_id("1234\n").as_deref(), Some("1234"));
        assert_eq!(job_id("77;cluster\n").as_deref(), Some("77"));
        assert_eq!(job_id("Submitted batch job 5\n"), None);
        assert_eq!(job_id(""), None);
    }
}
