//! The accelerator spec: the YAML a user writes and its validation.
//!
//! Phases: [`Spec::parse`] reads YAML with serde (unknown fields are errors),
//! [`Spec::validate`] checks every range and cross-field rule; then
//! [`crate::golden::Derived::from_spec`] computes every width, depth and
//! count once, from the numerics contract, so that the golden model and the
//! templates only read them.

mod energy;
mod error;
pub mod limits;
mod locate;
mod schema;

pub use energy::Energy;
pub use error::{SpecError, SpecErrorKind, SpecErrors};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The paper's S configuration (16 KB buffer, d = 64, N = 512, 8-bit Q/K/V,
/// 4-bit key MSBs), used when no spec is given.
pub const DEFAULT_SPEC_YAML: &str = include_str!("../../specs/sprint_s.yaml");
/// File name the default spec is reported under.
pub const DEFAULT_SPEC_NAME: &str = "specs/sprint_s.yaml (embedded)";

/// A complete accelerator spec, as written in YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Prefix of every emitted module and the name of the output folder; a
    /// legal Verilog identifier.
    pub name: String,
    /// Shape of one attention head.
    pub attention: Attention,
    /// Widths of the data the recompute engine sees.
    pub numerics: Numerics,
    /// The ReRAM crossbar that holds the key MSBs.
    pub crossbar: Crossbar,
    /// The digital recompute engine.
    pub recompute: Recompute,
    /// The on-chip K/V buffer.
    pub buffer: Buffer,
    /// The external memory that holds the full-precision K and V rows.
    pub memory: Memory,
    /// RTL conventions.
    #[serde(default)]
    pub rtl: Rtl,
    /// Per-operation energies of the report's energy model; absent means
    /// the cited defaults of [`Energy`]. Shapes no RTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<Energy>,
}

/// Shape of one attention head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attention {
    /// Largest number of keys (and queries) per head, N. Range 2..=16384.
    pub seq_len: u32,
    /// Head dimension d: elements per q, k and v row. Range 2..=256.
    pub head_dim: u32,
    /// Decoder masking: key j is never kept for query i when j > i.
    #[serde(default)]
    pub causal: bool,
}

/// Widths of the data the recompute engine sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Numerics {
    /// Width of the signed integer elements of Q, K and V, in bits. Range 4..=16.
    pub data_bits: u32,
    /// Width of the signed output elements, in bits; the bits above
    /// `data_bits` are fractional bits. Range data_bits..=32.
    pub out_bits: u32,
}

/// The ReRAM crossbar (paper Section 4: in-memory approximate scoring).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Crossbar {
    /// Word lines per array. Range 8..=4096.
    pub rows: u32,
    /// Bit lines per array. Range 8..=4096.
    pub cols: u32,
    /// Bits stored per multi-level cell. Range 1..=4.
    pub bits_per_cell: u32,
    /// Most significant bits of each key element stored in the array.
    /// Range 1..=data_bits.
    pub key_msb_bits: u32,
    /// Most significant bits of each query element driven on the word lines.
    /// Range 1..=data_bits.
    pub query_msb_bits: u32,
    /// Width of the signed threshold register. Range 4..=31.
    pub threshold_bits: u32,
    /// Cycles from a query's request to its keep vector. Range 1..=1024.
    pub latency_cycles: u32,
    /// Seeded non-idealities.
    #[serde(default)]
    pub noise: Noise,
    /// The synthesizable crossbar emulator (`<name>_xbar_emu`) that stands
    /// in for the ReRAM on an FPGA. Absent means its defaults, and is not
    /// serialised, so the hash of every spec without the field is
    /// unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emulator: Option<Emulator>,
}

impl Crossbar {
    /// The emulator's settings: the spec's, or when the field is absent
    /// golden noise and 4 bit lines, cut to
    /// the largest power of two that divides `cols` (so that a spec
    /// without the field is valid whatever its array width).
    pub fn emulator_or_default(&self) -> Emulator {
        self.emulator.unwrap_or_else(|| Emulator {
            bit_lines: default_emulator_bit_lines().min(1 << self.cols.trailing_zeros().min(31)),
            ..Emulator::default()
        })
    }
}

