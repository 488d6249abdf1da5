#include "app/manifest.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <set>
#include <span>
#include <sstream>
#include <string_view>
#include <utility>

#include "app/identifiers.hpp"
#include "app/variables.hpp"

namespace gyre::app {

std::string ManifestError::describe() const {
  std::string out = file;
  if (line != 0) {
    out += ':' + std::to_string(line);
    if (column != 0) out += ':' + std::to_string(column);
  }
  out += ": ";
  if (!key.empty()) out += key + ": ";
  out += message;
  return out;
}

namespace {

// Validation stops at the first problem, as Spin's does. Throwing that problem keeps
// each check to one line; parse_manifest catches it, so it never leaves this file.
struct Rejection {
  ManifestError error;
};

using Fields = std::span<const std::string_view>;

bool is_bare_key(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// Key paths are written as TOML would write them, so they can be searched for in the file.
std::string child(const std::string& path, std::string_view name) {
  std::string segment = is_bare_key(name) ? std::string(name) : debug_quote(name);
  return path.empty() ? segment : path + '.' + segment;
}

std::string element(const std::string& path, size_t index) {
  return path + '[' + std::to_string(index) + ']';
}

std::string type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

std::string backticked_list(Fields fields) {
  std::string out;
  for (std::string_view f : fields) {
    if (!out.empty()) out += ", ";
    out += '`';
    out += f;
    out += '`';
  }
  return out;
}

using Entry = std::pair<const toml::key*, const toml::node*>;

// toml++ tables are sorted by key, but Spin's order is the file's; keys remember where
// they were first written.
std::vector<Entry> entries(const toml::table& table) {
  std::vector<Entry> out;
  for (const auto& [key, node] : table)
    out.emplace_back(&key, &node);
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.first->source().begin < b.first->source().begin;
  });
  return out;
}

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

constexpr std::string_view kComponentFields[] = {"source",
                                                 "description",
                                                 "variables",
                                                 "environment",
                                                 "files",
                                                 "exclude_files",
                                                 "allowed_http_hosts",
                                                 "allowed_outbound_hosts",
                                                 "key_value_stores",
                                                 "sqlite_databases",
                                                 "ai_models",
                                                 "targets",
                                                 "build",
                                                 "tool",
                                                 "dependencies_inherit_configuration",
                                                 "dependencies"};

class Parser {
 public:
  explicit Parser(std::string file) : r_(std::move(file)) {}

  Manifest parse(const toml::table& root) {
    Manifest m;
    m.file = r_.file();
    check_version(root);
    r_.deny_unknown(root, "",
                    {"spin_manifest_version", "application", "variables", "trigger", "component"});
    // Sections are read in file order, as Spin's deserializer does, so that of two
    // mistakes the first in the file is reported, and missing ones after all that.
    for (const auto& [k, v] : entries(root)) {
      std::string_view name = k->str();
      if (name == "application") {
        m.application = parse_application(*v);
      } else if (name == "variables") {
        m.variables = parse_variables(*v);
      } else if (name == "component") {
        parse_components(*v, m);
      } else if (name == "trigger") {
        parse_triggers(*v, m);
      }
    }
    r_.required(root, "", "application");
    r_.required(root, "", "trigger");
    normalize_trigger_ids();
    normalize_inline_components(m);
    check_trigger_components(m);
    resolve_dependencies(m);
    check_templates(m);
    return m;
  }

 private:
  void check_version(const toml::table& root) {
    std::string key = "spin_manifest_version";
    const toml::node* version = root.get(key);
    if (!version) {
      // Spin reads the version under its old name too, to recognise version 1 files.
      key = "spin_version";
      version = root.get(key);
    }
    if (!version) r_.fail(root.source(), "", "missing field `spin_manifest_version`");
    const auto* as_int = version->as_integer();
    const auto* as_str = version->as_string();
    if ((as_int && as_int->get() == 1) || (as_str && as_str->get() == "1")) {
      r_.fail(*version, key,
              "manifest version 1 is not supported; Gyre reads manifest version 2 "
              "(spin_manifest_version = 2, with [application], [[trigger.<type>]] and "
              "[component.<id>] sections)");
    }
    if (as_int && as_int->get() == 2) {
      if (key == "spin_version") {
        const toml::key* written = nullptr;
        for (const auto& [k, v] : root)
          if (k.str() == key) written = &k;
        r_.fail(written->source(), key,
                "unknown field `spin_version`; version 2 manifests use `spin_manifest_version`");
      }
      return;
    }
    if (!as_int && !as_str) {
      r_.fail(*version, key,
              "invalid manifest version: expected the integer 2, found " + type_name(*version));
    }
    std::string shown = as_int ? std::to_string(as_int->get()) : debug_quote(as_str->get());
    r_.fail(*version, key, "invalid manifest version " + shown + "; expected 2");
  }

