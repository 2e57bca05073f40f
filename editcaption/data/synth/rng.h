// A small deterministic random source for the generator. The standard distributions are
// implementation-defined (libstdc++ and libc++ draw differently), so the same seed would not give
// the same dataset everywhere; everything here is specified bit for bit.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace ec::data::synth {

/// splitmix64 finalizer: a good 64-bit mixer.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// Derives an independent seed from a parent seed and a label/index (FNV-1a over the label).
inline uint64_t derive_seed(uint64_t seed, std::string_view label, uint64_t index = 0) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : label) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return mix64(mix64(seed ^ h) + index);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0), by multiply-shift (bias below 2^-32 for the small n used here).
  int uniform(int n) { return static_cast<int>(((next() >> 32) * static_cast<uint64_t>(n)) >> 32); }
  /// Uniform in [0, 1).
  double uniform01() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  bool bernoulli(double p) { return uniform01() < p; }
  /// Index drawn with probability proportional to the weights (some weight must be > 0).
  int weighted(const std::vector<double>& w) {
    double total = 0;
    for (double x : w) total += x;
    double r = uniform01() * total;
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i] <= 0) continue;
      if (r < w[i]) return static_cast<int>(i);
      r -= w[i];
    }
    for (size_t i = w.size(); i-- > 0;) {
      if (w[i] > 0) return static_cast<int>(i);
    }
    return 0;
  }
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(uniform(static_cast<int>(i)));
      std::swap(v[i - 1], v[j]);
    }
  }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(uniform(static_cast<int>(v.size())))];
  }

 private:
  uint64_t state_;
};

}  // namespace ec::data::synth
