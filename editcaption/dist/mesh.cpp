#include "editcaption/dist/mesh.h"

#include <string>

#include "editcaption/core/check.h"

namespace ec::dist {

std::vector<int> MeshShape::tp_ranks(int d) const {
  std::vector<int> out;
  for (int t = 0; t < tp; ++t) out.push_back(d * tp + t);
  return out;
}

std::vector<int> MeshShape::dp_ranks(int t) const {
  std::vector<int> out;
  for (int d = 0; d < dp; ++d) out.push_back(d * tp + t);
  return out;
}

MeshShape resolve_mesh(int world_size, int dp, int tp) {
  EC_USER_CHECK(tp >= 1, Usage, "dist.tp must be >= 1, got {}", tp);
  EC_USER_CHECK(world_size % tp == 0, Usage, "dist.tp = {} does not divide the world size {} (WORLD_SIZE)", tp,
                world_size);
  if (dp == 0) dp = world_size / tp;
  EC_USER_CHECK(dp * tp == world_size, Usage, "dist.dp x dist.tp = {} x {} = {} does not match the world size {}", dp,
                tp, dp * tp, world_size);
  return {dp, tp};
}

void check_tp_divides(int tp, int64_t attention_heads, int64_t kv_heads, int64_t mlp_width, std::string_view model) {
  EC_USER_CHECK(tp >= 1, Usage, "dist.tp must be >= 1, got {}", tp);
  struct Dim {
    const char* what;
    int64_t n;
  };
  for (const Dim& d : {Dim{"attention heads", attention_heads}, Dim{"KV heads", kv_heads},
                       Dim{"MLP width (intermediate_size)", mlp_width}}) {
    if (d.n % tp != 0) {
      std::string options;
      for (int t = 1; t <= 64; ++t) {
        if (attention_heads % t == 0 && kv_heads % t == 0 && mlp_width % t == 0) {
          options += (options.empty() ? "" : ", ") + std::to_string(t);
        }
      }
      throw EC_USER_ERROR(Usage,
                          "dist.tp = {} cannot split {}: its {} {} are not divisible by {} (heads {}, KV heads {}, MLP "
                          "width {}); tensor-parallel sizes that fit: {}",
                          tp, model, d.n, d.what, tp, attention_heads, kv_heads, mlp_width, options);
    }
  }
}

uint64_t rank_seed(uint64_t base, int dp_index, int tp_index, std::string_view stream) {
  // splitmix64 over (base, stream name, position): cheap, well mixed, stable across platforms.
  auto mix = [](uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  uint64_t h = mix(base);
  for (unsigned char c : stream) h = mix(h ^ c);
  h = mix(h ^ static_cast<uint64_t>(dp_index));
  h = mix(h ^ (static_cast<uint64_t>(tp_index) << 32));
  return h;
}

}  // namespace ec::dist
