// `editcaption forward --model DIR --inputs FILE --dump OUT.safetensors`: one forward pass on given
// token ids and images; the logits, 3-D position ids and image features go to OUT with the inputs
// as run (trainers/forward_dump.h), so that a port can be checked against transformers:
//   tools/reference/qwen_vl_run_hf.py --job DIR OUT.safetensors HF.safetensors
// runs the same inputs there (docs/models.md).
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/cli/commands/model_args.h"
#include "editcaption/core/check.h"
#include "trainers/forward_dump.h"
#include "trainers/model_source.h"

namespace ec::cli {

void register_forward(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "forward", "Run one forward pass on given token ids and images; dump logits and position ids (safetensors)");
  struct Args {
    ModelArgs model;
    std::string inputs, dump;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model.model, "Hugging Face model directory, checkpoint or run directory")->required();
  cmd->add_option("--inputs", a->inputs,
                  "Inputs: .safetensors with input_ids [B, L], optional attention_mask, pixel_values and "
                  "image_grid_thw (as the HF processor returns them), or .json {\"input_ids\": [...], \"images\": "
                  "[\"a.png\", ...]} where each run of image tokens stands for the next image (one token is expanded)")
      ->required();
  cmd->add_option("--dump", a->dump, "Output safetensors: the inputs as run, position_ids, rope_deltas, logits (fp32), "
                                     "image_embeds")
      ->required();
  add_device_args(cmd, a->model);
  cmd->callback([&ctx, a] {
    ctx.action = [a] {
      train::ModelSource s = train::load_model_source(a->model.model, model_device(a->model), model_dtype(a->model),
                                                      /*with_tokenizer=*/false);
      data::ModelInputs in = train::read_forward_inputs(a->inputs, s.model_config, s.image);
      io::NamedTensors out = train::forward_dump(*s.model, in);
      io::write_safetensors(a->dump, out, {{"format", "pt"}, {"model", s.resolved.string()}, {"identity", s.identity}});
      std::cout << fmt::format("forward: {} row(s) x {} tokens, {} image(s) -> {}\n", in.input_ids.size(0),
                               in.input_ids.size(1),
                               in.image_grid_thw.defined() ? in.image_grid_thw.size(0) : int64_t{0}, a->dump);
      return 0;
    };
  });
}

}  // namespace ec::cli
