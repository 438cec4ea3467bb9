#!/usr/bin/python3
"""Stage 6: writes the shipped model (Models/demo) in the authors' layout, ready for `edgeavsr-quantize pack`:

  llama_smop_<layout>.safetensors  one state dict: llm.* (Llama with the embedding/head grown by <pad> <audio>
                                   </audio> <video> </video>, LoRA lora_{down,up}_{Q,V}), the SMoP projector
                                   (dedr: audio_proj.* / video_proj.*; jejr: audiovisual_proj.*), audio_encoder.*
                                   (Whisper names) and video_encoder.* (AV-HuBERT names), float32
  train_config_<layout>.json       the authors' training arguments + smop-layout, waveform-normalization, and
                                   mel-frames (the log-mel window the audio encoder was trained on)
  hf/                              the base Llama: config.json, tokenizer.json, tokenizer_config.json, model.safetensors
  audio_encoder.onnx, video_encoder.onnx   via Models/encoders/export_encoder.py --checkpoint (opset 17)
  samples/*.mp4                    held-out test utterances (H.264 mouth video + AAC audio)

    /usr/bin/python3 Models/train/export.py [--layouts dedr,jejr] [--out Models/demo] [--samples 4]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

import common
import encoders
import train_smop


def train_config(layout):
    return {
        "modality": "audiovisual", "llm-model": "edgeavsr-demo/grid-llama-256x2", "audio-encoder-name": "edgeavsr-demo/whisper-64x3",
        "intermediate-size": common.INTERMEDIATE, "prompt-audio": common.PROMPTS["asr"],
        "prompt-video": common.PROMPTS["vsr"], "prompt-audiovisual": common.PROMPTS["avsr"], "add-PEFT-LLM": True,
        "rank": common.LORA_RANK, "alpha": common.LORA_ALPHA, "downsample-ratio-audio": common.POOL_AUDIO,
        "downsample-ratio-video": common.POOL_VIDEO, "max-dec-tokens": 16, "num-beams": 1,
        "MoP-experts": common.EXPERTS, "MoP-topk": common.TOP_K, "smop-layout": layout,
        "waveform-normalization": True, "mel-frames": common.MEL_FRAMES,
        "compression-mode": "avg-pooling", "tasks": ["asr", "vsr", "avsr"],
    }


def checkpoint_tensors(layout):
    model = train_smop.AvsrModel(layout, os.path.join(common.RUNS, "hf"))
    ck = torch.load(os.path.join(common.RUNS, f"smop_{layout}.pt"))
    model.load_state_dict(ck["model"])
    out = {}
    for k, v in model.state_dict().items():
        out[k] = v
    out["llm.lm_head.weight"] = out["llm.model.embed_tokens.weight"].clone()  # tied, as the authors' state dict holds it
    meta = {}
    for modality, prefix in (("audio", "audio_encoder."), ("video", "video_encoder.")):
        enc = torch.load(os.path.join(common.RUNS, f"{modality}_encoder.pt"))
        for k, v in enc["model"].items():
            out[prefix + k] = v
        meta[prefix + "heads"] = (common.AUDIO_ENC if modality == "audio" else common.VIDEO_ENC)["heads"]
    meta.update({"format": "pt", "source": "Models/train/export.py", "smop-layout": layout, "train-step": ck["step"]})
    return out, meta, ck


def write_clip(path, wave, frames):
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, "a.f32")
        wave.astype("<f4").tofile(wav)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", "96x96", "-r", "25",
                        "-i", "pipe:0", "-f", "f32le", "-ar", "16000", "-ac", "1", "-i", wav, "-c:v", "libx264",
                        "-pix_fmt", "yuv420p", "-crf", "18", "-c:a", "aac", "-b:a", "64k", "-shortest", path],
                       input=frames.tobytes(), check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layouts", default="dedr,jejr")
    ap.add_argument("--out", default=os.path.join(common.MODELS, "demo"))
    ap.add_argument("--samples", type=int, default=4)
    args = ap.parse_args()
    common.setup(1)
    os.makedirs(args.out, exist_ok=True)
    hf_out = os.path.join(args.out, "hf")
    shutil.rmtree(hf_out, ignore_errors=True)
    shutil.copytree(os.path.join(common.RUNS, "hf"), hf_out)
    info = {}
    for layout in args.layouts.split(","):
        if not os.path.exists(os.path.join(common.RUNS, f"smop_{layout}.pt")):
            continue
        tensors, meta, ck = checkpoint_tensors(layout)
        path = os.path.join(args.out, f"llama_smop_{layout}.safetensors")
        encoders.write_safetensors(path, tensors, meta)
        with open(os.path.join(args.out, f"train_config_{layout}.json"), "w") as f:
            json.dump(train_config(layout), f, indent=1)
        info[layout] = {"step": ck["step"], "seconds": ck["seconds"], "tensors": len(tensors)}
        print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)")
    first = os.path.join(args.out, f"llama_smop_{args.layouts.split(',')[0]}.safetensors")
    exporter = os.path.join(common.MODELS, "encoders", "export_encoder.py")
    for arch, name in (("whisper", "audio_encoder.onnx"), ("avhubert", "video_encoder.onnx")):
        subprocess.run([sys.executable, exporter, "export", "--arch", arch, "--checkpoint", first,
                        "--out", os.path.join(args.out, name)], check=True)
    if args.samples:
        sdir = os.path.join(args.out, "samples")
        os.makedirs(sdir, exist_ok=True)
        test, babble = common.Split("test"), common.Split("babble_test")
        rng = np.random.default_rng(11)
        for i in range(args.samples):
            wave = test.wave([i])
            tag = "clean"
            if i % 2 == 1:
                wave = common.mix(wave, test.speech([i]), 0, ["babble"], babble, rng)
                tag = "babble0dB"
            text = test.texts([i])[0].replace(" ", "_")
            write_clip(os.path.join(sdir, f"{i:02d}_{tag}_{text}.mp4"), wave[0].numpy() * 0.9 / max(1e-6, float(wave.abs().max())),
                       test.frames([i])[0].numpy())
    with open(os.path.join(common.RUNS, "export.json"), "w") as f:
        json.dump(info, f, indent=1)


if __name__ == "__main__":
    main()
