#!/usr/bin/python3
"""Stage 4: SMoP projector + LoRA (Q, V) on the frozen pretrained Llama, on the cached encoder features.

One model for ASR, VSR and AVSR: each sample's task is drawn (modality dropout: AVSR 50%, ASR 25%, VSR 25%)
and its sequence is the authors' layout [BOS] <audio> A </audio> <video> V </video> prompt transcript [EOS]
(a dropped modality's block is left out, as at inference). The audio version (clean or noisy) is drawn per
sample. Loss: next-token cross-entropy on the transcript + 0.01 load balancing + 0.001 router z-loss (the
authors' coefficients). AdamW (0.9, 0.98), weight decay 0.1, warmup then cosine. Resumable.

    nice -n 10 /usr/bin/python3 Models/train/train_smop.py --layout dedr --steps 1500
    nice -n 10 /usr/bin/python3 Models/train/train_smop.py --layout jejr --steps 1500
"""
import argparse
import glob
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import common
import encoders
import llm
import tokenizer

AVSR_TOKENS = ["<pad>", "<audio>", "</audio>", "<video>", "</video>"]
TASK_P = {"avsr": 0.5, "asr": 0.25, "vsr": 0.25}


class AvsrModel(torch.nn.Module):
    """Attribute names = the authors' checkpoint prefixes: llm.*, audio_proj/video_proj (dedr) or
    audiovisual_proj (jejr)."""

    def __init__(self, layout, hf):
        super().__init__()
        self.tok = tokenizer.load(hf)
        self.special = {t: self.tok.add(t) for t in AVSR_TOKENS}
        base = encoders.read_safetensors(os.path.join(hf, "model.safetensors"))
        import json
        with open(os.path.join(hf, "config.json")) as f:
            cfg = json.load(f)
        self.bos, self.eos = cfg["bos_token_id"], cfg["eos_token_id"]
        self.base_vocab = cfg["vocab_size"]
        h = common.LLM["hidden"]
        self.llm = llm.Llama(common.LLM, self.base_vocab + len(AVSR_TOKENS), lora_inner=round(h / common.LORA_RANK),
                             lora_scale=common.LORA_ALPHA / common.LORA_RANK, rope_theta=cfg["rope_theta"])
        sd = self.llm.state_dict()
        with torch.no_grad():
            for k, v in base.items():
                if k == "model.embed_tokens.weight":
                    sd[k][:self.base_vocab] = v
                    sd[k][self.base_vocab:] = v.mean(0) + 0.02 * torch.randn(len(AVSR_TOKENS), h)
                else:
                    sd[k].copy_(v)
        self.llm.load_state_dict(sd)
        for n, p in self.llm.named_parameters():
            p.requires_grad_("lora_" in n or n == "model.embed_tokens.weight")
        base_rows = self.base_vocab
        self.llm.model.embed_tokens.weight.register_hook(
            lambda g: torch.cat([torch.zeros_like(g[:base_rows]), g[base_rows:]]))
        d_a, d_v = common.AUDIO_ENC["dim"], common.VIDEO_ENC["dim"]
        smop = llm.SMoP(layout, d_a, d_v, common.INTERMEDIATE, h)
        self.layout = layout
        for name, mod in smop.named_children():
            self.add_module(name, mod)
        self.smop = [smop]  # not a submodule (its children are registered above under the authors' names)
        self.prompts = {t: self.tok.encode(p) for t, p in common.PROMPTS.items()}

    def embed(self, ids):
        return self.llm.model.embed_tokens(torch.as_tensor(ids, dtype=torch.long))

    def prefix(self, task, audio, video):
        """-> ([B, T, h] prefix embeddings, router logits); audio/video: pooled features [B, 37, D] (float)."""
        use_a, use_v = task != "vsr", task != "asr"
        outs, logits = self.smop[0](audio if use_a else None, video if use_v else None)
        B = (audio if use_a else video).shape[0]
        e = lambda t: self.embed([self.special[t]]).expand(B, 1, -1)
        parts = [self.embed([self.bos]).expand(B, 1, -1)]
        if use_a:
            parts += [e("<audio>"), outs["audio"], e("</audio>")]
        if use_v:
            parts += [e("<video>"), outs["video"], e("</video>")]
        parts.append(self.embed(self.prompts[task]).unsqueeze(0).expand(B, -1, -1))
        return torch.cat(parts, 1), logits

    def loss(self, task, audio, video, texts):
        pre, logits = self.prefix(task, audio, video)
        targets = [self.tok.encode(t) + [self.eos] for t in texts]
        L = max(map(len, targets))
        ids = torch.tensor([t + [self.eos] * (L - len(t)) for t in targets])
        lab = torch.tensor([t + [-100] * (L - len(t)) for t in targets])
        x = torch.cat([pre, self.embed(ids)], 1)
        out = self.llm(x)[:, pre.shape[1] - 1:-1]
        ce = F.cross_entropy(out.reshape(-1, out.shape[-1]), lab.reshape(-1), ignore_index=-100)
        lb, z = llm.aux_losses(logits)
        return ce, lb, z

    @torch.no_grad()
    def greedy(self, task, audio, video, max_new=12):
        """Batched greedy decoding with a key/value cache -> list of strings."""
        pre, _ = self.prefix(task, audio, video)
        B = pre.shape[0]
        m = self.llm
        cos, sin = m.rope(pre.shape[1] + max_new)
        cache = [None] * len(m.model.layers)
        x, pos = pre, 0
        done = torch.zeros(B, dtype=torch.bool)
        out = [[] for _ in range(B)]
        for step in range(max_new):
            t = x.shape[1]
            c, s = cos[pos:pos + t], sin[pos:pos + t]
            mask = torch.full((t, pos + t), float("-inf")).triu(pos + 1)
            h = x
            for i, layer in enumerate(m.model.layers):
                a = layer.self_attn
                y = layer.input_layernorm(h)
                q, k, v = a.q_proj(y), a.k_proj(y), a.v_proj(y)
                q = q + a.lora_up_Q(a.lora_down_Q(y)) * a.lora_scale
                v = v + a.lora_up_V(a.lora_down_V(y)) * a.lora_scale
                q = q.view(B, t, a.heads, a.hd).transpose(1, 2)
                k = k.view(B, t, a.kv, a.hd).transpose(1, 2)
                v = v.view(B, t, a.kv, a.hd).transpose(1, 2)
                q = q * c + llm.rotate_half(q) * s
                k = k * c + llm.rotate_half(k) * s
                if cache[i] is not None:
                    k = torch.cat([cache[i][0], k], 2)
                    v = torch.cat([cache[i][1], v], 2)
                cache[i] = (k, v)
                g = a.heads // a.kv
                att = torch.softmax(q @ k.repeat_interleave(g, 1).transpose(-1, -2) / a.hd ** 0.5 + mask, -1)
                o = (att @ v.repeat_interleave(g, 1)).transpose(1, 2).reshape(B, t, -1)
                h = h + a.o_proj(o)
                h = h + layer.mlp(layer.post_attention_layernorm(h))
            logits = m.model.norm(h[:, -1]) @ m.model.embed_tokens.weight.T
            nxt = logits.argmax(-1)
            for b in range(B):
                if not done[b]:
                    if int(nxt[b]) == self.eos:
                        done[b] = True
                    else:
                        out[b].append(int(nxt[b]))
            if bool(done.all()):
                break
            pos += t
            x = self.embed(nxt).unsqueeze(1)
        skip = set(self.tok.added.values())
        return [self.tok.decode(o, skip=skip).strip() for o in out]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", choices=["dedr", "jejr"], required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=1e9)
    args = ap.parse_args()
    common.setup(args.threads)
    name = f"smop_{args.layout}"
    path = os.path.join(common.RUNS, name + ".pt")
    torch.manual_seed(3)
    model = AvsrModel(args.layout, os.path.join(common.RUNS, "hf"))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.1)
    step, spent = 0, 0.0
    if os.path.exists(path):
        ck = torch.load(path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step, spent = ck["step"], ck["seconds"]
        common.log(name, f"resumed at step {step}")
    shards = [torch.load(p) for p in sorted(glob.glob(os.path.join(common.RUNS, "cache_train_*of*.pt")))]
    A = torch.cat([c["audio"] for c in shards])
    V = torch.cat([c["video"] for c in shards])
    texts = [t for c in shards for t in c["texts"]]
    common.log(name, f"{len(texts)} cached training utterances")
    test = torch.load(os.path.join(common.RUNS, "cache_test.pt"))
    rng = np.random.default_rng(step + 7)
    start = t0 = time.time()
    tasks = list(TASK_P)
    while step < args.steps and time.time() - start < args.seconds:
        lr = args.lr * min(1, (step + 1) / 100) * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * step / args.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        task = tasks[rng.choice(3, p=[TASK_P[t] for t in tasks])]
        rows = rng.integers(len(texts), size=args.batch)
        ver = rng.integers(A.shape[1], size=args.batch)
        a = A[rows, ver].float()
        v = V[rows].float()
        ce, lb, z = model.loss(task, a, v, [texts[r] for r in rows])
        loss = ce + 0.01 * lb + 0.001 * z
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
        step += 1
        if step % 20 == 0:
            common.log(name, f"step {step} {task} ce {ce.item():.3f} lb {lb.item():.3f} z {z.item():.2f} lr {lr:.2e} {(time.time() - t0) / 20:.2f} s/step")
            t0 = time.time()
        if step % 50 == 0 or step == args.steps:
            common.save(path, dict(model=model.state_dict(), opt=opt.state_dict(), step=step,
                                   seconds=spent + time.time() - start, layout=args.layout))
        if step % 200 == 0:
            rows = np.arange(48)
            model.eval()
            for task, key in (("asr", ("babble", "clean")), ("vsr", None), ("avsr", ("babble", 0)), ("asr", ("babble", 0))):
                a = test["audio"][("babble", "clean") if key is None else key][rows].float()
                hyp = model.greedy(task, a, test["video"][rows].float())
                common.log(name, f"step {step} quick {task} {key} WER {common.wer([test['texts'][r] for r in rows], hyp):.3f} e.g. {hyp[0]!r}")
            model.train()
    common.save(path, dict(model=model.state_dict(), opt=opt.state_dict(), step=step,
                           seconds=spent + time.time() - start, layout=args.layout))
    common.log(name, f"stopped at step {step}, {spent + time.time() - start:.0f} s in all")


if __name__ == "__main__":
    main()
