// The inside of parse_manifest (app/manifest.hpp), shared by the files that make it up:
// the reader of typed values that rejects with a position in the file, what the parser
// records for the checks that need the whole manifest, and the parser itself. Its top
// level is in manifest.cpp, `[component.<id>]` tables and the cross-checks of their
// dependencies and templates in manifest_components.cpp, and `[[trigger.<type>]]` tables
// and their normalisation in manifest_triggers.cpp. Not for use elsewhere.
#pragma once

#include <toml++/toml.h>

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/identifiers.hpp"
#include "app/manifest.hpp"

namespace gyre::app::manifest_parsing {

// Validation stops at the first problem, as Spin's does. Throwing that problem keeps
// each check to one line; parse_manifest catches it, so it never leaves the parser.
struct Rejection {
  ManifestError error;
};

using Fields = std::span<const std::string_view>;

// ---- Reading the TOML tree (manifest.cpp) ----

// Key paths are written as TOML would write them, so they can be searched for in the file.
std::string child(const std::string& path, std::string_view name);
std::string element(const std::string& path, size_t index);
// "a string", "an integer", ...: a node's type in error messages.
std::string type_name(const toml::node& node);
// "`a`, `b`": the fields a table allows, in an unknown-field error.
std::string backticked_list(Fields fields);

using Entry = std::pair<const toml::key*, const toml::node*>;

// toml++ tables are sorted by key, but Spin's order is the file's; keys remember where
// they were first written.
std::vector<Entry> entries(const toml::table& table);

// Reads typed values out of the TOML tree, rejecting with the node's position.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  const std::string& file() const { return file_; }

  [[noreturn]] void fail(const toml::source_region& at, std::string key,
                         std::string message) const {
    throw Rejection{
        ManifestError{file_, std::move(key), at.begin.line, at.begin.column, std::move(message)}};
  }
  [[noreturn]] void fail(const toml::node& at, std::string key, std::string message) const {
    fail(at.source(), std::move(key), std::move(message));
  }
  [[noreturn]] void wrong_type(const toml::node& at, const std::string& key,
                               std::string_view expected) const {
    fail(at, key, "expected " + std::string(expected) + ", found " + type_name(at));
  }

  std::string str(const toml::node& node, const std::string& key) const {
    if (const auto* v = node.as_string()) return v->get();
    wrong_type(node, key, "a string");
  }
  bool boolean(const toml::node& node, const std::string& key) const {
    if (const auto* v = node.as_boolean()) return v->get();
    wrong_type(node, key, "a boolean");
  }
  const toml::table& table(const toml::node& node, const std::string& key) const {
    if (const auto* t = node.as_table()) return *t;
    wrong_type(node, key, "a table");
  }
  const toml::array& array(const toml::node& node, const std::string& key) const {
    if (const auto* a = node.as_array()) return *a;
    wrong_type(node, key, "an array");
  }
  std::vector<std::string> strings(const toml::node& node, const std::string& key) const {
    const toml::array& items = array(node, key);
    std::vector<std::string> out;
    for (size_t i = 0; i < items.size(); ++i)
      out.push_back(str(items[i], element(key, i)));
    return out;
  }
  // A table whose values are all strings, in file order.
  OrderedMap<std::string> string_table(const toml::node& node, const std::string& key) const {
    OrderedMap<std::string> out;
    for (const auto& [k, v] : entries(table(node, key)))
      out.insert(std::string(k->str()), str(*v, child(key, k->str())));
    return out;
  }

  void deny_unknown(const toml::table& table, const std::string& path,
                    std::initializer_list<std::string_view> allowed) const {
    deny_unknown(table, path, Fields(allowed.begin(), allowed.size()));
  }
  void deny_unknown(const toml::table& table, const std::string& path, Fields allowed) const {
    for (const auto& [k, v] : entries(table)) {
      if (std::find(allowed.begin(), allowed.end(), k->str()) != allowed.end()) continue;
      fail(k->source(), child(path, k->str()),
           "unknown field `" + std::string(k->str()) + "`, expected " +
               (allowed.size() == 1 ? "" : "one of ") + backticked_list(allowed));
    }
  }

  const toml::node& required(const toml::table& table, const std::string& path,
                             std::string_view field) const {
    if (const toml::node* node = table.get(field)) return *node;
    fail(table.source(), path, "missing field `" + std::string(field) + "`");
  }

