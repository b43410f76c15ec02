#!/usr/bin/env bash
# Synthesizes every RTL module of rtl/files.f with Yosys for UltraScale+
# (synth_xilinx -family xcup), each module alone as top with its default
# parameters, out of context (-noiopad -noclkbuf), flattened. Then checks the
# cell statistics against each module's expectations, rtl/<dir>/<module>.synth.json
# beside its RTL, with synth_check (tb/synth_check/synth_check.cpp): a clean
# Yosys exit proves little.
#
# Usage: scripts/synth.sh OUTDIR [MODULE...]
# Writes per module OUTDIR/MODULE.{log,stat.json} and OUTDIR/report.md (the
# resource table). Env: SYNTH_CHECK = path of a built synth_check (ctest passes
# it; otherwise it is compiled into OUTDIR), JOBS = parallel Yosys runs,
# TP_FILES_F = the source list (default rtl/files.f), TP_TABLES_DIR = the
# generated ROM includes (default build/generated/tables).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/yosys_run.sh
files_f=${TP_FILES_F:-rtl/files.f}
tables=${TP_TABLES_DIR:-build/generated/tables}
[[ -f $tables/tp_tables.svh ]] || { echo "synth: no generated tables in $tables (build target rtl_tables first)" >&2; exit 2; }
[[ $# -ge 1 ]] || { echo "usage: $0 OUTDIR [MODULE...]" >&2; exit 2; }
out=$1
shift
mkdir -p "$out"

mapfile -t files < <(sed -e 's|//.*||' -e 's/[[:space:]]*$//' -e '/^$/d' "$files_f")
mapfile -t all_modules < <(printf '%s\n' "${files[@]}" | grep -v '_pkg\.sv$' | xargs -n1 basename | sed 's/\.sv$//')
modules=("$@")
((${#modules[@]})) || modules=("${all_modules[@]}")

checker=${SYNTH_CHECK:-}
if [[ -z $checker ]]; then
  checker=$out/synth_check
  src=tb/synth_check/synth_check.cpp
  if [[ ! -x $checker || $src -nt $checker ]]; then
    echo "synth: compiling $checker"
    "${CXX:-c++}" -std=c++20 -O1 -o "$checker" "$src"
  fi
fi

# The files a module needs: the packages, its own file and, transitively, the
# files of the modules it instantiates, in source-list order. Synthesizing from
# exactly these keeps each module's statistics independent of what else the
# list holds (Yosys/ABC results shift with unrelated sources read alongside).
# Instances inside `ifndef SYNTHESIS ... `endif (simulation-only checkers such
# as tp_stream_checker; such blocks do not nest) do not count: Yosys never
# sees them.
file_of() { printf '%s\n' "${files[@]}" | grep -E "/$1\.sv$"; }
synthesized_code_of() { sed -e 's|//.*||' -e '/^[[:space:]]*`ifndef[[:space:]]\+SYNTHESIS/,/^[[:space:]]*`endif/d' "$1"; }
# A module's expectations may name submodules to keep as black boxes
# ("blackbox": ["tp_x", ...]): verified and synthesized on their own, they are
# read as interfaces only (read_verilog -lib) and stay single cells, so the
# module's statistics count its own logic (and CI does not synthesize the
# large engines twice).
blackboxes_of() {
  local expect=${1%.sv}.synth.json
  [[ -f $expect ]] || return 0
  tr -d '\n' <"$expect" | grep -o '"blackbox"[[:space:]]*:[[:space:]]*\[[^]]*\]' | grep -o '"tp_[A-Za-z_0-9]*"' | tr -d '"' || true
}
closure_of() {
  local -A wanted=([$1]=1) boxed=()
  local box
  for box in $(blackboxes_of "$(file_of "$1")"); do boxed[$box]=1; done
  local changed=1 module other code
  while ((changed)); do
    changed=0
    for module in "${!wanted[@]}"; do
      code=$(synthesized_code_of "$(file_of "$module")")
      for other in "${all_modules[@]}"; do
        [[ -n ${wanted[$other]:-} || -n ${boxed[$other]:-} ]] && continue
        if grep -qE "(^|[^A-Za-z_0-9])$other([^A-Za-z_0-9]|$)" <<<"$code"; then
          wanted[$other]=1
          changed=1
        fi
      done
    done
  done
  local file name
  for file in "${files[@]}"; do
    name=$(basename "$file" .sv)
    if [[ $file == *_pkg.sv || -n ${wanted[$name]:-} ]]; then printf '%s ' "$file"; fi
  done
}

synth_one() {
  local module=$1 boxes=() box
  for box in $(blackboxes_of "$(file_of "$module")"); do boxes+=("$(file_of "$box")"); done
  local script
  # shellcheck disable=SC2046  # closure_of prints a list of paths
  script="read_verilog -sv -Itables $(in_run $(closure_of "$module")); "
  if ((${#boxes[@]})); then
    local packages own
    packages=$(printf '%s\n' "${files[@]}" | grep '_pkg\.sv$' | tr '\n' ' ')
    own=$(closure_of "$module" | tr ' ' '\n' | grep -v '_pkg\.sv$' | tr '\n' ' ')
    # shellcheck disable=SC2086  # word lists of paths
    script="read_verilog -sv -Itables $(in_run $packages); read_verilog -sv -lib -Itables $(in_run "${boxes[@]}"); "
    # shellcheck disable=SC2086
    script+="read_verilog -sv -Itables $(in_run $own); "
  fi
  script+="synth_xilinx -family xcup -top $module -flatten -noiopad -noclkbuf; tee -q -o stat.json stat -json"
  if yosys_run "$out" "$module" "$tables" "$script"; then
    echo "synth ok   $module"
  else
    echo "synth FAIL $module (yosys error, see $out/$module.log)"
    tail -n 20 "$out/$module.log"
    return 1
  fi
}

# Largest first (by the bytes of RTL each module pulls in), a new job as soon
# as any finishes: the long syntheses overlap the short ones instead of
# running alone at the end.
mapfile -t modules < <(for module in "${modules[@]}"; do
  # shellcheck disable=SC2046  # closure_of prints a list of paths
  printf '%s %s\n' "$(cat $(closure_of "$module") | wc -c)" "$module"
done | sort -rn | cut -d' ' -f2)
max_jobs=${JOBS:-$(nproc)}
status=0
running=0
for module in "${modules[@]}"; do
  if ((running >= max_jobs)); then
    wait -n || status=1
    running=$((running - 1))
  fi
  synth_one "$module" &
  running=$((running + 1))
done
while ((running > 0)); do
  wait -n || status=1
  running=$((running - 1))
done
((status == 0)) || exit 1

complete=()
(($#)) || complete=(--complete)  # all modules: stale expectations are errors too
expects=()
for file in "${files[@]}"; do
  expect=${file%.sv}.synth.json
  [[ -f $expect ]] && expects+=(--expect "$expect")
done
"$checker" "${expects[@]}" --dir "$out" --report "$out/report.md" "${complete[@]}" "${modules[@]}"
