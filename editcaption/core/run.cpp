#include "editcaption/core/run.h"

#include <chrono>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"

namespace ec {
namespace fs = std::filesystem;

void RunConfig::validate(config::Validation& v) const {
  for (const char* bad : {"/", "..", "\\"}) {
    if (name.find(bad) != std::string::npos) v.error("name", "must be a plain directory name, got '{}'", name);
  }
  try {
    log::parse_level(log_level);
  } catch (const UserError&) {
    v.error("log_level", "must be one of trace, debug, info, warn, error, off; got '{}'", log_level);
  }
}

double unix_time() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() / 1000.0;
}

MetricsWriter::MetricsWriter(const fs::path& path, int rank) : path_(path), rank_(rank) {
  out_.open(path, std::ios::app);
  if (!out_) throw EC_USER_ERROR(Input, "cannot open metrics file '{}'", path.string());
}

void MetricsWriter::write(nlohmann::ordered_json record) {
  if (!out_.is_open()) return;
  nlohmann::ordered_json line;
  line["time"] = unix_time();
  line["rank"] = rank_;
  for (auto& [k, v] : record.items()) line[k] = v;
  std::lock_guard lock(mutex_);
  out_ << line.dump() << '\n';
  out_.flush();
}

void MetricsWriter::drop_after_step(int64_t step) {
  std::lock_guard lock(mutex_);
  out_.close();
  std::string kept;
  {
    std::ifstream in(path_);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      // A torn last line (a crash mid-write) goes too.
      if (j.is_discarded()) continue;
      if (j.contains("step") && j["step"].is_number_integer() && j["step"].get<int64_t>() > step) continue;
      kept += line + "\n";
    }
  }
  write_file_atomic(path_, kept);
  out_.open(path_, std::ios::app);
  if (!out_) throw EC_USER_ERROR(Input, "cannot reopen metrics file '{}'", path_.string());
}

RunDir::RunDir(const RunConfig& run, const nlohmann::ordered_json& resolved_config, int rank, int world_size)
    : path_(run.output_dir / run.name) {
  std::error_code ec;
  fs::create_directories(path_, ec);
  if (ec) throw EC_USER_ERROR(Input, "cannot create run directory '{}': {}", path_.string(), ec.message());
  config_hash_ = config::config_hash(resolved_config);
  if (rank == 0) {
    write_file_atomic(path_ / "config.yaml", config::json_to_yaml(resolved_config));
    write_file_atomic(path_ / "config.sha256", config_hash_ + "\n");
  }
  fs::path log_file = rank == 0 ? path_ / "log.txt" : path_ / fmt::format("log.rank{}.txt", rank);
  log::SinkOptions opts;
  opts.rank = rank;
  opts.world_size = world_size;
  opts.console_level = log::parse_level(run.log_level);
  opts.file = log_file;
  log::configure(opts);
  metrics_ = std::make_unique<MetricsWriter>(
      rank == 0 ? path_ / "metrics.jsonl" : path_ / fmt::format("metrics.rank{}.jsonl", rank), rank);
  log::info("run directory {} (config sha256 {})", path_.string(), config_hash_.substr(0, 12));
}

}  // namespace ec
