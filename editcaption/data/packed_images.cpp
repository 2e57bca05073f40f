#include "editcaption/data/packed_images.h"

#include <ATen/ATen.h>
#include <c10/util/ParallelGuard.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/core/progress.h"
#include "editcaption/core/strings.h"
#include "editcaption/io/safetensors.h"

namespace ec::data {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

constexpr const char* kFormat = "editcaption-packed-images";

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct Packed {
  std::optional<std::string> problem;
  SamplePlan plan;
  at::Tensor source, target;
};

Packed pack_record(const ManifestRecord& r, const PackOptions& o, const TextTokenCounter& count) {
  Packed p;
  if (!r.ok()) {
    p.problem = *r.problem;
    return p;
  }
  try {
    RecordImages im = read_record_images(r, o.image);
    p.plan = plan_sample(im.source.height(), im.source.width(), im.target.height(), im.target.width(), count(r), o.image,
                         o.budget);
    ImageProcessorOptions planned = options_for_plan(o.image, p.plan);
    p.source = decode_and_resize(as_bytes(im.source_bytes), r.source.string(), planned);
    p.target = decode_and_resize(as_bytes(im.target_bytes), r.target.string(), planned);
  } catch (const UserError& e) {
    p.problem = e.what();
  }
  return p;
}

std::string shape_text(const at::Tensor& t) {
  std::vector<std::string> parts;
  for (int64_t d : t.sizes()) parts.push_back(std::to_string(d));
  return "[" + join(parts, ", ") + "]";
}

json grid_json(const GridThw& g) { return json::array({g[0], g[1], g[2]}); }

}  // namespace

bool is_packed_dataset(const fs::path& path) {
  std::error_code err;
  return fs::is_directory(path, err) && fs::exists(path / "index.json", err);
}

PackReport pack_manifest(const Manifest& m, const fs::path& out_dir, const PackOptions& o) {
  fs::create_directories(out_dir);
  write_file_atomic(out_dir / "manifest.jsonl", read_file(m.path));
  TextTokenCounter count = o.count_text ? o.count_text : estimate_text_tokens(o.budget);

  PackReport report;
  report.records = m.size();
  json records = json::array();
  std::vector<std::string> shard_files;
  io::NamedTensors shard;
  int64_t shard_bytes = 0;
  auto flush = [&] {
    if (shard.empty()) return;
    std::string name = fmt::format("images-{:05d}.safetensors", shard_files.size());
    io::write_safetensors(out_dir / name, shard, {{"format", kFormat}});
    shard_files.push_back(name);
    report.bytes += shard_bytes;
    shard.clear();
    shard_bytes = 0;
  };

  // Records are processed in parallel chunks and written in manifest order, so the output is
  // the same for any number of jobs.
  const int jobs = std::max(1, o.jobs);
  const size_t chunk = static_cast<size_t>(jobs) * 16;
  Progress progress("data pack", m.size(), "records", ProgressOptions{0, 10.0, o.progress ? -1 : 0});
  for (size_t begin = 0; begin < m.records.size(); begin += chunk) {
    const size_t end = std::min(m.records.size(), begin + chunk);
    std::vector<Packed> results(end - begin);
    std::atomic<size_t> next{begin};
    {
      std::vector<std::jthread> workers;
      for (int j = 0; j < jobs; ++j) {
        workers.emplace_back([&] {
          c10::ParallelGuard inline_aten(true);  // the packing threads are the parallelism
          for (size_t i = next++; i < end; i = next++) results[i - begin] = pack_record(m.records[i], o, count);
        });
      }
    }
    for (size_t i = begin; i < end; ++i) {
      Packed& p = results[i - begin];
      const ManifestRecord& r = m.records[i];
      json entry{{"line", r.line}, {"id", r.id}};
      if (p.problem) {
        entry["problem"] = *p.problem;
        report.problems.push_back({r.line, r.id, *p.problem});
      } else {
        entry["shard"] = shard_files.size();
        entry["max_pixels"] = p.plan.max_pixels;
        entry["source_grid"] = grid_json(p.plan.source_grid);
        entry["target_grid"] = grid_json(p.plan.target_grid);
        shard_bytes += p.source.nbytes() + p.target.nbytes();
        shard.emplace_back(fmt::format("{}.source", i), std::move(p.source));
        shard.emplace_back(fmt::format("{}.target", i), std::move(p.target));
        ++report.packed;
      }
      records.push_back(std::move(entry));
      if (shard_bytes >= o.shard_bytes) flush();
    }
    progress.advance(static_cast<int64_t>(end - begin));
  }
  flush();
  progress.finish();
  report.shards = static_cast<int64_t>(shard_files.size());

  json index;
  index["format"] = kFormat;
  index["version"] = kPackFormatVersion;
  index["family"] = config::enum_name(o.image.family);
  index["patch_size"] = o.image.patch_size;
  index["merge_size"] = o.image.merge_size;
  index["min_pixels"] = o.image.min_pixels;
  index["max_pixels"] = o.image.max_pixels;
  index["max_seq_len"] = o.budget.max_seq_len;
  index["source_manifest"] = fs::absolute(m.path).lexically_normal().string();
  index["manifest_sha256"] = m.fingerprint;
  index["kind"] = config::enum_name(m.kind);
  index["shards"] = shard_files;
  index["records"] = std::move(records);
  // The index is written last: a pack interrupted earlier has no index and is not a pack.
  write_file_atomic(out_dir / "index.json", index.dump(1) + "\n");
  return report;
}

