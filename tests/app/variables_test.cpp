// Spin's variables as crates/expressions resolves them: template syntax, Spin's rule for
// variable names, the resolver (providers in order, then defaults; a component sees only
// its own variables; Spin's error cases and words), the start-up check of required
// variables, the environment provider with its dotenv file, and dotenv parsing as
// Spin's dotenv reader parses.
#include "app/variables.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

namespace gyre::app {
namespace {

TemplatePart lit(std::string text) {
  return {TemplatePart::Kind::kLiteral, std::move(text)};
}
TemplatePart var(std::string name) {
  return {TemplatePart::Kind::kVariable, std::move(name)};
}

Template must_parse_template(std::string_view text) {
  auto parsed = parse_template(text);
  if (!parsed.ok()) {
    ADD_FAILURE() << "template " << text << ": " << parsed.error().message;
    return {};
  }
  return std::move(parsed).value();
}

TEST(VariableTemplates, PartsAsSpinSplitsThem) {
  EXPECT_EQ(must_parse_template(""), Template{});
  EXPECT_EQ(must_parse_template("a"), Template{lit("a")});
  EXPECT_EQ(must_parse_template("a-{{ expr }}-b"), (Template{lit("a-"), var("expr"), lit("-b")}));
  EXPECT_EQ(must_parse_template("{{ expr1 }}{{ expr2 }}"), (Template{var("expr1"), var("expr2")}));
}

TEST(VariableTemplates, WhitespaceInsideBracesIsTrimmed) {
  EXPECT_EQ(must_parse_template("{{name}}"), Template{var("name")});
  EXPECT_EQ(must_parse_template("{{   name\t}}"), Template{var("name")});
  EXPECT_EQ(must_parse_template("{{\n name \r\n}}"), Template{var("name")});
  // Rust's trim knows Unicode spaces: a no-break space and an ideographic space.
  EXPECT_EQ(must_parse_template("{{\xC2\xA0name\xE3\x80\x80}}"), Template{var("name")});
  // Inner whitespace is kept (and then names no variable).
  EXPECT_EQ(must_parse_template("{{ a b }}"), Template{var("a b")});
}

TEST(VariableTemplates, NoEscapes) {
  // A lone closing pair is text; an expression runs to the first "}}".
  EXPECT_EQ(must_parse_template("}} {"), Template{lit("}} {")});
  EXPECT_EQ(must_parse_template("{{ a }}}}"), (Template{var("a"), lit("}}")}));
  EXPECT_EQ(must_parse_template("{{ {{ a }}"), Template{var("{{ a")});
  EXPECT_EQ(must_parse_template("{{}}"), Template{var("")});
  EXPECT_EQ(must_parse_template("{ {a} }"), Template{lit("{ {a} }")});
}

TEST(VariableTemplates, UnmatchedOpeningIsAnError) {
  for (std::string_view text : {"{{", "{{ matched }} {{ unmatched", "x {{ y }"}) {
    auto parsed = parse_template(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().message, "unmatched '{{' in template");
  }
}

TEST(VariableTemplates, Expand) {
  OrderedMap<std::string> values{{"host", "example.com"}, {"port", "8080"}};
  auto expanded = expand_template("https://{{ host }}:{{port}}/x", values);
  ASSERT_TRUE(expanded.ok()) << expanded.error().message;
  EXPECT_EQ(*expanded, "https://example.com:8080/x");
  auto unknown = expand_template("{{ nope }}", values);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "unknown variable \"nope\"");
}

TEST(VariableNames, SpinsKeysAreValid) {
  for (std::string_view name : {"a", "abc", "a1b2c3", "a_1", "a_1_b_3"})
    EXPECT_EQ(invalid_variable_name(name), std::nullopt) << name;
}

TEST(VariableNames, InvalidNamesInSpinsWords) {
  const std::string only =
      ". Variable names may contain only lower-case letters, numbers, and underscores.";
  const std::pair<std::string_view, std::string> cases[] = {
      {"", "\"\": must not be empty"},
      {"aX", "\"aX\": invalid character 'X'" + only},
      {"x.y", "\"x.y\": invalid character '.'" + only},
      {"x-y", "\"x-y\": invalid character '-'" + only},
      {"caf\xC3\xA9", "\"caf\xC3\xA9\": invalid character '\xC3\xA9'" + only},
      {"a'b", "\"a'b\": invalid character '\\''" + only},
      {"a\nb", "\"a\\nb\": invalid character '\\n'" + only},
      {"1bc", "\"1bc\": must start with a lowercase ASCII letter"},
      {"_x", "\"_x\": must start with a lowercase ASCII letter"},
      {"x_", "\"x_\": must end with a lowercase ASCII letter or digit"},
      {"a__b", "\"a__b\": must not contain multiple consecutive underscores"},
  };
  for (const auto& [name, message] : cases)
    EXPECT_EQ(invalid_variable_name(name), message) << name;
}

TEST(VariableEnvironment, VariableNames) {
  EXPECT_EQ(environment_variable_name("api_key"), "SPIN_VARIABLE_API_KEY");
  EXPECT_EQ(environment_variable_name("v2"), "SPIN_VARIABLE_V2");
  EXPECT_EQ(environment_variable_name("api_key", "MYAPP"), "MYAPP_API_KEY");
  // Spin joins with '_' even when the prefix is empty.
  EXPECT_EQ(environment_variable_name("api_key", ""), "_API_KEY");
}

Manifest must_parse_manifest(std::string_view text) {
  auto result = parse_manifest(text, "spin.toml");
  if (!result.ok()) {
    ADD_FAILURE() << result.error().describe();
    return Manifest{};
  }
  return std::move(result).value();
}

constexpr std::string_view kApp = R"(spin_manifest_version = 2

[application]
name = "vars"

[variables]
greeting = { default = "hello" }
api_key = { required = true, secret = true }
empty = { default = "" }

[[trigger.http]]
route = "/"
component = "web"

[component.web]
source = "web.wasm"
variables = { message = "{{ greeting }}, {{api_key}}!", literal = "no braces", blank = "[{{ empty }}]" }

[component.plain]
source = "plain.wasm"
)";

