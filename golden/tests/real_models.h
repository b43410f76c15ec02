// Access to the real llama2.c checkpoints beside the project (never in it).
// A test that needs them skips with a message naming the missing file.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tp::testing {

inline std::string model_path(const std::string& name) {
  return (std::filesystem::path(TOKENPIPE_MODELS_DIR) / name).string();
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The ids of a reference `.ids` file ("ids: 1 2 3").
inline std::vector<int> read_reference_ids(const std::string& path) {
  std::istringstream in(read_text(path));
  std::string label;
  in >> label;
  std::vector<int> ids;
  for (int id; in >> id;) ids.push_back(id);
  return ids;
}

}  // namespace tp::testing

// Skips the current test when a real model file is absent.
#define TP_REQUIRE_MODEL_FILE(name)                                                         \
  do {                                                                                      \
    if (!std::filesystem::exists(::tp::testing::model_path(name))) {                        \
      GTEST_SKIP() << "real model file absent: " << ::tp::testing::model_path(name)         \
                   << " (tests read ../shared/models beside the project)";                  \
    }                                                                                       \
  } while (0)
