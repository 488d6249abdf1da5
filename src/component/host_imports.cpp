#include "component/host_imports.hpp"

namespace gyre::component {

std::string semver_key(std::string_view name) {
  const size_t at = name.rfind('@');
  if (at == std::string_view::npos) return std::string(name);
  const std::string_view version = name.substr(at + 1);
  // Prereleases and build metadata match only themselves.
  if (version.find_first_of("-+") != std::string_view::npos) return std::string(name);
  const size_t first = version.find('.');
  if (first == std::string_view::npos) return std::string(name);
  const std::string_view major = version.substr(0, first);
  if (major != "0") return std::string(name.substr(0, at + 1)) + std::string(major);
  const size_t second = version.find('.', first + 1);
  const std::string_view minor = version.substr(
      first + 1, second == std::string_view::npos ? std::string_view::npos : second - first - 1);
  if (minor == "0") return std::string(name);  // 0.0.z: exact
  return std::string(name.substr(0, at + 1)) + "0." + std::string(minor);
}

HostInterface& HostImports::interface(std::string_view name) {
  return interfaces_[semver_key(name)];
}

void HostImports::define_function(std::string_view name, HostFunction function) {
  functions_[std::string(name)] = std::move(function);
}

const HostInterface* HostImports::find(std::string_view name) const {
  auto it = interfaces_.find(semver_key(name));
  return it == interfaces_.end() ? nullptr : &it->second;
}

const HostFunction* HostImports::find_function(std::string_view name) const {
  auto it = functions_.find(name);
  return it == functions_.end() ? nullptr : &it->second;
}

}  // namespace gyre::component
