#include "editcaption/dist/liveness.h"

#include <c10/util/Exception.h>

#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"

namespace ec::dist {

namespace {

std::string beat_key(int rank) { return "hb/" + std::to_string(rank); }
std::string exit_key(int rank) { return "exit/" + std::to_string(rank); }

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

std::string error_text(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace

Liveness::Liveness(Connect connect, int rank, std::chrono::milliseconds period, std::string store_where)
    : rank_(rank), period_(period), where_(std::move(store_where)) {
  beat_store_ = connect();
  query_store_ = connect();
  beat_store_->set(beat_key(rank_), bytes(encode()));
  thread_ = std::thread([this] { run(); });
}

Liveness::~Liveness() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Liveness::entered(const std::string& group, uint64_t seq) {
  std::lock_guard lock(state_mutex_);
  entered_[group] = seq;
}

std::string Liveness::encode() {
  std::lock_guard lock(state_mutex_);
  std::string out = std::to_string(++count_) + "|";
  for (const auto& [g, s] : entered_) out += g + "=" + std::to_string(s) + ";";
  return out;
}

Liveness::Beat Liveness::decode(const std::string& value) {
  Beat b;
  auto bar = value.find('|');
  b.count = std::strtoull(value.substr(0, bar).c_str(), nullptr, 10);
  if (bar == std::string::npos) return b;
  for (const auto& item : split(value.substr(bar + 1), ';')) {
    auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    b.entered[item.substr(0, eq)] = std::strtoull(item.substr(eq + 1).c_str(), nullptr, 10);
  }
  return b;
}

void Liveness::run() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_cv_.wait_for(lock, period_, [this] { return stop_; })) {
    try {
      beat_store_->set(beat_key(rank_), bytes(encode()));
    } catch (const std::exception& e) {
      // The store is gone (its host died or the job is ending); the collectives report it.
      log::debug("dist: heartbeat of rank {} stopped: {}", rank_, error_text(e));
      return;
    }
  }
}

void Liveness::note_exit(const std::string& status) {
  try {
    std::lock_guard lock(query_mutex_);
    query_store_->set(exit_key(rank_), bytes(status));
  } catch (const std::exception& e) {
    log::debug("dist: cannot record the exit of rank {}: {}", rank_, error_text(e));
  }
}

std::string Liveness::diagnose(const std::string& group, uint64_t seq, const std::vector<int>& members) {
  std::lock_guard lock(query_mutex_);
  auto read_all = [&](std::map<int, Beat>& beats, std::map<int, std::string>& exits) {
    for (int r : members) {
      if (r == rank_) continue;
      if (query_store_->check({exit_key(r)})) exits[r] = text(query_store_->get(exit_key(r)));
      if (query_store_->check({beat_key(r)})) beats[r] = decode(text(query_store_->get(beat_key(r))));
    }
  };
  std::map<int, Beat> first, second;
  std::map<int, std::string> exits;
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(period_ * 2.5);
  try {
    read_all(first, exits);
    std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(30000)));
    exits.clear();
    read_all(second, exits);
  } catch (const std::exception& e) {
    return fmt::format("lost the rendezvous store at {} ({}): the process hosting it died or the network failed",
                       where_, error_text(e));
  }
  std::vector<std::string> lines;
  std::vector<std::string> lost;
  // Ranks that left after an error of their own usually saw the same failure first: they are named
  // as the cause only when no rank died, froze or fell behind.
  std::vector<std::string> errored;
  for (int r : members) {
    if (r == rank_) continue;
    auto ex = exits.find(r);
    auto b1 = first.find(r);
    auto b2 = second.find(r);
    if (ex != exits.end()) {
      (ex->second.rfind("stopped by an error", 0) == 0 ? errored : lost).push_back(std::to_string(r));
      lines.push_back(fmt::format("  rank {} exited: {}", r, ex->second));
    } else if (b2 == second.end()) {
      lost.push_back(std::to_string(r));
      lines.push_back(fmt::format("  rank {} never published a heartbeat (it did not start or died at once)", r));
    } else if (b1 != first.end() && b1->second.count == b2->second.count) {
      lost.push_back(std::to_string(r));
      lines.push_back(fmt::format("  rank {} stopped responding: no heartbeat for {:.1f} s (the process died or is frozen)",
                                  r, wait.count() / 1000.0));
    } else {
      auto it = b2->second.entered.find(group);
      uint64_t at = it == b2->second.entered.end() ? 0 : it->second;
      if (at < seq) {
        lost.push_back(std::to_string(r));
        lines.push_back(fmt::format(
            "  rank {} is alive but has not reached this collective (it entered #{} on group '{}'): it hangs or its "
            "code path diverged",
            r, at, group));
      }
    }
  }
  if (lost.empty()) lost = errored;
  if (lost.empty()) {
    return "no other rank looks dead or behind: the network or the communicator failed";
  }
  return fmt::format("lost rank{} {}:\n{}", lost.size() > 1 ? "s" : "", join(lost, ", "), join(lines, "\n"));
}

}  // namespace ec::dist
