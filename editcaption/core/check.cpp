#include "editcaption/core/check.h"

namespace ec::detail {

void throw_internal(const char* file, int line, const char* expr, const std::string& msg) {
  std::string text = fmt::format("internal check failed at {}:{}: {}", file, line, expr);
  if (!msg.empty()) text += ": " + msg;
  throw InternalError(text);
}

}  // namespace ec::detail
