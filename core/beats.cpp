#include "core/beats.h"

#include <csv.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace scorejam {
namespace fs = std::filesystem;

namespace {

constexpr const char* kColumns[] = {"name", "beats_s", "downbeats_s", "time_signatures"};
constexpr std::uintmax_t kMaxBeatsFileBytes = 256u << 20;

struct CsvRow {
  int line = 0;  // where the row begins
  std::vector<std::string> fields;
};

// libcsv reports no positions, so the text is fed one line at a time, and a row begins on the
// first line that is not blank after the row before it ended (libcsv skips blank lines). A quoted
// field may span lines, and a row may end in an error before its first field arrives.
struct RowCollector {
  int feeding_line = 0;
  int row_start = 0;  // line where the row now being read began; 0 between rows
  CsvRow current;
  std::vector<CsvRow> rows;

  int start_line() const { return row_start > 0 ? row_start : feeding_line; }
  void end_row() {
    current = {};
    row_start = 0;
  }
};

void on_field(void* field, std::size_t size, void* data) {
  auto& c = *static_cast<RowCollector*>(data);
  c.current.fields.emplace_back(static_cast<const char*>(field), size);
}

void on_row(int, void* data) {
  auto& c = *static_cast<RowCollector*>(data);
  c.current.line = c.start_line();
  c.rows.push_back(std::move(c.current));
  c.end_row();
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// Rows of the text; a line the CSV parser rejects (a stray quote) ends its row, which is reported
// and dropped, and parsing starts again on the next line.
std::vector<CsvRow> csv_rows(const std::string& text, const std::string& source, std::vector<BeatsProblem>& problems) {
  csv_parser parser;
  if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) throw BeatsError(source + ": cannot start the CSV parser");
  RowCollector out;
  std::size_t at = 0;
  while (at < text.size()) {
    ++out.feeding_line;
    std::size_t end = text.find('\n', at);
    end = end == std::string::npos ? text.size() : end + 1;
    if (out.row_start == 0 && !blank(std::string_view(text).substr(at, end - at))) out.row_start = out.feeding_line;
    if (csv_parse(&parser, text.data() + at, end - at, on_field, on_row, &out) != end - at) {
      const int line = out.start_line();
      problems.push_back({line, source + ": line " + std::to_string(line) + ": malformed CSV (" +
                                    csv_strerror(csv_error(&parser)) + "); row skipped"});
      out.end_row();
      csv_free(&parser);
      if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) throw BeatsError(source + ": cannot start the CSV parser");
    }
    at = end;
  }
  if (csv_fini(&parser, on_field, on_row, &out) != 0) {
    const int line = std::max(1, out.start_line());
    problems.push_back({line, source + ": line " + std::to_string(line) + ": malformed CSV, a quote left open (" +
                                  csv_strerror(csv_error(&parser)) + "); row skipped"});
  }
  csv_free(&parser);
  return std::move(out.rows);
}

// Space-separated tokens of a field.
std::vector<std::string_view> tokens(std::string_view field) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at < field.size()) {
    while (at < field.size() && (field[at] == ' ' || field[at] == '\t')) ++at;
    std::size_t end = at;
    while (end < field.size() && field[end] != ' ' && field[end] != '\t') ++end;
    if (end > at) out.push_back(field.substr(at, end - at));
    at = end;
  }
  return out;
}

// The whole token as a finite number, else a message saying why not.
bool parse_number(std::string_view token, double& value) {
  const auto result = std::from_chars(token.data(), token.data() + token.size(), value);
  return result.ec == std::errc{} && result.ptr == token.data() + token.size() && std::isfinite(value);
}

bool parse_int(std::string_view token, int& value) {
  const auto result = std::from_chars(token.data(), token.data() + token.size(), value);
  return result.ec == std::errc{} && result.ptr == token.data() + token.size();
}

std::string in_quotes(std::string_view s) {
  std::string out(1, '\'');  // appended piece by piece: GCC 12 at -O3 warns falsely about "'" + s
  out.append(s);
  out.push_back('\'');
  return out;
}

// Checks one time against the one before it in its column; empty on success.
std::string time_problem(const char* column, std::size_t index, double time, const double* previous) {
  if (time < 0) return std::string(column) + " time " + std::to_string(index + 1) + " is negative (" + std::to_string(time) + ")";
  if (previous && !(time > *previous))
    return std::string(column) + " time " + std::to_string(index + 1) + " (" + std::to_string(time) +
           ") is not after the one before it (" + std::to_string(*previous) + ")";
  return {};
}

