// Interoperability with the Python `safetensors` package and huggingface_hub's sharded writer,
// the reference implementations: their files load here with identical values, and ours load there
// (byte-identical to Python's own save() where the format leaves no freedom).
#include <gtest/gtest.h>

#include "editcaption/core/fs.h"
#include "editcaption/io/safetensors.h"
#include "editcaption/io/safetensors_index.h"
#include "tests/io/safetensors_test_util.h"

namespace ec {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(SafetensorsPython, FilesWrittenByPythonLoadWithIdenticalValues) {
  fs::path dir = test::fixture_dir("safetensors_reference");
  json expected = json::parse(read_file(dir / "expected.json"));
  ASSERT_EQ(expected.size(), 3u);
  for (auto& [file, want] : expected.items()) {
    SCOPED_TRACE(file);
    io::ShardedSafetensors st(dir / file);
    st.verify();
    if (!fs::is_directory(dir / file)) {
      io::SafetensorsFile f(dir / file);
      io::Metadata meta = want["metadata"].get<io::Metadata>();
      EXPECT_EQ(f.metadata(), meta);
    } else {
      EXPECT_GT(st.shard_files().size(), 1u);
    }
    EXPECT_EQ(st.names().size(), want["tensors"].size());
    for (auto& [name, w] : want["tensors"].items()) {
      SCOPED_TRACE(name);
      at::Tensor t = st.view(name);
      EXPECT_EQ(io::dtype_name(io::to_dtype(t.scalar_type())), w["dtype"].get<std::string>());
      EXPECT_EQ(t.sizes().vec(), w["shape"].get<std::vector<int64_t>>());
      EXPECT_EQ(test::values_json(t), w["values"]);
    }
  }
}

TEST(SafetensorsPython, FilesWeWriteLoadInPython) {
  test::TempDir dir;
  json expected;
  auto describe = [](const io::NamedTensors& tensors, const io::Metadata& meta) {
    json d = {{"metadata", meta}, {"tensors", json::object()}};
    for (const auto& [name, t] : tensors) {
      d["tensors"][name] = {{"dtype", io::dtype_name(io::to_dtype(t.scalar_type()))},
                            {"shape", t.sizes().vec()},
                            {"values", test::values_json(t)}};
    }
    return d;
  };
  io::NamedTensors all;
  uint64_t seed = 10;
  for (io::Dtype d : {io::Dtype::BOOL, io::Dtype::U8, io::Dtype::I8, io::Dtype::F8_E5M2, io::Dtype::F8_E4M3,
                      io::Dtype::I16, io::Dtype::U16, io::Dtype::F16, io::Dtype::BF16, io::Dtype::I32,
                      io::Dtype::U32, io::Dtype::F32, io::Dtype::F64, io::Dtype::I64, io::Dtype::U64}) {
    all.emplace_back(fmt::format("t.{}", io::dtype_name(d)), test::random_tensor(d, {2, 3}, seed++));
  }
  all.emplace_back("scalar", at::scalar_tensor(-1.25));
  all.emplace_back("empty", at::zeros({3, 0}, at::kHalf));
  all.emplace_back("caf\xc3\xa9/\xce\xb1 \"quoted\"\n", test::random_tensor(io::Dtype::F32, {2}, 99));

  // Zero or one metadata entry: Python's bytes are fully determined, so they must equal ours.
  io::write_safetensors(dir / "plain.safetensors", all);
  expected["plain.safetensors"] = describe(all, {});
  expected["plain.safetensors"]["resave"] = true;
  io::Metadata one{{"format", "pt"}};
  io::write_safetensors(dir / "one_meta.safetensors", all, one);
  expected["one_meta.safetensors"] = describe(all, one);
  expected["one_meta.safetensors"]["resave"] = true;
  io::Metadata two{{"format", "pt"}, {"note", "caf\xc3\xa9 \xe2\x9c\x93"}};
  io::write_safetensors(dir / "two_meta.safetensors", all, two);
  expected["two_meta.safetensors"] = describe(all, two);

  io::NamedTensors layers;
  for (int i = 0; i < 6; ++i) {
    layers.emplace_back(fmt::format("layer.{}.w", i), test::random_tensor(io::Dtype::BF16, {32, 4}, 50 + i));
  }
  io::write_safetensors_sharded(dir / "sharded", layers, {}, {.max_shard_bytes = 600});
  expected["sharded"] = describe(layers, {});
  test::write_text(dir / "expected.json", expected.dump(1));

  auto r = test::run_command({test::python(),
                              (test::source_dir() / "tools/reference/safetensors_reference.py").string(), "--check",
                              dir.path().string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("checked 4 entries: 0 problem(s)"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace ec
