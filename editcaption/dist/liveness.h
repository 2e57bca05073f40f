// Naming the culprit when a collective fails. Every rank publishes a heartbeat in the rendezvous
// store (a counter plus how many collectives it has entered on each of its groups) from a
// background thread, and a note when it exits. When a collective fails, diagnose() reads the
// members' heartbeats twice, a few periods apart: a rank whose counter did not move died or is
// frozen; a rank that is alive but entered fewer collectives on that group hangs or diverged.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ec::dist {

class Liveness {
 public:
  using Connect = std::function<c10::intrusive_ptr<c10d::Store>()>;
  /// `connect` opens a store client; Liveness opens two (heartbeat thread, diagnosis).
  Liveness(Connect connect, int rank, std::chrono::milliseconds period, std::string store_where);
  ~Liveness();
  Liveness(const Liveness&) = delete;
  Liveness& operator=(const Liveness&) = delete;

  /// This rank entered collective #seq on `group` (published with the next heartbeat).
  void entered(const std::string& group, uint64_t seq);
  /// Explains why collective #seq on `group` failed, naming the members (global ranks) that are
  /// dead, exited or behind. Takes up to 2.5 heartbeat periods. Never throws.
  std::string diagnose(const std::string& group, uint64_t seq, const std::vector<int>& members);
  /// Records how this rank ends ("finished", "error: ..."), read by the others' diagnosis.
  void note_exit(const std::string& status);
  void mark_failed() { failed_ = true; }
  bool failed() const { return failed_; }

 private:
  struct Beat {
    uint64_t count = 0;
    std::map<std::string, uint64_t> entered;
  };
  void run();
  std::string encode();
  static Beat decode(const std::string& text);

  int rank_;
  std::chrono::milliseconds period_;
  std::string where_;
  c10::intrusive_ptr<c10d::Store> beat_store_;
  c10::intrusive_ptr<c10d::Store> query_store_;
  std::mutex query_mutex_;
  std::mutex state_mutex_;
  std::map<std::string, uint64_t> entered_;
  uint64_t count_ = 0;
  std::atomic<bool> failed_{false};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ec::dist
