// The fixed texts of HTTP/1.1 that a server writes and reads itself: reason phrases, the
// `date` header, decimal lengths.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gyre::http {

// The http crate's canonical reason phrase, as hyper writes it; "<none>" for codes it lacks.
std::string_view reason_phrase(unsigned status);

// Now as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as hyper's `date` header.
std::string http_date();

// A content-length: decimal digits only, no sign, no spaces.
std::optional<uint64_t> parse_length(std::string_view text);

}  // namespace gyre::http
