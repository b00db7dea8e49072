//! Simulation driver: stimulus files and co-simulation of a generated
//! design against the golden model, natively in Verilator ([`verify`]) and
//! through its AXI top under cocotb ([`axi`]).

pub mod axi;
pub mod fuzz;
pub mod stimulus;
pub mod verify;
pub mod waves;
