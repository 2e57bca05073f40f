// `editcaption synth [CONFIG] [--set synth.x=...] [--out DIR]`: writes the built-in synthetic
// edit-pair dataset (images, SFT and DPO manifests with structured ground truth).
#include <chrono>
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/data/synth/generator.h"

namespace ec::cli {

void register_synth(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("synth", "Generate the synthetic edit-pair dataset (SFT + DPO manifests, images)");
  auto args = std::make_shared<ConfigArgs>();
  add_config_args(cmd, *args, /*required=*/false);
  auto out = std::make_shared<std::string>();
  cmd->add_option("--out", *out, "Output directory (default: synth.out from the config)");
  cmd->callback([&ctx, args, out] {
    ctx.action = [args, out] {
      ExperimentConfig cfg = load_experiment(*args);
      std::filesystem::path dir = out->empty() ? cfg.synth.out : std::filesystem::path(*out);
      auto start = std::chrono::steady_clock::now();
      data::synth::SynthResult r = data::synth::generate_dataset(cfg.synth, dir);
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const auto& counts = r.summary["counts"];
      std::cout << "wrote " << r.pairs << " pairs (" << r.dpo_pairs << " DPO pairs) to " << dir.string() << " in "
                << fmt::format("{:.1f}", seconds) << " s\n";
      for (const char* split : {"train", "val", "test"}) {
        const auto& c = counts[split];
        std::cout << fmt::format("  {:<5} {:>6} pairs  {}  dpo {}\n", split, c["pairs"].get<int64_t>(),
                                 c["categories"].dump(), c["dpo_error_types"].dump());
      }
      std::cout << "  held-out combinations (test only): " << r.summary["heldout_combinations"].size() << "\n"
                << "  manifests: " << (dir / "train.jsonl").string() << ", ... ; summary: "
                << (dir / "synth.json").string() << "\n";
      return 0;
    };
  });
}

}  // namespace ec::cli
