#include "wasi/filesystem.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <map>
#include <optional>
#include <system_error>

#include "host/define.hpp"
#include "wasi/io.hpp"

namespace gyre::wasi {
namespace {

// ---- wasi:filesystem/types, as C++ values ------------------------------------------------

enum class ErrorCode : uint32_t {
  kAccess,
  kWouldBlock,
  kAlready,
  kBadDescriptor,
  kBusy,
  kDeadlock,
  kQuota,
  kExist,
  kFileTooLarge,
  kIllegalByteSequence,
  kInProgress,
  kInterrupted,
  kInvalid,
  kIo,
  kIsDirectory,
  kLoop,
  kTooManyLinks,
  kMessageSize,
  kNameTooLong,
  kNoDevice,
  kNoEntry,
  kNoLock,
  kInsufficientMemory,
  kInsufficientSpace,
  kNotDirectory,
  kNotEmpty,
  kNotRecoverable,
  kUnsupported,
  kNoTty,
  kNoSuchDevice,
  kOverflow,
  kNotPermitted,
  kPipe,
  kReadOnly,
  kInvalidSeek,
  kTextFileBusy,
  kCrossDevice,
};

constexpr std::array<const char*, 37> kErrorLabels = {"access",
                                                      "would-block",
                                                      "already",
                                                      "bad-descriptor",
                                                      "busy",
                                                      "deadlock",
                                                      "quota",
                                                      "exist",
                                                      "file-too-large",
                                                      "illegal-byte-sequence",
                                                      "in-progress",
                                                      "interrupted",
                                                      "invalid",
                                                      "io",
                                                      "is-directory",
                                                      "loop",
                                                      "too-many-links",
                                                      "message-size",
                                                      "name-too-long",
                                                      "no-device",
                                                      "no-entry",
                                                      "no-lock",
                                                      "insufficient-memory",
                                                      "insufficient-space",
                                                      "not-directory",
                                                      "not-empty",
                                                      "not-recoverable",
                                                      "unsupported",
                                                      "no-tty",
                                                      "no-such-device",
                                                      "overflow",
                                                      "not-permitted",
                                                      "pipe",
                                                      "read-only",
                                                      "invalid-seek",
                                                      "text-file-busy",
                                                      "cross-device"};

enum class DescriptorType : uint32_t {
  kUnknown,
  kBlockDevice,
  kCharacterDevice,
  kDirectory,
  kFifo,
  kSymbolicLink,
  kRegularFile,
  kSocket,
};

enum class Advice : uint32_t { kNormal, kSequential, kRandom, kWillNeed, kDontNeed, kNoReuse };

// Flags, as their bit sets (label i is bit 1 << i).
struct DescriptorFlags {
  static constexpr uint32_t kRead = 1, kWrite = 2, kFileIntegritySync = 4, kDataIntegritySync = 8,
                            kRequestedWriteSync = 16;
  uint32_t bits = 0;
};
struct PathFlags {
  uint32_t bits = 0;
};
struct OpenFlags {
  static constexpr uint32_t kCreate = 1, kDirectory = 2, kExclusive = 4, kTruncate = 8;
  uint32_t bits = 0;
};

struct Datetime {
  uint64_t seconds = 0;
  uint32_t nanoseconds = 0;
};

struct DescriptorStat {
  DescriptorType type = DescriptorType::kUnknown;
  uint64_t link_count = 0;
  uint64_t size = 0;
  std::optional<Datetime> data_access_timestamp;
  std::optional<Datetime> data_modification_timestamp;
  std::optional<Datetime> status_change_timestamp;
};

struct NewTimestamp {
  std::variant<host::Unit, host::Unit, Datetime> value;  // no-change, now, timestamp
};

struct DirectoryEntry {
  DescriptorType type = DescriptorType::kUnknown;
  std::string name;
};

struct MetadataHashValue {
  uint64_t lower = 0;
  uint64_t upper = 0;
};

}  // namespace
}  // namespace gyre::wasi

