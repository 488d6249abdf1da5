// Variables as Spin resolves them (its crates/expressions). An application variable
// ([variables]) gets its value from the first provider that has one, else its default; a
// component variable ([component.x.variables]) is a template whose `{{ name }}` parts
// stand for application variables, and a component sees only its own.
//
// Providers are where values come from at run time: the environment, a static table, a
// secret store. The resolver asks them on every lookup, in order, as Spin does, so a
// provider backed by a service sees each read. The environment is always a parameter,
// never the process's own, so callers decide what it holds.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "app/manifest.hpp"
#include "app/ordered_map.hpp"
#include "base/result.hpp"
#include "base/suspender.hpp"

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

// Substitutes resolved application variables into a template; fails naming an unknown one.
// For other templated settings (allowed_outbound_hosts, Redis addresses and channels).
Result<std::string, TemplateError> expand_template(std::string_view text,
                                                   const OrderedMap<std::string>& application);

// Why Spin refuses `name` as a variable name, in its words ("\"Foo\": invalid character
// 'F'. Variable names may contain only ..."), or nothing: lower-case ASCII letters, digits
// and single underscores, starting with a letter and ending with a letter or digit.
std::optional<std::string> invalid_variable_name(std::string_view name);

// The environment variable the environment provider reads for an application variable:
// "api_key" -> "SPIN_VARIABLE_API_KEY" (Spin joins prefix and name with '_' always).
std::string environment_variable_name(std::string_view variable,
                                      std::string_view prefix = "SPIN_VARIABLE");

using Environment = std::map<std::string, std::string, std::less<>>;

// Why a lookup failed, as Spin's variables interfaces tell the guest.
struct VariableError {
  enum class Kind { kInvalidName, kUndefined, kProvider, kOther };
  Kind kind = Kind::kOther;
  std::string message;  // the payload a guest receives
  // More about a provider's failure, for the terminal only (a guest sees `message`, as
  // in Spin, where the guest gets an error's outermost context).
  std::string cause;

  // Spin's wording for logs: "provider error: ...", "undefined variable: ...".
  std::string describe() const;
};

// Where values come from. Implementations are called from many guest threads at once.
class VariableProvider {
 public:
  virtual ~VariableProvider() = default;
  // The value of application variable `name` (a valid name), nothing if this provider
  // has none (the next one is asked), or an error of kind kProvider (no other is asked).
  // A provider that asks a service waits for it through `suspender` (the reading guest's;
  // null before serving, when it may block).
  virtual Result<std::optional<std::string>, VariableError> get(std::string_view name,
                                                                Suspender* suspender) const = 0;
  // Whether get might find `name`, for the start-up check of required variables; a
  // provider that cannot tell without asking a service says yes.
  virtual bool may_resolve(std::string_view) const { return true; }
};

// The application's variables, the components' templates and the providers. Immutable
// once built, and safe to share between threads.
class VariableResolver {
 public:
  // Checks names and templates as Spin does when it loads an app; errors name the key.
  static Result<VariableResolver, ManifestError> create(
      const Manifest& manifest, std::vector<std::unique_ptr<VariableProvider>> providers);

  // Component `component`'s variable `name`: its template with application variables
  // substituted. Spin's errors: kInvalidName for a bad name, kUndefined for a variable
  // the component does not declare ("no variable for \"web\".\"nope\""), kProvider.
  // Every lookup hands `suspender` to the providers it asks: a guest's reads wait through
  // its fiber's; set-up before serving has none.
  Result<std::string, VariableError> resolve(std::string_view component, std::string_view name,
                                             Suspender* suspender = nullptr) const;
  // All of a component's variables, in manifest order; none for an unknown component.
  Result<std::vector<std::pair<std::string, std::string>>, VariableError> resolve_all(
      std::string_view component, Suspender* suspender = nullptr) const;
  // One application variable: the first provider with a value, else the default; a
  // required variable no provider has is kProvider "no provider resolved required
  // variable \"name\"".
  Result<std::string, VariableError> resolve_application(std::string_view name,
                                                         Suspender* suspender = nullptr) const;
  // Any template over application variables (Spin's resolve_expression).
  Result<std::string, VariableError> resolve_template(std::string_view text,
                                                      Suspender* suspender = nullptr) const;

  // Spin's start-up check: every required variable has a provider that may resolve it.
  // The error is Spin's: "provider error: no provider resolved required variable(s):
  // [Key(\"api_key\")]".
  std::optional<std::string> check_required() const;

  const OrderedMap<Variable>& variables() const { return variables_; }
  // Every component's variable templates (empty for a component that declares none).
  const OrderedMap<OrderedMap<Template>>& templates() const { return components_; }

 private:
  Result<std::string, VariableError> expand(const Template& parts, Suspender* suspender) const;

  OrderedMap<Variable> variables_;
  OrderedMap<OrderedMap<Template>> components_;  // every component, with or without variables
  std::vector<std::shared_ptr<const VariableProvider>> providers_;
};

struct ResolvedVariables {
  OrderedMap<std::string> application;  // every resolvable application variable, in order
  // component id -> component variable -> value, for components that declare variables
  OrderedMap<OrderedMap<std::string>> components;
  // The live resolver: guests' lookups go through it and reach the providers again.
  std::shared_ptr<const VariableResolver> resolver;
  // Variables left out above because a provider failed on them, each with why (never a
  // value), for the terminal.
  std::vector<std::string> warnings;
};

// Runs Spin's start-up check of required variables (its error stops the app), then
// resolves every variable once for templated settings that are fixed when the app
// starts (allowed_outbound_hosts and the like). A variable a provider fails on is left
// out with a warning, as Spin keeps running when its providers fail.
Result<ResolvedVariables, std::string> resolve_variables(
    std::shared_ptr<const VariableResolver> resolver);

// The same with only the environment provider (SPIN_VARIABLE_*, no .env file) over
// `environment`; errors are ManifestErrors naming spin.toml.
Result<ResolvedVariables, ManifestError> resolve_variables(const Manifest& manifest,
                                                           const Environment& environment);

// Spin's environment provider: `PREFIX_NAME` from `environment`, else from a dotenv file
// (read on first need, once it parses, as Spin caches it). A relative dotenv path is
// relative to the working directory, where Spin reads `.env` too.
class EnvironmentProvider final : public VariableProvider {
 public:
  EnvironmentProvider(Environment environment, std::string prefix,
                      std::optional<std::string> dotenv_path);
  ~EnvironmentProvider() override;
  Result<std::optional<std::string>, VariableError> get(std::string_view name,
                                                        Suspender*) const override;
  bool may_resolve(std::string_view name) const override;

 private:
  struct Dotenv;
  Environment environment_;
  std::string prefix_;
  std::optional<std::string> dotenv_path_;
  std::unique_ptr<Dotenv> dotenv_;
};

// A dotenv file's NAME=value pairs as Spin's dotenv reader parses them: `#` comments,
// `export` prefixes, 'single' and "double" quotes (with \n, \\, \", \', \$, \  escapes),
// values quoted across lines, and $NAME / ${NAME} substituted from `environment` or
// earlier lines. Later lines win. An error names the line number and position, never
// the line's text (it may hold a secret).
Result<std::vector<std::pair<std::string, std::string>>, std::string> parse_dotenv(
    std::string_view text, const Environment& environment);

}  // namespace gyre::app
