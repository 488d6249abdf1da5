#include "http/router.hpp"

#include <algorithm>
#include <memory>
#include <optional>

namespace gyre::http {

// routefinder's segment kinds. Exact holds literal text (a '.' that follows a literal is
// folded into it, as routefinder does).
struct Router::Segment {
  enum class Kind { slash, dot, exact, param, wildcard };
  Kind kind;
  std::string text;
};

struct Router::Spec {
  std::vector<Segment> segments;
  size_t dots = 0;
};

struct Router::Entry {
  Spec spec;
  std::string target;
  std::string based_route;
  std::string raw_route;
  bool trailing_wildcard = false;  // for listing: the route ended in "/..." or "/*"
  std::string listed_path;         // the route without its wildcard suffix
};

namespace {

using Segment = Router::Segment;
using Spec = Router::Spec;
using Kind = Router::Segment::Kind;

// Rust's `str::chars().nth(n)`, reduced to what routefinder compares it with: the lead byte
// of the n-th code point. routefinder indexes characters with byte offsets, so on non-ASCII
// text it looks at a later character than meant; Spin inherits that, and so do we.
std::optional<char> nth_char(std::string_view s, size_t n) {
  for (size_t i = 0; i < s.size(); ++i) {
    const auto byte = static_cast<unsigned char>(s[i]);
    if ((byte & 0xc0) == 0x80) continue;  // continuation byte: not a character start
    if (n == 0) return s[i];
    --n;
  }
  return std::nullopt;
}

std::string_view trim_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == '/')
    s.remove_suffix(1);
  return s;
}

// routefinder's RouteSpec::from_str.
Result<Spec, std::string> parse_spec(std::string_view source) {
  const std::string_view trimmed = trim_slashes(source);
  Spec spec;
  auto& acc = spec.segments;
  size_t last = 0;
  for (size_t index = 0;; ++index) {
    const bool at_end = index == trimmed.size();
    if (!at_end && trimmed[index] != '.' && trimmed[index] != '/') continue;
    const std::optional<char> first = last == 0 ? std::nullopt : nth_char(trimmed, last - 1);
    const std::string_view section = trimmed.substr(last, index - last);
    last = index + 1;

    std::optional<Segment> segment;
    if (section == "*") {
      segment = Segment{Kind::wildcard, {}};
    } else if (!section.empty() && section[0] == '*') {
      return std::string(
                 "since there can only be one wildcard, it doesn't need a name. replace `") +
             std::string(section) + "` with `*`";
    } else if (section == ":") {
      return std::string("params must be named");
    } else if (!section.empty() && section[0] == ':') {
      segment = Segment{Kind::param, std::string(section.substr(1))};
    } else if (!section.empty()) {
      segment = Segment{Kind::exact, std::string(section)};
    }

    if (first == '.') {
      if (!acc.empty() && acc.back().kind == Kind::exact) {
        acc.back().text.push_back('.');
      } else {
        acc.push_back(Segment{Kind::dot, {}});
      }
    }
    if (segment) {
      if (first == '/') acc.push_back(Segment{Kind::slash, {}});
      acc.push_back(std::move(*segment));
    }
    if (at_end) break;
  }
  spec.dots = static_cast<size_t>(
      std::count_if(acc.begin(), acc.end(), [](const Segment& s) { return s.kind == Kind::dot; }));
  return spec;
}

// routefinder's `impl Ord for Segment`, arm by arm; it is not a consistent order (a dot
// is greater than a literal and a literal greater than a dot), which matters below.
int compare_segments(Kind a, Kind b) {
  auto is = [](Kind k, std::initializer_list<Kind> ks) {
    return std::find(ks.begin(), ks.end(), k) != ks.end();
  };
  if ((a == b && a != Kind::dot && a != Kind::slash) ||
      (is(a, {Kind::dot, Kind::slash}) && is(b, {Kind::dot, Kind::slash}))) {
    return 0;
  }
  if (a == Kind::dot) return 1;
  if (a == Kind::exact) return 1;
  if (a == Kind::param) return b == Kind::exact ? -1 : 1;
  if (a == Kind::wildcard) return (b == Kind::exact || b == Kind::param) ? -1 : 1;
  return -1;  // a slash against a literal, parameter or wildcard
}

// routefinder's `impl Ord for RouteSpec`: never equal; on a tie the new route sorts after.
int compare_specs(const Spec& self, const Spec& other) {
  const size_t n = std::min(self.segments.size(), other.segments.size());
  for (size_t i = 0; i < n; ++i) {
    const int c = compare_segments(self.segments[i].kind, other.segments[i].kind);
    if (c != 0) return -c;
  }
  if (self.dots != other.dots) return self.dots < other.dots ? 1 : -1;
  if (other.segments.size() != self.segments.size()) {
    return other.segments.size() < self.segments.size() ? 1 : -1;
  }
  return 1;
}

