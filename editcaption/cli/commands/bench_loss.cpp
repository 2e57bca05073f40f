// `editcaption bench loss`: the naive LM-head loss (full logits, fp32 log_softmax, gather, masked
// sums, DPO or cross-entropy) against the fused kernels, fwd+bwd, side by side in one process.
//   (a) 8 sequences x 1024 tokens, every token scored: N = 8192, D = 2048, V = 151936
//   (b) 16 x 1024, every token scored:               N = 16384, D = 4096, V = 151936
//   (c) an EditCaption batch, 8 x 1024 positions of which the last 123 per sequence (12%) are
//       answer tokens; the rest (image and prompt) carry ignore_index
// TFLOP/s: "model" counts the useful 6 M D V of the M scored tokens; "executed" counts what each
// path runs (naive: 6 N D V over all N positions; fused: 8 M D V, the backward recomputes logits).
#include <torch/nn.h>

#include <iostream>

#include "editcaption/cli/commands/bench.h"
#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"
#include "kernels/cross_entropy.h"
#include "kernels/dpo_loss.h"

namespace ec::cli::bench {
namespace {

namespace F = torch::nn::functional;

struct Shape {
  std::string name;
  std::string what;
  int64_t sequences, seq_len, answer_len, dim, vocab;
  int64_t positions() const { return sequences * seq_len; }
  int64_t scored() const { return sequences * answer_len; }
};

std::vector<Shape> shapes(bool tiny) {
  if (tiny) {
    return {{"a", "all tokens scored (tiny)", 8, 32, 32, 64, 1000},
            {"b", "all tokens scored, wider (tiny)", 8, 64, 64, 128, 1000},
            {"c", "12% answer tokens (tiny)", 8, 64, 8, 64, 1000}};
  }
  return {{"a", "N=8192 scored tokens, D=2048, V=151936", 8, 1024, 1024, 2048, 151936},
          {"b", "N=16384 scored tokens, D=4096, V=151936", 16, 1024, 1024, 4096, 151936},
          {"c", "EditCaption batch: 8 x 1024 positions, 123 answer tokens each (12%), D=2048, V=151936", 8, 1024, 123,
           2048, 151936}};
}

struct Batch {
  torch::Tensor hidden, weight, labels, seq, ref_c, ref_r;
};

/// Answers at the end of each sequence; sequences [0, S/2) chosen, [S/2, S) rejected.
Batch make_batch(const Shape& s, torch::Dtype dtype, const torch::Device& device) {
  torch::manual_seed(0);
  auto opts = torch::TensorOptions().device(device);
  Batch b;
  b.hidden = torch::randn({s.positions(), s.dim}, opts.dtype(torch::kFloat)).to(dtype);
  b.weight = (torch::randn({s.vocab, s.dim}, opts.dtype(torch::kFloat)) / std::sqrt(double(s.dim))).to(dtype);
  b.labels = torch::full({s.sequences, s.seq_len}, -100, opts.dtype(torch::kLong));
  b.labels.narrow(1, s.seq_len - s.answer_len, s.answer_len)
      .copy_(torch::randint(0, s.vocab, {s.sequences, s.answer_len}, opts.dtype(torch::kLong)));
  b.labels = b.labels.view({-1});
  b.seq = torch::arange(s.sequences, opts.dtype(torch::kLong)).repeat_interleave(s.seq_len);
  const int64_t pairs = s.sequences / 2;
  const double typical = -static_cast<double>(s.answer_len) * std::log(static_cast<double>(s.vocab));
  b.ref_c = torch::randn({pairs}, opts.dtype(torch::kDouble)) + typical;
  b.ref_r = torch::randn({pairs}, opts.dtype(torch::kDouble)) + typical;
  return b;
}

/// The naive path as a framework without fused kernels runs it.
torch::Tensor naive_loss(const Batch& b, const Shape& s, const torch::Tensor& h, const torch::Tensor& w,
                         const std::string& loss) {
  torch::Tensor logits = torch::matmul(h, w.t()).to(torch::kFloat);
  if (loss == "sft") return F::cross_entropy(logits, b.labels, F::CrossEntropyFuncOptions().ignore_index(-100));
  torch::Tensor lsm = torch::log_softmax(logits, -1);
  torch::Tensor mask = b.labels.ne(-100);
  torch::Tensor logp = lsm.gather(-1, b.labels.clamp_min(0).unsqueeze(-1)).squeeze(-1) * mask;
  torch::Tensor seq = logp.view({s.sequences, s.seq_len}).sum(1).to(torch::kDouble);
  const int64_t pairs = s.sequences / 2;
  torch::Tensor u = (seq.narrow(0, 0, pairs) - b.ref_c) - (seq.narrow(0, pairs, pairs) - b.ref_r);
  return -torch::log_sigmoid(0.1 * u).mean();
}

torch::Tensor fused_loss(const Batch& b, const Shape& s, const torch::Tensor& h, const torch::Tensor& w,
                         const std::string& loss) {
  if (loss == "sft") return kernels::fused_cross_entropy(h, w, b.labels).loss;
  kernels::DpoOptions o;
  o.beta = 0.1;
  return kernels::fused_dpo_loss(h, w, b.labels, b.seq, kernels::DpoPairs{b.ref_c, b.ref_r, {}, {}}, o).loss;
}

nlohmann::ordered_json report(const Measurement& m, double model_flops, double executed_flops) {
  nlohmann::ordered_json j;
  j["fwd_bwd_ms"] = m.median_ms;
  j["fwd_bwd_min_ms"] = m.min_ms;
  j["model_tflops"] = model_flops / (m.median_ms * 1e-3) / 1e12;
  j["executed_tflops"] = executed_flops / (m.median_ms * 1e-3) / 1e12;
  j["peak_extra_bytes"] = m.peak_extra_bytes;
  j["peak_extra_gib"] = static_cast<double>(m.peak_extra_bytes) / double(1 << 30);
  return j;
}

struct LossArgs {
  CommonArgs common;
  std::string shapes = "a,b,c";
  std::string losses = "dpo,sft";
  std::string dtype = "auto";
  bool skip_naive = false;
};

int run_loss_bench(const LossArgs& args) {
  torch::Device device = resolve_device(args.common.device);
  std::string dtype_name = args.dtype == "auto" ? (device.is_cuda() ? "bf16" : "fp32") : args.dtype;
  EC_USER_CHECK(dtype_name == "bf16" || dtype_name == "fp32" || dtype_name == "fp16", Usage,
                "--dtype must be auto, bf16, fp16 or fp32, got '{}'", dtype_name);
  const torch::Dtype dtype = dtype_name == "bf16" ? torch::kBFloat16 : dtype_name == "fp16" ? torch::kHalf : torch::kFloat;
  const auto wanted_shapes = split(args.shapes, ',');
  const auto wanted_losses = split(args.losses, ',');
  for (const auto& l : wanted_losses) {
    EC_USER_CHECK(l == "dpo" || l == "sft", Usage, "--losses: '{}' is neither dpo nor sft", l);
  }

  auto doc = envelope("loss", device,
                      command_line("loss", args.common,
                                   fmt::format("--shapes {} --losses {} --dtype {}{}", args.shapes, args.losses,
                                               dtype_name, args.skip_naive ? " --skip-naive" : "")));
  doc["dtype"] = dtype_name;
  doc["fused_impl"] = device.is_cuda() && kernels::cuda_kernels_available() ? "cuda" : "reference";
  doc["results"] = nlohmann::ordered_json::array();
  for (const Shape& s : shapes(args.common.tiny)) {
    if (std::find(wanted_shapes.begin(), wanted_shapes.end(), s.name) == wanted_shapes.end()) continue;
    Batch b = make_batch(s, dtype, device);
    torch::Tensor h = b.hidden.clone().requires_grad_(true);
    torch::Tensor w = b.weight.clone().requires_grad_(true);
    const double dvf = double(s.dim) * double(s.vocab);
    for (const std::string& loss : wanted_losses) {
      nlohmann::ordered_json r;
      r["shape"] = s.name;
      r["what"] = s.what;
      r["loss"] = loss;
      r["positions"] = s.positions();
      r["scored_tokens"] = s.scored();
      r["dim"] = s.dim;
      r["vocab"] = s.vocab;
      double loss_naive = 0, loss_fused = 0;
      auto step = [&](bool fused, double* value) {
        return [&, fused, value] {
          h.mutable_grad() = torch::Tensor();
          w.mutable_grad() = torch::Tensor();
          torch::Tensor l = fused ? fused_loss(b, s, h, w, loss) : naive_loss(b, s, h, w, loss);
          l.backward();
          *value = l.item<double>();
        };
      };
      Measurement fused = measure(step(true, &loss_fused), device, args.common.warmup, args.common.iters);
      r["fused"] = report(fused, 6 * s.scored() * dvf, 8 * s.scored() * dvf);
      if (!args.skip_naive) {
        Measurement naive = measure(step(false, &loss_naive), device, args.common.warmup, args.common.iters);
        r["naive"] = report(naive, 6 * s.scored() * dvf, 6 * s.positions() * dvf);
        r["time_ratio_fused_over_naive"] = fused.median_ms / naive.median_ms;
        r["memory_ratio_fused_over_naive"] =
            naive.peak_extra_bytes > 0 ? double(fused.peak_extra_bytes) / double(naive.peak_extra_bytes) : 0.0;
        r["loss_naive"] = loss_naive;
      }
      r["loss_fused"] = loss_fused;
      doc["results"].push_back(r);
    }
  }
  doc["memory_note"] = device.is_cuda() ? "peak CUDA caching-allocator bytes above those allocated before the call"
                                        : "resident-set high-water mark above the resident set before the call "
                                          "(approximate: the CPU allocator reuses freed memory)";
  emit(doc, args.common);
  return 0;
}

}  // namespace

void register_bench_loss(CLI::App* bench, Context& ctx) {
  auto* cmd = bench->add_subcommand("loss", "Naive vs fused LM-head loss (DPO and SFT cross-entropy), fwd+bwd");
  auto args = std::make_shared<LossArgs>();
  add_common_args(cmd, args->common);
  cmd->add_option("--shapes", args->shapes, "Comma-separated subset of a,b,c")->capture_default_str();
  cmd->add_option("--losses", args->losses, "Comma-separated subset of dpo,sft")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "auto (bf16 on GPU, fp32 on CPU), bf16, fp16 or fp32")->capture_default_str();
  cmd->add_flag("--skip-naive", args->skip_naive, "Only the fused path (when the naive one does not fit)");
  cmd->callback([&ctx, args] { ctx.action = [args] { return run_loss_bench(*args); }; });
}

}  // namespace ec::cli::bench
