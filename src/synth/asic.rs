//! The ASIC flow: mapping to a standard-cell library with Yosys and
//! static timing with OpenSTA.
//!
//! The library is a Liberty file, by default the OSU 0.18 µm
//! `osu018_stdcells.lib` of Debian's `qflow-tech-osu018`, found with
//! [`find_liberty`] (an explicit path, else [`LIBERTY_ENV`]). Yosys maps
//! the design ([`yosys_script`]): generic `synth`, flip-flops with
//! `dfflibmap -liberty` (which legalises synchronous resets and enables
//! into logic around the library's plain and set/reset flip-flops), logic
//! with `abc -liberty` and an ABC script that also buffers high fan-out
//! nets, register outputs included, and sizes gates for the clock period
//! ([`abc_script`], with the constraints of [`abc_constraints`]). OpenSTA
//! then times the netlist against one clock on the `clk` port
//! ([`sta_script`]) and [`parse_sta`] reads the worst slack, TNS, WNS and
//! the critical path from its report.
//!
//! Yosys runs twice: [`coarse_script`] infers the memories and lists them,
//! then [`yosys_script`] maps the large ones onto SRAM macros whose views
//! the flow writes itself ([`super::sram`]: the OSU library has no memory
//! compiler, so their area and timing are assumptions), and the rest to
//! flip-flops and read multiplexers (`synth`'s `memory_map`).
//!
//! What the timing leaves out: no wire load model (the OSU library has
//! none) and no placement, so nets carry pin capacitance only; the clock
//! is ideal (no skew, no insertion delay); the corner is the library's
//! only one (typical, 1.8 V, 25 °C); ports are unconstrained, so only
//! register-to-register paths are timed. Fmax is therefore optimistic
//! against a placed and routed chip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::sram::MacroPlan;
use super::{ModuleArea, OutputError, SynthError};
use crate::spec::hex;
use crate::tools::{self, Finding, ToolError};

/// OpenSTA's command, and the Debian package that installs it.
pub const STA: &str = "sta";
pub const STA_PACKAGE: &str = "opensta";

/// Environment variable naming the Liberty file when `--liberty` is not
/// given.
pub const LIBERTY_ENV: &str = "SPRINT_RTL_ASIC_LIB";

/// How to get the OSU 0.18 µm library without its `qflow` dependency.
pub const LIBERTY_INSTALL: &str = "apt-get download qflow-tech-osu018 && \
     dpkg -x qflow-tech-osu018_*.deb DIR; the file is \
     DIR/usr/share/qflow/tech/osu018/osu018_stdcells.lib";

/// Why the cell library cannot be used.
#[derive(Debug, Error)]
pub enum LibraryError {
    /// Neither the option nor the environment variable names a file.
    #[error(
        "the asic target needs a Liberty cell library: pass --liberty FILE or set \
         {LIBERTY_ENV}=FILE (the OSU 0.18 um osu018_stdcells.lib: {LIBERTY_INSTALL})"
    )]
    NotGiven,
    /// The file cannot be read.
    #[error("Liberty library {path} ({from}): {source}")]
    Unreadable {
        path: String,
        /// Where the path came from: `--liberty` or the environment variable.
        from: &'static str,
        source: std::io::Error,
    },
    /// The file is not a Liberty library with cell areas.
    #[error("Liberty library {path}: {problem}")]
    NotLiberty { path: String, problem: String },
}

/// The Liberty file named by `explicit` (the `--liberty` option), else by
/// [`LIBERTY_ENV`].
///
/// Errors: [`LibraryError::NotGiven`] when neither names a file.
pub fn find_liberty(explicit: Option<&Path>) -> Result<(PathBuf, &'static str), LibraryError> {
    if let Some(p) = explicit {
        return Ok((p.to_path_buf(), "--liberty"));
    }
    match std::env::var_os(LIBERTY_ENV) {
        Some(p) if !p.is_empty() => Ok((PathBuf::from(p), LIBERTY_ENV)),
        _ => Err(LibraryError::NotGiven),
    }
}

