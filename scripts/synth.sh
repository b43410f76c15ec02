#!/usr/bin/env bash
# Synthesizes every RTL module of rtl/files.f with Yosys for UltraScale+
# (synth_xilinx -family xcup), each module alone as top with its default
# parameters, out of context (-noiopad -noclkbuf), flattened. Then checks the
# cell statistics against rtl/synth_expect.json with synth_check (see
# tb/synth_check/synth_check.cpp): a clean Yosys exit proves little.
#
# Usage: scripts/synth.sh OUTDIR [MODULE...]
# Writes per module OUTDIR/MODULE.{log,stat.json} and OUTDIR/report.md (the
# resource table). Env: SYNTH_CHECK = path of a built synth_check (ctest passes
# it; otherwise it is compiled into OUTDIR), JOBS = parallel Yosys runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -ge 1 ]] || { echo "usage: $0 OUTDIR [MODULE...]" >&2; exit 2; }
out=$1
shift
mkdir -p "$out"

mapfile -t files < <(sed -e 's|//.*||' -e 's/[[:space:]]*$//' -e '/^$/d' rtl/files.f)
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

synth_one() {
  local module=$1
  local script="read_verilog -sv ${files[*]}; synth_xilinx -family xcup -top $module -flatten -noiopad -noclkbuf; tee -q -o $out/$module.stat.json stat -json"
  if yosys -q -l "$out/$module.log" -p "$script" >/dev/null 2>&1; then
    echo "synth ok   $module"
  else
    echo "synth FAIL $module (yosys error, see $out/$module.log)"
    tail -n 20 "$out/$module.log"
    return 1
  fi
}

max_jobs=${JOBS:-$(nproc)}
status=0
pids=()
for module in "${modules[@]}"; do
  if ((${#pids[@]} >= max_jobs)); then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
  synth_one "$module" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
((status == 0)) || exit 1

complete=()
(($#)) || complete=(--complete)  # all modules: stale expectations are errors too
"$checker" --expect rtl/synth_expect.json --dir "$out" --report "$out/report.md" "${complete[@]}" "${modules[@]}"
