#!/usr/bin/env python3
"""Reference for the AdamW unit tests: torch.optim.AdamW (single-tensor path) in float64.

Writes <out>/adamw.json with the initial parameters, the gradients of every step (null: the
parameter has no gradient that step, so PyTorch skips it), the learning rate of every step, the
two parameter groups (weight decay, learning-rate multiplier) and the parameters and optimizer
state expected after every step.
"""
import argparse
import json
import os

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(0)
    shapes = {"layer.weight": (3, 4), "layer.bias": (3,), "norm.weight": (4,), "head.weight": (2, 3)}
    params = {n: torch.randn(s, dtype=torch.float64, requires_grad=True) for n, s in shapes.items()}
    groups = [
        {"name": "decay", "params": ["layer.weight", "head.weight"], "weight_decay": 0.1, "lr_scale": 1.0},
        {"name": "no_decay", "params": ["layer.bias", "norm.weight"], "weight_decay": 0.0, "lr_scale": 0.5},
    ]
    base_lrs = [1e-3, 2e-3, 3e-3, 2.5e-3, 1e-3]
    betas, eps = (0.9, 0.95), 1e-8
    opt = torch.optim.AdamW(
        [{"params": [params[n] for n in g["params"]], "weight_decay": g["weight_decay"], "lr": base_lrs[0] * g["lr_scale"]}
         for g in groups],
        lr=base_lrs[0], betas=betas, eps=eps, foreach=False, fused=False)

    initial = {n: p.detach().flatten().tolist() for n, p in params.items()}
    steps = []
    for step, lr in enumerate(base_lrs):
        for pg, g in zip(opt.param_groups, groups):
            pg["lr"] = lr * g["lr_scale"]
        grads = {}
        for n, p in params.items():
            if n == "norm.weight" and step == 2:
                p.grad = None  # no gradient this step: PyTorch leaves the parameter and its state alone
                grads[n] = None
            else:
                g = torch.randn(shapes[n], dtype=torch.float64) * (10.0 if step == 0 else 1.0)
                p.grad = g
                grads[n] = g.flatten().tolist()
        opt.step()
        expected = {n: p.detach().flatten().tolist() for n, p in params.items()}
        state = {}
        for n, p in params.items():
            st = opt.state[p]
            state[n] = {"exp_avg": st["exp_avg"].flatten().tolist(),
                        "exp_avg_sq": st["exp_avg_sq"].flatten().tolist(),
                        "step": int(st["step"].item())}
        steps.append({"lr": lr, "grads": grads, "expected": expected, "state": state})

    out = {"betas": list(betas), "eps": eps, "groups": groups,
           "shapes": {n: list(s) for n, s in shapes.items()}, "initial": initial, "steps": steps}
    with open(os.path.join(args.out, "adamw.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
