//! Reading a Yosys `write_json` netlist: cells by type per module, rolled
//! up over the hierarchy, memory bits, and which nets a multiplier block
//! drives.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{OutputError, Target};

/// Resources of one module (with everything it instantiates), from the
/// synthesized netlist. Counts are cells of the target's library.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Area {
    /// Every leaf cell (submodule instances are replaced by their cells).
    pub cells: u64,
    /// Lookup tables: `LUT4` (ECP5), `SB_LUT4` (iCE40); 0 for generic.
    pub luts: u64,
    /// Carry cells: `CCU2C` (ECP5, two LUT4s and a 2-bit carry each),
    /// `SB_CARRY` (iCE40, shares its logic cell with a `SB_LUT4`); 0 for generic.
    pub carries: u64,
    /// Flip-flops: `TRELLIS_FF`, `SB_DFF*`, Yosys `$_*DFF*` gates.
    pub ffs: u64,
    /// Block RAMs: `DP16KD`/`PDPW16KD` (ECP5, 18 Kbit), `SB_RAM40_4K` (iCE40, 4 Kbit).
    pub brams: u64,
    /// Multiplier blocks: `MULT18X18D` (ECP5), `SB_MAC16` (iCE40).
    pub dsps: u64,
    /// Distributed RAM: `TRELLIS_DPR16X4` (ECP5, 16 x 4 bits in LUTs).
    pub lutrams: u64,
    /// Memories kept as `$mem_v2` cells (generic target, RAM macros) or
    /// mapped onto SRAM macros (ASIC).
    pub memories: u64,
    /// Bits in those memories (width x depth; a macro's whole capacity).
    pub memory_bits: u64,
    /// Every cell type and its count.
    pub cells_by_type: BTreeMap<String, u64>,
    /// ASIC target: the cells' area from the Liberty library (µm² for the
    /// OSU libraries), `Σ count × cell area` over `cells_by_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_um2: Option<f64>,
}

impl Area {
    fn add_cell(&mut self, target: Target, ty: &str, cell: &Value, times: u64) {
        self.cells += times;
        *self.cells_by_type.entry(ty.to_string()).or_default() += times;
        let class = target.classify(ty);
        match class {
            CellClass::Lut => self.luts += times,
            CellClass::Carry => self.carries += times,
            CellClass::Ff => self.ffs += times,
            CellClass::Bram => self.brams += times,
            CellClass::Dsp => self.dsps += times,
            CellClass::LutRam => self.lutrams += times,
            CellClass::Memory => {
                self.memories += times;
                // A `$mem_v2` has its shape in parameters, an SRAM macro in
                // its name.
                let bits = match super::sram::bits_of(ty) {
                    Some(bits) => bits,
                    None => param(cell, "WIDTH") * param(cell, "SIZE"),
                };
                self.memory_bits += times * bits;
            }
            CellClass::Other => {}
        }
    }

    fn add(&mut self, other: &Area, times: u64) {
        self.cells += times * other.cells;
        self.luts += times * other.luts;
        self.carries += times * other.carries;
        self.ffs += times * other.ffs;
        self.brams += times * other.brams;
        self.dsps += times * other.dsps;
        self.lutrams += times * other.lutrams;
        self.memories += times * other.memories;
        self.memory_bits += times * other.memory_bits;
        for (ty, n) in &other.cells_by_type {
            *self.cells_by_type.entry(ty.clone()).or_default() += times * n;
        }
    }
}

/// What a library cell is, for the summary columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CellClass {
    Lut,
    Carry,
    Ff,
    Bram,
    Dsp,
    LutRam,
    Memory,
    Other,
}

/// A cell parameter as a number: Yosys writes constants as strings of
/// binary digits, small integers sometimes as JSON numbers. 0 when absent.
fn param(cell: &Value, name: &str) -> u64 {
    cell.get("parameters")
        .and_then(|p| p.get(name))
        .map_or(0, param_value)
}

fn param_value(v: &Value) -> u64 {
    match v {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) if s.chars().all(|c| c == '0') => 0,
        Value::String(s) => u64::from_str_radix(s.trim_start_matches('0'), 2).unwrap_or(0),
        _ => 0,
    }
}

/// One module of the hierarchy, with its area including submodules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleArea {
    /// The Verilog module name.
    pub module: String,
    /// Depth below the top (the top is 0).
    pub depth: u32,
    /// Resources of the module and everything below it.
    pub area: Area,
}

/// A parsed `write_json` netlist.
pub(crate) struct Netlist {
    modules: serde_json::Map<String, Value>,
}

impl Netlist {
    /// Parses `write_json` output. Library cells that Yosys writes as
    /// `blackbox` or `whitebox` modules stay leaf cells.
    pub(crate) fn parse(text: &str) -> Result<Netlist, OutputError> {
        const WHAT: &str = "netlist JSON";
        let v: Value = serde_json::from_str(text)
            .map_err(|source| OutputError::Json { what: WHAT, source })?;
        let mut modules = v
            .get("modules")
            .and_then(Value::as_object)
            .cloned()
            .ok_or_else(|| OutputError::shape(WHAT, "no `modules`"))?;
        modules.retain(|_, m| {
            let attr = |name: &str| {
                m.get("attributes")
                    .and_then(|a| a.get(name))
                    .is_some_and(|b| param_value(b) != 0)
            };
            !attr("blackbox") && !attr("whitebox")
        });
        Ok(Netlist { modules })
    }

