//! Python `str.format` for the values of a pyvisa-sim device file.
