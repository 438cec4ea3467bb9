#!/usr/bin/python3
"""What x86 AVX2 without VNNI would do to the INT8 encoders: ORT's u8 x s8 kernels there multiply with vpmaddubsw,
which adds two adjacent u8*s8 products with int16 saturation. Emulated in numpy on real Whisper-medium activations
(seeded weights as export_encoder.py makes them) for 8-bit and 7-bit per-channel weights; one JSON line per layer.

  u8s8_saturation.py MEL.npy   (MEL: `edgeavsr features --audio CLIP --out MEL.npy`, float32 [80, 3000])
"""
import json
import os
import sys
import numpy as np, torch
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import encoders
mel = np.load(sys.argv[1]).astype(np.float32).reshape(1, 80, 3000)
cfg = dict(encoders.SIZES["whisper"]["medium"])
torch.manual_seed(0)
model = encoders.randomize(encoders.build("whisper", **cfg), 0).eval()
captured = {}
layers = [0, 12, 23]
def hook(name):
    def f(mod, inp, out):
        captured[name] = (inp[0][0].detach().numpy().copy(), mod.weight.detach().numpy().copy())
    return f
for l in layers:
    model.layers[l].fc2.register_forward_hook(hook(f"layers.{l}.fc2"))
    model.layers[l].self_attn.q_proj.register_forward_hook(hook(f"layers.{l}.q_proj"))
torch.set_num_threads(1)
with torch.no_grad():
    model(torch.from_numpy(mel))
rng = np.random.default_rng(0)
out = []
for name, (x, w) in captured.items():
    rows = rng.choice(x.shape[0], 96, replace=False)
    x = x[rows]
    sx = np.abs(x).max() / 127
    qx = np.clip(np.round(x / sx), -127, 127).astype(np.int32)
    u8 = qx + 128
    ref = x.astype(np.float64) @ w.T.astype(np.float64)
    for bits in (8, 7):
        qmax = 2 ** (bits - 1) - 1
        sw = np.abs(w).max(axis=1) / qmax
        qw = np.clip(np.round(w / sw[:, None]), -qmax, qmax).astype(np.int32)   # [out, K]
        exact = qx.astype(np.int64) @ qw.T.astype(np.int64)
        k = qx.shape[1]
        sat = np.zeros_like(exact)
        saturated = 0
        for r in range(u8.shape[0]):
            p = u8[r][None, :] * qw                      # [out, K]
            pairs = p[:, 0::2] + p[:, 1::2]              # [out, K/2]
            saturated += int(((pairs > 32767) | (pairs < -32768)).sum())
            sat[r] = np.clip(pairs, -32768, 32767).sum(axis=1) - 128 * qw.sum(axis=1)
        scale = sx * sw[None, :]
        y_exact, y_sat = exact * scale, sat * scale
        rel = lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(b))
        out.append({"layer": name, "bits": bits, "K": k, "pairs_saturated": saturated / (u8.shape[0] * qw.shape[0] * k // 2),
                    "int8_vs_fp32": rel(y_exact, ref), "saturating_vs_fp32": rel(y_sat, ref), "saturating_vs_exact": rel(y_sat, y_exact)})
        print(json.dumps(out[-1]), flush=True)
