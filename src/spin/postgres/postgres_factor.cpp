#include "spin/postgres/postgres_factor.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <span>

#include "host/define.hpp"
#include "host/waiting.hpp"
#include "spin/outbound_address.hpp"
#include "spin/postgres/pg_client.hpp"
#include "spin/rdbms_values.hpp"

namespace gyre::spin::postgres {

// The WIT shapes, as component values: each interface version names its variant cases in
// its own order, so values cross as Vals and are read and built by case label.
struct WitParams {
  std::vector<component::Val> items;
  std::vector<std::string> labels;  // the declared parameter-value cases
};

}  // namespace gyre::spin::postgres

namespace gyre::host {
template <>
struct WitType<spin::postgres::WitParams> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kList && t.types[0]->kind == ValueKind::kVariant;
  }
  static spin::postgres::WitParams from(const Val& v, Context&) { return {v.items, {}}; }
};
}  // namespace gyre::host

namespace gyre::spin::postgres {
namespace {

using component::Val;
using host::Borrow;
using host::Context;
using host::Own;

// One interface version: its name and the case labels of its variants and enums.
struct Version {
  const char* interface;
  std::vector<std::string> params;
  std::vector<std::string> values;
  std::vector<std::string> types;
  bool v4 = false;  // db-data-type a variant with other(string), query-error, unsupported(bytes)
  uint32_t error_offset = 0;  // Spin 1's pg-error starts with `success`
};

const Version& version_2() {
  static const Version v{
      "fermyon:spin/postgres@2.0.0",
      {"boolean", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
       "floating32", "floating64", "str", "binary", "db-null"},
      {"boolean", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
       "floating32", "floating64", "str", "binary", "db-null", "unsupported"},
      {"boolean", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
       "floating32", "floating64", "str", "binary", "other"},
      false};
  return v;
}

// Spin 1: the types of version 2, and pg-error with `success` first.
const Version& version_1() {
  static const Version v = [] {
    Version out = version_2();
    out.interface = "fermyon:spin/postgres";
    out.error_offset = 1;
    return out;
  }();
  return v;
}

const Version& version_3() {
  static const Version v{
      "spin:postgres/postgres@3.0.0",
      {"boolean", "int8", "int16", "int32", "int64", "floating32", "floating64", "str", "binary",
       "date", "time", "datetime", "timestamp", "db-null"},
      {"boolean", "int8", "int16", "int32", "int64", "floating32", "floating64", "str", "binary",
       "date", "time", "datetime", "timestamp", "db-null", "unsupported"},
      {"boolean", "int8", "int16", "int32", "int64", "floating32", "floating64", "str", "binary",
       "date", "time", "datetime", "timestamp", "other"},
      false};
  return v;
}

const Version& version_4() {
  static const std::vector<std::string> common = {
      "boolean",       "int8",        "int16",       "int32",         "int64",       "floating32",
      "floating64",    "str",         "binary",      "date",          "time",        "datetime",
      "timestamp",     "uuid",        "jsonb",       "decimal",       "range-int32", "range-int64",
      "range-decimal", "array-int32", "array-int64", "array-decimal", "array-str",   "interval"};
  static const Version v = [] {
    Version out{"spin:postgres/postgres@4.0.0", common, common, common, true};
    out.params.push_back("db-null");
    out.values.push_back("db-null");
    out.values.push_back("unsupported");
    out.types.push_back("other");
    return out;
  }();
  return v;
}
// 4.1 adds the connection builder, 4.2 the async functions; the types are 4.0's.
Version version_4_as(const char* interface) {
  Version out = version_4();
  out.interface = interface;
  return out;
}
const Version& version_4_1() {
  static const Version v = version_4_as("spin:postgres/postgres@4.1.0");
  return v;
}
const Version& version_4_2() {
  static const Version v = version_4_as("spin:postgres/postgres@4.2.0");
  return v;
}

// The guest's error variant: connection-failed, bad-parameter, query-failed,
// value-conversion-failed, other.
Val error_val(const Version& v, const PgError& e) {
  const uint32_t o = v.error_offset;
  switch (e.kind) {
    case PgError::Kind::kConnectionFailed:
      return Val::variant(o + 0, Val::string(e.message));
    case PgError::Kind::kOther:
      return Val::variant(o + 4, Val::string(e.message));
    case PgError::Kind::kQueryFailed:
      break;
  }
  if (!v.v4) return Val::variant(o + 2, Val::string(e.message));
  if (!e.db_error) return Val::variant(2, Val::variant(0, Val::string(e.message)));
  const PgDbError& d = *e.db_error;
  std::vector<Val> extras;
  for (const auto& [k, x] : d.extras)
    extras.push_back(Val::tuple({Val::string(k), Val::string(x)}));
  Val record = Val::record(
      {Val::string(d.as_text), Val::string(d.severity), Val::string(d.code), Val::string(d.message),
       d.detail ? Val::some(Val::string(*d.detail)) : Val::none(), Val::list(std::move(extras))});
  return Val::variant(2, Val::variant(1, std::move(record)));
}
Val bad_parameter(const Version& v, std::string message) {
  return Val::variant(v.error_offset + 1, Val::string(std::move(message)));
}
Val conversion_failed(const Version& v, std::string message) {
  return Val::variant(v.error_offset + 3, Val::string(std::move(message)));
}

constexpr std::string_view kUnsigned = "Postgres does not support unsigned integers";

// A parameter query cannot send: as Spin, a bad parameter, except unsigned integers, which
// fail their conversion to the newest interface's values first.
Val param_error(const Version& v, std::string message) {
  if (message == kUnsigned) return conversion_failed(v, std::move(message));
  return bad_parameter(v, std::move(message));
}

// ---- parameters: a WIT value as a typed text parameter ------------------------------------

std::string date_text(const Val& t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u",
                static_cast<long long>(int32_t(t.items[0].bits)), unsigned(t.items[1].bits),
                unsigned(t.items[2].bits));
  return buf;
}

std::string time_text(uint64_t h, uint64_t m, uint64_t s, uint64_t nanos) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02u:%02u:%02u.%06u", unsigned(h), unsigned(m), unsigned(s),
                unsigned(nanos / 1000));
  return buf;
}

