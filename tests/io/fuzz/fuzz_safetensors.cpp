// libFuzzer target for the safetensors header parser (and the strict JSON parser under it).
// Built with clang -fsanitize=fuzzer,address,undefined when EDITCAPTION_FUZZ=ON (tests/io/fuzz/fuzz.cmake);
// docs/io.md says how to run it for longer than the bounded CTest run.
//
// Properties checked on every input:
//   - the parser either accepts or throws UserError(Input), nothing else, with no memory error;
//   - an accepted header's tensors tile the data buffer exactly, inside the input;
//   - re-serializing the accepted tensors and metadata gives a header that parses to the same set.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <string>
#include <tuple>

#include "editcaption/core/error.h"
#include "editcaption/io/safetensors_header.h"

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what);
  std::abort();
}

using Key = std::tuple<std::string, int, std::vector<int64_t>>;

std::set<Key> keys_of(const ec::io::SafetensorsHeader& h) {
  std::set<Key> out;
  for (const auto& t : h.tensors) out.emplace(t.name, static_cast<int>(t.dtype), t.shape);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ec::io::SafetensorsHeader header;
  try {
    header = ec::io::parse_safetensors_header(std::span<const uint8_t>(data, size), "fuzz-input");
  } catch (const ec::UserError& e) {
    if (e.code() != ec::ExitCode::Input) violated("UserError with a code other than Input");
    return 0;
  }
  if (header.data_start + header.data_size != size) violated("data buffer does not end at end of input");
  uint64_t expected = 0;
  for (const auto& t : header.tensors) {
    if (t.begin != expected || t.end < t.begin || t.end > header.data_size) violated("tensors do not tile the buffer");
    expected = t.end;
  }
  if (expected != header.data_size) violated("buffer not fully covered");

  std::vector<ec::io::TensorSpec> specs;
  for (const auto& t : header.tensors) specs.push_back({t.name, t.dtype, t.shape});
  std::string bytes;
  try {
    auto layout = ec::io::plan_safetensors_layout(specs);
    bytes = ec::io::serialize_safetensors_header(layout, header.metadata);
  } catch (const ec::UserError&) {
    violated("an accepted header could not be re-serialized");
  }
  bytes.append(header.data_size, '\0');
  try {
    auto again = ec::io::parse_safetensors_header(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "round-trip");
    if (keys_of(again) != keys_of(header) || again.metadata != header.metadata) violated("round trip changed the header");
  } catch (const ec::UserError&) {
    violated("a re-serialized header was rejected");
  }
  return 0;
}
