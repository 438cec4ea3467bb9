#!/usr/bin/python3
"""Stage 2: the base LLM. Writes our byte-level BPE tokenizer, pretrains a small Llama on the GRID grammar's
training sentences (held-out sentences excluded) after one of the three prompts, and saves the Hugging Face
base folder runs/hf (config.json, tokenizer.json, tokenizer_config.json, model.safetensors; tied embeddings).
Resumable (runs/llm_pretrain.pt).

    nice -n 10 /usr/bin/python3 Models/train/train_llm.py --steps 400
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import common
import encoders
import grid
import llm
import tokenizer


def write_hf(model, hf_dir, vocab, bos, eos):
    c = common.LLM
    cfg = {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
           "bos_token_id": bos, "eos_token_id": eos, "head_dim": c["hidden"] // c["heads"], "hidden_act": "silu",
           "hidden_size": c["hidden"], "initializer_range": 0.02, "intermediate_size": c["ffn"],
           "max_position_embeddings": 2048, "mlp_bias": False, "model_type": "llama",
           "num_attention_heads": c["heads"], "num_hidden_layers": c["layers"], "num_key_value_heads": c["kv_heads"],
           "pretraining_tp": 1, "rms_norm_eps": 1e-5, "rope_scaling": None, "rope_theta": model.rope_theta,
           "tie_word_embeddings": True, "torch_dtype": "float32", "transformers_version": "4.43.0",
           "use_cache": True, "vocab_size": vocab}
    with open(os.path.join(hf_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    sd = {k: v for k, v in model.state_dict().items() if "lora_" not in k}
    encoders.write_safetensors(os.path.join(hf_dir, "model.safetensors"), sd, {"format": "pt"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    common.setup(args.threads)
    hf = os.path.join(common.RUNS, "hf")
    vocab, bos, eos = tokenizer.write(hf)
    tok = tokenizer.load(hf)
    train_sentences, _ = grid.split_sentences()
    torch.manual_seed(2)
    model = llm.Llama(common.LLM, vocab)
    for n, p in model.named_parameters():
        if p.dim() == 2:
            torch.nn.init.normal_(p, 0, 0.02)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.1)
    path = os.path.join(common.RUNS, "llm_pretrain.pt")
    step, spent = 0, 0.0
    if os.path.exists(path):
        ck = torch.load(path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, spent = ck["step"], ck["seconds"]
    prompts = [tok.encode(p) for p in common.PROMPTS.values()]
    rng = np.random.default_rng(step)
    start = time.time()
    while step < args.steps:
        lr = args.lr * min(1, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * step / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        seqs, labels = [], []
        for _ in range(args.batch):
            p = prompts[rng.integers(3)]
            s = tok.encode(train_sentences[rng.integers(len(train_sentences))]) + [eos]
            seqs.append([bos] + p + s)
            labels.append([-100] * (1 + len(p)) + s)
        T = max(map(len, seqs))
        ids = torch.tensor([s + [eos] * (T - len(s)) for s in seqs])
        lab = torch.tensor([l + [-100] * (T - len(l)) for l in labels])
        logits = model(model.model.embed_tokens(ids))
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), lab[:, 1:].reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 20 == 0 or step == args.steps:
            common.log("llm_pretrain", f"step {step} loss/token {loss.item():.3f} lr {lr:.2e}")
            common.save(path, dict(model=model.state_dict(), opt=opt.state_dict(), step=step,
                                   seconds=spent + time.time() - start))
    spent += time.time() - start
    write_hf(model, hf, vocab, bos, eos)
    # a sample: greedy continuation after BOS + the ASR prompt
    ids = [bos] + prompts[0]
    with torch.no_grad():
        for _ in range(10):
            nxt = int(model(model.model.embed_tokens(torch.tensor([ids])))[0, -1].argmax())
            if nxt == eos:
                break
            ids.append(nxt)
    common.log("llm_pretrain", f"done: vocab {vocab}, {spent:.0f} s; sample {tok.decode(ids[1 + len(prompts[0]):])!r}")


if __name__ == "__main__":
    main()
