#!/usr/bin/env bash
# Lints every RTL module of rtl/files.f with `verilator --lint-only -Wall`,
# each module as top (with the whole source list, package first), in both
# views: simulation (assertions in) and synthesis (-DSYNTHESIS, what Yosys and
# Vivado read). Any warning fails: no global -Wno-* waivers; a targeted
# /* verilator lint_off RULE */ in the RTL must carry a comment saying why.
# Before that, every file is checked for the layout rules (one module per
# file, named after it) and for forms that Yosys 0.23 rejects or silently
# miscompiles (shared/DESIGN.md); those checks ignore // comments.
# Usage: scripts/lint.sh [MODULE...]   (default: every module in the list)
# Env: TP_FILES_F = the source list (default rtl/files.f), TP_TABLES_DIR = the
# generated ROM includes (default build/generated/tables; `make` builds them).
set -euo pipefail
cd "$(dirname "$0")/.."
files_f=${TP_FILES_F:-rtl/files.f}
tables=${TP_TABLES_DIR:-build/generated/tables}
[[ -f $tables/tp_tables.svh ]] || { echo "lint: no generated tables in $tables (build target rtl_tables first)" >&2; exit 2; }

mapfile -t files < <(sed -e 's|//.*||' -e 's/[[:space:]]*$//' -e '/^$/d' "$files_f")
# One module per file, named after the file; *_pkg.sv files hold packages.
mapfile -t all_modules < <(printf '%s\n' "${files[@]}" | grep -v '_pkg\.sv$' | xargs -n1 basename | sed 's/\.sv$//')
modules=("$@")
((${#modules[@]})) || modules=("${all_modules[@]}")

status=0
# Yosys-unsafe forms: pattern <TAB> reason.
forbidden=(
  $'import[[:space:]]+[A-Za-z_0-9]+::\\*\trefer to package items as pkg::Name'
  $'(^|[^A-Za-z_0-9])inside([^A-Za-z_0-9]|$)\tno inside'
  $'\'\\{[[:space:]]*default\tno \'{default: ...}'
  $'(^|[^A-Za-z_0-9])return([^A-Za-z_0-9]|$)\tno return'
  $'(^|[^A-Za-z_0-9])interface([^A-Za-z_0-9]|$)\tno interfaces'
  $'parameter[[:space:]]+type\tno parameter type'
  $'\\{[[:space:]]*(<<|>>)\tno streaming operators'
  $'_t\'\\(\tno type casts t\'(x)'
  $'\\$fatal\tuse $error (Yosys prints no message for $fatal)'
  $'^[[:space:]]*(logic|wire|reg|bit)([[:space:]]+signed)?[[:space:]]*\\[[^]]*\\][[:space:]]*\\[\tno packed arrays of vectors (Yosys 0.23 rejects logic [a:b][c:d]): a flat vector'
)
for file in "${files[@]}"; do
  code=$(sed 's|//.*||' "$file")
  for rule in "${forbidden[@]}"; do
    if hits=$(grep -nE "${rule%%$'\t'*}" <<<"$code"); then
      echo "lint FAIL $file: ${rule#*$'\t'}:"
      echo "$hits"
      status=1
    fi
  done
  [[ $file == *_pkg.sv ]] && continue
  name=$(basename "$file" .sv)
  declared=$(grep -oE '^[[:space:]]*module[[:space:]]+[A-Za-z_0-9]+' <<<"$code" | awk '{print $2}' | paste -sd ' ')
  if [[ $declared != "$name" ]]; then
    echo "lint FAIL $file: must declare exactly one module, named $name (found: ${declared:-none})"
    status=1
  fi
done

for module in "${modules[@]}"; do
  for view in sim synth; do
    defines=()
    [[ $view == synth ]] && defines=(-DSYNTHESIS)
    if out=$(verilator --lint-only -Wall --assert "${defines[@]}" -I"$tables" --top-module "$module" "${files[@]}" 2>&1) &&
      [[ -z $out ]]; then
      echo "lint ok   $module ($view)"
    else
      echo "lint FAIL $module ($view)"
      echo "$out"
      status=1
    fi
  done
done
exit "$status"
