#include "app/variables.hpp"

#include <cstdint>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "app/identifiers.hpp"

namespace gyre::app {
namespace {

// Spin trims with Rust's str::trim, which knows Unicode's White_Space, not just ASCII's.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Decodes the code point starting at text[i], or nothing if the bytes there are not a
// well-formed sequence (such bytes are never white space).
std::optional<std::pair<char32_t, size_t>> decode_at(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  uint8_t lead = byte(i);
  size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : 0;
  if (length == 0 || i + length > text.size()) return std::nullopt;
  char32_t c = length == 1 ? lead : length == 2 ? (lead & 0x1F) : (lead & 0x0F);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return std::nullopt;
    c = (c << 6) | (byte(i + k) & 0x3F);
  }
  return std::pair{c, length};
}

std::string_view trim_start(std::string_view text) {
  while (!text.empty()) {
    auto c = decode_at(text, 0);
    if (!c || !is_white_space(c->first)) break;
    text.remove_prefix(c->second);
  }
  return text;
}

std::string_view trim_end(std::string_view text) {
  while (!text.empty()) {
    // Step back to the start of the last character (at most 3 bytes: no 4-byte spaces).
    size_t start = text.size() - 1;
    while (start > 0 && text.size() - start < 3 &&
           (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80)
      --start;
    auto c = decode_at(text, start);
    if (!c || start + c->second != text.size() || !is_white_space(c->first)) break;
    text.remove_suffix(c->second);
  }
  return text;
}

std::string_view trim(std::string_view text) {
  return trim_end(trim_start(text));
}

// The UTF-8 bytes of the character starting at text[i].
std::string_view char_at(std::string_view text, size_t i) {
  size_t end = i + 1;
  while (end < text.size() && (static_cast<uint8_t>(text[end]) & 0xC0) == 0x80)
    ++end;
  return text.substr(i, end - i);
}

// Rust's Debug rendering of a char: 'x', '\'', '\n', '\u{1}'.
std::string debug_char(std::string_view ch) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto byte = static_cast<uint8_t>(ch[0]);
  std::string out = "'";
  if (ch == "\\" || ch == "'") {
    out += '\\';
    out += ch;
  } else if (ch == "\n") {
    out += "\\n";
  } else if (ch == "\r") {
    out += "\\r";
  } else if (ch == "\t") {
    out += "\\t";
  } else if (ch == std::string_view("\0", 1)) {
    out += "\\0";
  } else if (byte < 0x20 || byte == 0x7f) {
    out += "\\u{";
    if (byte >= 0x10) out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
    out += '}';
  } else {
    out += ch;
  }
  return out + "'";
}

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

VariableError error(VariableError::Kind kind, std::string message) {
  return VariableError{kind, std::move(message), {}};
}

}  // namespace

// ---- templates ----------------------------------------------------------------------

Result<Template, TemplateError> parse_template(std::string_view text) {
  Template parts;
  while (!text.empty()) {
    if (text.starts_with("{{")) {
      std::string_view rest = text.substr(2);
      size_t close = rest.find("}}");
      if (close == rest.npos) return TemplateError{"unmatched '{{' in template"};
      parts.push_back({TemplatePart::Kind::kVariable, std::string(trim(rest.substr(0, close)))});
      text = rest.substr(close + 2);
    } else {
      size_t open = text.find("{{");
      parts.push_back({TemplatePart::Kind::kLiteral, std::string(text.substr(0, open))});
      text = open == text.npos ? std::string_view() : text.substr(open);
    }
  }
  return parts;
}

Result<std::string, TemplateError> expand_template(std::string_view text,
                                                   const OrderedMap<std::string>& application) {
  auto parts = parse_template(text);
  if (!parts) return parts.error();
  std::string out;
  for (const TemplatePart& part : *parts) {
    if (part.kind == TemplatePart::Kind::kLiteral) {
      out += part.text;
    } else if (const std::string* value = application.find(part.text)) {
      out += *value;
    } else {
      return TemplateError{"unknown variable " + debug_quote(part.text)};
    }
  }
  return out;
}

// ---- names --------------------------------------------------------------------------

