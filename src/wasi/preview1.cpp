#include "wasi/preview1.hpp"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <variant>

#include "base/utf8.hpp"

namespace gyre::wasi {

static_assert(std::endian::native == std::endian::little,
              "guest memory is little-endian; loads and stores copy bytes as they are");

namespace {

using Tree = MountedTree;

// ---- preview1's vocabulary --------------------------------------------------------------

// errno, in preview1's numbering (not the host's)
constexpr uint16_t kSuccess = 0;
constexpr uint16_t kAccess = 2;
constexpr uint16_t kBadf = 8;
constexpr uint16_t kFault = 21;
constexpr uint16_t kIlseq = 25;
constexpr uint16_t kInval = 28;
constexpr uint16_t kIo = 29;
constexpr uint16_t kIsdir = 31;
constexpr uint16_t kLoop = 32;
constexpr uint16_t kMfile = 33;
constexpr uint16_t kNametoolong = 37;
constexpr uint16_t kNoent = 44;
constexpr uint16_t kNomem = 48;
constexpr uint16_t kNosys = 52;
constexpr uint16_t kNotdir = 54;
constexpr uint16_t kNotsup = 58;
constexpr uint16_t kOverflow = 61;
constexpr uint16_t kPerm = 63;
constexpr uint16_t kSpipe = 70;

// filetype
constexpr uint8_t kUnknown = 0;
constexpr uint8_t kBlockDevice = 1;
constexpr uint8_t kCharacterDevice = 2;
constexpr uint8_t kDirectory = 3;
constexpr uint8_t kRegularFile = 4;
constexpr uint8_t kSymbolicLink = 7;

constexpr uint16_t kFdflagNonblock = 4;
constexpr uint16_t kOflagCreat = 1, kOflagDirectory = 2, kOflagTrunc = 8;
constexpr uint64_t kRightFdRead = 1 << 1, kRightFdWrite = 1 << 6, kRightPollFdReadwrite = 1 << 27;
constexpr uint64_t kAllRights = (uint64_t{1} << 30) - 1;
// What the adapter reports for a read-only file or directory: everything but writing.
constexpr uint64_t kReadOnlyRights = kAllRights & ~kRightFdWrite;

uint16_t from_error(std::errc error) {
  switch (static_cast<int>(error)) {
    case EACCES:
      return kAccess;
    case EPERM:
      return kPerm;
    case ENOENT:
      return kNoent;
    case ENOTDIR:
      return kNotdir;
    case EISDIR:
      return kIsdir;
    case ELOOP:
      return kLoop;
    case ENAMETOOLONG:
      return kNametoolong;
    case EMFILE:
    case ENFILE:
      return kMfile;
    case ENOMEM:
      return kNomem;
    case EOVERFLOW:
      return kOverflow;
    case EINVAL:
      return kInval;
    default:
      return kIo;
  }
}

// ---- guest memory -------------------------------------------------------------------------

// The calling instance's memory, for the length of one host call (it cannot grow during
// one). Every access is checked; a failed one is the guest's EFAULT.
class GuestMemory {
 public:
  explicit GuestMemory(std::span<uint8_t> bytes) : bytes_(bytes) {}

  std::optional<std::span<uint8_t>> slice(uint32_t ptr, uint64_t len) const {
    if (uint64_t{ptr} + len > bytes_.size()) return std::nullopt;
    return bytes_.subspan(ptr, static_cast<size_t>(len));
  }
  template <class T>
  bool store(uint32_t ptr, T value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    auto out = slice(ptr, sizeof(T));
    if (!out) return false;
    std::memcpy(out->data(), &value, sizeof(T));
    return true;
  }
  template <class T>
  std::optional<T> load(uint32_t ptr) const {
    auto in = slice(ptr, sizeof(T));
    if (!in) return std::nullopt;
    T value;
    std::memcpy(&value, in->data(), sizeof(T));
    return value;
  }
  std::optional<std::string_view> string(uint32_t ptr, uint32_t len) const {
    auto in = slice(ptr, len);
    if (!in) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(in->data()), in->size());
  }

 private:
  std::span<uint8_t> bytes_;
};

// An iovec or ciovec list, every buffer checked before any byte moves.
std::optional<std::vector<std::span<uint8_t>>> buffers(const GuestMemory& mem, uint32_t iovs,
                                                       uint32_t count) {
  if (!mem.slice(iovs, uint64_t{count} * 8)) return std::nullopt;
  std::vector<std::span<uint8_t>> out;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t buf = *mem.load<uint32_t>(iovs + i * 8);
    const uint32_t len = *mem.load<uint32_t>(iovs + i * 8 + 4);
    auto span = mem.slice(buf, len);
    if (!span) return std::nullopt;
    out.push_back(*span);
  }
  return out;
}

