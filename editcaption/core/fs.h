// File-system helpers: whole-file reads, durable atomic writes (temp + fsync + rename + fsync of
// the parent), and a read-only memory map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace ec {

/// Reads a whole file; throws UserError(Input) naming it on failure.
std::string read_file(const std::filesystem::path& path);

/// Writes `data` to `path` atomically and durably: a temporary file beside it is written and
/// fsynced, renamed over `path`, then the parent directory is fsynced. A crash leaves either the
/// old or the new content, never a torn file.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);

/// fsync a regular file or a directory.
void fsync_path(const std::filesystem::path& path);

/// An owned POSIX file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

/// A read-only private memory map of a whole file. Zero-length files map to an empty view.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void reset();
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ec
