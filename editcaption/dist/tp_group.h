// The tensor-parallel group the model's layers receive (tp.h declares it for the model code).
#pragma once

#include <memory>

#include "editcaption/dist/group.h"

namespace ec::dist {

class TpGroup {
 public:
  explicit TpGroup(std::shared_ptr<Group> group) : group_(std::move(group)) {}
  Group& group() const { return *group_; }
  int size() const { return group_->size(); }
  int rank() const { return group_->rank(); }

 private:
  std::shared_ptr<Group> group_;
};

}  // namespace ec::dist
