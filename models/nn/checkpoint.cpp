#include "models/nn/checkpoint.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>

#include <mutex>

#include "editcaption/core/check.h"

namespace ec::nn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The random generators `fn` may draw from, with their states before the first run.
struct RngSnapshot {
  std::vector<at::Generator> generators;
  std::vector<at::Tensor> states;

  static RngSnapshot take(const variable_list& inputs) {
    RngSnapshot s;
    std::vector<at::Device> devices{at::Device(at::kCPU)};
    for (const auto& t : inputs) {
      if (t.is_cuda() && std::find(devices.begin(), devices.end(), t.device()) == devices.end()) {
        devices.push_back(t.device());
      }
    }
    for (const auto& d : devices) {
      at::Generator g = at::globalContext().defaultGenerator(d);
      std::lock_guard<std::mutex> lock(g.mutex());
      s.generators.push_back(g);
      s.states.push_back(g.get_state());
    }
    return s;
  }

  void restore() const {
    for (size_t i = 0; i < generators.size(); ++i) {
      at::Generator g = generators[i];
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_state(states[i]);
    }
  }
};

struct CheckpointState : torch::CustomClassHolder {
  CheckpointFn fn;
  RngSnapshot rng;
};

struct CheckpointFunction : torch::autograd::Function<CheckpointFunction> {
  // `inputs` ends with a dummy that requires grad (see checkpoint()); fn never sees it.
  static variable_list forward(AutogradContext* ctx, at::TensorList inputs, c10::intrusive_ptr<CheckpointState> state) {
    variable_list real(inputs.begin(), inputs.end() - 1);
    state->rng = RngSnapshot::take(real);
    ctx->save_for_backward(real);
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    return state->fn(real);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto state = c10::static_intrusive_pointer_cast<CheckpointState>(ctx->saved_data["state"].toCapsule());
    variable_list saved = ctx->get_saved_variables();
    variable_list inputs;
    inputs.reserve(saved.size());
    for (size_t i = 0; i < saved.size(); ++i) {
      at::Tensor d = saved[i].detach();
      d.set_requires_grad(ctx->needs_input_grad(i));
      inputs.push_back(d);
    }
    // Recompute with the generators as they were, then put them back where the backward pass
    // found them.
    RngSnapshot now = RngSnapshot::take(inputs);
    state->rng.restore();
    variable_list outputs;
    {
      at::AutoGradMode enable(true);
      outputs = state->fn(inputs);
    }
    now.restore();
    EC_CHECK(outputs.size() == grad_outputs.size(), "checkpointed function changed its number of outputs");
    variable_list roots, grads;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].requires_grad() && grad_outputs[i].defined()) {
        roots.push_back(outputs[i]);
        grads.push_back(grad_outputs[i]);
      }
    }
    if (!roots.empty()) torch::autograd::backward(roots, grads);
    variable_list result;
    for (const auto& x : inputs) result.push_back(x.requires_grad() ? x.grad() : at::Tensor());
    result.emplace_back();  // the dummy
    result.emplace_back();  // the state argument
    return result;
  }
};

}  // namespace

variable_list checkpoint(const CheckpointFn& fn, const variable_list& inputs) {
  for (size_t i = 0; i < inputs.size(); ++i) EC_CHECK(inputs[i].defined(), "checkpoint input {} is undefined", i);
  if (!at::GradMode::is_enabled()) return fn(inputs);
  auto state = c10::make_intrusive<CheckpointState>();
  state->fn = fn;
  // A dummy input that requires grad keeps the outputs in the graph even when no real input does
  // (frozen embeddings under LoRA): the backward pass must still run to reach fn's parameters.
  variable_list all = inputs;
  all.push_back(at::empty({0}, at::kFloat).requires_grad_());
  return CheckpointFunction::apply(at::TensorList(all), state);
}

}  // namespace ec::nn
