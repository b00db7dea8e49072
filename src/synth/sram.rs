//! SRAM macros for the ASIC flow: the large memories of the design mapped
//! onto memory macros instead of flip-flops.
//!
//! An ASIC flow takes its large memories from a memory compiler: a macro
//! per memory shape, with a Liberty view (area, pins, timing) and a
//! layout. The OSU 0.18 µm library has no compiler, so the flow writes its
//! own views of each macro, from the assumptions below, and says so in
//! the report. The flow:
//!
//! 1. Yosys's coarse synthesis infers the memories (`$mem_v2` cells) and
//!    `dump` lists them; [`parse_memories`] reads that list.
//! 2. [`MacroPlan::new`] picks the memories worth a macro: one synchronous
//!    read port, one write port, at least [`MACRO_MIN_BITS`] bits and no
//!    `ram_style` other than `block`. The others (the buffer's tags, which
//!    the RTL marks `distributed`, and the small designs' memories) stay
//!    flip-flops, as a compiler's smallest macro would be larger.
//! 3. One two-port macro per shape, `2^abits` words of `width` bits
//!    ([`SramMacro`]): a `memory_libmap` rule that maps exactly the
//!    memories of that shape onto it, a blackbox module for Yosys
//!    ([`MacroPlan::blackboxes`]) and a Liberty cell for OpenSTA and the
//!    area ([`MacroPlan::liberty`]).
//!
//! The assumptions, which the figures through a macro depend on:
//!
//! - area: [`BITCELL_UM2`] per bit over an [`ARRAY_EFFICIENCY`] share of
//!   the macro (decoders, sense amplifiers and write drivers the rest);
//! - timing: read data [`ACCESS_NS`] after the read clock, address, data
//!   and enables [`SETUP_NS`] before the clock, whatever the size.
//!
//! They stand in for a compiler's figures; with a real compiler, its
//! Liberty files replace [`MacroPlan::liberty`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Memories of at least this many bits (words × width) become macros.
/// 256 bytes: a compiled macro smaller than that is mostly periphery.
pub const MACRO_MIN_BITS: u64 = 2048;

/// Assumed area of one six-transistor SRAM bit cell at 0.18 µm, µm².
pub const BITCELL_UM2: f64 = 5.6;

/// Assumed share of a macro's area that is bit cells.
pub const ARRAY_EFFICIENCY: f64 = 0.5;

/// Assumed time from the read clock's rising edge to valid read data, ns.
pub const ACCESS_NS: f64 = 3.0;

/// Assumed setup of a macro's inputs before the clock's rising edge, ns.
pub const SETUP_NS: f64 = 0.5;

/// Assumed hold of a macro's inputs after the clock's rising edge, ns.
pub const HOLD_NS: f64 = 0.1;

/// Capacitance of a macro input pin, pF: the upper end of an OSU 0.18 µm
/// cell input (DFFPOSX1's D is 8.8 fF, its CLK 28 fF).
pub const PIN_CAPACITANCE_PF: f64 = 0.03;

/// Transition time (20 to 80 %) of a macro's read data, ns, whatever its
/// load: like [`ACCESS_NS`], a fixed figure.
pub const OUTPUT_TRANSITION_NS: f64 = 0.2;

/// Prefix of every macro's cell name.
pub const PREFIX: &str = "SPRINT_SRAM_";

/// The blackbox modules' file in the design folder (read by Yosys).
pub const BLACKBOXES: &str = "sram_macros.v";

/// The macros' Liberty file in the design folder (read by OpenSTA).
pub const LIBERTY: &str = "sram_macros.lib";

/// One memory Yosys inferred (`$mem_v2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    /// The module that holds it.
    pub module: String,
    /// Its name in the module (`g_bank[0].bank_mem`).
    pub name: String,
    /// Words (`SIZE`).
    pub words: u64,
    /// Bits a word (`WIDTH`).
    pub width: u64,
    /// Read ports (`RD_PORTS`).
    pub read_ports: u64,
    /// Write ports (`WR_PORTS`).
    pub write_ports: u64,
    /// Every read port is clocked (`RD_CLK_ENABLE` all ones).
    pub sync_read: bool,
    /// The RTL's `ram_style` attribute, if any (`distributed` for the
    /// buffer's tags, `block` for the emulator's banks).
    pub ram_style: Option<String>,
}

impl Memory {
    /// Words × width.
    pub fn bits(&self) -> u64 {
        self.words * self.width
    }