/// The crossbar emulator: a digital stand-in for the ReRAM arrays that
/// computes the same keep vectors ([`crate::golden::crossbar`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Emulator {
    /// Which non-idealities the emulator reproduces. Default `golden`.
    #[serde(default)]
    pub noise: EmulatorNoise,
    /// Bit lines (keys) scored per cycle: a power of two that divides
    /// `crossbar.cols`. Default 4 (when the whole field is absent, the
    /// largest power of two up to 4 that divides `cols`). Range 1..=64.
    #[serde(default = "default_emulator_bit_lines")]
    pub bit_lines: u32,
}

impl Default for Emulator {
    fn default() -> Self {
        Emulator {
            noise: EmulatorNoise::default(),
            bit_lines: default_emulator_bit_lines(),
        }
    }
}

fn default_emulator_bit_lines() -> u32 {
    4
}

/// Noise of the crossbar emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmulatorNoise {
    /// The golden model's programming error and read noise, from the same
    /// SplitMix64 draws: the emulator's keep vectors are the crossbar
    /// model's.
    #[default]
    Golden,
    /// No noise: the keep vectors of a noiseless crossbar (the golden model
    /// with both multipliers 0); no hash logic, no error RAM.
    None,
}

/// Crossbar non-idealities. Both are Gaussian-like (Irwin–Hall of 8 bytes)
/// and reproducible from `seed`; see [`crate::golden::crossbar`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Noise {
    /// Seed of every noise draw.
    pub seed: u64,
    /// Standard deviation of the per-cell programming error, in key-MSB
    /// levels. Range 0.0..=8.0.
    pub programming_sigma: f64,
    /// Standard deviation of the per-read, per-bit-line noise, in units of
    /// one query-MSB × key-MSB product. Range 0.0..=64.0.
    pub read_sigma: f64,
}

impl Default for Noise {
    fn default() -> Self {
        Noise {
            seed: 1,
            programming_sigma: 0.0,
            read_sigma: 0.0,
        }
    }
}

/// The digital recompute engines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recompute {
    /// Signed MAC lanes of each core; must divide head_dim. Range 1..=head_dim.
    pub lanes: u32,
    /// Recompute cores (the paper's CORELETs), each with its own engine and
    /// its own share of the buffer: 1, 2, 4 or 8. Queries go to the cores in
    /// blocks ([`crate::golden::dispatch`]). Default 1; not serialised when
    /// 1, so the hash of every spec without the field is unchanged.
    #[serde(default = "one_core", skip_serializing_if = "is_one_core")]
    pub cores: u32,
}

/// Most recompute cores.
pub const MAX_CORES: u32 = 8;

fn one_core() -> u32 {
    1
}

fn is_one_core(cores: &u32) -> bool {
    *cores == 1
}

/// The on-chip K/V buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buffer {
    /// Capacity in bytes, all cores together: each of the
    /// `recompute.cores` cores has `bytes / cores`; one slot holds one K row
    /// and one V row. Range: two slots per core ..= 1 MiB.
    pub bytes: u32,
    /// Replacement policy.
    #[serde(default)]
    pub replacement: Replacement,
}

/// Which slot a fetched row replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// A free slot first, then a slot the current query does not need, then
    /// a slot the current query has already consumed; lowest slot index
    /// first within each class. A row the current query still needs is
    /// never evicted.
    #[default]
    UnneededFirst,
}

/// The external memory that holds full-precision K and V.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// Cycles from a request to its first response beat. Range 1..=10000.
    pub latency_cycles: u32,
    /// Sustained bandwidth in bytes per cycle, and the width of the fetch
    /// port's beat. Range 1..=1024, and a power-of-two multiple or divisor
    /// of the engine's chunk ([`PortRatio`]).
    pub bytes_per_cycle: u32,
}

/// RTL conventions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rtl {
    /// Reset style of every register (memories are never reset).
    #[serde(default)]
    pub reset: ResetStyle,
}

