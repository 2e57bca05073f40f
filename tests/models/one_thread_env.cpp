// The model tests run tiny tensors: one intra-op thread is fastest, and on a loaded 2-core CI
// machine several threads per test process spin against each other (10-100x slower).
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

namespace {

class OneThread : public ::testing::Environment {
 public:
  void SetUp() override { at::set_num_threads(1); }
};

[[maybe_unused]] ::testing::Environment* const kOneThread = ::testing::AddGlobalTestEnvironment(new OneThread);

}  // namespace
