//! The book's result tables are rendered from the JSON the commands wrote,
//! not pasted. A table in `docs/src/*.md` between the lines
//!
//! ```text
//! <!-- results: KIND FILE -->
//! ...
//! <!-- end results -->
//! ```
//!
//! is what the library's renderer makes of `docs/results/FILE` (a
//! `sweep.json`), KIND naming the table: `sweep` ([`render::sweep_table`]),
//! `scaling` ([`render::scaling_table`]) or `goals`
//! ([`render::goals_table`]); for `asic` ([`render::asic_table`]) FILE is
//! a JSON list of `synth --target asic --json` reports. After re-running a command, copy its JSON
//! into `docs/results/` and run
//! `SPRINT_RTL_UPDATE_DOCS=1 cargo test --release --test results` to
//! rewrite the tables; review the diff.

use std::fs;
use std::path::{Path, PathBuf};

use sprint_rtl::reports::render;
use sprint_rtl::reports::sweep::Sweep;
use sprint_rtl::synth::SynthReport;

const BEGIN: &str = "<!-- results: ";
const END: &str = "<!-- end results -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One generated table of a chapter: its kind, its JSON file and the
/// byte range of its body (between the two marker lines).
#[derive(Debug)]
struct Block {
    kind: String,
    file: String,
    body: std::ops::Range<usize>,
}

/// The generated tables of one chapter, in order.
fn blocks(chapter: &Path, text: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(start) = text[at..].find(BEGIN).map(|i| at + i) {
        if start > 0 && !text[..start].ends_with('\n') {
            at = start + BEGIN.len();
            continue; // a marker quoted in prose, not one
        }
        let line_end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let marker = text[start + BEGIN.len()..line_end].trim_end();
        let words: Vec<&str> = marker.trim_end_matches("-->").split_whitespace().collect();
        let [kind, file] = words[..] else {
            panic!(
                "{}: a results marker needs KIND and FILE: {marker}",
                chapter.display()
            );
        };
        let end = text[line_end..]
            .find(END)
            .map(|i| line_end + i)
            .unwrap_or_else(|| panic!("{}: {marker} has no `{END}`", chapter.display()));
        found.push(Block {
            kind: kind.to_string(),
            file: file.to_string(),
            body: line_end..end,
        });
        at = end + END.len();
    }
    found
}

/// The table `kind` of `docs/results/<file>`: a sweep, or for `asic` a
/// list of `synth --json` reports.
fn render_table(kind: &str, file: &str) -> String {
    let path = root().join("docs/results").join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if kind == "asic" {
        return render::asic_table(&parse::<Vec<SynthReport>>(&path, &text));
    }
    let sweep: Sweep = parse(&path, &text);
    match kind {
        "sweep" => render::sweep_table(&sweep),
        "scaling" => render::scaling_table(&sweep),
        "goals" => render::goals_table(&sweep),
        other => panic!("unknown results table kind `{other}` (sweep, scaling, goals, asic)"),
    }
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn chapters() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("docs/src"))
        .expect("read docs/src")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
}

/// Every table between markers is its file's rendering, and every file
/// of `docs/results/` has a table (one test, since the update rewrites
/// the chapters the second check reads).
#[test]
fn result_tables_are_rendered_from_their_json() {
    let update = std::env::var_os("SPRINT_RTL_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    let mut used = Vec::new();
    for chapter in chapters() {
        let text = fs::read_to_string(&chapter).expect("read chapter");
        let mut rewritten = text.clone();
        for b in blocks(&chapter, &text).iter().rev() {
            let table = render_table(&b.kind, &b.file);
            if text[b.body.clone()] != table {
                stale.push(format!("{}: {} {}", chapter.display(), b.kind, b.file));
                rewritten.replace_range(b.body.clone(), &table);
            }
            used.push(b.file.clone());
        }
        if update && rewritten != text {
            fs::write(&chapter, rewritten).expect("rewrite chapter");
        }
    }
    assert!(
        update || stale.is_empty(),
        "tables that differ from their JSON (rewrite them with SPRINT_RTL_UPDATE_DOCS=1 \
         cargo test --release --test results):\n{}",
        stale.join("\n")
    );
    let dir = root().join("docs/results");
    for entry in fs::read_dir(&dir).expect("read docs/results") {
        let name = entry
            .expect("dir entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".json") {
            assert!(
                used.contains(&name),
                "docs/results/{name} is used by no table"
            );
        }
    }
}

#[test]
fn markers_are_read_with_their_kind_file_and_body() {
    let text = "a\n<!-- results: scaling x.json -->\n| t |\n<!-- end results -->\nb\n";
    let found = blocks(Path::new("c.md"), text);
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].kind.as_str(), found[0].file.as_str()),
        ("scaling", "x.json")
    );
    assert_eq!(&text[found[0].body.clone()], "| t |\n");
}
