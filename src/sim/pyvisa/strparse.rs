//! The setter patterns of a pyvisa-sim device file (the `stringparser` package).
