#include "app/variables.hpp"

#include <cstdint>
#include <optional>

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

std::string_view trim(std::string_view text) {
  while (!text.empty()) {
    auto c = decode_at(text, 0);
    if (!c || !is_white_space(c->first)) break;
    text.remove_prefix(c->second);
  }
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

std::optional<std::string> expand(const Template& parts, const OrderedMap<std::string>& values,
                                  std::string& out) {
  for (const TemplatePart& part : parts) {
    if (part.kind == TemplatePart::Kind::kLiteral) {
      out += part.text;
    } else if (const std::string* value = values.find(part.text)) {
      out += *value;
    } else {
      return "unknown variable " + debug_quote(part.text);
    }
  }
  return std::nullopt;
}

}  // namespace

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

std::string environment_variable_name(std::string_view variable) {
  std::string name = "SPIN_VARIABLE_";
  for (char c : variable)
    name += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  return name;
}

Result<std::string, TemplateError> expand_template(std::string_view text,
                                                   const OrderedMap<std::string>& application) {
  auto parts = parse_template(text);
  if (!parts) return parts.error();
  std::string out;
  if (auto why = expand(*parts, application, out)) return TemplateError{*why};
  return out;
}

Result<ResolvedVariables, ManifestError> resolve_variables(const Manifest& manifest,
                                                           const Environment& environment) {
  ResolvedVariables resolved;
  for (const auto& [name, variable] : manifest.variables) {
    const std::string env_name = environment_variable_name(name);
    if (auto found = environment.find(env_name); found != environment.end()) {
      resolved.application.insert(name, found->second);
    } else if (variable.default_value) {
      resolved.application.insert(name, *variable.default_value);
    } else {
      return ManifestError{manifest.file, "variables." + name, 0, 0,
                           "no value for required variable " + debug_quote(name) +
                               ": set the environment variable " + env_name};
    }
  }
  for (const auto& [id, component] : manifest.components) {
    if (component.variables.empty()) continue;
    OrderedMap<std::string> values;
    for (const auto& [name, text] : component.variables) {
      auto fail = [&](const std::string& why) {
        return ManifestError{manifest.file, "component." + id + ".variables." + name, 0, 0,
                             "invalid variable template: " + why};
      };
      auto parts = parse_template(text);
      if (!parts) return fail(parts.error().message);
      std::string value;
      if (auto why = expand(*parts, resolved.application, value)) return fail(*why);
      values.insert(name, std::move(value));
    }
    resolved.components.insert(id, std::move(values));
  }
  return resolved;
}

}  // namespace gyre::app
