//! The Markdown forms of a report and of a sweep, and the headline table
//! the command prints.

use std::fmt::Write;

use super::energy::COMPONENTS;
use super::measure::{CycleSource, Report};
use super::perf::{HeadReport, Summary};
use super::sweep::Sweep;
use crate::synth::SynthReport;

fn pct(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

fn opt_pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:+.1}%", 100.0 * v))
}

/// The headline table: per head and in total, cycles per query in the
/// three modes, the model's error, efficiency, MAC-lane utilisation,
/// speedups, energy per query and energy reductions. Markdown.
pub fn headline(report: &Report) -> String {
    let mut t = String::new();
    let source = match report.cycle_source {
        CycleSource::Rtl => "RTL",
        CycleSource::Model => "modelled",
    };
    writeln!(
        t,
        "| head | queries x keys | kept (oracle) | hit rate | cycles/query base / prune / sprint ({source}) | \
         model err (max) | efficiency base / sprint | MAC util. sprint | speedup prune / sprint | \
         nJ/query base / sprint | energy red. prune / sprint |"
    )
    .unwrap();
    writeln!(t, "|---|---|---|---|---|---|---|---|---|---|---|").unwrap();
    for h in &report.heads {
        let m = &h.modes;
        let err = m
            .iter()
            .filter_map(|x| x.model_error)
            .fold(None, |a: Option<f64>, e| {
                Some(if a.is_some_and(|a| a.abs() >= e.abs()) {
                    a.unwrap()
                } else {
                    e
                })
            });
        writeln!(
            t,
            "| {} | {} x {} | {}{} | {} | {:.0} / {:.0} / {:.0} | {} | {:.2} / {:.2} | {} | {:.2}x / {:.2}x | {:.1} / {:.1} | {:.2}x / {:.2}x |",
            h.label,
            h.queries,
            h.keys,
            pct(h.kept_fraction),
            h.selection
                .map_or(String::new(), |x| format!(" ({})", pct(x.oracle_kept_fraction))),
            pct(m[2].hit_rate),
            m[0].cycles_per_query,
            m[1].cycles_per_query,
            m[2].cycles_per_query,
            opt_pct(err),
            m[0].efficiency,
            m[2].efficiency,
            m[2].mac_utilisation.map_or("–".into(), pct),
            h.speedup_prune,
            h.speedup_sprint,
            m[0].energy.pj_per_query / 1000.0,
            m[2].energy.pj_per_query / 1000.0,
            h.energy_reduction_prune,
            h.energy_reduction_sprint
        )
        .unwrap();
    }
    let s = &report.summary;
    writeln!(
        t,
        "| **all** | {} queries | {}{} | {} | {:.0} / {:.0} / {:.0} | {} | {:.2} / {:.2} | {} | **{:.2}x** / **{:.2}x** | {:.1} / {:.1} | **{:.2}x** / **{:.2}x** |",
        s.queries,
        pct(s.kept_fraction),
        s.oracle_kept_fraction
            .map_or(String::new(), |x| format!(" ({})", pct(x))),
        pct(s.hit_rate),
        s.cycles_per_query[0],
        s.cycles_per_query[1],
        s.cycles_per_query[2],
        s.max_abs_model_error
            .map_or("–".into(), |e| format!("{:.1}%", 100.0 * e)),
        s.efficiency[0],
        s.efficiency[2],
        s.mac_utilisation.map_or("–".into(), |u| pct(u[2])),
        s.speedup_prune,
        s.speedup_sprint,
        s.energy_nj_per_query[0],
        s.energy_nj_per_query[2],
        s.energy_reduction_prune,
        s.energy_reduction_sprint
    )
    .unwrap();
    t
}

