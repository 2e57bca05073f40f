#!/usr/bin/env python3
"""Reference outputs of Hugging Face transformers' Qwen-VL image processors for tests/data.

Writes into --out:
  images/<name>.<ext>   test images: scikit-image's bundled photographs (PNG, JPEG, WebP), odd sizes,
                        grey, grey+alpha, RGBA, palette with transparency, EXIF-rotated JPEGs
  decoded/<name>.rgb    what PIL decodes from each file (convert("RGB") after exif_transpose),
                        raw uint8 [H, W, 3]
  cases/<id>.f32        pixel_values (float32, row-major) of one processor call
  smart_resize.json     transformers' smart_resize on many sizes (ties included)
  index.json            images (size, file, decoded file) and cases (image, family, backend,
                        min/max pixels, grid_thw, shape, file)

The processors are built as the hub preprocessor_config.json files describe them
(../shared/spec/qwen_vl.md 4.1): Qwen2-VL (also Qwen2.5-VL) patch 14 with CLIP mean/std,
Qwen3-VL patch 16 with mean/std 0.5. Both backends are run: "torchvision" (the default,
Qwen2VLImageProcessor) and "pil" (Qwen2VLImageProcessorPil).
"""
import argparse
import io
import json
import os
import random

import numpy as np
from PIL import Image, ImageOps
from skimage import data as skdata
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor, smart_resize

FAMILIES = {
    "qwen2_vl": dict(patch_size=14, temporal_patch_size=2, merge_size=2,
                     image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
                     min_pixels=3136, max_pixels=12845056),
    "qwen3_vl": dict(patch_size=16, temporal_patch_size=2, merge_size=2,
                     image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
                     min_pixels=65536, max_pixels=16777216),
}


def exif_bytes(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def make_images(out):
    """name -> (file name, PIL image written)."""
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    astronaut = Image.fromarray(skdata.astronaut())
    coffee = Image.fromarray(skdata.coffee())
    chelsea = Image.fromarray(skdata.chelsea())
    rocket = Image.fromarray(skdata.rocket())
    camera = Image.fromarray(skdata.camera())
    hubble = Image.fromarray(skdata.hubble_deep_field())
    rgba = astronaut.copy()
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 512, dtype=np.uint8), (512, 1)))
    rgba.putalpha(alpha)
    la = camera.convert("LA")
    la.putalpha(alpha)
    palette = chelsea.quantize(colors=64)
    specs = [
        ("astronaut", astronaut, "png", {}),
        ("coffee", coffee, "jpg", dict(quality=92)),
        ("chelsea", chelsea, "png", {}),
        ("rocket", rocket, "jpg", dict(quality=85)),
        ("hubble", hubble, "jpg", dict(quality=90, subsampling=0)),
        ("camera_grey", camera, "png", {}),
        ("camera_grey_jpeg", camera, "jpg", dict(quality=90)),
        ("astronaut_rgba", rgba, "png", {}),
        ("camera_grey_alpha", la, "png", {}),
        ("chelsea_palette", palette, "png", dict(transparency=0)),
        ("chelsea_lossless", chelsea, "webp", dict(lossless=True)),
        ("coffee_lossy", coffee, "webp", dict(quality=80)),
        ("rocket_exif6", rocket, "jpg", dict(quality=90, exif=exif_bytes(6))),
        ("rocket_exif3", rocket, "jpg", dict(quality=90, exif=exif_bytes(3))),
        ("chelsea_exif5", chelsea, "jpg", dict(quality=90, exif=exif_bytes(5))),
        ("chelsea_exif7", chelsea, "jpg", dict(quality=90, exif=exif_bytes(7))),
        ("chelsea_exif8_png", chelsea, "png", dict(exif=exif_bytes(8))),
        ("pixel_1x1", astronaut.resize((1, 1), Image.BICUBIC), "png", {}),
        ("odd_3x5", astronaut.crop((100, 100, 103, 105)), "png", {}),
        ("tie_42x70", astronaut.crop((10, 20, 52, 90)), "png", {}),
        ("thin_13x997", hubble.crop((0, 100, 997, 113)), "png", {}),
        ("odd_301x17", hubble.crop((200, 300, 217, 601)), "png", {}),
        ("odd_225x333", coffee.crop((7, 11, 340, 236)), "png", {}),
    ]
    images = {}
    for name, img, ext, kw in specs:
        fname = f"{name}.{ext}"
        img.save(os.path.join(out, "images", fname), **kw)
        images[name] = fname
    return images