/// A standard-cell library: its name, a hash of the file, and each cell's
/// area.
#[derive(Debug, Clone, PartialEq)]
pub struct Liberty {
    /// The file, made absolute (Yosys and OpenSTA run in the design folder).
    pub path: PathBuf,
    /// The name in `library (NAME)`.
    pub name: String,
    /// The first 12 hex digits of the file's SHA-256: baselines are per
    /// library file.
    pub sha256: String,
    /// Cell name to area, in the library's area unit (µm² for the OSU
    /// libraries: INVX1's 16 is its 1.6 µm × 10 µm footprint in the LEF).
    pub cell_areas: BTreeMap<String, f64>,
}

/// The load ABC assumes on each output of a module, fF: a few gate inputs
/// (an OSU 0.18 µm gate input is 10 to 30 fF).
pub const OUTPUT_LOAD_FF: f64 = 30.0;

impl Liberty {
    /// Reads `path`; `from` says where the path came from, for errors.
    ///
    /// Errors: [`LibraryError::Unreadable`] or, for a file without a
    /// `library (...)` group or without any cell with an `area`,
    /// [`LibraryError::NotLiberty`].
    pub fn load(path: &Path, from: &'static str) -> Result<Liberty, LibraryError> {
        let shown = path.display().to_string();
        let unreadable = |source| LibraryError::Unreadable {
            path: shown.clone(),
            from,
            source,
        };
        let bytes = std::fs::read(path).map_err(unreadable)?;
        let path = std::path::absolute(path).map_err(unreadable)?;
        let text = String::from_utf8_lossy(&bytes);
        let not_liberty = |problem: &str| LibraryError::NotLiberty {
            path: shown.clone(),
            problem: problem.into(),
        };
        let name = text
            .lines()
            .find_map(|l| group_name(l, "library"))
            .ok_or_else(|| not_liberty("no `library (NAME)` group"))?;
        let cell_areas = cell_areas(&text);
        if cell_areas.is_empty() {
            return Err(not_liberty("no `cell (NAME)` with an `area`"));
        }
        Ok(Liberty {
            path,
            name,
            sha256: hex(&Sha256::digest(&bytes))[..12].to_string(),
            cell_areas,
        })
    }

    /// `NAME (sha256 PREFIX)`, the line that identifies the library in a
    /// report's tools and in baseline keys.
    pub fn version_line(&self) -> String {
        format!("{} (sha256 {})", self.name, self.sha256)
    }

    /// The cell ABC assumes drives every input of the logic it maps (the
    /// module's ports and its flip-flops' outputs): the smallest cell
    /// whose name contains `inv` (OSU's `INVX1`), a weak driver like a
    /// flip-flop's output. `None` when the library has no such cell.
    pub fn input_driver(&self) -> Option<&str> {
        self.cell_areas
            .iter()
            .filter(|(name, _)| name.to_ascii_lowercase().contains("inv"))
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(name, _)| name.as_str())
    }
}

/// The file name of [`abc_constraints`] in the design folder.
pub const CONSTRAINTS: &str = "abc.constr";

/// The `-constr` file of `abc -liberty`: ABC's default is an ideal driver
/// on every input, so that a register output fanning out to thousands of
/// gates (a memory's read address in flip-flops) costs nothing and is
/// never buffered; with a real driving cell, ABC's `buffer` builds a tree.
pub fn abc_constraints(driver: &str) -> String {
    format!("set_driving_cell {driver}\nset_load {OUTPUT_LOAD_FF}\n")
}

/// `NAME` when `line` opens the group `keyword (NAME)`.
fn group_name(line: &str, keyword: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(keyword)?.trim_start();
    let inner = rest.strip_prefix('(')?;
    let (name, _) = inner.split_once(')')?;
    Some(name.trim().trim_matches('"').to_string()).filter(|n| !n.is_empty())
}

/// Each `cell (NAME)` with the first `area : X;` after it and before the
/// next cell.
fn cell_areas(text: &str) -> BTreeMap<String, f64> {
    let mut areas = BTreeMap::new();
    let mut cell: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = group_name(line, "cell") {
            cell = Some(name);
            continue;
        }
        let Some(value) = line.trim().strip_prefix("area") else {
            continue;
        };
        let value = value.trim_start().strip_prefix(':').map(|v| v.trim());
        let area = value.and_then(|v| v.trim_end_matches(';').trim().parse::<f64>().ok());
        if let (Some(name), Some(area)) = (cell.take(), area) {
            areas.insert(name, area);
        }
    }
    areas
}

/// The clock period of `freq_mhz`, ns.
pub fn period_ns(freq_mhz: f64) -> f64 {
    1000.0 / freq_mhz
}

