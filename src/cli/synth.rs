//! `sprint-rtl synth`: synthesis (and place-and-route) tables.

use std::path::{Path, PathBuf};

use clap::Args;

use sprint_rtl::spec::Spec;
use sprint_rtl::synth::{self, Block, SynthOptions, SynthReport, Target, UnknownChoice, baseline};

use super::failure::{Failure, Outcome};

#[derive(Args)]
pub struct SynthArgs {
    /// Spec file (YAML); the embedded S configuration when omitted.
    pub spec: Option<PathBuf>,
    /// generic (Yosys gates, RAM macros), ice40 (UP5K), ecp5 (LFE5U-85F)
    /// or asic (a standard-cell library, timed by OpenSTA; memories of
    /// 2048 bits or more as SRAM macros with assumed area and timing).
    #[arg(long, default_value = "generic", value_parser = target)]
    pub target: Target,
    /// What to synthesize: top (the whole design), or engine, controller
    /// or buffer on its own, out of context (place-and-route on ecp5 only),
    /// or axi_system (the AXI top with the crossbar emulator: the FPGA
    /// system).
    #[arg(long, default_value = "top", value_parser = block)]
    pub block: Block,
    /// Frequency place-and-route aims for, MHz (1..=1000); on asic, the
    /// clock that mapping aims for and static timing checks.
    #[arg(long, default_value_t = 100.0, value_parser = super::args::mhz)]
    pub freq: f64,
    /// nextpnr's placer seed, for place-and-route (the baselines and the
    /// README's figures use 1).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Synthesis only, no place-and-route (on asic, no static timing).
    #[arg(long)]
    pub no_pnr: bool,
    /// asic: the Liberty cell library (default: the file named by
    /// SPRINT_RTL_ASIC_LIB), such as the OSU 0.18 um osu018_stdcells.lib
    /// of Debian's qflow-tech-osu018.
    #[arg(long)]
    pub liberty: Option<PathBuf>,
    /// Folder for the design, netlists and logs
    /// (default: target/sprint-rtl/<name>/synth-<target>, with `-<block>`
    /// appended for a block other than top).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Also write the report as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Compare with the committed baseline (synth/baseline.json, see
    /// `sprint_rtl::synth::baseline`) and list the figures outside their
    /// tolerance.
    #[arg(long)]
    pub compare_baseline: bool,
    /// Write this report's figures into the baseline file instead.
    #[arg(long, conflicts_with = "compare_baseline")]
    pub update_baseline: bool,
}

/// Why the options cannot be checked against (or written into) the
/// baseline: its FPGA figures come from place-and-route with seed 1 (the
/// seed means nothing to generic or ASIC synthesis), its ASIC figures
/// from static timing at 100 MHz (ABC maps for that clock).
fn baseline_conflict(args: &SynthArgs) -> Option<String> {
    let flag = if args.update_baseline {
        "--update-baseline"
    } else if args.compare_baseline {
        "--compare-baseline"
    } else {
        return None;
    };
    if args.target == Target::Ice40 && !args.block.is_top() {
        return Some(format!(
            "{flag}: ice40 baselines cover whole designs only (nextpnr-ice40 cannot place a block on its own)"
        ));
    }
    let places = args.target.device().is_some() && !args.no_pnr;
    if places && args.seed != 1 {
        return Some(format!(
            "{flag} needs --seed 1: the baselines are measured with seed 1"
        ));
    }
    if args.target != Target::Generic && args.no_pnr {
        let step = if args.target == Target::Asic {
            "static timing"
        } else {
            "place-and-route"
        };
        return Some(format!(
            "{flag} needs {step} on {}: its baseline figures include Fmax (drop --no-pnr)",
            args.target
        ));
    }
    if args.target == Target::Asic && args.freq != 100.0 {
        return Some(format!(
            "{flag} needs --freq 100 on asic: the baselines are mapped and timed at 100 MHz"
        ));
    }
    None
}

fn target(s: &str) -> Result<Target, UnknownChoice> {
    s.parse()
}

fn block(s: &str) -> Result<Block, UnknownChoice> {
    s.parse()
}

/// The spec name, and for a block other than top the block's module.
fn subject(spec: &str, block: Block) -> String {
    if block.is_top() {
        spec.to_string()
    } else {
        format!("{spec} block {block} ({})", block.module(spec))
    }
}

