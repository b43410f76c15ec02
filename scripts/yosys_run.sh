# shellcheck shell=bash
# Sourced by scripts/synth.sh and scripts/synth_top_units.sh: one Yosys run
# whose command text is the same on every machine.
#
# Why: Yosys 0.23 + ABC results depend on the exact text of the command (the
# lengths of the paths in it shift the heap, and with it the order of some
# pointer-keyed tables). tp_token_pipeline came out between 3,357 and 5,107
# MUXF cells depending only on the output and table directories' names, so
# a checkout at another path (CI) failed checks that passed here. The run
# therefore happens in a scratch directory where the sources are `src/...`
# (a link to the repository root), the generated tables are `tables` and
# the outputs have fixed names.
#
# yosys_run OUTDIR NAME TABLES SCRIPT
#   SCRIPT reads sources as src/<path in the source list>, includes with
#   -Itables and writes its statistics with `tee -q -o stat.json ...`.
#   Leaves OUTDIR/NAME.log and OUTDIR/NAME.stat.json; returns Yosys's status.
yosys_run() {
  local out=$1 name=$2 tables=$3 script=$4
  local work=$out/$name.run status=0
  rm -rf "$work"
  mkdir -p "$work"
  ln -s "$PWD" "$work/src"
  ln -s "$(cd "$tables" && pwd)" "$work/tables"
  (cd "$work" && yosys -q -l synth.log -p "$script" >/dev/null 2>&1) || status=$?
  mv "$work/synth.log" "$out/$name.log" 2>/dev/null || true
  [[ -f $work/stat.json ]] && mv "$work/stat.json" "$out/$name.stat.json"
  rm -rf "$work"
  return "$status"
}

# in_run PATH...: the source paths as a yosys_run script names them.
in_run() {
  local file
  for file in "$@"; do
    if [[ $file == /* ]]; then printf '%s ' "$file"; else printf 'src/%s ' "$file"; fi
  done
}
