// Spin's variable templates and resolution: template syntax as crates/expressions parses
// it, application variables from the environment provider or their defaults, component
// variables expanded from them, and errors that name the variable (and component).
#include "app/variables.hpp"

#include <gtest/gtest.h>

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

TEST(VariableEnvironment, VariableNames) {
  EXPECT_EQ(environment_variable_name("api_key"), "SPIN_VARIABLE_API_KEY");
  EXPECT_EQ(environment_variable_name("v2"), "SPIN_VARIABLE_V2");
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

TEST(VariableResolve, EnvironmentThenDefault) {
  Manifest m = must_parse_manifest(kApp);
  Environment env{{"SPIN_VARIABLE_API_KEY", "s3cret"}, {"SPIN_VARIABLE_UNRELATED", "x"}};
  auto resolved = resolve_variables(m, env);
  ASSERT_TRUE(resolved.ok()) << resolved.error().describe();
  const OrderedMap<std::string>& app = resolved->application;
  ASSERT_EQ(app.size(), 3u);
  EXPECT_EQ(app[0], (std::pair<std::string, std::string>{"greeting", "hello"}));
  EXPECT_EQ(app[1], (std::pair<std::string, std::string>{"api_key", "s3cret"}));
  EXPECT_EQ(app[2], (std::pair<std::string, std::string>{"empty", ""}));
  // Only components that declare variables appear.
  ASSERT_EQ(resolved->components.size(), 1u);
  const OrderedMap<std::string>* web = resolved->components.find("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(*web->find("message"), "hello, s3cret!");
  EXPECT_EQ(*web->find("literal"), "no braces");
  EXPECT_EQ(*web->find("blank"), "[]");
}

TEST(VariableResolve, EnvironmentOverridesDefault) {
  Manifest m = must_parse_manifest(kApp);
  Environment env{{"SPIN_VARIABLE_API_KEY", "k"}, {"SPIN_VARIABLE_GREETING", "bonjour"}};
  auto resolved = resolve_variables(m, env);
  ASSERT_TRUE(resolved.ok()) << resolved.error().describe();
  EXPECT_EQ(*resolved->application.find("greeting"), "bonjour");
  EXPECT_EQ(*resolved->components.find("web")->find("message"), "bonjour, k!");
}

TEST(VariableResolve, EnvironmentNamesAreUpperCaseOnly) {
  Manifest m = must_parse_manifest(kApp);
  auto resolved = resolve_variables(m, {{"SPIN_VARIABLE_api_key", "lower"}});
  ASSERT_FALSE(resolved.ok());
}

TEST(VariableResolve, EmptyEnvironmentValueStillCounts) {
  Manifest m = must_parse_manifest(kApp);
  auto resolved = resolve_variables(m, {{"SPIN_VARIABLE_API_KEY", ""}});
  ASSERT_TRUE(resolved.ok()) << resolved.error().describe();
  EXPECT_EQ(*resolved->application.find("api_key"), "");
}

TEST(VariableResolve, RequiredVariableWithoutValueIsNamed) {
  Manifest m = must_parse_manifest(kApp);
  auto resolved = resolve_variables(m, {});
  ASSERT_FALSE(resolved.ok());
  const ManifestError& e = resolved.error();
  EXPECT_EQ(e.file, "spin.toml");
  EXPECT_EQ(e.key, "variables.api_key");
  EXPECT_EQ(e.message,
            "no value for required variable \"api_key\": set the environment variable "
            "SPIN_VARIABLE_API_KEY");
  EXPECT_EQ(e.describe(),
            "spin.toml: variables.api_key: no value for required variable \"api_key\": set the "
            "environment variable SPIN_VARIABLE_API_KEY");
}

// parse_manifest already rejects bad templates; a Manifest built in code has not been
// through it, so resolution checks again and names the component and variable.
TEST(VariableResolve, TemplateErrorsNameComponentAndVariable) {
  Manifest m;
  m.file = "built.toml";
  m.variables.insert("host", Variable{"h", false, false, std::nullopt});
  Component c;
  c.source = LocalSource{"c.wasm"};
  c.variables.insert("url", "https://{{ host");
  m.components.insert("api", c);
  auto unmatched = resolve_variables(m, {});
  ASSERT_FALSE(unmatched.ok());
  EXPECT_EQ(unmatched.error().file, "built.toml");
  EXPECT_EQ(unmatched.error().key, "component.api.variables.url");
  EXPECT_EQ(unmatched.error().message, "invalid variable template: unmatched '{{' in template");

  m.components.find("api")->variables.insert("url", "https://{{ hots }}");
  auto unknown = resolve_variables(m, {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().key, "component.api.variables.url");
  EXPECT_EQ(unknown.error().message, "invalid variable template: unknown variable \"hots\"");
}

}  // namespace
}  // namespace gyre::app