// ---- mounted files ---------------------------------------------------------------------

uint8_t filetype_of(MountedType type) {
  switch (type) {
    case MountedType::kBlockDevice:
      return kBlockDevice;
    case MountedType::kCharacterDevice:
      return kCharacterDevice;
    case MountedType::kDirectory:
      return kDirectory;
    case MountedType::kRegularFile:
      return kRegularFile;
    case MountedType::kSymbolicLink:
      return kSymbolicLink;
    case MountedType::kUnknown:
      break;
  }
  return kUnknown;
}

uint64_t nanos(const timespec& t) {
  if (t.tv_sec < 0) return 0;
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(t.tv_nsec);
}

// A stable inode number for a directory of the tree, which has no host inode.
uint64_t directory_inode(Tree::NodeId node) {
  uint64_t x = (node + 1) * 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 31;
  return x == 0 ? 1 : x;
}

struct Filestat {
  uint64_t dev = 0, ino = 0;
  uint8_t filetype = kUnknown;
  uint64_t nlink = 0, size = 0, atim = 0, mtim = 0, ctim = 0;
};

bool store_filestat(const GuestMemory& mem, uint32_t ptr, const Filestat& st) {
  auto out = mem.slice(ptr, 64);
  if (!out) return false;
  std::fill(out->begin(), out->end(), uint8_t{0});
  mem.store(ptr, st.dev);
  mem.store(ptr + 8, st.ino);
  mem.store(ptr + 16, st.filetype);
  mem.store(ptr + 24, st.nlink);
  mem.store(ptr + 32, st.size);
  mem.store(ptr + 40, st.atim);
  mem.store(ptr + 48, st.mtim);
  mem.store(ptr + 56, st.ctim);
  return true;
}

Filestat filestat(const MountedStat& st) {
  return {st.device, st.inode,           filetype_of(st.type), st.link_count,
          st.size,   nanos(st.accessed), nanos(st.modified),   nanos(st.changed)};
}

std::variant<Filestat, uint16_t> host_filestat(const HostFile& file) {
  auto st = file.stat();
  if (!st) return from_error(st.error());
  return filestat(*st);
}

Filestat directory_filestat(const Tree& tree, Tree::NodeId node) {
  Filestat st = filestat(tree.directory_stat());
  st.ino = directory_inode(node);
  return st;
}

// ---- descriptors ------------------------------------------------------------------------

enum class Kind { kStdin, kStdout, kStderr, kDirectory, kFile };

struct Descriptor {
  Kind kind = Kind::kStdin;
  Tree::NodeId node = Tree::kRoot;  // kDirectory, kFile
  std::shared_ptr<HostFile> file;   // kFile
  uint64_t offset = 0;              // kFile
  bool preopen = false;
  uint16_t fdflags = 0;

  bool is_stdio() const {
    return kind == Kind::kStdin || kind == Kind::kStdout || kind == Kind::kStderr;
  }
};

}  // namespace

struct Preview1Ctx::State {
  Preview1Config config;
  std::shared_ptr<const Clock> clock;
  std::shared_ptr<const Tree> tree;  // never null; empty when nothing is mounted
  size_t stdin_offset = 0;
  std::map<uint32_t, Descriptor> fds;
  std::optional<uint32_t> exit_code;
  std::chrono::steady_clock::time_point started;

  Descriptor* find(uint32_t fd) {
    const auto found = fds.find(fd);
    return found == fds.end() ? nullptr : &found->second;
  }
  std::optional<uint32_t> add(Descriptor d) {
    uint32_t fd = 0;
    for (const auto& [used, _] : fds) {
      if (used != fd) break;
      ++fd;
    }
    if (fd == UINT32_MAX) return std::nullopt;
    fds.emplace(fd, std::move(d));
    return fd;
  }
};

Preview1Ctx::Preview1Ctx(Preview1Config config) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.config = std::move(config);
  s.clock = s.config.clock ? s.config.clock : std::make_shared<SystemClock>();
  s.tree = s.config.files ? s.config.files : make_preview1_files({});
  s.started = s.clock->monotonic();
  s.fds.emplace(0, Descriptor{Kind::kStdin});
  s.fds.emplace(1, Descriptor{Kind::kStdout});
  s.fds.emplace(2, Descriptor{Kind::kStderr});
  if (!s.tree->empty()) s.fds.emplace(3, Descriptor{Kind::kDirectory, Tree::kRoot, {}, 0, true});
}

Preview1Ctx::~Preview1Ctx() = default;

