#include "wasi/filesystem.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include "host/define.hpp"
#include "wasi/io.hpp"
#include "wasi/mounted_tree.hpp"

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

template <class T>
using Fs = host::Result<T, ErrorCode>;

constexpr const char* kTypes = "wasi:filesystem/types@0.2.0";
constexpr const char* kPreopens = "wasi:filesystem/preopens@0.2.0";

// Wasmtime reads at most this much at once, from a descriptor or a stream.
constexpr uint64_t kMaxRead = 64 * 1024;

// Stream errors carry their error code in their message, for filesystem-error-code.
constexpr std::string_view kStreamErrorPrefix = "wasi:filesystem error ";

// Wasmtime's translation of an OS error.
ErrorCode from_error(std::errc error) {
  switch (static_cast<int>(error)) {
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

// ---- the tree, as this interface's values ----------------------------------------------

template <class T>
Fs<T> fail(std::errc error) {
  return fail<T>(from_error(error));
}

std::optional<Datetime> datetime(const timespec& t) {
  if (t.tv_sec < 0) return std::nullopt;
  return Datetime{static_cast<uint64_t>(t.tv_sec), static_cast<uint32_t>(t.tv_nsec)};
}

DescriptorType type_of(MountedType type) {
  switch (type) {
    case MountedType::kBlockDevice:
      return DescriptorType::kBlockDevice;
    case MountedType::kCharacterDevice:
      return DescriptorType::kCharacterDevice;
    case MountedType::kDirectory:
      return DescriptorType::kDirectory;
    case MountedType::kRegularFile:
      return DescriptorType::kRegularFile;
    case MountedType::kSymbolicLink:
      return DescriptorType::kSymbolicLink;
    case MountedType::kUnknown:
      break;
  }
  return DescriptorType::kUnknown;
}

DescriptorStat to_descriptor_stat(const MountedStat& s) {
  return {type_of(s.type),      s.link_count,         s.size,
          datetime(s.accessed), datetime(s.modified), datetime(s.changed)};
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
  std::shared_ptr<const MountedTree> tree;
  MountedTree::NodeId node = MountedTree::kRoot;
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

  StreamResult<host::ByteString> read(uint64_t max) override {
    using Out = StreamResult<host::ByteString>;
    std::string buffer(std::min(max, kMaxRead), '\0');
    if (buffer.empty()) return Out::ok({});
    auto n = file_->read_at({reinterpret_cast<uint8_t*>(buffer.data()), buffer.size()}, offset_);
    if (!n) {
      const std::errc error = n.error();
      return Out::err(StreamError::failed(std::string(kStreamErrorPrefix) +
                                          kErrorLabels[static_cast<size_t>(from_error(error))] +
                                          ": " + std::strerror(static_cast<int>(error))));
    }
    if (*n == 0) return Out::err(StreamError::closed());
    buffer.resize(*n);
    offset_ += *n;
    return Out::ok(host::ByteString{std::move(buffer)});
  }
  std::unique_ptr<Pollable> subscribe() override { return std::make_unique<ReadyPollable>(); }

 private:
  std::shared_ptr<HostFile> file_;
  uint64_t offset_;
};

MetadataHashValue directory_hash(MountedTree::NodeId node) {
  return identity_hash(0x6779726500000000ull, node);  // no device: "gyre" and the node
}

// Resolves `path` from a directory descriptor and opens what it names, for the *-at
// functions that look at it.
Fs<Descriptor> open_path(const Descriptor& dir, std::string_view path) {
  if (auto e = need_directory(dir)) return fail<Descriptor>(*e);
  auto node = dir.tree->resolve(dir.node, path);
  if (!node) return fail<Descriptor>(node.error());
  Descriptor out{dir.tree, *node, nullptr};
  if (dir.tree->is_directory(out.node)) return Fs<Descriptor>::ok(std::move(out));
  auto file = dir.tree->open(out.node);
  if (!file) return fail<Descriptor>(file.error());
  out.file = std::move(file).value();
  return Fs<Descriptor>::ok(std::move(out));
}

Fs<DescriptorStat> descriptor_stat(const Descriptor& d) {
  if (d.is_directory()) return Fs<DescriptorStat>::ok(to_descriptor_stat(d.tree->directory_stat()));
  auto st = d.file->stat();
  if (!st) return fail<DescriptorStat>(st.error());
  return Fs<DescriptorStat>::ok(to_descriptor_stat(*st));
}

Fs<MetadataHashValue> metadata_hash(const Descriptor& d) {
  if (d.is_directory()) return Fs<MetadataHashValue>::ok(directory_hash(d.node));
  auto st = d.file->stat();
  if (!st) return fail<MetadataHashValue>(st.error());
  return Fs<MetadataHashValue>::ok(identity_hash(st->device, st->inode));
}

bool same_object(const Descriptor& a, const Descriptor& b) {
  if (a.is_directory() || b.is_directory()) {
    return a.is_directory() && b.is_directory() && a.tree == b.tree && a.node == b.node;
  }
  auto x = a.file->stat(), y = b.file->stat();
  if (!x || !y) return false;
  return x->device == y->device && x->inode == y->inode;
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
  auto n = d.file->read_at(buffer, offset);
  if (!n) return fail<Out>(n.error());
  buffer.resize(*n);
  return Fs<Out>::ok({std::move(buffer), *n == 0});  // Wasmtime: the end only on no bytes
}

Fs<Own<DirectoryEntryStream>> read_directory(const Descriptor& d) {
  using Out = Own<DirectoryEntryStream>;
  if (auto e = need_directory(d)) return fail<Out>(*e);
  auto stream = std::make_unique<DirectoryEntryStream>();
  for (const MountedTree::Entry& entry : d.tree->list(d.node)) {
    stream->entries.push_back(
        {entry.is_directory ? DescriptorType::kDirectory : DescriptorType::kRegularFile,
         std::string(entry.name)});
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
    auto st = self->file->stat();
    if (!st) return fail<DescriptorType>(st.error());
    return Fs<DescriptorType>::ok(type_of(st->type));
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
    auto node = self->tree->resolve(self->node, path);
    return fail<std::string>(node ? ErrorCode::kInvalid : from_error(node.error()));
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
  std::shared_ptr<const MountedTree> tree = MountedTree::build(files);
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
    if (!tree->empty())
      out.emplace_back(Own<Descriptor>{std::make_unique<Descriptor>(
                           Descriptor{tree, MountedTree::kRoot, nullptr})},
                       "/");
    return out;
  });
}

}  // namespace gyre::wasi
