//! The packaging of a design: the FuseSoC core file, the C header and the
//! SystemRDL of the register map, the C example, and the book's register
//! page, each checked against the one register map of `src/csr.rs`, and
//! the register map itself against the RTL.
//!
//! The checks that need a tool are ignored by a plain `cargo test` and run
//! in CI (`--include-ignored`), where a missing tool fails them: a C and a
//! C++ compiler, Icarus Verilog, and a Python (`SPRINT_RTL_PYTHON`,
//! `python3` by default) with `systemrdl-compiler` and `fusesoc`, which
//! `.ci/run` installs at pinned versions, and through FuseSoC Verilator and
//! Yosys.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Deserialize;
use sprint_rtl::csr::{self, Access, Csr, Params};
use sprint_rtl::emit::{self, Design, regs};
use sprint_rtl::golden::Derived;

use common::{root, shipped_spec_names, spec};

/// `name`'s design, written to a fresh folder under the target's tmp.
fn written(name: &str) -> (tempfile::TempDir, Design) {
    let dir = tempfile::Builder::new()
        .prefix(&format!("pkg-{name}"))
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let design = emit::render(&spec(name));
    emit::write_atomically(dir.path(), &design.files).unwrap();
    (dir, design)
}

fn file<'a>(design: &'a Design, path: &str) -> &'a str {
    &design
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{}: no {path}", design.name))
        .contents
}

fn params(name: &str) -> Params {
    regs::params(&Derived::from_spec(&spec(name)))
}