std::string parse_times(const std::string& field, const char* column, std::vector<double>& out) {
  const auto parts = tokens(field);
  out.reserve(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    double t = 0;
    if (!parse_number(parts[i], t))
      return std::string(column) + " time " + std::to_string(i + 1) + " " + in_quotes(parts[i]) + " is not a number";
    if (auto p = time_problem(column, i, t, out.empty() ? nullptr : &out.back()); !p.empty()) return p;
    out.push_back(t);
  }
  return {};
}

std::string parse_signatures(const std::string& field, std::vector<TimeSignature>& out) {
  const char* column = kColumns[3];
  const auto parts = tokens(field);
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const auto token = parts[i];
    const auto colon = token.find(':');
    const auto slash = token.find('/', colon == std::string_view::npos ? 0 : colon);
    TimeSignature sig;
    if (colon == std::string_view::npos || slash == std::string_view::npos ||
        !parse_number(token.substr(0, colon), sig.time_s) ||
        !parse_int(token.substr(colon + 1, slash - colon - 1), sig.numerator) ||
        !parse_int(token.substr(slash + 1), sig.denominator))
      return std::string(column) + " entry " + std::to_string(i + 1) + " " + in_quotes(token) + " is not time_s:num/den";
    if (sig.numerator <= 0 || sig.denominator <= 0)
      return std::string(column) + " entry " + std::to_string(i + 1) + " " + in_quotes(token) + " has a zero or negative part";
    const double* previous = out.empty() ? nullptr : &out.back().time_s;
    if (auto p = time_problem(column, i, sig.time_s, previous); !p.empty()) return p;
    out.push_back(sig);
  }
  return {};
}

}  // namespace

BeatsTable parse_beats_csv(const std::string& text, const std::string& source) {
  BeatsTable table;
  auto rows = csv_rows(text, source, table.problems);
  if (rows.empty()) throw BeatsError(source + ": empty; expected the header name,beats_s,downbeats_s,time_signatures");
  const auto& header = rows.front().fields;
  bool header_ok = header.size() == std::size(kColumns);
  for (std::size_t i = 0; header_ok && i < header.size(); ++i) header_ok = header[i] == kColumns[i];
  if (!header_ok) {
    std::string got;
    for (const auto& h : header) got += (got.empty() ? "" : ",") + h;
    throw BeatsError(source + ": line " + std::to_string(rows.front().line) +
                     ": expected the header name,beats_s,downbeats_s,time_signatures, found " + in_quotes(got));
  }
  std::map<std::string, int> line_of;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const auto& row = rows[r];
    auto skip = [&](const std::string& why) {
      table.problems.push_back({row.line, source + ": line " + std::to_string(row.line) + ": " + why + "; row skipped"});
    };
    if (row.fields.size() != std::size(kColumns)) {
      skip("has " + std::to_string(row.fields.size()) + " fields, expected 4 (name,beats_s,downbeats_s,time_signatures)");
      continue;
    }
    const std::string& name = row.fields[0];
    if (name.empty()) {
      skip("name is empty");
      continue;
    }
    if (auto it = line_of.find(name); it != line_of.end()) {
      skip("name " + in_quotes(name) + " was already given on line " + std::to_string(it->second));
      continue;
    }
    BeatAnnotation annotation;
    std::string problem = parse_times(row.fields[1], kColumns[1], annotation.beats_s);
    if (problem.empty() && annotation.beats_s.empty()) problem = "beats_s is empty";
    if (problem.empty()) problem = parse_times(row.fields[2], kColumns[2], annotation.downbeats_s);
    if (problem.empty()) problem = parse_signatures(row.fields[3], annotation.time_signatures);
    if (!problem.empty()) {
      skip(in_quotes(name) + ": " + problem);
      continue;
    }
    line_of.emplace(name, row.line);
    table.by_name.emplace(name, std::move(annotation));
  }
  // Rows the CSV parser rejected were reported while reading; keep the whole list in line order.
  std::stable_sort(table.problems.begin(), table.problems.end(),
                   [](const BeatsProblem& a, const BeatsProblem& b) { return a.line < b.line; });
  return table;
}

BeatsTable read_beats_csv(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw BeatsError(path.string() + ": cannot read the beats CSV (" + ec.message() + ")");
  if (size > kMaxBeatsFileBytes)
    throw BeatsError(path.string() + ": " + std::to_string(size) + " bytes, more than the 256 MiB a beats CSV may have");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BeatsError(path.string() + ": cannot open the beats CSV");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw BeatsError(path.string() + ": read error in the beats CSV");
  return parse_beats_csv(text.str(), path.string());
}

fs::path beats_path_beside(const fs::path& maestro_source) {
  fs::path base = maestro_source;
  while (!base.empty() && !base.has_filename()) base = base.parent_path();  // a folder given as "dir/"
  if (base.extension() == ".zip") base.replace_extension();
  base += ".beats.csv";
  return base;
}

}  // namespace scorejam
