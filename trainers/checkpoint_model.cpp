#include "trainers/checkpoint_model.h"

#include <c10/util/Exception.h>

#include "editcaption/core/check.h"
#include "editcaption/core/hash.h"
#include "editcaption/core/strings.h"
#include "models/qwen_vl/tp_shard.h"

namespace ec::train {
namespace {

constexpr const char* kModel = "model";

std::string model_file(int rank) { return ckpt::rank_dir_name(rank) + "/" + kModel + ".safetensors"; }

}  // namespace

int checkpoint_tp(const ckpt::Checkpoint& c) {
  if (!c.has_json(0, "layout")) return 1;
  const int tp = c.json(0, "layout").value("tp", 1);
  EC_USER_CHECK(tp >= 1 && tp <= c.world_size(), Checkpoint, "{}: layout.json says tp = {} for a world of {}",
                c.dir().string(), tp, c.world_size());
  return tp;
}

std::map<std::string, at::Tensor> read_checkpoint_model(const ckpt::Checkpoint& c) {
  const int tp = checkpoint_tp(c);
  std::vector<std::map<std::string, at::Tensor>> parts(tp);
  for (int r = 0; r < tp; ++r) {
    EC_USER_CHECK(c.has_tensors(r, kModel), Checkpoint, "{}: the checkpoint holds no {} (tensor-parallel part {} of {})",
                  c.dir().string(), model_file(r), r, tp);
    io::SafetensorsFile f = c.tensors(r, kModel);
    for (const std::string& n : f.names()) parts[r][n] = f.view(n);
  }
  if (tp == 1) return std::move(parts.front());
  for (int r = 1; r < tp; ++r) {
    EC_USER_CHECK(parts[r].size() == parts[0].size(), Checkpoint, "{}: {} holds {} tensors, {} holds {}",
                  c.dir().string(), model_file(0), parts[0].size(), model_file(r), parts[r].size());
  }
  try {
    return models::tp_unshard_all(parts);
  } catch (const InternalError& e) {
    throw EC_USER_ERROR(Checkpoint, "{}: the tensor-parallel parts do not fit together: {}", c.dir().string(), e.what());
  } catch (const c10::Error& e) {
    throw EC_USER_ERROR(Checkpoint, "{}: the tensor-parallel parts do not fit together: {}", c.dir().string(),
                        e.what_without_backtrace());
  }
}

std::string checkpoint_model_digest(const ckpt::Checkpoint& c) {
  const int tp = checkpoint_tp(c);
  std::string lines;
  for (int r = 0; r < tp; ++r) {
    auto entry = c.manifest().files.find(model_file(r));
    EC_USER_CHECK(entry != c.manifest().files.end(), Checkpoint, "{}: the manifest does not list {}", c.dir().string(),
                  model_file(r));
    if (tp == 1) return entry->second.sha256;
    lines += model_file(r) + " " + entry->second.sha256 + "\n";
  }
  return sha256_hex(lines);
}

std::string checkpoint_model_files(const ckpt::Checkpoint& c) {
  const int tp = checkpoint_tp(c);
  const std::string first = (c.dir() / model_file(0)).string();
  return tp == 1 ? first : fmt::format("{} (and the other {} tensor-parallel parts)", first, tp - 1);
}

}  // namespace ec::train
