#include "app/files.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <span>
#include <system_error>
#include <utility>

#include "base/utf8.hpp"

namespace gyre::app {
namespace {

namespace fs = std::filesystem;

// ---- globs ----------------------------------------------------------------------------

// A glob as Spin's `glob` crate (0.3) reads it, matched with the crate's default options:
// case-sensitive, `*` and `?` also match a leading dot, and (when matching whole paths)
// `*` also matches `/`. `**` must be a whole path component and matches any number of
// them; `[abc]`, `[a-z]` and `[!...]` are character classes; there is no escape
// character. Matching follows the crate so that the same patterns match the same paths.
class Glob {
 public:
  static Result<Glob, std::string> compile(std::string_view text);

  bool matches(std::string_view text) const;
  bool recursive() const { return recursive_; }
  // The component's text when it has no wildcard: looked up, not listed.
  const std::optional<std::string>& literal() const { return literal_; }

 private:
  enum class Kind { kChar, kAnyChar, kSequence, kRecursive, kWithin, kExcept };
  struct Token {
    Kind kind = Kind::kChar;
    char32_t c = 0;
    std::vector<std::pair<char32_t, char32_t>> ranges;  // kWithin, kExcept
  };
  // The crate tells a mismatch that a later start could still fix from one that no
  // start can, which keeps `*` from retrying in vain.
  enum class Outcome { kMatch, kSubMismatch, kEntireMismatch };

  Outcome match_from(size_t token, const std::vector<char32_t>& text, size_t at,
                     bool after_separator) const;