// A provider with a fixed table that counts its lookups, fails on "broken", and says it
// may resolve only what it has.
class TableProvider final : public VariableProvider {
 public:
  explicit TableProvider(std::map<std::string, std::string, std::less<>> values)
      : values_(std::move(values)) {}
  Result<std::optional<std::string>, VariableError> get(std::string_view name,
                                                        gyre::Suspender*) const override {
    ++lookups;
    if (name == "broken") {
      return VariableError{VariableError::Kind::kProvider, "the table is broken", "detail"};
    }
    auto found = values_.find(name);
    if (found == values_.end()) return std::optional<std::string>();
    return std::optional<std::string>(found->second);
  }
  bool may_resolve(std::string_view name) const override { return values_.count(name) != 0; }

  mutable std::atomic<int> lookups{0};

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

std::shared_ptr<const VariableResolver> resolver(
    const Manifest& m, std::vector<std::map<std::string, std::string, std::less<>>> tables) {
  std::vector<std::unique_ptr<VariableProvider>> providers;
  for (auto& table : tables)
    providers.push_back(std::make_unique<TableProvider>(std::move(table)));
  auto made = VariableResolver::create(m, std::move(providers));
  if (!made.ok()) {
    ADD_FAILURE() << made.error().describe();
    return nullptr;
  }
  return std::make_shared<const VariableResolver>(std::move(made).value());
}

std::string resolved(const VariableResolver& r, std::string_view component, std::string_view name) {
  auto value = r.resolve(component, name);
  if (!value.ok()) return "error: " + value.error().describe();
  return *value;
}

TEST(VariableResolver, ComponentVariablesFromProvidersAndDefaults) {
  Manifest m = must_parse_manifest(kApp);
  auto r = resolver(m, {{{"api_key", "s3cret"}}});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(resolved(*r, "web", "message"), "hello, s3cret!");
  EXPECT_EQ(resolved(*r, "web", "literal"), "no braces");
  EXPECT_EQ(resolved(*r, "web", "blank"), "[]");
  auto all = r->resolve_all("web");
  ASSERT_TRUE(all.ok()) << all.error().describe();
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*all,
            (Pairs{{"message", "hello, s3cret!"}, {"literal", "no braces"}, {"blank", "[]"}}));
  auto none = r->resolve_all("plain");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(VariableResolver, TheFirstProviderWithAValueWins) {
  Manifest m = must_parse_manifest(kApp);
  auto r = resolver(m, {{{"greeting", "first"}}, {{"greeting", "second"}, {"api_key", "k"}}});
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(resolved(*r, "web", "message"), "first, k!");
  // A provider's empty value is a value.
  auto empty = resolver(m, {{{"greeting", ""}, {"api_key", "k"}}});
  EXPECT_EQ(resolved(*empty, "web", "message"), ", k!");
}

TEST(VariableResolver, AComponentSeesOnlyItsOwnVariables) {
  Manifest m = must_parse_manifest(kApp);
  auto r = resolver(m, {{{"api_key", "k"}}});
  // Application variables are not component variables.
  EXPECT_EQ(resolved(*r, "web", "greeting"),
            "error: undefined variable: no variable for \"web\".\"greeting\"");
  EXPECT_EQ(resolved(*r, "plain", "message"),
            "error: undefined variable: no variable for \"plain\".\"message\"");
  EXPECT_EQ(resolved(*r, "nope", "message"),
            "error: undefined variable: no variable for component \"nope\"");
}

TEST(VariableResolver, InvalidNamesAreRefusedBeforeAnyLookup) {
  Manifest m = must_parse_manifest(kApp);
  auto r = resolver(m, {{{"api_key", "k"}}});
  auto bad = r->resolve("web", "Message");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, VariableError::Kind::kInvalidName);
  EXPECT_EQ(bad.error().message,
            "\"Message\": invalid character 'M'. Variable names may contain only lower-case "
            "letters, numbers, and underscores.");
  EXPECT_EQ(bad.error().describe(), "invalid variable name: " + bad.error().message);
}

