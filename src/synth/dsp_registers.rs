//! ECP5 multiplier register packing: the flip-flops right before and right
//! after a `MULT18X18D` become its input and output registers.
//!
//! Yosys's `synth_ecp5` maps each multiplier to a `MULT18X18D` without
//! registers: it has no ECP5 counterpart of `ice40_dsp` or `xilinx_dsp`,
//! the passes that move registers into the multiplier blocks of iCE40 and
//! Xilinx parts. A registered product `p_q <= a_q * b_q` then becomes a
//! fabric flip-flop, a combinational multiplier block and a fabric
//! flip-flop, and nextpnr times the block's multiplier array (3.9 ns at
//! speed grade 6) between two trips through the routing. Lattice's own
//! synthesis puts such registers into the block (`REG_INPUTA_CLK`,
//! `REG_INPUTB_CLK`, `REG_OUTPUT_CLK`; Lattice TN1267, *ECP5 and ECP5-5G
//! sysDSP Usage Guide*), and [`pack`] does the same on the flattened
//! netlist that nextpnr reads.
//!
//! A group of flip-flops (the ones feeding operand A, operand B, or fed by
//! the product P) moves into the block when every one of them
//! - is a `TRELLIS_FF` clocked on the rising edge (`CLKMUX` `CLK`), with
//!   no set or reset (`LSR` tied to 0) and `GSR` disabled;
//! - shares the group's clock and clock enable (an always-enabled
//!   `CEMUX` `1`, or one `CE` net);
//! - for an operand: has its output used by that operand's pins alone;
//!   for the product: takes a product bit that feeds nothing but it.
//!
//! The two operands move together or not at all (nextpnr times a block with
//! one registered operand as if neither were), an operand whose pins are
//! all constants counting as registered (its register loads the constant
//! at the first clock edge). The block takes the group's clock on `CLK0`,
//! a clock enable per distinct enable on `CE0`..`CE3`, and `RST0` tied to 0.
//! The cycle behaviour is unchanged: each register keeps its clock, enable
//! and place in the pipeline.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::OutputError;

/// What the errors of this pass name.
const NETLIST: &str = "netlist JSON";

const MULTIPLIER: &str = "MULT18X18D";
const FLIP_FLOP: &str = "TRELLIS_FF";
/// Operand pins A0..A17, B0..B17; product pins P0..P35.
const OPERAND_BITS: usize = 18;
const PRODUCT_BITS: usize = 36;
const CLOCK_ENABLES: usize = 4;

/// What [`pack`] moved into the multiplier blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterPacking {
    /// `MULT18X18D` blocks in the netlist.
    pub multipliers: u32,
    /// Blocks whose operands are now registered inside.
    pub registered_inputs: u32,
    /// Blocks whose product is now registered inside.
    pub registered_outputs: u32,
    /// Fabric flip-flops removed (each is now a bit of a block's register).
    pub flip_flops: u32,
}

/// A net bit or a constant, as Yosys's JSON writes a connection.
type Bit = Value;

/// A cell's pin: cell name and port name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pin {
    cell: String,
    port: String,
}

/// Which pins drive and which read each net of the top module.
struct Connectivity {
    drivers: HashMap<u64, Pin>,
    readers: HashMap<u64, Vec<Pin>>,
}

/// A fabric register group that can move into a block: its flip-flops, its
/// clock net and its clock enable (a net, or the constant `"1"`).
struct Group {
    flip_flops: BTreeSet<String>,
    clock: Option<Bit>,
    enable: Bit,
}

/// What one block takes: its clock and the enables it has given ports.
#[derive(Default)]
struct BlockPorts {
    clock: Option<Bit>,
    enables: Vec<Bit>,
}

impl BlockPorts {
    /// The `CEn` port for `group`, or `None` when the group's clock differs
    /// from the block's or the block has no enable port left.
    fn admit(&mut self, group: &Group) -> Option<String> {
        match (&self.clock, &group.clock) {
            (Some(a), Some(b)) if a != b => return None,
            (None, Some(b)) => self.clock = Some(b.clone()),
            _ => {}
        }
        let index = match self.enables.iter().position(|e| *e == group.enable) {
            Some(i) => i,
            None if self.enables.len() < CLOCK_ENABLES => {
                self.enables.push(group.enable.clone());
                self.enables.len() - 1
            }
            None => return None,
        };
        Some(format!("CE{index}"))
    }
}

