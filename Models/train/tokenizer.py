"""Our own byte-level BPE (Debian has no `tokenizers`): learned on the GRID grammar's words and the three
prompts, written as a Hugging Face tokenizer.json in the Llama-3 layout (Split with the Llama-3 regex, then
ByteLevel; 256 byte tokens, the merges, then the Llama-3 special tokens). Encoding/decoding is done by
Models/reference/avsr_reference.py's ByteLevelBpe reading that file, the same code the reference uses.
"""
import collections
import json
import os

import regex

import common
import avsr_reference  # noqa: E402  (Models/reference, on the path through common)

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                  r"\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|start_header_id|>",
            "<|end_header_id|>", "<|eot_id|>"]


def learn(texts):
    """-> (vocab list in id order, merges list 'a b'): merges until every pre-tokenized piece is one token."""
    byte_map = avsr_reference.bytes_to_unicode()
    pat = regex.compile(LLAMA3_PATTERN)
    pieces = collections.Counter()
    for t in texts:
        for m in pat.finditer(t):
            pieces[tuple(byte_map[b] for b in m.group(0).encode("utf-8"))] += 1
    vocab = [byte_map[b] for b in range(256)]
    merges = []
    words = {p: list(p) for p in pieces}
    while True:
        pairs = collections.Counter()
        for p, parts in words.items():
            for a, b in zip(parts, parts[1:]):
                pairs[(a, b)] += 1  # each distinct piece counts once: every grammar word becomes a token
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], -len(kv[0][0] + kv[0][1]), kv[0]))
        merges.append(f"{a} {b}")
        vocab.append(a + b)
        for p, parts in words.items():
            i, out = 0, []
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(parts[i])
                    i += 1
            words[p] = out
    return vocab, merges


def corpus():
    texts = list(common.PROMPTS.values())
    for w in common.WORDS:
        texts += [w, "x " + w]  # the word first in a sentence and after a space
    return texts


def write(hf_dir):
    vocab, merges = learn(corpus())
    os.makedirs(hf_dir, exist_ok=True)
    n = len(vocab)
    added = [dict(id=n + i, content=s, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
             for i, s in enumerate(SPECIALS)]
    spec = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": SPECIALS[0], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": SPECIALS[0], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": SPECIALS[0], "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {SPECIALS[0]: {"id": SPECIALS[0], "ids": [n], "tokens": [SPECIALS[0]]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": {t: i for i, t in enumerate(vocab)}, "merges": merges},
    }
    with open(os.path.join(hf_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False, indent=1)
    cfg = {"added_tokens_decoder": {str(a["id"]): {k: a[k] for k in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}
                                    for a in added},
           "bos_token": SPECIALS[0], "eos_token": SPECIALS[1], "clean_up_tokenization_spaces": True,
           "model_max_length": 2048, "tokenizer_class": "PreTrainedTokenizerFast"}
    with open(os.path.join(hf_dir, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    return n + len(SPECIALS), n, n + 1  # base vocab size, bos, eos


def load(hf_dir):
    tok = avsr_reference.ByteLevelBpe(os.path.join(hf_dir, "tokenizer.json"))
    return tok