// routefinder keeps routes in a Rust BTreeMap keyed by that comparison. Because the
// comparison is inconsistent where dots meet literals, the iteration order depends on the
// B-tree's shape, so this replays std's BTreeMap insertion (B = 6: at most 11 keys a node,
// its split points) and reads the keys back in order.
class BTreeOrder {
 public:
  explicit BTreeOrder(const std::vector<Spec>& specs) : specs_(specs) {}

  void insert(size_t key) {
    if (!root_) {
      root_ = std::make_unique<Node>();
      root_->keys.push_back(key);
      return;
    }
    // Descend, remembering the edge taken at each internal node.
    std::vector<std::pair<Node*, size_t>> path;
    Node* node = root_.get();
    for (;;) {
      size_t idx = 0;
      while (idx < node->keys.size() && compare_specs(specs_[key], specs_[node->keys[idx]]) > 0) {
        ++idx;
      }
      if (node->edges.empty()) {
        path.emplace_back(node, idx);
        break;
      }
      path.emplace_back(node, idx);
      node = node->edges[idx].get();
    }

    size_t up_key = key;
    std::unique_ptr<Node> up_right;  // null while inserting into the leaf
    for (size_t level = path.size(); level-- > 0;) {
      auto [at, idx] = path[level];
      if (at->keys.size() < kCapacity) {
        insert_fit(*at, idx, up_key, std::move(up_right));
        return;
      }
      // Full: split around a middle key chosen by where the insertion falls.
      const auto [middle, left_side, insert_idx] = split_point(idx);
      auto right = std::make_unique<Node>();
      right->keys.assign(at->keys.begin() + static_cast<long>(middle) + 1, at->keys.end());
      const size_t middle_key = at->keys[middle];
      at->keys.resize(middle);
      if (!at->edges.empty()) {
        for (size_t e = middle + 1; e < at->edges.size(); ++e) {
          right->edges.push_back(std::move(at->edges[e]));
        }
        at->edges.resize(middle + 1);
      }
      insert_fit(left_side ? *at : *right, insert_idx, up_key, std::move(up_right));
      up_key = middle_key;
      up_right = std::move(right);
    }
    auto new_root = std::make_unique<Node>();
    new_root->keys.push_back(up_key);
    new_root->edges.push_back(std::move(root_));
    new_root->edges.push_back(std::move(up_right));
    root_ = std::move(new_root);
  }

  std::vector<size_t> in_order() const {
    std::vector<size_t> out;
    if (root_) walk(*root_, out);
    return out;
  }

 private:
  static constexpr size_t kB = 6;
  static constexpr size_t kCapacity = 2 * kB - 1;

  struct Node {
    std::vector<size_t> keys;
    std::vector<std::unique_ptr<Node>> edges;  // empty for a leaf
  };

  struct Split {
    size_t middle;
    bool left;
    size_t index;
  };

  // std's btree::node::splitpoint.
  static Split split_point(size_t edge_idx) {
    constexpr size_t kCenter = kB - 1;
    if (edge_idx < kCenter) return {kCenter - 1, true, edge_idx};
    if (edge_idx == kCenter) return {kCenter, true, edge_idx};
    if (edge_idx == kB) return {kCenter, false, 0};
    return {kCenter + 1, false, edge_idx - (kCenter + 2)};
  }

  static void insert_fit(Node& node, size_t idx, size_t key, std::unique_ptr<Node> right) {
    node.keys.insert(node.keys.begin() + static_cast<long>(idx), key);
    if (right) node.edges.insert(node.edges.begin() + static_cast<long>(idx) + 1, std::move(right));
  }

  static void walk(const Node& node, std::vector<size_t>& out) {
    for (size_t i = 0; i < node.keys.size(); ++i) {
      if (!node.edges.empty()) walk(*node.edges[i], out);
      out.push_back(node.keys[i]);
    }
    if (!node.edges.empty()) walk(*node.edges.back(), out);
  }

  const std::vector<Spec>& specs_;
  std::unique_ptr<Node> root_;
};

enum class MatchOutcome { matched, no_match, broken };