/// The clock period of `freq_mhz`, whole picoseconds (ABC's delay unit).
pub fn period_ps(freq_mhz: f64) -> u64 {
    (1.0e6 / freq_mhz).round() as u64
}

/// Sets each block's area from the library's cell areas and the memory
/// macros' (`macro_areas`, by cell name), and returns an `UNMAPPED`
/// finding for every cell type neither has (a Yosys internal cell that no
/// pass mapped).
pub fn add_cell_areas(
    blocks: &mut [ModuleArea],
    lib: &Liberty,
    macro_areas: &BTreeMap<String, f64>,
) -> Vec<Finding> {
    let mut unmapped = Vec::new();
    for b in blocks.iter_mut() {
        let mut um2 = 0.0;
        for (ty, n) in &b.area.cells_by_type {
            match lib.cell_areas.get(ty).or_else(|| macro_areas.get(ty)) {
                Some(a) => um2 += a * *n as f64,
                None if !unmapped.contains(ty) => unmapped.push(ty.clone()),
                None => {}
            }
        }
        b.area.area_um2 = Some((um2 * 10.0).round() / 10.0);
    }
    unmapped
        .into_iter()
        .map(|ty| Finding {
            code: "UNMAPPED".into(),
            message: format!("cell type {ty} is not in the library {}", lib.name),
        })
        .collect()
}

/// Runs OpenSTA on `design_dir/netlist.v` (module `top`, with the
/// macros' Liberty file `macro_liberty` in `design_dir` if any) with a
/// clock of `freq_mhz` and reads its report; the script and OpenSTA's output are
/// kept in `work_dir` (`sta.tcl`, `sta.log`).
///
/// Errors: [`SynthError::Tool`] when OpenSTA cannot run or reports no
/// slack (its log's last lines say why), [`SynthError::Io`] when the
/// files cannot be written.
pub(crate) fn time(
    design_dir: &Path,
    work_dir: &Path,
    lib: &Liberty,
    macro_liberty: Option<&str>,
    top: &str,
    freq_mhz: f64,
) -> Result<StaReport, SynthError> {
    let period = period_ns(freq_mhz);
    let script_path = work_dir.join("sta.tcl");
    std::fs::write(
        &script_path,
        sta_script(&lib.path, macro_liberty, top, period),
    )
    .map_err(super::io(&script_path))?;
    let script = std::path::absolute(&script_path).map_err(super::io(&script_path))?;
    let out = tools::run(
        STA,
        Command::new(STA)
            .current_dir(design_dir)
            .arg("-no_splash")
            .arg("-exit")
            .arg(&script),
    )?;
    let log = tools::log_of(&out);
    let log_path = work_dir.join("sta.log");
    std::fs::write(&log_path, &log).map_err(super::io(&log_path))?;
    match parse_sta(&log, period, &lib.version_line()) {
        Ok(report) if out.status.success() => Ok(report),
        _ => Err(ToolError::Failed {
            tool: STA.into(),
            status: out.status.to_string(),
            log: super::tail(&log, 30),
        }
        .into()),
    }
}

/// The ABC script for `abc -liberty`: Yosys's own for a delay target
/// (`&nf -D`), followed by ABC's buffering of high fan-out nets and gate
/// sizing for that target (`buffer -p; upsize; dnsize`), which Yosys's
/// script leaves out. Without them a select line that fans out to every
/// bit of a memory's read multiplexer is driven by one minimum-size
/// inverter and dominates the timing. `period_ps` is the clock period,
/// picoseconds.
pub fn abc_script(period_ps: u64) -> String {
    let d = period_ps;
    [
        "strash",
        "&get -n",
        "&fraig -x",
        "&put",
        "scorr",
        "dc2",
        "dretime",
        "strash",
        "&get -n",
        "&dch -f",
        &format!("&nf -D {d}"),
        "&put",
        "buffer -p",
        &format!("upsize -D {d}"),
        &format!("dnsize -D {d}"),
        "stime -p",
    ]
    .join(";")
    .replace(' ', ",")
}

/// The file [`coarse_script`] lists the memories in (a Yosys `dump`).
pub const MEMORIES: &str = "memories.txt";

/// The design after coarse synthesis, in RTLIL, for [`yosys_script`].
pub const COARSE: &str = "coarse.il";

/// The log of [`coarse_script`] in the design folder.
pub const COARSE_LOG: &str = "yosys-coarse.log";