namespace gyre::host {

template <>
struct EnumLabels<wasi::ErrorCode> {
  static constexpr auto labels = wasi::kErrorLabels;
};
template <>
struct EnumLabels<wasi::DescriptorType> {
  static constexpr const char* labels[] = {"unknown",      "block-device", "character-device",
                                           "directory",    "fifo",         "symbolic-link",
                                           "regular-file", "socket"};
};
template <>
struct EnumLabels<wasi::Advice> {
  static constexpr const char* labels[] = {"normal",    "sequential", "random",
                                           "will-need", "dont-need",  "no-reuse"};
};
template <>
struct VariantLabels<wasi::NewTimestamp> {
  static constexpr const char* labels[] = {"no-change", "now", "timestamp"};
};
template <>
struct RecordFields<wasi::Datetime> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"seconds", &wasi::Datetime::seconds},
                      std::pair{"nanoseconds", &wasi::Datetime::nanoseconds});
};
template <>
struct RecordFields<wasi::DescriptorStat> {
  using S = wasi::DescriptorStat;
  static constexpr auto fields = std::make_tuple(
      std::pair{"type", &S::type}, std::pair{"link-count", &S::link_count},
      std::pair{"size", &S::size}, std::pair{"data-access-timestamp", &S::data_access_timestamp},
      std::pair{"data-modification-timestamp", &S::data_modification_timestamp},
      std::pair{"status-change-timestamp", &S::status_change_timestamp});
};
template <>
struct RecordFields<wasi::DirectoryEntry> {
  static constexpr auto fields = std::make_tuple(std::pair{"type", &wasi::DirectoryEntry::type},
                                                 std::pair{"name", &wasi::DirectoryEntry::name});
};
template <>
struct RecordFields<wasi::MetadataHashValue> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"lower", &wasi::MetadataHashValue::lower},
                      std::pair{"upper", &wasi::MetadataHashValue::upper});
};

// Flags have no generic binding yet: each set matches its labels and travels as its bits.
template <class F, size_t N>
struct FlagsWitType {
  static bool matches(const ValueType& t, const std::array<const char*, N>& labels) {
    return t.kind == ValueKind::kFlags &&
           std::equal(t.labels.begin(), t.labels.end(), labels.begin(), labels.end());
  }
  static F from(const Val& v, Context&) { return F{static_cast<uint32_t>(v.bits)}; }
  static Val to(F f, Context&) { return Val::flags(f.bits); }
};
template <>
struct WitType<wasi::DescriptorFlags> : FlagsWitType<wasi::DescriptorFlags, 6> {
  static bool matches(const ValueType& t) {
    return FlagsWitType::matches(t, {"read", "write", "file-integrity-sync", "data-integrity-sync",
                                     "requested-write-sync", "mutate-directory"});
  }
};
template <>
struct WitType<wasi::PathFlags> : FlagsWitType<wasi::PathFlags, 1> {
  static bool matches(const ValueType& t) { return FlagsWitType::matches(t, {"symlink-follow"}); }
};
template <>
struct WitType<wasi::OpenFlags> : FlagsWitType<wasi::OpenFlags, 4> {
  static bool matches(const ValueType& t) {
    return FlagsWitType::matches(t, {"create", "directory", "exclusive", "truncate"});
  }
};

}  // namespace gyre::host

