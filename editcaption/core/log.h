// Rank-aware logging. Messages are formatted here (fmt, header-only) and handed to one
// process-wide sink (spdlog) that main() configures once: rank 0 writes human logs to the
// console and the run's log file; other ranks log warnings and errors with their rank.
// The sink is the one piece of process-wide state in editcaption, by design: a log line must be
// writable from anywhere without threading a logger through every call.
#pragma once

#include <fmt/format.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace ec::log {

enum class Level { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4, Off = 5 };

struct SinkOptions {
  /// Rank of this process and the world size (for prefixes and per-rank files).
  int rank = 0;
  int world_size = 1;
  /// Lowest level shown on the console. Ranks other than 0 show only Warn and above.
  Level console_level = Level::Info;
  /// Log file (empty: no file). Every level from Debug up goes there.
  std::filesystem::path file;
};

/// (Re)configures the sink. Safe to call again, e.g. once the run directory exists.
void configure(const SinkOptions& options);
/// Adds or replaces the log file of the current sink.
void set_file(const std::filesystem::path& file);
bool enabled(Level level);
void write(Level level, std::string_view message);
void flush();
Level parse_level(std::string_view name);  // throws UserError for unknown names

template <class... A>
void trace(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Trace)) write(Level::Trace, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Debug)) write(Level::Debug, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Info)) write(Level::Info, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Warn)) write(Level::Warn, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::Error)) write(Level::Error, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace ec::log
