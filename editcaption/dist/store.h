// The rendezvous store (c10d::TCPStore) every rank connects to. A launcher (torchrun's agent,
// `editcaption launch`) hosts it so that it outlives any rank; without one (srun), rank 0 hosts it.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "editcaption/dist/env.h"

namespace c10d {
class TCPStore;
}

namespace ec::dist {

struct Rendezvous {
  /// Keys are scoped under "ec/<attempt>/".
  c10::intrusive_ptr<c10d::Store> store;
  /// Opens another client connection with the same scope (for threads that must not share one).
  std::function<c10::intrusive_ptr<c10d::Store>()> connect;
  /// "host:port (hosted by ...)", for error messages.
  std::string where;
  bool hosted_here = false;
};

/// Connects to (or, on rank 0 without a launcher store, hosts) the store at MASTER_ADDR:MASTER_PORT.
/// Throws UserError(Comm) naming the address when it cannot be reached within `timeout`.
Rendezvous rendezvous(const DistEnv& env, std::chrono::milliseconds timeout);

/// A TCPStore server owned by a launcher. Port 0 picks a free port.
class StoreServer {
 public:
  StoreServer(int port, std::chrono::milliseconds timeout);
  ~StoreServer();
  StoreServer(const StoreServer&) = delete;
  StoreServer& operator=(const StoreServer&) = delete;
  int port() const;

 private:
  c10::intrusive_ptr<c10d::TCPStore> store_;
};

}  // namespace ec::dist
