//! Emitted files: the committed generated/ tree (the one guard of the
//! emitted bytes), determinism and the file conventions every module keeps.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{root, shipped_spec_names, spec};
use sprint_rtl::emit::{self, Hierarchy};
use sprint_rtl::spec::Spec;

/// Set to rewrite generated/ from the current emission instead of
/// comparing (then review `git diff generated/`).
const UPDATE_VAR: &str = "SPRINT_RTL_UPDATE_GENERATED";

#[test]
fn the_embedded_default_is_the_shipped_s_spec() {
    assert_eq!(Spec::default_spec(), spec("sprint_s"));
}

fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out
}

/// The first line where `want` and `got` differ, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let line = want
        .lines()
        .zip(got.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
    format!(
        "line {}: emitted {:?}, committed {:?}",
        line + 1,
        want.lines().nth(line).unwrap_or("<end>"),
        got.lines().nth(line).unwrap_or("<end>")
    )
}

/// `generated/` must be exactly what `sprint-rtl generate` writes now for
/// every spec under specs/. After an intended change of emission, rewrite it
/// with `SPRINT_RTL_UPDATE_GENERATED=1 cargo test --release --test emission`
/// and review `git diff generated/`.
#[test]
fn committed_generated_tree_is_current() {
    let generated = root().join("generated");
    let update = std::env::var_os(UPDATE_VAR).is_some();
    let names = shipped_spec_names();
    for name in &names {
        let design = emit::render(&spec(name));
        let dir = generated.join(name);
        if update {
            emit::write_atomically(&dir, &design.files).unwrap();
        }
        let want: BTreeSet<String> = design.files.iter().map(|f| f.path.clone()).collect();
        assert_eq!(
            files_under(&dir),
            want,
            "{name}: generated/{name} holds other files than the emission \
             (rewrite with {UPDATE_VAR}=1)"
        );
        for f in &design.files {
            let on_disk = std::fs::read_to_string(dir.join(&f.path)).unwrap();
            assert!(
                on_disk == f.contents,
                "generated/{name}/{} is stale ({}); rewrite it with {UPDATE_VAR}=1",
                f.path,
                first_difference(&f.contents, &on_disk)
            );
        }
    }
    let dirs: BTreeSet<String> = std::fs::read_dir(&generated)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = names.into_iter().collect();
    assert_eq!(
        dirs, expected,
        "generated/ holds a design of no spec under specs/"
    );
}

#[test]
fn emission_is_deterministic() {
    for name in &shipped_spec_names() {
        let a = emit::render(&spec(name));
        let b = emit::render(&spec(name));
        assert_eq!(a.files, b.files);
    }
}

#[test]
fn every_module_file_keeps_the_conventions() {
    for name in &shipped_spec_names() {
        let s = spec(name);
        let design = emit::render(&s);
        let hash = s.hash();
        for m in Hierarchy::with_cores(s.recompute.cores).dependency_order() {
            let path = emit::module_path(name, &m);
            let text = &design
                .files
                .iter()
                .find(|f| f.path == path)
                .unwrap()
                .contents;
            let module = format!("{name}_{}", m.suffix);
            assert!(
                path.ends_with(&format!("/{module}.v")),
                "file named as its module"
            );
            assert!(text.contains(&hash), "{path}: header names the spec hash");
            assert!(
                text.contains(&format!("sprint-rtl {}", env!("CARGO_PKG_VERSION"))),
                "{path}: header names the version"
            );
            assert!(text.contains("`default_nettype none"), "{path}");
            assert!(text.trim_end().ends_with("`default_nettype wire"), "{path}");
            assert_eq!(
                text.matches("\nmodule ").count(),
                1,
                "{path}: one module per file"
            );
            assert!(text.contains(&format!("\nmodule {module} (")), "{path}");
            assert!(!text.contains("lint_off"), "{path}: no lint waivers");
            for marker in ["{{d.", "{{#", "{{/", "{{>", "{{msb", "{{zext"] {
                assert!(
                    !text.contains(marker),
                    "{path}: unrendered template text {marker}"
                );
            }
            for (i, line) in text.lines().enumerate() {
                assert!(
                    line.chars().count() <= 100,
                    "{path}:{}: longer than 100 columns",
                    i + 1
                );
                assert!(
                    !line.contains("generate")
                        || !line.contains("begin")
                        || line.contains("begin :")
                        || line.trim_start().starts_with("//"),
                    "{path}:{}: unnamed generate block",
                    i + 1
                );
            }
        }
    }
}

/// The register header, the SystemRDL and the FuseSoC core file keep the
/// Verilog's 100 columns too.
#[test]
fn packaging_files_stay_within_100_columns() {
    for name in &shipped_spec_names() {
        let design = emit::render(&spec(name));
        for f in design.files.iter().filter(|f| {
            [".h", ".rdl", ".core"]
                .iter()
                .any(|ext| f.path.ends_with(ext))
        }) {
            for (i, line) in f.contents.lines().enumerate() {
                assert!(
                    line.chars().count() <= 100,
                    "{name}/{}:{}: longer than 100 columns",
                    f.path,
                    i + 1
                );
            }
        }
    }
}

#[test]
fn filelists_list_children_before_parents() {
    let design = emit::render(&spec("tiny"));
    let list = &design
        .files
        .iter()
        .find(|f| f.path == "filelist.f")
        .unwrap()
        .contents;
    let lines: Vec<&str> = list.lines().collect();
    let pos = |m: &str| {
        lines
            .iter()
            .position(|l| l.ends_with(&format!("tiny_{m}.v")))
            .unwrap()
    };
    assert!(pos("exp2") < pos("engine") && pos("engine") < pos("top"));
    assert!(
        !list.contains("xbar_model"),
        "the behavioral crossbar is never synthesized"
    );
    let sim = &design
        .files
        .iter()
        .find(|f| f.path == "sim_filelist.f")
        .unwrap()
        .contents;
    assert!(sim.contains("sim/tiny_xbar_model.v") && sim.contains("sim/tiny_tb_harness.v"));
}

/// With several cores the top instantiates the cores, each core the
/// controller, engine and buffer, and the core comes before the top.
#[test]
fn several_cores_put_a_core_between_the_top_and_its_parts() {
    let dot = Hierarchy::with_cores(2).to_dot("sprint_m");
    assert!(
        dot.contains("\"sprint_m_top\" -> \"sprint_m_core\";"),
        "{dot}"
    );
    assert!(
        dot.contains("\"sprint_m_core\" -> \"sprint_m_engine\";"),
        "{dot}"
    );
    assert!(
        !dot.contains("\"sprint_m_top\" -> \"sprint_m_engine\";"),
        "{dot}"
    );
    let design = emit::render(&spec("sprint_m"));
    let list = &design
        .files
        .iter()
        .find(|f| f.path == "filelist.f")
        .unwrap()
        .contents;
    let core = list.find("sprint_m_core.v").unwrap();
    assert!(list.find("sprint_m_engine.v").unwrap() < core);
    assert!(core < list.find("sprint_m_top.v").unwrap());
}

#[test]
fn graph_is_dot_of_the_hierarchy() {
    let dot = Hierarchy::new().to_dot("tiny");
    assert!(dot.starts_with("digraph \"tiny\" {"));
    assert!(dot.contains("\"tiny_top\" -> \"tiny_engine\";"));
    assert!(dot.contains("\"tiny_engine\" -> \"tiny_exp2\";"));
    assert!(dot.contains("\"tiny_tb_harness\" -> \"tiny_xbar_model\";"));
}