/// Yosys commands after `read_verilog` for the first ASIC pass: `synth`
/// up to its `fine` step (memories inferred as `$mem_v2` cells, not yet
/// mapped), the memories listed in [`MEMORIES`] and the design saved in
/// [`COARSE`].
pub fn coarse_script(top: &str) -> String {
    format!(
        "hierarchy -check -top {top}; proc; check -assert; \
         synth -top {top} -run :fine; \
         tee -q -o {MEMORIES} dump -m t:$mem_v2; \
         write_rtlil {COARSE}"
    )
}

/// Yosys commands of the second ASIC pass, from [`COARSE`]: the planned
/// memories mapped onto their macros, the rest of `synth`, then the
/// library's cells, ending with the hierarchical netlist in `hier.json`
/// (for the areas) and a structural Verilog netlist in `netlist.v` (for
/// OpenSTA: one net per bit, `splitnets`, because OpenSTA 2.0 does not
/// read concatenations on the left of an `assign`). `autoname` names each
/// cell after the net it drives, so that timing paths start and end at
/// registers with the RTL's names.
/// `constraints` is the file of [`abc_constraints`], relative to the
/// design folder, or `None` without an input driver.
pub fn yosys_script(
    top: &str,
    liberty: &Path,
    period_ps: u64,
    constraints: Option<&str>,
    macros: &MacroPlan,
) -> String {
    let lib = liberty.display();
    let constr = constraints.map_or(String::new(), |c| format!(" -constr {c}"));
    let map_macros = if macros.is_empty() {
        String::new()
    } else {
        macros.yosys_commands()
    };
    format!(
        "read_rtlil {COARSE}; read_liberty -lib \"{lib}\"; {map_macros}\
         synth -top {top} -run fine:; \
         dfflibmap -liberty \"{lib}\"; \
         abc -liberty \"{lib}\"{constr} -script +{abc}; \
         opt_clean -purge; autoname; check -assert; \
         write_json hier.json; \
         splitnets; opt_clean -purge; write_verilog -noattr -noexpr netlist.v",
        abc = abc_script(period_ps)
    )
}

/// The OpenSTA script: the library (and the macros' library
/// `macro_liberty`, relative to the design folder), the netlist of `top`,
/// one clock of `period_ns` on the `clk` port, then the worst setup path,
/// TNS, WNS and the worst slack, to 3 decimals (ns).
pub fn sta_script(
    liberty: &Path,
    macro_liberty: Option<&str>,
    top: &str,
    period_ns: f64,
) -> String {
    let macros = macro_liberty.map_or(String::new(), |m| format!("read_liberty {m}\n"));
    format!(
        "read_liberty {{{lib}}}\n\
         {macros}read_verilog netlist.v\n\
         link_design {top}\n\
         create_clock -name clk -period {period_ns} [get_ports clk]\n\
         report_checks -path_delay max -digits 3\n\
         report_tns -digits 3\n\
         report_wns -digits 3\n\
         report_worst_slack -digits 3\n",
        lib = liberty.display()
    )
}

/// The slowest register-to-register path OpenSTA found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaPath {
    /// The launching register's instance (hierarchical, `/`-separated:
    /// `u_engine/...`).
    pub startpoint: String,
    /// The capturing register's instance.
    pub endpoint: String,
    /// Data arrival time at the endpoint, ns (clock-to-Q and logic).
    pub arrival_ns: f64,
    /// The capturing register's setup time, ns.
    pub setup_ns: f64,
    /// Arrival plus setup: the shortest period this path allows, ns.
    pub delay_ns: f64,
    /// Cells along the path, the launching register included.
    pub cells: u32,
    /// The top-level instances the path's cells belong to, in path order,
    /// without repeats; `top` for cells of the synthesized module itself.
    pub blocks: Vec<String>,
}

/// What OpenSTA reports for one clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaReport {
    /// The library, as [`Liberty::version_line`].
    pub library: String,
    /// The clock period timed, ns.
    pub period_ns: f64,
    /// Worst setup slack, ns (negative when the period is missed).
    pub worst_slack_ns: f64,
    /// Total negative slack over the endpoints, ns (0 when met).
    pub tns_ns: f64,
    /// Worst negative slack, ns (0 when met).
    pub wns_ns: f64,
    /// `1000 / (period − worst slack)`, MHz: the clock the worst path
    /// allows with an ideal clock; `None` without a register-to-register
    /// path.
    pub fmax_mhz: Option<f64>,
    /// `None` when the design has no register-to-register path.
    pub critical_path: Option<StaPath>,
}

