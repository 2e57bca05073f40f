// SHA-256 (OpenSSL) for identities: config hashes, checkpoint file digests, the DPO reference
// identity and content-addressed caches.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace ec {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(const void* data, size_t size);
  Sha256& update(std::string_view s) { return update(s.data(), s.size()); }
  /// Appends a value with its length, so that ("ab","c") and ("a","bc") hash differently.
  Sha256& update_field(std::string_view s);
  std::array<uint8_t, 32> digest();
  std::string hex_digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::string_view data);
/// Streams the file; throws UserError(Input) naming the file if it cannot be read.
std::string sha256_file(const std::filesystem::path& path);
std::string to_hex(const uint8_t* data, size_t size);

}  // namespace ec
