// The checkpoint protocol's Coordinator (ckpt/coordinator.h) over a c10d group: small host
// strings exchanged with two all-gathers (lengths, then bytes padded to the longest).
#pragma once

#include <memory>

#include "editcaption/ckpt/coordinator.h"
#include "editcaption/dist/group.h"

namespace ec::dist {

class GroupCoordinator final : public ckpt::Coordinator {
 public:
  explicit GroupCoordinator(std::shared_ptr<Group> group) : group_(std::move(group)) {}
  int rank() const override { return group_->rank(); }
  int world_size() const override { return group_->size(); }
  std::vector<std::string> all_gather(const std::string& value) override;

 private:
  std::shared_ptr<Group> group_;
};

}  // namespace ec::dist
