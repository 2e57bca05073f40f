#include "editcaption/core/tfevents.h"

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstring>

#include "editcaption/core/check.h"
#include "editcaption/core/run.h"

namespace ec {
namespace fs = std::filesystem;

namespace {

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kCrc32cTable = make_crc32c_table();

// Protobuf wire format: varints, and keys (field number << 3 | wire type).
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, int field, int wire_type) { put_varint(out, (uint64_t(field) << 3) | wire_type); }
template <class T>
void put_le(std::string& out, T v) {
  // Little-endian host (x86-64, aarch64): the in-memory bytes are the wire bytes.
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}
void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, 2);
  put_varint(out, bytes.size());
  out.append(bytes);
}

std::string event_header(double wall_time, int64_t step) {
  std::string ev;
  put_key(ev, 1, 1);  // wall_time: double
  put_le(ev, wall_time);
  if (step != 0) {
    put_key(ev, 2, 0);  // step: int64 (negative values take ten bytes, as protobuf encodes them)
    put_varint(ev, static_cast<uint64_t>(step));
  }
  return ev;
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = kCrc32cTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t masked_crc32c(const void* data, size_t size) {
  uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string encode_scalar_event(double wall_time, int64_t step,
                                const std::vector<std::pair<std::string, float>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);  // Summary.Value.tag
    put_key(v, 2, 5);      // Summary.Value.simple_value: float
    put_le(v, value);
    put_bytes(summary, 1, v);  // Summary.value (repeated)
  }
  std::string ev = event_header(wall_time, step);
  put_bytes(ev, 5, summary);  // Event.summary
  return ev;
}

std::string tfrecord_frame(std::string_view payload) {
  std::string rec;
  uint64_t len = payload.size();
  put_le(rec, len);
  put_le(rec, masked_crc32c(rec.data(), sizeof(len)));
  rec.append(payload);
  put_le(rec, masked_crc32c(payload.data(), payload.size()));
  return rec;
}

TfEventsWriter::TfEventsWriter(const fs::path& log_dir, const std::string& suffix) {
  std::error_code err;
  fs::create_directories(log_dir, err);
  if (err) throw EC_USER_ERROR(Input, "cannot create TensorBoard directory '{}': {}", log_dir.string(), err.message());
  double now = unix_time();
  path_ = log_dir / fmt::format("events.out.tfevents.{}.{}.{}{}", static_cast<int64_t>(now), host_name(),
                                static_cast<long>(getpid()), suffix);
  out_.open(path_, std::ios::binary | std::ios::trunc);
  if (!out_) throw EC_USER_ERROR(Input, "cannot create TensorBoard event file '{}'", path_.string());
  std::string ev = event_header(now, 0);
  put_bytes(ev, 3, "brain.Event:2");  // Event.file_version: TensorBoard expects it first
  write_record(ev);
}

void TfEventsWriter::write_record(std::string_view payload) {
  std::string rec = tfrecord_frame(payload);
  std::lock_guard lock(mutex_);
  out_.write(rec.data(), static_cast<std::streamsize>(rec.size()));
  out_.flush();
  if (!out_) throw EC_USER_ERROR(Input, "cannot write TensorBoard event file '{}'", path_.string());
}

void TfEventsWriter::add_scalar(const std::string& tag, int64_t step, double value, double wall_time) {
  add_scalars(step, {{tag, static_cast<float>(value)}}, wall_time);
}

void TfEventsWriter::add_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars,
                                 double wall_time) {
  if (scalars.empty()) return;
  write_record(encode_scalar_event(wall_time < 0 ? unix_time() : wall_time, step, scalars));
}

void TfEventsWriter::add_metrics_record(const nlohmann::ordered_json& record) {
  if (!record.is_object()) return;
  auto step_it = record.find("step");
  if (step_it == record.end() || !step_it->is_number()) return;
  int64_t step = step_it->get<int64_t>();
  double wall = -1;
  if (auto t = record.find("time"); t != record.end() && t->is_number()) wall = t->get<double>();
  std::vector<std::pair<std::string, float>> scalars;
  for (const auto& [key, value] : record.items()) {
    if (key == "step" || key == "time" || key == "rank" || key == "epoch") continue;
    if (!value.is_number() || value.is_boolean()) continue;
    double v = value.get<double>();
    if (!std::isfinite(v)) continue;
    scalars.emplace_back(key, static_cast<float>(v));
  }
  add_scalars(step, scalars, wall);
}

}  // namespace ec
