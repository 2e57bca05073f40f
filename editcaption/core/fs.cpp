#include "editcaption/core/fs.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "editcaption/core/check.h"

namespace ec {
namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EC_USER_ERROR(Input, "cannot open '{}': {}", path.string(), std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw EC_USER_ERROR(Input, "read error on '{}'", path.string());
  return ss.str();
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

void fsync_path(const fs::path& path) {
  bool is_dir = fs::is_directory(path);
  UniqueFd fd(::open(path.c_str(), (is_dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (!fd) throw EC_USER_ERROR(Input, "cannot open '{}' to fsync: {}", path.string(), std::strerror(errno));
  if (::fsync(fd.get()) != 0) {
    throw EC_USER_ERROR(Input, "fsync of '{}' failed: {}", path.string(), std::strerror(errno));
  }
}

void write_file_atomic(const fs::path& path, std::string_view data) {
  fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::random_device rd;
  fs::path tmp = parent / fmt::format(".{}.tmp.{:08x}", path.filename().string(), rd());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw EC_USER_ERROR(Input, "cannot create '{}': {}", tmp.string(), std::strerror(errno));
    const char* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      ssize_t n = ::write(fd.get(), p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        fd = UniqueFd();
        fs::remove(tmp);
        throw EC_USER_ERROR(Input, "write to '{}' failed: {}", tmp.string(), std::strerror(err));
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      throw EC_USER_ERROR(Input, "fsync of '{}' failed: {}", tmp.string(), std::strerror(errno));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp);
    throw EC_USER_ERROR(Input, "rename '{}' -> '{}' failed: {}", tmp.string(), path.string(), ec.message());
  }
  fsync_path(parent);
}

MappedFile::MappedFile(const fs::path& path) : path_(path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw EC_USER_ERROR(Input, "cannot open '{}': {}", path.string(), std::strerror(errno));
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) throw EC_USER_ERROR(Input, "cannot stat '{}'", path.string());
  if (!S_ISREG(st.st_mode)) throw EC_USER_ERROR(Input, "'{}' is not a regular file", path.string());
  size_ = static_cast<size_t>(st.st_size);
  if (size_ == 0) return;
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) throw EC_USER_ERROR(Input, "cannot mmap '{}': {}", path.string(), std::strerror(errno));
  data_ = static_cast<const uint8_t*>(p);
}

MappedFile::~MappedFile() { reset(); }

MappedFile::MappedFile(MappedFile&& o) noexcept : path_(std::move(o.path_)), data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    reset();
    path_ = std::move(o.path_);
    data_ = o.data_;
    size_ = o.size_;
    o.data_ = nullptr;
    o.size_ = 0;
  }
  return *this;
}

void MappedFile::reset() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace ec
