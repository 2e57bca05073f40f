#include "editcaption/ckpt/rng.h"

#include <c10/util/Exception.h>

#include <array>
#include <cstring>
#include <mutex>

#include "editcaption/core/check.h"

namespace ec::ckpt {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

at::Device parse_device(const std::string& name, std::string_view what) {
  try {
    return at::Device(name);
  } catch (const c10::Error&) {
    throw EC_USER_ERROR(Checkpoint, "{}: RNG state names an invalid device '{}'", what, name);
  }
}

}  // namespace

std::string base64_encode(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (size_t i = 0; i < size; i += 3) {
    uint32_t v = uint32_t(data[i]) << 16;
    if (i + 1 < size) v |= uint32_t(data[i + 1]) << 8;
    if (i + 2 < size) v |= uint32_t(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < size ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < size ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::vector<uint8_t> base64_decode(std::string_view text, std::string_view what) {
  std::array<int, 256> value;
  value.fill(-1);
  for (int i = 0; i < 64; ++i) value[static_cast<uint8_t>(kAlphabet[i])] = i;
  EC_USER_CHECK(text.size() % 4 == 0, Checkpoint, "{}: base64 length {} is not a multiple of 4", what, text.size());
  std::vector<uint8_t> out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int pad = 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      bool last_group = i + 4 == text.size();
      if (c == '=' && last_group && k >= 2 && (k == 3 || text[i + 3] == '=')) {
        ++pad;
        v <<= 6;
        continue;
      }
      int d = value[static_cast<uint8_t>(c)];
      EC_USER_CHECK(d >= 0 && pad == 0, Checkpoint, "{}: invalid base64 at character {}", what, i + k);
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    out.push_back(static_cast<uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(v));
  }
  return out;
}

nlohmann::json capture_generator(const at::Generator& generator) {
  // mutex() is not const in LibTorch; the lock does not change the generator's state.
  std::lock_guard<std::mutex> lock(const_cast<at::Generator&>(generator).mutex());
  at::Tensor state = generator.get_state().contiguous();
  nlohmann::json out;
  out["device"] = generator.device().str();
  out["seed"] = generator.current_seed();
  if (generator.device().is_cuda()) out["offset"] = generator.get_offset();
  out["state"] = base64_encode(state.data_ptr<uint8_t>(), static_cast<size_t>(state.numel()));
  return out;
}

void restore_generator(at::Generator& generator, const nlohmann::json& state, std::string_view what) {
  EC_USER_CHECK(state.is_object() && state.contains("device") && state["device"].is_string() &&
                    state.contains("state") && state["state"].is_string(),
                Checkpoint, "{}: RNG state needs \"device\" and \"state\" strings", what);
  std::string device = state["device"].get<std::string>();
  std::string here = generator.device().str();
  // The index may differ (a rank restarted on another GPU); the device type may not.
  EC_USER_CHECK(parse_device(device, what).type() == generator.device().type(), Checkpoint,
                "{}: RNG state of a {} generator cannot restore a {} generator", what, device, here);
  std::vector<uint8_t> bytes = base64_decode(state["state"].get<std::string>(), what);
  at::Tensor t = at::empty({static_cast<int64_t>(bytes.size())}, at::kByte);
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  std::lock_guard<std::mutex> lock(generator.mutex());
  try {
    generator.set_state(t);
  } catch (const c10::Error& e) {
    throw EC_USER_ERROR(Checkpoint, "{}: LibTorch refused the {} RNG state ({} bytes): {}", what, device,
                        bytes.size(), e.what_without_backtrace());
  }
}

nlohmann::json capture_default_rng(const std::vector<at::Device>& cuda_devices) {
  nlohmann::json out;
  out["cpu"] = capture_generator(at::detail::getDefaultCPUGenerator());
  out["cuda"] = nlohmann::json::array();
  for (const at::Device& d : cuda_devices) {
    EC_CHECK(d.is_cuda() && d.has_index(), "capture_default_rng wants indexed CUDA devices, got {}", d.str());
    out["cuda"].push_back(capture_generator(at::globalContext().defaultGenerator(d)));
  }
  return out;
}

void restore_default_rng(const nlohmann::json& state, std::string_view what) {
  EC_USER_CHECK(state.is_object() && state.contains("cpu"), Checkpoint, "{}: RNG state has no \"cpu\" entry", what);
  at::Generator cpu = at::detail::getDefaultCPUGenerator();
  restore_generator(cpu, state["cpu"], what);
  if (!state.contains("cuda")) return;
  EC_USER_CHECK(state["cuda"].is_array(), Checkpoint, "{}: RNG \"cuda\" is not an array", what);
  for (const auto& s : state["cuda"]) {
    EC_USER_CHECK(s.is_object() && s.contains("device") && s["device"].is_string(), Checkpoint,
                  "{}: CUDA RNG entry without a device", what);
    at::Device d = parse_device(s["device"].get<std::string>(), what);
    EC_USER_CHECK(d.is_cuda(), Checkpoint, "{}: CUDA RNG entry names {}", what, d.str());
    EC_USER_CHECK(at::hasCUDA() && d.index() < static_cast<int>(at::getNumGPUs()), Checkpoint,
                  "{}: the checkpoint holds the RNG state of {} but this process sees {} CUDA device(s)", what,
                  d.str(), at::hasCUDA() ? at::getNumGPUs() : 0);
    at::Generator g = at::globalContext().defaultGenerator(d);
    restore_generator(g, s, what);
  }
}

}  // namespace ec::ckpt
