// The identifier rules of a Spin manifest: component ids are kebab-case, variable names
// lower snake_case, key-value store and SQLite labels either kebab-case or snake_case.
// Each check returns why a name is invalid, worded as Spin words it, or nothing if valid.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gyre::app {

// Words of ASCII letters and digits joined by '-'; each word starts with a letter and is
// all lower-case or all upper-case ("my-component", "API-v2" is invalid, "API-V2" valid).
std::optional<std::string> kebab_id_error(std::string_view id);

// The same words joined by '_'.
std::optional<std::string> snake_id_error(std::string_view id);

// snake_case with every word lower-case: application and component variable names.
std::optional<std::string> lower_snake_id_error(std::string_view id);

// Key-value store and SQLite database labels: kebab-case or snake_case.
bool is_kebab_or_snake_id(std::string_view id);

// A Component Model package name as a dependency key names it:
// "ns:name", "ns:name@1.2.3", "ns:name/interface", "ns:name/interface@1.2.3".
struct DependencyPackageName {
  std::string package;    // "ns:name"
  std::string interface;  // empty when the whole package is meant
  std::string version;    // empty when unversioned
};

// Parses a dependency key that contains ':' or '/'; on failure says why.
std::optional<std::string> parse_dependency_package_name(std::string_view name,
                                                         DependencyPackageName& out);

// Whether text is a semantic version (major.minor.patch, optional -pre and +build).
bool is_semver(std::string_view text);

// Rust's Debug rendering of a string ("\"a\\\"b\""), which Spin's messages quote with.
std::string debug_quote(std::string_view text);

}  // namespace gyre::app
