// CSV round trips: our writer and reader agree with Python's csv module (a reader and writer we
// did not write) on commas, quotes, newlines, CRLF, leading spaces and UTF-8.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "editcaption/core/error.h"
#include "editcaption/io/csv.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {

std::vector<std::vector<std::string>> tricky_rows() {
  return {
      {"id", "text", "notes"},
      {"a,1", "say \"hi\", then leave", ""},
      {"b", "line one\nline two\r\nline three", "  leading and trailing  "},
      {"c", "\xe6\x8a\x8a\xe7\xba\xa2\xe8\x89\xb2\xe6\x9d\xaf\xe5\xad\x90\xe7\xa7\xbb\xe5\x88\xb0\xe5\xb7\xa6\xe8\xbe\xb9 \xf0\x9f\x98\x80",
       "\"\""},
      {"", "", ""},
      {"d", "tab\tinside", "ends with quote\""},
  };
}

std::vector<std::vector<std::string>> fields_of(const std::vector<io::CsvRow>& rows) {
  std::vector<std::vector<std::string>> out;
  for (const auto& r : rows) out.push_back(r.fields);
  return out;
}

TEST(Csv, RoundTripsItself) {
  std::string text;
  for (const auto& r : tricky_rows()) text += io::csv_row(r);
  auto rows = io::parse_csv("\xEF\xBB\xBF" + text, "x.csv");
  EXPECT_EQ(fields_of(rows), tricky_rows());
  EXPECT_EQ(rows[2].row, 3u);
  EXPECT_EQ(rows[2].line, 3u);
  EXPECT_EQ(rows[3].line, 6u);  // row 3 spans three lines
}

TEST(Csv, PythonReadsWhatWeWrite) {
  test::TempDir dir;
  std::string text;
  for (const auto& r : tricky_rows()) text += io::csv_row(r);
  test::write_text(dir / "ours.csv", text);
  test::write_text(dir / "read.py",
                   "import csv, json, sys\n"
                   "with open(sys.argv[1], newline='', encoding='utf-8') as f:\n"
                   "    print(json.dumps(list(csv.reader(f))))\n");
  auto r = test::run_command({test::python(), (dir / "read.py").string(), (dir / "ours.csv").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto rows = nlohmann::json::parse(r.out).get<std::vector<std::vector<std::string>>>();
  EXPECT_EQ(rows, tricky_rows());
}

TEST(Csv, WeReadWhatPythonWrites) {
  // Excel dialect (CRLF, minimal quoting) and QUOTE_ALL, as spreadsheets and scripts write.
  test::TempDir dir;
  nlohmann::json rows = tricky_rows();
  test::write_text(dir / "rows.json", rows.dump());
  test::write_text(dir / "write.py",
                   "import csv, json, sys\n"
                   "rows = json.load(open(sys.argv[1], encoding='utf-8'))\n"
                   "for name, q in (('minimal.csv', csv.QUOTE_MINIMAL), ('all.csv', csv.QUOTE_ALL)):\n"
                   "    with open(sys.argv[2] + '/' + name, 'w', newline='', encoding='utf-8-sig') as f:\n"
                   "        csv.writer(f, quoting=q).writerows(rows)\n");
  auto r = test::run_command(
      {test::python(), (dir / "write.py").string(), (dir / "rows.json").string(), dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"minimal.csv", "all.csv"}) {
    auto parsed = io::parse_csv(test::read_text(dir / name), name);
    EXPECT_EQ(fields_of(parsed), tricky_rows()) << name;
  }
}

TEST(Csv, MalformedInputNamesTheLine) {
  try {
    io::parse_csv("a,b\n\"open,field\nmore\n", "sheet.csv");
    FAIL() << "unterminated quote accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("sheet.csv:2"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), ExitCode::Input);
  }
  EXPECT_THROW(io::parse_csv("a,b\nx\"y,z\n", "s.csv"), UserError);
  EXPECT_THROW(io::parse_csv("a,b\n\"x\"y,z\n", "s.csv"), UserError);
}

TEST(Csv, LastLineWithoutNewlineAndLoneCr) {
  auto rows = io::parse_csv("a,b\r1,2", "s.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"1", "2"}));
  auto trailing = io::parse_csv("a,\n", "s.csv");
  ASSERT_EQ(trailing.size(), 1u);
  EXPECT_EQ(trailing[0].fields, (std::vector<std::string>{"a", ""}));
}

}  // namespace
}  // namespace ec
