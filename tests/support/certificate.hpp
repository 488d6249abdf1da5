// A throwaway self-signed TLS certificate for 127.0.0.1, for tests that serve HTTPS.
#pragma once

#include <filesystem>
#include <string>

namespace gyre::testing {

struct CertificateFiles {
  std::string cert_chain_file;   // PEM
  std::string private_key_file;  // PEM
};

// Writes cert.pem and key.pem (EC P-256, valid for a year) into `dir`.
CertificateFiles make_certificate(const std::filesystem::path& dir);

}  // namespace gyre::testing