    /// Whether the memory maps onto a two-port macro, is large enough to
    /// be worth one and is not marked for logic (a `ram_style` other than
    /// `block`, which `memory_libmap` would refuse to map onto a block
    /// RAM).
    pub fn wants_macro(&self) -> bool {
        self.read_ports == 1
            && self.write_ports == 1
            && self.sync_read
            && self.bits() >= MACRO_MIN_BITS
            && self.ram_style.as_deref().is_none_or(|s| s == "block")
    }
}

/// The `$mem_v2` cells of a Yosys `dump t:$mem_v2`, in order.
pub fn parse_memories(dump: &str) -> Vec<Memory> {
    let mut out: Vec<Memory> = Vec::new();
    let mut module = String::new();
    // Attributes come before their cell; parameters belong to the cell
    // until its `end` (a module's own parameters come outside any cell).
    let mut ram_style = None;
    let mut in_memory = false;
    for line in dump.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["module", name] => module = unescape(name),
            ["attribute", "\\ram_style", value] => {
                ram_style = Some(value.trim_matches('"').to_string());
            }
            ["cell", "$mem_v2", name] => {
                in_memory = true;
                out.push(Memory {
                    module: module.clone(),
                    name: unescape(name),
                    words: 0,
                    width: 0,
                    read_ports: 0,
                    write_ports: 0,
                    sync_read: false,
                    ram_style: ram_style.take(),
                })
            }
            ["cell", ..] => {
                in_memory = false;
                ram_style = None;
            }
            ["end"] => in_memory = false,
            ["parameter", param, value] | ["parameter", "signed", param, value] => {
                let Some(m) = out.last_mut().filter(|_| in_memory) else {
                    continue;
                };
                match param {
                    "\\SIZE" => m.words = number(value),
                    "\\WIDTH" => m.width = number(value),
                    "\\RD_PORTS" => m.read_ports = number(value),
                    "\\WR_PORTS" => m.write_ports = number(value),
                    "\\RD_CLK_ENABLE" => m.sync_read = all_ones(value),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// An RTLIL identifier without its `\` (public names).
fn unescape(id: &str) -> String {
    id.strip_prefix('\\').unwrap_or(id).to_string()
}

/// An RTLIL constant: a decimal integer, or `WIDTH'BITS` in binary.
fn number(value: &str) -> u64 {
    match value.split_once('\'') {
        Some((_, bits)) => u64::from_str_radix(bits, 2).unwrap_or(0),
        None => value.parse().unwrap_or(0),
    }
}

/// Whether an RTLIL constant `WIDTH'BITS` (or a decimal 1) has every bit set.
fn all_ones(value: &str) -> bool {
    match value.split_once('\'') {
        Some((_, bits)) => !bits.is_empty() && bits.chars().all(|c| c == '1'),
        None => value == "1",
    }
}

/// A two-port SRAM macro: `2^abits` words of `width` bits, one write port
/// (`PORT_W_*`) and one read port with a read enable (`PORT_R_*`), each
/// with its own clock. A read of the word being written returns the old
/// word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SramMacro {
    /// Address bits: the macro has `2^abits` words.
    pub abits: u32,
    /// Bits a word.
    pub width: u64,
}

impl SramMacro {
    /// `SPRINT_SRAM_<words>X<width>`.
    pub fn name(&self) -> String {
        format!("{PREFIX}{}X{}", self.words(), self.width)
    }

    /// Words: `2^abits`.
    pub fn words(&self) -> u64 {
        1 << self.abits
    }

    /// Capacity, bits: words × width.
    pub fn bits(&self) -> u64 {
        self.words() * self.width
    }

    /// `bits × BITCELL_UM2 / ARRAY_EFFICIENCY`, µm², to 0.1.
    pub fn area_um2(&self) -> f64 {
        (self.bits() as f64 * BITCELL_UM2 / ARRAY_EFFICIENCY * 10.0).round() / 10.0
    }

    /// The `memory_libmap` rule (Yosys's `memlib.md` format).
    fn libmap_rule(&self) -> String {
        format!(
            "ram block \\{name} {{\n    abits {abits};\n    width {width};\n    cost 1;\n    \
             init none;\n    port sw \"W\" {{\n        clock posedge;\n        \
             wrtrans all old;\n    }}\n    port sr \"R\" {{\n        clock posedge;\n        \
             rden;\n    }}\n}}\n",
            name = self.name(),
            abits = self.abits,
            width = self.width,
        )
    }

    /// The rule's file name in the design folder.
    fn libmap_file(&self) -> String {
        format!("{}.memlib", self.name().to_ascii_lowercase())
    }

    /// The blackbox module Yosys checks the macro's ports against.
    fn blackbox(&self) -> String {
        let a = self.abits - 1;
        let w = self.width - 1;
        format!(
            "(* blackbox *)\nmodule {name} (\n    input  wire PORT_W_CLK,\n    \
             input  wire [{a}:0] PORT_W_ADDR,\n    input  wire [{w}:0] PORT_W_WR_DATA,\n    \
             input  wire PORT_W_WR_EN,\n    input  wire PORT_R_CLK,\n    \
             input  wire [{a}:0] PORT_R_ADDR,\n    input  wire PORT_R_RD_EN,\n    \
             output wire [{w}:0] PORT_R_RD_DATA\n);\nendmodule\n",
            name = self.name()
        )
    }

    /// The macro's Liberty cell.
    fn liberty_cell(&self) -> String {
        let input = |pin: &str, bus: Option<u64>, clock: &str| {
            let kind = match bus {
                Some(n) => format!("bus ({pin}) {{\n      bus_type : {};", bus_type(n)),
                None => format!("pin ({pin}) {{"),
            };
            format!(
                "    {kind}\n      direction : input;\n      capacitance : {PIN_CAPACITANCE_PF};\n\
                 {setup}{hold}    }}\n",
                setup = constraint(clock, "setup_rising", SETUP_NS),
                hold = constraint(clock, "hold_rising", HOLD_NS),
            )
        };
        let clock = |pin: &str| {
            format!(
                "    pin ({pin}) {{\n      direction : input;\n      clock : true;\n      \
                 capacitance : {PIN_CAPACITANCE_PF};\n    }}\n"
            )
        };
        let (a, w) = (u64::from(self.abits), self.width);
        format!(
            "  cell ({name}) {{\n    area : {area};\n    dont_touch : true;\n    \
             dont_use : true;\n    interface_timing : true;\n    memory () {{\n      \
             type : ram;\n      address_width : {abits};\n      word_width : {w};\n    }}\n\
             {wclk}{waddr}{wdata}{wen}{rclk}{raddr}{ren}    bus (PORT_R_RD_DATA) {{\n      \
             bus_type : {wbus};\n      direction : output;\n      timing () {{\n        \
             related_pin : \"PORT_R_CLK\";\n        timing_type : rising_edge;\n{delay}      \
             }}\n    }}\n  }}\n",
            name = self.name(),
            area = self.area_um2(),
            abits = self.abits,
            wclk = clock("PORT_W_CLK"),
            waddr = input("PORT_W_ADDR", Some(a), "PORT_W_CLK"),
            wdata = input("PORT_W_WR_DATA", Some(w), "PORT_W_CLK"),
            wen = input("PORT_W_WR_EN", None, "PORT_W_CLK"),
            rclk = clock("PORT_R_CLK"),
            raddr = input("PORT_R_ADDR", Some(a), "PORT_R_CLK"),
            ren = input("PORT_R_RD_EN", None, "PORT_R_CLK"),
            wbus = bus_type(w),
            delay = [
                ("cell_rise", ACCESS_NS),
                ("cell_fall", ACCESS_NS),
                ("rise_transition", OUTPUT_TRANSITION_NS),
                ("fall_transition", OUTPUT_TRANSITION_NS),
            ]
            .map(|(table, ns)| format!("        {table} (scalar) {{ values (\"{ns}\"); }}\n"))
            .concat(),
        )
    }
}

/// The Liberty bus type of `bits` bits.
fn bus_type(bits: u64) -> String {
    format!("sprint_bus_{bits}")
}

/// A Liberty setup or hold arc of `ns` to the rising edge of `clock`.
fn constraint(clock: &str, kind: &str, ns: f64) -> String {
    format!(
        "      timing () {{\n        related_pin : \"{clock}\";\n        timing_type : {kind};\n\
         \x20       rise_constraint (scalar) {{ values (\"{ns}\"); }}\n\
         \x20       fall_constraint (scalar) {{ values (\"{ns}\"); }}\n      }}\n"
    )
}

/// A macro type in a synthesized design: how many and their area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroUse {
    /// The cell name, `SPRINT_SRAM_<words>X<width>`.
    pub name: String,
    /// Words of one macro.
    pub words: u64,
    /// Bits a word.
    pub width: u64,
    /// Instances in the synthesized block.
    pub count: u64,
    /// Area of one instance, µm² (assumed: [`SramMacro::area_um2`]).
    pub area_um2: f64,
}

/// Which memories become which macros.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MacroPlan {
    /// The macro types, by shape.
    pub macros: Vec<SramMacro>,
    /// `(words, width)` of the memories to map, each with its macro's
    /// index in `macros`.
    shapes: BTreeMap<(u64, u64), usize>,
    /// The `ram_style`s, other than `block`, of memories of a mapped shape
    /// that stay flip-flops: the shape's selection leaves them out.
    kept_styles: BTreeMap<(u64, u64), Vec<String>>,
}

