#include "editcaption/io/csv.h"

#include "editcaption/core/check.h"

namespace ec::io {

std::string csv_field(std::string_view value) {
  bool quote = value.find_first_of(",\"\r\n") != std::string_view::npos ||
               (!value.empty() && (value.front() == ' ' || value.back() == ' ' || value.front() == '\t'));
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_field(fields[i]);
  }
  out += "\r\n";
  return out;
}

std::vector<CsvRow> parse_csv(std::string_view text, const std::string& source) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<CsvRow> rows;
  size_t i = 0, line = 1;
  while (i < text.size()) {
    CsvRow row;
    row.row = rows.size() + 1;
    row.line = line;
    std::string field;
    bool row_done = false;
    while (!row_done) {
      field.clear();
      if (i < text.size() && text[i] == '"') {
        size_t open_line = line;
        ++i;
        for (;;) {
          if (i >= text.size()) {
            throw EC_USER_ERROR(Input, "{}:{}: quoted field (row {}) is never closed", source, open_line, row.row);
          }
          char c = text[i++];
          if (c == '"') {
            if (i < text.size() && text[i] == '"') {
              field += '"';
              ++i;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          field += c;
        }
        if (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          throw EC_USER_ERROR(Input, "{}:{}: unexpected text after a closing quote (row {}, field {})", source, line,
                              row.row, row.fields.size() + 1);
        }
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\r' && text[i] != '\n') {
          if (text[i] == '"') {
            throw EC_USER_ERROR(Input, "{}:{}: a quote inside an unquoted field (row {}, field {})", source, line,
                                row.row, row.fields.size() + 1);
          }
          field += text[i++];
        }
      }
      row.fields.push_back(field);
      if (i >= text.size()) {
        row_done = true;
      } else if (text[i] == ',') {
        ++i;
      } else {
        if (text[i] == '\r') ++i;
        if (i < text.size() && text[i] == '\n') ++i;
        ++line;
        row_done = true;
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace ec::io
