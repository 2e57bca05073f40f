#include "editcaption/data/bpe_model.h"

#include <functional>
#include <queue>

#include "editcaption/core/check.h"
#include "editcaption/data/byte_level.h"

namespace ec::data {

BpeModel::BpeModel(const std::unordered_map<std::string, int32_t>& vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, BpeModelOptions options,
                   std::string_view origin)
    : vocab_(&vocab), options_(options) {
  const auto& chars = byte_level::byte_to_char();
  for (int b = 0; b < 256; ++b) {
    auto it = vocab.find(chars[b]);
    byte_id_[b] = it == vocab.end() ? -1 : it->second;
  }
  merges_.reserve(merges.size() * 2);
  auto lookup = [&](const std::string& token, size_t rank, std::string_view what) {
    auto it = vocab.find(token);
    if (it == vocab.end()) {
      throw EC_USER_ERROR(Input, "{}: merge {} ('{} {}'): {} '{}' is not in the vocabulary", origin, rank,
                          merges[rank].first, merges[rank].second, what, token);
    }
    return it->second;
  };
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    int32_t a_id = lookup(a, rank, "its left part");
    int32_t b_id = lookup(b, rank, "its right part");
    int32_t new_id = lookup(a + b, rank, "the merged token");
    // A repeated pair keeps its last rank, as in `tokenizers` (a map built in file order).
    merges_[pair_key(a_id, b_id)] = Merge{static_cast<int32_t>(rank), new_id};
  }
}

void BpeModel::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    std::string mapped;
    for (unsigned char c : word) mapped += byte_level::byte_to_char()[c];
    if (auto it = vocab_->find(mapped); it != vocab_->end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (word.size() >= kMaxCachedWord) {
    auto ids = merge_word(word);
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  size_t hash = WordHash{}(word);
  Shard& shard = cache_[(hash >> 8) % kShards];
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    if (auto it = shard.words.find(word); it != shard.words.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  auto ids = merge_word(word);
  out.insert(out.end(), ids.begin(), ids.end());
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.words.size() >= kShardCapacity) shard.words.clear();
  shard.words.emplace(std::string(word), std::move(ids));
}

std::vector<int32_t> BpeModel::merge_word(std::string_view word) const {
  // Symbols form a linked list over the initial byte characters; a merged-away symbol has len 0.
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    int32_t len;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&symbols](int32_t id, int32_t len) {
    int32_t n = static_cast<int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back(Symbol{id, n - 1, -1, len});
  };
  std::optional<std::pair<int32_t, int32_t>> pending_unk;  // (id, len)
  for (unsigned char c : word) {
    int32_t id = byte_id_[c];
    if (id >= 0) {
      if (pending_unk) add(pending_unk->first, pending_unk->second);
      pending_unk.reset();
      add(id, 1);
    } else if (options_.unk_id) {
      if (pending_unk && options_.fuse_unk) {
        pending_unk->second += 1;
      } else {
        if (pending_unk) add(pending_unk->first, pending_unk->second);
        pending_unk = std::make_pair(*options_.unk_id, 1);
      }
    }
  }
  if (pending_unk) add(pending_unk->first, pending_unk->second);

  struct Candidate {
    int32_t pos;
    int32_t rank;
    int32_t new_id;
  };
  // Lowest rank first; among equal ranks the leftmost.
  auto later = [](const Candidate& a, const Candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(later)> queue(later);
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (auto it = merges_.find(pair_key(symbols[i].id, symbols[i + 1].id)); it != merges_.end()) {
      queue.push(Candidate{static_cast<int32_t>(i), it->second.rank, it->second.new_id});
    }
  }
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& cur = symbols[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    int32_t right_pos = cur.next;
    Symbol right = symbols[right_pos];
    // Skip stale entries: the pair at this position changed since the entry was queued.
    auto it = merges_.find(pair_key(cur.id, right.id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    symbols[right_pos].len = 0;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (auto m = merges_.find(pair_key(symbols[cur.prev].id, cur.id)); m != merges_.end()) {
        queue.push(Candidate{cur.prev, m->second.rank, m->second.new_id});
      }
    }
    if (cur.next >= 0) {
      if (auto m = merges_.find(pair_key(cur.id, symbols[cur.next].id)); m != merges_.end()) {
        queue.push(Candidate{top.pos, m->second.rank, m->second.new_id});
      }
    }
  }
  std::vector<int32_t> ids;
  ids.reserve(symbols.size());
  for (const auto& s : symbols) {
    if (s.len != 0) ids.push_back(s.id);
  }
  return ids;
}

}  // namespace ec::data