/// Runs `cmd`, panicking with its output unless it succeeds.
fn run_ok(what: &str, cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn python() -> String {
    std::env::var("SPRINT_RTL_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[derive(Deserialize)]
struct CoreFile {
    name: String,
    filesets: BTreeMap<String, Fileset>,
    targets: BTreeMap<String, Target>,
}

#[derive(Deserialize)]
struct Fileset {
    files: Vec<serde_yaml::Value>,
}

#[derive(Deserialize)]
struct Target {
    filesets: Vec<String>,
    toplevel: String,
    flow: Option<String>,
}

/// A fileset's paths (a file is a path, or a one-key map path → options).
fn paths(fs: &Fileset) -> Vec<String> {
    fs.files
        .iter()
        .map(|f| match f {
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Mapping(m) => m.keys().next().unwrap().as_str().unwrap().into(),
            other => panic!("unexpected file entry {other:?}"),
        })
        .collect()
}

/// The core file lists what the filelists list, in their order: one module
/// list feeds both, so a module added to the generator is packaged too.
#[test]
fn core_file_packages_the_filelists_and_the_register_files() {
    for name in shipped_spec_names() {
        if name == "smollm2" {
            continue; // no generated/ folder: the decoder's trace spec
        }
        let design = emit::render(&spec(&name));
        let text = file(&design, &format!("{name}.core"));
        assert!(text.starts_with("CAPI=2:\n"), "{name}.core: first line");
        let core: CoreFile = serde_yaml::from_str(text).unwrap();
        assert_eq!(
            core.name,
            format!("sprint-rtl:sprint:{name}:{}", env!("CARGO_PKG_VERSION"))
        );
        let rtl: Vec<String> = file(&design, "filelist.f")
            .lines()
            .map(String::from)
            .collect();
        let all: Vec<String> = file(&design, "sim_filelist.f")
            .lines()
            .map(String::from)
            .collect();
        let sim: Vec<String> = all.iter().filter(|f| !rtl.contains(f)).cloned().collect();
        assert_eq!(paths(&core.filesets["rtl"]), rtl, "{name}: rtl fileset");
        assert_eq!(paths(&core.filesets["sim"]), sim, "{name}: sim fileset");
        assert!(sim.iter().any(|f| f.ends_with("_xbar_model.v")));
        assert_eq!(
            paths(&core.filesets["regs"]),
            [format!("{name}_regs.h"), format!("{name}.rdl")]
        );
        for fs in core.filesets.values() {
            for p in paths(fs) {
                assert!(design.files.iter().any(|f| f.path == p), "{name}: {p}");
            }
        }
        // The toplevel is the AXI top, the IP a system instantiates (the
        // filelist ends with the AXI system, which adds the crossbar
        // emulator for an FPGA prototype).
        let stem = |path: &str| {
            path.rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".v")
                .to_string()
        };
        let top = format!("{name}_axi_top");
        assert!(rtl.iter().any(|p| stem(p) == top), "{name}: {top} in rtl");
        for t in ["default", "lint", "synth"] {
            assert_eq!(core.targets[t].toplevel, top, "{name}: {t}");
        }
        for t in ["lint", "synth"] {
            assert_eq!(core.targets[t].filesets, ["rtl"], "{name}: {t}");
        }
        // The simulation toplevel is a harness of the sim fileset (the AXI
        // top's, the larger, where both are emitted).
        let sim_top = &core.targets["sim"].toplevel;
        assert!(
            all.iter()
                .any(|p| p.starts_with("sim/") && stem(p) == *sim_top),
            "{name}: {sim_top}"
        );
        assert!(sim_top.ends_with("tb_harness"), "{name}: {sim_top}");
        assert_eq!(core.targets["sim"].filesets, ["rtl", "sim"]);
        assert_eq!(core.targets["lint"].flow.as_deref(), Some("lint"));
        assert!(core.targets["default"].filesets.contains(&"rtl".into()));
    }
}

#[test]
fn register_files_carry_the_generated_notice() {
    let s = spec("tiny");
    let design = emit::render(&s);
    for path in ["tiny_regs.h", "tiny.rdl", "tiny.core"] {
        let text = file(&design, path);
        assert!(text.contains(&s.hash()), "{path}: spec hash");
        assert!(
            text.contains(&format!("sprint-rtl {}", env!("CARGO_PKG_VERSION"))),
            "{path}: version"
        );
        assert!(text.contains("Do not edit"), "{path}");
    }
}

const PAGE_BEGIN: &str = "<!-- begin: generated from src/csr.rs by tests/packaging.rs -->\n";
const PAGE_END: &str = "<!-- end: generated -->\n";

/// `docs/src/registers.md` holds, between its markers, the tables that
/// `emit::regs::markdown_tables` makes of `src/csr.rs` now; with
/// `SPRINT_RTL_WRITE_REFERENCES=1` the test writes them there instead.
#[test]
fn the_register_page_is_current() {
    let path = root().join("docs/src/registers.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let (head, rest) = page
        .split_once(PAGE_BEGIN)
        .expect("registers.md: begin marker");
    let (_, tail) = rest.split_once(PAGE_END).expect("registers.md: end marker");
    let want = format!(
        "{head}{PAGE_BEGIN}{}{PAGE_END}{tail}",
        regs::markdown_tables()
    );
    common::check_or_write(&path, &want);
    for r in csr::bus_map() {
        assert!(want.contains(&format!("### {}\n", r.name)), "{}", r.name);
    }
}

/// The value a read of `r` returns after software wrote `written` to it
/// (`None`: nothing since reset), while the accelerator is idle.
fn expected_read(r: &Csr, p: &Params, written: Option<u32>) -> u32 {
    r.fields.iter().fold(0, |v, f| {
        let mask = f.mask(p);
        let bits = match (f.access, written) {
            (Access::W, _) => 0,
            (Access::RW, Some(w)) => w & mask,
            (Access::R, _) | (Access::RW, None) => (f.reset.value(p) << f.lsb) & mask,
        };
        let sign = bits >> f.msb(p) & 1 == 1;
        let extension = if f.signed && sign && f.msb(p) < 31 {
            u32::MAX << (f.msb(p) + 1)
        } else {
            0
        };
        v | bits | extension
    })
}

/// The names of the macros with a value that a C header defines.
fn c_defines(header: &str) -> Vec<String> {
    header
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [name, _value] => Some(name.to_string()),
            _ => None,
        })
        .collect()
}

/// What the header must define: every register's index, offset and reset,
/// every field's shift, width, mask and reset.
fn expected_defines(name: &str, p: &Params) -> BTreeMap<String, u64> {
    let prefix = name.to_uppercase();
    let mut want = BTreeMap::new();
    want.insert(format!("{prefix}_REG_COUNT"), csr::bus_map().count() as u64);
    want.insert(format!("{prefix}_REG_BYTES"), 4);
    for r in csr::bus_map() {
        let reg = format!("{prefix}_{}", r.name.to_uppercase());
        want.insert(format!("{reg}_INDEX"), u64::from(r.addr));
        want.insert(format!("{reg}_OFFSET"), u64::from(r.byte_offset()));
        want.insert(format!("{reg}_RESET"), u64::from(r.reset_value(p)));
        for f in r.fields {
            let field = format!("{reg}_{}", f.name.to_uppercase());
            want.insert(format!("{field}_SHIFT"), u64::from(f.lsb));
            want.insert(format!("{field}_WIDTH"), u64::from(f.width.value(p)));
            want.insert(format!("{field}_MASK"), u64::from(f.mask(p)));
            want.insert(format!("{field}_RESET"), u64::from(f.reset.value(p)));
        }
    }
    want
}

/// Compiles `source` as C99 and as C++11, warnings as errors, with the
/// design folder on the include path; returns the C program's output.
fn compile_and_run(dir: &Path, source: &Path) -> String {
    let c_exe = dir.join("prog_c");
    run_ok(
        "cc",
        Command::new("cc")
            .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
            .arg(dir)
            .arg(source)
            .arg("-o")
            .arg(&c_exe),
    );
    run_ok(
        "c++",
        Command::new("c++")
            .args([
                "-x",
                "c++",
                "-std=c++11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-pedantic",
            ])
            .arg("-I")
            .arg(dir)
            .arg(source)
            .arg("-o")
            .arg(dir.join("prog_cpp")),
    );
    String::from_utf8(run_ok("the C program", &mut Command::new(&c_exe)).stdout).unwrap()
}

/// Every macro of the header, compiled into a C and a C++ program, has the
/// value the register map gives it, and the header defines nothing else.
#[test]
#[ignore = "needs a C and a C++ compiler (cc, c++)"]
fn c_header_compiles_and_holds_the_register_map() {
    for name in ["tiny", "causal", "sprint_s"] {
        let (dir, design) = written(name);
        let header = format!("{name}_regs.h");
        let names = c_defines(file(&design, &header));
        let mut program =
            format!("#include <stdio.h>\n#include \"{header}\"\nint main(void)\n{{\n");
        for n in &names {
            program += &format!("    printf(\"%s %lu\\n\", \"{n}\", (unsigned long)({n}));\n");
        }
        program += "    return 0;\n}\n";
        let source = dir.path().join("use_every_define.c");
        std::fs::write(&source, program).unwrap();
        let printed: BTreeMap<String, u64> = compile_and_run(dir.path(), &source)
            .lines()
            .map(|l| {
                let (n, v) = l.split_once(' ').unwrap();
                (n.to_string(), v.parse().unwrap())
            })
            .collect();
        assert_eq!(printed, expected_defines(name, &params(name)), "{name}");
    }
}

/// The C example builds as C99 and C++ against the generated header and,
/// on its host stub, leaves the register block programmed as it says.
#[test]
#[ignore = "needs a C and a C++ compiler (cc, c++)"]
fn c_example_programs_the_registers() {
    let (dir, _) = written("sprint_s");
    let out = compile_and_run(dir.path(), &root().join("examples/c/run_head.c"));
    assert!(out.starts_with("cycles 0 kept 0 fetches 0"), "{out}");
    let regs: BTreeMap<u32, u32> = out
        .lines()
        .filter_map(|l| l.strip_prefix("reg "))
        .map(|l| {
            let (i, v) = l.split_once(" 0x").unwrap();
            (i.parse().unwrap(), u32::from_str_radix(v, 16).unwrap())
        })
        .collect();
    assert_eq!(regs.len(), csr::bus_map().count());
    let p = params("sprint_s");
    let threshold = csr::ALL[csr::THRESHOLD as usize].fields[0].mask(&p);
    assert_eq!(regs[&csr::CTRL], 1, "start written");
    assert_eq!(regs[&csr::MODE], 3, "SPRINT mode");
    assert_eq!(regs[&csr::THRESHOLD], (-40i32 as u32) & threshold);
    assert_eq!(regs[&csr::SCALE], 1234);
    assert_eq!(regs[&csr::N_KEYS], 512);
    assert_eq!(regs[&csr::N_QUERIES], 32);
}

/// A register of the SystemRDL as `systemrdl-compiler` elaborates it.
#[derive(Deserialize, Debug, PartialEq)]
struct RdlRegister {
    name: String,
    offset: u32,
    desc: String,
    fields: Vec<RdlField>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct RdlField {
    name: String,
    msb: u32,
    lsb: u32,
    sw: String,
    hw: String,
    reset: u32,
    singlepulse: bool,
}

const RDL_DUMP: &str = r#"
import json, sys
from systemrdl import RDLCompiler
c = RDLCompiler()
c.compile_file(sys.argv[1])
top = c.elaborate().top
print(json.dumps([{
    "name": r.inst_name, "offset": r.absolute_address, "desc": " ".join(r.get_property("desc").split()),
    "fields": [{"name": f.inst_name, "msb": f.msb, "lsb": f.lsb,
                "sw": f.get_property("sw").name, "hw": f.get_property("hw").name,
                "reset": f.get_property("reset"), "singlepulse": f.get_property("singlepulse")}
               for f in r.fields()]} for r in top.registers()]))
"#;

/// What the SystemRDL of a design must elaborate to.
fn expected_rdl(p: &Params) -> Vec<RdlRegister> {
    csr::bus_map()
        .map(|r| RdlRegister {
            name: r.name.into(),
            offset: r.byte_offset(),
            desc: regs::register_doc(r)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            fields: r
                .fields
                .iter()
                .map(|f| {
                    let (sw, hw) = match f.access {
                        Access::R => ("r", "w"),
                        Access::W => ("w", "r"),
                        Access::RW => ("rw", "r"),
                    };
                    RdlField {
                        name: f.name.into(),
                        msb: f.msb(p),
                        lsb: f.lsb,
                        sw: sw.into(),
                        hw: hw.into(),
                        reset: f.reset.value(p),
                        singlepulse: f.access == Access::W,
                    }
                })
                .collect(),
        })
        .collect()
}

/// `systemrdl-compiler` elaborates the SystemRDL without a warning, to the
/// registers and fields of the register map.
#[test]
#[ignore = "needs SPRINT_RTL_PYTHON (python3) with systemrdl-compiler (CI installs it)"]
fn system_rdl_elaborates_to_the_register_map() {
    for name in ["tiny", "causal", "sprint_s"] {
        let (dir, _) = written(name);
        let out = run_ok(
            "systemrdl-compiler (pip install systemrdl-compiler; version pinned in .ci/run)",
            Command::new(python())
                .args(["-c", RDL_DUMP])
                .arg(dir.path().join(format!("{name}.rdl"))),
        );
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(!log.to_lowercase().contains("warning"), "{name}: {log}");
        let got: Vec<RdlRegister> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, expected_rdl(&params(name)), "{name}");
    }
}

/// FuseSoC accepts the core file and runs its three targets on the tiny
/// design: Verilator lint, an Icarus Verilog build and run of the
/// simulation models, and Yosys synthesis to a netlist.
#[test]
#[ignore = "needs SPRINT_RTL_PYTHON with fusesoc, and Verilator, Icarus Verilog, Yosys (CI)"]
fn fusesoc_runs_the_lint_sim_and_synth_targets() {
    for tool in ["verilator", "iverilog", "yosys"] {
        common::tool(tool);
    }
    let (dir, _) = written("tiny");
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let fusesoc = |args: &[&str]| -> String {
        let out = run_ok(
            &format!("fusesoc {args:?} (pip install fusesoc; version pinned in .ci/run)"),
            Command::new(python())
                .current_dir(work.path())
                .args(["-m", "fusesoc.main", "--cores-root"])
                .arg(dir.path())
                .args(args),
        );
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let vlnv = format!("sprint-rtl:sprint:tiny:{}", env!("CARGO_PKG_VERSION"));
    let info = fusesoc(&["core-info", &vlnv]);
    assert!(info.contains(&format!("Name:        {vlnv}")), "{info}");
    for target in ["lint", "sim", "synth"] {
        let log = fusesoc(&["run", "--target", target, &vlnv]);
        assert!(!log.contains("%Warning"), "{target}: {log}");
    }
    // A core that depends on this one gets the simulation models only in a
    // target named sim.
    let mine = work.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("mine.v"), "module mine;\nendmodule\n").unwrap();
    let lint = "    flow: lint\n    flow_options: {tool: verilator}\n    toplevel: mine\n";
    std::fs::write(
        mine.join("mine.core"),
        format!(
            "CAPI=2:\nname: user:test:mine:0.1\nfilesets:\n  rtl:\n    \
             depend: [sprint-rtl:sprint:tiny]\n    files: [mine.v]\n    \
             file_type: verilogSource\ntargets:\n  default:\n    filesets: [rtl]\n    \
             toplevel: mine\n  lint:\n    filesets: [rtl]\n{lint}  sim:\n    \
             filesets: [rtl]\n{lint}"
        ),
    )
    .unwrap();
    for (target, with_models) in [("lint", false), ("sim", true)] {
        fusesoc(&[
            "--cores-root",
            &mine.to_string_lossy(),
            "run",
            "--setup",
            "--target",
            target,
            "user:test:mine",
        ]);
        let vc = work.path().join(format!(
            "build/user_test_mine_0.1/{target}/user_test_mine_0.1.vc"
        ));
        let vc = std::fs::read_to_string(&vc).unwrap_or_else(|e| panic!("{}: {e}", vc.display()));
        assert!(vc.contains("rtl/tiny_top.v"), "{target}: {vc}");
        assert_eq!(
            vc.contains("sim/tiny_xbar_model.v"),
            with_models,
            "{target}: {vc}"
        );
    }
    let build: PathBuf = work.path().join(format!(
        "build/sprint-rtl_sprint_tiny_{}",
        env!("CARGO_PKG_VERSION")
    ));
    let netlist = build.join(format!(
        "synth/sprint-rtl_sprint_tiny_{}.json",
        env!("CARGO_PKG_VERSION")
    ));
    let json =
        std::fs::read_to_string(&netlist).unwrap_or_else(|e| panic!("{}: {e}", netlist.display()));
    assert!(
        json.contains("\"tiny_axi_top\""),
        "the netlist holds the AXI top, the root of the RTL"
    );
}

/// The input ports of a Verilog module's header: (name, declaration).
fn input_ports(verilog: &str) -> Vec<String> {
    verilog
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("input "))
        .map(|l| {
            let decl = l.split("//").next().unwrap().trim().trim_end_matches(',');
            decl.split_whitespace().last().unwrap().to_string()
        })
        .collect()
}