std::optional<std::string> invalid_variable_name(std::string_view name) {
  auto invalid = [&](const std::string& reason) { return debug_quote(name) + ": " + reason; };
  if (name.empty()) return invalid("must not be empty");
  for (size_t i = 0; i < name.size(); i += char_at(name, i).size()) {
    const char c = name[i];
    if (!is_lower(c) && !is_digit(c) && c != '_') {
      return invalid("invalid character " + debug_char(char_at(name, i)) +
                     ". Variable names may contain only lower-case letters, numbers, and "
                     "underscores.");
    }
  }
  if (!is_lower(name.front())) return invalid("must start with a lowercase ASCII letter");
  if (name.back() == '_') return invalid("must end with a lowercase ASCII letter or digit");
  if (name.find("__") != name.npos) {
    return invalid("must not contain multiple consecutive underscores");
  }
  return std::nullopt;
}

std::string environment_variable_name(std::string_view variable, std::string_view prefix) {
  std::string name = std::string(prefix) + "_";
  for (char c : variable)
    name += is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c;
  return name;
}

std::string VariableError::describe() const {
  switch (kind) {
    case Kind::kInvalidName:
      return "invalid variable name: " + message;
    case Kind::kUndefined:
      return "undefined variable: " + message;
    case Kind::kProvider:
      return "provider error: " + message + (cause.empty() ? "" : ": " + cause);
    case Kind::kOther:
      break;
  }
  return message;
}

// ---- the resolver -------------------------------------------------------------------

Result<VariableResolver, ManifestError> VariableResolver::create(
    const Manifest& manifest, std::vector<std::unique_ptr<VariableProvider>> providers) {
  auto fail = [&](std::string key, std::string message) {
    return ManifestError{manifest.file, std::move(key), 0, 0, std::move(message)};
  };
  VariableResolver resolver;
  resolver.variables_ = manifest.variables;
  for (const auto& [name, variable] : manifest.variables) {
    if (auto why = invalid_variable_name(name))
      return fail("variables." + name, "invalid variable name: " + *why);
  }
  for (const auto& [id, component] : manifest.components) {
    OrderedMap<Template> templates;
    for (const auto& [name, text] : component.variables) {
      const std::string key = "component." + id + ".variables." + name;
      if (auto why = invalid_variable_name(name))
        return fail(key, "invalid variable name: " + *why);
      auto parts = parse_template(text);
      if (!parts) return fail(key, "invalid variable template: " + parts.error().message);
      for (const TemplatePart& part : *parts) {
        if (part.kind == TemplatePart::Kind::kVariable && !manifest.variables.contains(part.text))
          return fail(key, "invalid variable template: unknown variable " + debug_quote(part.text));
      }
      templates.insert(name, std::move(parts).value());
    }
    resolver.components_.insert(id, std::move(templates));
  }
  for (auto& provider : providers)
    resolver.providers_.push_back(std::move(provider));
  return resolver;
}

Result<std::string, VariableError> VariableResolver::resolve_application(
    std::string_view name, Suspender* suspender) const {
  for (const auto& provider : providers_) {
    auto found = provider->get(name, suspender);
    if (!found) return std::move(found).error();
    if (*found) return std::move(**found);
  }
  const Variable* variable = variables_.find(name);
  if (!variable) return error(VariableError::Kind::kInvalidName, std::string(name));
  if (variable->default_value) return *variable->default_value;
  return error(VariableError::Kind::kProvider,
               "no provider resolved required variable " + debug_quote(name));
}

Result<std::string, VariableError> VariableResolver::expand(const Template& parts,
                                                            Suspender* suspender) const {
  std::string out;
  for (const TemplatePart& part : parts) {
    if (part.kind == TemplatePart::Kind::kLiteral) {
      out += part.text;
      continue;
    }
    auto value = resolve_application(part.text, suspender);
    if (!value) return std::move(value).error();
    out += *value;
  }
  return out;
}

Result<std::string, VariableError> VariableResolver::resolve(std::string_view component,
                                                             std::string_view name,
                                                             Suspender* suspender) const {
  if (auto why = invalid_variable_name(name)) return error(VariableError::Kind::kInvalidName, *why);
  const OrderedMap<Template>* templates = components_.find(component);
  if (!templates) {
    return error(VariableError::Kind::kUndefined,
                 "no variable for component " + debug_quote(component));
  }
  const Template* parts = templates->find(name);
  if (!parts) {
    return error(VariableError::Kind::kUndefined,
                 "no variable for " + debug_quote(component) + "." + debug_quote(name));
  }
  return expand(*parts, suspender);
}

