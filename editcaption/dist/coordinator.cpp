#include "editcaption/dist/coordinator.h"

#include <ATen/ATen.h>

#include <cstring>

namespace ec::dist {

std::vector<std::string> GroupCoordinator::all_gather(const std::string& value) {
  const int n = group_->size();
  if (n == 1) return {value};
  const auto on = at::TensorOptions().device(group_->device());
  at::Tensor len = at::full({1}, static_cast<int64_t>(value.size()), on.dtype(at::kLong));
  at::Tensor lens = at::empty({n}, on.dtype(at::kLong));
  group_->all_gather(lens, len);
  at::Tensor host_lens = lens.cpu();
  const int64_t* l = host_lens.data_ptr<int64_t>();
  int64_t longest = 1;
  for (int r = 0; r < n; ++r) longest = std::max(longest, l[r]);
  at::Tensor mine = at::zeros({longest}, at::kByte);
  std::memcpy(mine.data_ptr<uint8_t>(), value.data(), value.size());
  at::Tensor all = at::empty({n * longest}, on.dtype(at::kByte));
  group_->all_gather(all, mine.to(group_->device()));
  at::Tensor host = all.cpu();
  std::vector<std::string> out(n);
  for (int r = 0; r < n; ++r) {
    out[r].assign(reinterpret_cast<const char*>(host.data_ptr<uint8_t>() + r * longest), static_cast<size_t>(l[r]));
  }
  return out;
}

}  // namespace ec::dist
