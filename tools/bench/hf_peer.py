#!/usr/bin/env python3
"""The side-by-side peer for `editcaption bench`: one Hugging Face transformers training step on the
same model shape and inputs, measured the way a TRL / LLaMA-Factory user runs it.

  SFT: fp32 master weights, bf16 autocast, fused AdamW, SDPA attention, optional gradient
       checkpointing; loss on the answer tokens only (labels -100 elsewhere).
  DPO: what TRL does for VLMs: the policy as above plus a separate bf16 reference model; chosen and
       rejected are two full sequences, each carrying both images; the naive loss (full logits,
       log_softmax, gather, masked sums, -logsigmoid(beta * margin)).

Prints one JSON object (tokens/s, samples or pairs/s, step time, peak memory). The model is built
from a config with random weights: no hub access is needed. Runs on CPU at tiny sizes for tests.
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

# Shapes from ../shared/spec/qwen_vl.md tables 1.2 and 1.3.
SHAPES = {
    "qwen3_vl_2b": dict(
        family="qwen3_vl",
        text=dict(hidden_size=2048, num_hidden_layers=28, num_attention_heads=16, num_key_value_heads=8,
                  head_dim=128, intermediate_size=6144, vocab_size=151936, rope_theta=5e6,
                  tie_word_embeddings=True),
        vision=dict(depth=24, hidden_size=1024, num_heads=16, intermediate_size=4096, patch_size=16,
                    out_hidden_size=2048, deepstack_visual_indexes=[5, 11, 17]),
    ),
    "qwen2_vl_2b": dict(
        family="qwen2_vl",
        text=dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                  intermediate_size=8960, vocab_size=151936, rope_theta=1e6, tie_word_embeddings=True),
        vision=dict(depth=32, embed_dim=1280, num_heads=16, mlp_ratio=4, patch_size=14, hidden_size=1536),
    ),
    # A tiny model of each family for CPU smoke tests.
    "qwen3_vl_tiny": dict(
        family="qwen3_vl",
        text=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  head_dim=16, intermediate_size=128, vocab_size=151936, rope_theta=5e6,
                  tie_word_embeddings=True),
        vision=dict(depth=2, hidden_size=32, num_heads=2, intermediate_size=64, patch_size=16,
                    out_hidden_size=64, deepstack_visual_indexes=[0]),
    ),
    "qwen2_vl_tiny": dict(
        family="qwen2_vl",
        text=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  intermediate_size=128, vocab_size=151936, rope_theta=1e6, tie_word_embeddings=True),
        vision=dict(depth=2, embed_dim=32, num_heads=2, mlp_ratio=2, patch_size=14, hidden_size=64),
    ),
}

IMAGE_PAD, VISION_START, VISION_END = 151655, 151652, 151653


def build_model(shape, dtype, device):
    spec = SHAPES[shape]
    if spec["family"] == "qwen3_vl":
        from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration as Model
        text = dict(spec["text"])
        text["rope_scaling"] = {"rope_type": "default", "mrope_section": [24, 20, 20], "mrope_interleaved": True}
        if text["head_dim"] < 128:  # tiny: sections must sum to head_dim / 2
            half = text["head_dim"] // 2
            text["rope_scaling"]["mrope_section"] = [half - 2 * (half // 3), half // 3, half // 3]
        cfg = Qwen3VLConfig(text_config=text, vision_config=spec["vision"],
                            tie_word_embeddings=text["tie_word_embeddings"])
    else:
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration as Model
        text = dict(spec["text"])
        head_dim = text["hidden_size"] // text["num_attention_heads"]
        half = head_dim // 2
        section = [16, 24, 24] if head_dim == 128 else [half - 2 * (half // 3), half // 3, half // 3]
        text["rope_scaling"] = {"type": "mrope", "mrope_section": section}
        cfg = Qwen2VLConfig(**text, vision_config=spec["vision"])
    cfg._attn_implementation = "sdpa"
    with torch.device(device):
        model = Model(cfg)
    return model.to(dtype), cfg


def make_inputs(shape, cfg, args, device, answer_seed=0):
    """Two images of args.image_size px, a prompt, and args.answer_tokens answer tokens."""
    family = SHAPES[shape]["family"]
    patch = cfg.vision_config.patch_size
    grid = args.image_size // patch
    merged = grid * grid // 4
    row = 3 * 2 * patch * patch
    prompt_text = args.text_tokens - args.answer_tokens
    gen = torch.Generator().manual_seed(1234 + answer_seed)
    ids = []
    for _ in range(args.batch):
        seq = [VISION_START] + [IMAGE_PAD] * merged + [VISION_END]
        seq = seq + seq
        seq += torch.randint(0, 150000, (prompt_text + args.answer_tokens,), generator=gen).tolist()
        ids.append(seq)
    input_ids = torch.tensor(ids, device=device)
    labels = input_ids.clone()
    labels[:, : input_ids.shape[1] - args.answer_tokens] = -100
    pixel_values = torch.randn(args.batch * 2 * grid * grid, row, generator=gen).to(device)
    grid_thw = torch.tensor([[1, grid, grid]] * (2 * args.batch), device=device)
    del family
    # transformers 5.x computes M-RoPE positions from the modality of each token (0 text, 1 image).
    mm_token_type_ids = (input_ids == IMAGE_PAD).int()
    return dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), pixel_values=pixel_values,
                image_grid_thw=grid_thw, mm_token_type_ids=mm_token_type_ids), labels


def sequence_logps(model, inputs, labels):
    logits = model(**inputs).logits[:, :-1].float()
    targets = labels[:, 1:]
    mask = targets != -100
    logp = torch.gather(logits.log_softmax(-1), 2, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (logp * mask).sum(-1)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shape", default="qwen3_vl_2b", choices=sorted(SHAPES))
    p.add_argument("--mode", default="sft", choices=["sft", "dpo"])
    p.add_argument("--batch", type=int, default=2, help="samples (SFT) or pairs (DPO) per step")
    p.add_argument("--grad-ckpt", action="store_true")
    p.add_argument("--image-size", type=int, default=512)
    p.add_argument("--text-tokens", type=int, default=130,
                   help="text tokens per sequence, answer and template included (130 gives the 646-token SFT workload of issue 10; 122 the 638-token DPO one)")
    p.add_argument("--answer-tokens", type=int, default=80)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()

    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.manual_seed(0)
    policy, cfg = build_model(args.shape, torch.float32, device)
    if args.grad_ckpt:
        policy.gradient_checkpointing_enable()
    policy.train()
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-5, fused=cuda)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda)

    reference = None
    if args.mode == "dpo":
        reference, _ = build_model(args.shape, torch.bfloat16 if cuda else torch.float32, device)
        reference.load_state_dict(policy.state_dict())
        reference.eval().requires_grad_(False)
        chosen, chosen_labels = make_inputs(args.shape, cfg, args, device, 0)
        rejected, rejected_labels = make_inputs(args.shape, cfg, args, device, 1)
    else:
        inputs, labels = make_inputs(args.shape, cfg, args, device)

    def step():
        if args.mode == "sft":
            with autocast:
                loss = policy(**inputs, labels=labels).loss
        else:
            # TRL's concatenated forward: chosen and rejected in one batch, images duplicated.
            both = {k: torch.cat([chosen[k], rejected[k]]) for k in chosen}
            both_labels = torch.cat([chosen_labels, rejected_labels])
            with torch.no_grad(), autocast:
                ref = sequence_logps(reference, both, both_labels)
            with autocast:
                pol = sequence_logps(policy, both, both_labels)
            n = args.batch
            logits = args.beta * ((pol[:n] - ref[:n]) - (pol[n:] - ref[n:]))
            loss = -F.logsigmoid(logits).mean()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = step()
    if cuda:
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / args.steps

    seq_len = (chosen if args.mode == "dpo" else inputs)["input_ids"].shape[1]
    seqs = args.batch * (2 if args.mode == "dpo" else 1)
    out = {
        "peer": "hf-transformers" + ("+trl-naive-dpo" if args.mode == "dpo" else ""),
        "shape": args.shape,
        "mode": args.mode,
        "batch": args.batch,
        "grad_ckpt": args.grad_ckpt,
        "tokens_per_sequence": seq_len,
        "step_time_s": dt,
        "tokens_per_s": seqs * seq_len / dt,
        ("pairs_per_s" if args.mode == "dpo" else "samples_per_s"): args.batch / dt,
        "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "loss": float(loss.detach()),
        "device": torch.cuda.get_device_name() if cuda else "cpu",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
    }
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
