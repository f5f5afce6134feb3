//! pyvisa-sim device files served over TCP.

pub mod pyfmt;
pub mod strparse;
