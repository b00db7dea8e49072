//! sprint-rtl: a generator of SPRINT sparse-attention accelerators
//! (Yazdanbakhsh et al., MICRO 2022), verified bit for bit against a Rust
//! golden model.
//!
//! Phases, one module each:
//! - [`spec`]: parse, validate and derive the accelerator spec;
//! - [`golden`]: the numerics, crossbar, buffer and per-head model;
//! - [`emit`]: templates, module graph, filelist and manifest;
//! - [`model`]: the all-MiniLM-L6-v2 BERT forward pass, with per-head Q, K, V;
//! - [`sim`]: workloads, stimulus files, Verilator and Yosys drivers;
//! - [`eval`]: task accuracy of the model with golden-model attention.
//! - [`synth`]: synthesis and place-and-route: area per block, block RAM and
//!   multiplier mapping, Fmax ([`synth::run`]).

pub mod csr;
pub mod emit;
pub mod eval;
pub mod golden;
pub mod model;
pub mod reports;
pub mod sim;
pub mod spec;
pub mod synth;
pub mod trace;
pub mod trace_decoder;