/// With several cores: each core's utilisation (busy cycles over the
/// run's) per head and mode, and what limits the run, as Markdown; empty
/// with one core.
pub fn cores_table(report: &Report) -> String {
    let mut t = String::new();
    let cores = report.heads.first().map_or(1, |h| h.modes[0].cores);
    if cores == 1 {
        return t;
    }
    writeln!(
        t,
        "\n## Cores\n\n{cores} recompute cores. Utilisation: each core's busy cycles over the \
         run's. Limit: what the cycle model says bounds the run.\n"
    )
    .unwrap();
    writeln!(
        t,
        "| head | mode | cycles/query | utilisation per core | limit |"
    )
    .unwrap();
    writeln!(t, "|---|---|---|---|---|").unwrap();
    for h in &report.heads {
        for m in &h.modes {
            let per_core: Vec<String> = m.core_utilisation.iter().map(|&u| pct(u)).collect();
            writeln!(
                t,
                "| {} | {} | {:.0} | {} | {} |",
                h.label,
                m.mode.label(),
                m.cycles_per_query,
                per_core.join(" / "),
                m.limit.label()
            )
            .unwrap();
        }
    }
    t
}

fn mode_table(t: &mut String, h: &HeadReport) {
    writeln!(
        t,
        "| mode | kept | fetches | hits | evicts | xbar reads | RTL cycles | model cycles | model err | \
         bound (compute / memory / fixed) | efficiency | MAC cycles | MAC util. | fetched B/query |"
    )
    .unwrap();
    writeln!(
        t,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    .unwrap();
    for m in &h.modes {
        let c = &m.counters;
        writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} ({} / {} / {}) | {:.3} | {} | {} | {:.0} |",
            m.mode.label(),
            c.kept,
            c.fetches,
            c.hits,
            c.evicts,
            c.xbar_reads,
            m.rtl_cycles.map_or("–".into(), |x| x.to_string()),
            m.model_cycles,
            opt_pct(m.model_error),
            m.bound.bound_cycles,
            m.bound.compute_cycles,
            m.bound.memory_cycles,
            m.bound.fixed_cycles,
            m.efficiency,
            m.mac_cycles.map_or("–".into(), |x| x.to_string()),
            m.mac_utilisation.map_or("–".into(), pct),
            m.fetched_bytes_per_query
        )
        .unwrap();
    }
}

fn energy_table(t: &mut String, h: &HeadReport) {
    write!(t, "| component (pJ/query) |").unwrap();
    for m in &h.modes {
        write!(t, " {} |", m.mode.label()).unwrap();
    }
    writeln!(t, "\n|---|---|---|---|").unwrap();
    for c in COMPONENTS {
        write!(t, "| {c} |").unwrap();
        for m in &h.modes {
            write!(t, " {:.0} |", m.energy.of(c)).unwrap();
        }
        writeln!(t).unwrap();
    }
    write!(t, "| **total** |").unwrap();
    for m in &h.modes {
        write!(t, " **{:.0}** |", m.energy.pj_per_query).unwrap();
    }
    writeln!(t).unwrap();
}