Result<std::vector<std::pair<std::string, std::string>>, VariableError>
VariableResolver::resolve_all(std::string_view component, Suspender* suspender) const {
  std::vector<std::pair<std::string, std::string>> out;
  const OrderedMap<Template>* templates = components_.find(component);
  if (!templates) return out;
  for (const auto& [name, parts] : *templates) {
    auto value = expand(parts, suspender);
    if (!value) return std::move(value).error();
    out.emplace_back(name, std::move(value).value());
  }
  return out;
}

Result<std::string, VariableError> VariableResolver::resolve_template(std::string_view text,
                                                                      Suspender* suspender) const {
  auto parts = parse_template(text);
  if (!parts) {
    return error(VariableError::Kind::kOther,
                 "invalid variable template: " + parts.error().message);
  }
  return expand(*parts, suspender);
}

std::optional<std::string> VariableResolver::check_required() const {
  std::string unresolvable;
  for (const auto& [name, variable] : variables_) {
    if (variable.default_value) continue;
    bool resolvable = false;
    for (const auto& provider : providers_)
      resolvable = resolvable || provider->may_resolve(name);
    if (resolvable) continue;
    unresolvable += (unresolvable.empty() ? "Key(" : ", Key(") + debug_quote(name) + ")";
  }
  if (unresolvable.empty()) return std::nullopt;
  return "provider error: no provider resolved required variable(s): [" + unresolvable + "]";
}

Result<ResolvedVariables, std::string> resolve_variables(
    std::shared_ptr<const VariableResolver> resolver) {
  if (auto missing = resolver->check_required()) return *missing;
  ResolvedVariables out;
  std::vector<std::string> failed;
  for (const auto& [name, variable] : resolver->variables()) {
    auto value = resolver->resolve_application(name);
    if (value) {
      out.application.insert(name, std::move(value).value());
    } else {
      failed.push_back(name);
      out.warnings.push_back("variable " + debug_quote(name) + ": " + value.error().describe());
    }
  }
  for (const auto& [id, component] : resolver->templates()) {
    if (component.empty()) continue;
    OrderedMap<std::string> values;
    for (const auto& [name, parts] : component) {
      std::string value;
      bool complete = true;
      for (const TemplatePart& part : parts) {
        const std::string* known = part.kind == TemplatePart::Kind::kVariable
                                       ? out.application.find(part.text)
                                       : &part.text;
        complete = complete && known != nullptr;
        if (known) value += *known;
      }
      if (complete) values.insert(name, std::move(value));
    }
    out.components.insert(id, std::move(values));
  }
  out.resolver = std::move(resolver);
  return out;
}

Result<ResolvedVariables, ManifestError> resolve_variables(const Manifest& manifest,
                                                           const Environment& environment) {
  std::vector<std::unique_ptr<VariableProvider>> providers;
  providers.push_back(
      std::make_unique<EnvironmentProvider>(environment, "SPIN_VARIABLE", std::nullopt));
  auto resolver = VariableResolver::create(manifest, std::move(providers));
  if (!resolver) return std::move(resolver).error();
  auto resolved =
      resolve_variables(std::make_shared<const VariableResolver>(std::move(resolver).value()));
  if (!resolved) return ManifestError{manifest.file, "variables", 0, 0, resolved.error()};
  return std::move(resolved).value();
}

// ---- the environment provider -------------------------------------------------------

struct EnvironmentProvider::Dotenv {
  std::mutex mutex;
  std::optional<Environment> values;  // once read and parsed
};

EnvironmentProvider::EnvironmentProvider(Environment environment, std::string prefix,
                                         std::optional<std::string> dotenv_path)
    : environment_(std::move(environment)),
      prefix_(std::move(prefix)),
      dotenv_path_(std::move(dotenv_path)),
      dotenv_(std::make_unique<Dotenv>()) {}

EnvironmentProvider::~EnvironmentProvider() = default;

