#!/usr/bin/env bash
# The resource table of the whole accelerator at its default configuration:
# every unit that tp_token_pipeline instantiates with parameters other than
# its own defaults is synthesized at the top's parameters (Yosys chparam),
# out of context like scripts/synth.sh, and checked against
# rtl/top/tp_accel_top.units.json with synth_check; the units at their
# defaults (tp_attention_engine, tp_kv_port) and the composites' own logic
# (tp_token_pipeline, tp_accel_top, black boxes) are checked by synth.sh.
# docs/accelerator.md ("Resources") sums the two. Not part of `make test`:
# the 16 x 16 matrix unit alone takes ~20 minutes of Yosys.
#
# NAME `whole` instead runs the whole accelerator in one Yosys run:
# tp_accel_top at its default configuration with its hierarchy kept
# (synth_xilinx without -flatten: each module once per parameter set, so the
# run costs about the sum of the per-unit runs rather than a flat netlist's
# superlinear passes; ~55 minutes here), the hierarchy's totals (stat -top)
# checked against rtl/top/tp_accel_top.hier.json (make synth-hier).
#
# Usage: scripts/synth_top_units.sh OUTDIR [NAME...]   (NAME: a row below, or whole; default all rows)
# Env: SYNTH_CHECK, TP_TABLES_DIR, TP_FILES_F as for scripts/synth.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/yosys_run.sh
files_f=${TP_FILES_F:-rtl/files.f}
tables=${TP_TABLES_DIR:-build/generated/tables}
checker=${SYNTH_CHECK:-build/tb/synth_check}
[[ -f $tables/tp_tables.svh ]] || { echo "synth_top_units: no generated tables in $tables (build rtl_tables)" >&2; exit 2; }
[[ -x $checker ]] || { echo "synth_top_units: no synth_check at $checker (build synth_check)" >&2; exit 2; }
[[ $# -ge 1 ]] || { echo "usage: $0 OUTDIR [NAME...]" >&2; exit 2; }
out=$1
shift
mkdir -p "$out"

# name, module, parameters as tp_token_pipeline (and its tp_matrix_unit) set them.
units=(
  "top_matrix_unit tp_matrix_unit Rows=16 Cols=16 LoadBeats=2 FifoBeats=1024"
  "top_rmsnorm tp_rmsnorm Lanes=8"
  "top_act_quant tp_act_quant Lanes=8 ZWidth=32 FracBits=16 MaxGroups=64"
  "top_head_quant tp_head_quant DivLanes=16 UserWidth=22"
  "top_rope tp_rope PairLanes=4"
  "top_silu tp_silu Lanes=8"
  "top_residual_add tp_residual_add Lanes=8"
  "top_embedding tp_embedding Lanes=8"
  "top_argmax tp_argmax Lanes=32"
  "top_gain_port tp_weight_port MaxOutstanding=2 FifoBeats=64"
)
wanted=("$@")
mapfile -t files < <(sed -e 's|//.*||' -e 's/[[:space:]]*$//' -e '/^$/d' "$files_f")

# synth NAME DESCRIPTION SCRIPT: one Yosys run, its log and statistics in OUTDIR.
synth() {
  if yosys_run "$out" "$1" "$tables" "$3"; then
    echo "synth ok   $1 ($2)"
  else
    echo "synth FAIL $1 (see $out/$1.log)"
    exit 1
  fi
}
sources=$(in_run "${files[@]}")

if [[ " ${wanted[*]} " == *" whole "* ]]; then
  synth whole "tp_accel_top, hierarchy kept" "read_verilog -sv -Itables $sources; \
    synth_xilinx -family xcup -top tp_accel_top -noiopad -noclkbuf; tee -q -o stat.json stat -json -top tp_accel_top"
  # Yosys 0.23 prints the hierarchy's text tree into `stat -json -top`'s
  # output; keep only the JSON lines (each starts with a quote or a bracket).
  sed -i '/^[[:space:]]*[^[:space:]"{}[]/d' "$out/whole.stat.json"
  exec "$checker" --expect rtl/top/tp_accel_top.hier.json --dir "$out" --report "$out/report.md" whole
fi

names=()
for row in "${units[@]}"; do
  read -r name module params <<<"$row"
  if ((${#wanted[@]})) && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
  chparams=""
  for kv in $params; do chparams+="chparam -set ${kv%%=*} ${kv#*=} $module; "; done
  synth "$name" "$module $params" "read_verilog -sv -Itables $sources; $chparams \
    synth_xilinx -family xcup -top $module -flatten -noiopad -noclkbuf; tee -q -o stat.json stat -json"
  names+=("$name")
done
"$checker" --expect rtl/top/tp_accel_top.units.json --dir "$out" --report "$out/report.md" "${names[@]}"