impl MacroPlan {
    /// A macro for every shape of memory that [`Memory::wants_macro`].
    ///
    /// The mapping selects memories by shape, so a shape is left to
    /// flip-flops altogether when a memory of that shape that must stay
    /// flip-flops cannot be told apart by a `ram_style` other than
    /// `block` (it has two read ports, say): mapping it would duplicate
    /// the macro, or stop `memory_libmap`.
    pub fn new(memories: &[Memory]) -> MacroPlan {
        let mut plan = MacroPlan::default();
        let kept_style = |m: &Memory| m.ram_style.clone().filter(|s| s != "block");
        let unselectable: Vec<(u64, u64)> = memories
            .iter()
            .filter(|m| !m.wants_macro() && kept_style(m).is_none())
            .map(|m| (m.words, m.width))
            .collect();
        let wanted = memories
            .iter()
            .filter(|m| m.wants_macro() && !unselectable.contains(&(m.words, m.width)));
        for m in wanted {
            // The depth rounded up to a power of two: a memory's address
            // ports (ABITS) can be wider than its words need.
            let sram = SramMacro {
                abits: (64 - m.words.saturating_sub(1).leading_zeros()).max(1),
                width: m.width,
            };
            let index = match plan.macros.iter().position(|s| *s == sram) {
                Some(i) => i,
                None => {
                    plan.macros.push(sram);
                    plan.macros.len() - 1
                }
            };
            plan.shapes.insert((m.words, m.width), index);
        }
        for m in memories.iter().filter(|m| !m.wants_macro()) {
            let shape = (m.words, m.width);
            if let (true, Some(style)) = (plan.shapes.contains_key(&shape), kept_style(m)) {
                let styles = plan.kept_styles.entry(shape).or_default();
                if !styles.contains(&style) {
                    styles.push(style);
                }
            }
        }
        plan
    }

