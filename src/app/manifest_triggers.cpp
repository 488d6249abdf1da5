// The manifest parser's `[[trigger.<type>]]` tables (app/manifest_parts.hpp): HTTP, Redis
// and other triggers, their component references and inline components, and Spin's
// normalisation of trigger ids and inline component ids.
#include <algorithm>
#include <set>
#include <sstream>
#include <utility>

#include "app/identifiers.hpp"
#include "app/manifest_parts.hpp"

namespace gyre::app::manifest_parsing {

ComponentSpec Parser::parse_component_spec(const toml::node& node, const std::string& key) {
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

HttpTrigger Parser::parse_http(const toml::table& t, const std::string& key) {
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

RedisTrigger Parser::parse_redis(const toml::table& t, const std::string& key) {
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

OtherTrigger Parser::parse_other(const toml::table& t, const std::string& type) {
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

void Parser::parse_triggers(const toml::node& node, Manifest& m) {
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
void Parser::normalize_trigger_ids() {
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

std::vector<std::string> Parser::unique_types() const {
  std::vector<std::string> types;
  for (const PendingTrigger& t : triggers_)
    if (std::find(types.begin(), types.end(), t.type) == types.end()) types.push_back(t.type);
  return types;
}

// Spin's normalize_inline_components: an inline component becomes
// "<trigger-id>-component" when that is a free, valid id and the trigger has only one
// component, else "inline-component<n>"; it joins the components after the declared ones.
void Parser::normalize_inline_components(Manifest& m) {
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
void Parser::set_typed_trigger(const PendingTrigger& t, Manifest& m) {
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

void Parser::check_trigger_components(const Manifest& m) {
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

}  // namespace gyre::app::manifest_parsing
