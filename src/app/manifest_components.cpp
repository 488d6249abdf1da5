// The manifest parser's `[component.<id>]` tables (app/manifest_parts.hpp): sources,
// files, labels, build settings and dependencies, and the checks that need every
// component: dependencies resolved and validated, variable templates checked.
#include <string_view>
#include <utility>
#include <variant>

#include "app/identifiers.hpp"
#include "app/manifest_parts.hpp"
#include "app/variables.hpp"

namespace gyre::app::manifest_parsing {
namespace {

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

}  // namespace

void Parser::parse_components(const toml::node& node, Manifest& m) {
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

ComponentSource Parser::parse_source(const toml::node& node, const std::string& key) {
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
    r_.fail(version, child(key, "version"),
            "invalid semantic version " + debug_quote(source.version) + " for the package version");
  }
  return source;
}

void Parser::check_digest(const toml::node& node, const std::string& key,
                          const std::string& digest) {
  if (digest.rfind("sha256:", 0) != 0) {
    r_.fail(node, key, "invalid `digest` " + debug_quote(digest) + "; must start with 'sha256:'");
  }
}

std::vector<FileMount> Parser::parse_files(const toml::node& node, const std::string& key) {
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

std::vector<std::string> Parser::parse_labels(const toml::node& node, const std::string& key) {
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

BuildConfig Parser::parse_build(const toml::node& node, const std::string& key) {
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

Dependency Parser::parse_dependency(const toml::node& node, PendingDependency& pending) {
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

OrderedMap<Dependency> Parser::parse_dependencies(const toml::node& node, const std::string& key,
                                                  const std::string& component_id) {
  OrderedMap<Dependency> out;
  for (const auto& [k, v] : entries(r_.table(node, key))) {
    const std::string name(k->str());
    PendingDependency pending{component_id, name, child(key, name), v, std::nullopt, std::nullopt};
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
Component Parser::parse_component(const toml::node& node, const std::string& path,
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

// Spin's normalize_dependency_component_refs and validate_dependencies.
void Parser::resolve_dependencies(Manifest& m) {
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

void Parser::check_acceptable_dependency(const Component& c, const ComponentRef& ref,
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
              " cannot be used as a dependency of " + depender + " because it specifies: " + list);
}

// Two dependencies on the same package must differ in interface or in
// semver-compatible version, or the composition would be ambiguous.
void Parser::check_disjoint_dependencies() {
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
std::string Parser::compatible_version(const std::string& version) {
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

void Parser::check_templates(const Manifest& m) {
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

}  // namespace gyre::app::manifest_parsing
