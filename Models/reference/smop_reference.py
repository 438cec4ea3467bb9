#!/usr/bin/python3
"""PyTorch reference for EdgeAvsr's SMoP projector.

The module follows the authors' public Top_K_MoE (Dr-SHAP-AV, scripts/modeling_LlamaSMoP.py):
router Linear(D, E, bias=False); softmax over all experts in float32; top-k, renormalised;
Mixtral-style loop that runs each expert on the tokens routed to it and index_add_s the weighted
result. Expert = Linear(D, I) -> ReLU -> Linear(I, d) -> LayerNorm(d). Pooling is nn.AvgPool1d(K).

  run:   smop_reference.py run --weights W --layout dedr --top-k 2 [--audio A.npy] [--video V.npy]
                           [--audio-pool 4] [--video-pool 2] [--dtype float32|float64] --out DIR
  bench: smop_reference.py bench --tokens 250 [--threads 0] [--reps 7]   (prints one JSON line)
         ... bench --tokens 250 --serve: prints a JSON "ready" line, then times one call per stdin line

Reads safetensors itself (no safetensors package on Debian): JSON header + raw little-endian data.
Run it with /usr/bin/python3 (Debian's torch).
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[base + begin:base + end]
        shape = info["shape"]
        dt = info["dtype"]
        if dt == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float64)
        elif dt == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float64)
        elif dt == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view("<f4").astype(np.float64)
        elif dt == "I8":
            arr = np.frombuffer(raw, dtype="i1").astype(np.float64)
        else:
            raise SystemExit(f"{path}: tensor {name}: dtype {dt} not handled by the reference")
        tensors[name] = arr.reshape(shape)
    return tensors, header.get("__metadata__", {})


class TopKMoE(nn.Module):
    def __init__(self, num_experts, top_k, in_dim, inter_dim, out_dim, gate=None):
        super().__init__()
        self.top_k = top_k
        self.num_experts = num_experts
        self.gate = gate if gate is not None else nn.Linear(in_dim, num_experts, bias=False)
        self.experts = nn.ModuleList([
            nn.Sequential(nn.Linear(in_dim, inter_dim), nn.ReLU(), nn.Linear(inter_dim, out_dim), nn.LayerNorm(out_dim))
            for _ in range(num_experts)])
        self.out_dim = out_dim

    def forward(self, h):
        b, t, d = h.shape
        x = h.reshape(-1, d)
        logits = self.gate(x)
        w = F.softmax(logits, dim=1, dtype=torch.float)
        w, idx = torch.topk(w, self.top_k, dim=-1)
        w = w / w.sum(dim=-1, keepdim=True)
        w = w.to(x.dtype)
        out = torch.zeros((b * t, self.out_dim), dtype=x.dtype)
        mask = F.one_hot(idx, num_classes=self.num_experts).permute(2, 1, 0)
        for e in range(self.num_experts):
            slot, token = torch.where(mask[e])
            if token.numel() == 0:
                continue
            y = self.experts[e](x[token]) * w[token, slot, None]
            out.index_add_(0, token, y)
        return out.reshape(b, t, self.out_dim), idx


def load_moe(tensors, prefix, top_k, dtype, gate_key=None, int8=False):
    gate_w = tensors[gate_key or prefix + "gate.weight"]
    e, d = gate_w.shape
    up = dequant(tensors, f"{prefix}experts.0.0", int8)
    down = dequant(tensors, f"{prefix}experts.0.2", int8)
    moe = TopKMoE(e, top_k, d, up.shape[0], down.shape[0])
    with torch.no_grad():
        moe.gate.weight.copy_(torch.from_numpy(gate_w))
        for i in range(e):
            p = f"{prefix}experts.{i}."
            seq = moe.experts[i]
            seq[0].weight.copy_(torch.from_numpy(dequant(tensors, p + "0", int8)))
            seq[0].bias.copy_(torch.from_numpy(tensors[p + "0.bias"]))
            seq[2].weight.copy_(torch.from_numpy(dequant(tensors, p + "2", int8)))
            seq[2].bias.copy_(torch.from_numpy(tensors[p + "2.bias"]))
            seq[3].weight.copy_(torch.from_numpy(tensors[p + "3.weight"]))
            seq[3].bias.copy_(torch.from_numpy(tensors[p + "3.bias"]))
    return moe.to(dtype)


def dequant(tensors, key, int8):
    w = tensors[key + ".weight"]
    if int8:
        w = w * tensors[key + ".weight_scale"][:, None]
    return w


def pool(x, k):
    """x: [T, D] (numpy array or tensor) -> AvgPool1d(k) over time."""
    t = torch.as_tensor(x).T.unsqueeze(0)
    return nn.AvgPool1d(k)(t).squeeze(0).T.contiguous()


def project(tensors, layout, top_k, feats, dtype, int8=False):
    """feats: {'audio'|'video': [T', D] pooled} -> {modality: ([T', d], expert ids [T', k])} (the authors' Top_K_MoE).
    jejr runs one mixture over the modalities' tokens concatenated; dedr / dejr one mixture per modality."""
    out = {}
    with torch.no_grad():
        if layout == "jejr":
            moe = load_moe(tensors, "audiovisual_proj.", top_k, dtype, int8=int8)
            names = list(feats)
            y, idx = moe(torch.cat([feats[n] for n in names], dim=0).unsqueeze(0))
            start = 0
            for n in names:
                t = feats[n].shape[0]
                out[n] = (y[0, start:start + t], idx[start:start + t])
                start += t
        else:
            for n, x in feats.items():
                prefix = "audio_proj." if n == "audio" else "video_proj."
                gate_key = "av_router.weight" if layout == "dejr" else None
                moe = load_moe(tensors, prefix, top_k, dtype, gate_key=gate_key, int8=int8)
                y, idx = moe(x.unsqueeze(0))
                out[n] = (y[0], idx)
    return out


def load_features(path):
    a = np.load(path)
    if a.ndim == 3:
        a = a[0]
    return a.astype(np.float64)


def run(args):
    tensors, meta = read_safetensors(args.weights)
    int8 = meta.get("format") == "edgeavsr.smop.int8"
    dtype = torch.float64 if args.dtype == "float64" else torch.float32
    feats = {}
    if args.audio:
        feats["audio"] = pool(load_features(args.audio), args.audio_pool).to(dtype)
    if args.video:
        feats["video"] = pool(load_features(args.video), args.video_pool).to(dtype)
    outputs = project(tensors, args.layout, args.top_k, feats, dtype, int8=int8)
    os.makedirs(args.out, exist_ok=True)
    for n, (y, idx) in outputs.items():
        np.save(os.path.join(args.out, f"{n}_tokens.npy"), y.numpy().astype(np.float64))
        np.save(os.path.join(args.out, f"experts_{n}.npy"), idx.numpy().astype(np.int32))


def bench(args):
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    moe = TopKMoE(args.experts, args.top_k, args.dim, args.inter, args.out_dim).eval()
    x = torch.randn(1, args.tokens, args.dim)
    times = []
    with torch.no_grad():
        for _ in range(2):
            moe(x)
        if args.serve:
            serve(moe, x)
            return
        for _ in range(args.reps):
            t0 = time.perf_counter()
            moe(x)
            times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(json.dumps({"tokens": args.tokens, "threads": torch.get_num_threads(), "median_ms": times[len(times) // 2],
                      "min_ms": times[0], "torch": torch.__version__, "blas": blas_name()}))


def serve(moe, x):
    """One timed call per line read from stdin, its milliseconds printed back: lets the caller interleave this
    peer rep by rep with its own cases, so both see the same machine load."""
    print(json.dumps({"ready": True, "threads": torch.get_num_threads(), "torch": torch.__version__, "blas": blas_name()}), flush=True)
    for _ in sys.stdin:
        t0 = time.perf_counter()
        moe(x)
        print(f"{(time.perf_counter() - t0) * 1000:.4f}", flush=True)


def blas_name():
    """The BLAS library actually mapped into this process (Debian's alternatives pick it at run time)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {l.split()[-1] for l in f if "blas" in l.lower()}
        found = ",".join(sorted({os.path.basename(os.path.realpath(p)) for p in libs if "libblas" in p or "openblas" in p}))
        if found:
            return found
    except OSError:
        pass
    return "unknown"


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--weights", required=True)
    r.add_argument("--layout", required=True, choices=["jejr", "dejr", "dedr"])
    r.add_argument("--top-k", type=int, required=True)
    r.add_argument("--audio")
    r.add_argument("--video")
    r.add_argument("--audio-pool", type=int, default=4)
    r.add_argument("--video-pool", type=int, default=2)
    r.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    r.add_argument("--out", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--tokens", type=int, default=250)
    b.add_argument("--threads", type=int, default=0)
    b.add_argument("--reps", type=int, default=7)
    b.add_argument("--serve", action="store_true", help="time one call per stdin line (see serve())")
    b.add_argument("--experts", type=int, default=4)
    b.add_argument("--top-k", type=int, default=2)
    b.add_argument("--dim", type=int, default=1024)
    b.add_argument("--inter", type=int, default=2048)
    b.add_argument("--out-dim", type=int, default=2048)
    args = p.parse_args()
    run(args) if args.cmd == "run" else bench(args)


if __name__ == "__main__":
    main()
