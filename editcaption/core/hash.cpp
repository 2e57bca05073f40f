#include "editcaption/core/hash.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "editcaption/core/check.h"

namespace ec {

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
  ~State() {
    if (ctx) EVP_MD_CTX_free(ctx);
  }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  EC_CHECK(state_->ctx && EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) == 1, "EVP sha256 init");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

Sha256& Sha256::update(const void* data, size_t size) {
  EC_CHECK(EVP_DigestUpdate(state_->ctx, data, size) == 1, "EVP sha256 update");
  return *this;
}

Sha256& Sha256::update_field(std::string_view s) {
  uint64_t n = s.size();
  update(&n, sizeof(n));
  return update(s);
}

std::array<uint8_t, 32> Sha256::digest() {
  std::array<uint8_t, 32> out{};
  unsigned int len = 0;
  EC_CHECK(EVP_DigestFinal_ex(state_->ctx, out.data(), &len) == 1 && len == 32, "EVP sha256 final");
  return out;
}

std::string Sha256::hex_digest() {
  auto d = digest();
  return to_hex(d.data(), d.size());
}

std::string to_hex(const uint8_t* data, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (size_t i = 0; i < size; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) { return Sha256().update(data).hex_digest(); }

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EC_USER_ERROR(Input, "cannot open '{}' for hashing", path.string());
  Sha256 h;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) h.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) throw EC_USER_ERROR(Input, "read error while hashing '{}'", path.string());
  return h.hex_digest();
}

}  // namespace ec
