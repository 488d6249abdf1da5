// Spin's SQLite capability: the databases of the runtime config's `[sqlite_database.*]`
// sections and the `default` database (a file in the state directory), opened by the
// labels a component's `sqlite_databases` grants, through every interface version Spin
// serves (bindings.hpp).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "spin/factor.hpp"

namespace gyre::spin::sqlite {

struct Options {
  // `gyre up --sqlite STATEMENT` / `--sqlite @FILE[:LABEL]`, in order: run once the
  // databases are set up, before any request (statements.hpp). A failure stops the app.
  std::vector<std::string> statements;
};

std::unique_ptr<Factor> make_factor(Options options = {});

}  // namespace gyre::spin::sqlite
