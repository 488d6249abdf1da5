#include "wasi/mounted_tree.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <optional>

namespace gyre::wasi {
namespace {

namespace fs = std::filesystem;

std::errc last_error() {
  return static_cast<std::errc>(errno);
}

MountedType type_of(mode_t mode) {
  if (S_ISDIR(mode)) return MountedType::kDirectory;
  if (S_ISREG(mode)) return MountedType::kRegularFile;
  if (S_ISLNK(mode)) return MountedType::kSymbolicLink;
  if (S_ISBLK(mode)) return MountedType::kBlockDevice;
  if (S_ISCHR(mode)) return MountedType::kCharacterDevice;
  return MountedType::kUnknown;
}

timespec now() {
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since).count();
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

bool inside(std::string_view real, std::string_view root) {
  if (!real.starts_with(root)) return false;
  return real.size() == root.size() || root.back() == '/' || real[root.size()] == '/';
}

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

}  // namespace

HostFile::~HostFile() {
  ::close(fd_);
}

MountResult<MountedStat> HostFile::stat() const {
  struct stat st{};
  if (::fstat(fd_, &st) != 0) return last_error();
  return MountedStat{type_of(st.st_mode),
                     static_cast<uint64_t>(st.st_dev),
                     static_cast<uint64_t>(st.st_ino),
                     static_cast<uint64_t>(st.st_nlink),
                     static_cast<uint64_t>(st.st_size),
                     st.st_atim,
                     st.st_mtim,
                     st.st_ctim};
}

MountResult<size_t> HostFile::read_at(std::span<uint8_t> into, uint64_t offset) const {
  if (into.empty()) return size_t{0};
  ssize_t n;
  do {
    n = ::pread(fd_, into.data(), into.size(), static_cast<off_t>(offset));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return last_error();
  return static_cast<size_t>(n);
}

std::shared_ptr<const MountedTree> MountedTree::build(const std::vector<MountedFile>& files) {
  auto tree = std::make_shared<MountedTree>();
  tree->mounted_ = now();
  if (files.empty()) return tree;
  std::vector<Node>& nodes = tree->nodes_;
  nodes.emplace_back();
  for (const MountedFile& file : files) {
    NodeId at = kRoot;
    std::string_view rest = file.guest_path;
    while (!rest.empty() && nodes[at].is_directory()) {
      const size_t slash = rest.find('/');
      const std::string_view name = rest.substr(0, slash);
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
      if (name.empty() || name == "." || name == "..") continue;
      const auto found = nodes[at].children.find(name);
      if (found != nodes[at].children.end()) {
        at = found->second;
        continue;
      }
      const auto added = static_cast<NodeId>(nodes.size());
      nodes.push_back(Node{at, {}, {}, {}});
      nodes[at].children.emplace(std::string(name), added);
      at = added;
    }
    Node& node = nodes[at];
    if (!rest.empty() || file.host_path.empty() || at == kRoot || !node.children.empty()) continue;
    node.host_path = file.host_path;
    std::error_code ec;
    const fs::path real = file.confine_to.empty() ? fs::path() : fs::canonical(file.confine_to, ec);
    node.confine_to = (ec ? file.confine_to : real).string();
  }
  return tree;
}

std::vector<MountedTree::Entry> MountedTree::list(NodeId directory) const {
  std::vector<Entry> out;
  for (const auto& [name, child] : nodes_[directory].children)
    out.push_back({name, child, nodes_[child].is_directory()});
  return out;
}

MountedStat MountedTree::directory_stat() const {
  return {MountedType::kDirectory, 0, 0, 1, 0, mounted_, mounted_, mounted_};
}

MountResult<MountedTree::NodeId> MountedTree::resolve(NodeId from, std::string_view path) const {
  if (path.empty()) return std::errc::no_such_file_or_directory;
  if (path.find('\0') != std::string_view::npos) return std::errc::invalid_argument;
  if (path.front() == '/') return std::errc::operation_not_permitted;
  NodeId at = from;
  for (size_t start = 0; start < path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::string_view name = path.substr(start, slash - start);
    start = slash + 1;
    if (name.empty()) continue;
    const Node& node = nodes_[at];
    if (!node.is_directory()) return std::errc::not_a_directory;
    if (name == ".") continue;
    if (name == "..") {
      // Everything walked through lies below `from`, so only at `from` is `..` an escape.
      if (at == from) return std::errc::operation_not_permitted;
      at = node.parent;
      continue;
    }
    const auto found = node.children.find(name);
    if (found == node.children.end()) return std::errc::no_such_file_or_directory;
    at = found->second;
  }
  if (path.back() == '/' && !nodes_[at].is_directory()) return std::errc::not_a_directory;
  return at;
}

MountResult<std::shared_ptr<HostFile>> MountedTree::open(NodeId file) const {
  const Node& node = nodes_[file];
  const int fd = ::open(node.host_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return last_error();
  auto opened = std::make_shared<HostFile>(fd);
  if (!node.confine_to.empty()) {
    const auto real = real_path(fd, node.host_path);
    if (!real || !inside(*real, node.confine_to)) return std::errc::operation_not_permitted;
  }
  return opened;
}

}  // namespace gyre::wasi
