//! The optional `energy:` section of a spec: the per-operation energies the
//! report's energy model multiplies with operation counts
//! ([`crate::reports::energy`]). Every field defaults to a cited constant;
//! a spec overrides only the ones it names.
//!
//! Sources:
//! - SPRINT: Yazdanbakhsh et al., "Sparse Attention Acceleration with
//!   Synergistic In-Memory Pruning and On-Chip Recomputation", MICRO 2022
//!   (arXiv 2209.00606), its ReRAM figures: 0.10 pJ per in-memory MAC,
//!   3.1 pJ per bit read, 24.4 pJ per bit written.
//! - Horowitz, "Computing's energy problem (and what we can do about it)",
//!   ISSCC 2014, 45 nm at 0.9 V: 8-bit multiply 0.2 pJ, 32-bit add 0.1 pJ,
//!   32-bit multiply 3.1 pJ, 8 KB SRAM 10 pJ per 64-bit access.
//! - ISAAC: Shafiee et al., ISCA 2016, Table 6: eight 8-bit SAR ADCs of
//!   an in-situ multiply-accumulate unit take 16 mW at 1.28 GS/s, so one
//!   8-bit conversion costs 2 mW / 1.28 GHz = 1.56 pJ, and each of its 8
//!   successive-approximation decisions about 0.2 pJ: the energy taken here
//!   for one 1-bit analog comparison of a bit line against the threshold.

use serde::{Deserialize, Serialize};

use super::SpecErrorKind;

/// Per-operation energies, in picojoules. All fields are optional in YAML.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Energy {
    /// One in-memory multiply-accumulate of one crossbar cell during a
    /// crossbar read (SPRINT: 0.10 pJ). Range 0..=1000.
    #[serde(default = "Energy::xbar_mac")]
    pub xbar_mac_pj: f64,
    /// One 1-bit analog comparison of a bit line with the threshold
    /// (ISAAC's 8-bit SAR ADC energy / 8 decisions: 0.2 pJ). Range 0..=1000.
    #[serde(default = "Energy::comparator")]
    pub comparator_pj: f64,
    /// Reading one bit of a K or V row from the ReRAM memory (SPRINT:
    /// 3.1 pJ). Range 0..=1000.
    #[serde(default = "Energy::reram_read")]
    pub reram_read_pj_per_bit: f64,
    /// Programming one bit of a key's MSBs into the crossbar (SPRINT:
    /// 24.4 pJ). Range 0..=1000.
    #[serde(default = "Energy::reram_write")]
    pub reram_write_pj_per_bit: f64,
    /// One 64-bit read or write of the on-chip buffer (Horowitz: 8 KB SRAM,
    /// 10 pJ). Range 0..=1000.
    #[serde(default = "Energy::sram")]
    pub sram_pj_per_64b: f64,
    /// One multiply-accumulate of the recompute engine (Horowitz: 8-bit
    /// multiply 0.2 pJ + 32-bit add 0.1 pJ). Range 0..=1000.
    #[serde(default = "Energy::mac")]
    pub mac_pj: f64,
    /// Softmax work per kept key: scaling the score (a 32-bit multiply,
    /// 3.1 pJ), the exponent polynomial (two 8-bit multiplies, 0.4 pJ), the
    /// running max, sum and exponent adds (three 32-bit adds, 0.3 pJ);
    /// Horowitz: 3.8 pJ. Range 0..=1000.
    #[serde(default = "Energy::softmax_key")]
    pub softmax_pj_per_key: f64,
    /// Normalising one output element (a 32-bit multiply by the
    /// reciprocal, Horowitz: 3.1 pJ); the reciprocal itself is counted as
    /// one 32-bit add per quotient bit. Range 0..=1000.
    #[serde(default = "Energy::normalise")]
    pub normalise_pj_per_element: f64,
    /// One 32-bit add (Horowitz: 0.1 pJ): the unit of the reciprocal's
    /// quotient bits and of control. Range 0..=1000.
    #[serde(default = "Energy::add32")]
    pub add32_pj: f64,
    /// Control per clock cycle: the state machines and the seven 32-bit
    /// performance counters, taken as four 32-bit adds (Horowitz:
    /// 4 x 0.1 pJ = 0.4 pJ). Range 0..=1000.
    #[serde(default = "Energy::control")]
    pub control_pj_per_cycle: f64,
}