// routefinder's RouteSpec::inner_match plus matches(); captures in segment order.
MatchOutcome match_spec(const Spec& spec, std::string_view full_path,
                        std::vector<std::string_view>& captures) {
  std::string_view path = trim_slashes(full_path);
  const auto& segs = spec.segments;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment* next = i + 1 < segs.size() ? &segs[i + 1] : nullptr;
    switch (segs[i].kind) {
      case Kind::exact:
        if (!path.starts_with(segs[i].text)) return MatchOutcome::no_match;
        path.remove_prefix(segs[i].text.size());
        break;
      case Kind::param: {
        if (path.empty()) return MatchOutcome::no_match;
        if (!next || next->kind == Kind::slash) {
          const size_t slash = path.find('/');
          const std::string_view capture = path.substr(0, slash);
          captures.push_back(capture);
          path.remove_prefix(capture.size());
        } else if (next->kind == Kind::dot) {
          const size_t index = path.find_first_of("./");
          if (index == std::string_view::npos) return MatchOutcome::no_match;
          if (nth_char(path, index) != '.') return MatchOutcome::no_match;
          captures.push_back(path.substr(0, index));
          path.remove_prefix(index);  // the dot stays for the Dot segment
        } else {
          return MatchOutcome::broken;  // routefinder panics: param before a literal
        }
        break;
      }
      case Kind::wildcard:
        if (next) return MatchOutcome::broken;  // routefinder panics: wildcard mid-route
        captures.push_back(path);
        path = {};
        break;
      case Kind::slash:
        if (!path.empty() && path.front() == '/' && next) {
          path.remove_prefix(1);
        } else if (path.empty() && (!next || next->kind == Kind::wildcard)) {
          // matches nothing: `/foo/*` matches `foo`
        } else {
          return MatchOutcome::no_match;
        }
        break;
      case Kind::dot:
        if (path.empty() || path.front() != '.') return MatchOutcome::no_match;
        path.remove_prefix(1);
        break;
    }
  }
  return (path.empty() || path == "/") ? MatchOutcome::matched : MatchOutcome::no_match;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.ends_with(suffix);
}

