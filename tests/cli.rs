//! Command-line option checks that need no tool: conflicting or
//! out-of-range options are refused (exit status 2) before anything runs or
//! is written.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn synth(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .arg("synth")
        .args(args)
        .current_dir(root())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn synth_refuses_options_it_cannot_honour() {
    let before = std::fs::read(root().join("synth/baseline.json")).unwrap();
    for (args, says) in [
        (
            &[
                "specs/tiny.yaml",
                "--target",
                "ecp5",
                "--seed",
                "2",
                "--update-baseline",
            ][..],
            "needs --seed 1",
        ),
        (
            &[
                "specs/tiny.yaml",
                "--target",
                "ecp5",
                "--no-pnr",
                "--update-baseline",
            ][..],
            "drop --no-pnr",
        ),
        (
            &[
                "specs/tiny.yaml",
                "--target",
                "ice40",
                "--no-pnr",
                "--compare-baseline",
            ][..],
            "drop --no-pnr",
        ),
        (
            &[
                "specs/tiny.yaml",
                "--target",
                "ice40",
                "--block",
                "engine",
                "--no-pnr",
                "--compare-baseline",
            ][..],
            "whole designs only",
        ),
        (
            &["specs/tiny.yaml", "--freq", "0"][..],
            "0 is not in 1..=1000 MHz",
        ),
    ] {
        let (status, stderr) = synth(args);
        assert_eq!(status, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("synthesizing"),
            "{args:?} started: {stderr}"
        );
    }
    let after = std::fs::read(root().join("synth/baseline.json")).unwrap();
    assert_eq!(before, after, "the baseline file changed");
}

/// `verify --interface axi` without a Python that has cocotb stops with
/// exit status 2, says how to make one, and writes nothing.
#[test]
fn axi_verify_without_cocotb_says_how_to_get_it() {
    let work = tempfile::tempdir().unwrap();
    let work_dir = work.path().join("axi");
    let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .args([
            "verify",
            "specs/tiny.yaml",
            "--interface",
            "axi",
            "--work-dir",
        ])
        .arg(&work_dir)
        .env("SPRINT_RTL_COCOTB_PYTHON", "/nonexistent/python3")
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for says in [
        "/nonexistent/python3",
        "SPRINT_RTL_COCOTB_PYTHON",
        "pip install -r hw_tests/requirements-axi.txt",
    ] {
        assert!(stderr.contains(says), "{says} missing from: {stderr}");
    }
    assert!(!work_dir.exists(), "nothing is written");
}

#[test]
fn verify_refuses_a_replay_it_cannot_honour() {
    let work = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            &["--replay", "seed1/sprint", "--seed", "2"][..],
            "cannot be used with",
        ),
        (&["--replay", "sprint"][..], "starts with seed<N>/"),
        (
            &["--replay", "seed1/sprnt", "--no-robustness"][..],
            "its runs are seed1/baseline, seed1/prune-only, seed1/sprint, seed1/reuse-only",
        ),
        (&["--tb-fault", "late-ready"][..], "possible values"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
            .args(["verify", "specs/tiny.yaml", "--work-dir"])
            .arg(work.path())
            .args(args)
            .current_dir(root())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(
            !work.path().join("obj").exists(),
            "{args:?} built a testbench"
        );
    }
}

#[test]
fn fuzz_refuses_bad_usage_before_anything_runs() {
    let out_dir = tempfile::tempdir().unwrap();
    let output = out_dir.path().join("fuzz");
    for (args, says) in [
        (&["--queries", "2"][..], "--spec"),
        (
            &["--spec", "specs/tiny.yaml", "--queries", "33"][..],
            "seq_len = 32",
        ),
        (
            &["--spec", "specs/tiny.yaml", "--small"][..],
            "cannot be used with",
        ),
        (&["--designs", "0"][..], "not in 1.."),
        (
            &["--spec", "specs/tiny.yaml", "--first-design", "3"][..],
            "cannot be used with",
        ),
        (&["--spec", "specs/missing.yaml"][..], "cannot read spec"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
            .arg("fuzz")
            .args(args)
            .arg("-o")
            .arg(&output)
            .current_dir(root())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!output.exists(), "{args:?} wrote {}", output.display());
    }
}

