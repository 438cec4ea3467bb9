#!/usr/bin/python3
"""Export Llama-SMoP's encoders to ONNX (Debian torch 1.13 + onnx 1.12; run with /usr/bin/python3).

  export_encoder.py export --arch whisper|avhubert [--size tiny|medium|large] [--seed N] [--checkpoint CKPT.safetensors]
                           [--save-weights W.safetensors] [--check-input X.npy --check-output Y.npy] --out ENC.onnx
  export_encoder.py bench  --arch whisper|avhubert --size ... [--frames T] [--threads N] [--reps R]   (one JSON line)

Inputs/outputs of the ONNX graphs (what `edgeavsr encode` expects):
  whisper : input_features float32 [1, 80, 3000]   -> last_hidden_state float32 [1, 1500, D]
            (an encoder trained on a shorter window, e.g. the demo model's: [1, 80, M] -> [1, M/2, D], M = 2 x its
            embed_positions rows; the pack records M as front_end.mel_frames)
  avhubert: video          float32 [1, 1, T, 88, 88] (T dynamic) -> last_hidden_state float32 [1, T, D]
Without --checkpoint the weights are seeded random (sizes: see encoders.SIZES; `tiny` for tests, `medium`/`large`
are Whisper-medium and AV-HuBERT Large, 1024 x 24). With --checkpoint the sizes come from the tensors under
audio_encoder.* / video_encoder.*. --save-weights writes the weights used, under that prefix (safetensors).
--check-input runs the PyTorch module on X.npy ([80,3000] or [T,88,88] reshaped like the runtime does) and saves
its output to --check-output.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import encoders  # noqa: E402

DEFAULT_SIZE = {"whisper": "medium", "avhubert": "large"}


def make_model(args):
    if args.checkpoint:
        model, cfg = encoders.load_checkpoint(args.arch, args.checkpoint, args.heads)
    else:
        size = args.size or DEFAULT_SIZE[args.arch]
        if size not in encoders.SIZES[args.arch]:
            raise SystemExit(f"--size {size}: {args.arch} sizes are {', '.join(encoders.SIZES[args.arch])}")
        cfg = dict(encoders.SIZES[args.arch][size])
        torch.manual_seed(args.seed)
        model = encoders.randomize(encoders.build(args.arch, **cfg), args.seed)
    return model, cfg


def mel_frames(model):
    """Log-mel frames the Whisper encoder takes: 3000 (30 s), or 2 x its positions when trained on a shorter window."""
    return 2 * model.embed_positions.weight.shape[0]


def shaped(arch, x, model=None):
    if arch == "whisper":
        return x.reshape(1, 80, mel_frames(model) if model is not None else 3000)
    return x.reshape(1, 1, -1, 88, 88)


def export(args):
    model, cfg = make_model(args)
    if args.save_weights:
        prefix = encoders.PREFIX[args.arch]
        encoders.write_safetensors(args.save_weights, {prefix + k: v for k, v in model.state_dict().items()},
                                   {prefix + "heads": cfg["heads"]})
    if args.arch == "whisper":
        dummy, names, axes = torch.zeros(1, 80, mel_frames(model)), ["input_features"], None
    else:
        dummy, names = torch.zeros(1, 1, 5, 88, 88), ["video"]
        axes = {"video": {2: "frames"}, "last_hidden_state": {1: "frames"}}
    with torch.no_grad():
        torch.onnx.export(model, (dummy,), args.out, input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=axes, opset_version=17, do_constant_folding=True)
    if args.check_input:
        x = torch.from_numpy(np.load(args.check_input).astype(np.float32))
        with torch.no_grad():
            y = model(shaped(args.arch, x, model))
        np.save(args.check_output, y.numpy().astype(np.float32))
    print(json.dumps({"arch": args.arch, "config": cfg, "out": args.out,
                      "parameters": sum(p.numel() for p in model.parameters())}))


def bench(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    model, cfg = make_model(args)
    if args.input:
        x = shaped(args.arch, torch.from_numpy(np.load(args.input).astype(np.float32)), model if args.arch == "whisper" else None)
    else:
        g = torch.Generator().manual_seed(1)
        x = torch.randn(1, 80, mel_frames(model), generator=g) if args.arch == "whisper" else torch.rand(1, 1, args.frames, 88, 88, generator=g)
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(args.reps):
            t0 = time.perf_counter()
            y = model(x)
            times.append((time.perf_counter() - t0) * 1000)
    if args.output:
        np.save(args.output, y.numpy())
    times.sort()
    print(json.dumps({"ms": times[len(times) // 2], "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "blas": blas_library(), "config": cfg}))


def blas_library():
    """The BLAS library torch actually loaded (Debian's torch is built BLAS_INFO=generic against libblas.so.3, which
    the alternatives system points at OpenBLAS when libopenblas0-pthread is installed)."""
    with open("/proc/self/maps") as f:
        libs = sorted({os.path.basename(l.split()[-1]) for l in f if "blas" in l.lower()})
    return ", ".join(libs) or "none found"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("export", "bench"):
        p = sub.add_parser(name)
        p.add_argument("--arch", choices=["whisper", "avhubert"], required=True)
        p.add_argument("--size")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--checkpoint")
        p.add_argument("--heads", type=int)
        if name == "export":
            p.add_argument("--out", required=True)
            p.add_argument("--save-weights")
            p.add_argument("--check-input")
            p.add_argument("--check-output")
        else:
            p.add_argument("--frames", type=int, default=125)
            p.add_argument("--threads", type=int, default=0)
            p.add_argument("--reps", type=int, default=3)
            p.add_argument("--input")
            p.add_argument("--output")
    args = ap.parse_args()
    export(args) if args.cmd == "export" else bench(args)


if __name__ == "__main__":
    main()