std::optional<uint32_t> Preview1Ctx::exit_code() const {
  return state_->exit_code;
}

namespace {

using State = Preview1Ctx::State;

// One host call: its run's state, the caller's memory and the arguments.
struct Call {
  State& s;
  GuestMemory mem;
  std::span<wasm::RawValue> args;

  uint32_t u32(size_t i) const { return static_cast<uint32_t>(args[i].i32); }
  uint64_t u64(size_t i) const { return static_cast<uint64_t>(args[i].i64); }
};

using Fn = uint16_t (*)(Call&);

// ---- args, environ ----------------------------------------------------------------------

uint16_t sizes(Call& c, const std::vector<std::string>& items) {
  uint64_t bytes = 0;
  for (const auto& item : items)
    bytes += item.size() + 1;
  if (!c.mem.store(c.u32(0), static_cast<uint32_t>(items.size()))) return kFault;
  if (!c.mem.store(c.u32(1), static_cast<uint32_t>(bytes))) return kFault;
  return kSuccess;
}

uint16_t fill(Call& c, const std::vector<std::string>& items) {
  uint32_t pointers = c.u32(0), buffer = c.u32(1);
  for (const auto& item : items) {
    auto out = c.mem.slice(buffer, item.size() + 1);
    if (!out || !c.mem.store(pointers, buffer)) return kFault;
    std::memcpy(out->data(), item.data(), item.size());
    (*out)[item.size()] = 0;
    pointers += 4;
    buffer += static_cast<uint32_t>(item.size() + 1);
  }
  return kSuccess;
}

std::vector<std::string> environ_strings(const State& s) {
  std::vector<std::string> out;
  out.reserve(s.config.environment.size());
  for (const auto& [name, value] : s.config.environment)
    out.push_back(name + "=" + value);
  return out;
}

uint16_t args_sizes_get(Call& c) {
  return sizes(c, c.s.config.arguments);
}
uint16_t args_get(Call& c) {
  return fill(c, c.s.config.arguments);
}
uint16_t environ_sizes_get(Call& c) {
  return sizes(c, environ_strings(c.s));
}
uint16_t environ_get(Call& c) {
  return fill(c, environ_strings(c.s));
}

// ---- clocks, random, scheduling ---------------------------------------------------------

constexpr uint32_t kClockRealtime = 0, kClockMonotonic = 1, kClockProcessCpu = 2,
                   kClockThreadCpu = 3;

// A clock's reading in nanoseconds. The CPU-time clocks read the time since the run
// began: a guest gets no view of the host's CPU accounting, and clock() still works.
std::optional<uint64_t> now(const State& s, uint32_t id) {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  switch (id) {
    case kClockRealtime:
      return duration_cast<nanoseconds>(s.clock->wall().time_since_epoch()).count();
    case kClockMonotonic:
      return duration_cast<nanoseconds>(s.clock->monotonic().time_since_epoch()).count();
    case kClockProcessCpu:
    case kClockThreadCpu:
      return duration_cast<nanoseconds>(s.clock->monotonic() - s.started).count();
    default:
      return std::nullopt;
  }
}

uint16_t clock_res_get(Call& c) {
  if (c.u32(0) > kClockThreadCpu) return kInval;
  return c.mem.store(c.u32(1), uint64_t{1}) ? kSuccess : kFault;
}

uint16_t clock_time_get(Call& c) {
  const auto value = now(c.s, c.u32(0));
  if (!value) return kInval;
  return c.mem.store(c.u32(2), *value) ? kSuccess : kFault;
}

uint16_t random_get(Call& c) {
  auto out = c.mem.slice(c.u32(0), c.u32(1));
  if (!out) return kFault;
  size_t filled = 0;
  while (filled < out->size()) {
    const ssize_t n = ::getrandom(out->data() + filled, out->size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return kIo;
    filled += static_cast<size_t>(n);
  }
  return kSuccess;
}

uint16_t sched_yield(Call&) {
  std::this_thread::yield();
  return kSuccess;
}

// Sleeps for `duration`, but not past the run's wake_by.
void sleep_for(const State& s, std::chrono::nanoseconds duration) {
  auto until = std::chrono::steady_clock::now() + duration;
  if (s.config.wake_by && *s.config.wake_by < until) until = *s.config.wake_by;
  std::this_thread::sleep_until(until);
}

constexpr uint8_t kEventClock = 0, kEventFdRead = 1, kEventFdWrite = 2;

// poll_oneoff: stdio and files are always ready; clocks are slept on. Events come back
// for every ready descriptor, or else for the clocks that expired first.
uint16_t poll_oneoff(Call& c) {
  const uint32_t in = c.u32(0), out = c.u32(1), count = c.u32(2), nevents = c.u32(3);
  if (count == 0) return kInval;
  if (!c.mem.slice(in, uint64_t{count} * 48) || !c.mem.slice(out, uint64_t{count} * 32))
    return kFault;
  struct Event {
    uint64_t userdata;
    uint16_t error;
    uint8_t type;
    uint64_t nbytes;
  };
  std::vector<Event> ready;
  std::optional<std::chrono::nanoseconds> earliest;
  std::vector<std::pair<uint64_t, std::chrono::nanoseconds>> clocks;  // userdata, wait
  for (uint32_t i = 0; i < count; ++i) {
    const uint32_t sub = in + i * 48;
    const uint64_t userdata = *c.mem.load<uint64_t>(sub);
    const uint8_t tag = *c.mem.load<uint8_t>(sub + 8);
    if (tag == kEventClock) {
      const uint32_t id = *c.mem.load<uint32_t>(sub + 16);
      const uint64_t timeout = *c.mem.load<uint64_t>(sub + 24);
      const uint16_t flags = *c.mem.load<uint16_t>(sub + 40);
      const auto current = now(c.s, id);
      if (!current) {
        ready.push_back({userdata, kInval, kEventClock, 0});
        continue;
      }
      uint64_t wait = timeout;
      if (flags & 1) wait = timeout > *current ? timeout - *current : 0;  // absolute time
      const auto duration = std::chrono::nanoseconds(std::min<uint64_t>(wait, INT64_MAX / 2));
      clocks.emplace_back(userdata, duration);
      if (!earliest || duration < *earliest) earliest = duration;
    } else if (tag == kEventFdRead || tag == kEventFdWrite) {
      const uint32_t fd = *c.mem.load<uint32_t>(sub + 16);
      const Descriptor* d = c.s.find(fd);
      const bool readable = d && (d->kind == Kind::kStdin || d->kind == Kind::kFile);
      const bool writable = d && (d->kind == Kind::kStdout || d->kind == Kind::kStderr);
      if (!(tag == kEventFdRead ? readable : writable)) {
        ready.push_back({userdata, kBadf, tag, 0});
        continue;
      }
      uint64_t nbytes = 0;
      if (d->kind == Kind::kStdin) nbytes = c.s.config.stdin_data.size() - c.s.stdin_offset;
      if (d->kind == Kind::kFile) {
        const auto st = d->file->stat();
        if (st && st->size > d->offset) nbytes = st->size - d->offset;
      }
      ready.push_back({userdata, kSuccess, tag, nbytes});
    } else {
      return kInval;
    }
  }
  if (ready.empty() && earliest) {
    sleep_for(c.s, *earliest);
    for (const auto& [userdata, wait] : clocks) {
      if (wait <= *earliest) ready.push_back({userdata, kSuccess, kEventClock, 0});
    }
  } else {
    for (const auto& [userdata, wait] : clocks) {
      if (wait.count() == 0) ready.push_back({userdata, kSuccess, kEventClock, 0});
    }
  }
  for (size_t i = 0; i < ready.size(); ++i) {
    const uint32_t at = out + static_cast<uint32_t>(i) * 32;
    std::fill_n(c.mem.slice(at, 32)->begin(), 32, uint8_t{0});
    c.mem.store(at, ready[i].userdata);
    c.mem.store(at + 8, ready[i].error);
    c.mem.store(at + 10, ready[i].type);
    c.mem.store(at + 16, ready[i].nbytes);
  }
  return c.mem.store(nevents, static_cast<uint32_t>(ready.size())) ? kSuccess : kFault;
}

// ---- descriptors: generic ---------------------------------------------------------------

uint16_t fd_close(Call& c) {
  return c.s.fds.erase(c.u32(0)) ? kSuccess : kBadf;
}

uint16_t fd_renumber(Call& c) {
  const uint32_t from = c.u32(0), to = c.u32(1);
  Descriptor* d = c.s.find(from);
  if (!d || !c.s.find(to)) return kBadf;
  if (from == to) return kSuccess;
  Descriptor moved = std::move(*d);
  c.s.fds.erase(from);
  c.s.fds[to] = std::move(moved);
  return kSuccess;
}

uint16_t fd_fdstat_get(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d) return kBadf;
  uint8_t filetype = kUnknown;  // stdio is a pipe, not a terminal
  uint64_t base = 0, inheriting = 0;
  switch (d->kind) {
    case Kind::kStdin:
      base = kRightFdRead | kRightPollFdReadwrite;
      break;
    case Kind::kStdout:
    case Kind::kStderr:
      base = kRightFdWrite | kRightPollFdReadwrite;
      break;
    case Kind::kDirectory:
      filetype = kDirectory;
      base = inheriting = kReadOnlyRights;
      break;
    case Kind::kFile: {
      const auto st = d->file->stat();
      filetype = st ? filetype_of(st->type) : kRegularFile;
      base = inheriting = kReadOnlyRights;
      break;
    }
  }
  const uint32_t at = c.u32(1);
  auto out = c.mem.slice(at, 24);
  if (!out) return kFault;
  std::fill(out->begin(), out->end(), uint8_t{0});
  c.mem.store(at, filetype);
  c.mem.store(at + 2, d->fdflags);
  c.mem.store(at + 8, base);
  c.mem.store(at + 16, inheriting);
  return kSuccess;
}

// Only non-blocking mode can change, and it changes nothing here: every read is ready.
uint16_t fd_fdstat_set_flags(Call& c) {
  Descriptor* d = c.s.find(c.u32(0));
  if (!d) return kBadf;
  const auto flags = static_cast<uint16_t>(c.u32(1));
  if ((flags & ~kFdflagNonblock) != (d->fdflags & ~kFdflagNonblock)) return kInval;
  d->fdflags = flags;
  return kSuccess;
}

uint16_t fd_fdstat_set_rights(Call& c) {
  return c.s.find(c.u32(0)) ? kNotsup : kBadf;
}

uint16_t fd_filestat_get(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d) return kBadf;
  Filestat st;  // stdio: all zeros, type unknown
  if (d->kind == Kind::kDirectory) st = directory_filestat(*c.s.tree, d->node);
  if (d->kind == Kind::kFile) {
    auto got = host_filestat(*d->file);
    if (auto* error = std::get_if<uint16_t>(&got)) return *error;
    st = std::get<Filestat>(got);
  }
  return store_filestat(c.mem, c.u32(1), st) ? kSuccess : kFault;
}