  std::vector<Token> tokens_;
  bool recursive_ = false;
  std::optional<std::string> literal_;
};

std::string syntax_error(size_t position, std::string_view why) {
  return "Pattern syntax error near position " + std::to_string(position) + ": " + std::string(why);
}

std::vector<std::pair<char32_t, char32_t>> char_class(std::span<const char32_t> chars) {
  std::vector<std::pair<char32_t, char32_t>> out;
  for (size_t i = 0; i < chars.size();) {
    if (i + 3 <= chars.size() && chars[i + 1] == '-') {
      out.emplace_back(chars[i], chars[i + 2]);
      i += 3;
    } else {
      out.emplace_back(chars[i], chars[i]);
      ++i;
    }
  }
  return out;
}

Result<Glob, std::string> Glob::compile(std::string_view text) {
  constexpr std::string_view kRecursiveError =
      "recursive wildcards must form a single path component";
  const std::vector<char32_t> chars = decode_utf8(text);
  const size_t n = chars.size();
  Glob glob;
  auto& tokens = glob.tokens_;
  size_t i = 0;
  while (i < n) {
    if (chars[i] == '?') {
      tokens.push_back({Kind::kAnyChar, 0, {}});
      ++i;
    } else if (chars[i] == '*') {
      const size_t start = i;
      while (i < n && chars[i] == '*')
        ++i;
      if (i - start > 2) {
        return syntax_error(start + 2, "wildcards are either regular `*` or recursive `**`");
      }
      if (i - start == 1) {
        tokens.push_back({Kind::kSequence, 0, {}});
        continue;
      }
      if (start != 0 && chars[start - 1] != '/') return syntax_error(start - 1, kRecursiveError);
      if (i < n && chars[i] == '/') {
        ++i;  // the separator after `**` belongs to it
      } else if (i != n) {
        return syntax_error(i, kRecursiveError);
      }
      if (!(tokens.size() > 1 && tokens.back().kind == Kind::kRecursive)) {
        glob.recursive_ = true;
        tokens.push_back({Kind::kRecursive, 0, {}});
      }
    } else if (chars[i] == '[') {
      // `[!` needs two more characters and `[` one before the closing `]`, so `[]]` and
      // `[!]]` are classes holding `]`.
      const bool negated = i + 4 <= n && chars[i + 1] == '!';
      const size_t search = i + (negated ? 3 : 2);
      if (negated || (i + 3 <= n && chars[i + 1] != '!')) {
        const auto close = std::find(chars.begin() + search, chars.end(), U']');
        if (close != chars.end()) {
          const size_t first = i + (negated ? 2 : 1);
          const size_t end = static_cast<size_t>(close - chars.begin());
          tokens.push_back({negated ? Kind::kExcept : Kind::kWithin, 0,
                            char_class(std::span(chars).subspan(first, end - first))});
          i = end + 1;
          continue;
        }
      }
      return syntax_error(i, "invalid range pattern");
    } else {
      tokens.push_back({Kind::kChar, chars[i], {}});
      ++i;
    }
  }
  if (std::all_of(tokens.begin(), tokens.end(),
                  [](const Token& t) { return t.kind == Kind::kChar; }))
    glob.literal_ = std::string(text);
  return glob;
}

bool Glob::matches(std::string_view text) const {
  if (!valid_utf8(text)) return false;  // the crate cannot see names that are not UTF-8
  return match_from(0, decode_utf8(text), 0, true) == Outcome::kMatch;
}

Glob::Outcome Glob::match_from(size_t token, const std::vector<char32_t>& text, size_t at,
                               bool after_separator) const {
  for (; token < tokens_.size(); ++token) {
    const Token& t = tokens_[token];
    if (t.kind == Kind::kSequence || t.kind == Kind::kRecursive) {
      Outcome rest = match_from(token + 1, text, at, after_separator);
      if (rest != Outcome::kSubMismatch) return rest;
      while (at < text.size()) {
        after_separator = text[at++] == '/';
        // `**` resumes only right after a separator: it spans whole components.
        if (t.kind == Kind::kRecursive && !after_separator) continue;
        rest = match_from(token + 1, text, at, after_separator);
        if (rest != Outcome::kSubMismatch) return rest;
      }
      continue;  // the text is used up: the remaining tokens must match nothing
    }
    if (at == text.size()) return Outcome::kEntireMismatch;
    const char32_t c = text[at++];
    auto in_class = [&] {
      return std::any_of(t.ranges.begin(), t.ranges.end(),
                         [c](const auto& r) { return r.first <= c && c <= r.second; });
    };
    bool ok = true;
    switch (t.kind) {
      case Kind::kChar:
        ok = c == t.c;
        break;
      case Kind::kWithin:
        ok = in_class();
        break;
      case Kind::kExcept:
        ok = !in_class();
        break;
      default:
        break;
    }
    if (!ok) return Outcome::kSubMismatch;
    after_separator = c == '/';
  }
  return at == text.size() ? Outcome::kMatch : Outcome::kSubMismatch;
}

bool looks_like_glob(std::string_view text) {
  return text.find_first_of("?*[]") != std::string_view::npos;
}

// ---- paths ----------------------------------------------------------------------------

// A path's components as Rust's Path::components() sees them: empty ones and `.` gone.
std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

std::string joined(const std::vector<std::string>& parts, std::string_view prefix = "") {
  std::string out(prefix);
  for (const std::string& part : parts) {
    if (!out.empty() && out.back() != '/') out += '/';
    out += part;
  }
  return out;
}

std::string join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  if (out.back() != '/') out += '/';
  return out + std::string(b);
}

// `path` relative to `base`, compared component by component and without resolving
// `..`, as Rust's strip_prefix does; nothing when base is not a prefix.
std::optional<std::string> strip_prefix(const fs::path& base, const fs::path& path) {
  const auto b = components(base.string()), p = components(path.string());
  if (p.size() < b.size() || !std::equal(b.begin(), b.end(), p.begin())) return std::nullopt;
  return joined(std::vector<std::string>(p.begin() + static_cast<ptrdiff_t>(b.size()), p.end()));
}

bool inside(const fs::path& real, const fs::path& root) {
  const std::string& r = root.native();
  const std::string& p = real.native();
  if (p.size() < r.size() || p.compare(0, r.size(), r) != 0) return false;
  return p.size() == r.size() || r.back() == '/' || p[r.size()] == '/';
}

std::string in_quotes(std::string_view text) {
  return '"' + std::string(text) + '"';
}

// ---- walking --------------------------------------------------------------------------

// A regular file a walk found: the host path as walked, and its path from the start.
struct Found {
  fs::path host;
  std::string relative;
};

// Finds the files matching a glob's components below a directory, in the glob crate's
// way (literal components looked up, others listed; symbolic links followed), except
// that it never lists a directory outside `confine_to` or one it is already inside (a
// link loop), and keeps no file whose real path is outside: those are warned about.
class Walk {
 public:
  Walk(fs::path confine_to, std::string key, std::string display_prefix,
       std::vector<std::string>& warnings)
      : confine_to_(std::move(confine_to)),
        key_(std::move(key)),
        prefix_(std::move(display_prefix)),
        warnings_(warnings) {}

