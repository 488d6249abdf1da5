// A component's mounted `files` as its guest sees them, whichever WASI serves them:
// wasi:filesystem 0.2 to components (filesystem.hpp) and preview1 to Wagi modules
// (preview1.hpp) present the same read-only tree, so both are built on this one.
//
// The tree is made once per component from its MountedFiles and never changes: every
// directory is the list of what is mounted below it, every file is opened from its host
// path only when the guest opens it. Paths are resolved inside it the way cap-std
// resolves inside a directory it was given (as Wasmtime does for Spin): never from `/`,
// never through `..` above the directory resolution starts from. A host file that has
// come to lead outside where it was mounted from (a symbolic link put there after the
// app started) is not opened.
//
// Errors are host errno values, as std::errc; each interface translates them into its
// own codes (wasi:filesystem's error-code, preview1's errno), as Wasmtime does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "base/result.hpp"

namespace gyre::wasi {

// One thing the guest sees: a file with the host file behind it, or a directory.
// Parent directories are implied; a directory is listed only to exist when empty.
struct MountedFile {
  std::string guest_path;           // absolute: "/", "/static", "/static/a.txt"
  std::filesystem::path host_path;  // empty for a directory
  // The host directory (or file) host_path must resolve into, symbolic links followed,
  // for the guest to open it; empty for no such check.
  std::filesystem::path confine_to;
};

template <class T>
using MountResult = Result<T, std::errc>;

// What a mounted file or directory is. FIFOs and sockets are kUnknown, as Wasmtime
// reports them.
enum class MountedType {
  kUnknown,
  kBlockDevice,
  kCharacterDevice,
  kDirectory,
  kRegularFile,
  kSymbolicLink
};

// What stat says of a file or a directory of the tree. A directory of the tree has no
// host identity (device and inode 0), one link, no size, and the time it was mounted
// as each of its times, as for the copy Spin makes of the files.
struct MountedStat {
  MountedType type = MountedType::kUnknown;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t link_count = 0;
  uint64_t size = 0;
  timespec accessed{};
  timespec modified{};
  timespec changed{};
};

// A host file open for reading, shared by whatever reads it (descriptors, streams).
class HostFile {
 public:
  explicit HostFile(int fd) : fd_(fd) {}
  ~HostFile();
  HostFile(const HostFile&) = delete;
  HostFile& operator=(const HostFile&) = delete;

  MountResult<MountedStat> stat() const;
  // Reads at most into.size() bytes at `offset`, without moving any file position;
  // 0 at the end of the file.
  MountResult<size_t> read_at(std::span<uint8_t> into, uint64_t offset) const;

 private:
  int fd_;
};

class MountedTree {
 public:
  using NodeId = uint32_t;
  static constexpr NodeId kRoot = 0;  // `/`

  // A directory's entry, named as the guest sees it.
  struct Entry {
    std::string_view name;
    NodeId node;
    bool is_directory;
  };

  // A path through a file, or a file where a directory has entries, is not mounted.
  static std::shared_ptr<const MountedTree> build(const std::vector<MountedFile>& files);

  // Nothing is mounted: there is no `/` to preopen.
  bool empty() const { return nodes_.empty(); }
  bool is_directory(NodeId node) const { return nodes_[node].is_directory(); }
  NodeId parent(NodeId node) const { return nodes_[node].parent; }
  // A directory's entries in name order, without `.` and `..`.
  std::vector<Entry> list(NodeId directory) const;
  MountedStat directory_stat() const;

  // Where `path` leads from directory `from`: EPERM for an absolute path or a `..` above
  // `from`, ENOENT for what is not mounted (or an empty path), ENOTDIR for a path through
  // a file or a file named with a trailing `/`, EINVAL for a NUL byte.
  MountResult<NodeId> resolve(NodeId from, std::string_view path) const;

  // Opens a file node's host file for reading (non-blocking, as Wasmtime opens files, so
  // a FIFO cannot hang the open); EPERM if it now resolves outside where it was mounted
  // from.
  MountResult<std::shared_ptr<HostFile>> open(NodeId file) const;

 private:
  struct Node {
    NodeId parent = kRoot;
    std::map<std::string, NodeId, std::less<>> children;  // directories only
    std::filesystem::path host_path;                      // files only
    std::string confine_to;                               // a real path; empty: unchecked
    bool is_directory() const { return host_path.empty(); }
  };

  std::vector<Node> nodes_;
  timespec mounted_{};
};

}  // namespace gyre::wasi