impl Default for Energy {
    fn default() -> Self {
        Energy {
            xbar_mac_pj: Energy::xbar_mac(),
            comparator_pj: Energy::comparator(),
            reram_read_pj_per_bit: Energy::reram_read(),
            reram_write_pj_per_bit: Energy::reram_write(),
            sram_pj_per_64b: Energy::sram(),
            mac_pj: Energy::mac(),
            softmax_pj_per_key: Energy::softmax_key(),
            normalise_pj_per_element: Energy::normalise(),
            add32_pj: Energy::add32(),
            control_pj_per_cycle: Energy::control(),
        }
    }
}

impl Energy {
    /// SPRINT (MICRO 2022): in-memory MAC.
    pub fn xbar_mac() -> f64 {
        0.10
    }
    /// ISAAC (ISCA 2016) 8-bit ADC, 1.56 pJ per conversion, over 8 decisions.
    pub fn comparator() -> f64 {
        0.2
    }
    /// SPRINT (MICRO 2022): ReRAM read.
    pub fn reram_read() -> f64 {
        3.1
    }
    /// SPRINT (MICRO 2022): ReRAM write.
    pub fn reram_write() -> f64 {
        24.4
    }
    /// Horowitz (ISSCC 2014): 8 KB SRAM, 64-bit access.
    pub fn sram() -> f64 {
        10.0
    }
    /// Horowitz (ISSCC 2014): 8-bit multiply + 32-bit add.
    pub fn mac() -> f64 {
        0.3 // 0.2 + 0.1
    }
    /// Horowitz (ISSCC 2014): 32-bit multiply + 2 x 8-bit multiply + 3 x 32-bit add.
    pub fn softmax_key() -> f64 {
        3.8 // 3.1 + 2 x 0.2 + 3 x 0.1
    }
    /// Horowitz (ISSCC 2014): 32-bit multiply.
    pub fn normalise() -> f64 {
        3.1
    }
    /// Horowitz (ISSCC 2014): 32-bit add.
    pub fn add32() -> f64 {
        0.1
    }
    /// Horowitz (ISSCC 2014): 4 x 32-bit add.
    pub fn control() -> f64 {
        0.4 // 4 x 0.1
    }

    /// Every field with its dotted spec path, in declaration order.
    pub fn fields(&self) -> [(&'static str, f64); 10] {
        [
            ("energy.xbar_mac_pj", self.xbar_mac_pj),
            ("energy.comparator_pj", self.comparator_pj),
            ("energy.reram_read_pj_per_bit", self.reram_read_pj_per_bit),
            ("energy.reram_write_pj_per_bit", self.reram_write_pj_per_bit),
            ("energy.sram_pj_per_64b", self.sram_pj_per_64b),
            ("energy.mac_pj", self.mac_pj),
            ("energy.softmax_pj_per_key", self.softmax_pj_per_key),
            (
                "energy.normalise_pj_per_element",
                self.normalise_pj_per_element,
            ),
            ("energy.add32_pj", self.add32_pj),
            ("energy.control_pj_per_cycle", self.control_pj_per_cycle),
        ]
    }

    /// Checks that every energy is finite and in 0..=1000 pJ.
    ///
    /// # Errors
    /// Every field out of range, each with its dotted path.
    pub fn validate(&self) -> Result<(), Vec<SpecErrorKind>> {
        let errors: Vec<SpecErrorKind> = self
            .fields()
            .into_iter()
            .filter_map(|(field, value)| super::range_f64(field, value, MAX_PJ).err())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Largest per-operation energy a spec may give, in pJ.
pub const MAX_PJ: f64 = 1000.0;