  Result<std::vector<Found>, std::string> run(const fs::path& start, std::span<const Glob> globs) {
    globs_ = globs;
    if (!globs_.empty()) fill(0, start, "");
    if (error_) return *error_;
    return std::move(found_);
  }

 private:
  static bool is_dir(const fs::path& path) {
    std::error_code ec;
    return fs::is_directory(path, ec);
  }

  void warn(const std::string& relative, std::string_view why) {
    warnings_.push_back(key_ + ": left out " + in_quotes(join(prefix_, relative)) + ": " +
                        std::string(why));
  }

  // Looks for globs_[index] in `dir`.
  void fill(size_t index, const fs::path& dir, const std::string& relative) {
    if (error_) return;
    const Glob& glob = globs_[index];
    if (const auto& name = glob.literal()) {
      std::error_code ec;
      if (*name == ".") {
        if (is_dir(dir)) add(index, dir, relative);
      } else if (fs::exists(dir / *name, ec)) {
        add(index, dir / *name, join(relative, *name));
      }
      return;
    }
    if (!is_dir(dir) || !enter(dir, relative)) return;
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      names.push_back(it->path().filename().string());
    if (ec) {
      error_ = "attempting to read `" + dir.string() + "` resulted in an error: " + ec.message();
    } else {
      std::sort(names.begin(), names.end());
      for (const std::string& name : names)
        visit(index, dir / name, join(relative, name), name);
    }
    listing_.pop_back();
  }

  // Whether `dir` may be listed; if so it is now being listed until fill pops it.
  bool enter(const fs::path& dir, const std::string& relative) {
    std::error_code ec;
    fs::path real = fs::canonical(dir, ec);
    if (ec) return false;
    if (!inside(real, confine_to_)) {
      warn(relative, "a symbolic link leading outside " + in_quotes(confine_to_.string()));
      return false;
    }
    if (std::find(listing_.begin(), listing_.end(), real) != listing_.end()) {
      warn(relative, "a symbolic link loop");
      return false;
    }
    listing_.push_back(std::move(real));
    return true;
  }

  // A directory entry to match against globs_[index].
  void visit(size_t index, const fs::path& path, const std::string& relative,
             const std::string& name) {
    if (globs_[index].recursive()) {
      size_t last = index;  // `**/**` is one `**`
      while (last + 1 < globs_.size() && globs_[last + 1].recursive())
        ++last;
      if (is_dir(path)) fill(last, path, relative);  // deeper, still under `**`
      if (last + 1 == globs_.size()) return;         // only directories match a final `**`
      index = last + 1;                              // or `**` matched nothing here
    }
    if (!globs_[index].matches(name)) return;
    add(index, path, relative);
  }

