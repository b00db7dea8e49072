//! The shape of a spec as data: every section, field, type and enum value.
//! [`check`] walks a parsed YAML tree against it and reports every field
//! that is unknown, missing or of the wrong type, all in one pass, before
//! serde builds the [`Spec`](super::Spec). Ranges and cross-field rules come
//! after, in [`Spec::validate`](super::Spec::validate).
//!
//! The tables below mirror the serde structs of `spec/mod.rs` and
//! `spec/energy.rs`; a unit test fails when the two disagree on a field or
//! on whether it is required.

use yaml_rust2::Yaml;

use super::SpecErrorKind;

/// What a field holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    /// A mapping of the listed fields.
    Section(&'static [Field]),
    /// An unsigned integer of at most `bits` bits.
    Unsigned {
        bits: u32,
    },
    /// A number (integer or decimal).
    Number,
    Bool,
    /// A string.
    Text,
    /// One of the listed names.
    OneOf(&'static [&'static str]),
}

/// One field of a section.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// A required field has no default.
    pub required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        required: false,
    }
}

const U32: Kind = Kind::Unsigned { bits: 32 };

/// The top-level fields of a spec.
pub(crate) const SPEC: &[Field] = &[
    req("name", Kind::Text),
    req("attention", Kind::Section(ATTENTION)),
    req("numerics", Kind::Section(NUMERICS)),
    req("crossbar", Kind::Section(CROSSBAR)),
    req("recompute", Kind::Section(RECOMPUTE)),
    req("buffer", Kind::Section(BUFFER)),
    req("memory", Kind::Section(MEMORY)),
    opt("rtl", Kind::Section(RTL)),
    opt("energy", Kind::Section(ENERGY)),
];

const ATTENTION: &[Field] = &[
    req("seq_len", U32),
    req("head_dim", U32),
    opt("causal", Kind::Bool),
];

const NUMERICS: &[Field] = &[req("data_bits", U32), req("out_bits", U32)];

const CROSSBAR: &[Field] = &[
    req("rows", U32),
    req("cols", U32),
    req("bits_per_cell", U32),
    req("key_msb_bits", U32),
    req("query_msb_bits", U32),
    req("threshold_bits", U32),
    req("latency_cycles", U32),
    opt("noise", Kind::Section(NOISE)),
    opt("emulator", Kind::Section(EMULATOR)),
];

const EMULATOR: &[Field] = &[
    opt("noise", Kind::OneOf(&["golden", "none"])),
    opt("bit_lines", U32),
];

const NOISE: &[Field] = &[
    req("seed", Kind::Unsigned { bits: 64 }),
    req("programming_sigma", Kind::Number),
    req("read_sigma", Kind::Number),
];

const RECOMPUTE: &[Field] = &[req("lanes", U32), opt("cores", U32)];

const BUFFER: &[Field] = &[
    req("bytes", U32),
    opt("replacement", Kind::OneOf(&["unneeded_first"])),
];

const MEMORY: &[Field] = &[req("latency_cycles", U32), req("bytes_per_cycle", U32)];

const RTL: &[Field] = &[opt(
    "reset",
    Kind::OneOf(&["async_low", "async_high", "sync_low", "sync_high"]),
)];

const ENERGY: &[Field] = &[
    opt("xbar_mac_pj", Kind::Number),
    opt("comparator_pj", Kind::Number),
    opt("reram_read_pj_per_bit", Kind::Number),
    opt("reram_write_pj_per_bit", Kind::Number),
    opt("sram_pj_per_64b", Kind::Number),
    opt("mac_pj", Kind::Number),
    opt("softmax_pj_per_key", Kind::Number),
    opt("normalise_pj_per_element", Kind::Number),
    opt("add32_pj", Kind::Number),
    opt("control_pj_per_cycle", Kind::Number),
];

/// Every field of `tree` (the document root) that does not fit [`SPEC`],
/// in document order: unknown fields and enum values, missing required
/// fields, and values of the wrong type. Each names its dotted path.
pub(crate) fn check(tree: &Yaml) -> Vec<SpecErrorKind> {
    let mut errors = Vec::new();
    check_value(tree, Kind::Section(SPEC), None, &mut errors);
    errors
}