/// A testbench that resets `<name>_top`, then reads every register, and
/// writes all ones, a pattern and zeros to every register without a
/// command field, reading each back: `<what> <index> <hex value>` lines.
fn register_testbench(name: &str, d: &Derived, top: &str) -> String {
    let reset = &d.reset_port;
    let (on, off) = if d.reset_active_low { (0, 1) } else { (1, 0) };
    let tied: String = input_ports(top)
        .iter()
        .filter(|p| {
            !["clk", reset.as_str(), "csr_we", "csr_addr", "csr_wdata"].contains(&p.as_str())
        })
        .map(|p| format!(",\n        .{p}(0)"))
        .collect();
    let mut steps = String::new();
    for r in csr::ALL {
        steps += &format!("        read_reg(\"reset\", {});\n", r.addr);
    }
    for r in csr::ALL
        .iter()
        .filter(|r| r.fields.iter().all(|f| f.access != Access::W))
    {
        for (what, value) in [
            ("ones", "32'hFFFFFFFF"),
            ("pattern", "32'hA5A5C3C3"),
            ("zeros", "32'h0"),
        ] {
            steps += &format!("        write_reg({}, {value});\n", r.addr);
            steps += &format!("        read_reg(\"{what}\", {});\n", r.addr);
        }
    }
    let addr_bits = csr::ADDR_BITS;
    format!(
        "`timescale 1ns/1ps\nmodule regs_tb;\n\
         reg clk = 1'b0;\nalways #5 clk = ~clk;\n\
         reg {reset} = 1'b{on};\nreg csr_we = 1'b0;\nreg [{}:0] csr_addr = 0;\n\
         reg [31:0] csr_wdata = 32'd0;\nwire [31:0] csr_rdata;\n\
         {name}_top dut (\n        .clk(clk),\n        .{reset}({reset}),\n        .csr_we(csr_we),\n\
         \x20       .csr_addr(csr_addr),\n        .csr_wdata(csr_wdata),\n        .csr_rdata(csr_rdata){tied});\n\
         task write_reg(input integer a, input [31:0] v);\nbegin\n\
         @(negedge clk); csr_addr = a; csr_wdata = v; csr_we = 1'b1;\n\
         @(negedge clk); csr_we = 1'b0;\nend\nendtask\n\
         task read_reg(input [8*8-1:0] what, input integer a);\nbegin\n\
         @(negedge clk); csr_addr = a; #1 $display(\"%0s %0d %h\", what, a, csr_rdata);\nend\nendtask\n\
         initial begin\n        repeat (3) @(posedge clk);\n        #1 {reset} = 1'b{off};\n\
         {steps}        $finish;\n    end\nendmodule\n",
        addr_bits - 1
    )
}

