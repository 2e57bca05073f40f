// The safetensors container format without LibTorch: dtypes, the validated header and its
// serialization. Kept free of ATen so that the libFuzzer target builds it alone (tests/io/fuzz).
//
// Layout (huggingface/safetensors): u64 little-endian N, then N bytes of UTF-8 JSON starting with
// '{' (space-padded), then the data buffer. Each JSON entry maps a tensor name to
// {"dtype", "shape", "data_offsets": [begin, end)} relative to the buffer; "__metadata__" is an
// optional string->string map. Files are treated as hostile: see parse_safetensors_header.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ec::io {

/// Element types, in the order the reference writer sorts them (it lays out larger dtypes first).
enum class Dtype : uint8_t { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

/// The header's spelling ("BF16"); parse_dtype returns nothing for names we do not support.
std::string_view dtype_name(Dtype dtype);
std::optional<Dtype> parse_dtype(std::string_view name);
size_t dtype_size(Dtype dtype);

/// Headers longer than this are refused (the reference reader's limit, 100 MB).
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
  uint64_t numel = 0;
  /// [begin, end) within the data buffer (end - begin == numel * dtype_size).
  uint64_t begin = 0;
  uint64_t end = 0;
  uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  /// Sorted by data offset (the order of the bytes in the buffer).
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> metadata;
  /// Byte offset of the data buffer in the file (8 + N) and its length (to end of file).
  uint64_t data_start = 0;
  uint64_t data_size = 0;
};

/// Parses and validates the header of a whole safetensors file held in `file`; `what` names it in
/// errors. Every problem throws UserError(Input) naming `what` and the tensor: file shorter than
/// 8 bytes; N over kMaxHeaderBytes or beyond the end of file; invalid UTF-8; a header not starting
/// with '{'; invalid JSON, duplicate keys or nesting; an unknown dtype or key; a negative,
/// fractional or overflowing shape or offset; end - begin != numel * dtype size; offsets that are
/// unsorted, overlapping, leave gaps or do not end exactly at the end of the file.
SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> file, std::string_view what);

/// One tensor to lay out for writing.
struct TensorSpec {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<int64_t> shape;
};

/// Assigns data offsets the way the Python `safetensors` package does: sorted by dtype (largest
/// first, in Dtype order) then name, packed without gaps. Throws UserError(Usage) on duplicate or
/// reserved names, names that are not UTF-8, negative dims or an overflowing size.
std::vector<TensorInfo> plan_safetensors_layout(const std::vector<TensorSpec>& tensors);

/// The 8-byte length prefix plus the JSON header, space-padded to a multiple of 8 bytes, for
/// tensors laid out by plan_safetensors_layout. With at most one metadata entry the bytes equal
/// the Python package's output (it orders several metadata entries by hash; we sort them).
std::string serialize_safetensors_header(const std::vector<TensorInfo>& layout,
                                         const std::map<std::string, std::string>& metadata);

}  // namespace ec::io
