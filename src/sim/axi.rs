//! Co-simulation of the AXI top (`<name>_axi_top`) by an independent
//! client: cocotb and cocotbext-axi (PyPI) drive `<name>_axi_tb_harness` in
//! Icarus Verilog through bus models only (hw_tests/axi_tb.py), on the
//! stimulus files the golden model writes for the Verilator testbench.
//!
//! Per seed, one stimulus file: the four modes on verify's synthetic head,
//! or on each real head of [`VerifyOptions::trace_runs`]. The robustness
//! runs of the native testbench (reset mid-query, start while busy, ...)
//! are not repeated here: they exercise the native top, which the AXI top
//! wraps unchanged.
//!
//! The Python interpreter is `$SPRINT_RTL_COCOTB_PYTHON`, else `python3`; it
//! must import cocotb and cocotbext.axi (hw_tests/requirements-axi.txt).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;
use thiserror::Error;

use super::verify::{self, VerifyError, VerifyOptions, VerifyReport};
use crate::emit;
use crate::golden::{AxiDerived, Derived};
use crate::spec::Spec;
use crate::tools;

/// The cocotb testbench, embedded so `verify` works from any directory.
pub const AXI_TB_PY: &str = include_str!("../../hw_tests/axi_tb.py");
/// The pinned Python packages it needs.
pub const REQUIREMENTS: &str = include_str!("../../hw_tests/requirements-axi.txt");
/// Environment variable naming the Python interpreter with cocotb.
pub const PYTHON_ENV: &str = "SPRINT_RTL_COCOTB_PYTHON";

/// Why the Python side of the AXI co-simulation cannot run.
#[derive(Debug, Error)]
pub enum PythonError {
    #[error(
        "{python} ({source_of}) cannot import cocotb and cocotbext.axi:\n{log}\n\
         make an environment with them and point {PYTHON_ENV} at it:\n  \
         python3 -m venv .venv && .venv/bin/pip install -r hw_tests/requirements-axi.txt\n  \
         export {PYTHON_ENV}=$PWD/.venv/bin/python3"
    )]
    MissingPackages {
        python: String,
        source_of: String,
        log: String,
    },
}

/// The interpreter to use and where that choice came from.
fn python() -> (String, String) {
    match std::env::var(PYTHON_ENV) {
        Ok(p) if !p.is_empty() => (p, format!("named by {PYTHON_ENV}")),
        _ => (
            "python3".into(),
            format!("the default: {PYTHON_ENV} is not set"),
        ),
    }
}

/// Checks that the interpreter imports cocotb and cocotbext.axi; returns
/// `cocotb X, cocotbext-axi Y`.
///
/// # Errors
/// [`PythonError::MissingPackages`] naming the interpreter, its error and
/// the commands that make a working environment.
pub fn python_packages() -> Result<String, PythonError> {
    let (python, source_of) = python();
    let probe = "import cocotb, cocotbext.axi; \
                 print(f'cocotb {cocotb.__version__}, cocotbext-axi {cocotbext.axi.__version__}')";
    let out = Command::new(&python).args(["-c", probe]).output();
    match out {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => Err(PythonError::MissingPackages {
            python,
            source_of,
            log: String::from_utf8_lossy(&o.stderr).trim().to_string(),
        }),
        Err(e) => Err(PythonError::MissingPackages {
            python,
            source_of,
            log: e.to_string(),
        }),
    }
}

