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
    let bench = AxiBench::prepare(spec, &opts.work_dir, progress)?;
    let mut report = VerifyReport {
        verilator_version: bench.versions.clone(),
        runs: Vec::new(),
        failure: None,
        waves: None,
    };
    let opts = VerifyOptions {
        robustness: false,
        ..opts.clone()
    };
    for &seed in &opts.seeds {
        progress(&format!("simulating seed {seed} under cocotb"));
        let (text, planned) = verify::plan_seed(&d, &opts, seed);
        let parsed = bench.run(&format!("seed{seed}"), &text, &planned)?;
        report.runs.extend(parsed.runs);
        if parsed.failure.is_some() {
            report.failure = parsed.failure;
            break;
        }
    }
    Ok(report)
}

/// A generated design ready for the cocotb testbench, in its work folder.
struct AxiBench {
    /// Icarus's version line, then cocotb's and cocotbext-axi's.
    versions: String,
    /// The work folder (absolute): `design/`, `axi_build/`, the testbench,
    /// the geometry, and per run its stimulus, result and console files.
    work: PathBuf,
    top: String,
}

impl AxiBench {
    /// Checks the Python packages and Icarus, then writes the design, the
    /// testbench and its geometry into `work_dir`.
    fn prepare(
        spec: &Spec,
        work_dir: &Path,
        progress: &dyn Fn(&str),
    ) -> Result<AxiBench, VerifyError> {
        let d = Derived::from_spec(spec);
        let packages = python_packages()?;
        let icarus = tools::require("iverilog", "iverilog")?;
        fs::create_dir_all(work_dir).map_err(io(format!("creating {}", work_dir.display())))?;
        let work = fs::canonicalize(work_dir).map_err(io("resolving the work folder"))?;
        progress("generating the design");
        verify::write_if_changed(&work.join("design"), &emit::render(spec).files)?;
        fs::write(work.join("axi_tb.py"), AXI_TB_PY).map_err(io("writing axi_tb.py"))?;
        fs::write(work.join("axi_geometry.json"), geometry_json(&d))
            .map_err(io("writing the geometry"))?;
        Ok(AxiBench {
            versions: format!("{icarus}; {packages}"),
            work,
            top: format!("{}_axi_tb_harness", d.name),
        })
    }

    /// Runs one stimulus file (`axi_stim_<name>.txt`) and reads back the
    /// outcome of its planned runs. A testbench that exits without `PASS`
    /// is a failure even when no line says why (its console is kept in
    /// `axi_console_<name>.txt`).
    fn run(
        &self,
        name: &str,
        text: &str,
        planned: &[verify::Planned],
    ) -> Result<verify::Parsed, VerifyError> {
        let files = RunFiles::new(&self.work, name);
        fs::write(&files.stim, text).map_err(io("writing the stimulus"))?;
        let _ = fs::remove_file(&files.log);
        let w = &self.work;
        let out = Command::new(python().0)
            .current_dir(w)
            .arg(w.join("axi_tb.py"))
            .args(["--design".as_ref(), w.join("design").as_os_str()])
            .args(["--top", &self.top])
            .args(["--stim".as_ref(), files.stim.as_os_str()])
            .args(["--log".as_ref(), files.log.as_os_str()])
            .args([
                "--geometry".as_ref(),
                w.join("axi_geometry.json").as_os_str(),
            ])
            .args(["--build".as_ref(), w.join("axi_build").as_os_str()])
            .output()
            .map_err(io("running the cocotb testbench"))?;
        let console = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        fs::write(&files.console, &console).map_err(io("writing the console log"))?;
        let log = fs::read_to_string(&files.log).unwrap_or_default();
        let mut parsed = verify::parse_log(&log, planned)?;
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
        Ok(parsed)
    }
}

/// The files of one run in the work folder.
struct RunFiles {
    stim: PathBuf,
    log: PathBuf,
    console: PathBuf,
}

impl RunFiles {
    fn new(work: &Path, name: &str) -> RunFiles {
        RunFiles {
            stim: work.join(format!("axi_stim_{name}.txt")),
            log: work.join(format!("axi_result_{name}.txt")),
            console: work.join(format!("axi_console_{name}.txt")),
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

    /// The testbench's checks can fail: a stimulus whose expected output
    /// row, or whose expected fetch, is wrong by one bit or one key fails
    /// with the mismatch named; a query row with TLAST on its first beat as
    /// well (tiny's rows are 4 beats) is still read as one row (no output
    /// differs), and sets AXI_STATUS bit 1, which the run's end check
    /// reports; a read beat answered SLVERR (with its data intact) sets
    /// AXI_STATUS bit 0.
    #[test]
    #[ignore = "needs Icarus Verilog and cocotb (SPRINT_RTL_COCOTB_PYTHON)"]
    fn a_wrong_row_or_fetch_fails() {
        let spec = Spec::parse("specs/tiny.yaml", include_str!("../../specs/tiny.yaml")).unwrap();
        let d = Derived::from_spec(&spec);
        let work = tempfile::tempdir().unwrap();
        let bench = AxiBench::prepare(&spec, work.path(), &|_| {}).unwrap();
        let mut opts = VerifyOptions::for_spec(&spec);
        opts.queries = Some(2);
        let (text, planned) = verify::plan_seed(&d, &opts, 1);
        let replace_first = |find: &str, replace: &str| {
            let at = text
                .find(find)
                .unwrap_or_else(|| panic!("{find:?} in the stimulus"));
            format!("{}{replace}{}", &text[..at], &text[at + find.len()..])
        };
        // The first run's last query: its beats are taken after the run's
        // start, which clears AXI_STATUS.
        let first_query_end = {
            let run = text.find("\nrun ").expect("a run in the stimulus");
            let start = text[..run].rfind("\nquery ").expect("a query before it") + 1;
            start + text[start..].find('\n').expect("a whole line")
        };
        let tlast_on_beat_0 = format!("{} 0{}", &text[..first_query_end], &text[first_query_end..]);
        // The third R beat of the first run answers SLVERR.
        let slverr = replace_first("\nrun ", "\nslverr 2\nrun ");
        for (bad, says) in [
            (replace_first("expect 1 ", "expect 1 f"), "MISMATCH output"),
            (
                replace_first("fetch 0 0\n", "fetch 0 1\n"),
                "MISMATCH fetch",
            ),
            (tlast_on_beat_0, "name=axi_status expected=0 got=2"),
            (slverr, "name=axi_status expected=0 got=1"),
        ] {
            let parsed = bench.run("corrupted", &bad, &planned).unwrap();
            let failure = parsed.failure.unwrap_or_default();
            assert!(failure.contains(says), "{says}: {failure}");
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
