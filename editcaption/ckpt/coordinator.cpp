#include "editcaption/ckpt/coordinator.h"

#include "editcaption/core/check.h"

namespace ec::ckpt {

bool Coordinator::all_true(bool value) {
  for (const auto& v : all_gather(value ? "1" : "0")) {
    if (v != "1") return false;
  }
  return true;
}

bool Coordinator::any_true(bool value) {
  for (const auto& v : all_gather(value ? "1" : "0")) {
    if (v == "1") return true;
  }
  return false;
}

class ThreadGroup::Member final : public Coordinator {
 public:
  Member(ThreadGroup* group, int rank) : group_(group), rank_(rank) {}
  int rank() const override { return rank_; }
  int world_size() const override { return group_->world_size_; }
  std::vector<std::string> all_gather(const std::string& value) override { return group_->exchange(rank_, value); }

 private:
  ThreadGroup* group_;
  int rank_;
};

ThreadGroup::ThreadGroup(int world_size, std::chrono::milliseconds timeout)
    : world_size_(world_size), timeout_(timeout), slots_(static_cast<size_t>(world_size)) {
  EC_CHECK(world_size >= 1, "ThreadGroup of {} ranks", world_size);
}

std::shared_ptr<Coordinator> ThreadGroup::member(int rank) {
  EC_CHECK(rank >= 0 && rank < world_size_, "rank {} of {}", rank, world_size_);
  return std::make_shared<Member>(this, rank);
}

std::vector<std::string> ThreadGroup::exchange(int rank, const std::string& value) {
  std::unique_lock lock(mutex_);
  uint64_t my_generation = generation_;
  slots_[static_cast<size_t>(rank)] = value;
  if (++arrived_ == world_size_) {
    // The last rank publishes the round. A rank cannot overwrite `published_` before every rank
    // has read it: the next round needs all ranks to arrive again.
    published_ = std::make_shared<const std::vector<std::string>>(slots_);
    arrived_ = 0;
    ++generation_;
    cv_.notify_all();
    return *published_;
  }
  if (!cv_.wait_for(lock, timeout_, [&] { return generation_ != my_generation; })) {
    throw EC_USER_ERROR(Comm, "rank {}: collective timed out after {} ms waiting for {} of {} ranks", rank,
                        timeout_.count(), world_size_ - arrived_, world_size_);
  }
  return *published_;
}

}  // namespace ec::ckpt