  std::vector<TargetEnvironment> parse_targets(const toml::node& node, const std::string& key) {
    const toml::array& items = r_.array(node, key);
    std::vector<TargetEnvironment> out;
    for (size_t i = 0; i < items.size(); ++i) {
      std::string item_key = element(key, i);
      const toml::node& item = items[i];
      if (const auto* s = item.as_string()) {
        out.push_back({TargetEnvironment::Kind::kCatalogue, s->get()});
        continue;
      }
      const auto* t = item.as_table();
      if (t && t->size() == 1 && t->get("url")) {
        out.push_back(
            {TargetEnvironment::Kind::kHttp, r_.str(*t->get("url"), child(item_key, "url"))});
      } else if (t && t->size() == 1 && t->get("path")) {
        out.push_back(
            {TargetEnvironment::Kind::kFile, r_.str(*t->get("path"), child(item_key, "path"))});
      } else {
        r_.fail(item, item_key,
                "expected an environment name, { url = \"...\" } or { path = \"...\" }");
      }
    }
    return out;
  }

  // Tool and plugin settings: Spin ignores them but insists each is a table.
  void check_tool(const toml::node& node, const std::string& key) {
    for (const auto& [k, v] : entries(r_.table(node, key)))
      r_.table(*v, child(key, k->str()));
  }

  Application parse_application(const toml::node& node) {
    const std::string path = "application";
    const toml::table& t = r_.table(node, path);
    r_.deny_unknown(t, path,
                    {"name", "version", "description", "authors", "targets", "trigger", "tool"});
    Application app;
    app.name = r_.str(r_.required(t, path, "name"), child(path, "name"));
    app.version = r_.optional_str(t, path, "version").value_or("");
    app.description = r_.optional_str(t, path, "description").value_or("");
    if (const auto* n = t.get("authors")) app.authors = r_.strings(*n, child(path, "authors"));
    if (const auto* n = t.get("targets")) app.targets = parse_targets(*n, child(path, "targets"));
    if (const auto* n = t.get("tool")) check_tool(*n, child(path, "tool"));
    if (const auto* n = t.get("trigger")) {
      const std::string triggers_key = child(path, "trigger");
      for (const auto& [k, v] : entries(r_.table(*n, triggers_key))) {
        const std::string key = child(triggers_key, k->str());
        const toml::table& settings = r_.table(*v, key);
        if (k->str() == "http") {
          r_.deny_unknown(settings, key, {"base"});
          if (const auto* base = settings.get("base")) {
            app.http_base = r_.str(*base, child(key, "base"));
            if (app.http_base != "/") {
              r_.fail(*base, child(key, "base"),
                      "the deprecated trigger 'base' field is no longer supported: prepend the "
                      "base to each [[trigger.http]]'s 'route' instead");
            }
          }
        } else if (k->str() == "redis") {
          r_.deny_unknown(settings, key, {"address"});
          app.redis_address = r_.str(r_.required(settings, key, "address"), child(key, "address"));
        } else {
          std::ostringstream text;
          text << toml::toml_formatter(settings);
          app.other_trigger_settings.insert(std::string(k->str()), text.str());
        }
      }
    }
    return app;
  }

  OrderedMap<Variable> parse_variables(const toml::node& node) {
    const std::string path = "variables";
    OrderedMap<Variable> out;
    for (const auto& [k, v] : entries(r_.table(node, path))) {
      const std::string name(k->str());
      const std::string key = child(path, name);
      if (auto why = lower_snake_id_error(name)) {
        r_.fail(k->source(), key, "invalid variable name " + debug_quote(name) + ": " + *why);
      }
      const toml::table& t = r_.table(*v, key);
      r_.deny_unknown(t, key, {"description", "required", "default", "secret"});
      Variable var;
      var.description = r_.optional_str(t, key, "description");
      var.default_value = r_.optional_str(t, key, "default");
      if (const auto* n = t.get("required")) var.required = r_.boolean(*n, child(key, "required"));
      if (const auto* n = t.get("secret")) var.secret = r_.boolean(*n, child(key, "secret"));
      if (var.required == var.default_value.has_value()) {
        r_.fail(t.source(), key,
                var.required ? "a variable must be `required` OR have a `default`, not both"
                             : "a variable must be `required` OR have a `default`");
      }
      out.insert(name, std::move(var));
    }
    return out;
  }

  void parse_components(const toml::node& node, Manifest& m) {
    const std::string path = "component";
    for (const auto& [k, v] : entries(r_.table(node, path))) {
      const std::string id(k->str());
      const std::string key = child(path, id);
      if (auto why = kebab_id_error(id)) {
        r_.fail(k->source(), key, "invalid component id " + debug_quote(id) + ": " + *why);
      }
      // TOML itself forbids defining a table twice, so ids cannot repeat here; inline
      // components get fresh ids during normalisation.
      m.components.insert(id, parse_component(*v, key, id));
    }
  }

