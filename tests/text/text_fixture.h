// Reading the reference outputs of tools/reference/text_reference.py (build/fixtures/text_reference).
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/common/test_util.h"

namespace ec::test {

inline std::filesystem::path text_fixture(const std::string& rel = "") {
  auto dir = fixture_dir("text_reference");
  return rel.empty() ? dir : dir / rel;
}

/// One JSON value per line.
inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "missing fixture " << path << " (run ctest, which runs fixture.text_reference first)";
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

inline std::vector<std::string> read_corpus() {
  std::vector<std::string> out;
  for (const auto& j : read_jsonl(text_fixture("corpus.jsonl"))) out.push_back(j.get<std::string>());
  return out;
}

inline std::string show_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t i : ids) s += std::to_string(i) + " ";
  return s;
}

}  // namespace ec::test
