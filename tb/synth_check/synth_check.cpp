// synth_check: checks Yosys synthesis statistics against the expectations
// of each module (rtl/<dir>/<module>.synth.json, one object per file mapping the
// module name to its entry; --expect may be given once per file) and writes
// the resource table (markdown).
//
//   synth_check --expect A.synth.json [--expect B.synth.json ...] --dir OUTDIR [--report OUTDIR/report.md]
//               [--complete] MODULE...
//
// For every MODULE it reads OUTDIR/MODULE.stat.json (Yosys `stat -json`) and
// OUTDIR/MODULE.log (the Yosys log) and fails when:
//   - the module has no entry in the expectations (every module must have one);
//   - the netlist is empty, holds a latch, or holds unmapped generic `$` cells;
//   - an entry marked "simulation_only": true (a checker that synthesis never
//     instantiates) synthesized to any cell at all: its netlist must be empty;
//   - a resource count is outside its expectation: "ff": 66 (exact) or
//     "lut": [1, 40] (inclusive range). A resource not listed must be 0, so
//     a DSP, BRAM or SRL nobody planned for is an error too;
//   - an exact cell type count in "cells" differs ("cells": {"FDRE": 66});
//   - the Yosys log has a "Warning:" line not matched by a substring listed in
//     "allow_warnings".
// With --complete (MODULE... is every module of rtl/files.f), an expectation
// for a module that was not synthesized is an error as well. Keys starting
// with "_" are comments.
// Exit status: 0 when everything matches, 1 on a mismatch, 2 on bad usage.
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using nlohmann::json;

// Resource categories of the Xilinx UltraScale+ cell library, in report order.
struct Category {
  const char* key;    // name in a .synth.json entry
  const char* title;  // column title in the report
};
constexpr std::array<Category, 9> kCategories{{
    {"lut", "LUT"},
    {"ff", "FF"},
    {"carry", "CARRY"},
    {"mux", "MUXF"},
    {"srl", "SRL"},
    {"lutram", "LUTRAM"},
    {"bram", "BRAM"},
    {"dsp", "DSP"},
    {"io", "IO buf"},
}};

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Category key of a cell type, "latch", "generic" (unmapped $ cell) or "other".
std::string category_of(const std::string& type) {
  if (starts_with(type, "$")) {
    if (type.find("latch") != std::string::npos || type.find("LATCH") != std::string::npos ||
        starts_with(type, "$_SR_") || type == "$sr") {
      return "latch";
    }
    return "generic";
  }
  if (starts_with(type, "LUT")) return "lut";
  if (starts_with(type, "FD")) return "ff";
  if (starts_with(type, "LD")) return "latch";
  if (starts_with(type, "CARRY")) return "carry";
  if (starts_with(type, "MUXF")) return "mux";
  if (starts_with(type, "SRL")) return "srl";
  if (starts_with(type, "RAMB") || starts_with(type, "FIFO")) return "bram";
  if (starts_with(type, "RAM")) return "lutram";
  if (starts_with(type, "DSP")) return "dsp";
  if (type.find("BUF") != std::string::npos) return "io";
  return "other";
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  return json::parse(in);
}

// Cell counts by type of the synthesized top: the "design" section (whole
// hierarchy) when Yosys wrote one, else the single module.
std::map<std::string, long> cells_of(const json& stat) {
  const json* scope = nullptr;
  if (stat.contains("design")) {
    scope = &stat["design"];
  } else if (stat.contains("modules") && stat["modules"].size() == 1) {
    scope = &stat["modules"].begin().value();
  } else {
    throw std::runtime_error("stat json has no design section and several modules");
  }
  std::map<std::string, long> cells;
  if (scope->contains("num_cells_by_type")) {
    for (const auto& [type, n] : (*scope)["num_cells_by_type"].items()) cells[type] = n.get<long>();
  }
  return cells;
}

std::vector<std::string> warnings_of(const std::string& log_path) {
  std::ifstream in(log_path);
  if (!in) throw std::runtime_error("cannot read " + log_path);
  std::vector<std::string> warnings;
  for (std::string line; std::getline(in, line);) {
    if (starts_with(line, "Warning:")) warnings.push_back(line);
  }
  return warnings;
}

// Checks `value` against an expectation: a number (exact) or [min, max].
bool within(const json& expect, long value, std::string& wanted) {
  if (expect.is_number_integer()) {
    wanted = std::to_string(expect.get<long>());
    return value == expect.get<long>();
  }
  if (expect.is_array() && expect.size() == 2) {
    wanted = "[" + std::to_string(expect[0].get<long>()) + ", " + std::to_string(expect[1].get<long>()) + "]";
    return value >= expect[0].get<long>() && value <= expect[1].get<long>();
  }
  throw std::runtime_error("expectation must be a number or [min, max], got " + expect.dump());
}

