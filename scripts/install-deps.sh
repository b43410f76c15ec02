#!/usr/bin/env bash
# Installs the Debian (bookworm) packages the build needs, only when something is
# missing. `--check` reports what is missing and exits non-zero instead.
set -euo pipefail

# package:probe pairs; a probe is a command on PATH or a file that must exist.
required=(
  "cmake:cmake"
  "g++:g++"
  "make:make"
  "ccache:ccache"
  "verilator:verilator"
  "yosys:yosys"
  "libeigen3-dev:/usr/include/eigen3/Eigen/Core"
  "libcli11-dev:/usr/include/CLI/CLI.hpp"
  "nlohmann-json3-dev:/usr/include/nlohmann/json.hpp"
  "libgtest-dev:/usr/include/gtest/gtest.h"
  "googletest:/usr/src/googletest"
  "zlib1g-dev:/usr/include/zlib.h"
)
optional=("gtkwave:gtkwave")

missing_from() {
  local entry pkg probe
  for entry in "$@"; do
    pkg=${entry%%:*}
    probe=${entry#*:}
    if [[ $probe == /* ]]; then
      [[ -e $probe ]] || echo "$pkg"
    else
      command -v "$probe" >/dev/null 2>&1 || echo "$pkg"
    fi
  done
}

mapfile -t missing < <(missing_from "${required[@]}")
if [[ ${1:-} == --check ]]; then
  if ((${#missing[@]})); then
    echo "missing packages: ${missing[*]}" >&2
    exit 1
  fi
  exit 0
fi
if [[ ${1:-} == --with-optional ]]; then
  mapfile -t -O "${#missing[@]}" missing < <(missing_from "${optional[@]}")
fi
((${#missing[@]})) || exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
