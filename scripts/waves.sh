#!/usr/bin/env bash
# Opens gtkwave on the newest FST of a module's testbench with the module's
# signal layout (tb/**/MODULE.gtkw). Traces come from `make sim MODULE=x WAVES=1`
# and live in WAVEDIR/MODULE/<Suite>.<Test>.fst; TEST (a substring of the file
# name) picks one test instead of the newest. Without a display it prints the
# command instead of failing.
# Usage: scripts/waves.sh WAVEDIR MODULE [TEST]
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 WAVEDIR MODULE [TEST]" >&2; exit 2; }
wavedir=$1 module=$2 test=${3:-}
root=$(cd "$(dirname "$0")/.." && pwd)

fst=$(ls -t "$wavedir/$module"/*"$test"*.fst 2>/dev/null | head -n 1 || true)
if [[ -z $fst ]]; then
  echo "waves: no FST matching '$wavedir/$module/*$test*.fst'; run: make sim MODULE=$module WAVES=1" >&2
  exit 1
fi
gtkw=$(find "$root/tb" -name "$module.gtkw" -print -quit)
cmd=(gtkwave "$fst")
if [[ -n $gtkw ]]; then
  cmd+=("$gtkw")
else
  echo "waves: no tb/**/$module.gtkw layout; opening the trace without one" >&2
fi

if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} ]]; then
  echo "waves: no display. Trace: $fst"
  printf 'run:'
  printf ' %q' "${cmd[@]}"
  printf '\n'
  exit 0
fi
if ! command -v gtkwave >/dev/null 2>&1; then
  echo "waves: gtkwave is not installed (scripts/install-deps.sh --with-optional installs it)" >&2
  exit 1
fi
exec "${cmd[@]}"