  ComponentSource parse_source(const toml::node& node, const std::string& key) {
    if (const auto* s = node.as_string()) return LocalSource{s->get()};
    const auto* t = node.as_table();
    if (!t) {
      r_.wrong_type(node, key,
                    "a file path, { url, digest } or { registry, package, version } table");
    }
    if (t->get("url") || t->get("digest")) {
      r_.deny_unknown(*t, key, {"url", "digest"});
      RemoteSource source;
      source.url = r_.str(r_.required(*t, key, "url"), child(key, "url"));
      source.digest = r_.str(r_.required(*t, key, "digest"), child(key, "digest"));
      check_digest(*t->get("digest"), child(key, "digest"), source.digest);
      return source;
    }
    r_.deny_unknown(*t, key, {"registry", "package", "version"});
    RegistrySource source;
    source.registry = r_.optional_str(*t, key, "registry");
    const toml::node& package = r_.required(*t, key, "package");
    source.package = r_.str(package, child(key, "package"));
    DependencyPackageName parsed;
    if (auto why = parse_dependency_package_name(source.package, parsed);
        why || !parsed.interface.empty() || !parsed.version.empty()) {
      r_.fail(package, child(key, "package"),
              why.value_or("invalid package name " + debug_quote(source.package) +
                           ": expected namespace:name"));
    }
    const toml::node& version = r_.required(*t, key, "version");
    source.version = r_.str(version, child(key, "version"));
    if (!is_semver(source.version)) {
      r_.fail(
          version, child(key, "version"),
          "invalid semantic version " + debug_quote(source.version) + " for the package version");
    }
    return source;
  }

  void check_digest(const toml::node& node, const std::string& key, const std::string& digest) {
    if (digest.rfind("sha256:", 0) != 0) {
      r_.fail(node, key, "invalid `digest` " + debug_quote(digest) + "; must start with 'sha256:'");
    }
  }

  std::vector<FileMount> parse_files(const toml::node& node, const std::string& key) {
    const toml::array& items = r_.array(node, key);
    std::vector<FileMount> out;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string item_key = element(key, i);
      const toml::node& item = items[i];
      if (const auto* s = item.as_string()) {
        out.push_back(FilePattern{s->get()});
        continue;
      }
      const auto* t = item.as_table();
      if (!t) r_.fail(item, item_key, "expected a string or a table with source and destination");
      r_.deny_unknown(*t, item_key, {"source", "destination"});
      FilePlacement placement;
      placement.source = r_.str(r_.required(*t, item_key, "source"), child(item_key, "source"));
      placement.destination =
          r_.str(r_.required(*t, item_key, "destination"), child(item_key, "destination"));
      out.push_back(std::move(placement));
    }
    return out;
  }

  std::vector<std::string> parse_labels(const toml::node& node, const std::string& key) {
    std::vector<std::string> labels = r_.strings(node, key);
    const toml::array& items = *node.as_array();
    for (size_t i = 0; i < labels.size(); ++i) {
      if (!is_kebab_or_snake_id(labels[i])) {
        r_.fail(items[i], element(key, i),
                "invalid label " + debug_quote(labels[i]) + ": expected kebab-case or snake_case");
      }
    }
    return labels;
  }

  BuildConfig parse_build(const toml::node& node, const std::string& key) {
    const toml::table& t = r_.table(node, key);
    r_.deny_unknown(t, key, {"command", "workdir", "watch"});
    BuildConfig build;
    const toml::node& command = r_.required(t, key, "command");
    const std::string command_key = child(key, "command");
    if (const auto* s = command.as_string()) {
      build.commands.push_back(s->get());
    } else if (command.is_array()) {
      build.commands = r_.strings(command, command_key);
    } else {
      r_.wrong_type(command, command_key, "a string or an array of strings");
    }
    build.workdir = r_.optional_str(t, key, "workdir");
    if (const auto* n = t.get("watch")) build.watch = r_.strings(*n, child(key, "watch"));
    return build;
  }

