// Progress reporting for long loops: a live bar with rate and ETA on a terminal, plain periodic
// log lines otherwise (CI logs, files, non-zero ranks print nothing).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ec {

struct ProgressOptions {
  /// Draw the bar only on rank 0.
  int rank = 0;
  /// Seconds between plain lines when stderr is not a terminal.
  double line_interval_s = 10.0;
  /// Overrides terminal detection (tests).
  int force_tty = -1;
};

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it", ProgressOptions options = {});
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Adds `n` units of work; `status` is shown after the bar (e.g. "loss 1.23").
  void advance(int64_t n = 1, const std::string& status = "");
  /// Prints the final line (idempotent).
  void finish(const std::string& status = "");
  int64_t done() const { return done_; }
  double rate() const;  ///< units per second since start

 private:
  void render(bool final_line);
  std::string label_;
  int64_t total_;
  std::string unit_;
  ProgressOptions options_;
  bool tty_ = false;
  bool finished_ = false;
  int64_t done_ = 0;
  std::string status_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_render_;
};

}  // namespace ec
