//! The bad-spec corpus: every file in `tests/bad_specs/` has exactly one
//! problem, and the error it produces is snapshotted. A bad spec must make
//! `sprint-rtl generate` exit with status 2 and write nothing.

use std::fs;
use std::path::Path;
use std::process::Command;

mod common;

use sprint_rtl::spec::Spec;

const BAD_SPECS: &str = "tests/bad_specs";

/// Parses `tests/bad_specs/<stem>.yaml`, which must fail, and returns the
/// error as the CLI prints it.
fn error_of(stem: &str) -> String {
    let rel = format!("{BAD_SPECS}/{stem}.yaml");
    let text = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(&rel))
        .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"));
    match Spec::parse(&rel, &text) {
        Ok(_) => panic!("{rel} parsed and validated, but it is meant to be bad"),
        Err(err) => err.to_string(),
    }
}

/// The first line of a bad spec, which says what is wrong with it.
fn what_is_wrong(stem: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("{BAD_SPECS}/{stem}.yaml"));
    let text = fs::read_to_string(path).expect("readable spec");
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("# ")
        .to_owned()
}

macro_rules! bad_spec_tests {
    ($($stem:ident),* $(,)?) => {
        $(
            #[test]
            fn $stem() {
                let message = error_of(stringify!($stem));
                insta::with_settings!(
                    { description => what_is_wrong(stringify!($stem)), omit_expression => true },
                    { insta::assert_snapshot!(stringify!($stem), message) }
                );
            }
        )*

        /// Every file in the corpus has a test above, and every test a file.
        #[test]
        fn corpus_matches_the_test_list() {
            let mut listed = vec![$(stringify!($stem).to_string()),*];
            listed.sort();
            let mut on_disk: Vec<String> =
                fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(BAD_SPECS))
                    .expect("tests/bad_specs exists")
                    .map(|e| e.expect("readable entry").path())
                    .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
                    .map(|p| p.file_stem().expect("has a stem").to_string_lossy().into_owned())
                    .collect();
            on_disk.sort();
            assert_eq!(listed, on_disk, "add a test for each file in {BAD_SPECS}");
        }
    };
}

bad_spec_tests!(
    buffer_smaller_than_one_slot,
    buffer_too_small_for_the_cores,
    cores_not_a_power_of_two,
    energy_negative,
    energy_unknown_field,
    key_msb_bits_above_data_bits,
    lanes_not_dividing_head_dim,
    malformed_bad_indentation,
    malformed_unclosed_bracket,
    malformed_unclosed_quote,
    memory_port_not_fitting_the_chunk,
    memory_port_row_not_whole_bytes,
    missing_required_field,
    name_is_keyword,
    name_starts_with_digit,
    negative_unsigned,
    out_bits_below_data_bits,
    read_sigma_nan,
    read_sigma_too_large,
    seq_len_too_large,
    seq_len_too_small,
    unknown_nested_field,
    unknown_reset_style,
    unknown_top_level_field,
    wrong_type_string_for_number,
);

/// Every bad spec starts with a one-line comment saying what is wrong.
#[test]
fn every_bad_spec_says_what_is_wrong() {
    for entry in fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(BAD_SPECS))
        .expect("tests/bad_specs exists")
    {
        let path = entry.expect("readable entry").path();
        let text = fs::read_to_string(&path).expect("readable spec");
        assert!(
            text.starts_with("# ") && text.lines().nth(1).is_some_and(|l| !l.starts_with('#')),
            "{} must start with exactly one `# ...` line",
            path.display()
        );
    }
}

/// Runs `sprint-rtl generate <spec> -o <tempdir>/out` from the crate root.
fn generate(spec: &str, tmp: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("generate")
        .arg(spec)
        .arg("-o")
        .arg(tmp.join("out"))
        .output()
        .expect("sprint-rtl runs")
}

fn assert_wrote_nothing(tmp: &Path) {
    assert!(!tmp.join("out").exists(), "the output folder was created");
    let leftovers: Vec<_> = fs::read_dir(tmp)
        .expect("temp dir readable")
        .map(|e| e.expect("readable entry").file_name())
        .collect();
    assert!(leftovers.is_empty(), "files left behind: {leftovers:?}");
}

#[test]
fn generate_with_a_bad_spec_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let spec = format!("{BAD_SPECS}/lanes_not_dividing_head_dim.yaml");
    let out = generate(&spec, tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert_eq!(
        stderr,
        error_of("lanes_not_dividing_head_dim"),
        "stderr is the spec error exactly"
    );
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_wrote_nothing(tmp.path());
}

#[test]
fn generate_with_a_malformed_spec_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let spec = format!("{BAD_SPECS}/malformed_unclosed_bracket.yaml");
    let out = generate(&spec, tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains(&spec), "stderr names the file:\n{stderr}");
    assert_eq!(stderr, error_of("malformed_unclosed_bracket"));
    assert_wrote_nothing(tmp.path());
}

#[test]
fn generate_with_a_missing_spec_file_exits_2() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let spec = format!("{BAD_SPECS}/no_such_spec.yaml");
    let out = generate(&spec, tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(
        stderr.starts_with("error: cannot read spec ") && stderr.contains(&spec),
        "stderr names the missing file:\n{stderr}"
    );
    assert!(
        stderr.contains("No such file or directory") || stderr.contains("cannot find the file"),
        "stderr says why:\n{stderr}"
    );
    assert_wrote_nothing(tmp.path());
}

/// `check` says how a spec with several cores splits its buffer.
#[test]
fn check_prints_the_cores_and_their_buffer_shares() {
    let check = Command::new(env!("CARGO_BIN_EXE_sprint-rtl"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", "specs/sprint_m.yaml"])
        .output()
        .expect("sprint-rtl runs");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{check:?}");
    assert!(
        stdout.contains("2 cores (queries in blocks of 8, round robin), each: 8 MAC lanes"),
        "{stdout}"
    );
    assert!(
        stdout.contains("32768 bytes in all, each core: 16384 bytes -> 128 slots"),
        "{stdout}"
    );
}

/// A spec without a `crossbar.emulator` section is valid whatever its
/// array width: the emulator's default of 4 bit lines is cut to the
/// largest power of two dividing `crossbar.cols`; an explicit 4 is not.
#[test]
fn an_absent_emulator_section_fits_any_array_width() {
    let mut spec = common::spec("tiny");
    spec.crossbar.cols = 70;
    assert!(spec.validate().is_ok(), "{:?}", spec.validate());
    assert_eq!(spec.crossbar.emulator_or_default().bit_lines, 2);
    spec.crossbar.emulator = Some(sprint_rtl::spec::Emulator::default());
    assert!(spec.validate().is_err());
}