  Dependency parse_dependency(const toml::node& node, PendingDependency& pending) {
    const std::string& key = pending.key;
    Dependency dep;
    if (const auto* s = node.as_string()) {
      dep.kind = Dependency::Kind::kVersion;
      dep.version = s->get();
      return dep;
    }
    const auto* t = node.as_table();
    if (!t) {
      r_.wrong_type(node, key, "a version requirement string or a dependency table");
    }
    if (t->get("component")) {
      r_.deny_unknown(*t, key, {"component", "export"});
      const toml::node& id_node = *t->get("component");
      const std::string id_key = child(key, "component");
      std::string id = r_.str(id_node, id_key);
      if (auto why = kebab_id_error(id)) {
        r_.fail(id_node, id_key, "invalid component id " + debug_quote(id) + ": " + *why);
      }
      pending.app_component = ComponentRef{id, id_key, &id_node};
    } else if (t->get("path")) {
      r_.deny_unknown(*t, key, {"path", "export"});
      dep.kind = Dependency::Kind::kLocal;
      dep.path = r_.str(*t->get("path"), child(key, "path"));
    } else if (t->get("url") || t->get("digest")) {
      r_.deny_unknown(*t, key, {"url", "digest", "export"});
      dep.kind = Dependency::Kind::kHttp;
      dep.url = r_.str(r_.required(*t, key, "url"), child(key, "url"));
      dep.digest = r_.str(r_.required(*t, key, "digest"), child(key, "digest"));
      check_digest(*t->get("digest"), child(key, "digest"), dep.digest);
    } else if (t->get("version")) {
      r_.deny_unknown(*t, key, {"version", "registry", "package", "export"});
      dep.kind = Dependency::Kind::kPackage;
      dep.version = r_.str(*t->get("version"), child(key, "version"));
      dep.registry = r_.optional_str(*t, key, "registry");
      dep.package = r_.optional_str(*t, key, "package");
    } else {
      r_.fail(*t, key,
              "expected one of { version, registry?, package?, export? }, { path, export? }, "
              "{ url, digest, export? } or { component, export? }");
    }
    dep.export_name = r_.optional_str(*t, key, "export");
    return dep;
  }

  OrderedMap<Dependency> parse_dependencies(const toml::node& node, const std::string& key,
                                            const std::string& component_id) {
    OrderedMap<Dependency> out;
    for (const auto& [k, v] : entries(r_.table(node, key))) {
      const std::string name(k->str());
      PendingDependency pending{component_id, name,        child(key, name), v,
                                std::nullopt, std::nullopt};
      if (name.find_first_of(":/") != std::string::npos) {
        DependencyPackageName parsed;
        if (auto why = parse_dependency_package_name(name, parsed)) {
          r_.fail(k->source(), pending.key, "invalid dependency name: " + *why);
        }
        pending.package_name = parsed;
      } else if (auto why = kebab_id_error(name)) {
        r_.fail(k->source(), pending.key,
                "invalid dependency name " + debug_quote(name) + ": " + *why);
      }
      out.insert(name, parse_dependency(*v, pending));
      dependencies_.push_back(std::move(pending));
    }
    return out;
  }

  // `id` is the component's id when declared, empty when inline (not yet known).
  Component parse_component(const toml::node& node, const std::string& path,
                            const std::string& id) {
    const toml::table& t = r_.table(node, path);
    r_.deny_unknown(t, path, kComponentFields);
    Component c;
    c.source = parse_source(r_.required(t, path, "source"), child(path, "source"));
    c.description = r_.optional_str(t, path, "description").value_or("");
    if (const auto* n = t.get("variables")) {
      const std::string key = child(path, "variables");
      for (const auto& [k, v] : entries(r_.table(*n, key))) {
        const std::string name(k->str());
        const std::string var_key = child(key, name);
        if (auto why = lower_snake_id_error(name)) {
          r_.fail(k->source(), var_key, "invalid variable name " + debug_quote(name) + ": " + *why);
        }
        std::string value = r_.str(*v, var_key);
        templates_.push_back({value, var_key, v});
        c.variables.insert(name, std::move(value));
      }
    }
    if (const auto* n = t.get("environment")) {
      c.environment = r_.string_table(*n, child(path, "environment"));
    }
    if (const auto* n = t.get("files")) c.files = parse_files(*n, child(path, "files"));
    if (const auto* n = t.get("exclude_files")) {
      c.exclude_files = r_.strings(*n, child(path, "exclude_files"));
    }
    if (const auto* n = t.get("allowed_http_hosts")) {
      c.allowed_http_hosts = r_.strings(*n, child(path, "allowed_http_hosts"));
    }
    if (const auto* n = t.get("allowed_outbound_hosts")) {
      c.allowed_outbound_hosts = r_.strings(*n, child(path, "allowed_outbound_hosts"));
    }
    if (const auto* n = t.get("key_value_stores")) {
      c.key_value_stores = parse_labels(*n, child(path, "key_value_stores"));
    }
    if (const auto* n = t.get("sqlite_databases")) {
      c.sqlite_databases = parse_labels(*n, child(path, "sqlite_databases"));
    }
    if (const auto* n = t.get("ai_models")) c.ai_models = r_.strings(*n, child(path, "ai_models"));
    if (const auto* n = t.get("targets")) c.targets = parse_targets(*n, child(path, "targets"));
    if (const auto* n = t.get("build")) c.build = parse_build(*n, child(path, "build"));
    if (const auto* n = t.get("tool")) check_tool(*n, child(path, "tool"));
    if (const auto* n = t.get("dependencies_inherit_configuration")) {
      c.dependencies_inherit_configuration =
          r_.boolean(*n, child(path, "dependencies_inherit_configuration"));
    }
    if (const auto* n = t.get("dependencies")) {
      c.dependencies = parse_dependencies(*n, child(path, "dependencies"), id);
    }
    return c;
  }

