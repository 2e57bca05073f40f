#include "editcaption/io/safetensors_header.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"
#include "editcaption/io/json_strict.h"

namespace ec::io {
namespace {

using json = nlohmann::json;

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian; so is this host");

struct DtypeEntry {
  Dtype dtype;
  std::string_view name;
  size_t size;
};

constexpr DtypeEntry kDtypes[] = {
    {Dtype::BOOL, "BOOL", 1},       {Dtype::U8, "U8", 1},   {Dtype::I8, "I8", 1},
    {Dtype::F8_E5M2, "F8_E5M2", 1}, {Dtype::F8_E4M3, "F8_E4M3", 1},
    {Dtype::I16, "I16", 2},         {Dtype::U16, "U16", 2}, {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2},       {Dtype::I32, "I32", 4}, {Dtype::U32, "U32", 4},
    {Dtype::F32, "F32", 4},         {Dtype::F64, "F64", 8}, {Dtype::I64, "I64", 8},
    {Dtype::U64, "U64", 8},
};

const DtypeEntry& entry_of(Dtype d) {
  for (const auto& e : kDtypes) {
    if (e.dtype == d) return e;
  }
  EC_CHECK(false, "unknown Dtype {}", static_cast<int>(d));
  return kDtypes[0];
}

// A non-negative JSON integer as u64, or nothing (negative, fractional, too large, not a number).
std::optional<uint64_t> as_u64(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return std::nullopt;
}

// "an array", "a string"... for messages.
std::string json_type(const json& v) {
  std::string_view name = v.type_name();
  if (v.is_null()) return "null";
  return fmt::format("{} {}", (v.is_array() || v.is_object()) ? "an" : "a", name);
}

// A JSON value for an error message, ASCII and short whatever the file holds.
std::string brief(const json& v) {
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  return s.size() > 80 ? s.substr(0, 80) + "..." : s;
}

}  // namespace

std::string_view dtype_name(Dtype dtype) { return entry_of(dtype).name; }
size_t dtype_size(Dtype dtype) { return entry_of(dtype).size; }

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& e : kDtypes) {
    if (e.name == name) return e.dtype;
  }
  return std::nullopt;
}

SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file, std::string_view what) {
  auto fail = [&](const std::string& msg) { return EC_USER_ERROR(Input, "safetensors file '{}': {}", what, msg); };
  if (file.size() < 8) {
    throw fail(fmt::format("file has {} bytes, too short for the 8-byte header length", file.size()));
  }
  uint64_t n = 0;
  std::memcpy(&n, file.data(), 8);
  if (n > kMaxHeaderBytes) {
    throw fail(fmt::format("header length {} exceeds the {}-byte limit", n, kMaxHeaderBytes));
  }
  if (n > file.size() - 8) {
    throw fail(fmt::format("header length {} runs beyond the end of the file ({} bytes)", n, file.size()));
  }
  std::string_view text(reinterpret_cast<const char*>(file.data() + 8), n);
  size_t bad = first_invalid_utf8(text);
  if (bad != std::string_view::npos) throw fail(fmt::format("header is not valid UTF-8 (byte {})", bad));
  if (text.empty() || text.front() != '{') throw fail("header does not start with '{'");

  // Valid headers nest three deep: root -> tensor entry -> shape/offsets array.
  json root = parse_json_strict(text, fmt::format("safetensors file '{}': header", what), {.max_depth = 3});
  if (!root.is_object()) throw fail("header is not a JSON object");

  SafetensorsHeader header;
  header.data_start = 8 + n;
  header.data_size = file.size() - header.data_start;
  header.tensors.reserve(root.size());
  for (auto& [name, entry] : root.items()) {
    std::string qname = quote_for_message(name);
    if (name == "__metadata__") {
      if (entry.is_null()) continue;
      if (!entry.is_object()) throw fail(fmt::format("__metadata__ is {}, expected an object", json_type(entry)));
      for (auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          throw fail(fmt::format("__metadata__ value of {} is {}, expected a string", quote_for_message(key),
                                 json_type(value)));
        }
        header.metadata.emplace(key, value.get<std::string>());
      }
      continue;
    }
    auto tfail = [&](const std::string& msg) { return fail(fmt::format("tensor {}: {}", qname, msg)); };
    if (!entry.is_object()) throw tfail(fmt::format("entry is {}, expected an object", json_type(entry)));
    for (auto& [key, value] : entry.items()) {
      if (key != "dtype" && key != "shape" && key != "data_offsets") {
        throw tfail(fmt::format("unknown key {}", quote_for_message(key)));
      }
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(key)) throw tfail(fmt::format("missing \"{}\"", key));
    }
    TensorInfo info;
    info.name = name;
    const json& dtype = entry["dtype"];
    if (!dtype.is_string()) throw tfail("dtype is not a string");
    auto parsed = parse_dtype(dtype.get_ref<const std::string&>());
    if (!parsed) throw tfail(fmt::format("unsupported dtype {}", quote_for_message(dtype.get<std::string>())));
    info.dtype = *parsed;

    const json& shape = entry["shape"];
    if (!shape.is_array()) throw tfail("shape is not an array");
    uint64_t numel = 1;
    for (const json& d : shape) {
      auto dim = as_u64(d);
      if (!dim || *dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw tfail(fmt::format("shape {} has a dimension that is not an integer in [0, 2^63)", brief(shape)));
      }
      if (__builtin_mul_overflow(numel, *dim, &numel) ||
          numel > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw tfail(fmt::format("shape {} has more elements than 2^63", brief(shape)));
      }
      info.shape.push_back(static_cast<int64_t>(*dim));
    }
    info.numel = numel;
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(info.dtype)), &nbytes)) {
      throw tfail(fmt::format("shape {} of {} overflows the byte count", brief(shape), dtype_name(info.dtype)));
    }

    const json& offsets = entry["data_offsets"];
    std::optional<uint64_t> begin, end;
    if (offsets.is_array() && offsets.size() == 2) {
      begin = as_u64(offsets[0]);
      end = as_u64(offsets[1]);
    }
    if (!begin || !end) throw tfail(fmt::format("data_offsets {} is not two non-negative integers", brief(offsets)));
    if (*end < *begin) throw tfail(fmt::format("data_offsets [{}, {}] end before they begin", *begin, *end));
    if (*end > header.data_size) {
      throw tfail(fmt::format("data_offsets [{}, {}] extend beyond the data buffer ({} bytes to end of file)", *begin,
                              *end, header.data_size));
    }
    if (*end - *begin != nbytes) {
      throw tfail(fmt::format("{} {} needs {} bytes but data_offsets [{}, {}] hold {}", dtype_name(info.dtype),
                              brief(shape), nbytes, *begin, *end, *end - *begin));
    }
    info.begin = *begin;
    info.end = *end;
    header.tensors.push_back(std::move(info));
  }

  // The tensors must tile the buffer exactly: sorted, no overlap, no gap, ending at end of file.
  std::sort(header.tensors.begin(), header.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const TensorInfo& t : header.tensors) {
    if (t.begin < expected) {
      throw fail(fmt::format("tensor {}: data_offsets [{}, {}] overlap the previous tensor (which ends at {})",
                             quote_for_message(t.name), t.begin, t.end, expected));
    }
    if (t.begin > expected) {
      throw fail(fmt::format("tensor {}: data_offsets [{}, {}] leave a gap of {} bytes after offset {}",
                             quote_for_message(t.name), t.begin, t.end, t.begin - expected, expected));
    }
    expected = t.end;
  }
  if (expected != header.data_size) {
    throw fail(fmt::format("tensors cover {} bytes of the {}-byte data buffer; the rest is unaccounted for", expected,
                           header.data_size));
  }
  return header;
}