std::string float_text(double v, int digits) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string quoted_element(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// option<tuple<T, range-bound-kind>> pair as "[lo,hi)".
std::string range_text(const Val& t, bool strings) {
  auto bound = [&](const Val& b) -> std::pair<std::string, bool> {
    if (b.bits == 0) return {"", false};
    const Val& pair = b.items[0];
    std::string text =
        strings ? pair.items[0].bytes : std::to_string(static_cast<int64_t>(pair.items[0].bits));
    return {text, pair.items[1].bits == 0};
  };
  auto [lo, lo_inclusive] = bound(t.items[0]);
  auto [hi, hi_inclusive] = bound(t.items[1]);
  return std::string(lo_inclusive ? "[" : "(") + lo + "," + hi + (hi_inclusive ? "]" : ")");
}

std::string array_text(const Val& list, int kind) {  // 0 ints, 1 decimal, 2 strings
  std::string out = "{";
  for (size_t i = 0; i < list.items.size(); ++i) {
    if (i) out += ",";
    const Val& e = list.items[i];
    if (e.bits == 0) {
      out += "NULL";
    } else if (kind == 0) {
      out += std::to_string(static_cast<int64_t>(e.items[0].bits));
    } else {
      out += quoted_element(e.items[0].bytes);
    }
  }
  return out + "}";
}

Result<PgParam, std::string> to_param(const std::string& label, const Val& v) {
  const Val& p = v.items.empty() ? v : v.items[0];
  auto text = [](uint32_t oid, std::string s) { return PgParam{oid, std::move(s), false}; };
  auto integer = [&](uint32_t oid) { return text(oid, std::to_string(int64_t(p.bits))); };
  if (label == "boolean") return text(16, p.bits ? "t" : "f");
  if (label == "int8" || label == "int16") return integer(21);
  if (label == "int32") return integer(23);
  if (label == "int64") return integer(20);
  if (label.starts_with("uint")) return std::string(kUnsigned);
  if (label == "floating32") return text(700, float_text(p.number, 9));
  if (label == "floating64") return text(701, float_text(p.number, 17));
  if (label == "str") return text(0, p.bytes);
  if (label == "binary") return PgParam{17, p.bytes, true};
  if (label == "date") return text(1082, date_text(p));
  if (label == "time")
    return text(1083,
                time_text(p.items[0].bits, p.items[1].bits, p.items[2].bits, p.items[3].bits));
  if (label == "datetime") {
    return text(1114,
                date_text(Val::tuple({p.items[0], p.items[1], p.items[2]})) + " " +
                    time_text(p.items[3].bits, p.items[4].bits, p.items[5].bits, p.items[6].bits));
  }
  if (label == "timestamp") {
    const time_t seconds = static_cast<time_t>(static_cast<int64_t>(p.bits));
    std::tm tm{};
    if (gmtime_r(&seconds, &tm) == nullptr) return std::string("timestamp out of range");
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d+00", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return text(1184, buf);
  }
  if (label == "uuid") return text(2950, p.bytes);
  if (label == "jsonb") return text(3802, p.bytes);
  if (label == "decimal") return text(1700, p.bytes);
  if (label == "range-int32") return text(3904, range_text(p, false));
  if (label == "range-int64") return text(3926, range_text(p, false));
  if (label == "range-decimal") return text(3906, range_text(p, true));
  if (label == "array-int32") return text(1007, array_text(p, 0));
  if (label == "array-int64") return text(1016, array_text(p, 0));
  if (label == "array-decimal") return text(1231, array_text(p, 1));
  if (label == "array-str") return text(1009, array_text(p, 2));
  if (label == "interval") {
    return text(1186, std::to_string(int32_t(p.items[2].bits)) + " months " +
                          std::to_string(int32_t(p.items[1].bits)) + " days " +
                          std::to_string(int64_t(p.items[0].bits)) + " microseconds");
  }
  return PgParam{0, std::nullopt, false};  // db-null
}

Result<std::vector<PgParam>, std::string> to_params(const Version& v,
                                                    const std::vector<Val>& items) {
  std::vector<PgParam> out;
  for (const Val& item : items) {
    if (item.bits >= v.params.size()) return std::string("parameter case out of range");
    auto param = to_param(v.params[item.bits], item);
    if (!param) return std::move(param).error();
    out.push_back(std::move(param).value());
  }
  return out;
}

// ---- results: PostgreSQL's text form as a WIT value ----------------------------------------

struct Decoded {
  std::string label;
  std::optional<Val> payload;
};

std::string type_label(uint32_t oid) {
  switch (oid) {
    case 16:
      return "boolean";
    case 17:
      return "binary";
    case 700:
      return "floating32";
    case 701:
      return "floating64";
    case 21:
      return "int16";
    case 23:
      return "int32";
    case 20:
      return "int64";
    case 25:
    case 1043:
    case 1042:
      return "str";
    case 1114:
    case 1184:
      return "datetime";
    case 1082:
      return "date";
    case 1083:
      return "time";
    case 2950:
      return "uuid";
    case 3802:
      return "jsonb";
    case 1700:
      return "decimal";
    case 3904:
      return "range-int32";
    case 3926:
      return "range-int64";
    case 3906:
      return "range-decimal";
    case 1007:
      return "array-int32";
    case 1016:
      return "array-int64";
    case 1231:
      return "array-decimal";
    case 1009:
    case 1015:
    case 1014:
      return "array-str";
    case 1186:
      return "interval";
    default:
      return "other";
  }
}

std::optional<std::string> unhex(std::string_view s) {
  if (!s.starts_with("\\x")) return std::nullopt;
  std::string out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 2; i + 1 < s.size(); i += 2) {
    const int hi = nibble(s[i]), lo = nibble(s[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

// "HH:MM:SS[.ffffff]" at the start of s.
std::optional<std::vector<Val>> parse_time(std::string_view s) {
  unsigned h, m, sec;
  int used = 0;
  const std::string text(s);
  if (std::sscanf(text.c_str(), "%2u:%2u:%2u%n", &h, &m, &sec, &used) != 3) return std::nullopt;
  uint32_t nanos = 0;
  if (size_t(used) < text.size() && text[used] == '.') {
    uint32_t scale = 100000000;
    for (size_t i = used + 1; i < text.size() && std::isdigit(uint8_t(text[i])); ++i) {
      nanos += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  return std::vector<Val>{Val::u8(uint8_t(h)), Val::u8(uint8_t(m)), Val::u8(uint8_t(sec)),
                          Val::u32(nanos)};
}

std::optional<std::vector<Val>> parse_date(std::string_view s) {
  int y;
  unsigned m, d;
  const std::string text(s);
  if (std::sscanf(text.c_str(), "%d-%2u-%2u", &y, &m, &d) != 3) return std::nullopt;
  if (text.ends_with(" BC")) y = 1 - y;
  return std::vector<Val>{Val::s32(y), Val::u8(uint8_t(m)), Val::u8(uint8_t(d))};
}

// ISO 8601 interval ("P1Y2M3DT4H5M6.5S") as (micros, days, months).
std::optional<Val> parse_interval(std::string_view s) {
  if (!s.starts_with("P")) return std::nullopt;
  int64_t months = 0, days = 0, micros = 0;
  bool time = false;
  size_t i = 1;
  while (i < s.size()) {
    if (s[i] == 'T') {
      time = true;
      ++i;
      continue;
    }
    size_t j = i;
    while (j < s.size() && (std::isdigit(uint8_t(s[j])) || s[j] == '-' || s[j] == '.'))
      ++j;
    if (j == i || j >= s.size()) return std::nullopt;
    const std::string number(s.substr(i, j - i));
    const char unit = s[j];
    if (!time && unit == 'Y')
      months += std::stoll(number) * 12;
    else if (!time && unit == 'M')
      months += std::stoll(number);
    else if (!time && unit == 'W')
      days += std::stoll(number) * 7;
    else if (!time && unit == 'D')
      days += std::stoll(number);
    else if (time && unit == 'H')
      micros += std::stoll(number) * 3600000000LL;
    else if (time && unit == 'M')
      micros += std::stoll(number) * 60000000LL;
    else if (time && unit == 'S')
      micros += std::llround(std::stod(number) * 1e6);
    else
      return std::nullopt;
    i = j + 1;
  }
  return Val::record({Val::s64(micros), Val::s32(int32_t(days)), Val::s32(int32_t(months))});
}

// "{a,NULL,"b c"}" as its elements.
std::optional<std::vector<std::optional<std::string>>> parse_array(std::string_view s) {
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return std::nullopt;
  std::vector<std::optional<std::string>> out;
  size_t i = 1;
  if (s.size() == 2) return out;
  while (i < s.size()) {
    std::string element;
    bool quoted = false;
    if (s[i] == '"') {
      quoted = true;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\') ++i;
        element += s[i];
      }
      ++i;
    } else {
      for (; i < s.size() && s[i] != ',' && s[i] != '}'; ++i)
        element += s[i];
    }
    if (!quoted && element == "NULL")
      out.emplace_back(std::nullopt);
    else
      out.emplace_back(std::move(element));
    ++i;  // ',' or '}'
  }
  return out;
}

std::optional<Val> parse_range(std::string_view s, bool strings) {
  auto bound = [&](std::string_view text, bool inclusive) -> std::optional<Val> {
    if (text.empty()) return Val::none();
    std::string t(text);
    if (t.size() >= 2 && t.front() == '"') t = t.substr(1, t.size() - 2);
    Val value = strings ? Val::string(t) : Val::s64(std::stoll(t));
    return Val::some(Val::tuple({value, Val::enumeration(inclusive ? 0 : 1)}));
  };
  if (s == "empty") return Val::tuple({Val::none(), Val::none()});
  if (s.size() < 3) return std::nullopt;
  const size_t comma = s.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto lo = bound(s.substr(1, comma - 1), s.front() == '[');
  auto hi = bound(s.substr(comma + 1, s.size() - comma - 2), s.back() == ']');
  if (!lo || !hi) return std::nullopt;
  return Val::tuple({*lo, *hi});
}

Val with_kind(Val v, component::ValueKind kind) {
  v.kind = kind;
  return v;
}

std::optional<Decoded> decode(uint32_t oid, const std::string& text) {
  const std::string label = type_label(oid);
  auto done = [&](Val v) { return Decoded{label, std::move(v)}; };
  try {
    if (label == "boolean") return done(Val::boolean(text == "t"));
    if (label == "int16") return done(Val::s16(int16_t(std::stol(text))));
    if (label == "int32") return done(Val::s32(int32_t(std::stol(text))));
    if (label == "int64") return done(Val::s64(std::stoll(text)));
    if (label == "floating32") return done(Val::f32(std::strtof(text.c_str(), nullptr)));
    if (label == "floating64") return done(Val::f64(std::strtod(text.c_str(), nullptr)));
    if (label == "str" || label == "uuid" || label == "decimal") return done(Val::string(text));
    if (label == "jsonb") return done(Val::byte_list(text));
    if (label == "binary") {
      auto bytes = unhex(text);
      if (!bytes) return std::nullopt;
      return done(Val::byte_list(std::move(*bytes)));
    }
    if (label == "date") {
      auto d = parse_date(text);
      if (!d) return std::nullopt;
      return done(Val::tuple(std::move(*d)));
    }
    if (label == "time") {
      auto t = parse_time(text);
      if (!t) return std::nullopt;
      return done(Val::tuple(std::move(*t)));
    }
    if (label == "datetime") {
      const size_t space = text.find(' ');
      if (space == std::string::npos) return std::nullopt;
      auto d = parse_date(text.substr(0, space));
      auto t = parse_time(std::string_view(text).substr(space + 1));
      if (!d || !t) return std::nullopt;
      std::vector<Val> all = std::move(*d);
      all.insert(all.end(), t->begin(), t->end());
      return done(Val::tuple(std::move(all)));
    }
    if (label == "interval") {
      auto v = parse_interval(text);
      if (!v) return std::nullopt;
      return done(std::move(*v));
    }
    if (label.starts_with("range-")) {
      auto v = parse_range(text, label == "range-decimal");
      if (!v) return std::nullopt;
      if (label == "range-int32") {
        for (Val& b : v->items) {
          if (b.bits)
            b.items[0].items[0] = with_kind(b.items[0].items[0], component::ValueKind::kS32);
        }
      }
      return done(std::move(*v));
    }
    if (label.starts_with("array-")) {
      auto elements = parse_array(text);
      if (!elements) return std::nullopt;
      std::vector<Val> items;
      for (auto& e : *elements) {
        if (!e)
          items.push_back(Val::none());
        else if (label == "array-int32")
          items.push_back(Val::some(Val::s32(int32_t(std::stol(*e)))));
        else if (label == "array-int64")
          items.push_back(Val::some(Val::s64(std::stoll(*e))));
        else
          items.push_back(Val::some(Val::string(*e)));
      }
      return done(Val::list(std::move(items)));
    }
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return Decoded{"unsupported", Val::byte_list(text)};
}

uint32_t index_of(const std::vector<std::string>& labels, std::string_view label) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == label) return static_cast<uint32_t>(i);
  }
  return UINT32_MAX;
}

Val cell_val(const Version& v, uint32_t oid, const std::optional<std::string>& text) {
  if (!text) return Val::variant(index_of(v.values, "db-null"));
  std::optional<Decoded> decoded = decode(oid, *text);
  if (!decoded) decoded = Decoded{"unsupported", Val::byte_list(*text)};
  uint32_t index = index_of(v.values, decoded->label);
  if (index == UINT32_MAX || decoded->label == "unsupported") {
    index = index_of(v.values, "unsupported");
    return v.v4 ? Val::variant(index, Val::byte_list(*text)) : Val::variant(index);
  }
  return Val::variant(index, std::move(decoded->payload));
}

Val type_val(const Version& v, const PgColumn& column) {
  const std::string label = type_label(column.oid);
  uint32_t index = index_of(v.types, label);
  const bool other = index == UINT32_MAX || label == "other";
  if (other) index = index_of(v.types, "other");
  if (!v.v4) return Val::enumeration(index);
  return other ? Val::variant(index, Val::string(column.type_name)) : Val::variant(index);
}

Val row_set(const Version& v, const PgRows& rows) {
  std::vector<Val> columns;
  for (const PgColumn& c : rows.columns)
    columns.push_back(Val::record({Val::string(c.name), type_val(v, c)}));
  std::vector<Val> out;
  for (const auto& row : rows.rows) {
    std::vector<Val> cells;
    for (size_t i = 0; i < row.size(); ++i)
      cells.push_back(cell_val(v, rows.columns[i].oid, row[i]));
    out.push_back(Val::list(std::move(cells)));
  }
  return Val::record({Val::list(std::move(columns)), Val::list(std::move(out))});
}

// ---- bindings --------------------------------------------------------------------------------

struct Shared {
  std::shared_ptr<PgPool> pool;
  app::AllowedHosts allowed;  // a copy: the context's list lives only while adding
  Log log;
};

// As Spin: every TCP host of the connection string must be allowed, as postgres://host:port.
std::optional<PgError> check_allowed(const Shared& shared, const std::string& address) {
  auto hosts = connection_hosts(address);
  if (!hosts) return PgError{PgError::Kind::kConnectionFailed, hosts.error(), {}};
  for (const std::string& host : *hosts) {
    if (check_outbound(host, "postgres", shared.allowed, shared.log)) continue;
    return PgError{
        PgError::Kind::kConnectionFailed, "address postgres://" + host + " is not permitted", {}};
  }
  return std::nullopt;
}

using Opened = host::Result<Own<PgConnection>, WitValue>;

// A connection for the guest, if every host of the address is allowed. Here and below,
// the calling guest waits for the server through its Suspender (host/waiting.hpp).
Opened open(const Shared& shared, const Version& v, PgTarget target, Context& cx) {
  if (auto denied = check_allowed(shared, target.address))
    return Opened::err(WitValue{error_val(v, *denied)});
  auto connection = shared.pool->acquire(target, host::suspender_of(cx.instance));
  if (!connection) return Opened::err(WitValue{error_val(v, connection.error())});
  return Opened::ok(
      Own<PgConnection>{std::make_unique<PgConnection>(shared.pool, target.key(), *connection)});
}

// A query's row set, or the guest's error.
host::Result<WitValue, WitValue> query(const Version& v, Context& cx, PgConnection& connection,
                                       std::string_view statement, const WitParams& params) {
  using R = host::Result<WitValue, WitValue>;
  auto converted = to_params(v, params.items);
  if (!converted) return R::err(WitValue{param_error(v, converted.error())});
  auto rows = connection.query(statement, *converted, host::suspender_of(cx.instance));
  if (!rows) return R::err(WitValue{error_val(v, rows.error())});
  return R::ok(WitValue{row_set(v, *rows)});
}

host::Result<uint64_t, WitValue> execute(const Version& v, Context& cx, PgConnection& connection,
                                         std::string_view statement, const WitParams& params) {
  using R = host::Result<uint64_t, WitValue>;
  auto converted = to_params(v, params.items);
  if (!converted) return R::err(WitValue{conversion_failed(v, converted.error())});
  auto count = connection.execute(statement, *converted, host::suspender_of(cx.instance));
  if (!count) return R::err(WitValue{error_val(v, count.error())});
  return R::ok(*count);
}

void add_version(component::HostImports& imports, const Version& v,
                 std::shared_ptr<const Shared> shared) {
  const char* iface = v.interface;
  host::define_resource<PgConnection>(imports, iface, "connection");
  host::define(imports, iface, "[static]connection.open",
               [shared, &v](Context& cx, std::string address) {
                 return open(*shared, v, PgTarget{std::move(address), {}}, cx);
               });
  host::define(imports, iface, "[method]connection.query",
               [&v](Context& cx, Borrow<PgConnection> self, std::string_view statement,
                    WitParams params) { return query(v, cx, *self, statement, params); });
  host::define(imports, iface, "[method]connection.execute",
               [&v](Context& cx, Borrow<PgConnection> self, std::string_view statement,
                    WitParams params) { return execute(v, cx, *self, statement, params); });
}

// 4.1's connection-builder: an address, and a root certificate to trust, then build.
struct Builder {
  std::string address;
  std::string root_ca_file;
};

void add_builder(component::HostImports& imports, const Version& v,
                 std::shared_ptr<const Shared> shared, bool with_async) {
  const char* iface = v.interface;
  host::define_resource<Builder>(imports, iface, "connection-builder");
  host::define(imports, iface, "[constructor]connection-builder",
               [](Context&, std::string address) {
                 return Own<Builder>{std::make_unique<Builder>(Builder{std::move(address), {}})};
               });
  host::define(
      imports, iface, "[method]connection-builder.set-ca-root",
      [&v](Context&, Borrow<Builder> self, std::string certificate) {
        using R = host::Result<host::Unit, WitValue>;
        auto file = root_ca_file(certificate);
        if (!file) {
          return R::err(WitValue{error_val(
              v, {PgError::Kind::kOther, "invalid root certificate: " + file.error(), {}})});
        }
        self->root_ca_file = file->string();
        return R::ok({});
      });
  auto build = [shared, &v](Context& cx, Borrow<Builder> self) {
    return open(*shared, v, PgTarget{self->address, self->root_ca_file}, cx);
  };
  host::define(imports, iface, "[method]connection-builder.build", build);
  if (with_async) host::define(imports, iface, "[method]connection-builder.build-async", build);
}

// 4.2's async functions; query-async's rows come through a stream (streamed_rows).
void add_async(component::HostImports& imports, const Version& v,
               std::shared_ptr<const Shared> shared) {
  const char* iface = v.interface;
  host::define(imports, iface, "[static]connection.open-async",
               [shared, &v](Context& cx, std::string address) {
                 return open(*shared, v, PgTarget{std::move(address), {}}, cx);
               });
  host::define(
      imports, iface, "[method]connection.query-async",
      [&v](Context& cx, Borrow<PgConnection> self, std::string_view statement, WitParams params) {
        using R = host::Result<StreamedRows, WitValue>;
        auto rows = query(v, cx, *self, statement, params);
        if (!rows.is_ok()) return R::err(std::get<1>(std::move(rows.value)));
        return R::ok(streamed_rows(std::get<0>(std::move(rows.value)).value));
      });
  host::define(imports, iface, "[method]connection.execute-async",
               [&v](Context& cx, Borrow<PgConnection> self, std::string_view statement,
                    WitParams params) { return execute(v, cx, *self, statement, params); });
}

// Spin 1: every call opens a connection to `address` for itself.
void add_version_1(component::HostImports& imports, std::shared_ptr<const Shared> shared) {
  const Version& v = version_1();
  auto open = [shared](const std::string& address,
                       Suspender* suspender) -> Result<std::unique_ptr<PgConnection>, PgError> {
    if (auto denied = check_allowed(*shared, address)) return *denied;
    const PgTarget target{address, {}};
    auto connection = shared->pool->acquire(target, suspender);
    if (!connection) return std::move(connection).error();
    return std::make_unique<PgConnection>(shared->pool, target.key(), *connection);
  };
  host::define(
      imports, v.interface, "query",
      [open, &v](Context& cx, std::string address, std::string_view statement, WitParams params) {
        using R = host::Result<WitValue, WitValue>;
        auto converted = to_params(v, params.items);
        if (!converted) return R::err(WitValue{param_error(v, converted.error())});
        Suspender* suspender = host::suspender_of(cx.instance);
        auto connection = open(address, suspender);
        if (!connection) return R::err(WitValue{error_val(v, connection.error())});
        auto rows = (*connection)->query(statement, *converted, suspender);
        if (!rows) return R::err(WitValue{error_val(v, rows.error())});
        return R::ok(WitValue{row_set(v, *rows)});
      });
  host::define(
      imports, v.interface, "execute",
      [open, &v](Context& cx, std::string address, std::string_view statement, WitParams params) {
        using R = host::Result<uint64_t, WitValue>;
        auto converted = to_params(v, params.items);
        if (!converted) return R::err(WitValue{conversion_failed(v, converted.error())});
        Suspender* suspender = host::suspender_of(cx.instance);
        auto connection = open(address, suspender);
        if (!connection) return R::err(WitValue{error_val(v, connection.error())});
        auto count = (*connection)->execute(statement, *converted, suspender);
        if (!count) return R::err(WitValue{error_val(v, count.error())});
        return R::ok(*count);
      });
}

class PostgresFactor final : public Factor {
 public:
  Result<void, std::string> configure_app(AppContext&) override {
    pool_ = std::make_shared<PgPool>();
    return {};
  }
  Result<void, std::string> add_component(component::HostImports& imports,
                                          const ComponentContext& component) override {
    if (!pool_) pool_ = std::make_shared<PgPool>();
    auto shared =
        std::make_shared<const Shared>(Shared{pool_, component.allowed_hosts, component.log});
    add_version_1(imports, shared);
    add_version(imports, version_2(), shared);
    add_version(imports, version_3(), shared);
    add_version(imports, version_4(), shared);
    for (const Version* v : {&version_4_1(), &version_4_2()}) {
      add_version(imports, *v, shared);
      add_builder(imports, *v, shared, v == &version_4_2());
    }
    add_async(imports, version_4_2(), shared);
    return {};
  }

 private:
  std::shared_ptr<PgPool> pool_;
};

}  // namespace

std::unique_ptr<Factor> make_factor() {
  return std::make_unique<PostgresFactor>();
}

}  // namespace gyre::spin::postgres
