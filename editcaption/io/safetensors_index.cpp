#include "editcaption/io/safetensors_index.h"

#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/io/json_strict.h"

namespace ec::io {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Shard names come from a file we do not trust: they must stay inside the directory.
bool plain_file_name(const std::string& s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\\') == std::string::npos && s.find('\0') == std::string::npos;
}

}  // namespace

ShardedSafetensors::ShardedSafetensors(const fs::path& path, const std::string& prefix) {
  fs::path index;
  if (fs::is_directory(path)) {
    dir_ = path;
    if (fs::exists(path / (prefix + ".safetensors.index.json"))) {
      index = path / (prefix + ".safetensors.index.json");
    } else if (fs::exists(path / (prefix + ".safetensors"))) {
      source_ = path / (prefix + ".safetensors");
    } else {
      throw EC_USER_ERROR(Input, "'{}' holds neither {}.safetensors.index.json nor {}.safetensors", path.string(),
                          prefix, prefix);
    }
  } else if (path.string().ends_with(".json")) {
    index = path;
    dir_ = path.parent_path();
  } else {
    source_ = path;
    dir_ = path.parent_path();
  }
  if (!source_.empty()) {
    // A single file: its own header is the weight map.
    auto file = std::make_shared<const SafetensorsFile>(source_);
    std::string name = source_.filename().string();
    for (const auto& t : file->tensors()) weight_map_.emplace(t.name, name);
    open_.emplace(name, std::move(file));
    return;
  }
  source_ = index;
  std::string what = fmt::format("shard index '{}'", index.string());
  json root = parse_json_strict(read_file(index), what);
  EC_USER_CHECK(root.is_object(), Input, "{}: not a JSON object", what);
  EC_USER_CHECK(root.contains("weight_map") && root["weight_map"].is_object(), Input,
                "{}: missing \"weight_map\" object", what);
  for (auto& [name, file] : root["weight_map"].items()) {
    EC_USER_CHECK(file.is_string() && plain_file_name(file.get<std::string>()), Input,
                  "{}: weight_map entry {} must name a file in the same directory, got {}", what,
                  quote_for_message(name), quote_for_message(file.dump()));
    weight_map_.emplace(name, file.get<std::string>());
  }
  if (root.contains("metadata") && root["metadata"].is_object() && root["metadata"].contains("total_size")) {
    const json& ts = root["metadata"]["total_size"];
    // Some writers store it as a float or a string; an unusable value is ignored like other extras.
    if (ts.is_number_unsigned()) total_size_ = ts.get<uint64_t>();
  }
}

std::vector<std::string> ShardedSafetensors::names() const {
  std::vector<std::string> out;
  out.reserve(weight_map_.size());
  for (const auto& [name, _] : weight_map_) out.push_back(name);
  return out;
}

std::vector<std::string> ShardedSafetensors::shard_files() const {
  std::set<std::string> files;
  for (const auto& [_, file] : weight_map_) files.insert(file);
  return {files.begin(), files.end()};
}

const std::string& ShardedSafetensors::shard_of(const std::string& name) const {
  auto it = weight_map_.find(name);
  if (it == weight_map_.end()) {
    throw EC_USER_ERROR(Input, "tensor {} is not in '{}' ({} tensors)", quote_for_message(name), source_.string(),
                        weight_map_.size());
  }
  return it->second;
}

std::shared_ptr<const SafetensorsFile> ShardedSafetensors::shard(const std::string& file) const {
  std::lock_guard lock(mutex_);
  auto it = open_.find(file);
  if (it != open_.end()) return it->second;
  EC_USER_CHECK(plain_file_name(file), Input, "'{}': shard name {} is not a plain file name", source_.string(),
                quote_for_message(file));
  fs::path p = dir_ / file;
  EC_USER_CHECK(fs::exists(p), Input, "shard '{}' listed in '{}' does not exist", p.string(), source_.string());
  auto opened = std::make_shared<const SafetensorsFile>(p);
  open_.emplace(file, opened);
  return opened;
}

