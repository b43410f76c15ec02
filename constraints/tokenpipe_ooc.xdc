# Out-of-context constraints for one tokenpipe module (scripts/vivado_synth.tcl).
# Every module has one clock, clk_i, and a synchronous active-low reset; the
# target is 300 MHz on UltraScale+ (the clock of an HBM-attached kernel).
# Ports are assumed registered on the other side: half a period each way.
create_clock -name clk -period 3.333 [get_ports clk_i]
set_input_delay  -clock clk 1.6 [get_ports -filter {DIRECTION == IN && NAME != clk_i}]
set_output_delay -clock clk 1.6 [get_ports -filter {DIRECTION == OUT}]
