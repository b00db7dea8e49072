//! The module hierarchy of a generated design, as a petgraph graph: it
//! orders emission and the filelists, and prints as Graphviz DOT.

use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Dfs;

/// Whether a module is part of the synthesizable design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    /// Goes to synthesis: listed in `filelist.f`.
    Rtl,
    /// Simulation only (crossbar model, harness): listed in `sim_filelist.f`.
    Sim,
}

/// One module template of the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleDef {
    /// Module name suffix: the module is `<spec name>_<suffix>`.
    pub suffix: &'static str,
    /// Template file in `templates/`.
    pub template: &'static str,
    pub kind: ModuleKind,
    /// One-line description (also the file header's).
    pub summary: &'static str,
    /// Suffixes of the modules it instantiates.
    pub children: &'static [&'static str],
}

/// Suffix of the FPGA system: the AXI top with the crossbar emulator on its
/// crossbar port, AXI-only at its boundary.
pub const FPGA_SYSTEM: &str = "axi_system";

/// Every module the generator emits.
pub const MODULES: &[ModuleDef] = &[
    ModuleDef {
        suffix: "emu_tb_harness",
        template: "emu_tb_harness.v.hbs",
        kind: ModuleKind::Sim,
        summary: "simulation harness: the top plus the crossbar emulator",
        children: &["top", "xbar_emu"],
    },
    ModuleDef {
        suffix: "axi_system",
        template: "axi_system.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "the AXI top with the crossbar emulator: a system for an FPGA",
        children: &["axi_top", "xbar_emu", "axis_q"],
    },
    ModuleDef {
        suffix: "xbar_emu",
        template: "xbar_emu.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "crossbar emulator (synthesizable)",
        children: &[],
    },
    ModuleDef {
        suffix: "axi_tb_harness",
        template: "axi_tb_harness.v.hbs",
        kind: ModuleKind::Sim,
        summary: "simulation harness: the AXI top plus the behavioral crossbar",
        children: &["axi_top", "xbar_model"],
    },
    ModuleDef {
        suffix: "tb_harness",
        template: "tb_harness.v.hbs",
        kind: ModuleKind::Sim,
        summary: "simulation harness: the top plus the behavioral crossbar",
        children: &["top", "xbar_model"],
    },
    ModuleDef {
        suffix: "xbar_model",
        template: "xbar_model.v.hbs",
        kind: ModuleKind::Sim,
        summary: "behavioral ReRAM crossbar (simulation only)",
        children: &[],
    },
    ModuleDef {
        suffix: "axi_top",
        template: "axi_top.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "the top behind AXI4, AXI4-Stream and AXI4-Lite ports",
        children: &["top", "axil_regs", "axi_read", "axis_q", "axis_out"],
    },
    ModuleDef {
        suffix: "axil_regs",
        template: "axil_regs.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "AXI4-Lite slave of the register map",
        children: &[],
    },
    ModuleDef {
        suffix: "axi_read",
        template: "axi_read.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "AXI4 read master fetching K and V rows",
        children: &[],
    },
    ModuleDef {
        suffix: "axis_q",
        template: "axis_q.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "AXI4-Stream slave of query rows",
        children: &[],
    },
    ModuleDef {
        suffix: "axis_out",
        template: "axis_out.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "AXI4-Stream master of output rows",
        children: &[],
    },
    ModuleDef {
        suffix: "top",
        template: "top.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "accelerator top level",
        children: &["controller", "engine", "buffer"],
    },
    ModuleDef {
        suffix: "controller",
        template: "controller.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "per-query sequencing, keep/fetch/reuse sets, CSRs",
        children: &[],
    },
    ModuleDef {
        suffix: "engine",
        template: "engine.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "recompute engine",
        children: &["exp2", "recip"],
    },
    ModuleDef {
        suffix: "exp2",
        template: "exp2.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "softmax weight 2^x",
        children: &[],
    },
    ModuleDef {
        suffix: "recip",
        template: "recip.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "reciprocal of the softmax sum",
        children: &[],
    },
    ModuleDef {
        suffix: "buffer",
        template: "buffer.v.hbs",
        kind: ModuleKind::Rtl,
        summary: "on-chip K/V buffer",
        children: &[],
    },
];

/// The top of a design with several recompute cores: the cores behind
/// the dispatcher and the shared ports.
pub const CORELETS_TOP: ModuleDef = ModuleDef {
    suffix: "top",
    template: "corelets.v.hbs",
    kind: ModuleKind::Rtl,
    summary: "accelerator top level: recompute cores behind shared ports",
    children: &["core"],
};

/// One recompute core of a design with several: the one-core top's
/// template, with a core index.
pub const CORE: ModuleDef = ModuleDef {
    suffix: "core",
    template: "top.v.hbs",
    kind: ModuleKind::Rtl,
    summary: "one recompute core: controller, engine, buffer",
    children: &["controller", "engine", "buffer"],
};

/// Instantiation graph: an edge parent → child per instance.
pub struct Hierarchy {
    graph: DiGraph<ModuleDef, ()>,
}

impl Hierarchy {
    /// The hierarchy of [`MODULES`]: one recompute core.
    pub fn new() -> Hierarchy {
        Hierarchy::of(MODULES)
    }

