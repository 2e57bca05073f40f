// editcaption: train vision-language models to write image-editing instructions.
// main() parses the command line, runs the chosen command and maps exceptions to the exit codes
// of docs/exit_codes.md. Nothing else in the code base decides an exit code.
#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/build_info.h"
#include "editcaption/core/error.h"
#include "editcaption/core/log.h"

namespace {

int run(int argc, char** argv) {
  using namespace ec;
  CLI::App app{"editcaption: train vision-language models to write image-editing instructions\n"
               "(SFT on human-refined instructions, then DPO against a frozen reference)."};
  app.set_version_flag("--version", ec::build::kVersion);
  app.require_subcommand(1);
  cli::Context ctx;
  app.add_option("--log-level", ctx.log_level, "Console log level (trace, debug, info, warn, error, off)");

  cli::register_env(app, ctx);
  cli::register_config(app, ctx);
  cli::register_tokenizer(app, ctx);
  cli::register_bench(app, ctx);
  cli::register_synth(app, ctx);
  cli::register_eval(app, ctx);
  cli::register_eval_judge(app, ctx);
  cli::register_eval_table(app, ctx);
  cli::register_caption(app, ctx);
  cli::register_forward(app, ctx);
  cli::register_data(app, ctx);
  cli::register_data_filter(app, ctx);
  cli::register_data_review(app, ctx);
  cli::register_report(app, ctx);
  cli::register_ckpt(app, ctx);
  cli::register_launch(app, ctx);
  cli::register_train(app, ctx);
  cli::register_export(app, ctx);
  cli::register_ablate(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "editcaption: " << e.what() << "\nRun with --help for usage.\n";
    return static_cast<int>(ExitCode::Usage);
  }
  log::SinkOptions sink;
  sink.console_level = log::parse_level(ctx.log_level);
  log::configure(sink);
  if (!ctx.action) return static_cast<int>(ExitCode::Usage);
  return ctx.action();
}

}  // namespace

int main(int argc, char** argv) {
  using ec::ExitCode;
  try {
    return run(argc, argv);
  } catch (const ec::UserError& e) {
    std::cerr << "editcaption: error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const ec::InternalError& e) {
    std::cerr << "editcaption: " << e.what() << "\nThis is a bug in editcaption; please report it.\n";
    return static_cast<int>(ExitCode::Internal);
  } catch (const c10::Error& e) {
    std::cerr << "editcaption: LibTorch error: " << e.what_without_backtrace() << "\n";
    return static_cast<int>(ExitCode::Internal);
  } catch (const std::exception& e) {
    std::cerr << "editcaption: unexpected error: " << e.what() << "\n";
    return static_cast<int>(ExitCode::Internal);
  }
}
