// tokenpipe RTL source list: the one list read by Verilator (lint, testbenches),
// Yosys (scripts/synth.sh) and Vivado. Paths are relative to the repository root.
// The package comes first; then one module per file, file named after the module.
rtl/tp_pkg.sv
rtl/common/tp_stream_register.sv
