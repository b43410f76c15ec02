# Vivado hand-off: out-of-context synthesis of one tokenpipe module from the
# one source list, with the XDC of constraints/, reporting utilization and
# timing. Run from the repository root (make vivado MODULE=<name>):
#   vivado -mode batch -source scripts/vivado_synth.tcl \
#          -tclargs <module> <generated tables dir> <output dir> [part]
# The tables dir holds the ROM include files the build generates
# (build/generated/tables, target rtl_tables). Default part: xcvu9p (VCU118).
if {[llength $argv] < 3} {
  puts stderr "usage: vivado_synth.tcl <module> <tables dir> <output dir> \[part\]"
  exit 2
}
set module [lindex $argv 0]
set tables [lindex $argv 1]
set out    [lindex $argv 2]
set part   [expr {[llength $argv] > 3 ? [lindex $argv 3] : "xcvu9p-flga2104-2L-e"}]
file mkdir $out

# rtl/files.f: one path per line, // comments.
set sources {}
set f [open rtl/files.f r]
while {[gets $f line] >= 0} {
  set line [string trim [regsub {//.*} $line ""]]
  if {$line ne ""} { lappend sources $line }
}
close $f

read_verilog -sv $sources
read_xdc -mode out_of_context constraints/tokenpipe_ooc.xdc
synth_design -top $module -part $part -mode out_of_context -include_dirs [list $tables] -flatten_hierarchy rebuilt
report_utilization -file $out/$module.utilization.rpt
report_timing_summary -file $out/$module.timing.rpt
write_checkpoint -force $out/$module.synth.dcp
puts "vivado: $module synthesized for $part; reports in $out"