Result<std::optional<std::string>, VariableError> EnvironmentProvider::get(std::string_view name,
                                                                           Suspender*) const {
  const std::string key = environment_variable_name(name, prefix_);
  if (auto found = environment_.find(key); found != environment_.end())
    return std::optional<std::string>(found->second);
  if (!dotenv_path_) return std::optional<std::string>();
  std::lock_guard lock(dotenv_->mutex);
  if (!dotenv_->values) {
    // As Spin: a file that cannot be opened holds nothing; one that does not parse is an
    // error each time it is needed.
    std::ifstream in(*dotenv_path_, std::ios::binary);
    std::stringstream text;
    if (in) text << in.rdbuf();
    auto parsed = parse_dotenv(text.str(), environment_);
    if (!parsed) {
      return VariableError{
          VariableError::Kind::kProvider,
          "failed to read dotenv file " + debug_quote(*dotenv_path_) + ": " + parsed.error(),
          {}};
    }
    dotenv_->values.emplace();
    for (auto& [k, v] : *parsed)
      (*dotenv_->values)[k] = std::move(v);
  }
  if (auto found = dotenv_->values->find(key); found != dotenv_->values->end())
    return std::optional<std::string>(found->second);
  return std::optional<std::string>();
}

bool EnvironmentProvider::may_resolve(std::string_view name) const {
  auto found = get(name, nullptr);
  return found.ok() && found->has_value();
}

// ---- dotenv files -------------------------------------------------------------------

namespace {

// Joins physical lines into logical ones as the dotenv crate does: a quote left open at
// the end of a line continues onto the next, and ` #` starts a comment outside quotes.
class DotenvLines {
 public:
  explicit DotenvLines(std::string_view text) : text_(text) {}

  // The next logical line; nothing at the end; an error (its 1-based number) when the
  // file ends inside quotes or after an escape.
  Result<std::optional<std::string>, size_t> next() {
    enum class State { kComplete, kEscape, kStrong, kStrongEscape, kWeak, kWeakEscape, kSpace };
    std::string buf;
    State state = State::kComplete;
    first_line_ = line_ + 1;
    while (true) {
      if (text_.empty()) {
        if (state == State::kComplete) return std::optional<std::string>();
        return first_line_;
      }
      const size_t newline = text_.find('\n');
      const size_t take = newline == text_.npos ? text_.size() : newline + 1;
      const size_t start = buf.size();
      buf += text_.substr(0, take);
      text_.remove_prefix(take);
      ++line_;
      if (trim_start(buf).starts_with('#')) return std::optional<std::string>(std::string());
      for (size_t i = start; i < buf.size(); ++i) {
        const char c = buf[i];
        switch (state) {
          case State::kSpace:
            if (c == '#') {
              buf.resize(i);
              return std::optional<std::string>(std::move(buf));
            }
            [[fallthrough]];
          case State::kComplete:
            if (c == '\\') {
              state = State::kEscape;
            } else if (c == '"') {
              state = State::kWeak;
            } else if (c == '\'') {
              state = State::kStrong;
            } else if (state == State::kComplete && c != '\n' && c != '\r' &&
                       static_cast<unsigned char>(c) < 0x80 && is_white_space(c)) {
              state = State::kSpace;
            } else {
              state = State::kComplete;
            }
            break;
          case State::kEscape:
            state = State::kComplete;
            break;
          case State::kWeak:
            state = c == '\\' ? State::kWeakEscape : c == '"' ? State::kComplete : State::kWeak;
            break;
          case State::kWeakEscape:
            state = State::kWeak;
            break;
          case State::kStrong:
            state = c == '\\'   ? State::kStrongEscape
                    : c == '\'' ? State::kComplete
                                : State::kStrong;
            break;
          case State::kStrongEscape:
            state = State::kStrong;
            break;
        }
      }
      if (state == State::kComplete) {
        if (buf.ends_with('\n')) buf.pop_back();
        if (buf.ends_with('\r')) buf.pop_back();
        return std::optional<std::string>(std::move(buf));
      }
    }
  }

  size_t first_line() const { return first_line_; }

 private:
  std::string_view text_;
  size_t line_ = 0;
  size_t first_line_ = 0;
};

using Substitutions = std::map<std::string, std::optional<std::string>, std::less<>>;

bool is_key_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_key_char(char c) {
  return is_key_start(c) || is_digit(c) || c == '.';
}
bool is_alphanumeric(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c);
}

void substitute(const Environment& environment, const Substitutions& earlier,
                const std::string& name, std::string& out) {
  if (auto found = environment.find(name); found != environment.end()) {
    out += found->second;
  } else if (auto stored = earlier.find(name); stored != earlier.end() && stored->second) {
    out += *stored->second;
  }
}