TEST(VariableResolver, AProviderErrorStopsTheLookup) {
  auto m = must_parse_manifest(R"(spin_manifest_version = 2
[application]
name = "broken"
[variables]
broken = { default = "the default" }
[[trigger.http]]
route = "/"
component = "c"
[component.c]
source = "c.wasm"
variables = { v = "{{ broken }}" }
)");
  std::vector<std::unique_ptr<VariableProvider>> providers;
  providers.push_back(
      std::make_unique<TableProvider>(std::map<std::string, std::string, std::less<>>{}));
  providers.push_back(std::make_unique<TableProvider>(
      std::map<std::string, std::string, std::less<>>{{"broken", "never read"}}));
  const TableProvider* second = static_cast<const TableProvider*>(providers[1].get());
  auto made = VariableResolver::create(m, std::move(providers));
  ASSERT_TRUE(made.ok());
  auto value = made->resolve("c", "v");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error().kind, VariableError::Kind::kProvider);
  EXPECT_EQ(value.error().message, "the table is broken");
  EXPECT_EQ(value.error().describe(), "provider error: the table is broken: detail");
  EXPECT_EQ(second->lookups, 0);
  // get-all fails the same way.
  EXPECT_FALSE(made->resolve_all("c").ok());
}

TEST(VariableResolver, EveryLookupAsksTheProvidersAgain) {
  Manifest m = must_parse_manifest(kApp);
  std::vector<std::unique_ptr<VariableProvider>> providers;
  providers.push_back(std::make_unique<TableProvider>(
      std::map<std::string, std::string, std::less<>>{{"api_key", "k"}}));
  const TableProvider* table = static_cast<const TableProvider*>(providers[0].get());
  auto made = VariableResolver::create(m, std::move(providers));
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(made->resolve("web", "message").ok());
  const int once = table->lookups;
  EXPECT_EQ(once, 2);  // greeting and api_key
  ASSERT_TRUE(made->resolve("web", "message").ok());
  EXPECT_EQ(table->lookups, 2 * once);
  // A literal template asks nobody.
  ASSERT_TRUE(made->resolve("web", "literal").ok());
  EXPECT_EQ(table->lookups, 2 * once);
}