/// Moves registers into the `MULT18X18D` blocks of the top module of a
/// flattened Yosys `write_json` netlist, in place.
///
/// Errors: a netlist without a top module or whose cells are not in
/// Yosys's JSON shape.
pub fn pack(netlist: &mut Value) -> Result<RegisterPacking, OutputError> {
    let module = top_module(netlist)?;
    let connectivity = Connectivity::of(module)?;
    let cells = module
        .get_mut("cells")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| OutputError::shape(NETLIST, "the top module has no cells"))?;
    let blocks: Vec<String> = cells
        .iter()
        .filter(|(_, c)| cell_type(c) == MULTIPLIER)
        .map(|(name, _)| name.clone())
        .collect();
    let mut packing = RegisterPacking {
        multipliers: blocks.len() as u32,
        ..RegisterPacking::default()
    };
    let mut removed = BTreeSet::new();
    for block in &blocks {
        let mut ports = BlockPorts::default();
        let inputs = ['A', 'B'].map(|operand| {
            operand_group(cells, &connectivity, block, operand).filter(|g| g.is_disjoint(&removed))
        });
        if let [Some(a), Some(b)] = &inputs
            && !(a.flip_flops.is_empty() && b.flip_flops.is_empty())
        {
            let enables = [ports.admit(a), ports.admit(b)];
            if let [Some(ce_a), Some(ce_b)] = enables {
                for (operand, group, ce) in [('A', a, ce_a), ('B', b, ce_b)] {
                    move_operand_register(cells, block, operand, group, &ce);
                    removed.extend(group.flip_flops.iter().cloned());
                    packing.flip_flops += group.flip_flops.len() as u32;
                }
                packing.registered_inputs += 1;
            } else {
                ports = BlockPorts::default();
            }
        }
        if let Some((group, by_bit)) =
            product_group(cells, &connectivity, block).filter(|(g, _)| g.is_disjoint(&removed))
            && let Some(ce) = ports.admit(&group)
        {
            move_product_register(cells, block, &by_bit, &ce);
            removed.extend(group.flip_flops.iter().cloned());
            packing.flip_flops += group.flip_flops.len() as u32;
            packing.registered_outputs += 1;
        }
        if ports.clock.is_some() || !ports.enables.is_empty() {
            connect_control(cells, block, &ports);
        }
    }
    for name in &removed {
        cells.remove(name);
    }
    Ok(packing)
}

impl Group {
    fn is_disjoint(&self, removed: &BTreeSet<String>) -> bool {
        self.flip_flops.is_disjoint(removed)
    }
}

fn top_module(netlist: &mut Value) -> Result<&mut Map<String, Value>, OutputError> {
    let modules = netlist
        .get_mut("modules")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| OutputError::shape(NETLIST, "no `modules`"))?;
    let top = modules
        .iter()
        .find(|(_, m)| {
            m.get("attributes")
                .and_then(|a| a.get("top"))
                .is_some_and(|t| t.as_str().is_some_and(|s| s.contains('1')) || t == 1)
        })
        .map(|(name, _)| name.clone())
        .ok_or_else(|| OutputError::shape(NETLIST, "no top module"))?;
    modules
        .get_mut(&top)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| OutputError::shape(NETLIST, format!("module {top} is not an object")))
}

fn cell_type(cell: &Value) -> &str {
    cell.get("type").and_then(Value::as_str).unwrap_or("")
}

/// A cell parameter as text, without the trailing space Yosys adds to
/// strings that would read as binary numbers.
fn text_param<'a>(cell: &'a Value, name: &str) -> &'a str {
    cell.get("parameters")
        .and_then(|p| p.get(name))
        .and_then(Value::as_str)
        .map_or("", str::trim_end)
}