// Spin's `sanitize`: strips one trailing slash.
std::string_view strip_one_slash(std::string_view s) {
  if (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

std::string sanitize_with_base(std::string_view base, std::string_view route) {
  std::string absolute = route.starts_with('/') ? std::string(route) : "/" + std::string(route);
  return std::string(strip_one_slash(base)) + std::string(strip_one_slash(absolute));
}

// Spin's parse_route: the routefinder spec for a based route, and whether it is a
// trailing-wildcard route (with the route minus its wildcard suffix).
Result<std::pair<Spec, std::string>, std::string> parse_route(std::string_view based,
                                                              bool& wildcard) {
  if (ends_with(based, "/...")) {
    const std::string_view prefix = based.substr(0, based.size() - 4);
    wildcard = true;
    auto spec = parse_spec(std::string(prefix) + "/*");
    if (!spec) return std::move(spec).error();
    return std::pair{std::move(spec).value(), std::string(prefix)};
  }
  wildcard = ends_with(based, "/*");
  auto spec = parse_spec(based);
  if (!spec) return std::move(spec).error();
  return std::pair{std::move(spec).value(),
                   std::string(wildcard ? based.substr(0, based.size() - 2) : based)};
}

}  // namespace

Router::Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;
Router::~Router() = default;

Result<Router, RouterError> Router::build(std::string_view base,
                                          std::span<const RouteEntry> entries,
                                          std::vector<DuplicateRoute>* duplicates) {
  // Spin keeps routes in an IndexMap keyed by the route as written: a repeat replaces the
  // earlier entry's target in place (the position stays the first one's).
  struct Pending {
    std::string raw;
    std::string based;
    std::string target;
  };
  std::vector<Pending> pending;
  for (const RouteEntry& entry : entries) {
    if (entry.route.private_endpoint) {
      if (*entry.route.private_endpoint) continue;
      return RouterError{"route must be a string pattern or '{ private = true }': '" +
                         entry.target + "' has { private = false }"};
    }
    const std::string& raw = entry.route.pattern;
    Pending next{raw, sanitize_with_base(base, raw), entry.target};
    auto same = std::find_if(pending.begin(), pending.end(),
                             [&](const Pending& p) { return p.raw == raw; });
    if (same == pending.end()) {
      pending.push_back(std::move(next));
      continue;
    }
    if (duplicates) {
      duplicates->push_back(
          DuplicateRoute{same->based.empty() ? "/" : same->based, same->target, next.target});
    }
    *same = std::move(next);
  }

  std::vector<Spec> specs;
  std::vector<Entry> staged;
  for (Pending& p : pending) {
    bool wildcard = false;
    auto parsed = parse_route(p.based, wildcard);
    if (!parsed) {
      return RouterError{"Error parsing route " + p.based + " associated with component " +
                         p.target + ": " + parsed.error()};
    }
    auto [spec, listed] = std::move(parsed).value();
    specs.push_back(spec);
    staged.push_back(Entry{std::move(spec), std::move(p.target), std::move(p.based),
                           std::move(p.raw), wildcard, std::move(listed)});
  }

  BTreeOrder order(specs);
  for (size_t i = 0; i < specs.size(); ++i)
    order.insert(i);

  Router router;
  for (size_t i : order.in_order())
    router.entries_.push_back(std::move(staged[i]));
  return router;
}

RouteResult Router::route(std::string_view path) const {
  std::vector<std::string_view> captures;
  for (const Entry& entry : entries_) {
    captures.clear();
    const MatchOutcome outcome = match_spec(entry.spec, path, captures);
    if (outcome == MatchOutcome::broken) return RouteResult{RouteStatus::broken_route, {}};
    if (outcome == MatchOutcome::no_match) continue;

    RouteMatch m;
    m.target = entry.target;
    m.based_route = entry.based_route;
    m.raw_route = entry.raw_route;
    std::optional<std::string_view> wildcard;
    size_t c = 0;
    for (const Segment& seg : entry.spec.segments) {
      if (seg.kind == Kind::param && c < captures.size()) {
        const std::string_view value = captures[c++];
        // Spin collects the captures into a HashMap: a repeated name keeps the last value.
        auto it = std::find_if(m.params.begin(), m.params.end(),
                               [&](const auto& p) { return p.first == seg.text; });
        if (it != m.params.end()) {
          it->second = std::string(value);
        } else {
          m.params.emplace_back(seg.text, std::string(value));
        }
      } else if (seg.kind == Kind::wildcard && c < captures.size()) {
        wildcard = captures[c++];
      }
    }
    if (wildcard) {
      // Spin puts back the slashes routefinder trims.
      const bool slash = path.ends_with('/');
      if (wildcard->empty()) {
        m.path_info = slash ? "/" : "";
      } else {
        m.path_info = "/" + std::string(*wildcard) + (slash ? "/" : "");
      }
    }
    return RouteResult{RouteStatus::matched, std::move(m)};
  }
  return RouteResult{RouteStatus::not_found, {}};
}

std::vector<RouteListing> Router::routes() const {
  std::vector<RouteListing> out;
  for (const Entry& e : entries_) {
    RouteListing r;
    r.target = e.target;
    r.wildcard = e.trailing_wildcard;
    r.display = e.trailing_wildcard ? e.listed_path + " (wildcard)" : e.listed_path;
    r.path = e.listed_path.empty() ? "/" : e.listed_path;
    out.push_back(std::move(r));
  }
  return out;
}

bool Router::contains_reserved_route() const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [](const Entry& e) { return e.based_route.starts_with(kWellKnownPrefix); });
}

std::string_view RouteMatch::raw_route_or_prefix() const {
  std::string_view r = raw_route;
  if (r.ends_with("/...")) r.remove_suffix(4);
  return r;
}

std::string_view RouteMatch::based_route_or_prefix() const {
  std::string_view r = based_route;
  if (r.ends_with("/...")) r.remove_suffix(4);
  return r;
}

const std::string* RouteMatch::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

std::optional<std::string> check_route_pattern(std::string_view pattern) {
  bool wildcard = false;
  auto parsed = parse_route(sanitize_with_base("/", pattern), wildcard);
  if (parsed) return std::nullopt;
  return parsed.error();
}

