#pragma once
#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "core/json.hpp"

namespace vpnbot::db {

// Query parameters travel in text format with the unnamed statement: works through pgbouncer
// in transaction mode, where named prepared statements would not survive.
using Param = std::optional<std::string>;
using Params = std::vector<Param>;

inline Param to_param(std::nullptr_t) {
  return std::nullopt;
}
inline Param to_param(std::string s) {
  return s;
}
inline Param to_param(std::string_view s) {
  return std::string(s);
}
inline Param to_param(const char* s) {
  return std::string(s);
}
inline Param to_param(bool b) {
  return std::string(b ? "true" : "false");
}
inline Param to_param(const nlohmann::json& j) {
  return j.dump();
}
template <typename T>
requires std::is_arithmetic_v<T>
inline Param to_param(T v) {
  return std::to_string(v);
}
template <typename T>
inline Param to_param(const std::optional<T>& v) {
  return v ? to_param(*v) : std::nullopt;
}
// A text[] literal for `= ANY($1::text[])`.
Param to_text_array(const std::vector<std::string>& items);
// A bigint[] literal for `= ANY($1::bigint[])`.
Param to_bigint_array(const std::vector<int64_t>& items);

template <typename... Args>
Params make_params(Args&&... args) {
  Params p;
  p.reserve(sizeof...(args));
  (p.push_back(to_param(std::forward<Args>(args))), ...);
  return p;
}

class Result {
 public:
  Result() = default;
  explicit Result(PGresult* r) : res_(r, &PQclear) {}

  int rows() const { return res_ ? PQntuples(res_.get()) : 0; }
  int cols() const { return res_ ? PQnfields(res_.get()) : 0; }
  bool empty() const { return rows() == 0; }
  // Rows changed by INSERT/UPDATE/DELETE.
  int64_t affected() const;
  int column(std::string_view name) const;

  bool is_null(int row, int col) const { return PQgetisnull(res_.get(), row, col); }
  bool is_null(int row, std::string_view col) const { return is_null(row, column(col)); }
  std::string_view text(int row, int col) const;

  template <typename T>
  T get(int row, int col) const;
  template <typename T>
  T get(int row, std::string_view col) const {
    return get<T>(row, column(col));
  }
  // Reads a row's columns, in select-list order, into `fields` (each column's type is its field's): one line per row
  // mapper, and no column index to keep in step with the select list by hand.
  template <typename... Fields>
  void read(int row, Fields&... fields) const {
    read_from(row, 0, fields...);
  }
  template <typename... Fields>
  void read_from(int row, int first_col, Fields&... fields) const {
    if (first_col + static_cast<int>(sizeof...(fields)) > cols())
      throw std::runtime_error("db: the row has " + std::to_string(cols()) + " columns, the mapper reads " +
                               std::to_string(first_col + sizeof...(fields)));
    int col = first_col;
    ((fields = get<std::remove_cvref_t<Fields>>(row, col++)), ...);
  }
  // Every row as a T: `bind(T&)` names its fields in select-list order (return std::tie(t.a, t.b, ...)).
  template <typename T, typename Bind>
  std::vector<T> read_all(Bind bind) const {
    std::vector<T> out(static_cast<size_t>(rows()));
    for (int i = 0; i < rows(); ++i) std::apply([&](auto&... fields) { read(i, fields...); }, bind(out[i]));
    return out;
  }

 private:
  void check(int row, int col) const;
  std::shared_ptr<PGresult> res_;
};

// A select list and the members of Row its columns fill, in the same order: a store names both in one place, so the
// two cannot drift apart (`RowMap kPlan{"id, code", &Plan::id, &Plan::code}`).
template <typename Row, typename... Members>
class RowMap {
 public:
  constexpr RowMap(const char* columns, Members Row::*... members) : columns(columns), members_(members...) {}

  Row read(const Result& r, int row) const {
    Row out;
    std::apply([&](auto... member) { r.read(row, (out.*member)...); }, members_);
    return out;
  }
  std::vector<Row> read_all(const Result& r) const {
    std::vector<Row> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(read(r, i));
    return out;
  }

  const char* const columns;

 private:
  std::tuple<Members Row::*...> members_;
};

namespace detail {
template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};
template <typename T>
struct is_vector : std::false_type {};
template <typename T>
struct is_vector<std::vector<T>> : std::true_type {};
}  // namespace detail

template <typename T>
T Result::get(int row, int col) const {
  if constexpr (detail::is_optional<T>::value) {
    check(row, col);
    if (is_null(row, col)) return std::nullopt;
    return get<typename T::value_type>(row, col);
  } else {
    check(row, col);
    if (is_null(row, col)) throw std::runtime_error("db: column " + std::to_string(col) + " is NULL");
    std::string_view s = text(row, col);
    if constexpr (std::is_same_v<T, std::string>) {
      return std::string(s);
    } else if constexpr (std::is_same_v<T, std::string_view>) {
      return s;
    } else if constexpr (std::is_same_v<T, bool>) {
      return s == "t" || s == "true";
    } else if constexpr (std::is_same_v<T, nlohmann::json>) {
      return parse_json(s, kStoredJsonLimits);
    } else if constexpr (detail::is_vector<T>::value) {
      // An array selected as to_json(...).
      return parse_json(s, kStoredJsonLimits).get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
      return static_cast<T>(std::stod(std::string(s)));
    } else {
      static_assert(std::is_integral_v<T>, "unsupported column type");
      T v{};
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || p != s.data() + s.size())
        throw std::runtime_error("db: '" + std::string(s) + "' is not an integer");
      return v;
    }
  }
}

}  // namespace vpnbot::db
