#!/usr/bin/env python3
"""Encodes texts with a sentencepiece model using the Python `sentencepiece` package (the reference for
models trained by `editcaption tokenizer train`). Writes one JSON line per text: [ids, decode(ids)].

Usage: spm_encode.py --model tokenizer.model --texts texts.jsonl --out out.jsonl
"""
import argparse
import json

import sentencepiece as spm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--texts", required=True, help="one JSON string per line")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sp = spm.SentencePieceProcessor(model_file=args.model)
    with open(args.texts, encoding="utf-8") as f, open(args.out, "w", encoding="utf-8") as out:
        for line in f:
            ids = sp.encode(json.loads(line))
            out.write(json.dumps([ids, sp.decode(ids)], ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