  ComponentSpec parse_component_spec(const toml::node& node, const std::string& key) {
    ComponentSpec spec;
    spec.key = key;
    spec.node = &node;
    if (const auto* s = node.as_string()) {
      if (auto why = kebab_id_error(s->get())) {
        r_.fail(node, key, "invalid component id " + debug_quote(s->get()) + ": " + *why);
      }
      spec.reference = s->get();
    } else if (node.is_table()) {
      size_t first_dependency = dependencies_.size();
      spec.inline_component = parse_component(node, key, "");
      // Remember which dependencies belong to this component until it has an id.
      inline_dependency_ranges_.push_back({&node, first_dependency, dependencies_.size()});
    } else {
      r_.wrong_type(node, key, "a component id or an inline component table");
    }
    return spec;
  }

  HttpTrigger parse_http(const toml::table& t, const std::string& key) {
    r_.deny_unknown(t, key,
                    {"id", "component", "components", "route", "executor", "static_response"});
    if (const auto* n = t.get("components"); n && n->is_table() && !n->as_table()->empty()) {
      r_.fail(t.get("components")->source(), child(key, "components"),
              "unknown field `components`: HTTP triggers take a single `component`");
    }
    HttpTrigger http;
    const toml::node& route = r_.required(t, key, "route");
    const std::string route_key = child(key, "route");
    if (const auto* s = route.as_string()) {
      http.route.pattern = s->get();
    } else if (const auto* rt = route.as_table()) {
      r_.deny_unknown(*rt, route_key, {"private"});
      const toml::node& is_private = r_.required(*rt, route_key, "private");
      if (!r_.boolean(is_private, child(route_key, "private"))) {
        r_.fail(is_private, child(route_key, "private"),
                "route must be a string pattern or '{ private = true }'");
      }
      http.route.is_private = true;
    } else {
      r_.fail(route, route_key,
              "expected a route string or { private = true }, found " + type_name(route));
    }
    if (const auto* n = t.get("executor")) {
      const std::string exec_key = child(key, "executor");
      const toml::table& e = r_.table(*n, exec_key);
      const toml::node& type_node = r_.required(e, exec_key, "type");
      const std::string type = r_.str(type_node, child(exec_key, "type"));
      // Spin's executor is a tagged enum: the unit variants ignore extra keys, Wagi's
      // settings struct does not.
      if (type == "spin" || type == "http") {
        http.executor.type = HttpExecutor::Type::kSpin;
      } else if (type == "wasip3-unstable") {
        http.executor.type = HttpExecutor::Type::kWasip3Unstable;
      } else if (type == "wagi") {
        r_.deny_unknown(e, exec_key, {"type", "argv", "entrypoint"});
        http.executor.type = HttpExecutor::Type::kWagi;
        if (auto argv = r_.optional_str(e, exec_key, "argv")) http.executor.argv = *argv;
        if (auto ep = r_.optional_str(e, exec_key, "entrypoint")) http.executor.entrypoint = *ep;
      } else {
        r_.fail(type_node, child(exec_key, "type"),
                "unknown variant `" + type +
                    "`, expected one of `http`, `spin`, `wagi`, `wasip3-unstable`");
      }
    }
    if (const auto* n = t.get("static_response")) {
      const std::string sr_key = child(key, "static_response");
      const toml::table& sr = r_.table(*n, sr_key);
      StaticResponse response;
      if (const auto* code = sr.get("status_code")) {
        const auto* i = code->as_integer();
        if (!i) r_.wrong_type(*code, child(sr_key, "status_code"), "an integer");
        if (i->get() < 0 || i->get() > 65535) {
          r_.fail(*code, child(sr_key, "status_code"),
                  "invalid value: integer `" + std::to_string(i->get()) +
                      "`, expected a status code from 0 to 65535");
        }
        response.status_code = static_cast<uint16_t>(i->get());
      }
      if (const auto* h = sr.get("headers")) {
        response.headers = r_.string_table(*h, child(sr_key, "headers"));
      }
      response.body = r_.optional_str(sr, sr_key, "body");
      http.static_response = std::move(response);
    }
    const bool has_component = t.get("component") != nullptr;
    if (has_component == http.static_response.has_value()) {
      r_.fail(t.source(), key,
              has_component ? "a trigger must specify either `component` or `static_response`, "
                              "and this one has both"
                            : "a trigger must specify either `component` or `static_response`, "
                              "and this one has neither");
    }
    return http;
  }