    fn cells(&self, module: &str) -> impl Iterator<Item = (&String, &Value)> {
        self.modules
            .get(module)
            .and_then(|m| m.get("cells"))
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|c| c.iter())
    }

    /// The module's area, submodules included.
    pub(crate) fn area(&self, target: Target, module: &str) -> Area {
        let mut area = Area::default();
        for (_, cell) in self.cells(module) {
            let ty = cell.get("type").and_then(Value::as_str).unwrap_or("?");
            if self.modules.contains_key(ty) {
                let sub = self.area(target, ty);
                area.add(&sub, 1);
            } else {
                area.add_cell(target, ty, cell, 1);
            }
        }
        area
    }

    /// The hierarchy under `top`, depth first, children in name order.
    pub(crate) fn hierarchy(&self, target: Target, top: &str) -> Vec<ModuleArea> {
        let mut out = Vec::new();
        self.walk(target, top, 0, &mut out);
        out
    }

    fn walk(&self, target: Target, module: &str, depth: u32, out: &mut Vec<ModuleArea>) {
        out.push(ModuleArea {
            module: module.to_string(),
            depth,
            area: self.area(target, module),
        });
        let children: BTreeSet<&str> = self
            .cells(module)
            .filter_map(|(_, c)| c.get("type").and_then(Value::as_str))
            .filter(|t| self.modules.contains_key(*t))
            .collect();
        for child in children {
            self.walk(target, child, depth + 1, out);
        }
    }

    /// Names of the nets in `module` (one per name, hierarchical names
    /// such as `g_lane[0].qk` for generate blocks) that an output of a
    /// multiplier block of `target` drives, at least in part.
    pub(crate) fn nets_driven_by_dsps(&self, target: Target, module: &str) -> BTreeSet<String> {
        let mut driven_bits = BTreeSet::new();
        for (_, cell) in self.cells(module) {
            let ty = cell.get("type").and_then(Value::as_str).unwrap_or("?");
            if target.classify(ty) != CellClass::Dsp {
                continue;
            }
            let dirs = cell.get("port_directions").and_then(Value::as_object);
            let conns = cell.get("connections").and_then(Value::as_object);
            let (Some(dirs), Some(conns)) = (dirs, conns) else {
                continue;
            };
            for (port, bits) in conns {
                if dirs.get(port).and_then(Value::as_str) != Some("output") {
                    continue;
                }
                for b in bits.as_array().into_iter().flatten() {
                    if let Some(n) = b.as_u64() {
                        driven_bits.insert(n);
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        let nets = self
            .modules
            .get(module)
            .and_then(|m| m.get("netnames"))
            .and_then(Value::as_object);
        for (name, net) in nets.into_iter().flatten() {
            let bits = net.get("bits").and_then(Value::as_array);
            if bits
                .into_iter()
                .flatten()
                .any(|b| b.as_u64().is_some_and(|n| driven_bits.contains(&n)))
            {
                out.insert(name.clone());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETLIST: &str = r#"{
      "modules": {
        "top": { "cells": {
            "u_a": { "type": "a", "connections": {} },
            "ff": { "type": "TRELLIS_FF", "connections": {} } } },
        "LUT4": { "attributes": { "blackbox": "00000000000000000000000000000001" } },
        "a": {
          "cells": {
            "m": { "type": "MULT18X18D",
                   "port_directions": { "A0": "input", "P0": "output" },
                   "connections": { "A0": [2], "P0": [5] } },
            "l": { "type": "LUT4", "connections": {} },
            "r": { "type": "DP16KD", "connections": {} } },
          "netnames": {
            "g_lane[0].qk": { "bits": [5, 6] },
            "g_lane[0].q_elem": { "bits": [2] } } }
      } }"#;

    #[test]
    fn areas_roll_up_and_multiplier_outputs_are_found() {
        let n = Netlist::parse(NETLIST).unwrap();
        let h = n.hierarchy(Target::Ecp5, "top");
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].area.cells, h[0].area.ffs, h[0].area.luts), (4, 1, 1));
        assert_eq!((h[1].area.dsps, h[1].area.brams, h[1].depth), (1, 1, 1));
        let driven = n.nets_driven_by_dsps(Target::Ecp5, "a");
        assert_eq!(driven.into_iter().collect::<Vec<_>>(), ["g_lane[0].qk"]);
    }

    #[test]
    fn memory_bits_from_binary_parameters() {
        let cell: Value = serde_json::from_str(
            r#"{ "parameters": { "WIDTH": "00000000000000000000000000010000", "SIZE": 4 } }"#,
        )
        .unwrap();
        let mut a = Area::default();
        a.add_cell(Target::Generic, "$mem_v2", &cell, 1);
        assert_eq!((a.memories, a.memory_bits), (1, 64));
    }
}
