// tp_tables OUTDIR: writes the lookup tables of the integer path for the RTL.
//   OUTDIR/<name>.mem   one hex entry per line ($readmemh), entry k on line k,
//                       two's complement at the table's width;
//   OUTDIR/<name>.svh   function <name>_entry(index): the same ROM as a case
//                       statement, for units to include in their body (no file
//                       paths at elaboration; Yosys infers a ROM from it);
//   OUTDIR/tp_tables.svh  localparams <Name>Entries and <Name>Width per table.
// The .svh files have no include guards: functions and localparams are local
// to the module that includes them, so every unit must see them.
// The one source of the values is golden/int/tables.cpp; the golden functions
// read the same tables, so RTL and golden model cannot drift apart.
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "golden/int/tables.h"

namespace {

using tp::fx::Table;

// tp_exp2_table -> TpExp2Table (lowRISC UpperCamelCase parameter names).
std::string camel_case(const std::string& name) {
  std::string out;
  bool upper = true;
  for (const char c : name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

bool is_signed(const Table& table) {
  for (const std::int64_t v : table.entries) {
    if (v < 0) return true;
  }
  return false;
}

// Entries must fit the ROM: [0, 2^width) for an unsigned table,
// [-2^(width-1), 2^(width-1)) when any entry is negative.
void check_fits(const Table& table) {
  if (table.width < 1 || table.width > 62) throw std::runtime_error(table.name + ": unsupported width");
  const bool sign = is_signed(table);
  const std::int64_t lo = sign ? -(std::int64_t{1} << (table.width - 1)) : 0;
  const std::int64_t hi = (std::int64_t{1} << (sign ? table.width - 1 : table.width)) - 1;
  for (std::size_t k = 0; k < table.entries.size(); ++k) {
    if (table.entries[k] < lo || table.entries[k] > hi) {
      throw std::runtime_error(table.name + ": entry " + std::to_string(k) + " = " + std::to_string(table.entries[k]) +
                               " does not fit " + std::to_string(table.width) + " bits");
    }
  }
}

std::string mem_text(const Table& table) {
  std::ostringstream out;
  out << "// " << table.name << ".mem: generated from golden/int/tables.cpp by tp_tables; do not edit.\n"
      << "// Entry k (the k-th value line, from 0): " << table.description << ".\n"
      << "// " << table.entries.size() << " entries, " << table.width << " bits, "
      << (is_signed(table) ? "two's complement" : "unsigned") << ", hexadecimal ($readmemh).\n";
  const int digits = (table.width + 3) / 4;
  const std::uint64_t mask = (std::uint64_t{1} << table.width) - 1;
  for (const std::int64_t v : table.entries) {
    out << std::hex << std::setw(digits) << std::setfill('0') << (static_cast<std::uint64_t>(v) & mask) << '\n';
  }
  return out.str();
}

std::string svh_text(const std::vector<Table>& tables) {
  std::ostringstream out;
  out << "// tp_tables.svh: generated from golden/int/tables.cpp by tp_tables; do not edit.\n"
      << "// Shapes of the lookup-table ROMs; the contents are in <name>.mem ($readmemh).\n"
      << "// A unit includes this file in its body and uses some of the constants.\n"
      << "/* verilator lint_off UNUSEDPARAM */\n";
  for (const Table& table : tables) {
    const std::string name = camel_case(table.name);
    out << "\n// " << table.name << ".mem: " << table.description << " ("
        << (is_signed(table) ? "two's complement" : "unsigned") << ")\n"
        << "localparam int unsigned " << name << "Entries = " << table.entries.size() << ";\n"
        << "localparam int unsigned " << name << "Width = " << table.width << ";\n";
  }
  out << "\n/* verilator lint_on UNUSEDPARAM */\n";
  return out.str();
}

int index_bits(const Table& table) {
  int bits = 1;
  while ((std::size_t{1} << bits) < table.entries.size()) ++bits;
  return bits;
}

std::string rom_function_text(const Table& table) {
  const int digits = (table.width + 3) / 4;
  const std::uint64_t mask = (std::uint64_t{1} << table.width) - 1;
  const int bits = index_bits(table);
  const std::string function = table.name + "_entry";
  std::ostringstream out;
  out << "// " << table.name << ".svh: generated from golden/int/tables.cpp by tp_tables; do not edit.\n"
      << "// Entry k: " << table.description << " (" << table.width << " bits, "
      << (is_signed(table) ? "two's complement" : "unsigned") << "); indexes past the end give 0.\n"
      << "function automatic logic [" << table.width - 1 << ":0] " << function << "(input logic [" << bits - 1
      << ":0] index);\n"
      << "  unique case (index)\n";
  for (std::size_t k = 0; k < table.entries.size(); ++k) {
    out << "    " << bits << "'d" << std::dec << k << ": " << function << " = " << std::dec << table.width << "'h"
        << std::hex << std::setw(digits) << std::setfill('0') << (static_cast<std::uint64_t>(table.entries[k]) & mask)
        << ";\n"
        << std::setfill(' ');
  }
  out << std::dec << "    default: " << function << " = '0;\n"
      << "  endcase\n"
      << "endfunction\n";
  return out.str();
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  file.close();
  if (!file) throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: tp_tables OUTDIR\n";
    return 2;
  }
  try {
    const std::filesystem::path dir = argv[1];
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) throw std::runtime_error("cannot create " + dir.string() + ": " + error.message());
    const std::vector<Table> tables = tp::fx::all_tables();
    for (const Table& table : tables) {
      check_fits(table);
      write_file(dir / (table.name + ".mem"), mem_text(table));
      write_file(dir / (table.name + ".svh"), rom_function_text(table));
    }
    write_file(dir / "tp_tables.svh", svh_text(tables));
  } catch (const std::exception& e) {
    std::cerr << "tp_tables: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
