//! Stimulus files for `hw_tests/tb_main.cpp`: the golden model's inputs,
//! expected outputs, expected fetches and expected counters, in the command
//! language of `hw_tests/README.md`.

use std::fmt::Write;

use crate::csr;
use crate::golden::{Derived, HeadInput, HeadResult, RunConfig};

/// Testbench settings of one simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TbParams {
    /// Seed of the testbench's random idle and back-pressure.
    pub seed: u64,
    /// Chance, per cycle, that an input source with data stays idle.
    pub idle_percent: u32,
    /// Chance, per cycle, that an output sink stalls.
    pub stall_percent: u32,
    /// Cycle limit of one run.
    pub max_cycles: u64,
}

impl Default for TbParams {
    fn default() -> Self {
        TbParams {
            seed: 1,
            idle_percent: 25,
            stall_percent: 25,
            max_cycles: 200_000_000,
        }
    }
}

/// Packs signed elements of `bits` each, element 0 in the least significant
/// bits, as big-endian hex of exactly `ceil(n · bits / 4)` digits.
pub fn pack_hex(values: &[i32], bits: u32) -> String {
    let total = values.len() * bits as usize;
    let mut nibbles = vec![0u8; total.div_ceil(4)];
    for (i, &v) in values.iter().enumerate() {
        for b in 0..bits as usize {
            if (v >> b) & 1 == 1 {
                let pos = i * bits as usize + b;
                nibbles[pos / 4] |= 1 << (pos % 4);
            }
        }
    }
    nibbles.iter().rev().map(|n| format!("{n:x}")).collect()
}

/// A stimulus file under construction.
pub struct Stimulus<'a> {
    d: &'a Derived,
    text: String,
}