pub fn synth(spec: &Spec, args: &SynthArgs) -> Outcome {
    let work_dir = args.work_dir.clone().unwrap_or_else(|| {
        let folder = if args.block.is_top() {
            format!("synth-{}", args.target)
        } else {
            format!("synth-{}-{}", args.target, args.block)
        };
        Path::new("target")
            .join("sprint-rtl")
            .join(&spec.name)
            .join(folder)
    });
    let mut opts = SynthOptions::new(args.target, &work_dir);
    opts.block = args.block;
    opts.freq_mhz = args.freq;
    opts.seed = args.seed;
    opts.place_and_route = !args.no_pnr;
    opts.liberty = args.liberty.clone();
    opts.check()?;
    if let Some(e) = baseline_conflict(args) {
        return Err(Failure::input(e));
    }
    if let Some(path) = &args.json {
        sprint_rtl::files::check_file_writable(path)?;
    }
    eprintln!(
        "synthesizing {} for {} in {} (minutes for the 512-key designs)...",
        subject(&spec.name, args.block),
        args.target,
        work_dir.display()
    );
    let report = synth::run_with(spec, &opts)?;
    print_report(&report);
    if let Some(path) = &args.json {
        sprint_rtl::files::write_json(path, &report)?;
    }
    let path = Path::new(baseline::PATH);
    let mut clean = report.findings.is_empty();
    if args.update_baseline || args.compare_baseline {
        let mut base = baseline::Baseline::load(path)?;
        if args.update_baseline {
            base.update(&report);
            base.save(path)?;
            println!(
                "baseline: wrote {} on {} to {}",
                subject(&report.spec, report.block),
                report.target,
                path.display()
            );
        } else {
            match base.compare(&report) {
                Ok(devs) if devs.is_empty() => println!("baseline: every figure within tolerance"),
                Ok(devs) => {
                    clean = false;
                    for d in devs {
                        println!("baseline: {d}");
                    }
                }
                Err(e) => {
                    clean = false;
                    println!("baseline: {e}");
                }
            }
        }
    }
    if clean {
        Ok(())
    } else {
        Err(Failure::findings_printed())
    }
}

fn print_report(r: &SynthReport) {
    println!(
        "{} synthesized for {}{}",
        subject(&r.spec, r.block),
        r.target,
        r.target
            .device()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    );
    for t in &r.tools {
        println!("  {}: {}", t.tool, t.version);
    }
    let generic = r.target == Target::Generic;
    let asic = r.target == Target::Asic;
    if generic {
        println!(
            "{:<26} {:>9} {:>8} {:>5} {:>9}",
            "block", "cells", "FF", "RAMs", "RAM bits"
        );
    } else if asic {
        println!(
            "{:<26} {:>9} {:>8} {:>14}",
            "block", "cells", "FF", "area um^2"
        );
    } else {
        println!(
            "{:<26} {:>9} {:>8} {:>7} {:>8} {:>5} {:>5} {:>7}",
            "block", "cells", "LUT", "carry", "FF", "BRAM", "DSP", "LUTRAM"
        );
    }
    for b in &r.blocks {
        let name = format!("{}{}", "  ".repeat(b.depth as usize), b.module);
        let a = &b.area;
        if generic {
            println!(
                "{name:<26} {:>9} {:>8} {:>5} {:>9}",
                a.cells, a.ffs, a.memories, a.memory_bits
            );
        } else if asic {
            println!(
                "{name:<26} {:>9} {:>8} {:>14.1}",
                a.cells,
                a.ffs,
                a.area_um2.unwrap_or(0.0)
            );
        } else {
            println!(
                "{name:<26} {:>9} {:>8} {:>7} {:>8} {:>5} {:>5} {:>7}",
                a.cells, a.luts, a.carries, a.ffs, a.brams, a.dsps, a.lutrams
            );
        }
    }
    if let Some(top) = r.blocks.first() {
        let types: Vec<String> = top
            .area
            .cells_by_type
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        println!("cells by type: {}", types.join(", "));
    }
    print_macros(r);
    print_mapping(r);
    for f in &r.findings {
        println!("  {}: {}", f.code, f.message);
    }
    if let Some(s) = &r.sta {
        print_sta(s);
    }
    let Some(p) = &r.pnr else {
        return;
    };
    if !p.routed {
        println!(
            "place and route on {}: did not complete:\n  {}",
            p.device,
            p.failure.as_deref().unwrap_or("").replace('\n', "\n  ")
        );
        return;
    }
    if let Some(k) = &p.multiplier_registers {
        println!(
            "multiplier registers: {} flip-flops moved into the {} MULT18X18D blocks \
             ({} with registered operands, {} with a registered product)",
            k.flip_flops, k.multipliers, k.registered_inputs, k.registered_outputs
        );
    }
    match p.figures.fmax_mhz {
        Some(f) => println!(
            "place and route on {} (seed {}): Fmax {f:.2} MHz ({} at {} MHz)",
            p.device,
            p.seed,
            if f >= p.target_mhz { "meets" } else { "fails" },
            p.target_mhz
        ),
        None => println!(
            "place and route on {}: no clock constraint reported",
            p.device
        ),
    }
    if let Some(c) = &p.figures.critical_path {
        println!(
            "critical path: {:.2} ns ({:.2} logic, {:.2} routing) through {}",
            c.delay_ns,
            c.logic_ns,
            c.routing_ns,
            c.blocks.join(" -> ")
        );
        println!("  from {}", shorten(&c.from_cell));
        println!("  to   {}", shorten(&c.to_cell));
        if !c.sources.is_empty() {
            println!("  through {}", c.sources.join(", "));
        }
    }
    let used: Vec<String> = p
        .figures
        .utilisation
        .iter()
        .filter(|(_, u)| u.used > 0)
        .map(|(bel, u)| {
            format!(
                "{bel} {}/{} ({:.0}%)",
                u.used,
                u.available,
                100.0 * u.used as f64 / u.available.max(1) as f64
            )
        })
        .collect();
    println!("utilisation: {}", used.join(", "));
}

