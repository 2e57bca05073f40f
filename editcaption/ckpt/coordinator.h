// The few collective operations the checkpoint protocol needs, on small host strings. The
// distributed layer implements this over its c10d process group; SingleProcessCoordinator serves
// one process, ThreadGroup several ranks as threads of one process (tests).
//
// Every rank must call the same collectives in the same order. Implementations throw
// UserError(Comm) when a collective cannot complete (timeout, dead peer).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ec::ckpt {

class Coordinator {
 public:
  virtual ~Coordinator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  /// Every rank's `value`, indexed by rank.
  virtual std::vector<std::string> all_gather(const std::string& value) = 0;
  /// Root's `value` on every rank (others' `value` is ignored).
  virtual std::string broadcast(const std::string& value, int root) { return all_gather(value)[root]; }
  virtual void barrier() { all_gather(std::string()); }

  bool all_true(bool value);
  bool any_true(bool value);
};

class SingleProcessCoordinator final : public Coordinator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  std::vector<std::string> all_gather(const std::string& value) override { return {value}; }
};

/// `world_size` ranks in one process, one thread each: member(r) is rank r's coordinator.
class ThreadGroup {
 public:
  explicit ThreadGroup(int world_size, std::chrono::milliseconds timeout = std::chrono::minutes(5));
  std::shared_ptr<Coordinator> member(int rank);
  int world_size() const { return world_size_; }

 private:
  class Member;
  std::vector<std::string> exchange(int rank, const std::string& value);

  int world_size_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;
  int arrived_ = 0;
  std::vector<std::string> slots_;
  std::shared_ptr<const std::vector<std::string>> published_;
};

}  // namespace ec::ckpt
