// The data pipeline's random numbers, fully specified so that data order is identical on every
// platform and standard library (std::uniform_int_distribution and std::shuffle are not):
//   - SplitMix64 (Steele, Lea & Flood 2014) is the generator: state += 0x9E3779B97F4A7C15, then the
//     output is the state passed through the SplitMix64 finalizer (mix64 below);
//   - a stream key hashes several words: k = 0x6A09E667F3BCC909; for each word w:
//     k = mix64(k ^ mix64(w + 0x9E3779B97F4A7C15));
//   - below(n) is unbiased by rejection: draw x until x >= (2^64 - n) mod n, return x mod n;
//   - shuffle is Fisher-Yates from the back: for i = n-1 .. 1, swap(v[i], v[below(i + 1)]).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace ec::data {

inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// A key for one random stream, e.g. stream_key({seed, kShuffleStream, epoch}).
inline uint64_t stream_key(std::initializer_list<uint64_t> words) {
  uint64_t k = 0x6A09E667F3BCC909ULL;
  for (uint64_t w : words) k = mix64(k ^ mix64(w + 0x9E3779B97F4A7C15ULL));
  return k;
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return mix64(state_);
  }

  /// Uniform in [0, n), n > 0.
  uint64_t below(uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    while (true) {
      uint64_t x = next();
      if (x >= threshold) return x % n;
    }
  }

  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(below(i));
      std::swap(v[i - 1], v[j]);
    }
  }

 private:
  uint64_t state_;
};

/// Stream identifiers, so that different uses of one seed never share a stream.
inline constexpr uint64_t kShuffleStream = 0x53485546464C45ULL;      // "SHUFFLE"
inline constexpr uint64_t kBucketStream = 0x4255434B4554ULL;         // "BUCKET"
inline constexpr uint64_t kReplacementStream = 0x5245504C414345ULL;  // "REPLACE"

}  // namespace ec::data
