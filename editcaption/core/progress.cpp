#include "editcaption/core/progress.h"

#include <unistd.h>

#include <cstdio>

#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"

namespace ec {

Progress::Progress(std::string label, int64_t total, std::string unit, ProgressOptions options)
    : label_(std::move(label)), total_(total), unit_(std::move(unit)), options_(options) {
  tty_ = options_.force_tty >= 0 ? options_.force_tty == 1 : ::isatty(STDERR_FILENO) == 1;
  start_ = last_render_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (!finished_) finish();
}

double Progress::rate() const {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return secs > 0 ? static_cast<double>(done_) / secs : 0.0;
}

void Progress::advance(int64_t n, const std::string& status) {
  done_ += n;
  if (!status.empty()) status_ = status;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_render_).count();
  double min_interval = tty_ ? 0.1 : options_.line_interval_s;
  if (since >= min_interval || done_ == total_) {
    last_render_ = now;
    render(false);
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (!status.empty()) status_ = status;
  render(true);
}

void Progress::render(bool final_line) {
  if (options_.rank != 0) return;
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double r = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  double eta = (r > 0 && total_ > 0) ? static_cast<double>(total_ - done_) / r : -1.0;
  std::string counts = total_ > 0 ? fmt::format("{}/{}", done_, total_) : fmt::format("{}", done_);
  std::string rate_text = r >= 1.0 || r == 0.0 ? fmt::format("{:.1f} {}/s", r, unit_) : fmt::format("{:.2f} s/{}", 1.0 / r, unit_);
  std::string timing = final_line ? fmt::format("in {}", human_duration(elapsed))
                                  : fmt::format("ETA {}", total_ > 0 ? human_duration(eta) : "?");
  if (tty_) {
    constexpr int kWidth = 24;
    int filled = total_ > 0 ? static_cast<int>(kWidth * std::min<double>(1.0, static_cast<double>(done_) / total_)) : 0;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %s %s %s %s", label_.c_str(), bar.c_str(), counts.c_str(), rate_text.c_str(),
                 timing.c_str(), status_.c_str());
    if (final_line) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  } else {
    log::info("{}: {} {} {}{}", label_, counts, rate_text, timing, status_.empty() ? "" : " " + status_);
  }
}

}  // namespace ec