TEST(VariableResolver, ARequiredVariableNoProviderHasIsAProviderErrorAtRunTime) {
  Manifest m = must_parse_manifest(kApp);
  auto r = resolver(m, {});
  auto value = r->resolve("web", "message");
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error().kind, VariableError::Kind::kProvider);
  EXPECT_EQ(value.error().message, "no provider resolved required variable \"api_key\"");
}

TEST(VariableResolver, TemplatesOverApplicationVariables) {
  Manifest m = must_parse_manifest(kApp);
  auto r = resolver(m, {{{"api_key", "k"}}});
  auto value = r->resolve_template("{{ greeting }}/{{ api_key }}");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "hello/k");
  auto bad = r->resolve_template("{{ greeting");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, VariableError::Kind::kOther);
  EXPECT_EQ(bad.error().message, "invalid variable template: unmatched '{{' in template");
}

TEST(VariableResolver, RequiredVariablesNeedAProviderThatMayResolveThem) {
  Manifest m = must_parse_manifest(kApp);
  EXPECT_EQ(resolver(m, {{{"api_key", "k"}}})->check_required(), std::nullopt);
  EXPECT_EQ(resolver(m, {{{"greeting", "k"}}})->check_required(),
            "provider error: no provider resolved required variable(s): [Key(\"api_key\")]");
  auto two = must_parse_manifest(R"(spin_manifest_version = 2
[application]
name = "two"
[variables]
a = { required = true }
b = { default = "x" }
c = { required = true }
[[trigger.http]]
route = "/"
component = "c"
[component.c]
source = "c.wasm"
)");
  EXPECT_EQ(resolver(two, {})->check_required(),
            "provider error: no provider resolved required variable(s): [Key(\"a\"), Key(\"c\")]");
}

// parse_manifest already rejects bad templates; a Manifest built in code has not been
// through it, so the resolver checks again and names the component and variable.
TEST(VariableResolver, TemplateErrorsNameComponentAndVariable) {
  Manifest m;
  m.file = "built.toml";
  m.variables.insert("host", Variable{"h", false, false, std::nullopt});
  Component c;
  c.source = LocalSource{"c.wasm"};
  c.variables.insert("url", "https://{{ host");
  m.components.insert("api", c);
  auto unmatched = VariableResolver::create(m, {});
  ASSERT_FALSE(unmatched.ok());
  EXPECT_EQ(unmatched.error().file, "built.toml");
  EXPECT_EQ(unmatched.error().key, "component.api.variables.url");
  EXPECT_EQ(unmatched.error().message, "invalid variable template: unmatched '{{' in template");

  m.components.find("api")->variables.insert("url", "https://{{ hots }}");
  auto unknown = VariableResolver::create(m, {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().key, "component.api.variables.url");
  EXPECT_EQ(unknown.error().message, "invalid variable template: unknown variable \"hots\"");

  m.components.find("api")->variables.insert("url", "x");
  m.variables.insert("Bad", Variable{"h", false, false, std::nullopt});
  auto bad_name = VariableResolver::create(m, {});
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.error().key, "variables.Bad");
}

TEST(VariableResolve, EveryVariableOnceForTemplatedSettings) {
  Manifest m = must_parse_manifest(kApp);
  auto all = resolve_variables(resolver(m, {{{"api_key", "s3cret"}}}));
  ASSERT_TRUE(all.ok()) << all.error();
  const OrderedMap<std::string>& app = all->application;
  ASSERT_EQ(app.size(), 3u);
  EXPECT_EQ(app[0], (std::pair<std::string, std::string>{"greeting", "hello"}));
  EXPECT_EQ(app[1], (std::pair<std::string, std::string>{"api_key", "s3cret"}));
  EXPECT_EQ(app[2], (std::pair<std::string, std::string>{"empty", ""}));
  // Only components that declare variables appear.
  ASSERT_EQ(all->components.size(), 1u);
  EXPECT_EQ(*all->components.find("web")->find("message"), "hello, s3cret!");
  EXPECT_NE(all->resolver, nullptr);
  EXPECT_TRUE(all->warnings.empty());
}

TEST(VariableResolve, ARequiredVariableWithoutProviderStopsTheApp) {
  Manifest m = must_parse_manifest(kApp);
  auto all = resolve_variables(resolver(m, {}));
  ASSERT_FALSE(all.ok());
  EXPECT_EQ(all.error(),
            "provider error: no provider resolved required variable(s): [Key(\"api_key\")]");
}

