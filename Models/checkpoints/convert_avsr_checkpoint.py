#!/usr/bin/python3
"""Convert a Llama-AVSR / Llama-SMoP PyTorch checkpoint (.pth / .ckpt) to safetensors.

The authors save one state dict holding the LLM ("llm." prefix, embedding table already resized for
<pad>, <audio>, </audio>, <video>, </video>), its LoRA (lora_{down,up}_{Q,V}), the projectors and the
frozen encoders. `edgeavsr-quantize llm --checkpoint OUT.safetensors --hf BASE_DIR --train-config CFG`
reads the result. Every tensor is kept (names and dtypes unchanged: bf16 stays bf16), so the projector
can be read from the same file.

  convert_avsr_checkpoint.py CKPT.pth OUT.safetensors [--only-llm]

Accepted layouts: a plain state dict; {"state_dict": ...} (Lightning); {"model": ...}. A leading "model."
(the Lightning module attribute) is removed when the LLM keys sit under "model.llm.".
Writes safetensors itself (no safetensors package on Debian): 8-byte header length, JSON, raw data;
the output appears only when complete (temp file + rename). Run with /usr/bin/python3 (Debian's torch).
"""
import argparse
import json
import os
import struct
import sys

import torch

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
    torch.bool: "BOOL",
}


def fail(message):
    print(f"convert_avsr_checkpoint: {message}", file=sys.stderr)
    sys.exit(2)


def load_state_dict(path):
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - any load failure is a bad input file
        fail(f"{path}: cannot load as a PyTorch checkpoint: {e}")
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict) and not torch.is_tensor(obj[key]):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj:
        fail(f"{path}: expected a state dict of tensors")
    tensors = {k: v for k, v in obj.items() if torch.is_tensor(v)}
    if not any(k.startswith("llm.") for k in tensors) and any(k.startswith("model.llm.") for k in tensors):
        tensors = {(k[len("model."):] if k.startswith("model.") else k): v for k, v in tensors.items()}
    if not any(k.startswith("llm.") for k in tensors):
        fail(f"{path}: no 'llm.' tensors; is this a Llama-AVSR checkpoint?")
    return tensors


def write_safetensors(path, tensors):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in DTYPES:
            fail(f"tensor '{name}' has unsupported dtype {t.dtype}")
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype == torch.bfloat16 else t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "source": "convert_avsr_checkpoint.py"}
    data = json.dumps(header, separators=(",", ":")).encode("utf-8")
    data += b" " * ((8 - len(data) % 8) % 8)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(data)))
            f.write(data)
            for raw in blobs:
                f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("output")
    parser.add_argument("--only-llm", action="store_true", help="keep only the 'llm.' tensors")
    args = parser.parse_args()
    tensors = load_state_dict(args.checkpoint)
    if args.only_llm:
        tensors = {k: v for k, v in tensors.items() if k.startswith("llm.")}
    write_safetensors(args.output, tensors)
    n_llm = sum(1 for k in tensors if k.startswith("llm."))
    print(f"wrote {args.output}: {len(tensors)} tensors ({n_llm} under llm.)")


if __name__ == "__main__":
    main()
