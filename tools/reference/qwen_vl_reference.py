#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers' Qwen2-VL, Qwen2.5-VL and Qwen3-VL for the C++ parity tests.

Builds one tiny random model per family with transformers' own classes (real structure: GQA, q/k/v
bias or q/k-norm, contiguous or interleaved M-RoPE, Qwen2.5-VL window attention with empty windows,
Qwen3-VL learned position embedding and DeepStack), saves it with save_pretrained and records, for
text-only, one-image, two-image and a padded two-row batch input:

  input_ids, attention_mask, pixel_values, image_grid_thw  the inputs (pixel values fed directly)
  position_ids, rope_deltas                              transformers' get_rope_index
  logits                                                 fp32 forward
  image_embeds (+ deepstack_<k>)                         vision tower outputs
  generated                                              greedy generate(), token for token

Layout of --out:
  <family>/            model directory (config.json + model.safetensors)
  cases/<family>.<case>.safetensors
  manifest.json        families, cases and what each model exercises

The qwen2_vl model keeps the legacy tensor names transformers writes for it (visual.*, model.*),
qwen3_vl the nested ones (model.visual.*, model.language_model.*); qwen2_5_vl's config.json is
rewritten in the flat hub layout of transformers 4.x (text keys at the top level, rope_scaling with
type mrope) to exercise the legacy config reader.
"""

import argparse
import json
import os
import sys

import torch
from safetensors.torch import save_file

import transformers
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen3VLConfig,
    Qwen3VLForConditionalGeneration,
)

VOCAB = 320
VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD = 300, 301, 302, 303
NEW_TOKENS = 8
# Greedy decoding is compared token for token; a step whose two best logits are closer than this
# could flip on rounding alone, so the fixture refuses such inputs instead of producing a flaky test.
MIN_MARGIN = 2e-3


def tiny_config(family):
    tokens = dict(image_token_id=IMAGE_PAD, video_token_id=VIDEO_PAD, vision_start_token_id=VISION_START,
                  vision_end_token_id=VISION_END)
    text = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=112, num_hidden_layers=3, num_attention_heads=4,
                num_key_value_heads=2, rms_norm_eps=1e-6, bos_token_id=None, eos_token_id=None, pad_token_id=None)
    if family == "qwen2_vl":
        text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}
        vision = dict(depth=3, embed_dim=32, hidden_size=64, mlp_ratio=4, num_heads=2, patch_size=14)
        return Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=False, **tokens)
    if family == "qwen2_5_vl":
        text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]}
        # window_size 56 = 2 merged tokens per window side (56 / merge 2 / patch 14).
        vision = dict(depth=4, hidden_size=32, intermediate_size=48, num_heads=2, out_hidden_size=64, patch_size=14,
                      window_size=56, fullatt_block_indexes=[1, 3], hidden_act="silu")
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **tokens)
    if family == "qwen3_vl":
        # head_dim 32 with 4 heads: q_proj is 64 -> 128, wider than the hidden size (as Qwen3-VL-4B).
        text.update(head_dim=32, rope_parameters={"rope_type": "default", "rope_theta": 5e6,
                                                 "mrope_section": [6, 5, 5], "mrope_interleaved": True})
        for k in ("bos_token_id", "eos_token_id"):
            text.pop(k)
        vision = dict(depth=4, hidden_size=32, intermediate_size=64, num_heads=2, out_hidden_size=64, patch_size=16,
                      num_position_embeddings=36, deepstack_visual_indexes=[0, 2])
        return Qwen3VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **tokens)
    raise ValueError(family)


MODEL_CLASSES = {
    "qwen2_vl": Qwen2VLForConditionalGeneration,
    "qwen2_5_vl": Qwen2_5_VLForConditionalGeneration,
    "qwen3_vl": Qwen3VLForConditionalGeneration,
}


def build_model(family, seed):
    torch.manual_seed(seed)
    model = MODEL_CLASSES[family](tiny_config(family)).eval()
    # transformers' init leaves norms at 1 and biases at 0; random values make the test sensitive to
    # every weight (a missing bias or a swapped norm would otherwise go unnoticed).
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name or "ln_q" in name:
                p.add_(torch.randn_like(p) * 0.1)
    return model


def image_row(family, grid, gen):
    t, h, w = grid
    patch = 16 if family == "qwen3_vl" else 14
    return torch.randn(t * h * w, 3 * 2 * patch * patch, generator=gen)


def prompt(gen, n_before, grids, n_after):
    """Token ids: text, then per image <vs> pads <ve>, then text."""
    ids = torch.randint(0, 290, (n_before,), generator=gen).tolist()
    for g in grids:
        ids += [VISION_START] + [IMAGE_PAD] * (g[0] * g[1] * g[2] // 4) + [VISION_END]
    ids += torch.randint(0, 290, (n_after,), generator=gen).tolist()
    return ids


def left_pad(rows):
    width = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), width, dtype=torch.long)
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, width - len(r):] = torch.tensor(r)
        mask[i, width - len(r):] = 1
    return ids, mask


def make_cases(family, seed):
    gen = torch.Generator().manual_seed(seed)
    g1 = [1, 6, 8]   # 3 x 4 merged tokens
    g2 = [1, 4, 10]  # 2 x 5 merged tokens
    cases = {}
    rows = [prompt(gen, 11, [], 0), prompt(gen, 7, [], 0)]
    cases["text"] = dict(rows=rows, grids=[])
    cases["image1"] = dict(rows=[prompt(gen, 3, [g1], 5)], grids=[g1])
    cases["image2"] = dict(rows=[prompt(gen, 2, [g1, g2], 4)], grids=[g1, g2])
    cases["batch"] = dict(rows=[prompt(gen, 4, [g2], 2), prompt(gen, 3, [g1, g2], 3)], grids=[g2, g1, g2])
    out = {}
    for name, c in cases.items():
        ids, mask = left_pad(c["rows"])
        entry = dict(input_ids=ids, attention_mask=mask)
        if c["grids"]:
            entry["image_grid_thw"] = torch.tensor(c["grids"], dtype=torch.long)
            entry["pixel_values"] = torch.cat([image_row(family, g, gen) for g in c["grids"]])
        out[name] = entry
    return out


def margin(scores):
    top = torch.topk(scores.float(), 2, dim=-1).values
    return (top[..., 0] - top[..., 1]).min().item()


@torch.no_grad()
def run_case(model, family, case):
    ids, mask = case["input_ids"], case["attention_mask"]
    kwargs = dict(input_ids=ids, attention_mask=mask)
    if "pixel_values" in case:
        kwargs.update(pixel_values=case["pixel_values"], image_grid_thw=case["image_grid_thw"],
                      mm_token_type_ids=(ids == IMAGE_PAD).int())
        pos, deltas = model.model.get_rope_index(ids, mm_token_type_ids=kwargs["mm_token_type_ids"],
                                                 image_grid_thw=case["image_grid_thw"], attention_mask=mask)
    else:
        # transformers ignores padding when it infers text-only positions in a plain forward
        # (generate() does not); pass the padding-aware positions both code paths agree on.
        pos1 = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
        pos = pos1.unsqueeze(0).expand(3, -1, -1).contiguous()
        deltas = torch.zeros(ids.shape[0], 1, dtype=torch.long)
        kwargs["position_ids"] = pos
    model.model.rope_deltas = None
    out = model(**kwargs)
    rec = dict(case)
    rec["position_ids"] = pos.contiguous()
    rec["rope_deltas"] = deltas.reshape(-1).contiguous()
    rec["logits"] = out.logits.float().contiguous()
    if "pixel_values" in case:
        feats = model.model.get_image_features(case["pixel_values"], case["image_grid_thw"], return_dict=True)
        rec["image_embeds"] = torch.cat(feats.pooler_output).contiguous()
        for k, d in enumerate(getattr(feats, "deepstack_features", None) or []):
            rec[f"deepstack_{k}"] = d.contiguous()
    gen_kwargs = {k: v for k, v in kwargs.items() if k != "position_ids"}
    model.model.rope_deltas = None
    g = model.generate(**gen_kwargs, max_new_tokens=NEW_TOKENS, do_sample=False, pad_token_id=0, eos_token_id=None,
                       output_scores=True, return_dict_in_generate=True)
    rec["generated"] = g.sequences[:, ids.shape[1]:].contiguous()
    rec["_margin"] = min(margin(s) for s in g.scores)
    return rec


def legacy_flat_config(path):
    """Rewrites a saved config.json into the flat transformers-4.x hub layout."""
    cfg = json.load(open(path))
    text = cfg.pop("text_config")
    for k, v in text.items():
        if k not in ("model_type", "rope_parameters"):
            cfg[k] = v
    rope = text["rope_parameters"]
    cfg["rope_theta"] = rope["rope_theta"]
    cfg["rope_scaling"] = {"type": "mrope", "mrope_section": rope["mrope_section"]}
    vision = cfg["vision_config"]
    vision.pop("rope_parameters", None)
    vision["in_chans"] = vision.pop("in_channels")  # the legacy name hub files carry
    vision["in_channels"] = vision["in_chans"]
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(os.path.join(args.out, "cases"), exist_ok=True)
    manifest = {"transformers": transformers.__version__, "torch": torch.__version__, "families": {}}
    seeds = {"qwen2_vl": 11, "qwen2_5_vl": 22, "qwen3_vl": 33}
    for family, seed in seeds.items():
        for attempt in range(20):
            model = build_model(family, seed + 1000 * attempt)
            cases = make_cases(family, seed + 1000 * attempt)
            recs = {name: run_case(model, family, c) for name, c in cases.items()}
            if min(r["_margin"] for r in recs.values()) >= MIN_MARGIN:
                break
        else:
            sys.exit(f"{family}: no seed gave greedy margins >= {MIN_MARGIN}")
        model_dir = os.path.join(args.out, family)
        model.save_pretrained(model_dir)
        if family == "qwen2_5_vl":
            legacy_flat_config(os.path.join(model_dir, "config.json"))
        for name, rec in recs.items():
            tensors = {k: v for k, v in rec.items() if not k.startswith("_")}
            save_file(tensors, os.path.join(args.out, "cases", f"{family}.{name}.safetensors"))
        manifest["families"][family] = {"model": family, "cases": sorted(recs), "seed": seed + 1000 * attempt,
                                        "tied": bool(model.config.tie_word_embeddings),
                                        "min_greedy_margin": min(r["_margin"] for r in recs.values())}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
