//! Reading nextpnr's `--report` JSON: achieved frequency per clock,
//! utilisation per bel type, and the critical path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::OutputError;

/// Used and available bels of one type on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utilisation {
    pub used: u64,
    pub available: u64,
}

/// One step of the critical path: a cell's logic delay or a net's routing
/// delay, in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    /// nextpnr's step type: `clk-to-q`, `source`, `logic`, `routing`, `setup`.
    pub kind: String,
    /// The cell the step leaves from (hierarchical, flattened name).
    pub from_cell: String,
    /// The cell the step arrives at.
    pub to_cell: String,
    /// Delay of this step, ns.
    pub delay_ns: f64,
    /// Source locations nextpnr gives for a routing step's net
    /// (`rtl/<name>_engine.v:179.46-179.79`).
    pub sources: Vec<String>,
}

/// The slowest register-to-register path nextpnr found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalPath {
    /// Sum of the step delays, ns.
    pub delay_ns: f64,
    /// Of which in cells (clock-to-q, logic, setup), ns.
    pub logic_ns: f64,
    /// Of which in routing, ns.
    pub routing_ns: f64,
    /// First and last cell.
    pub from_cell: String,
    pub to_cell: String,
    /// The top-level instances (`u_engine`, `u_controller`, `u_buffer`;
    /// `u_exp2`, `u_recip` when the engine is synthesized on its own) the
    /// path's cells belong to, in path order, without repeats; `top` for
    /// cells of the top module itself ([`super::run_with`] names them
    /// after the block's module, `<name>_engine` say, when a block is
    /// synthesized on its own).
    pub blocks: Vec<String>,
    /// The design's source locations along the path (`rtl/...`, in path
    /// order, without repeats).
    pub sources: Vec<String>,
    pub steps: Vec<PathStep>,
}

/// What nextpnr's report says.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PnrFigures {
    /// Achieved frequency of the slowest clock, MHz.
    pub fmax_mhz: Option<f64>,
    pub utilisation: BTreeMap<String, Utilisation>,
    pub critical_path: Option<CriticalPath>,
}

fn cell_of(endpoint: Option<&Value>) -> String {
    endpoint
        .and_then(|e| e.get("cell"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The top-level instance a flattened cell name belongs to: the part
/// before the first `.` when it names an instance (`u_engine.x` gives
/// `u_engine`), else `top` (the top module's own cells).
pub fn block_of(cell: &str) -> String {
    match cell.split_once('.') {
        Some((head, _)) if head.starts_with("u_") => head.to_string(),
        _ => "top".to_string(),
    }
}

/// Parses the JSON that `nextpnr-* --report FILE` writes.
///
/// # Errors
/// [`OutputError::Json`] for text that is not JSON.
pub fn parse_report(text: &str) -> Result<PnrFigures, OutputError> {
    let v: Value = serde_json::from_str(text).map_err(|source| OutputError::Json {
        what: "nextpnr report",
        source,
    })?;
    let mut figures = PnrFigures::default();
    if let Some(util) = v.get("utilization").and_then(Value::as_object) {
        for (bel, u) in util {
            let get = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            figures.utilisation.insert(
                bel.clone(),
                Utilisation {
                    used: get("used"),
                    available: get("available"),
                },
            );
        }
    }
    figures.fmax_mhz = v
        .get("fmax")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(|c| c.get("achieved").and_then(Value::as_f64))
        .reduce(f64::min);
    let paths = v.get("critical_paths").and_then(Value::as_array);
    let worst = paths
        .into_iter()
        .flatten()
        .map(|p| {
            let steps: Vec<PathStep> = p
                .get("path")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|s| PathStep {
                    kind: s
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    from_cell: cell_of(s.get("from")),
                    to_cell: cell_of(s.get("to")),
                    delay_ns: s.get("delay").and_then(Value::as_f64).unwrap_or(0.0),
                    sources: s
                        .get("sources")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect(),
                })
                .collect();
            let delay_ns: f64 = steps.iter().map(|s| s.delay_ns).sum();
            let routing_ns: f64 = steps
                .iter()
                .filter(|s| s.kind == "routing")
                .map(|s| s.delay_ns)
                .sum();
            let mut blocks: Vec<String> = Vec::new();
            for s in &steps {
                for c in [&s.from_cell, &s.to_cell] {
                    if c.is_empty() {
                        continue;
                    }
                    let b = block_of(c);
                    if blocks.last() != Some(&b) && !blocks.contains(&b) {
                        blocks.push(b);
                    }
                }
            }
            let mut sources: Vec<String> = Vec::new();
            for src in steps.iter().flat_map(|s| &s.sources) {
                if src.starts_with("rtl/") && !sources.contains(src) {
                    sources.push(src.clone());
                }
            }
            CriticalPath {
                sources,
                delay_ns,
                logic_ns: delay_ns - routing_ns,
                routing_ns,
                from_cell: steps
                    .first()
                    .map(|s| s.from_cell.clone())
                    .unwrap_or_default(),
                to_cell: steps.last().map(|s| s.to_cell.clone()).unwrap_or_default(),
                blocks,
                steps,
            }
        })
        .max_by(|a, b| a.delay_ns.total_cmp(&b.delay_ns));
    figures.critical_path = worst;
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_fields() {
        let text = r#"{
          "utilization": { "TRELLIS_SLICE": { "used": 10, "available": 100 } },
          "fmax": { "$glbnet$clk": { "achieved": 123.5, "constraint": 100.0 } },
          "critical_paths": [ { "from": "posedge clk", "to": "posedge clk", "path": [
            { "type": "clk-to-q", "from": { "cell": "u_engine.a", "port": "CLK" },
              "to": { "cell": "u_engine.a", "port": "Q0" }, "delay": 0.5 },
            { "type": "routing", "from": { "cell": "u_engine.a", "port": "Q0" },
              "to": { "cell": "u_buffer.b", "port": "A0" }, "delay": 2.0,
              "sources": [ "rtl/x_engine.v:70.20-70.35", "/share/cells.v:1.1-1.2" ] },
            { "type": "setup", "from": { "cell": "u_buffer.b", "port": "A0" },
              "to": { "cell": "u_buffer.b", "port": "DI0" }, "delay": 0.25 } ] } ]
        }"#;
        let f = parse_report(text).unwrap();
        assert_eq!(f.fmax_mhz, Some(123.5));
        assert_eq!(f.utilisation["TRELLIS_SLICE"].used, 10);
        let p = f.critical_path.unwrap();
        assert_eq!((p.delay_ns, p.routing_ns), (2.75, 2.0));
        assert_eq!(p.blocks, ["u_engine", "u_buffer"]);
        assert_eq!(p.sources, ["rtl/x_engine.v:70.20-70.35"]);
        assert_eq!(
            (p.from_cell.as_str(), p.to_cell.as_str()),
            ("u_engine.a", "u_buffer.b")
        );
    }
}