/// The AXI top's widths the testbench needs (its `--geometry` file).
pub fn geometry_json(d: &Derived) -> String {
    let a = AxiDerived::from_derived(d);
    let value = json!({
        "data_bytes": a.data_bytes,
        "row_beats": a.row_beats,
        "chunks": a.chunks,
        "q_chunk_bits": d.chunk_bits,
        "q_beat_bits": a.q_beat_bits,
        "out_chunk_bits": a.out_chunk_bits,
        "out_beat_bits": a.out_beat_bits,
        "out_bits": d.out_bits,
        "seq_len": d.seq_len,
    });
    serde_json::to_string_pretty(&value).expect("geometry serialises") + "\n"
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> VerifyError {
    let context = context.into();
    move |source| VerifyError::Io { context, source }
}

/// Generates `spec`, and co-simulates its AXI top under cocotb in Icarus
/// Verilog once per seed, checking every output row, fetch burst and
/// counter against the golden model. `progress` is told each step. The
/// report's simulator line names Icarus, cocotb and cocotbext-axi;
/// its runs have `keeps_checked` 0 (the crossbar port is internal to the
/// AXI harness) and `fetches_checked` the keys whose bursts were checked.
///
/// # Errors
/// A Python without cocotb or cocotbext-axi, Icarus Verilog missing (both
/// checked before anything is written), files
/// that cannot be written, a testbench that cannot start or whose output
/// cannot be read. A mismatch is the report's failure, not an error.
pub fn verify_axi(
    spec: &Spec,
    opts: &VerifyOptions,
    progress: &dyn Fn(&str),
) -> Result<VerifyReport, VerifyError> {
    let d = Derived::from_spec(spec);
    let packages = python_packages()?;
    let icarus = tools::require("iverilog", "iverilog")?;
    fs::create_dir_all(&opts.work_dir)
        .map_err(io(format!("creating {}", opts.work_dir.display())))?;
    let work = fs::canonicalize(&opts.work_dir).map_err(io("resolving the work folder"))?;
    progress("generating the design");
    let design_dir = work.join("design");
    verify::write_if_changed(&design_dir, &emit::render(spec).files)?;
    let tb_py = work.join("axi_tb.py");
    fs::write(&tb_py, AXI_TB_PY).map_err(io("writing axi_tb.py"))?;
    let geometry = work.join("axi_geometry.json");
    fs::write(&geometry, geometry_json(&d)).map_err(io("writing the geometry"))?;
    let mut report = VerifyReport {
        verilator_version: format!("{icarus}; {packages}"),
        runs: Vec::new(),
        failure: None,
    };
    let opts = VerifyOptions {
        robustness: false,
        ..opts.clone()
    };
    for &seed in &opts.seeds {
        progress(&format!("simulating seed {seed} under cocotb"));
        let (text, planned) = verify::plan_seed(&d, &opts, seed);
        let files = SeedFiles::new(&work, seed);
        fs::write(&files.stim, text).map_err(io("writing the stimulus"))?;
        let _ = fs::remove_file(&files.log);
        let out = Command::new(python().0)
            .current_dir(&work)
            .arg(&tb_py)
            .args(["--design".as_ref(), design_dir.as_os_str()])
            .args(["--top", &format!("{}_axi_tb_harness", d.name)])
            .args(["--stim".as_ref(), files.stim.as_os_str()])
            .args(["--log".as_ref(), files.log.as_os_str()])
            .args(["--geometry".as_ref(), geometry.as_os_str()])
            .args(["--build".as_ref(), work.join("axi_build").as_os_str()])
            .output()
            .map_err(io("running the cocotb testbench"))?;
        let console = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        fs::write(&files.console, &console).map_err(io("writing the console log"))?;
        let log = fs::read_to_string(&files.log).unwrap_or_default();
        let mut parsed = verify::parse_log(&log, &planned)?;
        let passed = log.lines().any(|l| l.starts_with("PASS"));
        if parsed.failure.is_none() && (!out.status.success() || !passed) {
            parsed.failure = Some(format!(
                "the cocotb testbench did not pass ({}); see {}:\n{}",
                out.status,
                files.console.display(),
                verify::tail(&console, 20)
            ));
        }
        for r in &mut parsed.runs {
            r.keeps_checked = 0;
        }
        report.runs.extend(parsed.runs);
        if parsed.failure.is_some() {
            report.failure = parsed.failure;
            break;
        }
    }
    Ok(report)
}

/// The files of one seed's simulation in the work folder.
struct SeedFiles {
    stim: PathBuf,
    log: PathBuf,
    console: PathBuf,
}

impl SeedFiles {
    fn new(work: &Path, seed: u64) -> SeedFiles {
        SeedFiles {
            stim: work.join(format!("axi_stim_seed{seed}.txt")),
            log: work.join(format!("axi_result_seed{seed}.txt")),
            console: work.join(format!("axi_console_seed{seed}.txt")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requirements_pin_cocotb_and_cocotbext_axi() {
        for package in ["cocotb==", "cocotbext-axi=="] {
            assert!(
                REQUIREMENTS.lines().any(|l| l.starts_with(package)),
                "{package}"
            );
        }
    }

    #[test]
    fn the_geometry_matches_the_axi_top() {
        let d = Derived::from_spec(&Spec::default_spec());
        let g: serde_json::Value = serde_json::from_str(&geometry_json(&d)).unwrap();
        assert_eq!(g["data_bytes"], 16);
        assert_eq!(g["row_beats"], 4);
        assert_eq!(g["chunks"], 8);
        assert_eq!(g["out_beat_bits"], 128);
    }
}
