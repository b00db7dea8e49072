//! Emission: renders the Verilog templates for a spec, orders them by the
//! module hierarchy, and writes the design folder atomically.
//!
//! Layout of a design folder:
//! - `rtl/<name>_<module>.v`: synthesizable modules, one per file;
//! - `sim/<name>_<module>.v`: the behavioral crossbar and the test
//!   harnesses (with the behavioral crossbar, and with the emulator);
//! - `filelist.f`: RTL files in dependency order (the native top
//!   `<name>_top`, the AXI top `<name>_axi_top` around it, the crossbar
//!   emulator `<name>_xbar_emu` and the FPGA system `<name>_axi_system`,
//!   the AXI top with the emulator);
//!   `sim_filelist.f`: all files;
//! - `<name>_regs.h`, `<name>.rdl`: the register map as a C header and as
//!   SystemRDL ([`regs`]);
//! - `<name>.core`: the FuseSoC core file ([`core_file`]);
//! - `manifest.json`: generator version, spec hash, the spec, file hashes.

pub mod core_file;
pub mod graph;
pub mod regs;
mod write;

use handlebars::{Handlebars, handlebars_helper, no_escape};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::csr;
use crate::golden::{AxiDerived, Derived, EmuDerived};
use crate::spec::{Spec, hex};
pub use graph::{Hierarchy, ModuleDef, ModuleKind};
pub use write::write_atomically;

/// Partials: the file header, the simulation harness around the
/// native top, with the behavioral crossbar (`tb_harness.v.hbs`) or the
/// emulator (`emu_tb_harness.v.hbs`) as its `emu_harness` says, and a
/// constant multiplication in shifts and adds (`shift_add`: wire `p`, the
/// product of `x` and a [`crate::golden::shift_add::ShiftAddProduct`]).
const PARTIALS: &[(&str, &str)] = &[
    ("header", include_str!("../../templates/header.hbs")),
    ("shift_add", include_str!("../../templates/shift_add.hbs")),
    (
        "tb_harness",
        include_str!("../../templates/tb_harness.v.hbs"),
    ),
];

/// Template sources, embedded so the binary works from any directory.
const TEMPLATES: &[(&str, &str)] = &[
    ("top.v.hbs", include_str!("../../templates/top.v.hbs")),
    (
        "controller.v.hbs",
        include_str!("../../templates/controller.v.hbs"),
    ),
    ("engine.v.hbs", include_str!("../../templates/engine.v.hbs")),
    ("exp2.v.hbs", include_str!("../../templates/exp2.v.hbs")),
    ("recip.v.hbs", include_str!("../../templates/recip.v.hbs")),
    ("buffer.v.hbs", include_str!("../../templates/buffer.v.hbs")),
    (
        "xbar_model.v.hbs",
        include_str!("../../templates/xbar_model.v.hbs"),
    ),
    (
        "corelets.v.hbs",
        include_str!("../../templates/corelets.v.hbs"),
    ),
    ("tb_harness.v.hbs", "{{> tb_harness emu_harness=false}}"),
    ("emu_tb_harness.v.hbs", "{{> tb_harness emu_harness=true}}"),
    (
        "xbar_emu.v.hbs",
        include_str!("../../templates/xbar_emu.v.hbs"),
    ),
    (
        "axi_system.v.hbs",
        include_str!("../../templates/axi_system.v.hbs"),
    ),
    (
        core_file::TEMPLATE,
        include_str!("../../templates/fusesoc.core.hbs"),
    ),
    (
        "axi_top.v.hbs",
        include_str!("../../templates/axi_top.v.hbs"),
    ),
    (
        "axil_regs.v.hbs",
        include_str!("../../templates/axil_regs.v.hbs"),
    ),
    (
        "axi_read.v.hbs",
        include_str!("../../templates/axi_read.v.hbs"),
    ),
    ("axis_q.v.hbs", include_str!("../../templates/axis_q.v.hbs")),
    (
        "axis_out.v.hbs",
        include_str!("../../templates/axis_out.v.hbs"),
    ),
    (
        "axi_tb_harness.v.hbs",
        include_str!("../../templates/axi_tb_harness.v.hbs"),
    ),
];

/// One emitted file: its path relative to the design folder and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedFile {
    pub path: String,
    pub contents: String,
}

/// A rendered design, not yet written.
#[derive(Debug, Clone)]
pub struct Design {
    pub name: String,
    pub files: Vec<EmittedFile>,
}

handlebars_helper!(msb: |n: u64| n - 1);
handlebars_helper!(inc: |n: u64| n + 1);
handlebars_helper!(dec: |n: u64| n - 1);
handlebars_helper!(hex_helper: |n: u64| format!("{n:X}"));
// A declaration's range, `[n-1:0]`, padded so that names line up.
handlebars_helper!(bits: |n: u64| format!("{:<9}", format!("[{}:0]", n - 1)));
// `{ {pad}'d0, sig }`, or `sig` when the widths agree.
handlebars_helper!(zext: |sig: str, from: u64, to: u64| {
    assert!(to >= from, "zext of {sig} from {from} to {to} bits");
    if to == from { sig.to_string() } else { format!("{{ {}'d0, {sig} }}", to - from) }
});

fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(no_escape);
    hb.register_helper("msb", Box::new(msb));
    hb.register_helper("inc", Box::new(inc));
    hb.register_helper("dec", Box::new(dec));
    hb.register_helper("hex", Box::new(hex_helper));
    hb.register_helper("zext", Box::new(zext));
    hb.register_helper("bits", Box::new(bits));
    for (name, source) in PARTIALS {
        hb.register_partial(name, *source)
            .unwrap_or_else(|e| panic!("partial {name}: {e}"));
    }
    for (name, source) in TEMPLATES {
        hb.register_template_string(name, *source)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    hb
}

#[derive(Serialize)]
struct Context<'a> {
    d: &'a Derived,
    csrs: &'a [csr::Csr],
    /// The register map as a Verilog comment ([`regs::verilog_comment`]).
    csr_comment: String,
    /// The AXI top's own registers as a Verilog comment.
    axi_csr_comment: String,
    axi: &'a AxiDerived,
    /// The crossbar emulator's parameters.
    emu: &'a EmuDerived,
    /// The AXI top's own registers ([`csr::AXI`]).
    axi_csrs: &'a [csr::Csr],
    /// Word index bits of the AXI4-Lite map, and CTRL's index in them.
    axil_word_bits: u32,
    ctrl_addr: u32,
    /// Byte address of the first AXI-only register.
    axil_first_byte: u32,
}

/// Renders the modules of [`Hierarchy::dependency_order`]: each with its
/// definition and its file.
fn render_modules(
    hb: &Handlebars,
    ctx: &Context,
    name: &str,
    hierarchy: &Hierarchy,
) -> Vec<(ModuleDef, EmittedFile)> {
    hierarchy
        .dependency_order()
        .into_iter()
        .map(|m| {
            let contents = hb
                .render(m.template, ctx)
                .unwrap_or_else(|e| panic!("template {}: {e}", m.template));
            let path = module_path(name, &m);
            (m, EmittedFile { path, contents })
        })
        .collect()
}

/// Renders every module of a validated spec, plus filelists, the
/// register header and SystemRDL, the FuseSoC core file and the manifest.
/// With several recompute cores the top is `corelets.v.hbs` and each core
/// a `<name>_core` ([`Hierarchy::with_cores`]).
pub fn render(spec: &Spec) -> Design {
    let d = Derived::from_spec(spec);
    let axi = AxiDerived::from_derived(&d);
    let emu = EmuDerived::from_spec(spec, &d);
    let hb = registry();
    let ctx = Context {
        d: &d,
        csrs: csr::ALL,
        csr_comment: regs::verilog_comment(&d, csr::ALL),
        axi_csr_comment: regs::verilog_comment(&d, csr::AXI),
        axi: &axi,
        emu: &emu,
        axi_csrs: csr::AXI,
        axil_word_bits: csr::AXIL_ADDR_BITS - 2,
        ctrl_addr: csr::CTRL,
        axil_first_byte: csr::AXI[0].byte_offset(),
    };
    let hierarchy = Hierarchy::with_cores(d.cores);
    let modules = render_modules(&hb, &ctx, &d.name, &hierarchy);
    let list = |kinds: &[ModuleKind]| -> String {
        modules
            .iter()
            .filter(|(m, _)| kinds.contains(&m.kind))
            .map(|(_, f)| format!("{}\n", f.path))
            .collect()
    };
    let filelist = list(&[ModuleKind::Rtl]);
    let sim_filelist = list(&[ModuleKind::Rtl, ModuleKind::Sim]);
    let header = format!("{}_regs.h", d.name);
    let rdl = format!("{}.rdl", d.name);
    let module_files: Vec<core_file::ModuleFile> =
        modules.iter().map(|(m, f)| (*m, f.path.clone())).collect();
    let core = core_file::fusesoc_core(&hb, &d, &module_files, &header, &rdl);
    let mut files: Vec<EmittedFile> = modules.into_iter().map(|(_, f)| f).collect();
    for (path, contents) in [
        ("filelist.f".to_string(), filelist),
        ("sim_filelist.f".to_string(), sim_filelist),
        (header, regs::c_header(&d)),
        (rdl, regs::system_rdl(&d)),
        (format!("{}.core", d.name), core),
    ] {
        files.push(EmittedFile { path, contents });
    }
    let manifest = manifest(spec, &d, &files);
    files.push(EmittedFile {
        path: "manifest.json".into(),
        contents: manifest,
    });
    Design {
        name: d.name.clone(),
        files,
    }
}

/// Path of a module's file inside the design folder.
pub fn module_path(name: &str, m: &ModuleDef) -> String {
    let dir = match m.kind {
        ModuleKind::Rtl => "rtl",
        ModuleKind::Sim => "sim",
    };
    format!("{dir}/{name}_{}.v", m.suffix)
}

fn manifest(spec: &Spec, d: &Derived, files: &[EmittedFile]) -> String {
    let entries: Vec<_> = files
        .iter()
        .map(|f| json!({ "path": f.path, "sha256": hex(&Sha256::digest(f.contents.as_bytes())) }))
        .collect();
    let value = json!({
        "generator": "sprint-rtl",
        "generator_version": d.generator_version,
        "spec_name": spec.name,
        "spec_hash": d.spec_hash,
        "spec": spec,
        "top": format!("{}_top", d.name),
        "files": entries,
    });
    serde_json::to_string_pretty(&value).expect("manifest serialises") + "\n"
}
