#include "spin/sqlite/statements.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string_view>
#include <system_error>

namespace gyre::spin::sqlite {
namespace {

std::string_view trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::string describe(const Error& error) {
  switch (error.kind) {
    case Error::Kind::kNoSuchDatabase:
      return "no such database";
    case Error::Kind::kAccessDenied:
      return "access denied";
    case Error::Kind::kInvalidConnection:
      return "invalid connection";
    case Error::Kind::kDatabaseFull:
      return "database full";
    case Error::Kind::kIo:
      break;
  }
  return error.message;
}

struct FileAndLabel {
  std::string file, label;
};

// "@file" or "@file:label", Spin's checks and words.
Result<FileAndLabel, std::string> parse_file_and_label(std::string_view statement) {
  const std::string_view config = trim(statement.substr(1));
  const std::string quoted = "'@" + std::string(config) + "'";
  if (config.empty())
    return "database configuration is empty in the " + quoted + " sqlite statement";
  const size_t colon = config.find(':');
  if (colon == std::string_view::npos) return FileAndLabel{std::string(config), "default"};
  const std::string_view file = trim(config.substr(0, colon));
  const std::string_view label = trim(config.substr(colon + 1));
  if (label.empty()) return "database label is empty in the " + quoted + " sqlite statement";
  if (file.empty()) return "file path is empty in the " + quoted + " sqlite statement";
  return FileAndLabel{std::string(file), std::string(label)};
}

Result<void, std::string> run_file(const Databases& databases, std::string_view statement) {
  auto parsed = parse_file_and_label(statement);
  if (!parsed) return std::move(parsed).error();
  const auto& [file, label] = *parsed;
  if (!databases.defines(label)) {
    return "based on the '" + std::string(statement) + "' a registered database named '" + label +
           "' was expected but not found.";
  }
  auto connection = databases.connect(label);
  if (!connection) {
    return "failed connect to database with label '" + label + "': " + describe(connection.error());
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return "could not read file '" + file + "' containing sql statements: " +
           std::error_code(errno, std::generic_category()).message();
  }
  std::stringstream sql;
  sql << in.rdbuf();
  if (auto done = (*connection)->execute_batch(sql.str()); !done) {
    return "failed to execute sql against database '" + label + "' from file '" + file +
           "': failed to execute batch statements: " + done.error();
  }
  return {};
}

Result<void, std::string> run_statement(const Databases& databases, const std::string& statement) {
  auto connection = databases.connect(kDefaultLabel);
  if (!connection) {
    return "failed connect to database with label 'default': " + describe(connection.error());
  }
  if (auto done = (*connection)->execute(statement, {}); !done) {
    return "failed to execute following sql statement against default database: '" + statement +
           "': " + describe(done.error());
  }
  return {};
}

}  // namespace

Result<void, std::string> run_statements(const Databases& databases,
                                         const std::vector<std::string>& statements) {
  for (const std::string& statement : statements) {
    auto done = statement.starts_with('@') ? run_file(databases, statement)
                                           : run_statement(databases, statement);
    if (!done) return done;
  }
  return {};
}

}  // namespace gyre::spin::sqlite