// What a function that changes a file or directory answers: nothing may change.
uint16_t refuse_change(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d || d->is_stdio()) return kBadf;
  return kPerm;
}

// advise and sync succeed without doing anything on what is open for reading.
uint16_t accept_on_file(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d || d->is_stdio()) return kBadf;
  return kSuccess;
}

// ---- reading and writing ----------------------------------------------------------------

uint16_t read_file_at(Call& c, const HostFile& file, uint64_t offset, uint32_t iovs, uint32_t count,
                      uint64_t* total) {
  auto bufs = buffers(c.mem, iovs, count);
  if (!bufs) return kFault;
  *total = 0;
  for (auto& buf : *bufs) {
    if (buf.empty()) continue;
    auto n = file.read_at(buf, offset + *total);
    if (!n) return from_error(n.error());
    *total += *n;
    if (*n < buf.size()) break;
  }
  return kSuccess;
}

uint16_t fd_read(Call& c) {
  Descriptor* d = c.s.find(c.u32(0));
  if (!d) return kBadf;
  if (!c.mem.slice(c.u32(3), 4)) return kFault;  // checked before any byte moves
  uint64_t total = 0;
  if (d->kind == Kind::kStdin) {
    auto bufs = buffers(c.mem, c.u32(1), c.u32(2));
    if (!bufs) return kFault;
    const std::string& data = c.s.config.stdin_data;
    for (auto& buf : *bufs) {
      const size_t n = std::min(buf.size(), data.size() - c.s.stdin_offset);
      std::memcpy(buf.data(), data.data() + c.s.stdin_offset, n);
      c.s.stdin_offset += n;
      total += n;
    }
  } else if (d->kind == Kind::kFile) {
    const uint16_t error = read_file_at(c, *d->file, d->offset, c.u32(1), c.u32(2), &total);
    if (error != kSuccess) return error;
    d->offset += total;
  } else {
    return kBadf;
  }
  return c.mem.store(c.u32(3), static_cast<uint32_t>(total)) ? kSuccess : kFault;
}

