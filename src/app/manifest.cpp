// The manifest parser's top level (app/manifest.hpp): the entry points, the version,
// `[application]` and `[variables]`, and reading the TOML tree in file order.
#include "app/manifest.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "app/identifiers.hpp"
#include "app/manifest_parts.hpp"

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

namespace manifest_parsing {
namespace {

bool is_bare_key(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

}  // namespace

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

std::vector<Entry> entries(const toml::table& table) {
  std::vector<Entry> out;
  for (const auto& [key, node] : table)
    out.emplace_back(&key, &node);
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.first->source().begin < b.first->source().begin;
  });
  return out;
}

Manifest Parser::parse(const toml::table& root) {
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

void Parser::check_version(const toml::table& root) {
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

std::vector<TargetEnvironment> Parser::parse_targets(const toml::node& node,
                                                     const std::string& key) {
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
void Parser::check_tool(const toml::node& node, const std::string& key) {
  for (const auto& [k, v] : entries(r_.table(node, key)))
    r_.table(*v, child(key, k->str()));
}

Application Parser::parse_application(const toml::node& node) {
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

OrderedMap<Variable> Parser::parse_variables(const toml::node& node) {
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

}  // namespace manifest_parsing

namespace {

using namespace manifest_parsing;  // the Parser, and the Rejection it throws

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
