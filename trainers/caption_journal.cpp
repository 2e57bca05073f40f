#include "trainers/caption_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"

namespace ec::train {
namespace fs = std::filesystem;

namespace {

nlohmann::ordered_json caption_line(const Caption& c) {
  nlohmann::ordered_json j;
  j["record"] = c.record;
  j["id"] = c.id;
  j["sample"] = c.sample;
  j["instruction"] = c.instruction;
  j["stopped"] = c.stopped;
  return j;
}

Caption parse_caption(const nlohmann::json& j) {
  Caption c;
  c.record = j.at("record").get<int64_t>();
  c.id = j.at("id").get<std::string>();
  c.sample = j.at("sample").get<int64_t>();
  c.instruction = j.at("instruction").get<std::string>();
  c.stopped = j.at("stopped").get<bool>();
  return c;
}

}  // namespace

CaptionJournal::CaptionJournal(fs::path path, nlohmann::ordered_json header, bool restart) : path_(std::move(path)) {
  if (restart && fs::exists(path_)) {
    log::info("caption: --restart, discarding {}", path_.string());
    fs::remove(path_);
  }
  const bool resume = fs::exists(path_);
  if (resume) load(header);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  EC_USER_CHECK(fd_ >= 0, Input, "cannot open {}: {}", path_.string(), std::strerror(errno));
  if (!resume) {
    write(header.dump() + "\n");
    fsync_path(path_.parent_path().empty() ? fs::path(".") : path_.parent_path());
  }
}

CaptionJournal::~CaptionJournal() {
  if (fd_ >= 0) ::close(fd_);
}

void CaptionJournal::load(const nlohmann::ordered_json& header) {
  std::string text = read_file(path_);
  // The interruption may have cut the last line short: keep whole lines only.
  const size_t end = text.rfind('\n');
  const size_t keep = end == std::string::npos ? 0 : end + 1;
  if (keep < text.size()) {
    log::warn("{}: dropping a last line cut short by the interruption ({} bytes)", path_.string(), text.size() - keep);
    text.resize(keep);
    fs::resize_file(path_, keep);
  }
  size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw EC_USER_ERROR(Input, "{}:{}: not JSON ({}); delete the file or pass --restart", path_.string(), line_no,
                          e.what());
    }
    if (line_no == 1) {
      if (j != nlohmann::json::parse(header.dump())) {
        throw EC_USER_ERROR(Usage,
                            "{}: left by a caption run with other inputs or settings (its header {} differs from this "
                            "run's {}); pass --restart to start over, or write to another --out",
                            path_.string(), j.dump(), header.dump());
      }
      continue;
    }
    try {
      done_.push_back(parse_caption(j));
    } catch (const nlohmann::json::exception& e) {
      throw EC_USER_ERROR(Input, "{}:{}: not a caption line ({}); delete the file or pass --restart", path_.string(),
                          line_no, e.what());
    }
  }
  EC_USER_CHECK(line_no >= 1, Input, "{}: empty (no header line); delete it or pass --restart", path_.string());
}

void CaptionJournal::write(const std::string& text) {
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    EC_USER_CHECK(n > 0, Input, "cannot write {}: {}", path_.string(), std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  EC_USER_CHECK(::fsync(fd_) == 0, Input, "cannot fsync {}: {}", path_.string(), std::strerror(errno));
}

void CaptionJournal::append(const std::vector<Caption>& captions) {
  std::string text;
  for (const Caption& c : captions) {
    text += caption_line(c).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  if (!text.empty()) write(text);
}

void CaptionJournal::finish() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::error_code ec;
  fs::remove(path_, ec);
}

}  // namespace ec::train
