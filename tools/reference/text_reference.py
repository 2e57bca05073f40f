#!/usr/bin/env python3
"""Reference outputs for the tokenizer, chat-template and sample-encoding tests (tests/text/).

No hub files are reachable, so everything is built here from scratch with the reference packages:
  - a byte-level BPE with the Qwen2/Qwen3 pre-tokenizer (NFC, Split regex, ByteLevel) trained with
    `tokenizers` on generated text, plus the Qwen special tokens, saved as tokenizer.json (merges in
    the [a, b] list form) and in the legacy "a b" string form, and a GPT-2-style variant
    (ByteLevel pre-tokenizer with its own regex and a prefix space), an ignore_merges variant and
    one with 40,000 random merges in shuffled rank order (adversarial merge orders);
  - a corpus of >= 10,000 texts (CJK, emoji, digits, mixed whitespace, newlines, special tokens,
    contractions, combining marks, long words) with the ids and decodes `tokenizers` gives;
  - a sentencepiece model (Python `sentencepiece`) with the chat special tokens as user-defined
    symbols, and its ids and decodes on instruction-like text;
  - the chat layouts: Qwen2VLProcessor / Qwen3VLProcessor (transformers) with the published Qwen2-VL
    and Qwen3-VL chat templates, around the BPE above, applied to (source image, target image,
    prompt) + an assistant answer, with two images of different sizes.

Usage: text_reference.py --out DIR
"""
import argparse
import json
import os
import random
import sys
import time
import unicodedata
from pathlib import Path

# Qwen special tokens in Qwen's id order (../shared/spec/qwen_vl.md section 5.2).
QWEN_SPECIAL = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]
# Qwen2.5 adds these as non-special added tokens (not skipped when decoding).
QWEN_NON_SPECIAL = ["<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>"]

QWEN_SPLIT_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# The Qwen2-VL / Qwen2.5-VL chat template (Qwen/Qwen2-VL-7B-Instruct chat_template.json), verbatim.
QWEN2_VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}"
    "<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# The Qwen3-VL Instruct chat template (Qwen/Qwen3-VL-*-Instruct chat_template.json), verbatim except