impl<'a> Stimulus<'a> {
    /// Starts a file: testbench parameters, then a reset.
    pub fn new(d: &'a Derived, tb: &TbParams) -> Stimulus<'a> {
        let mut s = Stimulus {
            d,
            text: format!(
                "# sprint-rtl stimulus for {} (spec {})\n",
                d.name, d.spec_hash
            ),
        };
        let params = [
            ("mem_latency", u64::from(d.mem_latency)),
            ("mem_bytes_per_cycle", u64::from(d.mem_bytes_per_cycle)),
            ("beat_bits", u64::from(d.mem_beat_bits)),
            ("beat_bytes", u64::from(d.mem_bytes_per_cycle)),
            ("beats_per_key", u64::from(d.mem_beats_per_key)),
            ("out_bits", u64::from(d.out_bits)),
            ("keep_beat_bits", u64::from(d.xbar_cols)),
            ("idle_percent", u64::from(tb.idle_percent)),
            ("stall_percent", u64::from(tb.stall_percent)),
            ("max_cycles", tb.max_cycles),
            ("tb_seed", tb.seed),
        ];
        for (name, value) in params {
            s.line(format_args!("param {name} {value}"));
        }
        if d.cores > 1 {
            // The cores' requests and keep vectors interleave as the ports'
            // arbitration grants them: each is checked against the expected
            // ones in any order, the outputs still in query order.
            s.line(format_args!("param port_order 0"));
        }
        s.line(format_args!("seed {:016x}", d.noise_seed));
        s.reset(4);
        s
    }

    fn line(&mut self, args: std::fmt::Arguments) {
        self.text.write_fmt(args).expect("string write");
        self.text.push('\n');
    }

    pub fn comment(&mut self, text: &str) {
        self.line(format_args!("# {text}"));
    }

    pub fn reset(&mut self, cycles: u32) {
        self.line(format_args!("reset {cycles}"));
    }

    pub fn cycles(&mut self, n: u64) {
        self.line(format_args!("cycles {n}"));
    }

    pub fn csr(&mut self, addr: u32, value: u32) {
        self.line(format_args!("csr {addr} {value}"));
    }

    /// Programs the head's keys into the crossbar and its K/V rows into the
    /// memory model.
    pub fn load_head(&mut self, input: &HeadInput) {
        let bits = self.d.data_bits;
        for (j, (k, v)) in input.k.iter().zip(&input.v).enumerate() {
            let (kh, vh) = (pack_hex(k, bits), pack_hex(v, bits));
            self.line(format_args!("program {j} {kh}"));
            self.line(format_args!("mem {j} {kh} {vh}"));
        }
    }

    /// Writes the run's CSRs and starts it.
    pub fn configure_and_start(&mut self, input: &HeadInput, cfg: &RunConfig) {
        let threshold_mask = (1u64 << self.d.threshold_bits) - 1;
        self.csr(csr::MODE, cfg.mode.bits());
        self.csr(
            csr::THRESHOLD,
            (cfg.threshold as u64 & threshold_mask) as u32,
        );
        self.csr(csr::SCALE, cfg.scale);
        self.csr(csr::N_KEYS, input.k.len() as u32);
        self.csr(csr::N_QUERIES, input.q.len() as u32);
        self.csr(csr::QUERY_BASE, input.query_base);
        self.csr(csr::HEAD_ID, input.head_id);
        self.csr(csr::CTRL, 1);
    }

    /// Queues the queries, the expected output rows, the expected crossbar
    /// keep vectors and the expected fetches (each query's misses, in order).
    pub fn queue(&mut self, input: &HeadInput, expected: &HeadResult) {
        self.queue_queries(&input.q);
        self.queue_expected(expected);
    }

    /// Queues query rows (`head_dim` elements of `data_bits` each) for the
    /// query port. A run cannot end before every query of N_QUERIES has
    /// come, so holding one back keeps the design busy.
    pub fn queue_queries(&mut self, rows: &[Vec<i32>]) {
        for q in rows {
            self.line(format_args!("query {}", pack_hex(q, self.d.data_bits)));
        }
    }

    /// Checks that STATUS reads busy and not done (without a clock edge):
    /// put before a command that must land in the middle of a run. A
    /// difference fails as `MISMATCH csr ... name=NAME`.
    pub fn expect_busy(&mut self, name: &str) {
        self.line(format_args!("expect_csr {} 1 {name}", csr::STATUS));
    }

    /// Queues the expected output rows, keep vectors and fetches of every
    /// query of `expected`.
    pub fn queue_expected(&mut self, expected: &HeadResult) {
        let out_bits = self.d.out_bits;
        for r in &expected.queries {
            if let Some(keep) = &r.xbar_keep {
                let bits: Vec<i32> = keep.iter().map(|&k| i32::from(k)).collect();
                let hex = pack_hex(&bits, 1);
                self.line(format_args!("keep {} {} {hex}", r.index, keep.len()));
            }
            self.line(format_args!(
                "expect {} {}",
                r.index,
                pack_hex(&r.out, out_bits)
            ));
            for key in &r.order[r.hits as usize..] {
                self.line(format_args!("fetch {} {key}", r.index));
            }
        }
    }

    /// Runs to done and checks the counters of `expected`.
    pub fn run_and_check(&mut self, label: &str, expected: &HeadResult) {
        self.line(format_args!("run {label}"));
        let c = &expected.counters;
        let checks = [
            (csr::KEPT, c.kept, "kept"),
            (csr::FETCHES, c.fetches, "fetches"),
            (csr::HITS, c.hits, "hits"),
            (csr::EVICTS, c.evicts, "evicts"),
            (csr::XBAR_READS, c.xbar_reads, "xbar_reads"),
        ];
        for (addr, value, name) in checks {
            self.line(format_args!(
                "expect_csr {addr} {} {label}.{name}",
                value as u32
            ));
        }
        if self.d.cores > 1 {
            self.check_cores(label, expected);
        }
        self.line(format_args!("report_csr {} {label}.cycles", csr::CYCLES));
        self.line(format_args!(
            "report_csr {} {label}.mac_cycles",
            csr::MAC_CYCLES
        ));
    }

    /// Checks every core's counters in its CSR window
    /// ([`csr::core_register`]) and reports its busy cycles, as
    /// `<label>.core<c>_<counter>`.
    fn check_cores(&mut self, label: &str, expected: &HeadResult) {
        for (core, c) in expected.per_core.iter().enumerate() {
            let core = core as u32;
            let checks = [
                (csr::KEPT, c.kept, "kept"),
                (csr::FETCHES, c.fetches, "fetches"),
                (csr::HITS, c.hits, "hits"),
                (csr::EVICTS, c.evicts, "evicts"),
                (csr::XBAR_READS, c.xbar_reads, "xbar_reads"),
            ];
            for (addr, value, name) in checks {
                self.line(format_args!(
                    "expect_csr {} {} {label}.core{core}_{name}",
                    csr::core_register(core, addr),
                    value as u32
                ));
            }
            for (addr, name) in [(csr::CYCLES, "cycles"), (csr::MAC_CYCLES, "mac_cycles")] {
                self.line(format_args!(
                    "report_csr {} {label}.core{core}_{name}",
                    csr::core_register(core, addr)
                ));
            }
        }
    }

    /// Closes the file.
    pub fn finish(mut self) -> String {
        self.line(format_args!("end"));
        self.text
    }
}

/// The stimulus `text` cut after the run labelled `label`: every line up
/// to its `run` command and the counter checks that follow it, then `end`.
/// `None` when the file has no such run.
pub fn through_run(text: &str, label: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let run = lines.iter().position(|l| *l == format!("run {label}"))?;
    let counter = format!("{label}.");
    let checks = lines[run + 1..]
        .iter()
        .take_while(|l| {
            let mut words = l.split_whitespace();
            matches!(words.next(), Some("expect_csr" | "report_csr"))
                && words.last().is_some_and(|w| w.starts_with(&counter))
        })
        .count();
    let mut cut = lines[..=run + checks].join("\n");
    cut.push_str("\nend\n");
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_element_zero_in_the_low_bits() {
        assert_eq!(pack_hex(&[1, -1], 4), "f1");
        assert_eq!(pack_hex(&[-128, 127], 8), "7f80");
        assert_eq!(pack_hex(&[1, 0, 0], 3), "001");
        assert_eq!(pack_hex(&[-1, -1, -1], 3), "1ff");
    }

    #[test]
    fn a_stimulus_cut_after_a_run_keeps_its_checks_and_ends() {
        let text = "param tb_seed 1\nrun seed1/a\nexpect_csr 8 3 seed1/a.kept\n\
                    report_csr 6 seed1/a.cycles\ncsr 0 1\nrun seed1/b\n\
                    expect_csr 8 3 seed1/b.kept\nend\n";
        assert_eq!(
            through_run(text, "seed1/a").unwrap(),
            "param tb_seed 1\nrun seed1/a\nexpect_csr 8 3 seed1/a.kept\n\
             report_csr 6 seed1/a.cycles\nend\n"
        );
        assert_eq!(through_run(text, "seed1/b").unwrap(), text);
        assert_eq!(through_run(text, "seed1/c"), None);
    }
}
