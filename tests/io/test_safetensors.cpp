// safetensors round trips, zero-copy views, the writer's layout and errors, sharded directories.
#include <gtest/gtest.h>

#include "editcaption/core/error.h"
#include "editcaption/core/fs.h"
#include "editcaption/io/safetensors.h"
#include "editcaption/io/safetensors_index.h"
#include "tests/io/safetensors_test_util.h"

namespace ec {
namespace {
namespace fs = std::filesystem;
using test::bits_equal;
using test::random_tensor;

constexpr io::Dtype kAll[] = {io::Dtype::BOOL, io::Dtype::U8,   io::Dtype::I8,   io::Dtype::F8_E5M2,
                              io::Dtype::F8_E4M3, io::Dtype::I16, io::Dtype::U16,  io::Dtype::F16,
                              io::Dtype::BF16, io::Dtype::I32,  io::Dtype::U32,  io::Dtype::F32,
                              io::Dtype::F64,  io::Dtype::I64,  io::Dtype::U64};

template <class F>
ExitCode error_code(F&& f, std::string* message = nullptr) {
  try {
    f();
  } catch (const UserError& e) {
    if (message) *message = e.what();
    return e.code();
  }
  return ExitCode::Ok;
}

TEST(Safetensors, RoundTripsEveryDtypeBitForBit) {
  test::TempDir dir;
  io::NamedTensors tensors;
  uint64_t seed = 1;
  for (io::Dtype d : kAll) {
    tensors.emplace_back(fmt::format("w.{}", io::dtype_name(d)), random_tensor(d, {3, 5}, seed++));
  }
  tensors.emplace_back("scalar", at::scalar_tensor(2.5f));
  tensors.emplace_back("empty", at::zeros({0, 4}, at::kBFloat16));
  tensors.emplace_back("transposed", random_tensor(io::Dtype::F32, {4, 6}, 77).t());  // not contiguous
  io::Metadata meta{{"format", "pt"}, {"note", "caf\xc3\xa9"}};
  auto written = io::write_safetensors(dir / "a.safetensors", tensors, meta, {.sha256 = true});
  EXPECT_EQ(written.size, fs::file_size(dir / "a.safetensors"));
  EXPECT_EQ(written.sha256, sha256_file(dir / "a.safetensors"));

  io::SafetensorsFile f(dir / "a.safetensors");
  EXPECT_EQ(f.metadata(), meta);
  EXPECT_EQ(f.tensors().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    at::Tensor got = f.view(name);
    EXPECT_TRUE(bits_equal(got, t));
    EXPECT_TRUE(bits_equal(f.load(name), t));
  }
  EXPECT_EQ(f.info("scalar").shape.size(), 0u);
}

TEST(Safetensors, ViewsAreZeroCopyAndOutliveTheFileObject) {
  test::TempDir dir;
  at::Tensor w = random_tensor(io::Dtype::F32, {64, 64}, 3);
  io::write_safetensors(dir / "w.safetensors", {{"w", w}, {"b", at::ones({3}, at::kBFloat16)}});
  at::Tensor view;
  {
    io::SafetensorsFile f(dir / "w.safetensors");
    ASSERT_TRUE(f.is_zero_copy("w"));
    view = f.view("w");
    auto bytes = f.bytes("w");
    EXPECT_EQ(view.data_ptr(), static_cast<const void*>(bytes.data()));
  }
  // The mapping is still alive through the view's deleter.
  EXPECT_TRUE(bits_equal(view, w));
  at::Tensor owned = io::SafetensorsFile(dir / "w.safetensors").load("w");
  owned.add_(1);  // a load() is writable
  EXPECT_FALSE(bits_equal(owned, w));
}

TEST(Safetensors, MisalignedDataIsCopied) {
  test::TempDir dir;
  // A 3-byte I8 tensor first puts the F32 tensor at buffer offset 3; the header is unpadded.
  std::string header = R"({"a":{"dtype":"I8","shape":[3],"data_offsets":[0,3]},"b":{"dtype":"F32","shape":[2],"data_offsets":[3,11]}})";
  float vals[2] = {1.5f, -2.25f};
  std::string data = "\x01\x02\x03" + std::string(reinterpret_cast<const char*>(vals), 8);
  test::write_text(dir / "m.safetensors", test::make_safetensors_bytes(header, data));
  io::SafetensorsFile f(dir / "m.safetensors");
  EXPECT_FALSE(f.is_zero_copy("b"));
  at::Tensor b = f.view("b");
  EXPECT_EQ(b[0].item<float>(), 1.5f);
  EXPECT_EQ(b[1].item<float>(), -2.25f);
  EXPECT_EQ(f.view("a")[2].item<int8_t>(), 3);
}

TEST(Safetensors, WriterLayoutFollowsThePythonPackage) {
  // Larger dtypes first, then names; offsets packed; header space-padded to 8 bytes.
  auto layout = io::plan_safetensors_layout({{"b", io::Dtype::F32, {3}},
                                             {"a", io::Dtype::BF16, {2}},
                                             {"c", io::Dtype::I64, {1}},
                                             {"a2", io::Dtype::F32, {1}}});
  ASSERT_EQ(layout.size(), 4u);
  EXPECT_EQ(layout[0].name, "c");
  EXPECT_EQ(layout[1].name, "a2");
  EXPECT_EQ(layout[2].name, "b");
  EXPECT_EQ(layout[3].name, "a");
  EXPECT_EQ(layout[3].begin, 8u + 4u + 12u);
  std::string bytes = io::serialize_safetensors_header(layout, {});
  EXPECT_EQ(bytes.size() % 8, 0u);
  EXPECT_EQ(bytes.substr(8, 2), "{\"");
}

TEST(Safetensors, WriterRefusesBadInput) {
  test::TempDir dir;
  auto path = dir / "x.safetensors";
  EXPECT_EQ(error_code([&] { io::write_safetensors(path, {{"a", at::ones(2)}, {"a", at::ones(2)}}); }), ExitCode::Usage);
  EXPECT_EQ(error_code([&] { io::write_safetensors(path, {{"__metadata__", at::ones(2)}}); }), ExitCode::Usage);
  EXPECT_EQ(error_code([&] { io::write_safetensors(path, {{"c", at::ones(2, at::kComplexFloat)}}); }), ExitCode::Usage);
  EXPECT_EQ(error_code([&] { io::write_safetensors(path, {{"bad\xff", at::ones(2)}}); }), ExitCode::Usage);
  EXPECT_EQ(error_code([&] { io::write_safetensors(path, {{"u", at::Tensor()}}); }), ExitCode::Usage);
  EXPECT_EQ(error_code([&] { io::write_safetensors(dir / "no/such/dir/x.safetensors", {{"a", at::ones(2)}}); }),
            ExitCode::Input);
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(fs::is_empty(dir.path()));  // no temporary file left behind
}

TEST(Safetensors, RewriteReplacesAtomically) {
  test::TempDir dir;
  auto path = dir / "x.safetensors";
  io::write_safetensors(path, {{"a", at::ones(2)}});
  io::write_safetensors(path, {{"b", at::zeros(3)}});
  io::SafetensorsFile f(path);
  EXPECT_EQ(f.names(), std::vector<std::string>{"b"});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(Safetensors, MissingTensorNamesTheFile) {
  test::TempDir dir;
  io::write_safetensors(dir / "x.safetensors", {{"a", at::ones(2)}});
  io::SafetensorsFile f(dir / "x.safetensors");
  std::string msg;
  EXPECT_EQ(error_code([&] { f.view("nope"); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("x.safetensors"), std::string::npos);
  EXPECT_NE(msg.find("\"nope\""), std::string::npos);
}

TEST(Safetensors, BoolTensorsMustHoldZeroOrOne) {
  test::TempDir dir;
  std::string header = R"({"m":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}})";
  test::write_text(dir / "b.safetensors", test::make_safetensors_bytes(header, std::string("\x00\x01\x02\x01", 4)));
  io::SafetensorsFile f(dir / "b.safetensors");
  std::string msg;
  EXPECT_EQ(error_code([&] { f.view("m"); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("byte value 2 at element 2"), std::string::npos) << msg;
}

// ---- sharded directories -----------------------------------------------------------------------

io::NamedTensors some_layers(int n) {
  io::NamedTensors t;
  for (int i = 0; i < n; ++i) t.emplace_back(fmt::format("layer.{}.weight", i), random_tensor(io::Dtype::F32, {16, 8}, i));
  t.emplace_back("norm", random_tensor(io::Dtype::BF16, {8}, 100));
  return t;
}

TEST(SafetensorsSharded, WritesAnIndexAndLoadsLazily) {
  test::TempDir dir;
  auto tensors = some_layers(5);
  auto files = io::write_safetensors_sharded(dir.path(), tensors, {{"format", "pt"}}, {.max_shard_bytes = 1200});
  ASSERT_EQ(files.size(), 4u);  // 3 shards of <= 1200 bytes of data, then the index
  EXPECT_EQ(files.back().path.filename(), "model.safetensors.index.json");
  EXPECT_TRUE(fs::exists(dir / "model-00003-of-00003.safetensors"));

  io::ShardedSafetensors st(dir.path());
  EXPECT_EQ(st.shard_files().size(), 3u);
  EXPECT_EQ(st.total_size(), 5u * 16 * 8 * 4 + 8 * 2);
  st.verify();
  for (const auto& [name, t] : tensors) EXPECT_TRUE(bits_equal(st.view(name), t)) << name;
  std::string msg;
  EXPECT_EQ(error_code([&] { st.view("layer.9.weight"); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("layer.9.weight"), std::string::npos);
}

TEST(SafetensorsSharded, OneShardIsAPlainFile) {
  test::TempDir dir;
  auto tensors = some_layers(2);
  auto files = io::write_safetensors_sharded(dir.path(), tensors);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path.filename(), "model.safetensors");
  io::ShardedSafetensors st(dir.path());
  st.verify();
  EXPECT_EQ(st.names().size(), tensors.size());
  io::ShardedSafetensors single(dir / "model.safetensors");
  EXPECT_TRUE(bits_equal(single.view("norm"), tensors.back().second));
}

void write_index(const fs::path& dir, const std::string& weight_map_json, const std::string& extra = "") {
  test::write_text(dir / "model.safetensors.index.json",
                   "{" + extra + "\"metadata\": {\"total_size\": 1}, \"weight_map\": " + weight_map_json + "}");
}

TEST(SafetensorsSharded, IndexProblemsAreReported) {
  test::TempDir dir;
  io::write_safetensors(dir / "s1.safetensors", {{"a", at::ones(2)}, {"b", at::ones(2)}});
  io::write_safetensors(dir / "s2.safetensors", {{"b", at::ones(2)}, {"c", at::ones(2)}});
  std::string msg;

  // Unknown keys are ignored; b stored twice, c unlisted, d missing from its shard.
  write_index(dir.path(), R"({"a": "s1.safetensors", "b": "s1.safetensors", "d": "s2.safetensors"})",
              R"("format_version": 7, )");
  io::ShardedSafetensors st(dir.path());
  EXPECT_TRUE(bits_equal(st.view("a"), at::ones(2)));
  EXPECT_EQ(error_code([&] { st.verify(); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("tensor \"b\" is stored twice"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor \"c\" in 's2.safetensors' is not in the index"), std::string::npos) << msg;
  EXPECT_NE(msg.find("tensor \"d\" is missing from its shard"), std::string::npos) << msg;
  EXPECT_EQ(error_code([&] { st.view("d"); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("missing from its shard"), std::string::npos) << msg;

  // A shard name that leaves the directory, a missing shard file, duplicate keys, no weight_map.
  write_index(dir.path(), R"({"a": "../s1.safetensors"})");
  EXPECT_EQ(error_code([&] { io::ShardedSafetensors x(dir.path()); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("same directory"), std::string::npos) << msg;
  write_index(dir.path(), R"({"a": "s9.safetensors"})");
  io::ShardedSafetensors missing(dir.path());
  EXPECT_EQ(error_code([&] { missing.view("a"); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("s9.safetensors"), std::string::npos) << msg;
  write_index(dir.path(), R"({"a": "s1.safetensors", "a": "s2.safetensors"})");
  EXPECT_EQ(error_code([&] { io::ShardedSafetensors x(dir.path()); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("duplicate key \"a\""), std::string::npos) << msg;
  test::write_text(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  EXPECT_EQ(error_code([&] { io::ShardedSafetensors x(dir.path()); }, &msg), ExitCode::Input);
  EXPECT_NE(msg.find("weight_map"), std::string::npos) << msg;
  fs::remove(dir / "model.safetensors.index.json");
  EXPECT_EQ(error_code([&] { io::ShardedSafetensors x(dir.path()); }, &msg), ExitCode::Input);
}

}  // namespace
}  // namespace ec
