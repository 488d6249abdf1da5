// A minimal HTTP/1.1 client for tests: one request per connection, to 127.0.0.1 only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace gyre::testing {

struct HttpResponse {
  int status = 0;  // 0: no response (connection failed or closed)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& lower_name) const;
};

HttpResponse http_request(uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = "",
                          const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace gyre::testing
