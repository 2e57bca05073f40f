#include "editcaption/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "editcaption/core/check.h"

namespace ec::io {
namespace fs = std::filesystem;

AtomicFileWriter::AtomicFileWriter(fs::path final_path, bool hash) : final_path_(std::move(final_path)) {
  fs::path parent = final_path_.parent_path().empty() ? fs::path(".") : final_path_.parent_path();
  std::random_device rd;
  tmp_path_ = parent / fmt::format(".{}.tmp.{:08x}", final_path_.filename().string(), rd());
  fd_ = UniqueFd(::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd_) throw EC_USER_ERROR(Input, "cannot create '{}': {}", tmp_path_.string(), std::strerror(errno));
  if (hash) hash_ = std::make_unique<Sha256>();
}

AtomicFileWriter::~AtomicFileWriter() {
  if (committed_) return;
  fd_ = UniqueFd();
  std::error_code ec;
  fs::remove(tmp_path_, ec);
}

void AtomicFileWriter::write(const void* data, size_t size) {
  EC_CHECK(!committed_, "write after commit to '{}'", final_path_.string());
  if (hash_) hash_->update(data, size);
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd_.get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw EC_USER_ERROR(Input, "write to '{}' failed: {}", tmp_path_.string(), std::strerror(errno));
    p += n;
    left -= static_cast<size_t>(n);
  }
  size_ += size;
}

WrittenFile AtomicFileWriter::commit() {
  EC_CHECK(!committed_, "second commit of '{}'", final_path_.string());
  if (::fsync(fd_.get()) != 0) {
    throw EC_USER_ERROR(Input, "fsync of '{}' failed: {}", tmp_path_.string(), std::strerror(errno));
  }
  if (::close(fd_.release()) != 0) {
    throw EC_USER_ERROR(Input, "close of '{}' failed: {}", tmp_path_.string(), std::strerror(errno));
  }
  std::error_code ec;
  fs::rename(tmp_path_, final_path_, ec);
  if (ec) {
    throw EC_USER_ERROR(Input, "rename '{}' -> '{}' failed: {}", tmp_path_.string(), final_path_.string(), ec.message());
  }
  committed_ = true;
  fsync_path(final_path_.parent_path().empty() ? fs::path(".") : final_path_.parent_path());
  WrittenFile out;
  out.path = final_path_;
  out.size = size_;
  if (hash_) out.sha256 = hash_->hex_digest();
  return out;
}

}  // namespace ec::io