TEST(VariableResolve, AFailingProviderLeavesTheVariableOutWithAWarning) {
  auto m = must_parse_manifest(R"(spin_manifest_version = 2
[application]
name = "broken"
[variables]
broken = { default = "the default" }
fine = { default = "ok" }
[[trigger.http]]
route = "/"
component = "c"
[component.c]
source = "c.wasm"
variables = { v = "{{ broken }}", w = "{{ fine }}" }
)");
  auto all = resolve_variables(resolver(m, {{}}));
  ASSERT_TRUE(all.ok()) << all.error();
  EXPECT_EQ(all->application.find("broken"), nullptr);
  EXPECT_EQ(*all->application.find("fine"), "ok");
  EXPECT_EQ(all->components.find("c")->find("v"), nullptr);
  EXPECT_EQ(*all->components.find("c")->find("w"), "ok");
  ASSERT_EQ(all->warnings.size(), 1u);
  EXPECT_EQ(all->warnings[0], "variable \"broken\": provider error: the table is broken: detail");
}

TEST(VariableResolve, FromTheEnvironmentAlone) {
  Manifest m = must_parse_manifest(kApp);
  Environment env{{"SPIN_VARIABLE_API_KEY", "s3cret"}, {"SPIN_VARIABLE_GREETING", "bonjour"}};
  auto all = resolve_variables(m, env);
  ASSERT_TRUE(all.ok()) << all.error().describe();
  EXPECT_EQ(*all->components.find("web")->find("message"), "bonjour, s3cret!");
  // Names are upper-cased; a lower-case environment variable is not the same one.
  auto lower = resolve_variables(m, {{"SPIN_VARIABLE_api_key", "lower"}});
  ASSERT_FALSE(lower.ok());
  EXPECT_EQ(lower.error().describe(),
            "spin.toml: variables: provider error: no provider resolved required variable(s): "
            "[Key(\"api_key\")]");
}

// ---- the environment provider and dotenv files ----------------------------------------

