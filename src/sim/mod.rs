//! Simulation driver: stimulus files and co-simulation of a generated
//! design in Verilator against the golden model.

pub mod stimulus;
pub mod verify;
pub mod waves;
