#include "editcaption/dist/store.h"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"

namespace ec::dist {

namespace {

std::string error_text(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

c10::intrusive_ptr<c10d::TCPStore> open_tcp(const std::string& host, int port, bool server, int world_size,
                                            std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.isServer = server;
  o.waitWorkers = false;
  o.timeout = timeout;
  // Several stores may share one address: a launcher's and, in tests, a rank-0 one on another port.
  o.multiTenant = true;
  if (server && world_size > 0) o.numWorkers = static_cast<std::size_t>(world_size);
  return c10::make_intrusive<c10d::TCPStore>(host, o);
}

}  // namespace

Rendezvous rendezvous(const DistEnv& env, std::chrono::milliseconds timeout) {
  Rendezvous r;
  bool host_it = !env.launcher_store && env.rank == 0;
  std::string host = env.master_addr;
  int port = env.master_port;
  r.where = fmt::format("{}:{} (hosted by {})", host, port, env.launcher_store ? "the launcher" : "rank 0");
  r.hosted_here = host_it;
  std::string prefix = fmt::format("ec/{}", env.attempt);
  try {
    auto tcp = open_tcp(host, port, host_it, env.world_size, timeout);
    r.store = c10::make_intrusive<c10d::PrefixStore>(prefix, tcp);
  } catch (const std::exception& e) {
    throw EC_USER_ERROR(Comm, "rank {}: cannot {} the rendezvous store at {} within {} s: {}", env.rank,
                        host_it ? "open" : "reach", r.where, timeout.count() / 1000.0, error_text(e));
  }
  r.connect = [host, port, prefix, timeout]() -> c10::intrusive_ptr<c10d::Store> {
    return c10::make_intrusive<c10d::PrefixStore>(prefix, open_tcp(host, port, false, 0, timeout));
  };
  log::debug("dist: rank {} connected to the store at {}", env.rank, r.where);
  return r;
}

StoreServer::StoreServer(int port, std::chrono::milliseconds timeout) {
  try {
    store_ = open_tcp("127.0.0.1", port, true, 0, timeout);  // listens on every interface
  } catch (const std::exception& e) {
    throw EC_USER_ERROR(Usage, "cannot host the rendezvous store on port {}: {} (choose another --master-port)",
                        port, error_text(e));
  }
}

StoreServer::~StoreServer() = default;

int StoreServer::port() const { return store_->getPort(); }

}  // namespace ec::dist