/// The instance of a top-level block an instance path belongs to:
/// `u_engine/x` gives `u_engine`, `g_core[0].u_core/u_engine/x` gives
/// `g_core[0].u_core`; the module's own cells give `top`.
fn block_of(instance: &str) -> String {
    match instance.split_once('/') {
        // `u_engine`, or a core in a generate block: `g_core[0].u_core`.
        Some((head, _)) if head.starts_with("u_") || head.contains(".u_") => head.to_string(),
        _ => "top".to_string(),
    }
}

/// The number after `prefix` on the first line that starts with it.
fn figure(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The first number on the first line ending with `suffix`.
fn column(text: &str, suffix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.trim_end().ends_with(suffix))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// The name after `prefix` (`Startpoint:`), up to its description in
/// parentheses.
fn point(text: &str, prefix: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(prefix))
        .map(|v| v.trim())
        .map(|v| v.rsplit_once(" (").map_or(v, |(name, _)| name).to_string())
}

/// Instances of the pins on the report's path lines (`DELAY TIME ^ PIN
/// (CELL)`), in order, without consecutive repeats; an instance is the
/// pin's path without its last component.
fn path_instances(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let [delay, time, edge, pin, cell] = words[..] else {
            continue;
        };
        let numbers = delay.parse::<f64>().is_ok() && time.parse::<f64>().is_ok();
        if !numbers || !matches!(edge, "^" | "v") || !cell.starts_with('(') {
            continue;
        }
        // The launching register appears twice, by its clock and its output.
        if let Some((instance, _)) = pin.rsplit_once('/')
            && out.last().is_none_or(|last: &String| last != instance)
        {
            out.push(instance.to_string());
        }
        if line.contains("data arrival time") {
            break;
        }
    }
    out
}

