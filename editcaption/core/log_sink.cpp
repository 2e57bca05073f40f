// The spdlog backend of ec::log. Compiled in its own target without the LibTorch include
// directories: LibTorch ships fmt 12 headers while Debian's spdlog is built against fmt 9, and
// only strings cross this boundary.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "editcaption/core/error.h"
#include "editcaption/core/log.h"

namespace ec::log {
namespace {

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::Trace: return spdlog::level::trace;
    case Level::Debug: return spdlog::level::debug;
    case Level::Info: return spdlog::level::info;
    case Level::Warn: return spdlog::level::warn;
    case Level::Error: return spdlog::level::err;
    case Level::Off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

struct Sink {
  std::mutex mutex;
  SinkOptions options;
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<spdlog::sinks::sink> console;
  std::shared_ptr<spdlog::sinks::sink> file;
  std::atomic<int> lowest{static_cast<int>(Level::Info)};

  void rebuild() {
    std::vector<spdlog::sink_ptr> sinks;
    if (!console) {
      console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    }
    Level console_level = options.rank == 0 ? options.console_level
                                            : std::max(options.console_level, Level::Warn);
    console->set_level(to_spdlog(console_level));
    sinks.push_back(console);
    if (file) sinks.push_back(file);
    logger = std::make_shared<spdlog::logger>("editcaption", sinks.begin(), sinks.end());
    std::string prefix = options.world_size > 1 ? "[rank " + std::to_string(options.rank) + "] " : "";
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ " + prefix + "%v");
    Level lowest = std::min(console_level, file ? Level::Debug : console_level);
    logger->set_level(to_spdlog(lowest));
    this->lowest.store(static_cast<int>(lowest));
    logger->flush_on(spdlog::level::warn);
  }
};

Sink& sink() {
  static Sink instance;
  static std::once_flag once;
  std::call_once(once, [] { instance.rebuild(); });
  return instance;
}

}  // namespace

void configure(const SinkOptions& options) {
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  s.options = options;
  s.file.reset();
  if (!options.file.empty()) {
    s.file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file.string(), /*truncate=*/false);
    s.file->set_level(spdlog::level::debug);
  }
  s.rebuild();
}

void set_file(const std::filesystem::path& file) {
  Sink& s = sink();
  SinkOptions options;
  {
    std::lock_guard lock(s.mutex);
    options = s.options;
  }
  options.file = file;
  configure(options);
}

bool enabled(Level level) {
  return static_cast<int>(level) >= sink().lowest.load(std::memory_order_relaxed);
}

void write(Level level, std::string_view message) {
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  s.logger->log(to_spdlog(level), "{}", std::string(message));
}

void flush() {
  Sink& s = sink();
  std::lock_guard lock(s.mutex);
  s.logger->flush();
}

Level parse_level(std::string_view name) {
  if (name == "trace") return Level::Trace;
  if (name == "debug") return Level::Debug;
  if (name == "info") return Level::Info;
  if (name == "warn" || name == "warning") return Level::Warn;
  if (name == "error") return Level::Error;
  if (name == "off") return Level::Off;
  throw UserError("unknown log level '" + std::string(name) + "' (expected trace, debug, info, warn, error or off)");
}

}  // namespace ec::log