/// The whole report as Markdown. `plots` are the SVG file names written
/// beside it, linked in order.
pub fn markdown(report: &Report, plots: &[String]) -> String {
    let mut t = String::new();
    let s: &Summary = &report.summary;
    writeln!(t, "# SPRINT performance and energy: {}\n", report.spec).unwrap();
    writeln!(
        t,
        "Spec `{}` (sha256 {}), sprint-rtl {}; trace `{}`; cycles {}.\n",
        report.spec,
        &report.spec_hash[..12],
        report.generator_version,
        report.trace,
        match (&report.cycle_source, &report.verilator) {
            (CycleSource::Rtl, Some(v)) => format!("measured in the RTL with {v}"),
            _ => "MODELLED (analytical cycle model), not simulated".into(),
        }
    )
    .unwrap();
    let dsn = &report.design;
    writeln!(
        t,
        "Design: seq_len {}, head_dim {}, {} MAC lanes, {} B buffer ({} slots of {} B), {}-bit key MSBs, \
         crossbar latency {} cycles, memory latency {} cycles at {} B/cycle.\n",
        dsn.seq_len,
        dsn.head_dim,
        dsn.lanes,
        dsn.buffer_bytes,
        dsn.slots,
        dsn.slot_bytes,
        dsn.key_msb_bits,
        dsn.xbar_latency_cycles,
        dsn.mem_latency_cycles,
        dsn.mem_bytes_per_cycle
    )
    .unwrap();
    writeln!(t, "## Headline\n").unwrap();
    t.push_str(&headline(report));
    t.push_str(&cores_table(report));
    writeln!(t, "\n## Against the paper\n").unwrap();
    writeln!(
        t,
        "| | paper | here | short by |\n|---|---|---|---|\n| speedup of SPRINT over the baseline | {:.1}x | {:.2}x | {:.1}x |\n| energy reduction | {:.1}x | {:.2}x | {:.1}x |\n| sequence newly fetched per query | {} | {} | |\n",
        report.paper.paper_speedup,
        report.paper.speedup,
        report.paper.speedup_shortfall,
        report.paper.paper_energy_reduction,
        report.paper.energy_reduction,
        report.paper.energy_shortfall,
        pct(report.paper.paper_new_fetch_fraction),
        pct(s.new_fetch_fraction)
    )
    .unwrap();
    for line in &report.paper.explanation {
        writeln!(t, "- {line}").unwrap();
    }
    for h in &report.heads {
        writeln!(
            t,
            "\n## Head {} (threshold {}, {:.1} kept keys per query)\n",
            h.label, h.threshold, h.kept_per_query
        )
        .unwrap();
        mode_table(&mut t, h);
        writeln!(t).unwrap();
        energy_table(&mut t, h);
    }
    if !plots.is_empty() {
        writeln!(t, "\n## Plots\n").unwrap();
        for p in plots {
            writeln!(t, "![{p}]({p})").unwrap();
        }
    }
    writeln!(t, "\n## Energy constants (pJ)\n").unwrap();
    writeln!(t, "| field | pJ |\n|---|---|").unwrap();
    for (field, v) in report.energy_constants.fields() {
        writeln!(t, "| `{field}` | {v} |").unwrap();
    }
    writeln!(
        t,
        "\nSources: SPRINT (MICRO 2022) for the ReRAM, Horowitz (ISSCC 2014, 45 nm) for \
         arithmetic and SRAM, ISAAC (ISCA 2016) for the comparator; see `src/spec/energy.rs`."
    )
    .unwrap();
    writeln!(t, "\n## Assumptions\n").unwrap();
    for a in &report.assumptions {
        writeln!(t, "- {a}").unwrap();
    }
    writeln!(
        t,
        "\nSynthesis (area, Fmax): {}.",
        if report.synthesis.is_some() {
            "see `synthesis` in report.json"
        } else {
            "not attached"
        }
    )
    .unwrap();
    t
}

/// The sweep's table. Markdown.
pub fn sweep_table(sweep: &Sweep) -> String {
    let mut t = String::new();
    writeln!(
        t,
        "| point | kept | hit rate | cycles/query base / sprint | speedup prune / sprint | \
         energy red. prune / sprint | efficiency sprint | model err (max) | thresholds | seconds |"
    )
    .unwrap();
    writeln!(t, "|---|---|---|---|---|---|---|---|---|---|").unwrap();
    for p in &sweep.points {
        let s = &p.summary;
        writeln!(
            t,
            "| {} | {} | {} | {:.0} / {:.0} | {:.2}x / {:.2}x | {:.2}x / {:.2}x | {:.2} | {} | {}{} | {:.1} |",
            p.label,
            pct(s.kept_fraction),
            pct(s.hit_rate),
            s.cycles_per_query[0],
            s.cycles_per_query[2],
            s.speedup_prune,
            s.speedup_sprint,
            s.energy_reduction_prune,
            s.energy_reduction_sprint,
            s.efficiency[2],
            s.max_abs_model_error
                .map_or("–".into(), |e| format!("{:.1}%", 100.0 * e)),
            p.thresholds
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            if p.calibrated { " (calibrated)" } else { "" },
            p.seconds
        )
        .unwrap();
    }
    t
}

