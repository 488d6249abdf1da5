// Variables as Spin resolves them. An application variable ([variables]) gets its value
// from a provider or else its default; a component variable ([component.x.variables]) is
// a template whose `{{ name }}` parts stand for application variables.
//
// Providers: for now only the environment, where variable `api_key` is read from
// SPIN_VARIABLE_API_KEY. The environment is a parameter, never the process's own, so
// callers decide what it holds (the process environment, a .env file merged in, ...).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "app/manifest.hpp"
#include "app/ordered_map.hpp"
#include "base/result.hpp"

namespace gyre::app {

// A piece of a template: literal text, or the name of an application variable.
struct TemplatePart {
  enum class Kind { kLiteral, kVariable };
  Kind kind = Kind::kLiteral;
  std::string text;

  bool operator==(const TemplatePart&) const = default;
};
using Template = std::vector<TemplatePart>;

struct TemplateError {
  std::string message;  // in Spin's words, e.g. "unmatched '{{' in template"
};

// Spin's template syntax: `{{` opens an expression that runs to the next `}}`, and the
// expression is the variable name with surrounding whitespace trimmed. There is no
// escape: a literal "{{" cannot be written, while a lone "}}" is just text. An
// unmatched "{{" is the only syntax error ("unmatched '{{' in template").
Result<Template, TemplateError> parse_template(std::string_view text);

// The environment variable the environment provider reads for an application variable.
std::string environment_variable_name(std::string_view variable);

using Environment = std::map<std::string, std::string, std::less<>>;

struct ResolvedVariables {
  OrderedMap<std::string> application;  // every application variable, in manifest order
  // component id -> component variable -> value, for components that declare variables
  OrderedMap<OrderedMap<std::string>> components;
};

// Resolves every application variable and every component variable. Fails, naming the
// variable, when a required variable has no value (Spin refuses to start then too), and,
// naming the component and the variable, on a template that does not parse or names an
// application variable that does not exist.
Result<ResolvedVariables, ManifestError> resolve_variables(const Manifest& manifest,
                                                           const Environment& environment);

// Substitutes resolved application variables into a template; fails naming an unknown one.
// For other templated settings (allowed_outbound_hosts, Redis addresses and channels).
Result<std::string, TemplateError> expand_template(std::string_view text,
                                                   const OrderedMap<std::string>& application);

}  // namespace gyre::app
