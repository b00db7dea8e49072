//! Committed synthesis figures of the shipped specs, per target, block
//! and tool versions, with a relative tolerance per metric
//! (`synth/baseline.json`).
//!
//! A change that moves a figure outside its tolerance must update the
//! baseline with it; the hardware tests compare every fresh
//! [`SynthReport`] with its entry and rewrite the entry when
//! [`UPDATE_ENV`] is 1.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Block, SynthReport, Target};
use crate::files::{self, FileError};

/// Set to 1 to rewrite the baseline entries of the reports a test makes.
pub const UPDATE_ENV: &str = "SPRINT_RTL_UPDATE_SYNTH_BASELINE";

/// The baseline file, relative to the repository root.
pub const PATH: &str = "synth/baseline.json";

/// The figures of one spec on one target with one set of tools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub spec: String,
    pub target: Target,
    /// The block synthesized on its own; absent for the whole design.
    #[serde(default, skip_serializing_if = "Block::is_top")]
    pub block: Block,
    /// The version line of every tool that made the figures.
    pub tools: Vec<String>,
    /// Metric name to value (see [`metrics`]).
    pub metrics: BTreeMap<String, f64>,
}

/// A report with no baseline entry for its spec, target, block and tools
/// (a new design, or a tool version the baseline was not made with).
#[derive(Debug, thiserror::Error)]
#[error(
    "no baseline for {subject} on {target} with {tools:?}; add one with `sprint-rtl synth \
     --update-baseline` (or {UPDATE_ENV}=1 under `cargo test`)"
)]
pub struct NoEntry {
    /// The spec, and the block when not the whole design.
    pub subject: String,
    pub target: Target,
    /// The tools' version lines.
    pub tools: Vec<String>,
}

/// All entries and the tolerances.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// Metric name to allowed relative deviation (0.05 is 5 %; 0 is exact).
    /// A metric without a tolerance must match exactly.
    pub tolerances: BTreeMap<String, f64>,
    pub entries: Vec<Entry>,
}

/// A metric outside its tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Deviation {
    pub metric: String,
    pub baseline: Option<f64>,
    pub now: Option<f64>,
    pub tolerance: f64,
}

impl std::fmt::Display for Deviation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: Option<f64>| v.map_or("absent".to_string(), |v| format!("{v}"));
        write!(
            f,
            "{}: baseline {}, now {} (tolerance {} %)",
            self.metric,
            show(self.baseline),
            show(self.now),
            100.0 * self.tolerance
        )
    }
}

/// The figures a baseline keeps: totals of the synthesized block's top
/// module (`cells`, `ffs`, and per target `luts`, `carries`, `brams`,
/// `dsps`, `lutrams`, `memories`, `memory_bits`, `area_um2`; on the ASIC
/// target `memories` and `memory_bits` only with SRAM macros), each
/// submodule's cells (`engine.cells`, ...) and on the ASIC target its
/// area (`engine.area_um2`, ...), the mapping (`buffer_in_ram` 0/1 when
/// the block contains the buffer, `lanes_on_multipliers` when it contains
/// the engine) and, when routed or timed, `fmax_mhz`.
pub fn metrics(report: &SynthReport) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    if let Some(top) = report.blocks.first() {
        let a = &top.area;
        m.insert("cells".into(), a.cells as f64);
        m.insert("ffs".into(), a.ffs as f64);
        match report.target {
            Target::Generic => {
                m.insert("memories".into(), a.memories as f64);
                m.insert("memory_bits".into(), a.memory_bits as f64);
            }
            Target::Ice40 | Target::Ecp5 => {
                m.insert("luts".into(), a.luts as f64);
                m.insert("carries".into(), a.carries as f64);
                m.insert("brams".into(), a.brams as f64);
                m.insert("dsps".into(), a.dsps as f64);
                m.insert("lutrams".into(), a.lutrams as f64);
            }
            Target::Asic => {
                if let Some(um2) = a.area_um2 {
                    m.insert("area_um2".into(), um2);
                }
                // SRAM macros, when some memory became one.
                if a.memories > 0 {
                    m.insert("memories".into(), a.memories as f64);
                    m.insert("memory_bits".into(), a.memory_bits as f64);
                }
            }
        }
    }
    let prefix = format!("{}_", report.spec);
    for b in report.blocks.iter().skip(1) {
        let block = b.module.strip_prefix(&prefix).unwrap_or(&b.module);
        m.insert(format!("{block}.cells"), b.area.cells as f64);
        if let Some(um2) = b.area.area_um2 {
            m.insert(format!("{block}.area_um2"), um2);
        }
    }
    if report.block.contains("buffer") {
        m.insert(
            "buffer_in_ram".into(),
            f64::from(u8::from(report.mapping.buffer_in_ram)),
        );
    }
    if report.block.contains("engine") {
        m.insert(
            "lanes_on_multipliers".into(),
            f64::from(report.mapping.lanes_on_multipliers),
        );
    }
    if let Some(f) = report.fmax_mhz() {
        m.insert("fmax_mhz".into(), (f * 100.0).round() / 100.0);
    }
    m
}

fn tool_lines(report: &SynthReport) -> Vec<String> {
    report.tools.iter().map(|t| t.version.clone()).collect()
}

fn same_key(e: &Entry, report: &SynthReport, tools: &[String]) -> bool {
    e.spec == report.spec
        && e.target == report.target
        && e.block == report.block
        && e.tools == tools
}