    /// Whether no memory becomes a macro.
    pub fn is_empty(&self) -> bool {
        self.macros.is_empty()
    }

    /// The files to write into the design folder before the Yosys commands
    /// of [`MacroPlan::yosys_commands`] run: each macro's rule, the
    /// blackboxes and the Liberty views.
    pub fn files(&self) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = self
            .macros
            .iter()
            .map(|m| (m.libmap_file(), m.libmap_rule()))
            .collect();
        files.push((BLACKBOXES.into(), self.blackboxes()));
        files.push((LIBERTY.into(), self.liberty()));
        files
    }

    /// Yosys commands, after coarse synthesis, that map each planned
    /// memory onto its macro: `memory_libmap` once per shape, restricted
    /// to the memories of exactly that shape.
    pub fn yosys_commands(&self) -> String {
        let mut cmds = format!("read_verilog -lib {BLACKBOXES}; ");
        for (shape @ &(words, width), &i) in &self.shapes {
            let kept: String = self
                .kept_styles
                .get(shape)
                .into_iter()
                .flatten()
                .map(|style| format!(" a:ram_style={style} %d"))
                .collect();
            cmds += &format!(
                "memory_libmap -lib {} t:$mem_v2 r:SIZE={words} %i r:WIDTH={width} %i{kept}; ",
                self.macros[i].libmap_file()
            );
        }
        cmds
    }

    /// One blackbox module per macro.
    pub fn blackboxes(&self) -> String {
        self.macros.iter().map(SramMacro::blackbox).collect()
    }

    /// The Liberty library of the macros, in the OSU library's units (ns,
    /// pF, µm²) and thresholds.
    pub fn liberty(&self) -> String {
        let mut widths: Vec<u64> = self
            .macros
            .iter()
            .flat_map(|m| [u64::from(m.abits), m.width])
            .collect();
        widths.sort_unstable();
        widths.dedup();
        let types: String = widths
            .iter()
            .map(|&n| {
                format!(
                    "  type ({}) {{ base_type : array; data_type : bit; bit_width : {n}; \
                     bit_from : {}; bit_to : 0; downto : true; }}\n",
                    bus_type(n),
                    n - 1
                )
            })
            .collect();
        let cells: String = self.macros.iter().map(SramMacro::liberty_cell).collect();
        format!(
            "/* SRAM macros with assumed area and timing: see src/synth/sram.rs. */\n\
             library (sprint_sram_macros) {{\n  delay_model : table_lookup;\n  \
             time_unit : \"1ns\";\n  voltage_unit : \"1V\";\n  current_unit : \"1uA\";\n  \
             pulling_resistance_unit : \"1kohm\";\n  leakage_power_unit : \"1nW\";\n  \
             capacitive_load_unit (1, pf);\n  slew_upper_threshold_pct_rise : 80;\n  \
             slew_lower_threshold_pct_rise : 20;\n  slew_upper_threshold_pct_fall : 80;\n  \
             slew_lower_threshold_pct_fall : 20;\n  input_threshold_pct_rise : 50;\n  \
             input_threshold_pct_fall : 50;\n  output_threshold_pct_rise : 50;\n  \
             output_threshold_pct_fall : 50;\n  nom_process : 1;\n  nom_voltage : 1.8;\n  \
             nom_temperature : 25;\n{types}{cells}}}\n"
        )
    }

    /// Each macro's cell area, µm², by cell name.
    pub fn cell_areas(&self) -> BTreeMap<String, f64> {
        self.macros
            .iter()
            .map(|m| (m.name(), m.area_um2()))
            .collect()
    }

    /// The macros among `cells_by_type` (a block's cells), with their
    /// counts.
    pub fn uses(&self, cells_by_type: &BTreeMap<String, u64>) -> Vec<MacroUse> {
        self.macros
            .iter()
            .filter_map(|m| {
                let count = *cells_by_type.get(&m.name())?;
                Some(MacroUse {
                    name: m.name(),
                    words: m.words(),
                    width: m.width,
                    count,
                    area_um2: m.area_um2(),
                })
            })
            .collect()
    }
}