  // `path` matched globs_[index]: a result if that was the last, else look further.
  void add(size_t index, const fs::path& path, const std::string& relative) {
    if (index + 1 < globs_.size()) return fill(index + 1, path, relative);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return;  // Spin copies files, not directories
    const fs::path real = fs::canonical(path, ec);
    if (ec) return;
    if (!inside(real, confine_to_)) {
      warn(relative, "a symbolic link leading outside " + in_quotes(confine_to_.string()));
      return;
    }
    found_.push_back({path, relative});
  }

  fs::path confine_to_;
  std::string key_;
  std::string prefix_;
  std::vector<std::string>& warnings_;
  std::span<const Glob> globs_;
  std::vector<fs::path> listing_;  // real paths of the directories being listed
  std::vector<Found> found_;
  std::optional<std::string> error_;
};

// Every file below a directory: Spin globs `<dir>/**/*`.
std::vector<Glob> everything_below() {
  return {std::move(Glob::compile("**")).value(), std::move(Glob::compile("*")).value()};
}

// ---- resolving --------------------------------------------------------------------------

constexpr std::string_view kParentHelp =
    "A file pattern can't end in a parent directory path (..)\nIf you want to include a "
    "directory, use source-destination form, or a glob pattern ending in **/*.";
constexpr std::string_view kCurrentHelp =
    "A file pattern can't end in a current directory path (.)\nIf you want to include a "
    "directory, use source-destination form, or a glob pattern ending in **/*.";
constexpr std::string_view kOutside =
    " cannot be mapped because it is outside the application directory. Files must be within "
    "the application directory.";

// Resolution stops at the first problem, as Spin's loading does; throwing it keeps each
// check to one line, and resolve_files catches it, so it never leaves this file.
struct Rejection {
  ManifestError error;
};

class Resolver {
 public:
  Resolver(const Manifest& manifest, std::string component_key, const Component& component,
           const fs::path& app_dir)
      : manifest_(manifest), key_(std::move(component_key)), component_(component) {
    std::error_code ec;
    app_dir_ = fs::absolute(app_dir, ec).lexically_normal();
    if (!app_dir_.has_filename() && app_dir_.has_relative_path()) app_dir_ = app_dir_.parent_path();
    app_real_ = fs::canonical(app_dir_, ec);
    if (ec) app_real_ = app_dir_;
  }

  ComponentFiles run() {
    if (component_.files.empty()) return {};
    add_directory("/", key_ + ".files");
    for (size_t i = 0; i < component_.files.size(); ++i) {
      const std::string key = key_ + ".files[" + std::to_string(i) + "]";
      if (const auto* pattern = std::get_if<FilePattern>(&component_.files[i])) {
        mount_pattern(pattern->pattern, key);
      } else {
        mount_placement(std::get<FilePlacement>(component_.files[i]), key);
      }
    }
    ComponentFiles out;
    for (auto& [guest, file] : entries_)
      out.files.push_back(std::move(file));
    out.warnings = std::move(warnings_);
    return out;
  }

 private:
  [[noreturn]] void reject(std::string key, std::string message) const {
    throw Rejection{ManifestError{manifest_.file, std::move(key), 0, 0, std::move(message)}};
  }

