// Spin's HashiCorp Vault variables provider: each lookup reads one secret of a KV version 2
// engine, as Spin does through its Vault client, so values changed in Vault are seen
// at once. Variable `api_key` is the secret `[PREFIX/]api_key` of mount MOUNT; its value is
// the secret's `value` field. A secret Vault does not have (404) passes the lookup on to
// the next provider; any other failure stops it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "app/variables.hpp"
#include "base/result.hpp"

namespace gyre::spin::variables {

struct VaultConfig {
  std::string url;    // the server, "http://127.0.0.1:8200"
  std::string token;  // sent as X-Vault-Token
  std::string mount;  // the KV v2 engine's mount, "secret"
  std::optional<std::string> prefix;
};

// Where the secret for `variable` is read: URL + "/v1/" + MOUNT + "/data/" + [PREFIX/]name,
// joined as Spin's client joins them; nothing for a URL that is not http(s).
std::optional<std::string> vault_secret_url(const VaultConfig& config, std::string_view variable);

class VaultProvider final : public app::VariableProvider {
 public:
  explicit VaultProvider(VaultConfig config);
  ~VaultProvider() override;
  // Reads the secret over HTTP, waiting for Vault through `suspender` (null: it blocks).
  Result<std::optional<std::string>, app::VariableError> get(std::string_view name,
                                                             Suspender* suspender) const override;

 private:
  VaultConfig config_;
};

}  // namespace gyre::spin::variables
