#include "editcaption/io/safetensors.h"

#include <algorithm>
#include <cstring>

#include "editcaption/core/check.h"
#include "editcaption/io/json_strict.h"

namespace ec::io {
namespace fs = std::filesystem;

at::ScalarType to_scalar_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::BOOL: return at::kBool;
    case Dtype::U8: return at::kByte;
    case Dtype::I8: return at::kChar;
    case Dtype::F8_E5M2: return at::kFloat8_e5m2;
    case Dtype::F8_E4M3: return at::kFloat8_e4m3fn;
    case Dtype::I16: return at::kShort;
    case Dtype::U16: return at::kUInt16;
    case Dtype::F16: return at::kHalf;
    case Dtype::BF16: return at::kBFloat16;
    case Dtype::I32: return at::kInt;
    case Dtype::U32: return at::kUInt32;
    case Dtype::F32: return at::kFloat;
    case Dtype::F64: return at::kDouble;
    case Dtype::I64: return at::kLong;
    case Dtype::U64: return at::kUInt64;
  }
  EC_CHECK(false, "unknown Dtype {}", static_cast<int>(dtype));
  return at::kFloat;
}

Dtype to_dtype(at::ScalarType type) {
  switch (type) {
    case at::kBool: return Dtype::BOOL;
    case at::kByte: return Dtype::U8;
    case at::kChar: return Dtype::I8;
    case at::kFloat8_e5m2: return Dtype::F8_E5M2;
    case at::kFloat8_e4m3fn: return Dtype::F8_E4M3;
    case at::kShort: return Dtype::I16;
    case at::kUInt16: return Dtype::U16;
    case at::kHalf: return Dtype::F16;
    case at::kBFloat16: return Dtype::BF16;
    case at::kInt: return Dtype::I32;
    case at::kUInt32: return Dtype::U32;
    case at::kFloat: return Dtype::F32;
    case at::kDouble: return Dtype::F64;
    case at::kLong: return Dtype::I64;
    case at::kUInt64: return Dtype::U64;
    default: break;
  }
  throw EC_USER_ERROR(Usage, "safetensors cannot store tensors of type {}", c10::toString(type));
}

SafetensorsFile::SafetensorsFile(const fs::path& path) : map_(std::make_shared<const MappedFile>(path)) {
  header_ = parse_safetensors_header(std::span<const uint8_t>(map_->data(), map_->size()), path.string());
  by_name_.reserve(header_.tensors.size());
  for (size_t i = 0; i < header_.tensors.size(); ++i) by_name_.emplace(header_.tensors[i].name, i);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(header_.tensors.size());
  for (const auto& t : header_.tensors) out.push_back(t.name);
  std::sort(out.begin(), out.end());
  return out;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &header_.tensors[it->second];
}

const TensorInfo& SafetensorsFile::info(std::string_view name) const {
  const TensorInfo* t = find(name);
  if (!t) {
    throw EC_USER_ERROR(Input, "safetensors file '{}' has no tensor {} ({} tensors)", path().string(),
                        quote_for_message(name), header_.tensors.size());
  }
  return *t;
}

std::span<const uint8_t> SafetensorsFile::bytes(std::string_view name) const {
  const TensorInfo& t = info(name);
  return {map_->data() + header_.data_start + t.begin, t.nbytes()};
}

bool SafetensorsFile::is_zero_copy(std::string_view name) const {
  const TensorInfo& t = info(name);
  auto addr = reinterpret_cast<uintptr_t>(map_->data() + header_.data_start + t.begin);
  return t.numel > 0 && addr % dtype_size(t.dtype) == 0;
}

at::Tensor SafetensorsFile::view(std::string_view name) const {
  const TensorInfo& t = info(name);
  auto options = at::TensorOptions().dtype(to_scalar_type(t.dtype)).device(at::kCPU);
  std::span<const uint8_t> data = bytes(name);
  if (t.dtype == Dtype::BOOL) {
    // Any byte but 0 or 1 in a bool tensor is undefined behaviour for the kernels that read it.
    auto it = std::find_if(data.begin(), data.end(), [](uint8_t b) { return b > 1; });
    if (it != data.end()) {
      throw EC_USER_ERROR(Input, "safetensors file '{}': BOOL tensor {} holds byte value {} at element {}",
                          path().string(), quote_for_message(name), *it, it - data.begin());
    }
  }
  if (t.numel == 0) return at::empty(t.shape, options);
  if (is_zero_copy(name)) {
    // The deleter owns a reference to the mapping, so the view outlives this object safely.
    auto keep = map_;
    return at::from_blob(const_cast<uint8_t*>(data.data()), t.shape, [keep](void*) {}, options);
  }
  at::Tensor out = at::empty(t.shape, options);
  std::memcpy(out.data_ptr(), data.data(), data.size());
  return out;
}

WrittenFile write_safetensors(const fs::path& path, const NamedTensors& tensors, const Metadata& metadata,
                              const SafetensorsWriteOptions& options) {
  std::vector<TensorSpec> specs;
  specs.reserve(tensors.size());
  std::unordered_map<std::string_view, const at::Tensor*> by_name;
  for (const auto& [name, tensor] : tensors) {
    EC_USER_CHECK(tensor.defined(), Usage, "safetensors: tensor {} is undefined", quote_for_message(name));
    EC_USER_CHECK(tensor.layout() == at::kStrided, Usage, "safetensors: tensor {} is not dense (layout {})",
                  quote_for_message(name), c10::toString(tensor.layout()));
    specs.push_back({name, to_dtype(tensor.scalar_type()), tensor.sizes().vec()});
    by_name.emplace(name, &tensor);
  }
  std::vector<TensorInfo> layout = plan_safetensors_layout(specs);
  std::string header = serialize_safetensors_header(layout, metadata);

  AtomicFileWriter out(path, options.sha256);
  out.write(header);
  for (const TensorInfo& t : layout) {
    if (t.numel == 0) continue;
    // One tensor at a time on the host: peak extra memory is the largest tensor, not the file.
    at::Tensor host = by_name.at(t.name)->to(at::kCPU).contiguous();
    out.write(host.data_ptr(), t.nbytes());
  }
  return out.commit();
}

}  // namespace ec::io