  void mount_pattern(const std::string& pattern, const std::string& key) {
    if (pattern == ".." || pattern.ends_with("/..")) reject(key, std::string(kParentHelp));
    if (pattern == "." || pattern.ends_with("/.")) reject(key, std::string(kCurrentHelp));
    if (pattern == "*" || pattern == "**/*") {
      warnings_.push_back(key + ": A component is including the entire application directory" +
                          (pattern == "*" ? "" : " tree") +
                          " as asset files. This is unlikely to be what you want.\nIf this is "
                          "what you want, use the pattern \"./" +
                          pattern + "\" to avoid this warning.");
    }
    const std::vector<std::string> parts = components(pattern);
    if (pattern.starts_with('/') || std::find(parts.begin(), parts.end(), "..") != parts.end())
      reject(key, in_quotes(pattern) + std::string(kOutside));

    const fs::path host = app_dir_ / pattern;
    const std::string relative = joined(parts);
    std::error_code ec;
    const fs::file_status status = fs::status(host, ec);
    if (fs::is_directory(status)) {
      // Spin copies the directory's files by their paths from the app directory into a
      // folder named after the pattern: dir/a.txt lands at /dir/dir/a.txt.
      const std::string destination = "/" + relative;
      add_directory(destination, key);
      for (Found& f : walk(host, everything_below(), app_real_, key, relative))
        add_unless_excluded(join(relative, f.relative), destination, f.host, app_real_, key);
    } else if (fs::is_regular_file(status)) {
      add_single_file("/" + relative, host, app_real_, key, relative);
    } else if (fs::exists(status)) {
      reject(key, in_quotes(pattern) + " is neither a file nor a directory");
    } else if (looks_like_glob(pattern)) {
      auto whole = Glob::compile(pattern);
      if (!whole)
        reject(key, "Failed to resolve glob pattern " + in_quotes(pattern) + ": " + whole.error());
      // A pattern ending in `/` matches only directories, and Spin copies only files.
      if (pattern.ends_with('/')) return;
      std::vector<Glob> globs;
      for (const std::string& part : parts) {
        auto glob = Glob::compile(part);
        if (!glob)
          reject(key, "Failed to resolve glob pattern " + in_quotes(pattern) + ": " + glob.error());
        globs.push_back(std::move(glob).value());
      }
      for (Found& f : walk(app_dir_, globs, app_real_, key, ""))
        add_unless_excluded(f.relative, "/", f.host, app_real_, key);
    } else {
      reject(key, in_quotes(pattern) + " does not exist and doesn't appear to be a glob pattern");
    }
  }

  void mount_placement(const FilePlacement& placement, const std::string& key) {
    const std::vector<std::string> parts = components(placement.destination);
    if (std::find(parts.begin(), parts.end(), "..") != parts.end()) {
      reject(key + ".destination", in_quotes(placement.destination) +
                                       " must not contain `..`: files are placed below the "
                                       "guest's root");
    }
    const std::string destination = "/" + joined(parts);
    const fs::path host = app_dir_ / placement.source;
    std::error_code ec;
    const fs::file_status status = fs::status(host, ec);
    if (status.type() == fs::file_type::not_found)
      reject(key + ".source",
             "File or directory " + in_quotes(placement.source) + " does not exist");
    if (ec) {
      reject(key + ".source",
             "invalid file mount source " + in_quotes(placement.source) + ": " + ec.message());
    }
    const fs::path real = fs::canonical(host, ec);
    if (fs::is_directory(status)) {
      add_directory(destination, key);
      for (Found& f : walk(host, everything_below(), real, key, placement.source)) {
        const auto from_app = strip_prefix(app_dir_, host / f.relative);
        if (!from_app) reject(key + ".source", in_quotes(placement.source) + std::string(kOutside));
        add_unless_excluded(*from_app, destination, f.host, real, key, f.relative);
      }
    } else if (fs::is_regular_file(status)) {
      // Where Spin's copy would fail: onto the root, or a path naming a directory.
      const std::string& d = placement.destination;
      if (destination == "/" || d.ends_with('/') || d == "." || d.ends_with("/.")) {
        reject(key + ".destination", in_quotes(d) + " is not a valid destination file name");
      }
      if (!strip_prefix(app_dir_, host))
        reject(key + ".source", in_quotes(placement.source) + std::string(kOutside));
      add_file(destination, host, real, key);
    } else {
      reject(key + ".source", in_quotes(placement.source) + " is neither a file nor a directory");
    }
  }

  std::vector<Found> walk(const fs::path& start, const std::vector<Glob>& globs,
                          const fs::path& confine_to, const std::string& key,
                          const std::string& display_prefix) {
    auto found = Walk(confine_to, key, display_prefix, warnings_).run(start, globs);
    if (!found) reject(key, found.error());
    return std::move(found).value();
  }

