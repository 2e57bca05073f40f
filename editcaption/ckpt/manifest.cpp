#include "editcaption/ckpt/manifest.h"

#include <algorithm>
#include <charconv>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/io/json_strict.h"

namespace ec::ckpt {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int64_t get_int(const json& j, const char* key, std::string_view what) {
  EC_USER_CHECK(j.contains(key) && j[key].is_number_integer(), Checkpoint, "{}: \"{}\" must be an integer", what,
                key);
  return j[key].get<int64_t>();
}

std::string get_string(const json& j, const char* key, std::string_view what) {
  EC_USER_CHECK(j.contains(key) && j[key].is_string(), Checkpoint, "{}: \"{}\" must be a string", what, key);
  return j[key].get<std::string>();
}

// "rank_00003/name.ext" with a valid state name; returns the rank or -1.
int rank_of_path(std::string_view path) {
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return -1;
  std::string_view dir = path.substr(0, slash), file = path.substr(slash + 1);
  if (!dir.starts_with("rank_") || !all_digits(dir.substr(5)) || dir.size() > 5 + 9) return -1;
  try {
    check_state_name(file);
  } catch (const UserError&) {
    return -1;
  }
  int rank = 0;
  std::from_chars(dir.data() + 5, dir.data() + dir.size(), rank);
  return rank;
}

}  // namespace

nlohmann::ordered_json to_json(const CheckpointHeader& h) {
  return {{"step", h.step},
          {"epoch", h.epoch},
          {"micro_step", h.micro_step},
          {"consumed_samples", h.consumed_samples},
          {"consumed_tokens", h.consumed_tokens},
          {"config_hash", h.config_hash},
          {"reference_identity", h.reference_identity},
          {"extra", h.extra}};
}

CheckpointHeader header_from_json(const json& j, std::string_view what) {
  EC_USER_CHECK(j.is_object(), Checkpoint, "{}: header is not an object", what);
  CheckpointHeader h;
  h.step = get_int(j, "step", what);
  h.epoch = get_int(j, "epoch", what);
  h.micro_step = get_int(j, "micro_step", what);
  h.consumed_samples = get_int(j, "consumed_samples", what);
  h.consumed_tokens = get_int(j, "consumed_tokens", what);
  h.config_hash = get_string(j, "config_hash", what);
  h.reference_identity = get_string(j, "reference_identity", what);
  if (j.contains("extra")) h.extra = j["extra"];
  return h;
}

void check_state_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 100 && name.front() != '.';
  for (char c : name) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                c == '-' || c == '.');
  }
  EC_USER_CHECK(ok, Usage, "checkpoint state name {} must be 1-100 of [A-Za-z0-9_.-], not starting with '.'",
                io::quote_for_message(name));
}

nlohmann::ordered_json to_json(const Manifest& m) {
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const auto& [path, f] : m.files) files[path] = {{"rank", f.rank}, {"size", f.size}, {"sha256", f.sha256}};
  return {{"format", kFormatName},
          {"format_version", m.format_version},
          {"step", m.step},
          {"world_size", m.world_size},
          {"created_unix", m.created_unix},
          {"editcaption_version", m.editcaption_version},
          {"header", to_json(m.header)},
          {"files", files}};
}

