// CSV (RFC 4180) for review sheets that people edit in spreadsheets: fields are quoted when they
// hold a comma, quote, CR, LF or leading/trailing space; quotes are doubled. The reader accepts
// what spreadsheets write back: a UTF-8 byte-order mark, CRLF or LF line ends, quoted fields
// spanning lines, and a missing final line end.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ec::io {

/// One field, quoted only when it must be.
std::string csv_field(std::string_view value);
/// One row with a CRLF line end (RFC 4180).
std::string csv_row(const std::vector<std::string>& fields);

struct CsvRow {
  size_t row = 0;   ///< 1-based row number (the header is row 1), as a spreadsheet numbers rows
  size_t line = 0;  ///< 1-based line where the row starts in the file
  std::vector<std::string> fields;
};

/// Parses CSV text. Throws UserError(Input) naming `source` and the line for an unterminated
/// quoted field or a stray quote inside an unquoted field. Blank lines are kept as rows with one
/// empty field so that row numbers stay those a spreadsheet shows.
std::vector<CsvRow> parse_csv(std::string_view text, const std::string& source);

}  // namespace ec::io