uint16_t fd_pread(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d) return kBadf;
  if (!c.mem.slice(c.u32(4), 4)) return kFault;
  if (d->is_stdio()) return kSpipe;
  if (d->kind != Kind::kFile) return kBadf;
  uint64_t total = 0;
  const uint16_t error = read_file_at(c, *d->file, c.u64(3), c.u32(1), c.u32(2), &total);
  if (error != kSuccess) return error;
  return c.mem.store(c.u32(4), static_cast<uint32_t>(total)) ? kSuccess : kFault;
}

uint16_t fd_write(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d || (d->kind != Kind::kStdout && d->kind != Kind::kStderr)) return kBadf;
  if (!c.mem.slice(c.u32(3), 4)) return kFault;  // checked before any byte moves
  auto bufs = buffers(c.mem, c.u32(1), c.u32(2));
  if (!bufs) return kFault;
  std::string text;
  for (const auto& buf : *bufs)
    text.append(reinterpret_cast<const char*>(buf.data()), buf.size());
  const auto& sink = d->kind == Kind::kStdout ? c.s.config.stdout_sink : c.s.config.stderr_sink;
  if (sink && !text.empty()) sink(text);
  return c.mem.store(c.u32(3), static_cast<uint32_t>(text.size())) ? kSuccess : kFault;
}