  RedisTrigger parse_redis(const toml::table& t, const std::string& key) {
    r_.deny_unknown(t, key, {"id", "component", "components", "channel", "address"});
    if (const auto* n = t.get("components"); n && n->is_table() && !n->as_table()->empty()) {
      r_.fail(n->source(), child(key, "components"),
              "unknown field `components`: Redis triggers take a single `component`");
    }
    r_.required(t, key, "component");
    RedisTrigger redis;
    redis.channel = r_.str(r_.required(t, key, "channel"), child(key, "channel"));
    redis.address = r_.optional_str(t, key, "address");
    return redis;
  }

  OtherTrigger parse_other(const toml::table& t, const std::string& type) {
    OtherTrigger other;
    other.type = type;
    toml::table rest = t;
    rest.erase("id");
    rest.erase("component");
    rest.erase("components");
    std::ostringstream text;
    text << toml::toml_formatter(rest);
    other.config_toml = text.str();
    return other;
  }

  void parse_triggers(const toml::node& node, Manifest& m) {
    const std::string path = "trigger";
    for (const auto& [k, v] : entries(r_.table(node, path))) {
      const std::string type(k->str());
      const std::string type_key = child(path, type);
      m.trigger_types.push_back(type);
      const toml::array& list = r_.array(*v, type_key);
      for (size_t i = 0; i < list.size(); ++i) {
        const std::string key = element(type_key, i);
        const toml::table& t = r_.table(list[i], key);
        PendingTrigger pending;
        pending.type = type;
        if (const auto* id = t.get("id")) pending.id = r_.str(*id, child(key, "id"));
        if (const auto* c = t.get("component")) {
          pending.component = parse_component_spec(*c, child(key, "component"));
        }
        if (const auto* cs = t.get("components")) {
          const std::string cs_key = child(key, "components");
          for (const auto& [role, specs] : entries(r_.table(*cs, cs_key))) {
            const std::string role_key = child(cs_key, role->str());
            std::vector<ComponentSpec> list_specs;
            // One spec or a list of them; an inline component is a table, never a list.
            if (const auto* a = specs->as_array()) {
              for (size_t j = 0; j < a->size(); ++j)
                list_specs.push_back(parse_component_spec((*a)[j], element(role_key, j)));
            } else {
              list_specs.push_back(parse_component_spec(*specs, role_key));
            }
            pending.components.insert(std::string(role->str()), std::move(list_specs));
          }
        }
        if (type == "http") {
          pending.index = m.http_triggers.size();
          m.http_triggers.push_back(parse_http(t, key));
        } else if (type == "redis") {
          pending.index = m.redis_triggers.size();
          m.redis_triggers.push_back(parse_redis(t, key));
        } else {
          pending.index = m.other_triggers.size();
          m.other_triggers.push_back(parse_other(t, type));
        }
        triggers_.push_back(std::move(pending));
      }
    }
  }

  // Spin's normalize_trigger_ids: a trigger without an id is named after its component
  // ("<component>-<type>-trigger") if that is free, else "<type>-trigger<n>".
  void normalize_trigger_ids() {
    std::set<std::string> taken;
    for (const PendingTrigger& t : triggers_)
      taken.insert(t.id);
    for (const std::string& type : unique_types()) {
      int counter = 1;
      for (PendingTrigger& t : triggers_) {
        if (t.type != type || !t.id.empty()) continue;
        if (t.component && t.component->reference) {
          std::string candidate = *t.component->reference + "-" + type + "-trigger";
          if (taken.insert(candidate).second) {
            t.id = candidate;
            continue;
          }
        }
        while (true) {
          std::string candidate = type + "-trigger" + std::to_string(counter);
          if (taken.insert(candidate).second) {
            t.id = candidate;
            break;
          }
          ++counter;
        }
      }
    }
  }

  std::vector<std::string> unique_types() const {
    std::vector<std::string> types;
    for (const PendingTrigger& t : triggers_)
      if (std::find(types.begin(), types.end(), t.type) == types.end()) types.push_back(t.type);
    return types;
  }

  // Spin's normalize_inline_components: an inline component becomes
  // "<trigger-id>-component" when that is a free, valid id and the trigger has only one
  // component, else "inline-component<n>"; it joins the components after the declared ones.
  void normalize_inline_components(Manifest& m) {
    // triggers_ is grouped by type in file order, which is the order Spin walks them in.
    for (PendingTrigger& t : triggers_) {
      std::vector<ComponentSpec*> specs;
      if (t.component) specs.push_back(&*t.component);
      for (auto& [role, list] : t.components)
        for (ComponentSpec& s : list)
          specs.push_back(&s);
      const bool multiple = specs.size() > 1;
      int counter = 1;
      for (ComponentSpec* spec : specs) {
        if (!spec->inline_component) continue;
        std::string id = t.id + "-component";
        if (multiple || kebab_id_error(id) || m.components.contains(id)) {
          while (m.components.contains("inline-component" + std::to_string(counter)))
            ++counter;
          id = "inline-component" + std::to_string(counter);
        }
        for (const InlineDependencies& range : inline_dependency_ranges_) {
          if (range.node != spec->node) continue;
          for (size_t i = range.begin; i < range.end; ++i)
            dependencies_[i].component_id = id;
        }
        m.components.insert(id, std::move(*spec->inline_component));
        spec->inline_component.reset();
        spec->reference = id;
      }
      set_typed_trigger(t, m);
    }
  }