Manifest parse_manifest(std::string_view text, std::string_view what) {
  json j;
  try {
    j = io::parse_json_strict(text, what);
  } catch (const UserError& e) {
    throw UserError(e.what(), ExitCode::Checkpoint);
  }
  EC_USER_CHECK(j.is_object(), Checkpoint, "{}: not a JSON object", what);
  EC_USER_CHECK(j.contains("format") && j["format"] == kFormatName, Checkpoint,
                "{}: not an editcaption checkpoint manifest (\"format\" is not \"{}\")", what, kFormatName);
  Manifest m;
  int64_t version = get_int(j, "format_version", what);
  EC_USER_CHECK(version >= 1 && version <= kFormatVersion, Checkpoint,
                "{}: format_version {} is not supported by this build (it reads 1 to {}); a newer editcaption wrote it",
                what, version, kFormatVersion);
  m.format_version = static_cast<int>(version);
  m.step = get_int(j, "step", what);
  EC_USER_CHECK(m.step >= 0, Checkpoint, "{}: negative step {}", what, m.step);
  int64_t world = get_int(j, "world_size", what);
  EC_USER_CHECK(world >= 1 && world <= 1'000'000, Checkpoint, "{}: world_size {} out of range", what, world);
  m.world_size = static_cast<int>(world);
  if (j.contains("created_unix") && j["created_unix"].is_number()) m.created_unix = j["created_unix"].get<double>();
  if (j.contains("editcaption_version") && j["editcaption_version"].is_string()) {
    m.editcaption_version = j["editcaption_version"].get<std::string>();
  }
  EC_USER_CHECK(j.contains("header"), Checkpoint, "{}: missing \"header\"", what);
  m.header = header_from_json(j["header"], what);
  EC_USER_CHECK(m.header.step == m.step, Checkpoint, "{}: header step {} differs from manifest step {}", what,
                m.header.step, m.step);
  EC_USER_CHECK(j.contains("files") && j["files"].is_object(), Checkpoint, "{}: missing \"files\" object", what);
  for (auto& [path, f] : j["files"].items()) {
    int rank = rank_of_path(path);
    EC_USER_CHECK(rank >= 0 && rank < m.world_size, Checkpoint,
                  "{}: file {} is not rank_NNNNN/<name> for a rank below world_size {}", what,
                  io::quote_for_message(path), m.world_size);
    EC_USER_CHECK(f.is_object(), Checkpoint, "{}: entry of {} is not an object", what, path);
    FileEntry e;
    e.rank = static_cast<int>(get_int(f, "rank", what));
    EC_USER_CHECK(e.rank == rank, Checkpoint, "{}: {} is listed for rank {}", what, path, e.rank);
    EC_USER_CHECK(f.contains("size") && f["size"].is_number_unsigned(), Checkpoint,
                  "{}: size of {} must be a non-negative integer", what, path);
    e.size = f["size"].get<uint64_t>();
    e.sha256 = get_string(f, "sha256", what);
    EC_USER_CHECK(e.sha256.size() == 64 && std::all_of(e.sha256.begin(), e.sha256.end(),
                                                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }),
                  Checkpoint, "{}: sha256 of {} is not 64 lowercase hex digits", what, path);
    m.files.emplace(path, std::move(e));
  }
  return m;
}

Manifest read_manifest(const fs::path& dir) {
  fs::path path = dir / kManifestFile;
  EC_USER_CHECK(fs::exists(path), Checkpoint,
                "'{}' has no {}: the save never committed (a crash or a kill before its last step)", dir.string(),
                kManifestFile);
  std::string text;
  try {
    text = read_file(path);
  } catch (const UserError& e) {
    throw UserError(e.what(), ExitCode::Checkpoint);
  }
  return parse_manifest(text, path.string());
}

std::string step_dir_name(int64_t step) { return fmt::format("step_{:08d}", step); }

std::optional<int64_t> parse_step_dir_name(std::string_view name) {
  if (!name.starts_with("step_")) return std::nullopt;
  std::string_view digits = name.substr(5);
  if (!all_digits(digits) || digits.size() < 8 || digits.size() > 18) return std::nullopt;
  int64_t step = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), step);
  return step;
}

bool is_leftover_dir_name(std::string_view name) {
  return name.starts_with("step_") && (name.find(".tmp.") != std::string_view::npos ||
                                       name.find(".deleting.") != std::string_view::npos ||
                                       name.find(".replaced.") != std::string_view::npos);
}

std::string rank_dir_name(int rank) { return fmt::format("rank_{:05d}", rank); }

}  // namespace ec::ckpt