fn pin_bits<'a>(cell: &'a Value, port: &str) -> &'a [Bit] {
    cell.get("connections")
        .and_then(|c| c.get(port))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The single bit a one-bit pin connects to.
fn pin_bit<'a>(cell: &'a Value, port: &str) -> Option<&'a Bit> {
    match pin_bits(cell, port) {
        [bit] => Some(bit),
        _ => None,
    }
}

impl Connectivity {
    fn of(module: &Map<String, Value>) -> Result<Connectivity, OutputError> {
        let mut drivers = HashMap::new();
        let mut readers: HashMap<u64, Vec<Pin>> = HashMap::new();
        let cells = module
            .get("cells")
            .and_then(Value::as_object)
            .ok_or_else(|| OutputError::shape(NETLIST, "the top module has no cells"))?;
        for (name, cell) in cells {
            let directions = cell.get("port_directions").and_then(Value::as_object);
            let connections = cell.get("connections").and_then(Value::as_object);
            let (Some(directions), Some(connections)) = (directions, connections) else {
                return Err(OutputError::shape(
                    NETLIST,
                    format!("cell {name} has no connections"),
                ));
            };
            for (port, bits) in connections {
                let output = directions.get(port).and_then(Value::as_str) == Some("output");
                for net in bits
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                {
                    let pin = Pin {
                        cell: name.clone(),
                        port: port.clone(),
                    };
                    if output {
                        drivers.insert(net, pin);
                    } else {
                        readers.entry(net).or_default().push(pin);
                    }
                }
            }
        }
        // The module's own ports: inputs drive, outputs read.
        let ports = module.get("ports").and_then(Value::as_object);
        for (port, p) in ports.into_iter().flatten() {
            let input = p.get("direction").and_then(Value::as_str) == Some("input");
            let bits = p.get("bits").and_then(Value::as_array);
            for net in bits.into_iter().flatten().filter_map(Value::as_u64) {
                let pin = Pin {
                    cell: String::new(),
                    port: port.clone(),
                };
                if input {
                    drivers.insert(net, pin);
                } else {
                    readers.entry(net).or_default().push(pin);
                }
            }
        }
        Ok(Connectivity { drivers, readers })
    }

    fn readers(&self, net: u64) -> &[Pin] {
        self.readers.get(&net).map_or(&[], Vec::as_slice)
    }
}

/// The flip-flop's clock and enable when it may move into a block.
fn movable_flip_flop(cell: &Value) -> Option<(Bit, Bit)> {
    if cell_type(cell) != FLIP_FLOP
        || text_param(cell, "CLKMUX") != "CLK"
        || text_param(cell, "GSR") != "DISABLED"
        || pin_bits(cell, "LSR").iter().any(|b| b != "0")
    {
        return None;
    }
    let enable = match text_param(cell, "CEMUX") {
        "1" => Value::from("1"),
        "CE" => pin_bit(cell, "CE")?.clone(),
        _ => return None,
    };
    let clock = pin_bit(cell, "CLK")?.clone();
    clock.is_u64().then_some((clock, enable))
}

/// Collects flip-flops into a group; `None` when they disagree on clock or
/// enable.
fn group_of<'a>(
    cells: &Map<String, Value>,
    flip_flops: impl IntoIterator<Item = &'a String>,
) -> Option<Group> {
    let mut group: Option<Group> = None;
    for name in flip_flops {
        let (clock, enable) = movable_flip_flop(cells.get(name)?)?;
        match &mut group {
            None => {
                group = Some(Group {
                    flip_flops: BTreeSet::from([name.clone()]),
                    clock: Some(clock),
                    enable,
                })
            }
            Some(g) if g.clock.as_ref() == Some(&clock) && g.enable == enable => {
                g.flip_flops.insert(name.clone());
            }
            Some(_) => return None,
        }
    }
    group
}