struct Result {
  std::map<std::string, long> totals;  // by category
  std::vector<std::string> errors;
};

Result check_module(const std::string& module, const json& expect, const std::string& dir) {
  Result r;
  const auto cells = cells_of(read_json(dir + "/" + module + ".stat.json"));
  long total = 0;
  for (const auto& [type, n] : cells) {
    r.totals[category_of(type)] += n;
    total += n;
  }
  auto fail = [&](const std::string& msg) { r.errors.push_back(msg); };

  if (expect.value("simulation_only", false)) {
    if (total != 0) fail(std::to_string(total) + " cell(s) in a simulation_only module: it must synthesize to nothing");
  } else if (total == 0) {
    fail("empty netlist: the module synthesized to nothing");
  }
  if (r.totals["latch"] != 0) fail(std::to_string(r.totals["latch"]) + " latch cell(s)");
  for (const auto& [type, n] : cells) {
    if (category_of(type) == "generic") fail(std::to_string(n) + " unmapped generic cell(s) " + type);
  }
  for (const auto& cat : kCategories) {
    std::string wanted = "0";
    const long got = r.totals[cat.key];
    const bool ok = expect.contains(cat.key) ? within(expect[cat.key], got, wanted) : got == 0;
    if (!ok) fail(std::string(cat.key) + " = " + std::to_string(got) + ", expected " + wanted);
  }
  if (expect.contains("cells")) {
    for (const auto& [type, want] : expect["cells"].items()) {
      std::string wanted;
      const long got = cells.count(type) ? cells.at(type) : 0;
      if (!within(want, got, wanted)) fail("cells " + type + " = " + std::to_string(got) + ", expected " + wanted);
    }
  }
  const json allowed = expect.value("allow_warnings", json::array());
  for (const auto& w : warnings_of(dir + "/" + module + ".log")) {
    bool ok = false;
    for (const auto& a : allowed) ok = ok || w.find(a.get<std::string>()) != std::string::npos;
    if (!ok) fail("yosys " + w);
  }
  return r;
}

int usage() {
  std::cerr << "usage: synth_check --expect FILE.json [--expect ...] --dir STATDIR [--report FILE.md] [--complete] MODULE...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> expect_paths;
  std::string dir, report_path;
  std::vector<std::string> modules;
  bool complete = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--expect" && has_value) {
      expect_paths.emplace_back(argv[++i]);
    } else if (arg == "--dir" && has_value) {
      dir = argv[++i];
    } else if (arg == "--complete") {
      complete = true;
    } else if (arg == "--report" && has_value) {
      report_path = argv[++i];
    } else if (starts_with(arg, "--")) {
      return usage();
    } else {
      modules.emplace_back(arg);
    }
  }
  if (expect_paths.empty() || dir.empty() || modules.empty()) return usage();

  try {
    json expect = json::object();
    for (const auto& path : expect_paths) {
      const json file = read_json(path);
      for (const auto& [name, entry] : file.items()) {
        if (!starts_with(name, "_") && expect.contains(name)) throw std::runtime_error(name + " is expected twice");
        expect[name] = entry;
      }
    }
    bool all_ok = true;
    std::ostringstream table;
    table << "| module |";
    for (const auto& cat : kCategories) table << ' ' << cat.title << " |";
    table << " check |\n|---|";
    for (size_t i = 0; i < kCategories.size(); ++i) table << "---:|";
    table << "---|\n";

    const std::set<std::string> synthesized(modules.begin(), modules.end());
    for (const auto& [name, entry] : expect.items()) {
      if (complete && !starts_with(name, "_") && !synthesized.count(name)) {
        std::cout << "FAIL " << name << ": expectation for a module that was not synthesized\n";
        all_ok = false;
      }
    }
    for (const auto& module : modules) {
      Result r;
      if (!expect.contains(module)) {
        r.errors.push_back("no " + module + ".synth.json beside its RTL (every module needs its expected resources)");
      } else {
        r = check_module(module, expect[module], dir);
      }
      table << "| " << module << " |";
      for (const auto& cat : kCategories) table << ' ' << r.totals[cat.key] << " |";
      table << (r.errors.empty() ? " ok |\n" : " FAIL |\n");
      for (const auto& e : r.errors) std::cout << "FAIL " << module << ": " << e << "\n";
      if (r.errors.empty()) std::cout << "ok   " << module << "\n";
      all_ok = all_ok && r.errors.empty();
    }

    if (!report_path.empty()) {
      std::ofstream out(report_path);
      out << "# Synthesis report\n\n"
          << "Yosys `synth_xilinx -family xcup -flatten -noiopad -noclkbuf`, each module alone with its default\n"
          << "parameters (out of context). Checked against each module's `.synth.json` by synth_check.\n\n"
          << table.str();
    }
    std::cout << table.str();
    return all_ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "synth_check: " << e.what() << "\n";
    return 2;
  }
}
