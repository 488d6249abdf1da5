// Outgoing HTTP over the network, with libcurl. One thread drives every transfer through
// curl's multi interface, so connections are kept and reused across requests (and across
// components); each request's body and response stream through its Exchange, and the
// transfer pauses when one side is not keeping up.
#pragma once

#include <memory>

#include "http/outbound.hpp"

namespace gyre::http {

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();  // ends the transfers in flight (their guests see an error) and joins
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts sending; the response (or the error-code) arrives through the exchange. The
  // request must have an authority.
  void send(const OutboundRequest& request, std::shared_ptr<Exchange> exchange);

 private:
  class Driver;
  std::unique_ptr<Driver> driver_;
};

}  // namespace gyre::http