fn check_value(value: &Yaml, kind: Kind, path: Option<&str>, errors: &mut Vec<SpecErrorKind>) {
    let wrong_type = |allowed: &str| SpecErrorKind::Shape {
        field: path.map(str::to_owned),
        problem: format!(
            "{} has the wrong type: found {}",
            subject(path),
            found(value)
        ),
        allowed: Some(allowed.to_owned()),
        help: None,
        at_key: false,
    };
    match (kind, value) {
        (Kind::Section(fields), Yaml::Hash(map)) => check_section(map, fields, path, errors),
        (Kind::Section(_), _) => errors.push(wrong_type("a mapping of `field: value` lines")),
        (Kind::Unsigned { bits }, Yaml::Integer(i)) => {
            let max = u64::MAX >> (64 - bits);
            let problem = if *i < 0 {
                Some("is negative")
            } else {
                (*i as u64 > max).then_some("is too large")
            };
            if let Some(problem) = problem {
                errors.push(SpecErrorKind::Shape {
                    field: path.map(str::to_owned),
                    problem: format!("{} = {i} {problem}", subject(path)),
                    allowed: Some(format!("an unsigned integer up to {max}")),
                    help: None,
                    at_key: false,
                });
            }
        }
        (Kind::Unsigned { .. }, _) => errors.push(wrong_type("an unsigned integer")),
        (Kind::Number, Yaml::Integer(_) | Yaml::Real(_)) => {}
        (Kind::Number, _) => errors.push(wrong_type("a number")),
        (Kind::Bool, Yaml::Boolean(_)) => {}
        (Kind::Bool, _) => errors.push(wrong_type("`true` or `false`")),
        (Kind::Text, Yaml::String(_)) => {}
        (Kind::Text, _) => errors.push(wrong_type("a string")),
        (Kind::OneOf(names), Yaml::String(s)) if names.contains(&s.as_str()) => {}
        (Kind::OneOf(names), Yaml::String(s)) => errors.push(SpecErrorKind::Shape {
            field: path.map(str::to_owned),
            problem: format!("{} = {s} is not a known value", subject(path)),
            allowed: Some(listed(names)),
            help: did_you_mean(s, names),
            at_key: false,
        }),
        (Kind::OneOf(names), _) => errors.push(wrong_type(&format!("one of {}", listed(names)))),
    }
}

fn check_section(
    map: &yaml_rust2::yaml::Hash,
    fields: &[Field],
    path: Option<&str>,
    errors: &mut Vec<SpecErrorKind>,
) {
    let child = |name: &str| match path {
        Some(p) => format!("{p}.{name}"),
        None => name.to_owned(),
    };
    let mut suggested: Vec<&str> = Vec::new();
    for (key, value) in map {
        let Yaml::String(name) = key else {
            errors.push(SpecErrorKind::Shape {
                field: path.map(str::to_owned),
                problem: format!(
                    "{} has a key that is not a name: {}",
                    subject(path),
                    found(key)
                ),
                allowed: Some(listed_fields(fields, path)),
                help: None,
                at_key: true,
            });
            continue;
        };
        match fields.iter().find(|f| f.name == name) {
            Some(field) => check_value(value, field.kind, Some(&child(name)), errors),
            None => {
                let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                let near = nearest(name, &names);
                suggested.extend(near);
                errors.push(SpecErrorKind::Shape {
                    problem: format!("unknown field `{}`", child(name)),
                    field: Some(child(name)),
                    allowed: Some(listed_fields(fields, path)),
                    help: near.map(|n| format!("did you mean `{n}`?")),
                    at_key: true,
                });
            }
        }
    }
    // A required field that an unknown one is a typo of is not missing too.
    let missing = |f: &&Field| {
        f.required
            && !suggested.contains(&f.name)
            && !map.contains_key(&Yaml::String(f.name.to_owned()))
    };
    for field in fields.iter().filter(missing) {
        let name = field.name;
        errors.push(SpecErrorKind::Shape {
            problem: format!("missing field `{}`", child(name)),
            field: Some(child(name)),
            allowed: None,
            help: Some(match path {
                Some(p) => format!("the field is required: add `{name}: ...` under `{p}:`"),
                None => format!("the field is required: add `{name}: ...` at the top level"),
            }),
            at_key: false,
        });
    }
}

/// `the spec` or `` `a.b` ``, as the subject of a message.
fn subject(path: Option<&str>) -> String {
    path.map_or_else(|| "the spec".to_owned(), |p| format!("`{p}`"))
}