/// Reset style, applied to every flip-flop of the design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetStyle {
    /// Asynchronous assertion, active-low `rst_n`.
    #[default]
    AsyncLow,
    /// Asynchronous assertion, active-high `rst`.
    AsyncHigh,
    /// Synchronous, active-low `rst_n`.
    SyncLow,
    /// Synchronous, active-high `rst`.
    SyncHigh,
}

/// Bytes of one buffer slot: one K row and one V row, each `head_dim`
/// elements of `data_bits` packed and rounded up to whole bytes.
pub fn slot_bytes(head_dim: u32, data_bits: u32) -> u32 {
    2 * (head_dim * data_bits).div_ceil(8)
}

impl Spec {
    /// Parses and validates a spec. `file` names the source in errors.
    ///
    /// The text is checked in stages, each reporting every problem it finds
    /// before the next runs: the bounds of [`limits`] (size, nesting), YAML
    /// syntax, the shape ([`schema`]: unknown, missing, repeated or
    /// mistyped fields), then ranges and cross-field rules
    /// ([`Spec::validate`]).
    ///
    /// # Errors
    /// [`SpecErrors`]: every problem of the first stage that has any, each
    /// with the file, line, column and field.
    pub fn parse(file: &str, yaml: &str) -> Result<Spec, SpecErrors> {
        limits::check(file, yaml)?;
        let tree = yaml_tree(file, yaml)?;
        let shape = schema::check(&tree);
        if !shape.is_empty() {
            return Err(SpecErrors::located(file, yaml, shape));
        }
        let spec: Spec = serde_yaml::from_str(yaml).map_err(|e| {
            let kind = SpecErrorKind::Syntax {
                message: format!("the spec's values could not be read: {e}"),
            };
            SpecError::at(file, None, kind)
        })?;
        spec.validate()
            .map_err(|kinds| SpecErrors::located(file, yaml, kinds))?;
        Ok(spec)
    }

    /// The spec's energies, or the cited defaults.
    pub fn energy(&self) -> Energy {
        self.energy.clone().unwrap_or_default()
    }

    /// The embedded default spec (the paper's S configuration).
    pub fn default_spec() -> Spec {
        Spec::parse(DEFAULT_SPEC_NAME, DEFAULT_SPEC_YAML).expect("embedded default spec is valid")
    }