// A value after `=`: quotes, escapes and substitutions; the error is the character index.
Result<std::string, size_t> parse_value(std::string_view input, const Environment& environment,
                                        const Substitutions& earlier) {
  enum class Substitution { kNone, kName, kBraced };
  bool strong = false, weak = false, escaped = false, expecting_end = false;
  Substitution mode = Substitution::kNone;
  std::string out, name;
  size_t index = 0;
  for (size_t i = 0; i < input.size(); i += char_at(input, i).size(), ++index) {
    const std::string_view ch = char_at(input, i);
    const char c = ch.size() == 1 ? ch[0] : '\x80';  // any non-ASCII character
    if (expecting_end) {
      if (c == ' ' || c == '\t') continue;
      if (c == '#') break;
      return index;
    } else if (escaped) {
      if (c == 'n') {
        out += '\n';
      } else if (c == '\\' || c == '\'' || c == '"' || c == '$' || c == ' ') {
        out += c;
      } else {
        return index;
      }
      escaped = false;
    } else if (strong) {
      if (c == '\'') {
        strong = false;
      } else {
        out += ch;
      }
    } else if (mode != Substitution::kNone) {
      if (is_alphanumeric(c)) {
        name += c;
      } else if (mode == Substitution::kBraced) {
        if (c == '}') {
          mode = Substitution::kNone;
          substitute(environment, earlier, name, out);
          name.clear();
        } else {
          name += ch;
        }
      } else if (c == '{' && name.empty()) {
        mode = Substitution::kBraced;
      } else {
        substitute(environment, earlier, name, out);
        name.clear();
        if (c == '$') {
          mode = Substitution::kName;
        } else {
          mode = Substitution::kNone;
          out += ch;
        }
      }
    } else if (c == '$') {
      mode = Substitution::kName;
    } else if (weak) {
      if (c == '"') {
        weak = false;
      } else if (c == '\\') {
        escaped = true;
      } else {
        out += ch;
      }
    } else if (c == '\'') {
      strong = true;
    } else if (c == '"') {
      weak = true;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == ' ' || c == '\t') {
      expecting_end = true;
    } else {
      out += ch;
    }
  }
  if (mode == Substitution::kBraced || strong || weak) return index == 0 ? 0 : index - 1;
  substitute(environment, earlier, name, out);
  return out;
}

}  // namespace

Result<std::vector<std::pair<std::string, std::string>>, std::string> parse_dotenv(
    std::string_view text, const Environment& environment) {
  std::vector<std::pair<std::string, std::string>> out;
  Substitutions earlier;
  DotenvLines lines(text);
  while (true) {
    auto next = lines.next();
    if (!next) return "line " + std::to_string(next.error()) + " is not closed";
    if (!*next) return out;
    const std::string& logical = **next;
    auto fail = [&](size_t at) {
      return "cannot parse line " + std::to_string(lines.first_line()) + " at position " +
             std::to_string(at);
    };
    std::string_view line = trim_start(trim_end(logical));
    const size_t indent = trim_end(logical).size() - line.size();
    if (line.empty() || line.starts_with('#')) continue;
    auto parse_key = [&](std::string& key) {
      if (line.empty() || !is_key_start(line[0])) return false;
      size_t end = 1;
      while (end < line.size() && is_key_char(line[end]))
        ++end;
      key = line.substr(0, end);
      line = trim_start(line.substr(end));
      return true;
    };
    auto expect_equal = [&] {
      if (!line.starts_with('=')) return false;
      line = trim_start(line.substr(1));
      return true;
    };
    auto position = [&] { return indent + (trim_start(trim_end(logical)).size() - line.size()); };
    std::string key;
    if (!parse_key(key)) return fail(position());
    if (key == "export" && !expect_equal()) {
      if (!parse_key(key) || !expect_equal()) return fail(position());
    } else if (key != "export" && !expect_equal()) {
      return fail(position());
    }
    if (line.empty() || line.starts_with('#')) {
      earlier[key] = std::nullopt;
      out.emplace_back(std::move(key), std::string());
      continue;
    }
    auto value = parse_value(line, environment, earlier);
    if (!value) return fail(value.error());
    earlier[key] = *value;
    out.emplace_back(std::move(key), std::move(value).value());
  }
}

}  // namespace gyre::app