    /// The hierarchy of a design with `cores` recompute cores: with one,
    /// [`MODULES`]; with several, the top is [`CORELETS_TOP`] and each core
    /// a [`CORE`], what the one-core top is.
    pub fn with_cores(cores: u32) -> Hierarchy {
        if cores == 1 {
            return Hierarchy::new();
        }
        let mut modules: Vec<ModuleDef> = MODULES
            .iter()
            .map(|m| if m.suffix == "top" { CORELETS_TOP } else { *m })
            .collect();
        modules.push(CORE);
        Hierarchy::of(&modules)
    }

    fn of(modules: &[ModuleDef]) -> Hierarchy {
        let mut graph = DiGraph::new();
        let nodes: Vec<NodeIndex> = modules.iter().map(|m| graph.add_node(*m)).collect();
        let find = |suffix: &str| {
            modules
                .iter()
                .position(|m| m.suffix == suffix)
                .unwrap_or_else(|| panic!("unknown child module {suffix}"))
        };
        for (i, m) in modules.iter().enumerate() {
            for child in m.children {
                graph.add_edge(nodes[i], nodes[find(child)], ());
            }
        }
        Hierarchy { graph }
    }

    /// Modules with every child before its parent (the order a filelist
    /// needs); ties keep [`MODULES`] order reversed, so it is deterministic.
    pub fn dependency_order(&self) -> Vec<ModuleDef> {
        let order = toposort(&self.graph, None).expect("module hierarchy is acyclic");
        order.into_iter().rev().map(|n| self.graph[n]).collect()
    }

    /// The module `<name>_<root>` and every module it instantiates,
    /// directly or not, children before parents (the files synthesis of
    /// `root` on its own reads, in order). Panics on an unknown suffix.
    pub fn under(&self, root: &str) -> Vec<ModuleDef> {
        let start = self
            .graph
            .node_indices()
            .find(|&n| self.graph[n].suffix == root)
            .unwrap_or_else(|| panic!("unknown module {root}"));
        let mut reached = Vec::new();
        let mut dfs = Dfs::new(&self.graph, start);
        while let Some(n) = dfs.next(&self.graph) {
            reached.push(self.graph[n].suffix);
        }
        self.dependency_order()
            .into_iter()
            .filter(|m| reached.contains(&m.suffix))
            .collect()
    }

    /// Graphviz DOT of the hierarchy, module names prefixed with `name`.
    pub fn to_dot(&self, name: &str) -> String {
        let mut out = format!(
            "digraph \"{name}\" {{\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n"
        );
        for n in self.graph.node_indices() {
            let m = &self.graph[n];
            let style = match m.kind {
                ModuleKind::Rtl => "solid",
                ModuleKind::Sim => "dashed",
            };
            out += &format!(
                "  \"{name}_{}\" [style={style}, tooltip=\"{}\"];\n",
                m.suffix, m.summary
            );
        }
        for e in self.graph.edge_indices() {
            let (a, b) = self.graph.edge_endpoints(e).expect("edge has endpoints");
            out += &format!(
                "  \"{name}_{}\" -> \"{name}_{}\";\n",
                self.graph[a].suffix, self.graph[b].suffix
            );
        }
        out + "}\n"
    }
}

impl Default for Hierarchy {
    fn default() -> Self {
        Hierarchy::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_come_before_parents() {
        let order: Vec<&str> = Hierarchy::new()
            .dependency_order()
            .iter()
            .map(|m| m.suffix)
            .collect();
        let pos = |s| order.iter().position(|&x| x == s).unwrap();
        assert!(pos("exp2") < pos("engine"));
        assert!(pos("engine") < pos("top"));
        assert!(pos("top") < pos("tb_harness"));
        assert!(pos("top") < pos("axi_top") && pos("axi_top") < pos("axi_tb_harness"));
        assert!(pos("xbar_emu") < pos("axi_system") && pos("axi_top") < pos("axi_system"));
        assert_eq!(order.len(), MODULES.len());
    }

    #[test]
    fn a_block_brings_its_submodules_only() {
        let h = Hierarchy::new();
        let suffixes = |root| -> Vec<&str> { h.under(root).iter().map(|m| m.suffix).collect() };
        let engine = suffixes("engine");
        assert_eq!(engine.len(), 3);
        assert!(engine.contains(&"exp2") && engine.contains(&"recip"));
        assert_eq!(engine.last(), Some(&"engine"));
        assert_eq!(suffixes("buffer"), ["buffer"]);
        // The FPGA system: every RTL module, in the filelist's order; the
        // AXI top: all but the system and the emulator; the native top:
        // all but those and the AXI wrappers.
        let rtl: Vec<&str> = h
            .dependency_order()
            .iter()
            .filter(|m| m.kind == ModuleKind::Rtl)
            .map(|m| m.suffix)
            .collect();
        assert_eq!(suffixes(FPGA_SYSTEM), rtl);
        let axi: Vec<&str> = rtl
            .iter()
            .copied()
            .filter(|s| *s != FPGA_SYSTEM && *s != "xbar_emu")
            .collect();
        assert_eq!(suffixes("axi_top"), axi);
        let native: Vec<&str> = axi
            .iter()
            .copied()
            .filter(|s| !s.starts_with("axi"))
            .collect();
        assert_eq!(suffixes("top"), native);
        assert_eq!(suffixes("emu_tb_harness").last(), Some(&"emu_tb_harness"));
        assert!(suffixes("emu_tb_harness").contains(&"xbar_emu"));
    }
}