#[test]
fn calibrate_refuses_the_perplexity_texts_it_has_no_task_for() {
    for option in ["--text", "--calibrate-on", "--max-tokens"] {
        let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
            .args(["calibrate", "specs/tiny.yaml", "--task", "lee", option, "x"])
            .current_dir(root())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{option}: {stderr}");
        assert!(stderr.contains("unexpected argument"), "{option}: {stderr}");
    }
}

/// A trace whose arrays disagree in shape (a K of fewer rows than its Q)
/// is bad input naming the member, not a panic of the golden model.
#[test]
fn simulate_refuses_a_trace_of_inconsistent_shapes() {
    use sprint_rtl::trace::Trace;
    let mut trace = Trace::read_npz(&root().join("tests/data/minilm_passage.npz")).unwrap();
    let head = &mut trace.heads[0];
    head.k = head.k.slice(ndarray::s![..100, ..]).to_owned();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short_k.npz");
    trace.write_npz(&path).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .args(["simulate", "specs/minilm.yaml", "--trace"])
        .arg(&path)
        .current_dir(root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("member l0h0_k: shape (100, 32)"),
        "{stderr}"
    );
}

/// A thresholds file whose threshold does not fit the crossbar's signed
/// threshold register, or that lists a head twice, is bad input: the
/// register would wrap the value and keep a different set of keys.
#[test]
fn simulate_refuses_thresholds_the_register_cannot_hold() {
    let original: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/data/minilm_passage.thresholds.json")).unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let too_high = |f: &mut serde_json::Value| f["heads"][0]["threshold"] = (1 << 19).into();
    let twice = |f: &mut serde_json::Value| {
        let first = f["heads"][0].clone();
        f["heads"].as_array_mut().unwrap().push(first);
    };
    for (edit, says) in [
        (
            &too_high as &dyn Fn(&mut serde_json::Value),
            "head l0h0: threshold 524288 does not fit the spec's crossbar.threshold_bits = 20; \
             allowed: -524288..=524287",
        ),
        (&twice, "head l0h0 is listed more than once"),
    ] {
        let mut file = original.clone();
        edit(&mut file);
        let path = dir.path().join("thresholds.json");
        std::fs::write(&path, file.to_string()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
            .args([
                "simulate",
                "specs/minilm.yaml",
                "--trace",
                "tests/data/minilm_passage.npz",
                "--thresholds",
            ])
            .arg(&path)
            .current_dir(root())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}

/// An output that cannot be written is refused before the long run that
/// would fill it: synthesis, the RTL report, a model's forward pass.
#[test]
fn unwritable_outputs_are_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a_file");
    std::fs::write(&file, "mine").unwrap();
    let inside_a_file = file.join("out.json");
    let (file, inside_a_file) = (file.to_str().unwrap(), inside_a_file.to_str().unwrap());
    for args in [
        &["synth", "specs/tiny.yaml", "--json", inside_a_file][..],
        &[
            "synth",
            "specs/tiny.yaml",
            "--json",
            dir.path().to_str().unwrap(),
        ][..],
        &["report", "specs/tiny.yaml", "-o", file][..],
        &[
            "sweep",
            "specs/minilm.yaml",
            "--trace",
            "tests/data/minilm_passage.npz",
            "--param",
            "lanes=4",
            "-o",
            file,
        ][..],
        &[
            "trace",
            "--model",
            "no_such_model",
            "--text",
            "tests/data/passage.txt",
            "-o",
            inside_a_file,
        ][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
            .args(args)
            .current_dir(root())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("is not a folder") || stderr.contains("is a folder, not a file"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("synthesizing"),
            "{args:?} started: {stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(file).unwrap(), "mine");
}