uint16_t fd_pwrite(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (d && d->is_stdio()) return kSpipe;
  return kBadf;
}

uint16_t fd_seek(Call& c) {
  Descriptor* d = c.s.find(c.u32(0));
  if (!d) return kBadf;
  if (d->is_stdio()) return kSpipe;
  if (d->kind != Kind::kFile) return kBadf;
  if (!c.mem.slice(c.u32(3), 8)) return kFault;
  const auto delta = static_cast<int64_t>(c.u64(1));
  int64_t base = 0;
  switch (c.u32(2)) {
    case 0:
      break;
    case 1:
      base = static_cast<int64_t>(d->offset);
      break;
    case 2: {
      const auto st = d->file->stat();
      if (!st) return from_error(st.error());
      base = static_cast<int64_t>(st->size);
      break;
    }
    default:
      return kInval;
  }
  int64_t target = 0;
  if (__builtin_add_overflow(base, delta, &target) || target < 0) return kInval;
  d->offset = static_cast<uint64_t>(target);
  return c.mem.store(c.u32(3), d->offset) ? kSuccess : kFault;
}

uint16_t fd_tell(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d) return kBadf;
  if (d->is_stdio()) return kSpipe;
  if (d->kind != Kind::kFile) return kBadf;
  return c.mem.store(c.u32(1), d->offset) ? kSuccess : kFault;
}

// ---- directories ------------------------------------------------------------------------

// A directory descriptor for a path function: EBADF for none, ENOTDIR for anything else.
std::variant<const Descriptor*, uint16_t> directory(Call& c, uint32_t fd) {
  const Descriptor* d = c.s.find(fd);
  if (!d || d->is_stdio()) return uint16_t{kBadf};
  if (d->kind != Kind::kDirectory) return uint16_t{kNotdir};
  return d;
}

// The path argument at (ptr, len), resolved from directory `fd`.
std::variant<Tree::NodeId, uint16_t> lookup(Call& c, uint32_t fd, uint32_t ptr, uint32_t len) {
  auto dir = directory(c, fd);
  if (auto* error = std::get_if<uint16_t>(&dir)) return *error;
  const auto path = c.mem.string(ptr, len);
  if (!path) return uint16_t{kFault};
  if (!valid_utf8(*path)) return uint16_t{kIlseq};
  auto node = c.s.tree->resolve(std::get<const Descriptor*>(dir)->node, *path);
  if (!node) return from_error(node.error());
  return *node;
}

uint16_t fd_prestat_get(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d || !d->preopen) return kBadf;
  const uint32_t at = c.u32(1);
  auto out = c.mem.slice(at, 8);
  if (!out) return kFault;
  std::fill(out->begin(), out->end(), uint8_t{0});
  c.mem.store(at + 4, uint32_t{1});  // the name "/"
  return kSuccess;
}

uint16_t fd_prestat_dir_name(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d || !d->preopen) return kBadf;
  if (c.u32(2) < 1) return kNametoolong;
  auto out = c.mem.slice(c.u32(1), 1);
  if (!out) return kFault;
  (*out)[0] = '/';
  return kSuccess;
}