/// Per point: cycles and energy per query in the three modes, speedup and
/// energy reduction over the baseline, SPRINT's throughput (queries per
/// cycle) over the first point's, and what limits SPRINT's runs. Markdown.
pub fn scaling_table(sweep: &Sweep) -> String {
    let mut t = String::new();
    writeln!(
        t,
        "| point | queries/head | cycles/query base / prune / sprint | \
         nJ/query base / prune / sprint | speedup prune / sprint | energy red. prune / sprint | \
         sprint throughput vs first point | sprint limited by |"
    )
    .unwrap();
    writeln!(t, "|---|---:|---|---|---|---|---|---|").unwrap();
    let first = sweep
        .points
        .first()
        .map_or(0.0, |p| p.summary.cycles_per_query[2]);
    for p in &sweep.points {
        let s = &p.summary;
        let c = s.cycles_per_query;
        let e = s.energy_nj_per_query;
        writeln!(
            t,
            "| {} | {:.0} | {:.0} / {:.0} / {:.0} | {:.2} / {:.2} / {:.2} | {:.2}x / {:.2}x | \
             {:.2}x / {:.2}x | {:.2}x | {} |",
            p.label,
            s.queries as f64 / s.heads.max(1) as f64,
            c[0],
            c[1],
            c[2],
            e[0],
            e[1],
            e[2],
            s.speedup_prune,
            s.speedup_sprint,
            s.energy_reduction_prune,
            s.energy_reduction_sprint,
            if c[2] > 0.0 { first / c[2] } else { 0.0 },
            p.goals.sprint_limit.label()
        )
        .unwrap();
    }
    t
}

/// Per point: the paper's goals, met or not, and the bound that stops
/// each (`reports::goals`). Markdown.
pub fn goals_table(sweep: &Sweep) -> String {
    let mut t = String::new();
    writeln!(
        t,
        "| point | speedup (goal 7.5x) | bound | energy red. (goal 19.6x) | bound |"
    )
    .unwrap();
    writeln!(t, "|---|---|---|---|---|").unwrap();
    let verdict = |met: bool, limit: Option<crate::reports::goals::Limit>| match limit {
        Some(l) if !met => l.label().to_string(),
        _ => "met".to_string(),
    };
    for p in &sweep.points {
        let g = &p.goals;
        writeln!(
            t,
            "| {} | {:.2}x | {} | {:.2}x | {} |",
            p.label,
            g.speedup,
            verdict(g.speedup_met, g.speedup_limit),
            g.energy_reduction,
            verdict(g.energy_met, g.energy_limit)
        )
        .unwrap();
    }
    t
}

