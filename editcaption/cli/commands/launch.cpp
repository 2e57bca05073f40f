// `editcaption launch --nproc-per-node N [--nnodes M --node-rank R --master-addr A --master-port P]
// -- COMMAND...`: runs COMMAND as N local ranks of a distributed job (see editcaption/dist/launcher.h).
// COMMAND may be an editcaption subcommand (`-- train cfg.yaml`) or any program.
#include <unistd.h>

#include <filesystem>

#include "editcaption/cli/command.h"
#include "editcaption/dist/launcher.h"

namespace ec::cli {

void register_launch(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "launch", "Run a command as the local ranks of a distributed job (torchrun-compatible environment)");
  auto o = std::make_shared<dist::LaunchOptions>();
  cmd->add_option("--nproc-per-node", o->nproc_per_node, "Ranks on this node (one per GPU)")->required();
  cmd->add_option("--nnodes", o->nnodes, "Number of nodes")->capture_default_str();
  cmd->add_option("--node-rank", o->node_rank, "Index of this node (node 0 hosts the rendezvous store)")
      ->capture_default_str();
  cmd->add_option("--master-addr", o->master_addr, "Address of node 0")->capture_default_str();
  cmd->add_option("--master-port", o->master_port, "Port of the rendezvous store on node 0 (0: any free port)")
      ->capture_default_str();
  cmd->add_option("--grace-s", o->grace_s, "Seconds between SIGTERM and SIGKILL when stopping ranks after a failure")
      ->capture_default_str();
  cmd->add_option("command", o->command, "Command of every rank (after --): an editcaption subcommand or a program")
      ->required();
  cmd->callback([&app, &ctx, o] {
    ctx.action = [&app, o] {
      dist::LaunchOptions opts = *o;
      // An editcaption subcommand runs this very binary.
      for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
        if (sub->get_name() == opts.command[0]) {
          opts.command.insert(opts.command.begin(), std::filesystem::read_symlink("/proc/self/exe").string());
          break;
        }
      }
      return dist::launch(opts);
    };
  });
}

}  // namespace ec::cli