std::filesystem::path temp_file(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("gyre-variables-" + std::to_string(getpid()) + "-" + name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string env_get(const EnvironmentProvider& p, std::string_view name) {
  auto value = p.get(name, nullptr);
  if (!value.ok()) return "error: " + value.error().message;
  return value->value_or("<none>");
}

TEST(EnvironmentProvider, PrefixedUpperCaseNames) {
  EnvironmentProvider p({{"TESTING_SPIN_ENV_KEY1", "val"}, {"SPIN_VARIABLE_ENV_KEY1", "other"}},
                        "TESTING_SPIN", std::nullopt);
  EXPECT_EQ(env_get(p, "env_key1"), "val");
  EXPECT_EQ(env_get(p, "env_key2"), "<none>");
  EXPECT_TRUE(p.may_resolve("env_key1"));
  EXPECT_FALSE(p.may_resolve("env_key2"));
}

TEST(EnvironmentProvider, TheEnvironmentBeforeTheDotenvFile) {
  const auto file = temp_file("first.env", "SPIN_VARIABLE_A=file_a\nSPIN_VARIABLE_B='file b'\n");
  EnvironmentProvider p({{"SPIN_VARIABLE_A", "from env"}}, "SPIN_VARIABLE", file.string());
  EXPECT_EQ(env_get(p, "a"), "from env");
  EXPECT_EQ(env_get(p, "b"), "file b");
  EXPECT_EQ(env_get(p, "c"), "<none>");
  EXPECT_TRUE(p.may_resolve("b"));
  // Read once: later changes to the file are not seen.
  std::ofstream(file, std::ios::binary) << "SPIN_VARIABLE_B=changed\n";
  EXPECT_EQ(env_get(p, "b"), "file b");
  std::filesystem::remove(file);
}

TEST(EnvironmentProvider, AMissingDotenvFileHoldsNothing) {
  EnvironmentProvider p({}, "SPIN_VARIABLE", "/nonexistent/gyre/.env");
  EXPECT_EQ(env_get(p, "a"), "<none>");
}

TEST(EnvironmentProvider, ADotenvFileThatDoesNotParseIsAnErrorThatShowsNoValue) {
  const auto file =
      temp_file("bad.env", "SPIN_VARIABLE_OK=fine\nSPIN_VARIABLE_PASSWORD=hunter2 x\n");
  EnvironmentProvider p({}, "SPIN_VARIABLE", file.string());
  auto value = p.get("ok", nullptr);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.error().kind, VariableError::Kind::kProvider);
  EXPECT_NE(value.error().message.find("line 2"), std::string::npos) << value.error().message;
  EXPECT_EQ(value.error().message.find("hunter2"), std::string::npos) << value.error().message;
  EXPECT_FALSE(p.may_resolve("ok"));
  std::filesystem::remove(file);
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs must_parse_dotenv(std::string_view text, const Environment& env = {}) {
  auto parsed = parse_dotenv(text, env);
  if (!parsed.ok()) {
    ADD_FAILURE() << parsed.error();
    return {};
  }
  return std::move(parsed).value();
}

TEST(Dotenv, LinesAsSpinsReaderParsesThem) {
  // The dotenv crate's own example, five spaces after KEY8=.
  EXPECT_EQ(must_parse_dotenv(R"(
KEY=1
KEY2="2"
KEY3='3'
KEY4='fo ur'
KEY5="fi ve"
KEY6=s\ ix
KEY7=
KEY8=     
KEY9=   # foo
KEY10  ="whitespace before ="
KEY11=    "whitespace after ="
export="export as key"
export   SHELL_LOVER=1
)"),
            (Pairs{{"KEY", "1"},
                   {"KEY2", "2"},
                   {"KEY3", "3"},
                   {"KEY4", "fo ur"},
                   {"KEY5", "fi ve"},
                   {"KEY6", "s ix"},
                   {"KEY7", ""},
                   {"KEY8", ""},
                   {"KEY9", ""},
                   {"KEY10", "whitespace before ="},
                   {"KEY11", "whitespace after ="},
                   {"export", "export as key"},
                   {"SHELL_LOVER", "1"}}));
}

TEST(Dotenv, CommentsQuotesAndEscapes) {
  EXPECT_EQ(must_parse_dotenv("# a comment\n  # another\nA=v # trailing\nB=v#kept\r\n"
                              "C=\"a\\nb \\\"q\\\" \\$x\"\nD='no $sub \\n'\n"),
            (Pairs{{"A", "v"}, {"B", "v#kept"}, {"C", "a\nb \"q\" $x"}, {"D", "no $sub \\n"}}));
}

TEST(Dotenv, QuotedValuesSpanLines) {
  EXPECT_EQ(must_parse_dotenv("A=\"one\ntwo\"\nB='x\n\ny'\nC=z"),
            (Pairs{{"A", "one\ntwo"}, {"B", "x\n\ny"}, {"C", "z"}}));
}

TEST(Dotenv, SubstitutionsFromTheEnvironmentThenEarlierLines) {
  EXPECT_EQ(must_parse_dotenv("A=a\nB=$A-${HOME}-$NOPE.\nC=\"${A}x\"\nD='$A'\n",
                              {{"HOME", "/home/me"}, {"A", "env a"}}),
            (Pairs{{"A", "a"}, {"B", "env a-/home/me-."}, {"C", "env ax"}, {"D", "$A"}}));
  EXPECT_EQ(must_parse_dotenv("A=a\nB=${A}b\n"), (Pairs{{"A", "a"}, {"B", "ab"}}));
}

TEST(Dotenv, LaterLinesWin) {
  auto parsed = must_parse_dotenv("A=1\nA=2\n");
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed.back().second, "2");
}

TEST(Dotenv, ErrorsNameTheLineButNotItsText) {
  for (std::string_view text : {"A=1\nB=secret value\n", "A=1\n=secret\n", "A=1\nB secret\n",
                                "A=1\nB=\"secret\n", "A=1\nB=\\qsecret\n", "A=1\nB=${secret\n"}) {
    auto parsed = parse_dotenv(text, {});
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.error().find("line 2"), std::string::npos) << parsed.error();
    EXPECT_EQ(parsed.error().find("secret"), std::string::npos) << parsed.error();
  }
}

}  // namespace
}  // namespace gyre::app
