//! SVG plots of a report and of a sweep, drawn with plotters' SVG backend
//! (text is laid out with plotters' built-in metrics, so the output does
//! not depend on the machine's fonts).

use plotters::prelude::*;

use super::energy::COMPONENTS;
use super::measure::{CycleSource, Report};
use super::sweep::{Param, Sweep, SweepPoint};
use crate::eval::data::Task;
use crate::eval::search::{Phase, Point, Selection};
use crate::golden::Mode;

const MODE_COLOURS: [RGBColor; 3] = [
    RGBColor(90, 90, 90),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
];

const COMPONENT_COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(174, 199, 232),
    RGBColor(255, 127, 14),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(152, 223, 138),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// A sweep curve: its name, colour and the figure it plots.
type Series = (&'static str, RGBColor, fn(&SweepPoint) -> f64);

type PlotResult = Result<(), Box<dyn std::error::Error>>;

/// Cycles of every query of head `h` (index into `report.heads`) in the
/// three modes, from the analytical model, with the RTL's mean per query
/// in the legend. An SVG document.
///
/// # Panics
/// If `h` is out of range.
pub fn cycles_per_query(report: &Report, h: usize) -> String {
    let mut svg = String::new();
    draw_cycles(report, h, &mut svg).expect("drawing into a string cannot fail");
    svg
}

fn draw_cycles(report: &Report, h: usize, svg: &mut String) -> PlotResult {
    let head = &report.heads[h];
    let root = SVGBackend::with_string(svg, (800, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = head.queries.max(1) as f64;
    let top = head
        .modes
        .iter()
        .flat_map(|m| m.model_query_cycles.iter().copied())
        .max()
        .unwrap_or(1) as f64
        * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{} {}: cycles per query", report.spec, head.label),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..n, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("query")
        .y_desc("cycles (model)")
        .light_line_style(WHITE)
        .draw()?;
    for (m, colour) in head.modes.iter().zip(MODE_COLOURS) {
        let label = match (report.cycle_source, m.rtl_cycles) {
            (CycleSource::Rtl, Some(_)) => format!(
                "{}: RTL mean {:.0}, model error {:+.1}%",
                m.mode.label(),
                m.cycles_per_query,
                100.0 * m.model_error.unwrap_or(0.0)
            ),
            _ => format!(
                "{}: modelled mean {:.0}",
                m.mode.label(),
                m.cycles_per_query
            ),
        };
        chart
            .draw_series(LineSeries::new(
                m.model_query_cycles
                    .iter()
                    .enumerate()
                    .map(|(i, &c)| (i as f64, c as f64)),
                colour.stroke_width(1),
            ))?
            .label(label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Energy per query by component, one stacked bar per head and mode. An
/// SVG document.
pub fn energy_by_component(report: &Report) -> String {
    let mut svg = String::new();
    draw_energy(report, &mut svg).expect("drawing into a string cannot fail");
    svg
}

fn draw_energy(report: &Report, svg: &mut String) -> PlotResult {
    let bars: Vec<(String, Vec<f64>)> = report
        .heads
        .iter()
        .flat_map(|h| {
            h.modes.iter().map(move |m| {
                (
                    format!("{} {}", h.label, short(m.mode)),
                    COMPONENTS.iter().map(|c| m.energy.of(c) / 1000.0).collect(),
                )
            })
        })
        .collect();
    let top = bars
        .iter()
        .map(|(_, v)| v.iter().sum::<f64>())
        .fold(0f64, f64::max)
        * 1.05;
    let width = (200 + 70 * bars.len() as u32).max(700);
    let root = SVGBackend::with_string(svg, (width, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, legend) = root.split_horizontally(width - 190);
    let labels: Vec<String> = bars.iter().map(|(l, _)| l.clone()).collect();
    let mut chart = ChartBuilder::on(&plot)
        .caption(
            format!("{}: energy per query by component", report.spec),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((0..bars.len()).into_segmented(), 0f64..top.max(1e-9))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_desc("nJ per query")
        .draw()?;
    for (i, (_, values)) in bars.iter().enumerate() {
        let mut base = 0.0;
        for (v, colour) in values.iter().zip(COMPONENT_COLOURS) {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), base),
                    (SegmentValue::Exact(i + 1), base + v),
                ],
                colour.filled(),
            );
            bar.set_margin(0, 0, 10, 10);
            chart.draw_series(std::iter::once(bar))?;
            base += v;
        }
    }
    for (k, (name, colour)) in COMPONENTS.iter().zip(COMPONENT_COLOURS).enumerate() {
        let y = 40 + 22 * k as i32;
        legend.draw(&Rectangle::new([(10, y), (24, y + 14)], colour.filled()))?;
        legend.draw(&Text::new(
            name.to_string(),
            (30, y + 1),
            ("sans-serif", 14).into_font(),
        ))?;
    }
    root.present()?;
    Ok(())
}

fn short(mode: Mode) -> &'static str {
    match mode {
        Mode::Baseline => "base",
        Mode::PruneOnly => "prune",
        Mode::ReuseOnly => "reuse",
        Mode::Sprint => "sprint",
    }
}

/// Speedup and energy reduction of SPRINT and prune-only over the
/// baseline against the sweep's first parameter, and, when simulated, the
/// model's largest error. An SVG document.
pub fn sweep(sweep: &Sweep) -> String {
    let mut svg = String::new();
    draw_sweep(sweep, &mut svg).expect("drawing into a string cannot fail");
    svg
}

fn draw_sweep(sweep: &Sweep, svg: &mut String) -> PlotResult {
    let root = SVGBackend::with_string(svg, (800, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(400);
    let n = sweep.points.len();
    // One axis: the values alone (its name is the axis title).
    let labels: Vec<String> = sweep
        .points
        .iter()
        .map(|p| match p.values.as_slice() {
            [(_, v)] => v.to_string(),
            _ => p.label.clone(),
        })
        .collect();
    let x_range = -0.5f64..(n as f64 - 0.5);
    let fmt = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < labels.len() {
            labels[i as usize].clone()
        } else {
            String::new()
        }
    };
    let series: [Series; 4] = [
        ("SPRINT speedup", MODE_COLOURS[2], |p| {
            p.summary.speedup_sprint
        }),
        ("prune-only speedup", MODE_COLOURS[1], |p| {
            p.summary.speedup_prune
        }),
        ("SPRINT energy reduction", RGBColor(44, 160, 44), |p| {
            p.summary.energy_reduction_sprint
        }),
        (
            "prune-only energy reduction",
            RGBColor(152, 223, 138),
            |p| p.summary.energy_reduction_prune,
        ),
    ];
    let top = sweep
        .points
        .iter()
        .flat_map(|p| series.iter().map(move |s| (s.2)(p)))
        .fold(1f64, f64::max)
        * 1.1;
    let mut chart = ChartBuilder::on(&upper)
        .caption(
            format!(
                "{}: over the baseline, against {} ({})",
                sweep.spec,
                sweep.x_param,
                match sweep.cycle_source {
                    CycleSource::Rtl => "RTL",
                    CycleSource::Model => "modelled",
                }
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.clone(), 0f64..top)?;
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&fmt)
        .y_desc("x")
        .light_line_style(WHITE)
        .draw()?;
    for (name, colour, f) in series {
        let pts: Vec<(f64, f64)> = sweep
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, f(p)))
            .collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2)));
        chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    let errors: Vec<(f64, f64)> = sweep
        .points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((i as f64, 100.0 * p.summary.max_abs_model_error?)))
        .collect();
    let efficiency: Vec<(f64, f64)> = sweep
        .points
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64, 100.0 * p.summary.efficiency[2]))
        .collect();
    let mut chart = ChartBuilder::on(&lower)
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, 0f64..100f64)?;
    chart
        .configure_mesh()
        .x_labels(n)
        .x_label_formatter(&fmt)
        .x_desc(sweep.x_param.as_str())
        .y_desc("%")
        .light_line_style(WHITE)
        .draw()?;
    let blue = MODE_COLOURS[1];
    chart
        .draw_series(LineSeries::new(efficiency, blue.stroke_width(2)))?
        .label("SPRINT efficiency (bound / cycles)")
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], blue.stroke_width(2)));
    if !errors.is_empty() {
        chart
            .draw_series(LineSeries::new(errors, RED.stroke_width(2)))?
            .label("largest |model error|")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Cycles and energy per head against `seq_len`, on log-log axes, for the
/// three modes of a sweep whose first parameter is `seq_len`, with a guide
/// proportional to N² through the baseline's first point and one
/// proportional to N through SPRINT's: a cost
/// linear in N runs parallel to the N guide, a quadratic one to the N²
/// guide. Per head is the sum over the head's queries (all of them when
/// the sweep takes every query). An SVG document.
pub fn scaling(sweep: &Sweep) -> String {
    let mut svg = String::new();
    draw_scaling(sweep, &mut svg).expect("drawing into a string cannot fail");
    svg
}

/// A per-query figure of a point in a mode (index into `Mode::COMPARED`).
type PerQuery = fn(&SweepPoint, usize) -> f64;

/// (N, per-head figure) of every point for `f(point, mode index)`.
fn per_head(sweep: &Sweep, mode: usize, f: PerQuery) -> Vec<(f64, f64)> {
    sweep
        .points
        .iter()
        .filter_map(|p| {
            let n = p.values.iter().find(|(q, _)| *q == Param::SeqLen)?.1 as f64;
            let per_head = p.summary.queries as f64 / p.summary.heads.max(1) as f64;
            Some((n, f(p, mode) * per_head))
        })
        .collect()
}

fn draw_scaling(sweep: &Sweep, svg: &mut String) -> PlotResult {
    let root = SVGBackend::with_string(svg, (800, 900)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(450);
    let figures: [(&str, PerQuery); 2] = [
        ("cycles per head", |p, m| p.summary.cycles_per_query[m]),
        ("energy per head (nJ)", |p, m| {
            p.summary.energy_nj_per_query[m]
        }),
    ];
    for ((what, f), area) in figures.into_iter().zip([upper, lower]) {
        let curves: Vec<Vec<(f64, f64)>> = (0..3).map(|m| per_head(sweep, m, f)).collect();
        let all = curves.iter().flatten();
        let (x0, x1) = all
            .clone()
            .fold((f64::MAX, 0f64), |(a, b), p| (a.min(p.0), b.max(p.0)));
        let (y0, y1) = all
            .clone()
            .fold((f64::MAX, 0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
        if curves[0].is_empty() || y0 <= 0.0 {
            continue;
        }
        let mut chart = ChartBuilder::on(&area)
            .caption(
                format!(
                    "{}: {what} against seq_len ({})",
                    sweep.spec,
                    match sweep.cycle_source {
                        CycleSource::Rtl => "RTL",
                        CycleSource::Model => "modelled",
                    }
                ),
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(80)
            .build_cartesian_2d(
                (x0 / 1.2..x1 * 1.2).log_scale(),
                (y0 / 2.0..y1 * 2.0).log_scale(),
            )?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0e}"))
            .x_desc("seq_len N (tokens)")
            .y_desc(what)
            .light_line_style(WHITE)
            .draw()?;
        let guides: [(&str, f64, (f64, f64), RGBColor); 2] = [
            (
                "∝ N² through baseline",
                2.0,
                curves[0][0],
                RGBColor(190, 190, 190),
            ),
            (
                "∝ N through SPRINT",
                1.0,
                curves[2][0],
                RGBColor(120, 120, 120),
            ),
        ];
        for (name, power, (bx, by), colour) in guides {
            let line = [x0, x1].map(|x| (x, by * (x / bx).powf(power)));
            chart
                .draw_series(LineSeries::new(line, colour.stroke_width(1)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(1))
                });
        }
        for (m, (curve, colour)) in curves.into_iter().zip(MODE_COLOURS).enumerate() {
            chart
                .draw_series(LineSeries::new(curve.clone(), colour.stroke_width(2)))?
                .label(Mode::COMPARED[m].label())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            chart.draw_series(
                curve
                    .into_iter()
                    .map(|p| Circle::new(p, 3, colour.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The dev metric against the kept fraction: the uniform keep-mass curve,
/// the per-layer search's runs, the chosen point and the budget.
///
/// `exact` is the exact model's dev metric, `max_drop` the budget's
/// largest relative drop in percent; returns the SVG text.
pub fn budget_curve(task: Task, exact: f64, max_drop: f64, sel: &Selection) -> String {
    let mut svg = String::new();
    draw_budget_curve(&mut svg, task, exact, max_drop, sel)
        .expect("drawing into a string cannot fail");
    svg
}

fn draw_budget_curve(
    svg: &mut String,
    task: Task,
    exact: f64,
    max_drop: f64,
    sel: &Selection,
) -> PlotResult {
    let root = SVGBackend::with_string(svg, (720, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let xy = |p: &Point| (100.0 * p.dev.kept_fraction(), p.dev.metric);
    let uniform: Vec<(f64, f64)> = sel
        .points
        .iter()
        .filter(|p| p.phase == Phase::Uniform)
        .map(xy)
        .collect();
    let layered: Vec<(f64, f64)> = sel
        .points
        .iter()
        .filter(|p| p.phase != Phase::Uniform)
        .map(xy)
        .collect();
    let all = || uniform.iter().chain(&layered);
    let lo = all().map(|p| p.1).fold(exact, f64::min);
    let hi = all().map(|p| p.1).fold(exact, f64::max);
    let pad = ((hi - lo) * 0.1).max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: {} vs kept keys, dev items", task.name(), task.metric()),
            ("sans-serif", 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..100f64, (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("kept (query, key) pairs, %")
        .y_desc("dev metric")
        .draw()?;
    let floor = exact - exact.abs() * max_drop / 100.0;
    chart
        .draw_series(LineSeries::new([(0.0, exact), (100.0, exact)], &BLUE))?
        .label("exact attention")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE));
    chart
        .draw_series(LineSeries::new([(0.0, floor), (100.0, floor)], &RED))?
        .label(format!("budget: -{max_drop}% relative"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
    chart
        .draw_series(LineSeries::new(uniform.iter().copied(), &BLACK))?
        .label("every layer at one keep mass")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
    chart.draw_series(uniform.iter().map(|&p| Circle::new(p, 3, BLACK.filled())))?;
    chart
        .draw_series(
            layered
                .iter()
                .map(|&p| TriangleMarker::new(p, 5, MAGENTA.filled())),
        )?
        .label("per-layer search")
        .legend(|(x, y)| TriangleMarker::new((x + 8, y), 5, MAGENTA.filled()));
    if let Some(b) = sel.best() {
        chart
            .draw_series([Circle::new(xy(b), 7, GREEN.stroke_width(2))])?
            .label("chosen")
            .legend(|(x, y)| Circle::new((x + 8, y), 5, GREEN.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
}