  std::optional<std::string> optional_str(const toml::table& table, const std::string& path,
                                          std::string_view field) const {
    if (const toml::node* node = table.get(field)) return str(*node, child(path, field));
    return std::nullopt;
  }

 private:
  std::string file_;
};

// ---- What the parser records ----

// Where a component reference was written, for errors found once all components are known.
struct ComponentRef {
  std::string id;
  std::string key;
  const toml::node* node = nullptr;
};

// A trigger's `component` (or an entry of its `components`) before normalisation: the id
// of a declared component, or an inline component that still needs one.
struct ComponentSpec {
  std::optional<std::string> reference;
  std::optional<Component> inline_component;
  std::string key;
  const toml::node* node = nullptr;
};

struct PendingTrigger {
  std::string type;
  std::string id;
  std::optional<ComponentSpec> component;
  OrderedMap<std::vector<ComponentSpec>> components;
  size_t index = 0;  // into the typed trigger list of its type
};

// Checks that need the whole manifest, recorded with their positions while parsing.
struct PendingTemplate {
  std::string text;
  std::string key;
  const toml::node* node = nullptr;
};
struct PendingDependency {
  std::string component_id;  // the depending component
  std::string name;          // the dependency's key
  std::string key;
  const toml::node* node = nullptr;
  std::optional<ComponentRef> app_component;  // { component = "id" } before resolution
  std::optional<DependencyPackageName> package_name;
};

// ---- The parser ----

// Reads one manifest: each section is checked as it is read, in file order; then ids are
// normalised as Spin normalises them and the checks that need every section run.
class Parser {
 public:
  explicit Parser(std::string file) : r_(std::move(file)) {}

  Manifest parse(const toml::table& root);

 private:
  // The top level: manifest.cpp.
  void check_version(const toml::table& root);
  std::vector<TargetEnvironment> parse_targets(const toml::node& node, const std::string& key);
  void check_tool(const toml::node& node, const std::string& key);
  Application parse_application(const toml::node& node);
  OrderedMap<Variable> parse_variables(const toml::node& node);

  // `[component.<id>]` tables, and the checks that need all of them: manifest_components.cpp.
  void parse_components(const toml::node& node, Manifest& m);
  ComponentSource parse_source(const toml::node& node, const std::string& key);
  void check_digest(const toml::node& node, const std::string& key, const std::string& digest);
  std::vector<FileMount> parse_files(const toml::node& node, const std::string& key);
  std::vector<std::string> parse_labels(const toml::node& node, const std::string& key);
  BuildConfig parse_build(const toml::node& node, const std::string& key);
  Dependency parse_dependency(const toml::node& node, PendingDependency& pending);
  OrderedMap<Dependency> parse_dependencies(const toml::node& node, const std::string& key,
                                            const std::string& component_id);
  Component parse_component(const toml::node& node, const std::string& path, const std::string& id);
  void resolve_dependencies(Manifest& m);
  void check_acceptable_dependency(const Component& c, const ComponentRef& ref,
                                   const std::string& depender);
  void check_disjoint_dependencies();
  static std::string compatible_version(const std::string& version);
  void check_templates(const Manifest& m);

  // `[[trigger.<type>]]` tables and their normalisation: manifest_triggers.cpp.
  ComponentSpec parse_component_spec(const toml::node& node, const std::string& key);
  HttpTrigger parse_http(const toml::table& t, const std::string& key);
  RedisTrigger parse_redis(const toml::table& t, const std::string& key);
  OtherTrigger parse_other(const toml::table& t, const std::string& type);
  void parse_triggers(const toml::node& node, Manifest& m);
  void normalize_trigger_ids();
  std::vector<std::string> unique_types() const;
  void normalize_inline_components(Manifest& m);
  void set_typed_trigger(const PendingTrigger& t, Manifest& m);
  void check_trigger_components(const Manifest& m);

  struct InlineDependencies {
    const toml::node* node;
    size_t begin;
    size_t end;
  };

  Reader r_;
  std::vector<PendingTrigger> triggers_;
  std::vector<PendingTemplate> templates_;
  std::vector<PendingDependency> dependencies_;
  std::vector<InlineDependencies> inline_dependency_ranges_;
};

}  // namespace gyre::app::manifest_parsing