std::vector<TensorInfo> plan_safetensors_layout(const std::vector<TensorSpec>& tensors) {
  std::set<std::string_view> seen;
  std::vector<TensorInfo> layout;
  layout.reserve(tensors.size());
  for (const TensorSpec& spec : tensors) {
    std::string qname = quote_for_message(spec.name);
    EC_USER_CHECK(spec.name != "__metadata__", Usage, "safetensors: a tensor cannot be named __metadata__");
    EC_USER_CHECK(is_valid_utf8(spec.name), Usage, "safetensors: tensor name {} is not valid UTF-8", qname);
    EC_USER_CHECK(seen.insert(spec.name).second, Usage, "safetensors: tensor name {} given twice", qname);
    TensorInfo info;
    info.name = spec.name;
    info.dtype = spec.dtype;
    info.shape = spec.shape;
    uint64_t numel = 1;
    for (int64_t d : spec.shape) {
      EC_USER_CHECK(d >= 0, Usage, "safetensors: tensor {} has a negative dimension", qname);
      EC_USER_CHECK(!__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel), Usage,
                    "safetensors: tensor {} has too many elements", qname);
    }
    info.numel = numel;
    layout.push_back(std::move(info));
  }
  std::sort(layout.begin(), layout.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.dtype != b.dtype ? a.dtype > b.dtype : a.name < b.name;
  });
  uint64_t offset = 0;
  for (TensorInfo& t : layout) {
    uint64_t nbytes = 0;
    EC_USER_CHECK(!__builtin_mul_overflow(t.numel, static_cast<uint64_t>(dtype_size(t.dtype)), &nbytes) &&
                      !__builtin_add_overflow(offset, nbytes, &t.end),
                  Usage, "safetensors: tensor {} is too large", quote_for_message(t.name));
    t.begin = offset;
    offset = t.end;
  }
  return layout;
}

std::string serialize_safetensors_header(const std::vector<TensorInfo>& layout,
                                         const std::map<std::string, std::string>& metadata) {
  auto quote = [](std::string_view s) {
    EC_USER_CHECK(is_valid_utf8(s), Usage, "safetensors: {} is not valid UTF-8", quote_for_message(s));
    return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::strict);
  };
  std::string text = "{";
  bool first = true;
  if (!metadata.empty()) {
    text += "\"__metadata__\":{";
    for (const auto& [k, v] : metadata) {
      if (!first) text += ',';
      first = false;
      text += quote(k) + ":" + quote(v);
    }
    text += "}";
  }
  for (const TensorInfo& t : layout) {
    if (text.size() > 1) text += ',';
    text += quote(t.name);
    text += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[", dtype_name(t.dtype));
    for (size_t i = 0; i < t.shape.size(); ++i) text += fmt::format("{}{}", i ? "," : "", t.shape[i]);
    text += fmt::format("],\"data_offsets\":[{},{}]}}", t.begin, t.end);
  }
  text += "}";
  // Space padding keeps the data buffer 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  EC_USER_CHECK(text.size() <= kMaxHeaderBytes, Usage, "safetensors: header of {} bytes exceeds the {}-byte limit",
                text.size(), kMaxHeaderBytes);
  uint64_t n = text.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + text;
}

}  // namespace ec::io
