// A file written in pieces that appears under its final name only when complete and durable:
// bytes go to a temporary file beside it; commit() fsyncs it, renames it over the final name and
// fsyncs the directory. Destroying an uncommitted writer removes the temporary file, so an
// exception mid-write leaves the old content (or nothing) under the final name. core/fs.h's
// write_file_atomic does the same for data already in one buffer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "editcaption/core/fs.h"
#include "editcaption/core/hash.h"

namespace ec::io {

/// What was written: the final path, its size and (when asked for) its SHA-256.
struct WrittenFile {
  std::filesystem::path path;
  uint64_t size = 0;
  std::string sha256;  ///< lowercase hex; empty unless computed
};

class AtomicFileWriter {
 public:
  /// `hash`: compute the SHA-256 of the bytes while they are written (no second read).
  explicit AtomicFileWriter(std::filesystem::path final_path, bool hash = false);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(std::string_view s) { write(s.data(), s.size()); }
  uint64_t size() const { return size_; }

  /// fsync, rename to the final path, fsync the directory. Throws UserError(Input) on failure.
  WrittenFile commit();

 private:
  std::filesystem::path final_path_;
  std::filesystem::path tmp_path_;
  UniqueFd fd_;
  std::unique_ptr<Sha256> hash_;
  uint64_t size_ = 0;
  bool committed_ = false;
};

}  // namespace ec::io
