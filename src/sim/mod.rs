//! Simulation driver: synthetic workloads, stimulus files, the Verilator
//! and Yosys wrappers, and co-simulation against the golden model.

pub mod stimulus;
pub mod tools;
pub mod verify;
pub mod workload;