  // A file a directory or glob mount found: `from_app` is what exclude_files sees, and it
  // lands at `destination`/`below` (`below` defaults to from_app, as for globs).
  void add_unless_excluded(const std::string& from_app, const std::string& destination,
                           const fs::path& host, const fs::path& confine_to, const std::string& key,
                           std::optional<std::string> below = {}) {
    for (const Glob& exclude : excludes())
      if (exclude.matches(from_app)) return;
    add_file(join(destination, below ? *below : from_app), host, confine_to, key);
  }

  // A file named on its own: exclude_files does not apply, but the confinement does.
  void add_single_file(const std::string& guest, const fs::path& host, const fs::path& confine_to,
                       const std::string& key, const std::string& display) {
    std::error_code ec;
    const fs::path real = fs::canonical(host, ec);
    if (ec || !inside(real, confine_to)) {
      warnings_.push_back(key + ": left out " + in_quotes(display) +
                          ": a symbolic link leading outside " + in_quotes(confine_to.string()));
      return;
    }
    add_file(guest, host, confine_to, key);
  }

  // exclude_files, compiled when a mount first needs them, as Spin does.
  const std::vector<Glob>& excludes() {
    if (excludes_) return *excludes_;
    std::vector<Glob> out;
    for (size_t i = 0; i < component_.exclude_files.size(); ++i) {
      const std::string& text = component_.exclude_files[i];
      auto glob = Glob::compile(text);
      if (!glob) {
        reject(key_ + ".exclude_files[" + std::to_string(i) + "]",
               "Invalid exclude_files glob pattern " + in_quotes(text) + ": " + glob.error());
      }
      out.push_back(std::move(glob).value());
    }
    return *(excludes_ = std::move(out));
  }

  void add_directory(const std::string& guest, const std::string& key) {
    std::string path;
    for (const std::string& part : components(guest)) {
      path += "/" + part;
      const auto it = entries_.find(path);
      if (it != entries_.end() && !it->second.is_directory())
        reject(key, in_quotes(path) + " is a file, so it cannot also be a directory");
      if (it == entries_.end()) entries_[path] = GuestFile{path, {}, {}};
    }
    if (!entries_.contains("/")) entries_["/"] = GuestFile{"/", {}, {}};
  }

  void add_file(const std::string& guest, const fs::path& host, const fs::path& confine_to,
                const std::string& key) {
    add_directory(guest.substr(0, guest.rfind('/')), key);
    const auto it = entries_.find(guest);
    if (it != entries_.end() && it->second.is_directory())
      reject(key, in_quotes(guest) + " is a directory, so a file cannot be placed there");
    entries_[guest] = GuestFile{guest, host, confine_to};  // a later mount replaces an earlier one
  }

  const Manifest& manifest_;
  std::string key_;
  const Component& component_;
  fs::path app_dir_;   // absolute, lexically normal: the base of every relative path
  fs::path app_real_;  // its real path: where pattern mounts are confined
  std::map<std::string, GuestFile> entries_;
  std::vector<std::string> warnings_;
  std::optional<std::vector<Glob>> excludes_;
};

}  // namespace

Result<ComponentFiles, ManifestError> resolve_files(const Manifest& manifest,
                                                    std::string_view component_id,
                                                    const fs::path& app_dir) {
  const bool bare =
      !component_id.empty() && std::all_of(component_id.begin(), component_id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      });
  const std::string key =
      "component." + (bare ? std::string(component_id) : in_quotes(component_id));
  const Component* component = manifest.components.find(component_id);
  if (component == nullptr) return ManifestError{manifest.file, key, 0, 0, "no such component"};
  try {
    return Resolver(manifest, key, *component, app_dir).run();
  } catch (const Rejection& rejection) {
    return rejection.error;
  }
}

}  // namespace gyre::app