  // The typed trigger takes the normalised id and component references.
  void set_typed_trigger(const PendingTrigger& t, Manifest& m) {
    if (t.type == "http") {
      HttpTrigger& http = m.http_triggers[t.index];
      http.id = t.id;
      if (t.component) http.component = t.component->reference;
    } else if (t.type == "redis") {
      RedisTrigger& redis = m.redis_triggers[t.index];
      redis.id = t.id;
      redis.component = *t.component->reference;
    } else {
      OtherTrigger& other = m.other_triggers[t.index];
      other.id = t.id;
      if (t.component) other.component = t.component->reference;
      for (const auto& [role, list] : t.components) {
        std::vector<std::string> ids;
        for (const ComponentSpec& s : list)
          ids.push_back(*s.reference);
        other.components.insert(role, std::move(ids));
      }
    }
  }

  void check_trigger_components(const Manifest& m) {
    auto check = [&](const ComponentSpec& spec, const PendingTrigger& t) {
      if (m.components.contains(*spec.reference)) return;
      r_.fail(*spec.node, spec.key,
              "no component with id " + debug_quote(*spec.reference) + " (trigger " +
                  debug_quote(t.id) + " names it, but there is no [component." + *spec.reference +
                  "] table)");
    };
    for (const PendingTrigger& t : triggers_) {
      if (t.component) check(*t.component, t);
      for (const auto& [role, list] : t.components)
        for (const ComponentSpec& s : list)
          check(s, t);
    }
  }

  // Spin's normalize_dependency_component_refs and validate_dependencies.
  void resolve_dependencies(Manifest& m) {
    for (PendingDependency& pending : dependencies_) {
      Component& depender = *m.components.find(pending.component_id);
      Dependency& dep = *depender.dependencies.find(pending.name);
      if (pending.app_component) {
        const ComponentRef& ref = *pending.app_component;
        const Component* target = m.components.find(ref.id);
        if (!target) {
          r_.fail(*ref.node, ref.key,
                  "dependency ID " + ref.id + " does not exist: there is no [component." + ref.id +
                      "] table");
        }
        check_acceptable_dependency(*target, ref, pending.component_id);
        std::optional<std::string> export_name = dep.export_name;
        dep = Dependency{};
        dep.export_name = std::move(export_name);
        if (const auto* local = std::get_if<LocalSource>(&target->source)) {
          dep.kind = Dependency::Kind::kLocal;
          dep.path = local->path;
        } else if (const auto* remote = std::get_if<RemoteSource>(&target->source)) {
          dep.kind = Dependency::Kind::kHttp;
          dep.url = remote->url;
          dep.digest = remote->digest;
        } else {
          const auto& registry = std::get<RegistrySource>(target->source);
          dep.kind = Dependency::Kind::kPackage;
          dep.version = registry.version;
          dep.registry = registry.registry;
          dep.package = registry.package;
        }
      }
    }
    for (const PendingDependency& pending : dependencies_) {
      const Dependency& dep =
          *m.components.find(pending.component_id)->dependencies.find(pending.name);
      if (!pending.package_name) {
        bool names_package = dep.kind != Dependency::Kind::kVersion &&
                             !(dep.kind == Dependency::Kind::kPackage && !dep.package);
        if (!names_package) {
          r_.fail(*pending.node, pending.key,
                  "dependency " + debug_quote(pending.name) +
                      " must specify a package name: a plain name says nothing about which "
                      "package to fetch");
        }
      } else if (pending.package_name->interface.empty() && dep.export_name &&
                 (dep.kind == Dependency::Kind::kPackage || dep.kind == Dependency::Kind::kLocal)) {
        r_.fail(*pending.node, pending.key,
                "using an export to satisfy the package dependency " + debug_quote(pending.name) +
                    " is not currently permitted");
      }
    }
    check_disjoint_dependencies();
  }

