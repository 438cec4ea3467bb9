"""Shared pieces of the demo model's training: data access, noise, front-ends, model sizes, word vocabulary.

Front-ends are EXACTLY the product's: waveform layer norm (F.layer_norm over the window, eps 1e-8), the
Whisper log-mel of Models/reference/logmel_reference.py over a MEL_FRAMES window, and mouth crops /255,
centre crop 88 (random crop 88 in training), (x - 0.421) / 0.165.
"""
import glob
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
for sub in ("reference", "encoders", "data"):
    sys.path.insert(0, os.path.join(MODELS, sub))
import encoders  # noqa: E402
import grid  # noqa: E402
import logmel_reference  # noqa: E402

DATA = os.environ.get("EDGEAVSR_DATA", os.path.join(MODELS, "data", "cache"))
RUNS = os.environ.get("EDGEAVSR_RUNS", os.path.join(HERE, "runs"))
RATE, FPS = 16000, 25
MEL_FRAMES = 300                 # 3.0 s window: what the audio encoder sees (front_end.mel_frames)
N_SAMPLES = MEL_FRAMES * 160
N_VIDEO = 75
CROP, ROI, ROI_MEAN, ROI_STD = 96, 88, 0.421, 0.165
SNRS = ["clean", 10, 5, 0, -5]

