//! sprint-rtl: a generator of SPRINT sparse-attention accelerators
//! (Yazdanbakhsh et al., MICRO 2022), verified bit for bit against a Rust
//! golden model.
//!
//! Phases, one module each, lowest first; a module imports only modules
//! above it in this list (`tests/layers.rs` enforces it):
//! - [`csr`]: the register map, the one definition of every CSR;
//! - [`files`]: the project's JSON files, with errors that name the file;
//! - [`spec`]: parse and validate the accelerator spec;
//! - [`golden`]: the numerics, the widths derived from a spec
//!   ([`golden::Derived`]), crossbar, buffer, cycle model, per-head model and
//!   the synthetic workload;
//! - [`emit`]: templates, module graph, filelist and manifest, the register
//!   map as a C header and SystemRDL, the FuseSoC core file;
//! - [`model`]: BERT-family encoders (e.g. all-MiniLM-L6-v2) read from their
//!   own `config.json`, and Llama-family decoders read from GGUF (e.g.
//!   SmolLM2-135M): the forward passes, with per-head Q, K, V;
//! - [`trace`]: a model's per-head Q, K, V of a text (an encoder's, or a decoder's
//!   with shared K/V heads), quantised, as `.npz`;
//! - [`tools`]: Verilator, Yosys and Icarus runners with typed results;
//! - [`sim`]: stimulus files and co-simulation against the golden model;
//! - [`synth`]: synthesis and place-and-route: area per block, block RAM and
//!   multiplier mapping, Fmax ([`synth::run`]);
//! - [`eval`]: threshold calibration and task accuracy of the model with
//!   golden-model attention;
//! - [`reports`]: performance, energy and sweeps measured in the RTL;
//! - [`batch`]: a sweep as independent jobs (a jobs folder, a Slurm job
//!   array) and the collection of their results into the sweep's report.
//!
//! The command line (`src/cli/`) sits on top of them all.

pub mod batch;
pub mod csr;
pub mod emit;
pub mod eval;
pub mod files;
pub mod golden;
pub mod model;
pub mod reports;
pub mod sim;
pub mod spec;
pub mod synth;
pub mod tools;
pub mod trace;
