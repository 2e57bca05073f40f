// TensorBoard event files (events.out.tfevents.*) for scalar metrics, written without TensorFlow or
// a protobuf library: TFRecord framing (length, masked CRC32C of the length, payload, masked CRC32C
// of the payload) around hand-encoded `Event` messages whose `Summary` holds `simple_value`
// scalars. TensorBoard reads these natively; the trainers write them beside metrics.jsonl.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ec {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of TFRecord.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);
/// TFRecord's masked CRC: rotate right by 15 bits and add 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t size);

/// Encoded protobuf bytes of one tensorflow.Event holding scalar summaries (exposed for tests).
std::string encode_scalar_event(double wall_time, int64_t step,
                                const std::vector<std::pair<std::string, float>>& scalars);
/// One TFRecord: the framing around `payload`.
std::string tfrecord_frame(std::string_view payload);

/// Appends scalar events to a new event file in `log_dir`. Thread-safe; every call is flushed so
/// a crash loses at most the record being written (TensorBoard skips a torn last record).
class TfEventsWriter {
 public:
  /// Creates log_dir and events.out.tfevents.<unix time>.<host>.<pid><suffix> in it and writes
  /// the file-version event. Throws UserError(Input) if the file cannot be created.
  explicit TfEventsWriter(const std::filesystem::path& log_dir, const std::string& suffix = "");
  TfEventsWriter(const TfEventsWriter&) = delete;
  TfEventsWriter& operator=(const TfEventsWriter&) = delete;

  void add_scalar(const std::string& tag, int64_t step, double value, double wall_time = -1);
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars,
                   double wall_time = -1);
  /// Writes every finite number of a metrics.jsonl record (except step, time, rank, epoch) as a
  /// scalar at record["step"]; "time" becomes the wall time. Records without a step are ignored.
  void add_metrics_record(const nlohmann::ordered_json& record);
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(std::string_view payload);
  std::filesystem::path path_;
  std::ofstream out_;
  std::mutex mutex_;
};

}  // namespace ec
