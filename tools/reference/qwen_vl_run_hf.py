#!/usr/bin/env python3
"""Runs a Qwen-VL model directory with Hugging Face transformers on given inputs (the reverse
parity check: a model exported by editcaption must load in transformers and give the same logits).

  qwen_vl_run_hf.py --job DIR IN.safetensors OUT.safetensors [--job ...]

IN holds input_ids [B, L] and attention_mask [B, L] (int64), optionally pixel_values and
image_grid_thw. OUT receives logits (float32) and the position ids transformers computed itself
(get_rope_index). The image processor config of DIR is loaded too, so a broken one fails here.
"""

import argparse

import torch
from safetensors.torch import load_file, save_file

from transformers import AutoConfig, AutoImageProcessor
from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLForConditionalGeneration, Qwen3VLForConditionalGeneration

CLASSES = {
    "qwen2_vl": Qwen2VLForConditionalGeneration,
    "qwen2_5_vl": Qwen2_5_VLForConditionalGeneration,
    "qwen3_vl": Qwen3VLForConditionalGeneration,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", nargs=3, action="append", required=True, metavar=("MODEL", "INPUTS", "OUT"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    for model_dir, inputs, out in args.job:
        run(model_dir, inputs, out)


def run(model_dir, inputs, out_path):
    cfg = AutoConfig.from_pretrained(model_dir)
    model = CLASSES[cfg.model_type].from_pretrained(model_dir, dtype=torch.float32).eval()
    AutoImageProcessor.from_pretrained(model_dir)
    t = load_file(inputs)
    ids, mask = t["input_ids"], t["attention_mask"]
    kwargs = dict(input_ids=ids, attention_mask=mask)
    out = {}
    with torch.no_grad():
        if "pixel_values" in t:
            mm = (ids == cfg.image_token_id).int()
            kwargs.update(pixel_values=t["pixel_values"], image_grid_thw=t["image_grid_thw"], mm_token_type_ids=mm)
            pos, _ = model.model.get_rope_index(ids, mm_token_type_ids=mm, image_grid_thw=t["image_grid_thw"],
                                                attention_mask=mask)
        else:
            pos1 = (mask.cumsum(-1) - 1).masked_fill(mask == 0, 0)
            pos = pos1.unsqueeze(0).expand(3, -1, -1).contiguous()
            kwargs["position_ids"] = pos
        out["logits"] = model(**kwargs).logits.float().contiguous()
        out["position_ids"] = pos.contiguous()
    save_file(out, out_path)


if __name__ == "__main__":
    main()