def decode_like_hf(path):
    img = Image.open(path)
    img = ImageOps.exif_transpose(img)
    return img.convert("RGB")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = args.out
    for d in ("images", "decoded", "cases"):
        os.makedirs(os.path.join(out, d), exist_ok=True)

    files = make_images(out)
    index = {"images": {}, "cases": []}
    for name, fname in files.items():
        rgb = decode_like_hf(os.path.join(out, "images", fname))
        arr = np.asarray(rgb, dtype=np.uint8)
        arr.tofile(os.path.join(out, "decoded", name + ".rgb"))
        index["images"][name] = {"file": "images/" + fname, "decoded": "decoded/" + name + ".rgb",
                                 "height": arr.shape[0], "width": arr.shape[1]}

    # Hub settings on real photographs; a small max_pixels elsewhere keeps the fixture small while
    # still exercising downscaling, upscaling to min_pixels and every odd size.
    big = {"astronaut"}
    moderate = {"coffee", "chelsea", "rocket", "hubble", "camera_grey", "chelsea_lossless", "astronaut_rgba"}
    processors = {}
    for fam, cfg in FAMILIES.items():
        for backend, cls in (("torchvision", Qwen2VLImageProcessor), ("pil", Qwen2VLImageProcessorPil)):
            processors[(fam, backend)] = cls(patch_size=cfg["patch_size"], temporal_patch_size=cfg["temporal_patch_size"],
                                             merge_size=cfg["merge_size"], image_mean=cfg["image_mean"],
                                             image_std=cfg["image_std"])
    for name in files:
        for fam, cfg in FAMILIES.items():
            factor = cfg["patch_size"] * cfg["merge_size"]
            if name in big:
                settings = [(cfg["min_pixels"], cfg["max_pixels"])]
            elif name in moderate:
                settings = [(cfg["min_pixels"], 64 * factor * factor)]
            else:
                settings = [(4 * factor * factor, 16 * factor * factor)]
            for min_px, max_px in settings:
                for backend in ("torchvision", "pil"):
                    if backend == "pil" and name not in moderate:
                        continue
                    img = Image.open(os.path.join(out, "images", files[name]))
                    img = ImageOps.exif_transpose(img)
                    res = processors[(fam, backend)](images=img, min_pixels=min_px, max_pixels=max_px, return_tensors="np")
                    pv = np.ascontiguousarray(res["pixel_values"], dtype=np.float32)
                    grid = [int(x) for x in res["image_grid_thw"][0]]
                    cid = f"{name}.{fam}.{backend}.{max_px}"
                    pv.tofile(os.path.join(out, "cases", cid + ".f32"))
                    index["cases"].append({"id": cid, "image": name, "family": fam, "backend": backend,
                                           "min_pixels": min_px, "max_pixels": max_px, "grid_thw": grid,
                                           "shape": list(pv.shape), "file": "cases/" + cid + ".f32"})

    # smart_resize on many sizes, with exact ties of round-half-even (e.g. 42x70 at factor 28).
    rng = random.Random(1234)
    sizes = [(42, 70), (70, 42), (14, 14), (1, 1), (3, 5), (28, 28), (56, 84), (98, 126), (1080, 1920), (4000, 3000),
             (10000, 10000), (2, 399), (13, 997), (10000, 51), (16, 48), (80, 112), (48, 80), (144, 208)]
    sizes += [(rng.randint(1, 5000), rng.randint(1, 5000)) for _ in range(300)]
    sizes += [(rng.randint(1, 60) * 14, rng.randint(1, 60) * 14) for _ in range(100)]
    sizes += [(rng.randint(1, 60) * 16, rng.randint(1, 60) * 16) for _ in range(100)]
    rows = []
    for factor in (28, 32):
        for min_px, max_px in ((3136, 12845056), (65536, 16777216), (3136, 200704), (50176, 1003520), (784, 784 * 4)):
            for h, w in sizes:
                try:
                    rh, rw = smart_resize(h, w, factor=factor, min_pixels=min_px, max_pixels=max_px)
                    rows.append([h, w, factor, min_px, max_px, rh, rw])
                except ValueError:
                    rows.append([h, w, factor, min_px, max_px, -1, -1])
    with open(os.path.join(out, "smart_resize.json"), "w") as f:
        json.dump(rows, f)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"wrote {len(index['images'])} images, {len(index['cases'])} processor cases, {len(rows)} smart_resize rows to {out}")


if __name__ == "__main__":
    main()
