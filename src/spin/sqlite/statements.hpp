// `gyre up --sqlite STATEMENT` and `--sqlite @FILE[:LABEL]`: run once the databases are
// set up and before any request, in the order given, as Spin's SQL statement hook does.
// A statement runs against the `default` database; `@FILE` runs every statement of the
// file (read relative to where `gyre up` runs) against LABEL, `default` without one. The
// first failure stops the app, in Spin's words.
#pragma once

#include <string>
#include <vector>

#include "base/result.hpp"
#include "spin/sqlite/databases.hpp"

namespace gyre::spin::sqlite {

Result<void, std::string> run_statements(const Databases& databases,
                                         const std::vector<std::string>& statements);

}  // namespace gyre::spin::sqlite