/// OpenSTA's figures: Fmax, slack and the critical path.
fn print_sta(s: &synth::StaReport) {
    let clock = 1000.0 / s.period_ns;
    println!(
        "static timing (OpenSTA; {}, typical corner, ideal clock, no wire load):",
        s.library
    );
    let Some(c) = &s.critical_path else {
        println!("  no register-to-register path");
        return;
    };
    let fmax = s.fmax_mhz.unwrap_or(0.0);
    println!(
        "  Fmax {fmax:.2} MHz ({} at {clock} MHz: worst slack {:.3} ns, TNS {:.3} ns)",
        if s.worst_slack_ns >= 0.0 {
            "meets"
        } else {
            "fails"
        },
        s.worst_slack_ns,
        s.tns_ns
    );
    println!(
        "critical path: {:.3} ns ({:.3} arrival, {:.3} setup), {} cells, through {}",
        c.delay_ns,
        c.arrival_ns,
        c.setup_ns,
        c.cells,
        c.blocks.join(" -> ")
    );
    println!("  from {}", shorten(&c.startpoint));
    println!("  to   {}", shorten(&c.endpoint));
}

/// The ASIC target's SRAM macros, whose area and timing are assumed.
fn print_macros(r: &SynthReport) {
    if r.memory_macros.is_empty() {
        return;
    }
    let list: Vec<String> = r
        .memory_macros
        .iter()
        .map(|m| format!("{} x{} ({:.1} um^2 each)", m.name, m.count, m.area_um2))
        .collect();
    println!(
        "SRAM macros (assumed area and timing; book: Synthesis, ASIC): {}",
        list.join(", ")
    );
}

/// Where the buffer's data and the MAC lanes went, for the parts of the
/// design the synthesized block contains.
fn print_mapping(r: &SynthReport) {
    let m = &r.mapping;
    let generic = r.target == Target::Generic;
    if r.block.contains("buffer") {
        let bytes = m.buffer_data_bits / 8;
        let where_ = match r.target {
            Target::Generic => format!("{} bits in RAM macros", m.buffer_memory_bits),
            Target::Asic => format!(
                "{} bits in SRAM macros, {} flip-flops in the buffer",
                m.buffer_memory_bits, m.buffer_ffs
            ),
            Target::Ice40 | Target::Ecp5 => format!(
                "{} block RAMs, {} distributed RAMs, {} flip-flops",
                m.buffer_brams, m.buffer_lutrams, m.buffer_ffs
            ),
        };
        println!(
            "buffer: {bytes} bytes of K/V rows {} ({where_})",
            if m.buffer_in_ram {
                "in RAM"
            } else if r.target == Target::Asic {
                "in flip-flops"
            } else {
                "NOT in RAM"
            }
        );
    }
    if !r.block.contains("engine") {
        return;
    }
    if generic {
        println!(
            "MAC lanes: {} (generic gates: no multiplier blocks)",
            m.lanes
        );
    } else if r.target == Target::Asic {
        println!(
            "MAC lanes: {} (standard cells: no multiplier blocks)",
            m.lanes
        );
    } else {
        println!(
            "MAC lanes on multiplier blocks: {} of {} ({} multiplier blocks in the engine)",
            m.lanes_on_multipliers, m.lanes, m.engine_multipliers
        );
    }
}

/// nextpnr's generated cell names run to kilobytes; the JSON report keeps
/// them whole.
fn shorten(name: &str) -> String {
    const MAX: usize = 100;
    match name.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &name[..i]),
        None => name.to_string(),
    }
}
