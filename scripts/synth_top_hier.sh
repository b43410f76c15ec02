#!/usr/bin/env bash
# The whole accelerator in one Yosys run: tp_accel_top at its default
# configuration, every module synthesized in place (synth_xilinx without
# -flatten: each module once per parameter set, so the run costs about the
# sum of the per-unit runs instead of a flat netlist's superlinear passes),
# out of context like scripts/synth.sh. The hierarchy's totals (stat -top)
# are checked against rtl/top/tp_accel_top.hier.json with synth_check. Not
# part of `make test` (~55 minutes of Yosys on this 2-core machine).
#
# Usage: scripts/synth_top_hier.sh OUTDIR
# Env: SYNTH_CHECK, TP_TABLES_DIR, TP_FILES_F as for scripts/synth.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
files_f=${TP_FILES_F:-rtl/files.f}
tables=${TP_TABLES_DIR:-build/generated/tables}
checker=${SYNTH_CHECK:-build/tb/synth_check}
[[ -f $tables/tp_tables.svh ]] || { echo "synth_top_hier: no generated tables in $tables (build rtl_tables)" >&2; exit 2; }
[[ -x $checker ]] || { echo "synth_top_hier: no synth_check at $checker (build synth_check)" >&2; exit 2; }
[[ $# -eq 1 ]] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
out=$1
mkdir -p "$out"

mapfile -t files < <(sed -e 's|//.*||' -e 's/[[:space:]]*$//' -e '/^$/d' "$files_f")
script="read_verilog -sv -I$tables ${files[*]}; "
script+="synth_xilinx -family xcup -top tp_accel_top -noiopad -noclkbuf; "
script+="tee -q -o $out/tp_accel_top_hier.stat.json stat -json -top tp_accel_top"
if yosys -q -l "$out/tp_accel_top_hier.log" -p "$script" >/dev/null 2>&1; then
  echo "synth ok   tp_accel_top (whole hierarchy)"
  # Yosys 0.23 prints the hierarchy's text tree into `stat -json -top`'s
  # output; keep only the JSON lines (each starts with a quote or a bracket).
  sed -i '/^[[:space:]]*[^[:space:]"{}[]/d' "$out/tp_accel_top_hier.stat.json"
else
  echo "synth FAIL tp_accel_top (see $out/tp_accel_top_hier.log)"
  exit 1
fi
"$checker" --expect rtl/top/tp_accel_top.hier.json --dir "$out" --report "$out/report.md" tp_accel_top_hier