/// ` (block engine)` for a block other than the top, else nothing.
fn block_label(block: Block) -> String {
    if block.is_top() {
        String::new()
    } else {
        format!(" (block {block})")
    }
}

impl Baseline {
    /// Reads a baseline file; a missing file is an empty baseline.
    ///
    /// # Errors
    /// A file that cannot be read or is not a baseline.
    pub fn load(path: &Path) -> Result<Baseline, FileError> {
        match files::read_json(path) {
            Err(e) if e.is_missing() => Ok(Baseline::default()),
            other => other,
        }
    }

    /// Writes the baseline, entries sorted by spec, target, block and tools.
    ///
    /// # Errors
    /// A file that cannot be written.
    pub fn save(&mut self, path: &Path) -> Result<(), FileError> {
        self.entries.sort_by(|a, b| {
            (&a.spec, a.target, a.block, &a.tools).cmp(&(&b.spec, b.target, b.block, &b.tools))
        });
        files::write_json(path, self)
    }

    /// The entry made with exactly the report's spec, target, block and
    /// tools.
    pub fn entry(&self, report: &SynthReport) -> Option<&Entry> {
        let tools = tool_lines(report);
        self.entries.iter().find(|e| same_key(e, report, &tools))
    }

    /// Every metric of `report` outside its tolerance of the entry, or
    /// `Err` when there is no entry for these tools.
    ///
    /// # Errors
    ///
    /// [`NoEntry`] when the baseline has no entry for the report's spec,
    /// target, block and tool versions.
    pub fn compare(&self, report: &SynthReport) -> Result<Vec<Deviation>, NoEntry> {
        let entry = self.entry(report).ok_or_else(|| NoEntry {
            subject: format!("{}{}", report.spec, block_label(report.block)),
            target: report.target,
            tools: tool_lines(report),
        })?;
        let now = metrics(report);
        let mut names: Vec<&String> = entry.metrics.keys().chain(now.keys()).collect();
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            let tolerance = self.tolerances.get(name).copied().unwrap_or(0.0);
            let (b, n) = (entry.metrics.get(name).copied(), now.get(name).copied());
            let ok = match (b, n) {
                (Some(b), Some(n)) => (n - b).abs() <= tolerance * b.abs() + 1e-9,
                _ => false,
            };
            if !ok {
                out.push(Deviation {
                    metric: name.clone(),
                    baseline: b,
                    now: n,
                    tolerance,
                });
            }
        }
        Ok(out)
    }

    /// Adds the report's figures, replacing the entry for the same spec,
    /// target, block and tools.
    pub fn update(&mut self, report: &SynthReport) {
        let tools = tool_lines(report);
        self.entries.retain(|e| !same_key(e, report, &tools));
        self.entries.push(Entry {
            spec: report.spec.clone(),
            target: report.target,
            block: report.block,
            tools,
            metrics: metrics(report),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Area, Mapping, ModuleArea, ToolVersion};

    fn report(cells: u64) -> SynthReport {
        SynthReport {
            spec: "t".into(),
            spec_hash: String::new(),
            target: Target::Generic,
            block: Block::Top,
            tools: vec![ToolVersion {
                tool: "yosys".into(),
                version: "Yosys 1".into(),
            }],
            blocks: vec![ModuleArea {
                module: "t_top".into(),
                depth: 0,
                area: Area {
                    cells,
                    ..Area::default()
                },
            }],
            mapping: Mapping {
                buffer_data_bits: 8,
                buffer_brams: 0,
                buffer_lutrams: 0,
                buffer_ffs: 0,
                buffer_memory_bits: 8,
                buffer_in_ram: true,
                lanes: 1,
                lanes_on_multipliers: 0,
                engine_multipliers: 0,
            },
            findings: vec![],
            pnr: None,
            sta: None,
            memory_macros: Vec::new(),
        }
    }

    #[test]
    fn a_figure_outside_its_tolerance_is_a_deviation() {
        let mut base = Baseline::default();
        base.tolerances.insert("cells".into(), 0.05);
        base.update(&report(1000));
        assert_eq!(base.compare(&report(1040)).unwrap(), vec![]);
        let devs = base.compare(&report(1100)).unwrap();
        assert_eq!(devs.len(), 1);
        assert_eq!(devs[0].metric, "cells");
        let mut other_tools = report(1000);
        other_tools.tools[0].version = "Yosys 2".into();
        assert!(base.compare(&other_tools).is_err());
    }

    #[test]
    fn a_block_is_its_own_entry_and_top_has_no_block_field() {
        let mut base = Baseline::default();
        base.update(&report(1000));
        let mut engine = report(700);
        engine.block = Block::Engine;
        engine.blocks[0].module = "t_engine".into();
        assert!(
            base.compare(&engine).is_err(),
            "no entry for the engine yet"
        );
        base.update(&engine);
        assert_eq!(base.entries.len(), 2);
        assert_eq!(base.compare(&report(1000)).unwrap(), vec![]);
        assert_eq!(base.compare(&engine).unwrap(), vec![]);
        let m = &base.entry(&engine).unwrap().metrics;
        assert!(!m.contains_key("buffer_in_ram") && m.contains_key("lanes_on_multipliers"));

        let text = serde_json::to_string(&base).unwrap();
        assert_eq!(text.matches("\"block\"").count(), 1, "{text}");
        let back: Baseline = serde_json::from_str(&text).unwrap();
        assert_eq!(back, base);
    }
}