// fd_readdir lists ".", ".." and then the children in name order; a cookie is the index
// of the next entry. Entries that do not fit are cut, as preview1 wants: a full buffer
// tells the guest to ask again with a larger one.
uint16_t fd_readdir(Call& c) {
  const Descriptor* d = c.s.find(c.u32(0));
  if (!d || d->is_stdio()) return kBadf;
  if (d->kind != Kind::kDirectory) return kNotdir;
  const Tree& tree = *c.s.tree;
  const uint32_t buf = c.u32(1), buf_len = c.u32(2);
  const uint64_t cookie = c.u64(3);
  if (!c.mem.slice(buf, buf_len)) return kFault;
  struct Entry {
    std::string_view name;
    uint64_t ino;
    uint8_t type;
  };
  std::vector<Entry> entries;
  entries.push_back({".", directory_inode(d->node), kDirectory});
  entries.push_back({"..", directory_inode(tree.parent(d->node)), kDirectory});
  for (const Tree::Entry& entry : tree.list(d->node)) {
    entries.push_back(
        {entry.name, directory_inode(entry.node), entry.is_directory ? kDirectory : kRegularFile});
  }
  uint32_t used = 0;
  for (uint64_t i = cookie; i < entries.size() && used < buf_len; ++i) {
    std::array<uint8_t, 24> head{};
    const uint64_t next = i + 1;
    const auto namlen = static_cast<uint32_t>(entries[i].name.size());
    std::memcpy(head.data(), &next, 8);
    std::memcpy(head.data() + 8, &entries[i].ino, 8);
    std::memcpy(head.data() + 16, &namlen, 4);
    head[20] = entries[i].type;
    std::string bytes(reinterpret_cast<const char*>(head.data()), head.size());
    bytes += entries[i].name;
    const uint32_t n = std::min<uint32_t>(buf_len - used, static_cast<uint32_t>(bytes.size()));
    std::memcpy(c.mem.slice(buf + used, n)->data(), bytes.data(), n);
    used += n;
  }
  return c.mem.store(c.u32(4), used) ? kSuccess : kFault;
}

uint16_t path_open(Call& c) {
  const uint32_t dirfd = c.u32(0), path = c.u32(2), path_len = c.u32(3);
  const auto oflags = static_cast<uint16_t>(c.u32(4));
  const uint64_t rights = c.u64(5);
  const auto fdflags = static_cast<uint16_t>(c.u32(7));
  auto dir = directory(c, dirfd);
  if (auto* error = std::get_if<uint16_t>(&dir)) return *error;
  if (oflags & (kOflagCreat | kOflagTrunc)) return kPerm;
  if ((rights & kRightFdWrite) || (fdflags & ~kFdflagNonblock)) return kPerm;
  auto found = lookup(c, dirfd, path, path_len);
  if (auto* error = std::get_if<uint16_t>(&found)) return *error;
  const Tree::NodeId node = std::get<Tree::NodeId>(found);
  if (!c.mem.slice(c.u32(8), 4)) return kFault;
  Descriptor d;
  d.node = node;
  d.fdflags = fdflags;
  if (c.s.tree->is_directory(node)) {
    d.kind = Kind::kDirectory;
  } else {
    if (oflags & kOflagDirectory) return kNotdir;
    auto opened = c.s.tree->open(node);
    if (!opened) return from_error(opened.error());
    d.kind = Kind::kFile;
    d.file = std::move(opened).value();
  }
  const auto fd = c.s.add(std::move(d));
  if (!fd) return kMfile;
  c.mem.store(c.u32(8), *fd);
  return kSuccess;
}

uint16_t path_filestat_get(Call& c) {
  auto found = lookup(c, c.u32(0), c.u32(2), c.u32(3));
  if (auto* error = std::get_if<uint16_t>(&found)) return *error;
  const Tree::NodeId node = std::get<Tree::NodeId>(found);
  Filestat st = directory_filestat(*c.s.tree, node);
  if (!c.s.tree->is_directory(node)) {
    auto opened = c.s.tree->open(node);
    if (!opened) return from_error(opened.error());
    auto got = host_filestat(**opened);
    if (auto* error = std::get_if<uint16_t>(&got)) return *error;
    st = std::get<Filestat>(got);
  }
  return store_filestat(c.mem, c.u32(4), st) ? kSuccess : kFault;
}

// The tree holds no symbolic links: reading one is EINVAL, as for any other file.
uint16_t path_readlink(Call& c) {
  auto found = lookup(c, c.u32(0), c.u32(1), c.u32(2));
  if (auto* error = std::get_if<uint16_t>(&found)) return *error;
  return kInval;
}

// Changes under a directory: the directory must be one, and then nothing may change.
uint16_t refuse_path_change(Call& c) {
  auto dir = directory(c, c.u32(0));
  if (auto* error = std::get_if<uint16_t>(&dir)) return *error;
  return kPerm;
}
uint16_t refuse_symlink(Call& c) {  // the directory comes third
  auto dir = directory(c, c.u32(2));
  if (auto* error = std::get_if<uint16_t>(&dir)) return *error;
  return kPerm;
}

// ---- what a guest here never has -------------------------------------------------------

uint16_t not_implemented(Call&) {
  return kNosys;
}
uint16_t sock_on_descriptor(Call& c) {
  return c.s.find(c.u32(0)) ? kNotsup : kBadf;
}

// ---- the table --------------------------------------------------------------------------

struct Import {
  const char* name;
  const char* params;  // 'i' for i32, 'I' for i64; every function returns an i32 errno
  Fn fn;
};