PackedImages::PackedImages(const fs::path& dir) : dir_(dir) {
  const fs::path index_path = dir / "index.json";
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(read_file(index_path));
    EC_USER_CHECK(index.at("format") == kFormat, Input, "{}: not an editcaption packed dataset", index_path.string());
    EC_USER_CHECK(index.at("version").get<int>() == kPackFormatVersion, Input,
                  "{}: packed with format version {}, this build reads version {}", index_path.string(),
                  index.at("version").dump(), kPackFormatVersion);
    family_ = config::parse_enum<ModelFamily>(index.at("family").get<std::string>(), "family");
    patch_size_ = index.at("patch_size").get<int64_t>();
    merge_size_ = index.at("merge_size").get<int64_t>();
    min_pixels_ = index.at("min_pixels").get<int64_t>();
    max_pixels_ = index.at("max_pixels").get<int64_t>();
    shard_files_ = index.at("shards").get<std::vector<std::string>>();
    for (const auto& rec : index.at("records")) {
      Entry e;
      if (rec.contains("problem")) {
        e.problem = rec.at("problem").get<std::string>();
      } else {
        e.shard = rec.at("shard").get<int64_t>();
        e.max_pixels = rec.at("max_pixels").get<int64_t>();
        for (int k = 0; k < 3; ++k) {
          e.source_grid[k] = rec.at("source_grid").at(k).get<int64_t>();
          e.target_grid[k] = rec.at("target_grid").at(k).get<int64_t>();
        }
        EC_USER_CHECK(e.shard >= 0 && e.shard < static_cast<int64_t>(shard_files_.size()), Input,
                      "{}: record on line {} names shard {} of {}", index_path.string(), rec.at("line").dump(), e.shard,
                      shard_files_.size());
      }
      entries_.push_back(std::move(e));
    }
    const std::string sha = index.at("manifest_sha256").get<std::string>();
    ManifestOptions mo;
    mo.kind = config::parse_enum<ManifestKind>(index.at("kind").get<std::string>(), "kind");
    mo.allow_outside_root = true;  // image paths are not used: the pixels are in the shards
    manifest_ = read_manifest(dir / "manifest.jsonl", mo);
    EC_USER_CHECK(manifest_.fingerprint == sha, Input, "{}: manifest.jsonl does not match the SHA-256 in index.json",
                  dir.string());
  } catch (const nlohmann::json::exception& e) {
    throw EC_USER_ERROR(Input, "{}: malformed packed-dataset index: {}", index_path.string(), e.what());
  }
  EC_USER_CHECK(entries_.size() == manifest_.records.size(), Input,
                "{}: index.json has {} records, manifest.jsonl {}", dir.string(), entries_.size(), manifest_.records.size());
  // Problems found while packing (undecodable images, over budget) stay with their records.
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].problem && manifest_.records[i].ok()) manifest_.records[i].problem = entries_[i].problem;
  }
  shards_.resize(shard_files_.size());
}

PackedImages::~PackedImages() = default;

void PackedImages::check_compatible(const ImageProcessorOptions& o) const {
  EC_USER_CHECK(o.patch_size == patch_size_ && o.merge_size == merge_size_, Usage,
                "{}: images were packed for {} (patch {}, merge {}); the model needs patch {}, merge {}. Re-pack with "
                "--family {}",
                dir_.string(), config::enum_name(family_), patch_size_, merge_size_, o.patch_size, o.merge_size,
                config::enum_name(o.family));
  if (o.max_pixels != max_pixels_ || o.min_pixels != min_pixels_) {
    log::warn("{}: packed with min/max pixels {}/{}, the config says {}/{}; the packed sizes are used", dir_.string(),
              min_pixels_, max_pixels_, o.min_pixels, o.max_pixels);
  }
}

const io::SafetensorsFile& PackedImages::shard(int64_t k) const {
  std::lock_guard lk(mu_);
  auto& s = shards_.at(static_cast<size_t>(k));
  if (!s) s = std::make_shared<io::SafetensorsFile>(dir_ / shard_files_[static_cast<size_t>(k)]);
  return *s;
}

std::pair<at::Tensor, at::Tensor> PackedImages::images(int64_t index) const {
  const Entry& e = entry(index);
  EC_CHECK(!e.problem, "images() of packed record {} that has a problem", index);
  const io::SafetensorsFile& f = shard(e.shard);
  at::Tensor src = f.view(fmt::format("{}.source", index));
  at::Tensor tgt = f.view(fmt::format("{}.target", index));
  auto check = [&](const at::Tensor& t, const GridThw& g, const char* which) {
    EC_USER_CHECK(t.scalar_type() == at::kByte && t.dim() == 3 && t.size(0) == g[1] * patch_size_ &&
                      t.size(1) == g[2] * patch_size_ && t.size(2) == 3,
                  Input, "{}: packed {} image of record {} has shape {} but the index says grid ({}, {}, {})",
                  f.path().string(), which, index, shape_text(t), g[0], g[1], g[2]);
  };
  check(src, e.source_grid, "source");
  check(tgt, e.target_grid, "target");
  return {src, tgt};
}

}  // namespace ec::data
