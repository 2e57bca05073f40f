#!/usr/bin/env python3
"""Reference safetensors files from the Python `safetensors` package (tests/io).

  --out DIR    writes files made by Python for the C++ reader to load:
                 all_dtypes.safetensors   one tensor per dtype (+ a scalar, an empty and a 3-D one),
                                          two metadata entries (one non-ASCII)
                 one_meta.safetensors     one metadata entry, odd names and shapes
                 sharded/                 huggingface_hub.save_torch_state_dict with small shards
                                          (model-0000k-of-0000n.safetensors + model.safetensors.index.json)
                 expected.json            {file: {"metadata": {...}, "tensors": {name: {dtype, shape,
                                          values (flat, exact: ints as ints, floats as float64)}}}}
  --check DIR  loads what the C++ writer put in DIR (DIR/expected.json has the same layout, with
               "resave": true on files whose bytes must equal Python's own save of the same
               tensors) and exits 1 on any difference.
"""
import argparse
import json
import os
import sys

import torch
from safetensors.torch import load_file, save

DTYPES = {
    "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "F8_E5M2": torch.float8_e5m2,
    "F8_E4M3": torch.float8_e4m3fn, "I16": torch.int16, "U16": torch.uint16, "F16": torch.float16,
    "BF16": torch.bfloat16, "I32": torch.int32, "U32": torch.uint32, "F32": torch.float32,
    "F64": torch.float64, "I64": torch.int64, "U64": torch.uint64,
}
NAME_OF = {v: k for k, v in DTYPES.items()}


def flat_values(t):
    if t.dtype == torch.bool:
        return [bool(x) for x in t.flatten().tolist()]
    if t.dtype.is_floating_point:
        return t.to(torch.float64).flatten().tolist()
    if t.dtype == torch.uint64:  # tolist() goes through int64
        return [int(x) & (2**64 - 1) for x in t.flatten().view(torch.int64).tolist()]
    return t.flatten().tolist()


def describe(tensors, metadata):
    return {"metadata": metadata or {},
            "tensors": {k: {"dtype": NAME_OF[v.dtype], "shape": list(v.shape), "values": flat_values(v)}
                        for k, v in tensors.items()}}


def make(dtype, shape, seed):
    n = 1
    for d in shape:
        n *= d
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return (torch.randint(0, 2, (n,), generator=g) == 1).reshape(shape)
    if dtype.is_floating_point:
        return (torch.randn(n, generator=g, dtype=torch.float64) * 3).to(dtype).reshape(shape)
    if dtype in (torch.int64,):
        return torch.randint(-2**62, 2**62, (n,), generator=g, dtype=torch.int64).reshape(shape)
    if dtype in (torch.uint64,):
        return torch.randint(-2**62, 2**62, (n,), generator=g, dtype=torch.int64).view(torch.uint64).reshape(shape)
    info = torch.iinfo(dtype)
    lo, hi = max(info.min, -2**31), min(info.max, 2**31 - 1)
    return torch.randint(lo, hi, (n,), generator=g, dtype=torch.int64).to(dtype).reshape(shape)


def write_reference(out):
    os.makedirs(out, exist_ok=True)
    expected = {}
    tensors = {f"t.{name.lower()}": make(dt, [3, 5], i) for i, (name, dt) in enumerate(DTYPES.items())}
    tensors["scalar"] = torch.tensor(2.5, dtype=torch.float32)
    tensors["empty"] = torch.zeros(0, 4, dtype=torch.bfloat16)
    tensors["cube"] = make(torch.float16, [2, 3, 7], 99)
    meta = {"format": "pt", "note": "caf\u00e9 \u2713"}
    with open(os.path.join(out, "all_dtypes.safetensors"), "wb") as f:
        f.write(save(tensors, metadata=meta))
    expected["all_dtypes.safetensors"] = describe(tensors, meta)

    odd = {"model.layers.0.self_attn.q_proj.weight": make(torch.bfloat16, [7, 3], 5),
           "caf\u00e9/\u03b1": make(torch.float32, [1], 6),
           "x": make(torch.int8, [13], 7)}
    with open(os.path.join(out, "one_meta.safetensors"), "wb") as f:
        f.write(save(odd, metadata={"format": "pt"}))
    expected["one_meta.safetensors"] = describe(odd, {"format": "pt"})

    from huggingface_hub import save_torch_state_dict
    sharded = {f"layer.{i}.weight": make(torch.float32, [16, 8], 100 + i) for i in range(5)}
    sharded["layer.norm"] = make(torch.bfloat16, [8], 200)
    os.makedirs(os.path.join(out, "sharded"), exist_ok=True)
    save_torch_state_dict(sharded, os.path.join(out, "sharded"), max_shard_size=1200)
    expected["sharded"] = describe(sharded, None)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


def same(a, b):
    # Exact comparison; NaN equals NaN (floats round-trip bit for bit or not at all).
    if len(a) != len(b):
        return False
    return all(x == y or (x != x and y != y) for x, y in zip(a, b))


def check(directory):
    with open(os.path.join(directory, "expected.json")) as f:
        expected = json.load(f)
    problems = []
    for name, want in expected.items():
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            with open(os.path.join(path, "model.safetensors.index.json")) as f:
                index = json.load(f)
            got = {}
            for shard in sorted(set(index["weight_map"].values())):
                got.update(load_file(os.path.join(path, shard)))
            if sorted(got) != sorted(index["weight_map"]):
                problems.append(f"{name}: index lists {sorted(index['weight_map'])}, shards hold {sorted(got)}")
            meta = None
        else:
            got = load_file(path)
            from safetensors import safe_open
            with safe_open(path, "pt") as f:
                meta = f.metadata() or {}
            if meta != want["metadata"]:
                problems.append(f"{name}: metadata {meta} != {want['metadata']}")
        if sorted(got) != sorted(want["tensors"]):
            problems.append(f"{name}: tensors {sorted(got)} != {sorted(want['tensors'])}")
            continue
        for tname, w in want["tensors"].items():
            t = got[tname]
            if NAME_OF[t.dtype] != w["dtype"] or list(t.shape) != w["shape"] or not same(flat_values(t), w["values"]):
                problems.append(f"{name}: tensor {tname}: {NAME_OF[t.dtype]} {list(t.shape)} differs from expected "
                                f"{w['dtype']} {w['shape']}")
        if want.get("resave"):
            with open(path, "rb") as f:
                ours = f.read()
            theirs = save(got, metadata=want["metadata"] or None)
            if ours != theirs:
                problems.append(f"{name}: bytes differ from Python's save() of the same tensors "
                                f"({len(ours)} vs {len(theirs)} bytes; headers {ours[8:200]!r} vs {theirs[8:200]!r})")
    for p in problems:
        print(p)
    print(f"checked {len(expected)} entries: {len(problems)} problem(s)")
    return 1 if problems else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--check")
    args = ap.parse_args()
    if args.check:
        sys.exit(check(args.check))
    write_reference(args.out)


if __name__ == "__main__":
    main()