/// The RTL's registers hold what the register map says: every register's
/// value after reset, and what reads back after writes of all ones, a
/// pattern and zeros (RW fields keep their bits, signed ones sign-extend,
/// read-only fields ignore writes, command fields read 0).
#[test]
#[ignore = "needs Icarus Verilog"]
fn rtl_registers_match_the_register_map() {
    common::tool("iverilog");
    for name in ["tiny", "causal", "sprint_s"] {
        let (dir, design) = written(name);
        let d = Derived::from_spec(&spec(name));
        let p = regs::params(&d);
        let top = file(&design, &format!("rtl/{name}_top.v"));
        let tb = dir.path().join("regs_tb.v");
        std::fs::write(&tb, register_testbench(name, &d, top)).unwrap();
        let sim = dir.path().join("regs_tb.vvp");
        run_ok(
            "iverilog",
            Command::new("iverilog")
                .current_dir(dir.path())
                .args(["-g2005", "-s", "regs_tb", "-o"])
                .arg(&sim)
                .arg(&tb)
                .args(file(&design, "filelist.f").lines()),
        );
        let out = run_ok("vvp", Command::new("vvp").arg("-n").arg(&sim));
        let mut want = String::new();
        for r in csr::ALL {
            want += &format!("reset {} {:08x}\n", r.addr, expected_read(r, &p, None));
        }
        for r in csr::ALL
            .iter()
            .filter(|r| r.fields.iter().all(|f| f.access != Access::W))
        {
            for (what, value) in [("ones", u32::MAX), ("pattern", 0xA5A5_C3C3), ("zeros", 0)] {
                let read = expected_read(r, &p, Some(value));
                want += &format!("{what} {} {read:08x}\n", r.addr);
            }
        }
        let log = String::from_utf8_lossy(&out.stdout);
        let got: Vec<&str> = log.lines().filter(|l| !l.contains("$finish")).collect();
        let want: Vec<&str> = want.lines().collect();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{name}: register read (what, index, value)");
        }
        assert_eq!(got.len(), want.len(), "{name}: reads\n{log}");
    }
}