/// The flip-flops driving operand `operand` of `block`, when they may move
/// in; an operand of constants alone gives an empty group (always enabled).
fn operand_group(
    cells: &Map<String, Value>,
    connectivity: &Connectivity,
    block: &str,
    operand: char,
) -> Option<Group> {
    let cell = cells.get(block)?;
    let is_operand_pin = |pin: &Pin| {
        pin.cell == block
            && pin
                .port
                .strip_prefix(operand)
                .is_some_and(|i| i.parse::<usize>().is_ok())
    };
    let mut flip_flops = BTreeSet::new();
    for i in 0..OPERAND_BITS {
        let Some(net) = pin_bit(cell, &format!("{operand}{i}"))?.as_u64() else {
            continue; // a constant bit
        };
        let driver = connectivity.drivers.get(&net)?;
        if driver.port != "Q" || !connectivity.readers(net).iter().all(is_operand_pin) {
            return None;
        }
        flip_flops.insert(driver.cell.clone());
    }
    if flip_flops.is_empty() {
        return Some(Group {
            flip_flops,
            clock: None,
            enable: Value::from("1"),
        });
    }
    group_of(cells, &flip_flops)
}

/// The flip-flops the product of `block` feeds, by product bit, when they
/// may move in.
fn product_group(
    cells: &Map<String, Value>,
    connectivity: &Connectivity,
    block: &str,
) -> Option<(Group, BTreeMap<usize, String>)> {
    let cell = cells.get(block)?;
    let mut by_bit = BTreeMap::new();
    for i in 0..PRODUCT_BITS {
        let Some(net) = pin_bit(cell, &format!("P{i}")).and_then(Value::as_u64) else {
            continue;
        };
        match connectivity.readers(net) {
            [] => {}
            [reader] if reader.port == "DI" && !reader.cell.is_empty() => {
                by_bit.insert(i, reader.cell.clone());
            }
            _ => return None,
        }
    }
    let group = group_of(cells, by_bit.values())?;
    Some((group, by_bit))
}

fn set_param(cell: &mut Value, name: &str, value: &str) {
    if let Some(params) = cell.get_mut("parameters").and_then(Value::as_object_mut) {
        params.insert(name.into(), Value::from(value));
    }
}

fn connect(cell: &mut Value, port: &str, bit: Bit) {
    if let Some(c) = cell.get_mut("connections").and_then(Value::as_object_mut) {
        c.insert(port.into(), Value::Array(vec![bit]));
    }
    if let Some(d) = cell
        .get_mut("port_directions")
        .and_then(Value::as_object_mut)
    {
        d.insert(port.into(), Value::from("input"));
    }
}

/// Rewires the operand's pins from the flip-flops' outputs to their inputs
/// and turns on the block's register for it.
fn move_operand_register(
    cells: &mut Map<String, Value>,
    block: &str,
    operand: char,
    group: &Group,
    enable_port: &str,
) {
    let d_of: HashMap<Bit, Bit> = group
        .flip_flops
        .iter()
        .filter_map(|ff| {
            let cell = cells.get(ff)?;
            Some((pin_bit(cell, "Q")?.clone(), pin_bit(cell, "DI")?.clone()))
        })
        .collect();
    let Some(cell) = cells.get_mut(block) else {
        return;
    };
    for i in 0..OPERAND_BITS {
        let port = format!("{operand}{i}");
        if let Some(d) = pin_bit(cell, &port).and_then(|q| d_of.get(q)).cloned() {
            connect(cell, &port, d);
        }
    }
    set_param(cell, &format!("REG_INPUT{operand}_CLK"), "CLK0");
    set_param(cell, &format!("REG_INPUT{operand}_CE"), enable_port);
    set_param(cell, &format!("REG_INPUT{operand}_RST"), "RST0");
}

/// Drives the flip-flops' outputs from the product pins and turns on the
/// block's output register.
fn move_product_register(
    cells: &mut Map<String, Value>,
    block: &str,
    by_bit: &BTreeMap<usize, String>,
    enable_port: &str,
) {
    let q_of: BTreeMap<usize, Bit> = by_bit
        .iter()
        .filter_map(|(i, ff)| Some((*i, pin_bit(cells.get(ff)?, "Q")?.clone())))
        .collect();
    let Some(cell) = cells.get_mut(block) else {
        return;
    };
    if let Some(c) = cell.get_mut("connections").and_then(Value::as_object_mut) {
        for (i, q) in q_of {
            c.insert(format!("P{i}"), Value::Array(vec![q]));
        }
    }
    set_param(cell, "REG_OUTPUT_CLK", "CLK0");
    set_param(cell, "REG_OUTPUT_CE", enable_port);
    set_param(cell, "REG_OUTPUT_RST", "RST0");
}