/// Bits of a macro cell type, from its name (`SPRINT_SRAM_1024X64`);
/// `None` for other cells.
pub fn bits_of(cell_type: &str) -> Option<u64> {
    let (words, width) = cell_type.strip_prefix(PREFIX)?.split_once('X')?;
    Some(words.parse::<u64>().ok()? * width.parse::<u64>().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "\
module \\s_buffer
  cell $mem_v2 \\g_bank[0].bank_mem
    parameter \\ABITS 10
    parameter \\MEMID \"\\\\g_bank[0].bank_mem\"
    parameter \\RD_CLK_ENABLE 1'1
    parameter \\RD_PORTS 1
    parameter \\SIZE 1024
    parameter \\WIDTH 64
    parameter \\WR_PORTS 1
    connect \\RD_ARST 1'0
  end
  attribute \\ram_style \"distributed\"
  attribute \\src \"rtl/s_buffer.v:88.20-88.27\"
  cell $mem_v2 \\tag_mem
    parameter \\ABITS 9
    parameter \\RD_CLK_ENABLE 1'1
    parameter \\RD_PORTS 1
    parameter \\SIZE 500
    parameter \\WIDTH 9
    parameter \\WR_PORTS 1
  end
module \\s_controller
  cell $mem_v2 \\list_mem
    parameter \\ABITS 12
    parameter \\RD_CLK_ENABLE 1'1
    parameter \\RD_PORTS 1
    parameter \\SIZE 500
    parameter \\WIDTH 9
    parameter \\WR_PORTS 1
  end
  cell $mem_v2 \\async_mem
    parameter \\ABITS 12
    parameter \\RD_CLK_ENABLE 1'0
    parameter \\RD_PORTS 1
    parameter \\SIZE 4096
    parameter \\WIDTH 8
    parameter \\WR_PORTS 1
  end
";

    #[test]
    fn memories_are_read_from_the_dump() {
        let m = parse_memories(DUMP);
        assert_eq!(m.len(), 4);
        assert_eq!(
            (m[0].module.as_str(), m[0].name.as_str()),
            ("s_buffer", "g_bank[0].bank_mem")
        );
        assert_eq!((m[0].words, m[0].width), (1024, 64));
        assert!(m[0].sync_read && m[0].wants_macro());
        assert_eq!(m[0].ram_style, None);
        assert_eq!(m[1].ram_style.as_deref(), Some("distributed"));
        assert!(!m[1].wants_macro(), "marked distributed: flip-flops");
        assert_eq!(m[2].module, "s_controller");
        assert!(m[2].wants_macro(), "500 x 9 = 4500 bits");
        assert!(
            !m[3].sync_read && !m[3].wants_macro(),
            "an asynchronous read"
        );
    }

    #[test]
    fn one_macro_per_shape_rounded_to_a_power_of_two() {
        let plan = MacroPlan::new(&parse_memories(DUMP));
        let names: Vec<String> = plan.macros.iter().map(SramMacro::name).collect();
        // list_mem: 500 words with 12-bit addresses is a 512-word macro.
        assert_eq!(names, ["SPRINT_SRAM_1024X64", "SPRINT_SRAM_512X9"]);
        assert_eq!(
            plan.macros[0].area_um2(),
            65536.0 * BITCELL_UM2 / ARRAY_EFFICIENCY
        );
        let cmds = plan.yosys_commands();
        assert!(
            cmds.contains(
                "memory_libmap -lib sprint_sram_512x9.memlib t:$mem_v2 r:SIZE=500 %i r:WIDTH=9 %i \
                 a:ram_style=distributed %d;"
            ),
            "{cmds}"
        );
        assert_eq!(cmds.matches("memory_libmap").count(), 2);
        assert_eq!(bits_of("SPRINT_SRAM_512X9"), Some(4608));
        assert_eq!(bits_of("DFFPOSX1"), None);
    }

    #[test]
    fn views_agree_on_the_pins() {
        let plan = MacroPlan::new(&parse_memories(DUMP));
        let lib = plan.liberty();
        let bb = plan.blackboxes();
        for pin in [
            "PORT_W_CLK",
            "PORT_W_ADDR",
            "PORT_W_WR_DATA",
            "PORT_W_WR_EN",
            "PORT_R_CLK",
            "PORT_R_ADDR",
            "PORT_R_RD_EN",
            "PORT_R_RD_DATA",
        ] {
            assert_eq!(
                lib.matches(&format!("({pin})")).count(),
                2,
                "{pin} in the lib"
            );
            let in_bb =
                bb.matches(&format!(" {pin},")).count() + bb.matches(&format!(" {pin}\n")).count();
            assert_eq!(in_bb, 2, "{pin} in the blackboxes");
        }
        assert!(bb.contains("input  wire [9:0] PORT_W_ADDR"));
        assert!(lib.contains("type (sprint_bus_64)") && lib.contains("bit_from : 63"));
        assert_eq!(lib.matches('{').count(), lib.matches('}').count());
        let rule = plan.macros[1].libmap_rule();
        assert!(rule.starts_with("ram block \\SPRINT_SRAM_512X9 {") && rule.contains("abits 9;"));
        let uses = plan.uses(&BTreeMap::from([("SPRINT_SRAM_1024X64".to_string(), 2)]));
        assert_eq!(uses.len(), 1);
        assert_eq!((uses[0].words, uses[0].width, uses[0].count), (1024, 64, 2));
    }

    #[test]
    fn a_shape_with_a_memory_that_must_stay_flip_flops_gets_no_macro() {
        let mut m = parse_memories(DUMP);
        let mut two_reads = m[0].clone();
        two_reads.read_ports = 2;
        m.push(two_reads);
        let plan = MacroPlan::new(&m);
        let names: Vec<String> = plan.macros.iter().map(SramMacro::name).collect();
        assert_eq!(
            names,
            ["SPRINT_SRAM_512X9"],
            "1024 x 64 is left to flip-flops"
        );
        let mut block = m[0].clone();
        block.ram_style = Some("block".into());
        block.sync_read = false;
        let plan = MacroPlan::new(&[m[0].clone(), block]);
        assert!(
            plan.is_empty(),
            "a block-styled memory cannot be told apart"
        );
    }

    #[test]
    fn module_parameters_are_not_a_memorys() {
        let dump = "module \\a\n  cell $mem_v2 \\m\n    parameter \\SIZE 1024\n  end\n\
                    module \\b\n  parameter \\SIZE 7\nend\n";
        let m = parse_memories(dump);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].words, 1024);
    }

    #[test]
    fn no_memory_no_macro() {
        let plan = MacroPlan::new(&[]);
        assert!(plan.is_empty());
        assert_eq!(parse_memories("module \\m\nend\n"), []);
    }
}