/// Reads the output of [`sta_script`] for a clock of `period_ns`.
///
/// # Errors
/// [`OutputError::Shape`] when the worst slack is missing (OpenSTA could
/// not link or time the design; `No paths found.` alone is not an error,
/// but gives no critical path).
pub fn parse_sta(text: &str, period_ns: f64, library: &str) -> Result<StaReport, OutputError> {
    const WHAT: &str = "OpenSTA report";
    let slack = figure(text, "worst slack")
        .ok_or_else(|| OutputError::shape(WHAT, "no `worst slack` line"))?;
    let tns = figure(text, "tns").unwrap_or(0.0);
    let wns = figure(text, "wns").unwrap_or(0.0);
    let critical_path = match (point(text, "Startpoint:"), point(text, "Endpoint:")) {
        (Some(startpoint), Some(endpoint)) => {
            let arrival_ns = column(text, "data arrival time").unwrap_or(0.0);
            let setup_ns = -column(text, "library setup time").unwrap_or(0.0);
            let instances = path_instances(text);
            let mut blocks: Vec<String> = Vec::new();
            for b in instances.iter().map(|i| block_of(i)) {
                if !blocks.contains(&b) {
                    blocks.push(b);
                }
            }
            Some(StaPath {
                startpoint,
                endpoint,
                arrival_ns,
                setup_ns,
                delay_ns: round3(arrival_ns + setup_ns),
                // The capturing register's D pin is listed, not counted.
                cells: instances.len().saturating_sub(1) as u32,
                blocks,
            })
        }
        _ => None,
    };
    Ok(StaReport {
        library: library.to_string(),
        period_ns,
        worst_slack_ns: slack,
        tns_ns: tns,
        wns_ns: wns,
        fmax_mhz: critical_path
            .as_ref()
            .map(|_| round3(1000.0 / (period_ns - slack))),
        critical_path,
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = r#"/* typ */
library(osu018_stdcells) {
  time_unit : "1ns";
cell (AND2X1) {
area : 32;
  pin(A) { direction : input; }
}
cell (INVX2) {
area : 24;
}
cell (INVX1) {
area : 16;
}
cell (DFFPOSX1) {
area : 96;
  ff (DS0000,P0002) { next_state : "D"; clocked_on : "CLK"; }
}
}
"#;

    #[test]
    fn library_name_and_cell_areas() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cells.lib");
        std::fs::write(&path, LIB).unwrap();
        let lib = Liberty::load(&path, "--liberty").unwrap();
        assert_eq!(lib.name, "osu018_stdcells");
        assert_eq!(lib.cell_areas["AND2X1"], 32.0);
        assert_eq!(lib.cell_areas["DFFPOSX1"], 96.0);
        assert_eq!(lib.sha256.len(), 12);
        assert_eq!(lib.input_driver(), Some("INVX1"), "the smallest inverter");
        assert!(lib.path.is_absolute());

        std::fs::write(&path, "module m; endmodule\n").unwrap();
        let e = Liberty::load(&path, "--liberty").unwrap_err().to_string();
        assert!(
            e.contains("cells.lib") && e.contains("library (NAME)"),
            "{e}"
        );
        let e = Liberty::load(&dir.path().join("none.lib"), LIBERTY_ENV)
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.lib") && e.contains(LIBERTY_ENV), "{e}");
    }

    const REPORT: &str = "\
Startpoint: u_engine/norm_q_DFFPOSX1_Q (rising edge-triggered flip-flop clocked by clk)
Endpoint: u_buffer/victim_q_DFFPOSX1_Q (rising edge-triggered flip-flop clocked by clk)
Path Group: clk
Path Type: max

   Delay     Time   Description
-----------------------------------------------------------
   0.000    0.000   clock clk (rise edge)
   0.000    0.000   clock network delay (ideal)
   0.000    0.000 ^ u_engine/norm_q_DFFPOSX1_Q/CLK (DFFPOSX1)
   0.130    0.130 ^ u_engine/norm_q_DFFPOSX1_Q/Q (DFFPOSX1)
   0.093    0.223 v u_engine/_1_/Y (NAND2X1)
   0.145    0.368 ^ u_buffer/_2_/Y (OAI21X1)
   0.000    0.368 ^ u_buffer/victim_q_DFFPOSX1_Q/D (DFFPOSX1)
            0.368   data arrival time

  10.000   10.000   clock clk (rise edge)
   0.000   10.000   clock network delay (ideal)
   0.000   10.000   clock reconvergence pessimism
           10.000 ^ u_buffer/victim_q_DFFPOSX1_Q/CLK (DFFPOSX1)
  -0.184    9.816   library setup time
            9.816   data required time
-----------------------------------------------------------
            9.816   data required time
           -0.368   data arrival time
-----------------------------------------------------------
            9.448   slack (MET)


tns 0.000
wns 0.000
worst slack 9.448
";

    #[test]
    fn slack_fmax_and_critical_path() {
        let r = parse_sta(REPORT, 10.0, "lib").unwrap();
        assert_eq!((r.worst_slack_ns, r.tns_ns, r.wns_ns), (9.448, 0.0, 0.0));
        assert_eq!(r.fmax_mhz, Some(1811.594));
        let p = r.critical_path.unwrap();
        assert_eq!(p.startpoint, "u_engine/norm_q_DFFPOSX1_Q");
        assert_eq!(p.endpoint, "u_buffer/victim_q_DFFPOSX1_Q");
        assert_eq!(
            (p.arrival_ns, p.setup_ns, p.delay_ns),
            (0.368, 0.184, 0.552)
        );
        assert_eq!(p.cells, 3, "the launching register and two gates");
        assert_eq!(p.blocks, ["u_engine", "u_buffer"]);
        assert_eq!(
            block_of("g_core[1].u_core/u_engine/x_q"),
            "g_core[1].u_core"
        );
        assert_eq!(block_of("state_q"), "top");
    }

    #[test]
    fn no_paths_and_no_slack() {
        let r = parse_sta(
            "No paths found.\ntns 0.000\nwns 0.000\nworst slack 1e+30\n",
            10.0,
            "l",
        )
        .unwrap();
        assert!(r.critical_path.is_none() && r.fmax_mhz.is_none());
        assert!(parse_sta("Error: module x not found.\n", 10.0, "l").is_err());
    }

    #[test]
    fn the_abc_script_buffers_and_sizes_for_the_period() {
        let s = abc_script(10_000);
        assert!(
            s.contains("&nf,-D,10000;&put;buffer,-p;upsize,-D,10000"),
            "{s}"
        );
        assert!(!s.contains(' '), "Yosys splits -script on spaces");
    }
}