/// Connects the block's clock, enables and reset, and disables its GSR
/// (the fabric registers it took had none).
fn connect_control(cells: &mut Map<String, Value>, block: &str, ports: &BlockPorts) {
    let Some(cell) = cells.get_mut(block) else {
        return;
    };
    if let Some(clock) = &ports.clock {
        connect(cell, "CLK0", clock.clone());
    }
    for (i, enable) in ports.enables.iter().enumerate() {
        connect(cell, &format!("CE{i}"), enable.clone());
    }
    connect(cell, "RST0", Value::from("0"));
    set_param(cell, "GSR", "DISABLED");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A `TRELLIS_FF` from `d` to `q`, clock net 1, enable `ce` (or always).
    fn ff(d: Value, q: u64, ce: Option<u64>, lsr: Value) -> Value {
        let mut connections = json!({ "CLK": [1], "DI": [d], "Q": [q], "LSR": [lsr] });
        let mut params = json!({ "CLKMUX": "CLK", "GSR": "DISABLED", "LSRMUX": "LSR",
                                 "REGSET": "RESET", "CEMUX": "1 " });
        if let Some(ce) = ce {
            connections["CE"] = json!([ce]);
            params["CEMUX"] = json!("CE");
        }
        let directions: Map<String, Value> = connections
            .as_object()
            .unwrap()
            .keys()
            .map(|k| (k.clone(), json!(if k == "Q" { "output" } else { "input" })))
            .collect();
        json!({ "type": FLIP_FLOP, "parameters": params, "port_directions": directions,
                "connections": connections })
    }

    /// A multiplier with A0 = `a`, B0 = `b` (other operand bits constant 0)
    /// and P0 = `p`, P1 = `p1`.
    fn multiplier(a: Value, b: Value, p: u64, p1: u64) -> Value {
        let mut connections = Map::new();
        let mut directions = Map::new();
        for operand in ['A', 'B'] {
            for i in 0..OPERAND_BITS {
                let bit = match (operand, i) {
                    ('A', 0) => a.clone(),
                    ('B', 0) => b.clone(),
                    _ => json!("0"),
                };
                connections.insert(format!("{operand}{i}"), json!([bit]));
                directions.insert(format!("{operand}{i}"), json!("input"));
            }
        }
        connections.insert("P0".into(), json!([p]));
        connections.insert("P1".into(), json!([p1]));
        directions.insert("P0".into(), json!("output"));
        directions.insert("P1".into(), json!("output"));
        json!({ "type": MULTIPLIER, "parameters": {}, "port_directions": directions,
                "connections": connections })
    }

    /// in 10, 11 -> a_q (20), b_q (21) -> multiplier (P 30, 31) -> p_q (40, 41) -> out.
    fn registered_product(b_enable: Option<u64>) -> Value {
        json!({ "modules": { "top": {
            "attributes": { "top": "00000000000000000000000000000001" },
            "ports": {
                "clk": { "direction": "input", "bits": [1] },
                "ce": { "direction": "input", "bits": [2] },
                "a": { "direction": "input", "bits": [10] },
                "b": { "direction": "input", "bits": [11] },
                "p": { "direction": "output", "bits": [40, 41] }
            },
            "cells": {
                "a_q": ff(json!(10), 20, None, json!("0")),
                "b_q": ff(json!(11), 21, b_enable, json!("0")),
                "mul": multiplier(json!(20), json!(21), 30, 31),
                "p_q0": ff(json!(30), 40, Some(2), json!("0")),
                "p_q1": ff(json!(31), 41, Some(2), json!("0"))
            }
        }}})
    }

    fn cells(netlist: &Value) -> &Map<String, Value> {
        netlist["modules"]["top"]["cells"].as_object().unwrap()
    }

    #[test]
    fn operand_and_product_registers_move_into_the_block() {
        let mut netlist = registered_product(Some(2));
        let packing = pack(&mut netlist).unwrap();
        assert_eq!(
            packing,
            RegisterPacking {
                multipliers: 1,
                registered_inputs: 1,
                registered_outputs: 1,
                flip_flops: 4,
            }
        );
        let cells = cells(&netlist);
        assert_eq!(cells.keys().collect::<Vec<_>>(), ["mul"]);
        let m = &cells["mul"];
        // Operands now read the registers' inputs, the product drives their outputs.
        assert_eq!(m["connections"]["A0"], json!([10]));
        assert_eq!(m["connections"]["B0"], json!([11]));
        assert_eq!(m["connections"]["P0"], json!([40]));
        assert_eq!(m["connections"]["P1"], json!([41]));
        assert_eq!(m["connections"]["CLK0"], json!([1]));
        // a_q is always enabled (CE0 = 1); b_q and p_q share the enable net 2 (CE1).
        assert_eq!(m["connections"]["CE0"], json!(["1"]));
        assert_eq!(m["connections"]["CE1"], json!([2]));
        assert_eq!(m["connections"]["RST0"], json!(["0"]));
        let p = &m["parameters"];
        assert_eq!(p["REG_INPUTA_CLK"], "CLK0");
        assert_eq!(p["REG_INPUTA_CE"], "CE0");
        assert_eq!(p["REG_INPUTB_CE"], "CE1");
        assert_eq!(p["REG_OUTPUT_CLK"], "CLK0");
        assert_eq!(p["REG_OUTPUT_CE"], "CE1");
        assert_eq!(p["GSR"], "DISABLED");
    }

    #[test]
    fn a_register_with_a_reset_stays_in_the_fabric_with_its_partner() {
        let mut netlist = registered_product(None);
        // b_q has a reset: neither operand moves (nextpnr would time a
        // half-registered block as unregistered); the product still does.
        netlist["modules"]["top"]["cells"]["b_q"]["connections"]["LSR"] = json!([2]);
        let packing = pack(&mut netlist).unwrap();
        assert_eq!(packing.registered_inputs, 0);
        assert_eq!(packing.registered_outputs, 1);
        let cells = cells(&netlist);
        assert!(cells.contains_key("a_q") && cells.contains_key("b_q"));
        assert_eq!(cells["mul"]["connections"]["A0"], json!([20]));
        assert!(cells["mul"]["parameters"].get("REG_INPUTA_CLK").is_none());
    }

    #[test]
    fn shared_registers_and_used_products_stay_in_the_fabric() {
        let mut netlist = registered_product(None);
        // a_q also feeds the module's output; P1 feeds logic besides p_q1.
        netlist["modules"]["top"]["ports"]["a_out"] =
            json!({ "direction": "output", "bits": [20] });
        netlist["modules"]["top"]["cells"]["lut"] = json!({
            "type": "LUT4", "parameters": {}, "port_directions": { "A": "input", "Z": "output" },
            "connections": { "A": [31], "Z": [50] }
        });
        let packing = pack(&mut netlist).unwrap();
        assert_eq!(packing.registered_inputs, 0);
        assert_eq!(packing.registered_outputs, 0);
        assert_eq!(packing.flip_flops, 0);
        assert_eq!(cells(&netlist).len(), 6);
    }

    #[test]
    fn a_constant_operand_counts_as_registered() {
        let mut netlist = registered_product(None);
        netlist["modules"]["top"]["cells"]["mul"]["connections"]["A0"] = json!(["1"]);
        netlist["modules"]["top"]["cells"]
            .as_object_mut()
            .unwrap()
            .remove("a_q");
        let packing = pack(&mut netlist).unwrap();
        assert_eq!(packing.registered_inputs, 1);
        assert_eq!(packing.flip_flops, 3);
        let m = &cells(&netlist)["mul"];
        assert_eq!(m["connections"]["A0"], json!(["1"]));
        assert_eq!(m["parameters"]["REG_INPUTA_CLK"], "CLK0");
    }
}
