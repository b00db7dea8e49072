//! The FuseSoC core file (CAPI2) of a design, `<name>.core`, built from the
//! same module list as the filelists, so that a module added to
//! [`super::graph::MODULES`] is packaged too.

use handlebars::Handlebars;
use serde::Serialize;

use super::graph::{FPGA_SYSTEM, Hierarchy, ModuleDef, ModuleKind};
use super::regs::notice;
use crate::golden::Derived;

/// The core file's template, in `templates/`.
pub(super) const TEMPLATE: &str = "fusesoc.core.hbs";

/// A module file of the design: its definition and its path in the design
/// folder.
pub type ModuleFile = (ModuleDef, String);

/// The toplevel of the targets that build the modules of `kind`: the
/// module of that kind that no other one instantiates, or, should there be
/// several, the one with the largest hierarchy (the later in dependency
/// order on a tie). The FPGA system ([`FPGA_SYSTEM`]) is not the IP's top:
/// it puts the crossbar emulator where the ReRAM would be.
fn root<'m>(modules: &'m [ModuleFile], kind: ModuleKind, hierarchy: &Hierarchy) -> &'m ModuleDef {
    let of_kind: Vec<&ModuleDef> = modules
        .iter()
        .map(|(m, _)| m)
        .filter(|m| m.kind == kind && m.suffix != FPGA_SYSTEM)
        .collect();
    of_kind
        .iter()
        .copied()
        .filter(|m| !of_kind.iter().any(|p| p.children.contains(&m.suffix)))
        .max_by_key(|m| hierarchy.under(m.suffix).len())
        .expect("every design has modules of both kinds")
}

#[derive(Serialize)]
struct CoreContext<'a> {
    d: &'a Derived,
    notice: String,
    /// A YAML string (JSON's quoting).
    description: String,
    rtl_files: Vec<&'a str>,
    sim_files: Vec<&'a str>,
    header: &'a str,
    rdl: &'a str,
    top: String,
    harness: String,
}

/// `<name>.core` (`templates/fusesoc.core.hbs`): filesets `rtl` and `sim`
/// (one per [`ModuleKind`], files in dependency order) and `regs` (the C
/// header and the SystemRDL); targets `default` (what a dependent core
/// gets: the RTL and the register files, and the simulation models when
/// its target is named `sim`), `lint` (Verilator `-Wall`), `sim` (Icarus
/// Verilog builds the RTL with the simulation models) and `synth` (Yosys
/// `synth_ecp5`). The VLNV is `sprint-rtl:sprint:<name>:<generator
/// version>`.
pub fn fusesoc_core(
    hb: &Handlebars,
    d: &Derived,
    modules: &[ModuleFile],
    header: &str,
    rdl: &str,
) -> String {
    let files = |kind: ModuleKind| -> Vec<&str> {
        modules
            .iter()
            .filter(|(m, _)| m.kind == kind)
            .map(|(_, path)| path.as_str())
            .collect()
    };
    let hierarchy = Hierarchy::with_cores(d.cores);
    let description = format!(
        "SPRINT sparse-attention accelerator {}: seq_len {}, head_dim {}, {} MAC lanes, \
         {}-byte K/V buffer",
        d.name, d.seq_len, d.head_dim, d.lanes, d.buffer_bytes
    );
    let ctx = CoreContext {
        d,
        notice: notice(d, "#", &format!("{}.core", d.name), "FuseSoC core file"),
        description: super::regs::wrap(&description, "  ", 100)
            .trim_end()
            .to_string(),
        rtl_files: files(ModuleKind::Rtl),
        sim_files: files(ModuleKind::Sim),
        header,
        rdl,
        top: format!(
            "{}_{}",
            d.name,
            root(modules, ModuleKind::Rtl, &hierarchy).suffix
        ),
        harness: format!(
            "{}_{}",
            d.name,
            root(modules, ModuleKind::Sim, &hierarchy).suffix
        ),
    };
    hb.render(TEMPLATE, &ctx)
        .unwrap_or_else(|e| panic!("template {TEMPLATE}: {e}"))
}