namespace {

// Spin's prepare_header_key applied to `SPIN_PATH_MATCH_<NAME>`.
std::string header_key(std::string_view name) {
  std::string out;
  for (char ch : name) {
    if (ch == '_') {
      out.push_back('-');
    } else if (ch >= 'A' && ch <= 'Z') {
      out.push_back(static_cast<char>(ch - 'A' + 'a'));
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

}  // namespace

Headers spin_headers(const RouteMatch& match, std::string_view full_url,
                     std::string_view client_address) {
  Headers out;
  out.push_back({"spin-path-info", match.path_info});
  out.push_back({"spin-full-url", std::string(full_url)});
  out.push_back({"spin-matched-route", match.based_route});
  out.push_back({"spin-base-path", "/"});
  out.push_back({"spin-raw-component-route", match.raw_route});
  out.push_back({"spin-component-route", std::string(match.raw_route_or_prefix())});
  out.push_back({"spin-client-addr", std::string(client_address)});
  for (const auto& [name, value] : match.params) {
    out.push_back({"spin-path-match-" + header_key(name), value});
  }
  return out;
}

std::string full_url(std::string_view scheme, std::optional<std::string_view> host_header,
                     std::string_view path_and_query) {
  std::string url(scheme);
  url += "://";
  url += host_header ? *host_header : std::string_view("localhost");
  url += path_and_query.empty() ? std::string_view("/") : path_and_query;
  return url;
}

bool is_service_chaining_host(std::string_view host) {
  const size_t colon = host.rfind(':');
  if (colon != std::string_view::npos) host = host.substr(0, colon);
  const size_t dot = host.find('.');
  return dot != std::string_view::npos && host.substr(dot + 1) == "spin.internal";
}

namespace {

bool path_byte_ok(unsigned char b) {
  return b == 0x21 || (b >= 0x24 && b <= 0x3b) || b == 0x3d || (b >= 0x40 && b <= 0x5f) ||
         (b >= 0x61 && b <= 0x7a) || b == 0x7c || b == 0x7e || b >= 0x80 || b == '"' || b == '{' ||
         b == '}';
}

bool query_byte_ok(unsigned char b) {
  return b == 0x21 || (b >= 0x24 && b <= 0x3b) || b == 0x3d || (b >= 0x3f && b <= 0x7e) ||
         b >= 0x80;
}

bool valid_utf8_bytes(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80             ? 1
               : (b & 0xe0) == 0xc0 ? 2
               : (b & 0xf0) == 0xe0 ? 3
               : (b & 0xf8) == 0xf0 ? 4
                                    : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += n;
  }
  return true;
}

// The http crate's PathAndQuery scan: path bytes, then query bytes, a fragment dropped.
std::optional<RequestTarget> parse_path_and_query(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (s == "*") return RequestTarget{"*", "*", std::nullopt};
  if (s[0] != '/' && s[0] != '?' && s[0] != '#') return std::nullopt;
  size_t i = 0;
  std::optional<size_t> query;
  size_t end = s.size();
  for (; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b == '?') {
      query = i++;
      break;
    }
    if (b == '#') {
      end = i;
      break;
    }
    if (!path_byte_ok(b)) return std::nullopt;
  }
  if (query) {
    for (; i < s.size(); ++i) {
      const auto b = static_cast<unsigned char>(s[i]);
      if (b == '#') {
        end = i;
        break;
      }
      if (!query_byte_ok(b)) return std::nullopt;
    }
  }
  const std::string_view data = s.substr(0, end);
  if (!valid_utf8_bytes(data)) return std::nullopt;
  std::string_view path = query ? data.substr(0, *query) : data;
  RequestTarget t;
  t.path = path.empty() ? "/" : std::string(path);
  t.path_and_query = data.empty() ? "/" : std::string(data);
  return t;
}

bool authority_byte_ok(unsigned char b) {
  // Unreserved, sub-delims, ':', '@', '[', ']' and percent escapes.
  return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') ||
         std::string_view("-._~!$&'()*+,;=:@[]%").find(static_cast<char>(b)) !=
             std::string_view::npos;
}

}  // namespace

std::optional<RequestTarget> parse_request_target(std::string_view target) {
  if (target.empty()) return std::nullopt;
  if (target[0] == '/' || target == "*") return parse_path_and_query(target);

  // Absolute form `scheme://authority[path]`, or authority form `host:port`.
  std::string_view rest = target;
  bool has_scheme = false;
  if (const size_t sep = target.find("://"); sep != std::string_view::npos && sep > 0) {
    const std::string_view scheme = target.substr(0, sep);
    const bool scheme_ok = std::all_of(scheme.begin(), scheme.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '-' || c == '.';
    });
    if (!scheme_ok) return std::nullopt;
    has_scheme = true;
    rest = target.substr(sep + 3);
  }
  const size_t end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, end);
  if (authority.empty() && has_scheme) return std::nullopt;
  for (char c : authority) {
    if (!authority_byte_ok(static_cast<unsigned char>(c))) return std::nullopt;
  }
  RequestTarget t;
  t.authority = std::string(authority);
  if (end == std::string_view::npos) {
    // No path: the http crate reports "/" when there is a scheme, "" for authority form.
    t.path = has_scheme ? "/" : "";
    t.path_and_query = "/";
    return t;
  }
  if (!has_scheme) return std::nullopt;
  auto pq = parse_path_and_query(rest.substr(end));
  if (!pq) return std::nullopt;
  pq->authority = t.authority;
  return pq;
}

}  // namespace gyre::http