/// The ASIC flow's figures of whole designs, a row a report, smallest
/// area first: cells, flip-flops, area and the SRAM macros' share (mm²),
/// the macros (count × words × bits), Fmax and the critical path, with
/// the instance its first register is in (`sprint-rtl synth --target
/// asic --json`). Markdown.
pub fn asic_table(reports: &[SynthReport]) -> String {
    let mut rows: Vec<&SynthReport> = reports.iter().collect();
    let area = |r: &SynthReport| r.blocks.first().and_then(|b| b.area.area_um2);
    rows.sort_by(|a, b| area(a).unwrap_or(0.0).total_cmp(&area(b).unwrap_or(0.0)));
    let mut t = String::new();
    writeln!(
        t,
        "| spec | cells | FF | area (mm²) | of it SRAM macros (mm²: count × words × bits) | Fmax \
         | critical path |"
    )
    .unwrap();
    writeln!(t, "|---|---|---|---|---|---|---|").unwrap();
    for r in rows {
        let Some(top) = r.blocks.first() else {
            continue;
        };
        let a = &top.area;
        let macro_um2: f64 = r
            .memory_macros
            .iter()
            .map(|m| m.area_um2 * m.count as f64)
            .sum();
        let macros = if r.memory_macros.is_empty() {
            "none".to_string()
        } else {
            let shapes: Vec<String> = r
                .memory_macros
                .iter()
                .map(|m| match m.count {
                    1 => format!("{} × {}", m.words, m.width),
                    n => format!("{n} × {} × {}", m.words, m.width),
                })
                .collect();
            format!("{:.2} ({})", macro_um2 / 1e6, shapes.join(", "))
        };
        let sta = r.sta.as_ref();
        let fmax = sta
            .and_then(|s| s.fmax_mhz)
            .map_or("-".to_string(), |f| format!("{f:.2} MHz"));
        let path = sta
            .and_then(|s| s.critical_path.as_ref())
            .map_or("-".to_string(), |p| {
                let within = p.startpoint.rsplit_once('/').map_or("top", |(i, _)| i);
                format!(
                    "{:.3} ns, {} cells, `{}` to `{}` in `{within}`",
                    p.delay_ns,
                    p.cells,
                    register_name(&p.startpoint),
                    register_name(&p.endpoint),
                )
            });
        writeln!(
            t,
            "| {} | {} | {} | {:.2} | {macros} | {fmax} | {path} |",
            r.spec,
            a.cells,
            a.ffs,
            a.area_um2.unwrap_or(0.0) / 1e6
        )
        .unwrap();
    }
    t
}

/// A timing path's register as the RTL names it: without the instance
/// path (`u_engine/`) and without the suffix `autoname` gives a mapped
/// flip-flop (`_DFFPOSX1_Q_53`).
fn register_name(instance: &str) -> &str {
    let name = instance.rsplit('/').next().unwrap_or(instance);
    match name.find("_DFF") {
        Some(i) => &name[..i],
        None => name,
    }
}

/// The whole sweep as Markdown, with its plot.
pub fn sweep_markdown(sweep: &Sweep, plot: &str) -> String {
    let mut t = String::new();
    writeln!(t, "# SPRINT sweep: {}\n", sweep.spec).unwrap();
    writeln!(
        t,
        "Trace `{}`, heads {}; cycles {}.\n",
        sweep.trace,
        sweep.heads.join(", "),
        match sweep.cycle_source {
            CycleSource::Rtl => "measured in the RTL (one Verilator build per design)",
            CycleSource::Model =>
                "MODELLED by the analytical cycle model (run with --rtl to simulate)",
        }
    )
    .unwrap();
    if let Some(c) = &sweep.calibration {
        writeln!(
            t,
            "Thresholds calibrated at each point on `{}` for keep mass {} (another text).\n",
            c.trace, c.keep_mass
        )
        .unwrap();
    }
    t.push_str(&sweep_table(sweep));
    writeln!(t, "\n## Per query\n").unwrap();
    t.push_str(&scaling_table(sweep));
    writeln!(t, "\n## The paper's goals\n").unwrap();
    t.push_str(&goals_table(sweep));
    writeln!(t).unwrap();
    for p in &sweep.points {
        for line in &p.goals.explanation {
            writeln!(t, "- {}: {line}", p.label).unwrap();
        }
    }
    writeln!(t, "\n![{plot}]({plot})").unwrap();
    if sweep.x_param == "seq_len" {
        writeln!(t, "\n![scaling.svg](scaling.svg)").unwrap();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_named_as_in_the_rtl() {
        let mapped = "g_core[0].u_core/u_engine/g_out_lane[4].lane_half_q_DFFPOSX1_Q_53";
        assert_eq!(register_name(mapped), "g_out_lane[4].lane_half_q");
        assert_eq!(register_name("u_buffer/slot_of_mem.0.0"), "slot_of_mem.0.0");
        assert_eq!(register_name("state_q"), "state_q");
    }
}
