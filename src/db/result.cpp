#include "db/result.hpp"

#include <stdexcept>

namespace vpnbot::db {

Param to_text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

Param to_bigint_array(const std::vector<int64_t>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + std::to_string(items[i]);
  return out + "}";
}

int64_t Result::affected() const {
  if (!res_) return 0;
  const char* n = PQcmdTuples(res_.get());
  return (n && *n) ? std::stoll(n) : 0;
}

int Result::column(std::string_view name) const {
  int idx = res_ ? PQfnumber(res_.get(), std::string(name).c_str()) : -1;
  if (idx < 0) throw std::out_of_range("db: no column '" + std::string(name) + "' in result");
  return idx;
}

void Result::check(int row, int col) const {
  if (row < 0 || row >= rows() || col < 0 || col >= cols())
    throw std::out_of_range("db: cell (" + std::to_string(row) + "," + std::to_string(col) + ") out of range");
}

std::string_view Result::text(int row, int col) const {
  check(row, col);
  return {PQgetvalue(res_.get(), row, col), static_cast<size_t>(PQgetlength(res_.get(), row, col))};
}

}  // namespace vpnbot::db