  void check_acceptable_dependency(const Component& c, const ComponentRef& ref,
                                   const std::string& depender) {
    std::vector<std::string> surprises;
    if (!c.ai_models.empty()) surprises.push_back("ai_models");
    if (!c.allowed_http_hosts.empty()) surprises.push_back("allowed_http_hosts");
    if (!c.allowed_outbound_hosts.empty()) surprises.push_back("allowed_outbound_hosts");
    if (!c.dependencies.empty()) surprises.push_back("dependencies");
    if (!c.environment.empty()) surprises.push_back("environment");
    if (!c.files.empty()) surprises.push_back("files");
    if (!c.key_value_stores.empty()) surprises.push_back("key_value_stores");
    if (!c.sqlite_databases.empty()) surprises.push_back("sqlite_databases");
    if (!c.variables.empty()) surprises.push_back("variables");
    if (surprises.empty()) return;
    std::string list;
    for (const std::string& s : surprises)
      list += (list.empty() ? "" : ", ") + s;
    r_.fail(*ref.node, ref.key,
            "Dependencies may not have their own resources or permissions. Component " + ref.id +
                " cannot be used as a dependency of " + depender +
                " because it specifies: " + list);
  }

  // Two dependencies on the same package must differ in interface or in
  // semver-compatible version, or the composition would be ambiguous.
  void check_disjoint_dependencies() {
    for (size_t i = 0; i < dependencies_.size(); ++i) {
      for (size_t j = i + 1; j < dependencies_.size(); ++j) {
        const PendingDependency& a = dependencies_[i];
        const PendingDependency& b = dependencies_[j];
        if (a.component_id != b.component_id || !a.package_name || !b.package_name) continue;
        if (a.package_name->package != b.package_name->package) continue;
        const std::string& va = a.package_name->version;
        const std::string& vb = b.package_name->version;
        if (!va.empty() && !vb.empty() && compatible_version(va) != compatible_version(vb)) {
          continue;
        }
        const std::string& ia = a.package_name->interface;
        const std::string& ib = b.package_name->interface;
        if (!ia.empty() && !ib.empty() && ia != ib) continue;
        r_.fail(*b.node, b.key,
                "dependency " + debug_quote(b.name) + " conflicts with " + debug_quote(a.name));
      }
    }
  }

  // The version that all semver-compatible versions share: build metadata dropped, and
  // then "1.2.3" -> "1.0.0", "0.2.3" -> "0.2.0"; prereleases and 0.0.x stand alone.
  static std::string compatible_version(const std::string& version) {
    std::string v = version.substr(0, version.find('+'));
    if (v.find('-') != std::string::npos) return v;
    size_t dot1 = v.find('.');
    size_t dot2 = v.find('.', dot1 + 1);
    std::string major = v.substr(0, dot1);
    std::string minor = v.substr(dot1 + 1, dot2 - dot1 - 1);
    if (major != "0") return major + ".0.0";
    if (minor != "0") return "0." + minor + ".0";
    return v;
  }

  void check_templates(const Manifest& m) {
    for (const PendingTemplate& p : templates_) {
      auto parsed = parse_template(p.text);
      if (!parsed) r_.fail(*p.node, p.key, "invalid variable template: " + parsed.error().message);
      for (const TemplatePart& part : *parsed) {
        if (part.kind == TemplatePart::Kind::kVariable && !m.variables.contains(part.text)) {
          r_.fail(*p.node, p.key,
                  "invalid variable template: unknown variable " + debug_quote(part.text) +
                      " (declare it under [variables])");
        }
      }
    }
  }

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

// toml++ says "cannot redefine existing table 'component.a'"; for a component that is
// a duplicate id, worth saying in Spin's words and with the key.
ManifestError from_parse_error(const toml::parse_error& e, const std::string& file) {
  ManifestError error{file, "", e.source().begin.line, e.source().begin.column,
                      std::string(e.description())};
  std::string_view text = e.description();
  constexpr std::string_view kRedefine = "cannot redefine existing ";
  if (size_t at = text.find(kRedefine); at != text.npos) {
    size_t open = text.find('\'', at);
    size_t close = text.rfind('\'');
    if (open != text.npos && close > open) {
      error.key = std::string(text.substr(open + 1, close - open - 1));
      if (error.key.rfind("component.", 0) == 0 &&
          error.key.find('.', std::string_view("component.").size()) == std::string::npos) {
        error.message = "duplicate component id " +
                        debug_quote(error.key.substr(std::string_view("component.").size())) +
                        ": [" + error.key + "] is defined twice";
      } else {
        error.message = "duplicate key: " + error.key + " is defined twice";
      }
    }
  }
  return error;
}

}  // namespace

Result<Manifest, ManifestError> parse_manifest(std::string_view toml_text, std::string file_name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, std::string_view(file_name));
  } catch (const toml::parse_error& e) {
    return from_parse_error(e, file_name);
  }
  try {
    return Parser(file_name).parse(root);
  } catch (Rejection& rejection) {
    return std::move(rejection.error);
  }
}

Result<Manifest, ManifestError> load_manifest(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ManifestError{path.string(), "", 0, 0, "cannot open the manifest file"};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return ManifestError{path.string(), "", 0, 0, "cannot read the manifest file"};
  return parse_manifest(text.str(), path.string());
}

}  // namespace gyre::app
