// A component's `files` and `exclude_files` turned into what its guest sees, the way
// `spin up` (Spin 3.6) does it for a local app: Spin copies every matched file into a
// fresh folder per component and mounts that folder read-only at the guest's `/`. Gyre
// copies nothing: it lists each file the copy would hold with the host file behind it,
// and wasi:filesystem serves that list.
//
// The rules are Spin's (crates/loader/src/local.rs):
//   - "path/file.txt": that file, at /path/file.txt;
//   - "dir": every file under dir, at /dir/ followed by its path from the manifest's
//     directory, so dir/a.txt is at /dir/dir/a.txt (Spin 3.6 nests it so, and apps
//     written against it read it there);
//   - "glob/**/*.txt": every file the glob (Rust's `glob` crate) matches, at its path from
//     the manifest's directory; `*` and `?` match dotfiles too;
//   - { source = "dir", destination = "/d" }: every file under dir at /d/<path in dir>;
//   - { source = "file", destination = "/d/f" }: that file at /d/f;
//   - exclude_files: globs matched against each file's path from the manifest's directory
//     (where `*` also matches `/`); they apply to directories and globs, not to a file
//     named on its own;
//   - directories exist where Spin would create them: `/`, every mounted directory's
//     destination (even when nothing is left in it), and every file's parents;
//   - a later entry of `files` replaces an earlier one at the same guest path.
//
// Where Spin would copy something from outside the app, Gyre refuses it instead: a
// pattern may not be absolute or contain `..`, a destination may not contain `..`, and
// a file or directory reached through a symbolic link that leads outside its mount (the
// manifest's directory for patterns, the source for placements) is left out with a
// warning. wasi:filesystem enforces the same confinement again when the guest opens a
// file, in case the host tree changes while the app runs.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "app/manifest.hpp"
#include "base/result.hpp"

namespace gyre::app {

// One thing the guest sees: a file with the host file behind it, or a directory.
struct GuestFile {
  std::string guest_path;           // absolute, normalised: "/", "/static", "/static/a.txt"
  std::filesystem::path host_path;  // the host file; empty for a directory
  // The host directory (or, for a file placement, the file) that host_path must resolve
  // into, symbolic links followed, for the guest to open it. Empty for a directory.
  std::filesystem::path confine_to;

  bool is_directory() const { return host_path.empty(); }
  bool operator==(const GuestFile&) const = default;
};

struct ComponentFiles {
  // Sorted by guest path, each path once, every parent directory listed. Empty when the
  // component has no `files`: it then gets no preopened directory at all, as in Spin.
  std::vector<GuestFile> files;
  // Things Spin warns about (a pattern taking the whole app directory) and things Gyre
  // left out (symbolic links leading out of their mount, loops), for the terminal.
  std::vector<std::string> warnings;
};

// Resolves the files of component `component_id` of `manifest`, whose relative paths
// are relative to `app_dir` (the manifest's directory). Errors name the manifest file,
// the key (component.<id>.files[i] or component.<id>.exclude_files[j]) and the problem:
// a source that does not exist, a path that is not a glob and matches nothing, an
// absolute or `..` pattern, a file placed at a directory-like destination, an invalid
// glob, a file and a directory wanted at the same guest path.
Result<ComponentFiles, ManifestError> resolve_files(const Manifest& manifest,
                                                    std::string_view component_id,
                                                    const std::filesystem::path& app_dir);

}  // namespace gyre::app