namespace gyre::wasi {
namespace {

using host::Borrow;
using host::Context;
using host::Own;
using host::Unit;
namespace fs = std::filesystem;

template <class T>
using Fs = host::Result<T, ErrorCode>;

constexpr const char* kTypes = "wasi:filesystem/types@0.2.0";
constexpr const char* kPreopens = "wasi:filesystem/preopens@0.2.0";

// Wasmtime reads at most this much at once, from a descriptor or a stream.
constexpr uint64_t kMaxRead = 64 * 1024;

// Stream errors carry their error code in their message, for filesystem-error-code.
constexpr std::string_view kStreamErrorPrefix = "wasi:filesystem error ";

// Wasmtime's translation of an OS error.
ErrorCode from_errno(int error) {
  switch (error) {
    case EPIPE:
      return ErrorCode::kPipe;
    case EPERM:
      return ErrorCode::kNotPermitted;
    case ENOENT:
      return ErrorCode::kNoEntry;
    case ENOMEM:
      return ErrorCode::kInsufficientMemory;
    case EBADF:
      return ErrorCode::kBadDescriptor;
    case EBUSY:
      return ErrorCode::kBusy;
    case EACCES:
      return ErrorCode::kAccess;
    case ENOTDIR:
      return ErrorCode::kNotDirectory;
    case EISDIR:
      return ErrorCode::kIsDirectory;
    case EINVAL:
      return ErrorCode::kInvalid;
    case EEXIST:
      return ErrorCode::kExist;
    case EFBIG:
      return ErrorCode::kFileTooLarge;
    case ENOSPC:
      return ErrorCode::kInsufficientSpace;
    case ESPIPE:
      return ErrorCode::kInvalidSeek;
    case EMLINK:
      return ErrorCode::kTooManyLinks;
    case ENAMETOOLONG:
      return ErrorCode::kNameTooLong;
    case ENOTEMPTY:
      return ErrorCode::kNotEmpty;
    case ELOOP:
      return ErrorCode::kLoop;
    case EOVERFLOW:
      return ErrorCode::kOverflow;
    case EILSEQ:
      return ErrorCode::kIllegalByteSequence;
    case ENOTSUP:
      return ErrorCode::kUnsupported;
    case EALREADY:
      return ErrorCode::kAlready;
    case EINPROGRESS:
      return ErrorCode::kInProgress;
    case EINTR:
      return ErrorCode::kInterrupted;
    default:
      return ErrorCode::kIo;
  }
}

template <class T>
Fs<T> fail(ErrorCode code) {
  return Fs<T>::err(code);
}

// ---- the tree ------------------------------------------------------------------------

// The mounted files as a tree; node 0 is `/`. Built once per component, shared by its
// instances, never changed.
struct Node {
  uint32_t parent = 0;
  std::map<std::string, uint32_t, std::less<>> children;  // directories only
  fs::path host_path;                                     // files only
  std::string confine_to;                                 // real path; empty: unchecked
  bool is_directory() const { return host_path.empty(); }
};

struct Tree {
  std::vector<Node> nodes;
  // What a directory's timestamps say: when the files were mounted, as for Spin's copy.
  Datetime mounted;
};

Datetime now() {
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since).count();
  return {static_cast<uint64_t>(ns / 1'000'000'000), static_cast<uint32_t>(ns % 1'000'000'000)};
}

std::shared_ptr<const Tree> build_tree(const std::vector<MountedFile>& files) {
  auto tree = std::make_shared<Tree>();
  tree->mounted = now();
  if (files.empty()) return tree;
  tree->nodes.emplace_back();
  for (const MountedFile& file : files) {
    uint32_t at = 0;
    std::string_view rest = file.guest_path;
    while (!rest.empty() && tree->nodes[at].is_directory()) {
      const size_t slash = rest.find('/');
      const std::string_view name = rest.substr(0, slash);
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (name.empty() || name == "." || name == "..") continue;
      const auto it = tree->nodes[at].children.find(name);
      if (it != tree->nodes[at].children.end()) {
        at = it->second;
        continue;
      }
      const auto added = static_cast<uint32_t>(tree->nodes.size());
      tree->nodes.push_back(Node{at, {}, {}, {}});
      tree->nodes[at].children.emplace(std::string(name), added);
      at = added;
    }
    // A path through a file, or a file where a directory has entries, is not mounted.
    Node& node = tree->nodes[at];
    if (!rest.empty() || file.host_path.empty() || at == 0 || !node.children.empty()) continue;
    node.host_path = file.host_path;
    std::error_code ec;
    const fs::path real = fs::canonical(file.confine_to, ec);
    node.confine_to = (ec ? file.confine_to : real).string();
  }
  return tree;
}

// Where `path` leads from directory `from`, the way cap-std resolves a path inside a
// directory it was given: never above it, and never from `/`.
Fs<uint32_t> resolve(const Tree& tree, uint32_t from, std::string_view path) {
  if (path.empty()) return fail<uint32_t>(ErrorCode::kNoEntry);
  if (path.find('\0') != std::string_view::npos) return fail<uint32_t>(ErrorCode::kInvalid);
  if (path.front() == '/') return fail<uint32_t>(ErrorCode::kNotPermitted);
  uint32_t at = from;
  for (size_t start = 0; start < path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view name = path.substr(start, slash - start);
    start = slash + 1;
    if (name.empty()) continue;
    const Node& node = tree.nodes[at];
    if (!node.is_directory()) return fail<uint32_t>(ErrorCode::kNotDirectory);
    if (name == ".") continue;
    if (name == "..") {
      if (at == from) return fail<uint32_t>(ErrorCode::kNotPermitted);
      at = node.parent;
      continue;
    }
    const auto it = node.children.find(name);
    if (it == node.children.end()) return fail<uint32_t>(ErrorCode::kNoEntry);
    at = it->second;
  }
  if (path.back() == '/' && !tree.nodes[at].is_directory())
    return fail<uint32_t>(ErrorCode::kNotDirectory);
  return Fs<uint32_t>::ok(at);
}

bool inside(std::string_view real, std::string_view root) {
  if (!real.starts_with(root)) return false;
  return real.size() == root.size() || root.back() == '/' || real[root.size()] == '/';
}

// ---- open files --------------------------------------------------------------------

// An open host file, shared by its descriptor and the streams reading it.
class HostFile {
 public:
  explicit HostFile(int fd) : fd_(fd) {}
  ~HostFile() { ::close(fd_); }
  HostFile(const HostFile&) = delete;
  HostFile& operator=(const HostFile&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// The real path of an open file, whatever links led to it.
std::optional<std::string> real_path(int fd, const fs::path& opened_as) {
  std::array<char, PATH_MAX> buffer;
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), buffer.data(), buffer.size());
  if (n > 0 && static_cast<size_t>(n) < buffer.size())
    return std::string(buffer.data(), static_cast<size_t>(n));
  std::error_code ec;  // no /proc: resolve the name instead
  const fs::path real = fs::canonical(opened_as, ec);
  if (ec) return std::nullopt;
  return real.string();
}

// Opens a file node's host file for reading, refusing it if it now resolves outside
// where it was mounted from.
Fs<std::shared_ptr<HostFile>> open_host(const Node& node) {
  using Out = std::shared_ptr<HostFile>;
  // Non-blocking, as Wasmtime opens files, so that a FIFO cannot hang the open.
  const int fd = ::open(node.host_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return fail<Out>(from_errno(errno));
  auto file = std::make_shared<HostFile>(fd);
  if (!node.confine_to.empty()) {
    const auto real = real_path(fd, node.host_path);
    if (!real || !inside(*real, node.confine_to)) return fail<Out>(ErrorCode::kNotPermitted);
  }
  return Fs<Out>::ok(std::move(file));
}

std::optional<Datetime> datetime(const timespec& t) {
  if (t.tv_sec < 0) return std::nullopt;
  return Datetime{static_cast<uint64_t>(t.tv_sec), static_cast<uint32_t>(t.tv_nsec)};
}

DescriptorType type_of(mode_t mode) {
  if (S_ISDIR(mode)) return DescriptorType::kDirectory;
  if (S_ISLNK(mode)) return DescriptorType::kSymbolicLink;
  if (S_ISBLK(mode)) return DescriptorType::kBlockDevice;
  if (S_ISCHR(mode)) return DescriptorType::kCharacterDevice;
  if (S_ISREG(mode)) return DescriptorType::kRegularFile;
  return DescriptorType::kUnknown;  // Wasmtime reports FIFOs and sockets so too
}

Fs<struct stat> stat_of(const HostFile& file) {
  struct stat st{};
  if (::fstat(file.fd(), &st) != 0) return fail<struct stat>(from_errno(errno));
  return Fs<struct stat>::ok(st);
}

// A 128-bit identity from 64 bits, as Wasmtime makes it: the upper half is the lower
// one xor a constant.
MetadataHashValue identity_hash(uint64_t a, uint64_t b) {
  uint64_t x = a * 0x9E3779B97F4A7C15ull ^ b;  // splitmix64 finaliser
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  if (x == 0) x = 1;  // wasi-libc takes a zero inode for "unknown" and stats again
  return {x, x ^ 4614256656552045848ull};
}

// ---- descriptors ------------------------------------------------------------------

// wasi:filesystem/types.descriptor: a directory of the tree, or a file opened from it.
struct Descriptor {
  std::shared_ptr<const Tree> tree;
  uint32_t node = 0;
  std::shared_ptr<HostFile> file;  // null for a directory

  bool is_directory() const { return file == nullptr; }
};

// wasi:filesystem/types.directory-entry-stream: the entries, listed when it was made.
struct DirectoryEntryStream {
  std::vector<DirectoryEntry> entries;
  size_t next = 0;
};

// What Wasmtime answers a function that needs a directory, or a file, given the other.
std::optional<ErrorCode> need_directory(const Descriptor& d) {
  if (d.is_directory()) return std::nullopt;
  return ErrorCode::kNotDirectory;
}
std::optional<ErrorCode> need_file(const Descriptor& d) {
  if (!d.is_directory()) return std::nullopt;
  return ErrorCode::kBadDescriptor;
}

// A file's input stream, reading at its own offset.
class FileInputStream final : public InputStream {
 public:
  FileInputStream(std::shared_ptr<HostFile> file, uint64_t offset)
      : file_(std::move(file)), offset_(offset) {}

  StreamResult<std::vector<uint8_t>> read(uint64_t max) override {
    using Out = StreamResult<std::vector<uint8_t>>;
    std::vector<uint8_t> buffer(std::min(max, kMaxRead));
    if (buffer.empty()) return Out::ok({});
    ssize_t n;
    do {
      n = ::pread(file_->fd(), buffer.data(), buffer.size(), static_cast<off_t>(offset_));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      const int error = errno;
      return Out::err(StreamError::failed(std::string(kStreamErrorPrefix) +
                                          kErrorLabels[static_cast<size_t>(from_errno(error))] +
                                          ": " + std::strerror(error)));
    }
    if (n == 0) return Out::err(StreamError::closed());
    buffer.resize(static_cast<size_t>(n));
    offset_ += static_cast<uint64_t>(n);
    return Out::ok(std::move(buffer));
  }
  std::unique_ptr<Pollable> subscribe() override { return std::make_unique<ReadyPollable>(); }

 private:
  std::shared_ptr<HostFile> file_;
  uint64_t offset_;
};

DescriptorStat directory_stat(const Tree& tree) {
  return {DescriptorType::kDirectory, 1, 0, tree.mounted, tree.mounted, tree.mounted};
}

Fs<DescriptorStat> file_stat(const HostFile& file) {
  auto st = stat_of(file);
  if (!st.is_ok()) return fail<DescriptorStat>(std::get<1>(st.value));
  const struct stat& s = std::get<0>(st.value);
  return Fs<DescriptorStat>::ok({type_of(s.st_mode), static_cast<uint64_t>(s.st_nlink),
                                 static_cast<uint64_t>(s.st_size), datetime(s.st_atim),
                                 datetime(s.st_mtim), datetime(s.st_ctim)});
}

Fs<MetadataHashValue> file_hash(const HostFile& file) {
  auto st = stat_of(file);
  if (!st.is_ok()) return fail<MetadataHashValue>(std::get<1>(st.value));
  const struct stat& s = std::get<0>(st.value);
  return Fs<MetadataHashValue>::ok(identity_hash(s.st_dev, s.st_ino));
}

MetadataHashValue directory_hash(uint32_t node) {
  return identity_hash(0x6779726500000000ull, node);  // no device: "gyre" and the node
}

// Resolves `path` from a directory descriptor and opens what it names, for the *-at
// functions that look at it.
Fs<Descriptor> open_path(const Descriptor& dir, std::string_view path) {
  if (auto e = need_directory(dir)) return fail<Descriptor>(*e);
  auto node = resolve(*dir.tree, dir.node, path);
  if (!node.is_ok()) return fail<Descriptor>(std::get<1>(node.value));
  Descriptor out{dir.tree, std::get<0>(node.value), nullptr};
  const Node& n = dir.tree->nodes[out.node];
  if (n.is_directory()) return Fs<Descriptor>::ok(std::move(out));
  auto file = open_host(n);
  if (!file.is_ok()) return fail<Descriptor>(std::get<1>(file.value));
  out.file = std::get<0>(std::move(file.value));
  return Fs<Descriptor>::ok(std::move(out));
}

Fs<DescriptorStat> descriptor_stat(const Descriptor& d) {
  if (d.is_directory()) return Fs<DescriptorStat>::ok(directory_stat(*d.tree));
  return file_stat(*d.file);
}

Fs<MetadataHashValue> metadata_hash(const Descriptor& d) {
  if (d.is_directory()) return Fs<MetadataHashValue>::ok(directory_hash(d.node));
  return file_hash(*d.file);
}

bool same_object(const Descriptor& a, const Descriptor& b) {
  if (a.is_directory() || b.is_directory()) {
    return a.is_directory() && b.is_directory() && a.tree == b.tree && a.node == b.node;
  }
  auto sa = stat_of(*a.file), sb = stat_of(*b.file);
  if (!sa.is_ok() || !sb.is_ok()) return false;
  const struct stat &x = std::get<0>(sa.value), &y = std::get<0>(sb.value);
  return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

Fs<Own<Descriptor>> open_at(const Descriptor& dir, std::string_view path, OpenFlags open,
                            DescriptorFlags flags) {
  using Out = Own<Descriptor>;
  if (auto e = need_directory(dir)) return fail<Out>(*e);
  // Wasmtime's checks for a preopen without mutate permission, in its order.
  if (open.bits & (OpenFlags::kCreate | OpenFlags::kTruncate)) {
    return fail<Out>(ErrorCode::kNotPermitted);
  }
  if (flags.bits & DescriptorFlags::kWrite) return fail<Out>(ErrorCode::kNotPermitted);
  if (flags.bits & (DescriptorFlags::kFileIntegritySync | DescriptorFlags::kDataIntegritySync |
                    DescriptorFlags::kRequestedWriteSync)) {
    return fail<Out>(ErrorCode::kUnsupported);
  }
  if ((open.bits & OpenFlags::kDirectory) && (open.bits & OpenFlags::kExclusive))
    return fail<Out>(ErrorCode::kInvalid);
  auto opened = open_path(dir, path);
  if (!opened.is_ok()) return fail<Out>(std::get<1>(opened.value));
  Descriptor& d = std::get<0>(opened.value);
  if (!d.is_directory() && (open.bits & OpenFlags::kDirectory))
    return fail<Out>(ErrorCode::kNotDirectory);
  return Fs<Out>::ok(Out{std::make_unique<Descriptor>(std::move(d))});
}

Fs<std::tuple<std::vector<uint8_t>, bool>> read_at(const Descriptor& d, uint64_t length,
                                                   uint64_t offset) {
  using Out = std::tuple<std::vector<uint8_t>, bool>;
  if (auto e = need_file(d)) return fail<Out>(*e);
  std::vector<uint8_t> buffer(std::min(length, kMaxRead));
  ssize_t n = 0;
  if (!buffer.empty()) {
    do {
      n = ::pread(d.file->fd(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return fail<Out>(from_errno(errno));
  }
  buffer.resize(static_cast<size_t>(n));
  return Fs<Out>::ok({std::move(buffer), n == 0});  // Wasmtime: the end only on no bytes
}

Fs<Own<DirectoryEntryStream>> read_directory(const Descriptor& d) {
  using Out = Own<DirectoryEntryStream>;
  if (auto e = need_directory(d)) return fail<Out>(*e);
  auto stream = std::make_unique<DirectoryEntryStream>();
  for (const auto& [name, index] : d.tree->nodes[d.node].children) {
    const bool dir = d.tree->nodes[index].is_directory();
    stream->entries.push_back(
        {dir ? DescriptorType::kDirectory : DescriptorType::kRegularFile, name});
  }
  return Fs<Out>::ok(Out{std::move(stream)});
}

// The error a function that would change something gets: the descriptor's kind is
// checked first, as Wasmtime checks it, then the missing permission.
Fs<Unit> refuse(std::optional<ErrorCode> wrong_kind = std::nullopt) {
  return fail<Unit>(wrong_kind.value_or(ErrorCode::kNotPermitted));
}

std::optional<ErrorCode> stream_error_code(const IoError& error) {
  std::string_view message = error.message();
  if (!message.starts_with(kStreamErrorPrefix)) return std::nullopt;
  message.remove_prefix(kStreamErrorPrefix.size());
  const std::string_view label = message.substr(0, message.find(':'));
  for (size_t i = 0; i < kErrorLabels.size(); ++i)
    if (label == kErrorLabels[i]) return static_cast<ErrorCode>(i);
  return std::nullopt;
}

void add_mutations(component::HostImports& imports) {
  using D = Borrow<Descriptor>;
  auto define = [&](const char* name, auto function) {
    host::define(imports, kTypes, std::string("[method]descriptor.") + name, function);
  };
  define("write-via-stream",
         [](Context&, D, uint64_t) { return fail<Own<OutputStream>>(ErrorCode::kBadDescriptor); });
  define("append-via-stream",
         [](Context&, D) { return fail<Own<OutputStream>>(ErrorCode::kBadDescriptor); });
  define("set-size", [](Context&, D self, uint64_t) { return refuse(need_file(*self)); });
  define("set-times", [](Context&, D, NewTimestamp, NewTimestamp) { return refuse(); });
  define("write", [](Context&, D self, host::Bytes, uint64_t) -> Fs<uint64_t> {
    return fail<uint64_t>(need_file(*self).value_or(ErrorCode::kNotPermitted));
  });
  define("create-directory-at",
         [](Context&, D self, std::string_view) { return refuse(need_directory(*self)); });
  define("set-times-at", [](Context&, D self, PathFlags, std::string_view, NewTimestamp,
                            NewTimestamp) { return refuse(need_directory(*self)); });
  define("link-at", [](Context&, D self, PathFlags, std::string_view, D other, std::string_view) {
    return refuse(need_directory(*self) ? need_directory(*self) : need_directory(*other));
  });
  define("rename-at", [](Context&, D self, std::string_view, D other, std::string_view) {
    return refuse(need_directory(*self) ? need_directory(*self) : need_directory(*other));
  });
  define("symlink-at", [](Context&, D self, std::string_view, std::string_view) {
    return refuse(need_directory(*self));
  });
  define("remove-directory-at",
         [](Context&, D self, std::string_view) { return refuse(need_directory(*self)); });
  define("unlink-file-at",
         [](Context&, D self, std::string_view) { return refuse(need_directory(*self)); });
}

void add_reads(component::HostImports& imports) {
  using D = Borrow<Descriptor>;
  auto define = [&](const char* name, auto function) {
    host::define(imports, kTypes, std::string("[method]descriptor.") + name, function);
  };
  define("read-via-stream", [](Context&, D self, uint64_t offset) -> Fs<Own<InputStream>> {
    if (auto e = need_file(*self)) return fail<Own<InputStream>>(*e);
    return Fs<Own<InputStream>>::ok({std::make_unique<FileInputStream>(self->file, offset)});
  });
  define("advise", [](Context&, D self, uint64_t, uint64_t, Advice) {
    return need_file(*self) ? fail<Unit>(*need_file(*self)) : Fs<Unit>::ok({});
  });
  define("sync-data", [](Context&, D) { return Fs<Unit>::ok({}); });
  define("sync", [](Context&, D) { return Fs<Unit>::ok({}); });
  define("get-flags", [](Context&, D) {
    return Fs<DescriptorFlags>::ok(DescriptorFlags{DescriptorFlags::kRead});
  });
  define("get-type", [](Context&, D self) -> Fs<DescriptorType> {
    if (self->is_directory()) return Fs<DescriptorType>::ok(DescriptorType::kDirectory);
    auto st = stat_of(*self->file);
    if (!st.is_ok()) return fail<DescriptorType>(std::get<1>(st.value));
    return Fs<DescriptorType>::ok(type_of(std::get<0>(st.value).st_mode));
  });
  define("read", [](Context&, D self, uint64_t length, uint64_t offset) {
    return read_at(*self, length, offset);
  });
  define("read-directory", [](Context&, D self) { return read_directory(*self); });
  define("stat", [](Context&, D self) { return descriptor_stat(*self); });
  define("stat-at", [](Context&, D self, PathFlags, std::string_view path) {
    auto d = open_path(*self, path);
    if (!d.is_ok()) return fail<DescriptorStat>(std::get<1>(d.value));
    return descriptor_stat(std::get<0>(d.value));
  });
  define("open-at", [](Context&, D self, PathFlags, std::string_view path, OpenFlags open,
                       DescriptorFlags flags) { return open_at(*self, path, open, flags); });
  // Nothing mounted is a symbolic link: what exists is not one.
  define("readlink-at", [](Context&, D self, std::string_view path) -> Fs<std::string> {
    if (auto e = need_directory(*self)) return fail<std::string>(*e);
    auto node = resolve(*self->tree, self->node, path);
    return fail<std::string>(node.is_ok() ? ErrorCode::kInvalid : std::get<1>(node.value));
  });
  define("is-same-object", [](Context&, D self, D other) { return same_object(*self, *other); });
  define("metadata-hash", [](Context&, D self) { return metadata_hash(*self); });
  define("metadata-hash-at", [](Context&, D self, PathFlags, std::string_view path) {
    auto d = open_path(*self, path);
    if (!d.is_ok()) return fail<MetadataHashValue>(std::get<1>(d.value));
    return metadata_hash(std::get<0>(d.value));
  });
}

}  // namespace

void add_filesystem(component::HostImports& imports, std::vector<MountedFile> files) {
  std::shared_ptr<const Tree> tree = build_tree(files);
  host::define_resource<Descriptor>(imports, kTypes, "descriptor");
  host::define_resource<DirectoryEntryStream>(imports, kTypes, "directory-entry-stream");
  add_reads(imports);
  add_mutations(imports);
  host::define(imports, kTypes, "[method]directory-entry-stream.read-directory-entry",
               [](Context&, Borrow<DirectoryEntryStream> self) {
                 std::optional<DirectoryEntry> entry;
                 if (self->next < self->entries.size()) entry = self->entries[self->next++];
                 return Fs<std::optional<DirectoryEntry>>::ok(std::move(entry));
               });
  host::define(imports, kTypes, "filesystem-error-code",
               [](Context&, Borrow<IoError> error) { return stream_error_code(*error); });
  host::define(imports, kPreopens, "get-directories", [tree](Context&) {
    std::vector<std::tuple<Own<Descriptor>, std::string>> out;
    if (!tree->nodes.empty())
      out.emplace_back(Own<Descriptor>{std::make_unique<Descriptor>(Descriptor{tree, 0, nullptr})},
                       "/");
    return out;
  });
}

}  // namespace gyre::wasi