# for the tool branches, which editcaption never uses (no tools, no tool messages).
QWEN3_VL_TEMPLATE = """{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0].content is string %}
        {{- messages[0].content }}
    {%- else %}
        {%- for content in messages[0].content %}
            {%- if 'text' in content %}
                {{- content.text }}
            {%- endif %}
        {%- endfor %}
    {%- endif %}
    {{- '<|im_end|>\\n' }}
{%- endif %}
{%- set image_count = namespace(value=0) %}
{%- set video_count = namespace(value=0) %}
{%- for message in messages %}
    {%- if message.role == "user" %}
        {{- '<|im_start|>' + message.role + '\\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content in message.content %}
                {%- if content.type == 'image' or 'image' in content or 'image_url' in content %}
                    {%- set image_count.value = image_count.value + 1 %}
                    {%- if add_vision_id %}Picture {{ image_count.value }}: {% endif -%}
                    <|vision_start|><|image_pad|><|vision_end|>
                {%- elif content.type == 'video' or 'video' in content %}
                    {%- set video_count.value = video_count.value + 1 %}
                    {%- if add_vision_id %}Video {{ video_count.value }}: {% endif -%}
                    <|vision_start|><|video_pad|><|vision_end|>
                {%- elif 'text' in content %}
                    {{- content.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role + '\\n' }}
        {%- if message.content is string %}
            {{- message.content }}
        {%- else %}
            {%- for content_item in message.content %}
                {%- if 'text' in content_item %}
                    {{- content_item.text }}
                {%- endif %}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# ------------------------------------------------------------------------------------------------
# Corpus

COLOURS = ["red", "crimson", "dark red", "light blue", "navy", "teal", "olive green", "golden yellow", "magenta",
           "pale pink", "charcoal grey", "ivory", "burnt orange", "violet", "turquoise", "beige"]
OBJECTS = ["mug", "cat", "bicycle", "umbrella", "lamp", "vase", "book", "sign", "car", "tree", "balloon",
           "chair", "hat", "bottle", "clock", "dog", "kite", "boat", "guitar", "teapot"]
VERBS = ["Move", "Replace", "Remove", "Add", "Rotate", "Shrink", "Enlarge", "Recolour", "Swap", "Shift"]
DIRS = ["to the left", "to the right", "upward", "downward", "toward the camera", "to the top-left corner",
        "by 30 degrees clockwise", "slightly left", "2 cm to the right"]
CAMERA = ["Zoom in on", "Zoom out from", "Pan the camera left across", "Tilt the view up toward", "Shift the viewpoint around"]
WORDS = ["the", "a", "and", "with", "of", "in", "on", "behind", "under", "next", "to", "matte", "glossy", "wooden",
         "metal", "striped", "dotted", "bright", "dim", "large", "small", "tiny", "huge", "background", "edge",
         "table", "sky", "grass", "wall", "floor", "text", "label", "reads", "OPEN", "SALE", "café", "naïve",
         "Zürich", "São", "Ελλάδα", "Москва", "привет", "مرحبا", "नमस्ते", "สวัสดี", "שלום", "Ünïcödé"]
CJK = ("把杯子移到左边的桌子上将红色的气球换成蓝色的背景变成夜晚天空中有一只猫狗在草地上跑镜头向右平移放大缩小"
       "文字改为开门大吉旋转三十度东京大阪京都的寺院和樱花")
KANA = "ひらがなカタカナのテキストを左に動かしてくださいオレンジ色"
HANGUL = "왼쪽으로컵을옮기세요빨간풍선을파란색으로바꾸세요"
EMOJI = ["😀", "🐱", "🚲", "☂️", "👍🏽", "👩‍💻", "🇯🇵", "🏳️‍🌈", "❤️", "🔥", "✨", "🙂", "🧪", "👨‍👩‍👧‍👦", "🟥", "⬅️", "➡️"]
SPACES = [" ", "  ", "\t", " \t ", "\u00a0", "\u3000", "\u2003", "\u2009", "\u180e", "\u0085", "\u2028", "\u200b",
          "   ", "\f", "\v"]
NEWLINES = ["\n", "\r\n", "\n\n", " \n", "\n  ", "\r", "\n\t\n", "\u2029"]
CONTRACTIONS = ["it's", "IT'S", "we'll", "WE'LL", "they're", "I'm", "you've", "he'd", "don't", "'S", "'ſ", "'Ll",
                "rock'n'roll", "’s", "''s"]
DECOMPOSED = ["e\u0301", "a\u0308", "o\u0302", "\u212b", "\u1100\u1161\u11a8", "n\u0303", "A\u030a", "\u2126", "ﬁ", "①", "Ⅻ"]
SPECIALS_IN_TEXT = QWEN_SPECIAL + QWEN_NON_SPECIAL + ["<|im_start", "<|endoftext|", "|im_end|>", "<|IM_START|>",
                                                      "<|im_start|><|im_end|>", "<||>", "< |im_start| >"]


def number(rng):
    k = rng.randrange(6)
    if k == 0:
        return str(rng.randrange(10))
    if k == 1:
        return str(rng.randrange(10 ** rng.randrange(1, 12)))
    if k == 2:
        return f"{rng.uniform(-1000, 1000):.{rng.randrange(1, 5)}f}"
    if k == 3:
        return f"{rng.randrange(1900, 2100)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    if k == 4:
        return f"{rng.randrange(100)}%"
    return "".join(rng.choice("０１２３４５６７８９٠١٢٣٤٥٦٧٨٩")) + str(rng.randrange(50))


def instruction(rng):
    k = rng.randrange(4)
    if k == 0:
        return f"{rng.choice(VERBS)} the {rng.choice(COLOURS)} {rng.choice(OBJECTS)} {rng.choice(DIRS)}."
    if k == 1:
        return f"{rng.choice(CAMERA)} the {rng.choice(OBJECTS)}; keep the {rng.choice(COLOURS)} {rng.choice(OBJECTS)} fixed."
    if k == 2:
        return (f"Change the text on the {rng.choice(OBJECTS)} from \"{rng.choice(WORDS)}\" to "
                f"\"{rng.choice(WORDS).upper()}\" and make it {rng.choice(COLOURS)}.")
    return f"Replace the {rng.choice(OBJECTS)} with a {rng.choice(COLOURS)} {rng.choice(OBJECTS)} ({number(rng)} px wide)."


def fragment(rng):
    k = rng.randrange(14)
    if k == 0:
        return "".join(rng.choice(CJK) for _ in range(rng.randrange(1, 30)))
    if k == 1:
        return "".join(rng.choice(KANA + HANGUL) for _ in range(rng.randrange(1, 15)))
    if k == 2:
        return "".join(rng.choice(EMOJI) for _ in range(rng.randrange(1, 4)))
    if k == 3:
        return number(rng)
    if k == 4:
        return rng.choice(SPACES) * rng.randrange(1, 3)
    if k == 5:
        return rng.choice(NEWLINES)
    if k == 6:
        return rng.choice(CONTRACTIONS)
    if k == 7:
        return rng.choice(WORDS) + rng.choice(DECOMPOSED)
    if k == 8:
        return rng.choice(SPECIALS_IN_TEXT)
    if k == 9:
        return rng.choice("!?.,;:()[]{}<>\"'`~@#$%^&*-_=+|\\/…—–«»¿¡·•§¶©®™°±×÷")
    if k == 10:
        return instruction(rng)
    if k == 11:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(rng.randrange(1, 12)))
    if k == 12:
        # Any code point assigned in Unicode 14.0 (Python 3.11's unicodedata), the version of PCRE2
        # 10.42's property tables: letters assigned later are not \p{L} there (docs/tokenizers.md).
        while True:
            c = chr(rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0xa0, 0x2000), rng.randrange(0x2000, 0xd7ff),
                                rng.randrange(0xe000, 0xfffe), rng.randrange(0x10000, 0x2fa1d)]))
            if unicodedata.category(c) != "Cn":
                return c
    return rng.choice(WORDS)


def corpus_line(rng):
    k = rng.randrange(10)
    if k < 3:
        return instruction(rng)
    n = rng.randrange(1, 12)
    parts = []
    for _ in range(n):
        parts.append(fragment(rng))
        if rng.random() < 0.5:
            parts.append(" ")
    return "".join(parts)


def make_corpus(seed, n):
    rng = random.Random(seed)
    lines = [corpus_line(rng) for _ in range(n)]
    # Edge cases, each at least once.
    lines += [
        "", " ", "\n", "  \n  ", "a" * 3000, "ab" * 700, "你" * 500, " " * 300 + "x", "\t" * 50, "😀" * 200,
        "1234567890" * 30, "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
        "<|vision_start|>" + "<|image_pad|>" * 40 + "<|vision_end|>", "x<|endoftext|>y", "<tool_call>{\"a\": 1}</tool_call>",
        "e\u0301e\u0301e\u0301", "\u212b\u212b", "Hello\u180eworld", "a\u0085b", "line\u2028sep", "tab\there",
        "IT'S WE'LL 'S 'ſ", "   leading", "trailing   ", "multi\n\n\nnewline", "\r\n\r\n", " \n \n ",
        "[EDIT] marker", "x[EDIT]y", "edit:e\u0301dit-tag", "say <mask> now", "a <mask>b", "[WORD] alone", "in[WORD]side",
    ]
    return lines


# ------------------------------------------------------------------------------------------------
# Byte-level BPE (tokenizers)

def train_qwen_bpe(train_lines, vocab_size):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(train_lines, trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIAL])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in QWEN_NON_SPECIAL])
    # Added-token options the format allows (not used by Qwen, but part of tokenizer.json).
    tok.add_tokens([
        AddedToken("[EDIT]", special=False, normalized=True),
        AddedToken("e\u0301dit-tag", special=False, normalized=True),  # matched on NFC text
        AddedToken("<mask>", special=True, normalized=False, lstrip=True, rstrip=True),
        AddedToken("[WORD]", special=False, normalized=False, single_word=True),
    ])
    return tok


def train_gpt2_bpe(train_lines, vocab_size):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(train_lines, trainer)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True, normalized=False)])
    return tok


def legacy_merges(tokenizer_json):
    j = json.loads(tokenizer_json)
    j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
    return json.dumps(j, ensure_ascii=False)


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def bpe_reference(out, corpus, train_lines):
    from tokenizers import Tokenizer
    t0 = time.time()
    qwen = train_qwen_bpe(train_lines, 6000)
    d = out / "bpe"
    d.mkdir(parents=True, exist_ok=True)
    qwen.save(str(d / "tokenizer.json"))
    text = (d / "tokenizer.json").read_text(encoding="utf-8")
    assert isinstance(json.loads(text)["model"]["merges"][0], list), "expected the [a, b] merges form"

    legacy = out / "bpe_legacy"
    legacy.mkdir(exist_ok=True)
    (legacy / "tokenizer.json").write_text(legacy_merges(text), encoding="utf-8")
    ignore = out / "bpe_ignore_merges"
    ignore.mkdir(exist_ok=True)
    j = json.loads(text)
    j["model"]["ignore_merges"] = True
    (ignore / "tokenizer.json").write_text(json.dumps(j, ensure_ascii=False), encoding="utf-8")

    def encode_all(tok):
        return [e.ids for e in tok.encode_batch(corpus, add_special_tokens=False)]

    qwen = Tokenizer.from_file(str(d / "tokenizer.json"))
    ids = encode_all(qwen)
    legacy_ids = encode_all(Tokenizer.from_file(str(legacy / "tokenizer.json")))
    assert legacy_ids == ids, "the two merges forms must give the same ids"
    write_jsonl(out / "corpus.jsonl", corpus)
    write_jsonl(d / "ids.jsonl", ids)
    write_jsonl(d / "decode.jsonl", [[qwen.decode(i, skip_special_tokens=False), qwen.decode(i, skip_special_tokens=True)]
                                     for i in ids])
    write_jsonl(ignore / "ids.jsonl", encode_all(Tokenizer.from_file(str(ignore / "tokenizer.json"))))

    # Decoding arbitrary id sequences: broken UTF-8 (lossy replacement), added tokens.
    rng = random.Random(7)
    n = qwen.get_vocab_size(with_added_tokens=True)
    random_rows = []
    for _ in range(2000):
        seq = [rng.randrange(n) for _ in range(rng.randrange(1, 12))]
        random_rows.append([seq, qwen.decode(seq, skip_special_tokens=False), qwen.decode(seq, skip_special_tokens=True)])
    write_jsonl(d / "random_decode.jsonl", random_rows)

    # Adversarial merges: random pairs of existing tokens in shuffled rank order, so a merge can rank
    # before the merges that form its parts (stale queue entries, competing merge paths).
    rng = random.Random(11)
    j = json.loads(text)
    vocab = {t: i for t, i in j["model"]["vocab"].items() if i < 256}
    tokens = list(vocab)
    merges = []
    while len(merges) < 40000:
        a, b = rng.choice(tokens), rng.choice(tokens)
        if len(a) + len(b) > 10 or a + b in vocab:
            continue
        vocab[a + b] = len(vocab)
        tokens.append(a + b)
        merges.append([a, b])
    rng.shuffle(merges)
    j["model"]["vocab"], j["model"]["merges"] = vocab, merges
    for k, t in enumerate(j["added_tokens"]):
        t["id"] = len(vocab) + k
    rnd = out / "bpe_random_merges"
    rnd.mkdir(exist_ok=True)
    (rnd / "tokenizer.json").write_text(json.dumps(j, ensure_ascii=False), encoding="utf-8")
    write_jsonl(rnd / "ids.jsonl", encode_all(Tokenizer.from_file(str(rnd / "tokenizer.json"))))

    gpt2 = train_gpt2_bpe(train_lines[:4000], 2000)
    g = out / "gpt2"
    g.mkdir(exist_ok=True)
    gpt2.save(str(g / "tokenizer.json"))
    gpt2 = Tokenizer.from_file(str(g / "tokenizer.json"))
    write_jsonl(g / "ids.jsonl", [e.ids for e in gpt2.encode_batch(corpus, add_special_tokens=False)])
    print(f"text_reference: BPE {qwen.get_vocab_size()} tokens, {len(corpus)} texts, "
          f"{sum(len(i) for i in ids)} ids ({time.time() - t0:.1f} s)")
    return d / "tokenizer.json"


# ------------------------------------------------------------------------------------------------
# sentencepiece

def spm_reference(out, corpus, train_lines):
    import sentencepiece as spm
    t0 = time.time()
    d = out / "spm"
    d.mkdir(parents=True, exist_ok=True)
    # The options `editcaption tokenizer train` uses (docs/tokenizers.md).
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(train_lines), model_prefix=str(d / "tokenizer"), vocab_size=3000,
        model_type="unigram", character_coverage=0.9995, user_defined_symbols=QWEN_SPECIAL,
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, byte_fallback=True, split_digits=True,
        normalization_rule_name="nfkc", remove_extra_whitespaces=False, add_dummy_prefix=False,
        hard_vocab_limit=False, num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=str(d / "tokenizer.model"))
    special = {sp.piece_to_id(t) for t in QWEN_SPECIAL}
    rows = []
    for text in corpus:
        ids = sp.encode(text)
        keep = [i for i in ids if i not in special and not sp.is_control(i)]
        rows.append([ids, sp.decode(ids), sp.decode(keep)])
    write_jsonl(d / "expected.jsonl", rows)
    print(f"text_reference: sentencepiece {sp.get_piece_size()} pieces ({time.time() - t0:.1f} s)")


# ------------------------------------------------------------------------------------------------
# Chat layouts (transformers processors + the published templates)

def chat_reference(out, tokenizer_json):
    import numpy as np
    from PIL import Image
    from transformers import PreTrainedTokenizerFast
    from transformers.models.qwen2_vl import Qwen2VLImageProcessor, Qwen2VLProcessor
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor
    from transformers.models.qwen3_vl import Qwen3VLProcessor
    from transformers.models.qwen3_vl.video_processing_qwen3_vl import Qwen3VLVideoProcessor
    t0 = time.time()
    tok = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_json), eos_token="<|im_end|>",
                                  pad_token="<|endoftext|>", unk_token=None)
    rng = np.random.default_rng(3)
    # Two images of different, non-square sizes (source, target).
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in [(120, 200), (168, 84)]]
    prompt = "Source image first, edited image second. Write the editing instruction."
    answers = [
        "Move the red mug to the left edge of the table and make it matte blue.",
        "把红色的杯子移到左边 🙂, then zoom in 2x.\nKeep the 3 books.",
        "Replace the cat's hat with a <tool_call> sign; it's 12.5 cm wide.",
    ]
    cases = []
    for layout in ["qwen2_vl", "qwen3_vl"]:
        if layout == "qwen2_vl":
            ip = Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=28 * 28 * 256)
            proc = Qwen2VLProcessor(image_processor=ip, tokenizer=tok, video_processor=Qwen2VLVideoProcessor(),
                                    chat_template=QWEN2_VL_TEMPLATE)
        else:
            ip = Qwen2VLImageProcessor(min_pixels=64 * 64, max_pixels=32 * 32 * 256, patch_size=16,
                                       image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
            proc = Qwen3VLProcessor(image_processor=ip, tokenizer=tok, video_processor=Qwen3VLVideoProcessor(),
                                    chat_template=QWEN3_VL_TEMPLATE)
        for system in [None, "You write precise image-editing instructions.", ""]:
            for add_vision_id in [False, True]:
                if add_vision_id and system == "":
                    continue
                for answer in answers:
                    messages = []
                    if system is not None:
                        messages.append({"role": "system", "content": system})
                    messages.append({"role": "user", "content": [{"type": "image", "image": images[0]},
                                                                 {"type": "image", "image": images[1]},
                                                                 {"type": "text", "text": prompt}]})
                    kw = dict(tokenize=True, return_dict=True, add_vision_id=add_vision_id)
                    p = proc.apply_chat_template(messages, add_generation_prompt=True, **kw)
                    full = proc.apply_chat_template(messages + [{"role": "assistant", "content": answer}], **kw)
                    prompt_ids = p["input_ids"][0].tolist() if hasattr(p["input_ids"][0], "tolist") else list(p["input_ids"][0])
                    full_ids = full["input_ids"][0].tolist() if hasattr(full["input_ids"][0], "tolist") else list(full["input_ids"][0])
                    grids = full["image_grid_thw"].tolist()
                    assert full_ids[:len(prompt_ids)] == prompt_ids
                    # Labels (shifted): the answer tokens and <|im_end|> are predicted; the template's
                    # trailing newline after <|im_end|> is not.
                    im_end = tok.convert_tokens_to_ids("<|im_end|>")
                    end = len(full_ids) - 1
                    while full_ids[end] != im_end:
                        end -= 1
                    labels = [-100] * len(full_ids)
                    for i in range(len(prompt_ids) - 1, end):
                        labels[i] = full_ids[i + 1]
                    cases.append({"layout": layout, "system": system, "add_vision_id": add_vision_id, "prompt": prompt,
                                  "answer": answer, "grids": grids, "prompt_ids": prompt_ids, "input_ids": full_ids,
                                  "labels": labels,
                                  "text": proc.apply_chat_template(messages + [{"role": "assistant", "content": answer}],
                                                                   tokenize=False, add_vision_id=add_vision_id)})
    (out / "chat").mkdir(exist_ok=True)
    with open(out / "chat" / "cases.json", "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False)
    print(f"text_reference: {len(cases)} chat cases ({time.time() - t0:.1f} s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(1, 10000)
    train_lines = make_corpus(2, 12000)
    tokenizer_json = bpe_reference(out, corpus, train_lines)
    rng = random.Random(3)
    spm_lines = [instruction(rng) if i % 4 else fragment(rng) + " " + instruction(rng) for i in range(8000)]
    spm_reference(out, corpus, spm_lines)
    chat_reference(out, tokenizer_json)
    (out / "DONE").write_text("ok\n")


if __name__ == "__main__":
    sys.exit(main())