/// `` `a`, `b`, `c` ``.
fn listed(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn listed_fields(fields: &[Field], path: Option<&str>) -> String {
    let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
    match path {
        Some(p) => format!("the fields of `{p}`: {}", listed(&names)),
        None => format!("the top-level fields {}", listed(&names)),
    }
}

/// What a YAML value is, as a user would say it.
fn found(value: &Yaml) -> String {
    match value {
        Yaml::Integer(i) => format!("the integer {i}"),
        Yaml::Real(r) => format!("the number {r}"),
        Yaml::Boolean(b) => format!("the boolean {b}"),
        Yaml::String(s) => format!("the string {s:?}"),
        Yaml::Array(_) => "a sequence".into(),
        Yaml::Hash(_) => "a mapping".into(),
        Yaml::Null => "no value (null)".into(),
        Yaml::Alias(_) | Yaml::BadValue => "a value that cannot be read".into(),
    }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The allowed name closest to `given`, if it is close enough to be a typo.
fn nearest(given: &str, names: &[&'static str]) -> Option<&'static str> {
    names
        .iter()
        .map(|n| (distance(given, n), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn did_you_mean(given: &str, names: &[&'static str]) -> Option<String> {
    nearest(given, names).map(|n| format!("did you mean `{n}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Emulator, Energy, Spec};

    fn fields_of(kind: Kind) -> &'static [Field] {
        match kind {
            Kind::Section(fields) => fields,
            _ => &[],
        }
    }

    /// Every field serde writes for the default spec (with its energy
    /// section) is in the tables, at the same place, and the other way round.
    fn same_fields(value: &serde_yaml::Value, fields: &[Field], path: &str) {
        let map = value
            .as_mapping()
            .unwrap_or_else(|| panic!("{path} is a mapping"));
        let written: Vec<&str> = map.keys().map(|k| k.as_str().unwrap()).collect();
        let listed: Vec<&str> = fields.iter().map(|f| f.name).collect();
        assert_eq!(written, listed, "the fields of `{path}`");
        for field in fields {
            if let Kind::Section(inner) = field.kind {
                same_fields(&map[field.name], inner, &format!("{path}.{}", field.name));
            }
        }
    }

    fn default_value() -> serde_yaml::Value {
        let mut spec = Spec::default_spec();
        spec.energy = Some(Energy::default());
        // Fields left out when at their default, written here.
        spec.recompute.cores = 2;
        spec.crossbar.emulator = Some(Emulator::default());
        serde_yaml::to_value(&spec).unwrap()
    }

    #[test]
    fn the_tables_name_the_fields_serde_writes() {
        same_fields(&default_value(), SPEC, "spec");
    }

    /// A field is required in the tables exactly when serde fails without it.
    #[test]
    fn the_tables_know_which_fields_serde_requires() {
        fn visit(root: &serde_yaml::Value, fields: &[Field], path: &[&'static str]) {
            for field in fields {
                let mut without = root.clone();
                let mut section = &mut without;
                for p in path {
                    section = &mut section[*p];
                }
                section.as_mapping_mut().unwrap().remove(field.name);
                let parsed = serde_yaml::from_value::<Spec>(without).is_ok();
                assert_eq!(parsed, !field.required, "{path:?}.{}", field.name);
                let mut deeper = path.to_vec();
                deeper.push(field.name);
                visit(root, fields_of(field.kind), &deeper);
            }
        }
        visit(&default_value(), SPEC, &[]);
    }

    fn tree(yaml: &str) -> Yaml {
        yaml_rust2::YamlLoader::load_from_str(yaml)
            .unwrap()
            .remove(0)
    }

    #[test]
    fn every_problem_of_a_spec_is_reported() {
        let yaml = crate::spec::DEFAULT_SPEC_YAML
            .replace("seq_len: 512", "seq_len: long")
            .replace("lanes: 8", "lane: 8")
            .replace("reset: async_low", "reset: async_lo");
        let problems: Vec<String> = check(&tree(&yaml))
            .iter()
            .map(|e| match e {
                SpecErrorKind::Shape { problem, .. } => problem.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            problems,
            [
                "`attention.seq_len` has the wrong type: found the string \"long\"",
                "unknown field `recompute.lane`",
                "`rtl.reset` = async_lo is not a known value",
            ]
        );
    }

    #[test]
    fn unsigned_fields_know_their_width() {
        let errors = check(&tree(
            &crate::spec::DEFAULT_SPEC_YAML.replace("bytes: 16384", "bytes: 4294967296"),
        ));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(matches!(&errors[0], SpecErrorKind::Shape { problem, .. }
            if problem == "`buffer.bytes` = 4294967296 is too large"));
    }
}
