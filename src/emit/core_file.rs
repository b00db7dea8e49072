//! The FuseSoC core file (CAPI2) of a design, `<name>.core`, built from the
//! same module list as the filelists, so that a module added to
//! [`super::graph::MODULES`] is packaged too.

use super::graph::{ModuleDef, ModuleKind};
use super::regs::notice;
use crate::golden::Derived;

/// A module file of the design: its definition and its path in the design
/// folder.
pub type ModuleFile = (ModuleDef, String);

/// The fileset a module kind's files go to.
fn fileset(kind: ModuleKind) -> &'static str {
    match kind {
        ModuleKind::Rtl => "rtl",
        ModuleKind::Sim => "sim",
    }
}

/// The one module of `kind` that no other module of that kind
/// instantiates: the toplevel of the targets that use that kind.
///
/// # Panics
/// When there is none or more than one (a change of the hierarchy that
/// the core file's targets do not know how to package).
fn root(modules: &[ModuleFile], kind: ModuleKind) -> &ModuleDef {
    let of_kind: Vec<&ModuleDef> = modules
        .iter()
        .map(|(m, _)| m)
        .filter(|m| m.kind == kind)
        .collect();
    let roots: Vec<&ModuleDef> = of_kind
        .iter()
        .copied()
        .filter(|m| !of_kind.iter().any(|p| p.children.contains(&m.suffix)))
        .collect();
    match roots.as_slice() {
        [one] => one,
        _ => panic!(
            "the {} modules have {} roots; the core file needs one",
            fileset(kind),
            roots.len()
        ),
    }
}

/// `<name>.core`: filesets `rtl` and `sim` (one per [`ModuleKind`], files
/// in dependency order) and `regs` (`regs_files`: the C header, then the
/// SystemRDL); targets `default` (what a dependent core gets: the RTL and
/// the register files, and the simulation models when its target is named
/// `sim`), `lint` (Verilator `-Wall`), `sim` (Icarus Verilog builds the
/// RTL with the simulation models) and `synth` (Yosys `synth_ecp5`). The
/// VLNV is `sprint-rtl:sprint:<name>:<generator version>`.
pub fn fusesoc_core(d: &Derived, modules: &[ModuleFile], regs_files: [&str; 2]) -> String {
    let files = |kind: ModuleKind| -> String {
        modules
            .iter()
            .filter(|(m, _)| m.kind == kind)
            .map(|(_, path)| format!("      - {path}\n"))
            .collect()
    };
    let top = format!("{}_{}", d.name, root(modules, ModuleKind::Rtl).suffix);
    let harness = format!("{}_{}", d.name, root(modules, ModuleKind::Sim).suffix);
    let description = format!(
        "SPRINT sparse-attention accelerator {}: seq_len {}, head_dim {}, {} MAC lanes, \
         {}-byte K/V buffer",
        d.name, d.seq_len, d.head_dim, d.lanes, d.buffer_bytes
    );
    let mut out = String::from("CAPI=2:\n");
    out += &notice(d, "#", &format!("{}.core", d.name), "FuseSoC core file");
    out += &format!(
        "\nname: sprint-rtl:sprint:{}:{}\ndescription: {}\n",
        d.name,
        d.generator_version,
        serde_json::to_string(&description).expect("a string serialises")
    );
    out += &format!(
        "\nfilesets:\n  rtl:\n    file_type: verilogSource\n    files:\n{}\
         \x20 # Simulation only: never synthesized.\n\
         \x20 sim:\n    file_type: verilogSource\n    files:\n{}\
         \x20 regs:\n    files:\n\
         \x20     - {}: {{file_type: cSource, is_include_file: true}}\n\
         \x20     - {}: {{file_type: systemRDLSource}}\n",
        files(ModuleKind::Rtl),
        files(ModuleKind::Sim),
        regs_files[0],
        regs_files[1]
    );
    out += &format!(
        "\ntargets:\n\
         \x20 default:\n    description: What a core that depends on this one gets \
         (the simulation models too when its target is named sim)\n    \
         filesets: [rtl, regs, \"target_sim? (sim)\"]\n    toplevel: {top}\n\
         \x20 lint:\n    description: Verilator lint with -Wall\n    filesets: [rtl]\n    \
         flow: lint\n    flow_options:\n      tool: verilator\n      \
         verilator_options: [-Wall]\n    toplevel: {top}\n\
         \x20 sim:\n    description: Icarus Verilog build of the RTL with the simulation \
         models (sprint-rtl verify drives them)\n    filesets: [rtl, sim]\n    flow: sim\n    \
         flow_options:\n      tool: icarus\n      iverilog_options: [-g2005, -Wall]\n    \
         toplevel: {harness}\n\
         \x20 synth:\n    description: Yosys synth_ecp5 to a JSON netlist\n    \
         filesets: [rtl]\n    flow: generic\n    flow_options:\n      tool: yosys\n      \
         arch: ecp5\n      output_format: json\n    toplevel: {top}\n"
    );
    out
}