constexpr std::array kImports = {
    Import{"args_get", "ii", args_get},
    Import{"args_sizes_get", "ii", args_sizes_get},
    Import{"environ_get", "ii", environ_get},
    Import{"environ_sizes_get", "ii", environ_sizes_get},
    Import{"clock_res_get", "ii", clock_res_get},
    Import{"clock_time_get", "iIi", clock_time_get},
    Import{"fd_advise", "iIIi", accept_on_file},
    Import{"fd_allocate", "iII", refuse_change},
    Import{"fd_close", "i", fd_close},
    Import{"fd_datasync", "i", accept_on_file},
    Import{"fd_fdstat_get", "ii", fd_fdstat_get},
    Import{"fd_fdstat_set_flags", "ii", fd_fdstat_set_flags},
    Import{"fd_fdstat_set_rights", "iII", fd_fdstat_set_rights},
    Import{"fd_filestat_get", "ii", fd_filestat_get},
    Import{"fd_filestat_set_size", "iI", refuse_change},
    Import{"fd_filestat_set_times", "iIIi", refuse_change},
    Import{"fd_pread", "iiiIi", fd_pread},
    Import{"fd_prestat_get", "ii", fd_prestat_get},
    Import{"fd_prestat_dir_name", "iii", fd_prestat_dir_name},
    Import{"fd_pwrite", "iiiIi", fd_pwrite},
    Import{"fd_read", "iiii", fd_read},
    Import{"fd_readdir", "iiiIi", fd_readdir},
    Import{"fd_renumber", "ii", fd_renumber},
    Import{"fd_seek", "iIii", fd_seek},
    Import{"fd_sync", "i", accept_on_file},
    Import{"fd_tell", "ii", fd_tell},
    Import{"fd_write", "iiii", fd_write},
    Import{"path_create_directory", "iii", refuse_path_change},
    Import{"path_filestat_get", "iiiii", path_filestat_get},
    Import{"path_filestat_set_times", "iiiiIIi", refuse_path_change},
    Import{"path_link", "iiiiiii", refuse_path_change},
    Import{"path_open", "iiiiiIIii", path_open},
    Import{"path_readlink", "iiiiii", path_readlink},
    Import{"path_remove_directory", "iii", refuse_path_change},
    Import{"path_rename", "iiiiii", refuse_path_change},
    Import{"path_symlink", "iiiii", refuse_symlink},
    Import{"path_unlink_file", "iii", refuse_path_change},
    Import{"poll_oneoff", "iiii", poll_oneoff},
    Import{"proc_raise", "i", not_implemented},
    Import{"sched_yield", "", sched_yield},
    Import{"random_get", "ii", random_get},
    Import{"sock_accept", "iii", sock_on_descriptor},
    Import{"sock_recv", "iiiiii", sock_on_descriptor},
    Import{"sock_send", "iiiii", sock_on_descriptor},
    Import{"sock_shutdown", "ii", sock_on_descriptor},
};

wasm::FuncType func_type(std::string_view params, bool returns_errno) {
  wasm::FuncType type;
  for (char p : params)
    type.params.push_back(p == 'I' ? wasm::ValType::kI64 : wasm::ValType::kI32);
  if (returns_errno) type.results.push_back(wasm::ValType::kI32);
  return type;
}

Preview1Ctx& store_data_is_ctx(void* data) {
  return *static_cast<Preview1Ctx*>(data);
}

}  // namespace

wasm::Result<void> add_preview1(wasm::Linker& linker, Preview1CtxOf ctx_of) {
  if (ctx_of == nullptr) ctx_of = store_data_is_ctx;
  for (const Import& import : kImports) {
    const Fn fn = import.fn;
    auto defined = linker.define(
        kPreview1Module, import.name, func_type(import.params, true),
        [fn, ctx_of](wasm::Caller& caller, std::span<wasm::RawValue> slots) -> wasm::HostResult {
          const auto memory = caller.memory();
          Call call{ctx_of(caller.data()).state(),
                    GuestMemory(memory ? memory->data(caller.context()) : std::span<uint8_t>()),
                    slots};
          slots[0] = wasm::RawValue::from_i32(fn(call));
          return std::nullopt;
        });
    if (!defined) return defined;
  }
  return linker.define(
      kPreview1Module, "proc_exit", func_type("i", false),
      [ctx_of](wasm::Caller& caller, std::span<wasm::RawValue> slots) -> wasm::HostResult {
        ctx_of(caller.data()).state().exit_code = static_cast<uint32_t>(slots[0].i32);
        return wasm::HostTrap{std::string(kProcExitTrap)};
      });
}

}  // namespace gyre::wasi
