// HTTP header fields as every layer holds them — the server's request and response heads,
// wasi:http's fields, outgoing requests and their responses — so that a head crosses from
// one layer to the next by moving, never by copying into another shape.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gyre::http {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// First value of a header, by case-insensitive name.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

}  // namespace gyre::http