const TensorInfo& ShardedSafetensors::info(const std::string& name) const {
  const std::string& file = shard_of(name);
  auto s = shard(file);
  const TensorInfo* t = s->find(name);
  EC_USER_CHECK(t, Input, "tensor {} is listed in '{}' but missing from its shard '{}'", quote_for_message(name),
                source_.string(), s->path().string());
  return *t;  // lives as long as the shard, which open_ keeps
}

at::Tensor ShardedSafetensors::view(const std::string& name) const {
  info(name);  // the clear "missing" error first
  return shard(shard_of(name))->view(name);
}

void ShardedSafetensors::verify() const {
  std::vector<std::string> problems;
  uint64_t bytes = 0;
  std::map<std::string, std::string> stored_in;  // tensor -> first shard holding it
  for (const std::string& file : shard_files()) {
    auto s = shard(file);
    for (const TensorInfo& t : s->tensors()) {
      bytes += t.nbytes();
      auto [it, fresh] = stored_in.emplace(t.name, file);
      if (!fresh) {
        problems.push_back(fmt::format("tensor {} is stored twice, in '{}' and '{}'", quote_for_message(t.name),
                                       it->second, file));
      }
      auto listed = weight_map_.find(t.name);
      if (listed == weight_map_.end()) {
        problems.push_back(fmt::format("tensor {} in '{}' is not in the index", quote_for_message(t.name), file));
      } else if (listed->second != file && fresh) {
        problems.push_back(fmt::format("tensor {} is in '{}' but the index names '{}'", quote_for_message(t.name),
                                       file, listed->second));
      }
    }
  }
  for (const auto& [name, file] : weight_map_) {
    auto s = shard(file);
    if (!s->contains(name)) {
      problems.push_back(fmt::format("tensor {} is missing from its shard '{}'", quote_for_message(name), file));
    }
  }
  if (!problems.empty()) {
    std::string list;
    for (size_t i = 0; i < problems.size() && i < 20; ++i) list += "\n  " + problems[i];
    if (problems.size() > 20) list += fmt::format("\n  ... and {} more", problems.size() - 20);
    throw EC_USER_ERROR(Input, "'{}': {} problem(s):{}", source_.string(), problems.size(), list);
  }
  if (total_size_ && *total_size_ != bytes) {
    log::warn("'{}': metadata.total_size is {} but the shards hold {} bytes of tensors", source_.string(),
              *total_size_, bytes);
  }
}

std::vector<WrittenFile> write_safetensors_sharded(const fs::path& dir, const NamedTensors& tensors,
                                                   const Metadata& metadata, const ShardedWriteOptions& options) {
  EC_USER_CHECK(options.max_shard_bytes > 0, Usage, "safetensors: max_shard_bytes must be > 0");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw EC_USER_ERROR(Input, "cannot create '{}': {}", dir.string(), ec.message());

  std::set<std::string_view> seen;
  for (const auto& [name, _] : tensors) {
    EC_USER_CHECK(seen.insert(name).second, Usage, "safetensors: tensor name {} given twice", quote_for_message(name));
  }
  std::vector<NamedTensors> shards(1);
  uint64_t current = 0, total = 0;
  for (const auto& named : tensors) {
    uint64_t nbytes = static_cast<uint64_t>(named.second.numel()) * named.second.element_size();
    if (current > 0 && current + nbytes > options.max_shard_bytes) {
      shards.emplace_back();
      current = 0;
    }
    shards.back().push_back(named);
    current += nbytes;
    total += nbytes;
  }
  SafetensorsWriteOptions file_options{.sha256 = options.sha256};
  std::vector<WrittenFile> written;
  if (shards.size() == 1) {
    written.push_back(write_safetensors(dir / (options.prefix + ".safetensors"), shards[0], metadata, file_options));
    return written;
  }
  json weight_map = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    std::string file = fmt::format("{}-{:05d}-of-{:05d}.safetensors", options.prefix, i + 1, shards.size());
    written.push_back(write_safetensors(dir / file, shards[i], metadata, file_options));
    for (const auto& [name, _] : shards[i]) weight_map[name] = file;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  std::string text = index.dump(2) + "\n";
  AtomicFileWriter out(dir / (options.prefix + ".safetensors.index.json"), options.sha256);
  out.write(text);
  written.push_back(out.commit());
  return written;
}

}  // namespace ec::io