AUDIO_ENC = dict(dim=128, layers=3, heads=4, ffn=512, n_ctx=MEL_FRAMES // 2)
VIDEO_ENC = dict(dim=64, layers=2, heads=1, ffn=256, resnet_width=4, conv_pos=16, conv_pos_groups=4)
LLM = dict(hidden=256, layers=2, heads=4, kv_heads=2, ffn=512)
POOL_AUDIO, POOL_VIDEO = 4, 2
INTERMEDIATE = 256
EXPERTS, TOP_K = 4, 2
LORA_RANK, LORA_ALPHA = 8, 1      # authors' meaning: inner width hidden / rank = 32, scale alpha / rank
PROMPTS = {"asr": "Transcribe speech to text.", "vsr": "Transcribe video to text.",
           "avsr": "Transcribe speech and video to text."}
WORDS = grid.WORDS
WORD_ID = {w: i + 1 for i, w in enumerate(WORDS)}  # CTC: 0 = blank


def setup(threads=2):
    torch.set_num_threads(threads)
    os.makedirs(RUNS, exist_ok=True)


def log(name, msg):
    import time
    line = f"{time.strftime('%H:%M:%S')} {msg}"
    print(line, flush=True)
    with open(os.path.join(RUNS, name + ".log"), "a") as f:
        f.write(line + "\n")


# ---------------------------------------------------------------- data

class Split:
    """One split of the generated data: memmapped audio/video plus the metadata of the rows generated so far
    (chunk markers, so training can start while generation continues)."""

    def __init__(self, name):
        self.name = name
        self.audio = np.load(os.path.join(DATA, f"{name}_audio.npy"), mmap_mode="r")
        vp = os.path.join(DATA, f"{name}_video.npy")
        self.video = np.load(vp, mmap_mode="r") if os.path.exists(vp) else None
        jl = os.path.join(DATA, f"{name}.jsonl")
        meta = []
        if os.path.exists(jl):
            with open(jl) as f:
                meta = [json.loads(l) for l in f]
        else:
            for path in sorted(glob.glob(os.path.join(DATA, "chunks", f"{name}_[0-9]*.json"))):
                with open(path) as f:
                    meta += json.load(f)
        self.meta = sorted(meta, key=lambda m: m["index"])
        self.index = np.array([m["index"] for m in self.meta], dtype=np.int64)

    def __len__(self):
        return len(self.meta)

    def wave(self, rows):
        return torch.from_numpy(np.stack([self.audio[self.index[r]] for r in rows]).astype(np.float32) / 32768.0)

    def frames(self, rows):
        return torch.from_numpy(np.stack([self.video[self.index[r]] for r in rows]))

    def texts(self, rows):
        return [self.meta[r]["text"] for r in rows]

    def speech(self, rows):
        return [self.meta[r]["speech_samples"] for r in rows]


def mix(wave, speech, snr, kind, babble, rng):
    """wave [B, N] speech at `speech` [(offset, count)] + noise at `snr` dB over the speech span.
    kind: 'babble' (sum of 4 utterances of the babble pool at random shifts) or 'white'."""
    if snr == "clean":
        return wave
    out = wave.clone()
    B, N = wave.shape
    for b in range(B):
        o, c = speech[b]
        p_s = float(wave[b, o:o + c].pow(2).mean()) + 1e-10
        if kind[b] == "white":
            noise = torch.from_numpy(rng.standard_normal(N).astype(np.float32))
        else:
            noise = torch.zeros(N)
            for _ in range(4):
                x = torch.from_numpy(babble.audio[rng.integers(len(babble.audio))].astype(np.float32) / 32768.0)
                noise += torch.roll(x, int(rng.integers(-N // 3, N // 3)))
        p_n = float(noise[o:o + c].pow(2).mean()) + 1e-10
        out[b] = wave[b] + noise * float(np.sqrt(p_s / p_n / 10 ** (snr / 10)))
    return out


def log_mel(wave):
    """[B, N] -> [B, 80, MEL_FRAMES]: waveform normalisation then the Whisper log-mel of the window."""
    x = F.layer_norm(wave, wave.shape[1:], eps=1e-8)
    return logmel_reference.log_mel_window(x, MEL_FRAMES)


def roi(frames, train=False, rng=None):
    """uint8 [B, T, 96, 96] -> [B, 1, T, 88, 88] normalised (random crop 88 in training, else the centre)."""
    x = frames.float() / 255.0
    if train:
        oy, ox = rng.integers(0, CROP - ROI + 1, size=2)
    else:
        oy = ox = (CROP - ROI) // 2
    x = x[:, :, oy:oy + ROI, ox:ox + ROI]
    return ((x - ROI_MEAN) / ROI_STD).unsqueeze(1)


# ---------------------------------------------------------------- encoders

def audio_encoder():
    return encoders.WhisperEncoder(**AUDIO_ENC)


def video_encoder():
    """AV-HuBERT-style; its 3-D conv front is a fixed filter bank (blur / dark / vertical and horizontal edges on the
    centre frame) that stays frozen: its backward pass dominates a CPU step, and these filters keep the mouth shape."""
    cfg = dict(VIDEO_ENC)
    m = encoders.AvHubertVideoEncoder(**cfg)
    conv = m.feature_extractor_video.resnet.frontend3D[0]
    with torch.no_grad():
        w = torch.zeros_like(conv.weight)
        yy, xx = torch.meshgrid(torch.arange(7.0) - 3, torch.arange(7.0) - 3, indexing="ij")
        g = torch.exp(-(xx ** 2 + yy ** 2) / 4.0)
        g = g / g.sum()
        w[0, 0, 2] = g
        w[1, 0, 2] = -g
        w[2, 0, 2] = yy * g * 2
        w[3, 0, 2] = xx * g * 2
        conv.weight.copy_(w)
    front = m.feature_extractor_video.resnet.frontend3D
    for p in front.parameters():
        p.requires_grad_(False)
    front.forward = lambda x, front=front: fast_frontend(front, x)
    return m


def fast_frontend(front, x):
    """frontend3D's exact output (eval mode) when only the centre temporal tap of the Conv3d is non-zero, as a
    per-frame 2-D conv (5x cheaper). Falls back to the module itself otherwise."""
    conv, bn, act, mp = front[0], front[1], front[2], front[3]
    w = conv.weight
    if bn.training or w[:, :, [0, 1, 3, 4]].abs().sum() > 0:
        return torch.nn.Sequential.forward(front, x)
    b, c, t, h, wd = x.shape
    y = F.conv2d(x.transpose(1, 2).reshape(b * t, c, h, wd), w[:, :, 2], stride=2, padding=3)
    y = (y - bn.running_mean[None, :, None, None]) / torch.sqrt(bn.running_var[None, :, None, None] + bn.eps)
    y = y * bn.weight[None, :, None, None] + bn.bias[None, :, None, None]
    y = F.max_pool2d(act(y), 3, 2, 1)
    return y.view(b, t, *y.shape[1:]).transpose(1, 2)


def ctc_words(texts):
    targets = [torch.tensor([WORD_ID[w] for w in t.split()]) for t in texts]
    return torch.cat(targets), torch.tensor([len(t) for t in targets])


def greedy_ctc(logits):
    """[B, T, C] -> list of word strings."""
    out = []
    for row in logits.argmax(-1).tolist():
        words, prev = [], 0
        for c in row:
            if c != prev and c != 0:
                words.append(WORDS[c - 1])
            prev = c
        out.append(" ".join(words))
    return out


def wer(refs, hyps):
    errs = total = 0
    for r, h in zip(refs, hyps):
        r, h = r.split(), h.split()
        d = list(range(len(h) + 1))
        for i in range(1, len(r) + 1):
            prev, d[0] = d[0], i
            for j in range(1, len(h) + 1):
                cur = d[j]
                d[j] = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
                prev = cur
        errs += d[len(h)]
        total += len(r)
    return errs / max(1, total)


def save(path, obj):
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)
