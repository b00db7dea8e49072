//! sprint-rtl: a generator of SPRINT sparse-attention accelerators
//! (Yazdanbakhsh et al., MICRO 2022), verified bit for bit against a Rust
//! golden model.
//!
//! Phases, one module each:
//! - [`spec`]: parse, validate and derive the accelerator spec;
//! - [`golden`]: the numerics, crossbar, buffer and per-head model;
//! - [`emit`]: templates, module graph, filelist and manifest;
//! - [`sim`]: workloads, stimulus files, Verilator and Yosys drivers.

pub mod csr;
pub mod emit;
pub mod golden;
pub mod sim;
pub mod spec;
