#include <gtest/gtest.h>

#include "editcaption/core/error.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/hash.h"
#include "editcaption/core/strings.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {

TEST(Strings, EditDistanceAndClosest) {
  EXPECT_EQ(edit_distance("lr", "lr"), 0);
  EXPECT_EQ(edit_distance("lrr", "lr"), 1);
  EXPECT_EQ(edit_distance("max_stpes", "max_steps"), 1);  // transposition
  EXPECT_EQ(closest_match("warmpu", {"warmup", "weight_decay"}).value(), "warmup");
  EXPECT_FALSE(closest_match("zzzzzzzz", {"lr", "beta"}).has_value());
}

TEST(Strings, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("hello"));
  EXPECT_TRUE(is_valid_utf8("\xe4\xbd\xa0\xe5\xa5\xbd"));      // CJK
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));              // emoji
  EXPECT_FALSE(is_valid_utf8("\xc3"));                          // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));                      // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));                  // surrogate
  EXPECT_EQ(first_invalid_utf8("ab\xff"), 2u);
}

TEST(Strings, HumanUnits) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_duration(3725), "01:02:05");
  EXPECT_EQ(human_duration(65), "01:05");
}

TEST(Hash, Sha256KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(Sha256().update_field("ab").update_field("c").hex_digest(),
            Sha256().update_field("a").update_field("bc").hex_digest());
}

TEST(Fs, AtomicWriteReplacesAndLeavesNoTemp) {
  test::TempDir dir;
  write_file_atomic(dir / "f.txt", "one");
  write_file_atomic(dir / "f.txt", "two");
  EXPECT_EQ(read_file(dir / "f.txt"), "two");
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++n;
  }
  EXPECT_EQ(n, 1);
  EXPECT_EQ(sha256_file(dir / "f.txt"), sha256_hex("two"));
}

TEST(Fs, MappedFileAndMissingFile) {
  test::TempDir dir;
  test::write_text(dir / "m.bin", "abcdef");
  MappedFile m(dir / "m.bin");
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data()), m.size()), "abcdef");
  try {
    read_file(dir / "missing");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Input);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos);
  }
}

}  // namespace
}  // namespace ec
