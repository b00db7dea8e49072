//! The documentation's links: every relative link and image in `README.md`,
//! `CHANGELOG.md` and the book (`docs/src/`) points to a file that exists,
//! and to a heading of it when the link names one; the book's links stay
//! inside `docs/src/` (mdBook publishes nothing else); every chapter is
//! listed in `docs/src/SUMMARY.md`.
//!
//! `mdbook build` turns a link to a missing page into a dead link without
//! failing, so this test is what makes a broken link fail CI.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn book_src() -> PathBuf {
    root().join("docs/src")
}

/// Every Markdown file under `dir`, recursively, sorted.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(markdown_files(&path));
        } else if path.extension().is_some_and(|x| x == "md") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The lines of `text` outside fenced code blocks, with their 1-based
/// numbers.
fn lines_outside_fences(text: &str) -> Vec<(usize, &str)> {
    let mut in_fence = false;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        } else if !in_fence {
            lines.push((i + 1, line));
        }
    }
    lines
}

/// The lines of `text` outside fenced code blocks, with their 1-based
/// numbers and with inline code spans removed.
fn prose_lines(text: &str) -> Vec<(usize, String)> {
    lines_outside_fences(text)
        .into_iter()
        .map(|(number, line)| (number, without_code_spans(line)))
        .collect()
}

/// `line` with every backtick-delimited code span removed.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    for (i, part) in line.split('`').enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
        }
    }
    out
}

/// The targets of the inline links and images (`[text](target)`,
/// `![alt](target)`) and of the reference definitions (`[label]: target`)
/// of one line; a title after the target is dropped.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let end = after.find(')').unwrap_or(after.len());
        targets.push(after[..end].to_string());
        rest = &after[end..];
    }
    let trimmed = line.trim_start();
    if trimmed.starts_with('[')
        && let Some(colon) = trimmed.find("]: ")
    {
        targets.push(trimmed[colon + 3..].to_string());
    }
    targets
        .into_iter()
        .map(|t| {
            let t = t.trim().trim_start_matches('<');
            let t = t.split_whitespace().next().unwrap_or("");
            t.trim_end_matches('>').to_string()
        })
        .collect()
}

/// Whether a link leaves the repository (a URL) or stays in the page.
fn is_external_or_local(target: &str) -> bool {
    target.is_empty()
        || target.starts_with('#')
        || target.starts_with("http://")
        || target.starts_with("https://")
        || target.starts_with("mailto:")
}

/// `path` with `.` and `..` resolved lexically.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The anchor ids of a Markdown file's headings, as mdBook and GitHub
/// derive them: lower case, spaces to `-`, other punctuation dropped.
fn heading_ids(text: &str) -> BTreeSet<String> {
    lines_outside_fences(text)
        .into_iter()
        .filter(|(_, line)| line.starts_with('#'))
        .map(|(_, line)| {
            line.trim_start_matches('#')
                .trim()
                .chars()
                .filter_map(|c| match c {
                    c if c.is_whitespace() => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => {
                        Some(c.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect()
        })
        .collect()
}

/// The problems of one relative link of `file`, if any.
fn check_link(file: &Path, target: &str, stay_under: Option<&Path>) -> Option<String> {
    let (path_part, fragment) = match target.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (target, None),
    };
    let resolved = normalise(&file.parent().unwrap().join(path_part));
    if !resolved.exists() {
        return Some(format!("`{target}` points to a missing file"));
    }
    if let Some(dir) = stay_under
        && !resolved.starts_with(dir)
    {
        let dir = dir.strip_prefix(root()).unwrap_or(dir);
        return Some(format!(
            "`{target}` leaves {}, which the book does not publish",
            dir.display()
        ));
    }
    let fragment = fragment.filter(|f| !f.is_empty())?;
    if resolved.extension().is_some_and(|x| x == "md") {
        let text = fs::read_to_string(&resolved).unwrap();
        if !heading_ids(&text).contains(fragment) {
            return Some(format!("`{target}`: no heading with id `{fragment}`"));
        }
    }
    None
}

/// Every broken relative link of `file`, as `file:line: problem`.
fn broken_links(file: &Path, stay_under: Option<&Path>) -> Vec<String> {
    let text = fs::read_to_string(file).unwrap();
    let shown = file.strip_prefix(root()).unwrap_or(file).display();
    let mut broken = Vec::new();
    for (number, line) in prose_lines(&text) {
        for target in link_targets(&line) {
            if is_external_or_local(&target) {
                continue;
            }
            if let Some(problem) = check_link(file, &target, stay_under) {
                broken.push(format!("{shown}:{number}: {problem}"));
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_points_to_an_existing_file() {
    let book = book_src();
    let mut broken = Vec::new();
    for top in ["README.md", "CHANGELOG.md"] {
        broken.extend(broken_links(&root().join(top), None));
    }
    for chapter in markdown_files(&book) {
        broken.extend(broken_links(&chapter, Some(&book)));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_chapter_is_in_the_summary() {
    let book = book_src();
    let summary = book.join("SUMMARY.md");
    let listed: BTreeSet<PathBuf> = prose_lines(&fs::read_to_string(&summary).unwrap())
        .iter()
        .flat_map(|(_, line)| link_targets(line))
        .map(|t| normalise(&book.join(t)))
        .collect();
    let unlisted: Vec<String> = markdown_files(&book)
        .into_iter()
        .filter(|f| *f != summary && !listed.contains(f))
        .map(|f| f.strip_prefix(&book).unwrap().display().to_string())
        .collect();
    assert!(
        unlisted.is_empty(),
        "chapters missing from docs/src/SUMMARY.md (mdBook would not publish them): {}",
        unlisted.join(", ")
    );
}

#[test]
fn the_link_scanner_finds_links_images_and_references() {
    assert_eq!(
        link_targets("see [a](x.md#h) and ![b](f/y.svg \"title\") not `[c](z.md)`"),
        ["x.md#h", "f/y.svg", "z.md"]
    );
    assert_eq!(
        link_targets(&without_code_spans("not `[c](z.md)` but [d](<w.md>)")),
        ["w.md"]
    );
    assert_eq!(link_targets("[label]: ../a/b.md"), ["../a/b.md"]);
    let ids = heading_ids("# A `report` on: it\n```\n# not a heading\n```\n## The main job\n");
    assert_eq!(
        ids,
        BTreeSet::from(["a-report-on-it".to_string(), "the-main-job".to_string()])
    );
}

#[test]
fn a_missing_file_and_a_missing_heading_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.md");
    fs::write(
        &page,
        "# Title\n\n[ok](page.md#title) [gone](nope.md) [bad](page.md#nope)\n",
    )
    .unwrap();
    let broken = broken_links(&page, None);
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("`nope.md` points to a missing file"));
    assert!(broken[1].contains("no heading with id `nope`"));
    let outside = check_link(&page, "page.md", Some(&dir.path().join("sub")));
    assert!(outside.unwrap().contains("leaves"));
}