    /// Checks every range and cross-field rule.
    ///
    /// # Errors
    /// Every rule broken, each with the dotted path of the field it names. A
    /// rule whose bound comes from another field (`numerics.out_bits` from
    /// `numerics.data_bits`, say) is checked only when that field is valid.
    pub fn validate(&self) -> Result<(), Vec<SpecErrorKind>> {
        let mut errors = Vec::new();
        errors.extend(check_identifier("name", &self.name).err());
        let a = &self.attention;
        let n = &self.numerics;
        let x = &self.crossbar;
        let head_dim_ok = push(&mut errors, range("attention.head_dim", a.head_dim, 2, 256));
        let data_bits_ok = push(&mut errors, range("numerics.data_bits", n.data_bits, 4, 16));
        push(
            &mut errors,
            range("attention.seq_len", a.seq_len, 2, 16_384),
        );
        if data_bits_ok {
            push(&mut errors, self.check_widths());
        }
        for (field, value, lo, hi) in [
            ("crossbar.rows", x.rows, 8, 4096),
            ("crossbar.cols", x.cols, 8, 4096),
            ("crossbar.bits_per_cell", x.bits_per_cell, 1, 4),
            ("crossbar.threshold_bits", x.threshold_bits, 4, 31),
            ("crossbar.latency_cycles", x.latency_cycles, 1, 1024),
            (
                "memory.latency_cycles",
                self.memory.latency_cycles,
                1,
                10_000,
            ),
            (
                "memory.bytes_per_cycle",
                self.memory.bytes_per_cycle,
                1,
                1024,
            ),
        ] {
            push(&mut errors, range(field, value, lo, hi));
        }
        let noise = &x.noise;
        push(
            &mut errors,
            range_f64(
                "crossbar.noise.programming_sigma",
                noise.programming_sigma,
                8.0,
            ),
        );
        push(
            &mut errors,
            range_f64("crossbar.noise.read_sigma", noise.read_sigma, 64.0),
        );
        if head_dim_ok {
            push(&mut errors, self.check_lanes());
        }
        let memory_ok = range(
            "memory.bytes_per_cycle",
            self.memory.bytes_per_cycle,
            1,
            1024,
        )
        .is_ok();
        if head_dim_ok && data_bits_ok && memory_ok && self.check_lanes().is_ok() {
            push(&mut errors, self.check_memory_port());
        }
        push(&mut errors, self.check_emulator());
        let cores_ok = push(&mut errors, self.check_cores());
        if head_dim_ok && data_bits_ok && cores_ok {
            push(&mut errors, self.check_buffer());
        }
        if let Some(e) = &self.energy {
            errors.extend(e.validate().err().into_iter().flatten());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// `crossbar.emulator.bit_lines`: a power of two in 1..=64 that divides
    /// `crossbar.cols`, so that a beat is a whole number of groups of bit
    /// lines and a key's bank is its low index bits.
    fn check_emulator(&self) -> Result<(), SpecErrorKind> {
        let x = &self.crossbar;
        let field = "crossbar.emulator.bit_lines";
        let bit_lines = x.emulator_or_default().bit_lines;
        range(field, bit_lines, 1, 64)?;
        if !bit_lines.is_power_of_two() || !x.cols.is_multiple_of(bit_lines) {
            return Err(SpecErrorKind::Contradiction {
                field: field.into(),
                message: format!(
                    "{bit_lines} bit lines per cycle do not divide crossbar.cols ({}) as a \
                     power of two",
                    x.cols
                ),
                help: "choose a power of two that divides crossbar.cols, such as 1, 2, 4 or 8"
                    .into(),
            });
        }
        Ok(())
    }

    /// `numerics.out_bits` and the crossbar's MSB widths against a valid
    /// `numerics.data_bits`.
    fn check_widths(&self) -> Result<(), SpecErrorKind> {
        let (n, x) = (&self.numerics, &self.crossbar);
        range("numerics.out_bits", n.out_bits, n.data_bits, 32).map_err(|e| {
            e.with_help("outputs are at least as wide as numerics.data_bits".into())
        })?;
        let msbs =
            || "the crossbar stores most significant bits of numerics.data_bits-bit elements";
        range("crossbar.key_msb_bits", x.key_msb_bits, 1, n.data_bits)
            .map_err(|e| e.with_help(msbs().into()))?;
        range("crossbar.query_msb_bits", x.query_msb_bits, 1, n.data_bits)
            .map_err(|e| e.with_help(msbs().into()))
    }

    /// `recompute.lanes` against a valid `attention.head_dim`.
    fn check_lanes(&self) -> Result<(), SpecErrorKind> {
        let head_dim = self.attention.head_dim;
        let lanes = self.recompute.lanes;
        range("recompute.lanes", lanes, 1, head_dim).map_err(|e| {
            e.with_help("at most one lane per element of attention.head_dim".into())
        })?;
        if head_dim.is_multiple_of(lanes) {
            return Ok(());
        }
        Err(SpecErrorKind::Contradiction {
            field: "recompute.lanes".into(),
            message: format!("{lanes} lanes do not divide attention.head_dim = {head_dim}"),
            help: format!(
                "use a divisor of {head_dim}: {}",
                (1..=head_dim)
                    .filter(|l| head_dim.is_multiple_of(*l))
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }

    /// `memory.bytes_per_cycle` against valid `attention.head_dim`,
    /// `numerics.data_bits` and `recompute.lanes`: the fetch port's beat
    /// must have a [`PortRatio`] to the engine's chunk.
    fn check_memory_port(&self) -> Result<(), SpecErrorKind> {
        let (head_dim, lanes) = (self.attention.head_dim, self.recompute.lanes);
        let chunk_bits = lanes * self.numerics.data_bits;
        let chunks = head_dim / lanes;
        let bytes = self.memory.bytes_per_cycle;
        if PortRatio::of(chunk_bits, chunks, bytes).is_some() {
            return Ok(());
        }
        let allowed = PortRatio::widths(chunk_bits, chunks)
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        Err(SpecErrorKind::Contradiction {
            field: "memory.bytes_per_cycle".into(),
            message: format!(
                "a fetch beat of {bytes} bytes is neither a power-of-two multiple of the \
                 engine's chunk ({lanes} lanes x {} bits = {chunk_bits} bits) that divides \
                 a row's {chunks} chunk(s), nor the chunk divided by a power of two",
                self.numerics.data_bits
            ),
            help: if allowed.is_empty() {
                // A width fits exactly when a row is whole bytes, whatever
                // the lanes: with n = 2^a x odd chunks, the beat of 2^a
                // chunks is then whole bytes.
                format!(
                    "no width fits: a row of {head_dim} x {} bits is not whole bytes; \
                     change attention.head_dim or numerics.data_bits",
                    self.numerics.data_bits
                )
            } else {
                format!("use one of: {allowed}")
            },
        })
    }

    /// `recompute.cores`: a power of two up to [`MAX_CORES`], so that the
    /// dispatcher's core of a query is a bit field of its index.
    fn check_cores(&self) -> Result<(), SpecErrorKind> {
        let cores = self.recompute.cores;
        range("recompute.cores", cores, 1, MAX_CORES)?;
        if cores.is_power_of_two() {
            return Ok(());
        }
        Err(SpecErrorKind::OutOfRange {
            field: "recompute.cores".into(),
            value: cores.to_string(),
            allowed: "1, 2, 4 or 8".into(),
            help: Some("the dispatcher picks a query's core from bits of its block number".into()),
        })
    }

    /// `buffer.bytes` against valid `attention.head_dim`,
    /// `numerics.data_bits` and `recompute.cores`: every core's share
    /// (`bytes / cores`) holds two to [`MAX_SLOTS`] slots.
    fn check_buffer(&self) -> Result<(), SpecErrorKind> {
        let (head_dim, data_bits) = (self.attention.head_dim, self.numerics.data_bits);
        let cores = self.recompute.cores;
        let slot_bytes = slot_bytes(head_dim, data_bits);
        let (needs, per_core) = if cores == 1 {
            ("the buffer needs".to_owned(), String::new())
        } else {
            (
                format!("each of the {cores} cores has buffer.bytes / {cores} and needs"),
                " per core".to_owned(),
            )
        };
        range(
            "buffer.bytes",
            self.buffer.bytes,
            2 * slot_bytes * cores,
            1 << 20,
        )
        .map_err(|e| {
            e.with_help(format!(
                "{needs} at least two slots (one to fill while the engine reads the \
                 other); a slot holds a K row and a V row: 2 x {head_dim} x {data_bits} bits \
                 = {slot_bytes} bytes"
            ))
        })?;
        let slots = self.buffer.bytes / cores / slot_bytes;
        if slots <= MAX_SLOTS {
            return Ok(());
        }
        Err(SpecErrorKind::Contradiction {
            field: "buffer.bytes".into(),
            message: format!(
                "{} bytes make {slots} slots of {slot_bytes} bytes{per_core}; at most \
                 {MAX_SLOTS} are supported",
                self.buffer.bytes
            ),
            help: format!("use at most {} bytes", MAX_SLOTS * slot_bytes * cores),
        })
    }

    /// Hex SHA-256 of the spec's canonical form (re-serialised YAML), so that
    /// comments and layout do not change it.
    ///
    /// An absent `energy` section is not serialised, so adding the section
    /// to the format left the hash of every spec without it unchanged.
    pub fn hash(&self) -> String {
        let canonical = serde_yaml::to_string(self).expect("spec serialises");
        hex(&Sha256::digest(canonical.as_bytes()))
    }
}

/// How the fetch port's beat (`memory.bytes_per_cycle` bytes, 8 × that
/// many bits) relates to one engine chunk (`recompute.lanes` elements of
/// `numerics.data_bits`, the buffer's word and the engine's read).
///
/// A beat is either a whole number of chunks, so that the buffer, banked by
/// chunk, writes one word into each of its banks, or a whole fraction of a
/// chunk, so that a gearbox collects a chunk from consecutive beats. Both
/// counts are powers of two (bank and sub-beat indices are address bits),
/// and a beat of several chunks never spans a K and a V row, which lie
/// apart in memory: its chunks divide the `head_dim / lanes` of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortRatio {
    /// A beat carries this many chunks (1 when the port is a chunk wide).
    Chunks(u32),
    /// A chunk takes this many beats (at least 2).
    SubBeats(u32),
}

impl PortRatio {
    /// Every `memory.bytes_per_cycle` in its range (1..=1024) that has a
    /// ratio to a chunk of `chunk_bits` bits, a row being `chunks` chunks;
    /// none exactly when a row is not whole bytes.
    pub fn widths(chunk_bits: u32, chunks: u32) -> impl Iterator<Item = u32> {
        (1..=1024).filter(move |&b| PortRatio::of(chunk_bits, chunks, b).is_some())
    }

    /// The ratio of a beat of `bytes_per_cycle` bytes to a chunk of
    /// `chunk_bits` bits, a row being `chunks` chunks; `None` when neither
    /// form fits.
    pub fn of(chunk_bits: u32, chunks: u32, bytes_per_cycle: u32) -> Option<PortRatio> {
        let beat_bits = 8 * bytes_per_cycle;
        if beat_bits >= chunk_bits {
            let per_beat = beat_bits / chunk_bits;
            (beat_bits.is_multiple_of(chunk_bits)
                && per_beat.is_power_of_two()
                && chunks.is_multiple_of(per_beat))
            .then_some(PortRatio::Chunks(per_beat))
        } else {
            let sub_beats = chunk_bits / beat_bits;
            (chunk_bits.is_multiple_of(beat_bits) && sub_beats.is_power_of_two())
                .then_some(PortRatio::SubBeats(sub_beats))
        }
    }
}

/// Most buffer slots: the replacement logic compares every slot's state
/// in one cycle.
pub const MAX_SLOTS: u32 = 4096;

/// Lower-case hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The one YAML document of `yaml`, as a tree.
///
/// # Errors
/// The syntax error, too many aliases, or every key given twice.
fn yaml_tree(file: &str, yaml: &str) -> Result<yaml_rust2::Yaml, SpecErrors> {
    let syntax = |e: yaml_rust2::ScanError| {
        let place = (e.marker().line(), e.marker().col() + 1);
        let mut message = e.info().to_owned();
        if let Some((l, c)) = limits::open_bracket_before(yaml, place.0) {
            message += &format!(" (the `[` or `{{` at line {l}, column {c} is not closed)");
        }
        SpecError::at(file, Some(place), SpecErrorKind::Syntax { message })
    };
    let scan = locate::scan(yaml).map_err(syntax)?;
    if scan.aliases > limits::MAX_ALIASES {
        let kind = SpecErrorKind::TooLarge {
            what: format!("uses {} aliases", scan.aliases),
            allowed: format!("at most {}", limits::MAX_ALIASES),
        };
        return Err(SpecError::at(file, None, kind).into());
    }
    if !scan.duplicates.is_empty() {
        return Err(SpecErrors::sorted(duplicate_keys(file, scan.duplicates)));
    }
    let mut docs = yaml_rust2::YamlLoader::load_from_str(yaml).map_err(syntax)?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => {
            let message = if n == 0 {
                "the file holds no YAML document; a spec is one mapping of `field: value` lines"
                    .to_owned()
            } else {
                format!(
                    "the file holds {n} YAML documents (a `---` line starts another); \
                     a spec is one document"
                )
            };
            Err(SpecError::at(file, None, SpecErrorKind::Syntax { message }).into())
        }
    }
}

/// A shape error for each key given twice in one mapping, at the second.
fn duplicate_keys(file: &str, duplicates: Vec<(String, (usize, usize))>) -> Vec<SpecError> {
    duplicates
        .into_iter()
        .map(|(path, place)| {
            let name = path.rsplit('.').next().unwrap_or(&path).to_owned();
            let kind = SpecErrorKind::Shape {
                problem: format!("`{path}` is given more than once"),
                field: Some(path),
                allowed: None,
                help: Some(format!("keep one `{name}:` line")),
                at_key: true,
            };
            SpecError::at(file, Some(place), kind)
        })
        .collect()
}

/// Adds `check`'s error to `errors`; whether it passed.
fn push(errors: &mut Vec<SpecErrorKind>, check: Result<(), SpecErrorKind>) -> bool {
    errors.extend(check.as_ref().err().cloned());
    check.is_ok()
}

fn range(field: &str, value: u32, lo: u32, hi: u32) -> Result<(), SpecErrorKind> {
    if (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(SpecErrorKind::OutOfRange {
            field: field.into(),
            value: value.to_string(),
            allowed: format!("{lo}..={hi}"),
            help: None,
        })
    }
}

fn range_f64(field: &str, value: f64, hi: f64) -> Result<(), SpecErrorKind> {
    if value.is_finite() && (0.0..=hi).contains(&value) {
        Ok(())
    } else {
        Err(SpecErrorKind::OutOfRange {
            field: field.into(),
            value: format!("{value:?}"),
            allowed: format!("0.0..={hi:.1}"),
            help: None,
        })
    }
}

/// Verilog-2005 keywords (IEEE 1364-2005 Annex B) and SystemVerilog words a
/// downstream tool may reserve.
const VERILOG_KEYWORDS: &[&str] = &[
    "always",
    "and",
    "assign",
    "automatic",
    "begin",
    "buf",
    "bufif0",
    "bufif1",
    "case",
    "casex",
    "casez",
    "cell",
    "cmos",
    "config",
    "deassign",
    "default",
    "defparam",
    "design",
    "disable",
    "edge",
    "else",
    "end",
    "endcase",
    "endconfig",
    "endfunction",
    "endgenerate",
    "endmodule",
    "endprimitive",
    "endspecify",
    "endtable",
    "endtask",
    "event",
    "for",
    "force",
    "forever",
    "fork",
    "function",
    "generate",
    "genvar",
    "highz0",
    "highz1",
    "if",
    "ifnone",
    "incdir",
    "include",
    "initial",
    "inout",
    "input",
    "instance",
    "integer",
    "join",
    "large",
    "liblist",
    "library",
    "localparam",
    "macromodule",
    "medium",
    "module",
    "nand",
    "negedge",
    "nmos",
    "nor",
    "noshowcancelled",
    "not",
    "notif0",
    "notif1",
    "or",
    "output",
    "parameter",
    "pmos",
    "posedge",
    "primitive",
    "pull0",
    "pull1",
    "pulldown",
    "pullup",
    "pulsestyle_ondetect",
    "pulsestyle_onevent",
    "rcmos",
    "real",
    "realtime",
    "reg",
    "release",
    "repeat",
    "rnmos",
    "rpmos",
    "rtran",
    "rtranif0",
    "rtranif1",
    "scalared",
    "showcancelled",
    "signed",
    "small",
    "specify",
    "specparam",
    "strong0",
    "strong1",
    "supply0",
    "supply1",
    "table",
    "task",
    "time",
    "tran",
    "tranif0",
    "tranif1",
    "tri",
    "tri0",
    "tri1",
    "triand",
    "trior",
    "trireg",
    "unsigned",
    "use",
    "uwire",
    "vectored",
    "wait",
    "wand",
    "weak0",
    "weak1",
    "while",
    "wire",
    "wor",
    "xnor",
    "xor",
    "logic",
    "bit",
    "byte",
    "int",
    "interface",
    "package",
    "class",
    "string",
];

fn check_identifier(field: &str, name: &str) -> Result<(), SpecErrorKind> {
    let mut chars = name.chars();
    let legal_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let legal_rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let problem = if !legal_start || !legal_rest {
        Some("is not a legal Verilog identifier")
    } else if name.len() > 48 {
        Some("is longer than 48 characters")
    } else if VERILOG_KEYWORDS.contains(&name) {
        Some("is a Verilog keyword")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(what) => Err(SpecErrorKind::BadIdentifier {
            field: field.into(),
            value: name.into(),
            what: what.into(),
        }),
    }
}
