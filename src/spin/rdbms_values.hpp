// What the relational-database factors (PostgreSQL, MySQL) give guests as component values
// they build themselves: row sets, rows and error variants cross as Vals, because each
// interface version names its cases in its own order. And Spin 4's streamed queries,
// which return a row set's columns, its rows through a stream, and the outcome through a
// future.
#pragma once

#include <tuple>

#include "component/value.hpp"
#include "host/wit_type.hpp"

namespace gyre::spin {

// A record, variant or list built as a Val by the factor; it crosses as it is.
struct WitValue {
  component::Val value;
};

using QueryDone = host::Result<host::Unit, WitValue>;
using StreamedRows = std::tuple<WitValue, host::Stream<WitValue>, host::Future<QueryDone>>;

// A row set (record { columns, rows }) as a streamed query's result. The query has run to
// its end before the guest reads a row, so its future always says it ended well; an
// error is the call's own.
inline StreamedRows streamed_rows(component::Val row_set) {
  host::Stream<WitValue> rows;
  rows.values.reserve(row_set.items[1].items.size());
  for (component::Val& row : row_set.items[1].items)
    rows.values.push_back(WitValue{std::move(row)});
  return StreamedRows{WitValue{std::move(row_set.items[0])}, std::move(rows),
                      host::Future<QueryDone>{QueryDone::ok({})}};
}

}  // namespace gyre::spin

namespace gyre::host {
template <>
struct WitType<spin::WitValue> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kRecord || t.kind == ValueKind::kVariant ||
           t.kind == ValueKind::kList;
  }
  static Val to(spin::WitValue v, Context&) { return std::move(v.value); }
};
}  // namespace gyre::host
