#!/usr/bin/python3
"""PyTorch end-to-end reference for EdgeAvsr's transcription of one segment (Debian's /usr/bin/python3).

It reads the SAME sources a pack is built from (the Llama-SMoP checkpoint .safetensors, the training-arguments
JSON, the Hugging Face base directory) and the media, and runs every stage itself in float64 (float32 with
--dtype float32):

  media      ffmpeg decodes the audio track to float32 at its own rate (channels averaged here) and, if that rate is
             not 16 kHz, torchaudio resamples it (Kaiser sinc: 48 zero crossings, rolloff 0.94, beta 9); the video
             to 25 fps 8-bit gray (ffmpeg fps=25, scale to 96x96 bilinear only if the clip is another size).
  segment    the sample range [first, count) at 16 kHz and the frame range [first, count) at 25 fps: given, read
             from `edgeavsr transcribe --format json` (--segment-json), or the whole streams.
  front-ends waveform layer norm F.layer_norm(x, x.shape, eps=1e-8) when the train config says
             `waveform-normalization`; Whisper log-mel 80 x 3000 (Models/reference/logmel_reference.py);
             mouth crops: /255, centre crop 88, (x - 0.421) / 0.165.
  encoders   Models/encoders/encoders.py modules loaded from the checkpoint's audio_encoder.* / video_encoder.*;
             audio states cut to max(int(samples / 16000 * 50), 25) (the authors' rule).
  pooling    nn.AvgPool1d(downsample-ratio-audio / -video).
  SMoP       Models/reference/smop_reference.py (the authors' Top_K_MoE) with `smop-layout`, `MoP-topk`.
  Llama      written here from the HF config: embeddings, RMSNorm, rotate-half RoPE (rope_theta, llama3
             rope_scaling when present), grouped-query attention with a causal mask and a key/value cache, SwiGLU MLP, final norm, LM head;
             the checkpoint's llm.* weights (HF base weights for any key the checkpoint lacks), and the LoRA on Q and
             V applied as the authors' Llama_LoRA does: q += up_Q(down_Q(x)) * alpha / rank, v likewise, where
             `rank` is the reduction factor (inner width round(hidden / rank)).
  prompt     [BOS] <audio> A </audio> <video> V </video> tokenize(prompt) with the HF tokenizer.json (byte-level
             BPE, its Split regex via the `regex` module); <pad> <audio> </audio> <video> </video> are appended to
             the vocabulary in that order, as the authors' add_special_tokens does.
  decoding   greedy, up to --max-new-tokens (default: the train config's max-dec-tokens), stopping at the config's
             eos_token_id(s) and the tokenizer's <|eot_id|> / <|eom_id|> when present (llama.cpp's end-of-generation
             set for Llama 3, which EdgeAvsr uses); --stop eos stops at eos_token_id only, as the authors' generate.

  avsr_reference.py --checkpoint CKPT.safetensors --train-config TRAIN.json --hf HF_DIR
                    (--input CLIP | --audio A [--video V] | --video V) [--task auto|avsr|asr|vsr]
                    [--segment-json TRANSCRIBE.json [--segment I] | --audio-samples FIRST COUNT --video-frames FIRST COUNT]
                    [--max-new-tokens N] [--stop eog|eos] [--first-logits LOGITS.npy] [--dump DIR]
                    [--jobs JOBS.json] [--dtype float64|float32] [--threads N] [--out RESULT.json]

--jobs runs several (task, segment) jobs over the sources loaded once (media decoded and encoder states computed
once per range): a JSON list of objects with the keys task, segment_json, segment, audio_samples, video_frames,
max_new_tokens, first_logits, dump, and optionally checkpoint and train_config (another checkpoint of the same
HF base, e.g. an audio-only one; media are decoded once for all); the output is then {"runs": [one result per job]}.

Writes (stdout, or --out) one JSON object: task, segment ranges, prompt token ids, tokens, text, stop reason,
per-modality expert choices; --first-logits the first generation step's logits (float32 [n_vocab]); --dump the
intermediate tensors as float32 .npy (waveform, mel, roi, audio/video states, pooled features, projector tokens).
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "encoders"))
import encoders  # noqa: E402
import logmel_reference  # noqa: E402
import smop_reference  # noqa: E402

RATE = 16000
FPS = 25
CROP = 96
ROI = 88
ROI_MEAN, ROI_STD = 0.421, 0.165
AVSR_TOKENS = ["<pad>", "<audio>", "</audio>", "<video>", "</video>"]
PROMPT_KEY = {"asr": "prompt-audio", "vsr": "prompt-video", "avsr": "prompt-audiovisual"}


def fail(message):
    raise SystemExit(f"avsr_reference.py: {message}")


# ---------------------------------------------------------------- media

def run_ffmpeg(args):
    done = subprocess.run(args, capture_output=True)
    if done.returncode != 0:
        fail(f"{' '.join(args[:1])} failed: {done.stderr.decode(errors='replace').strip()[-400:]}")
    return done.stdout


_PROBES = {}


def streams(path):
    """{'audio': {...}, 'video': {...}} for the first stream of each kind (one ffprobe call per file)."""
    if path not in _PROBES:
        out = run_ffmpeg(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,sample_rate,channels,width,height",
                          "-of", "json", path]).decode()
        found = {}
        for st in json.loads(out).get("streams", []):
            found.setdefault(st.get("codec_type"), st)
        _PROBES[path] = found
    return _PROBES[path]


def probe(path, kind, entries):
    info = streams(path).get("audio" if kind == "a" else "video")
    if info is None:
        fail(f"{path}: no {'audio' if kind == 'a' else 'video'} stream")
    return {k: info[k] for k in entries.split(",")}


def load_audio(path):
    """Mono float64 at 16 kHz."""
    info = probe(path, "a", "sample_rate,channels")
    rate, channels = int(info["sample_rate"]), int(info["channels"])
    raw = run_ffmpeg(["ffmpeg", "-v", "error", "-nostdin", "-i", path, "-map", "0:a:0", "-vn", "-f", "f32le",
                      "-acodec", "pcm_f32le", "-ar", str(rate), "pipe:1"])
    x = np.frombuffer(raw, dtype="<f4").astype(np.float64).reshape(-1, channels).mean(axis=1)
    if rate != RATE:
        import torchaudio.functional as AF
        t = torch.from_numpy(x)[None, :]
        try:
            y = AF.resample(t, rate, RATE, lowpass_filter_width=48, rolloff=0.94, resampling_method="kaiser_window", beta=9.0)
        except ValueError:
            y = AF.resample(t, rate, RATE, lowpass_filter_width=48, rolloff=0.94, resampling_method="sinc_interp_kaiser", beta=9.0)
        x = y[0].numpy()
    return x


def load_video(path):
    """uint8 [T, 96, 96] at 25 fps."""
    info = probe(path, "v", "width,height")
    w, h = int(info["width"]), int(info["height"])
    if w > 128 or h > 128:
        fail(f"{path}: {w}x{h} frames are not mouth crops (the reference takes crops of at most 128 px)")
    vf = f"fps={FPS}"
    if (w, h) != (CROP, CROP):
        vf += f",scale={CROP}:{CROP}:flags=bilinear"
    raw = run_ffmpeg(["ffmpeg", "-v", "error", "-nostdin", "-noautorotate", "-i", path, "-map", "0:v:0", "-an",
                      "-vf", vf + ",format=gray", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, CROP, CROP)


def roi(frames, dtype):
    x = torch.from_numpy(frames.astype(np.float32)) / 255.0
    o = (CROP - ROI) // 2
    x = x[:, o:o + ROI, o:o + ROI]
    return ((x - ROI_MEAN) / ROI_STD).to(dtype)


# ---------------------------------------------------------------- tokenizer (byte-level BPE from tokenizer.json)

def bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    chars = keep[:]
    n = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return dict(zip(keep, (chr(c) for c in chars)))


class ByteLevelBpe:
    def __init__(self, path):
        import regex
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
        model = spec["model"]
        if model.get("type") != "BPE":
            fail(f"{path}: model type {model.get('type')} is not BPE")
        self.vocab = dict(model["vocab"])
        merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.added = {t["content"]: t["id"] for t in spec.get("added_tokens", [])}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        self.id_to_token.update({i: t for t, i in self.added.items()})
        self.patterns = []
        pre = spec.get("pre_tokenizer") or {}
        for p in (pre.get("pretokenizers") or [pre]):
            if p.get("type") == "Split":
                self.patterns.append(regex.compile(p["pattern"]["Regex"]))
            elif p.get("type") == "ByteLevel" and p.get("use_regex", True):
                self.patterns.append(regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""))
        self.byte_map = bytes_to_unicode()
        self.char_to_byte = {c: b for b, c in self.byte_map.items()}

    def size(self):
        return max(self.id_to_token) + 1

    def add(self, token):
        """Appends a token the way tokenizer.add_special_tokens does (next free id); returns its id."""
        if token not in self.added and token not in self.vocab:
            i = self.size()
            self.added[token] = i
            self.id_to_token[i] = token
        return self.added.get(token, self.vocab.get(token))

    def _bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            best = min(((self.ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))))
            if best[0] == math.inf:
                break
            i = best[1]
            parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]
        return [self.vocab[p] for p in parts]

    def encode(self, text):
        """Plain text (no special-token matching, no BOS): what tokenizer(text, add_special_tokens=False) gives."""
        pieces = [text]
        for pat in self.patterns:
            pieces = [m.group(0) for piece in pieces for m in pat.finditer(piece)]
        ids = []
        for piece in pieces:
            ids.extend(self._bpe("".join(self.byte_map[b] for b in piece.encode("utf-8"))))
        return ids

    def decode(self, ids, skip=()):
        out = bytearray()
        for i in ids:
            if i in skip:
                continue
            t = self.id_to_token.get(i, "")
            if t in self.added:
                out += t.encode("utf-8")
            else:
                out += bytes(self.char_to_byte[c] for c in t)
        return out.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- Llama with the authors' LoRA on Q and V

class Llama:
    def __init__(self, hf_dir, checkpoint, reduction, alpha, dtype):
        with open(os.path.join(hf_dir, "config.json")) as f:
            self.config = c = json.load(f)
        self.dtype = dtype
        self.hidden = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.kv_heads = c.get("num_key_value_heads", self.heads)
        self.head_dim = c.get("head_dim") or self.hidden // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c["rms_norm_eps"]
        self.lora_scale = alpha / reduction
        self.lora_inner = round(self.hidden / reduction)
        self.w = {}
        self.from_base = []
        base = {}
        for name in sorted(os.listdir(hf_dir)):
            if name.endswith(".safetensors"):
                base.update(encoders.read_safetensors(os.path.join(hf_dir, name)))
        for k, v in checkpoint.items():
            if k.startswith("llm."):
                self.w[k[4:]] = v.to(dtype)
        needed = ["model.embed_tokens.weight", "model.norm.weight"]
        for i in range(self.layers):
            p = f"model.layers.{i}."
            needed += [p + n + ".weight" for n in ("input_layernorm", "post_attention_layernorm", "self_attn.q_proj", "self_attn.k_proj",
                                                   "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj")]
        for k in needed:
            if k not in self.w:
                if k not in base:
                    fail(f"llm.{k} is neither in the checkpoint nor in {hf_dir}")
                self.w[k] = base[k].to(dtype)
                self.from_base.append(k)
        if "lm_head.weight" not in self.w:
            self.w["lm_head.weight"] = self.w["model.embed_tokens.weight"]
        for i in range(self.layers):
            p = f"model.layers.{i}.self_attn."
            for m, out in (("Q", self.heads * self.head_dim), ("V", self.kv_heads * self.head_dim)):
                down, up = self.w.get(p + f"lora_down_{m}.weight"), self.w.get(p + f"lora_up_{m}.weight")
                if down is None or up is None:
                    fail(f"checkpoint: llm.{p}lora_down_{m}.weight / lora_up_{m}.weight missing (add-PEFT-LLM is true)")
                if tuple(down.shape) != (self.lora_inner, self.hidden) or tuple(up.shape) != (out, self.lora_inner):
                    fail(f"checkpoint: llm.{p}lora_*_{m} shapes {list(down.shape)}, {list(up.shape)} do not fit reduction {reduction}")
        self.cos, self.sin = self._rope(c.get("max_position_embeddings", 4096))

    def _rope(self, positions):
        c = self.config
        d = self.head_dim
        inv = 1.0 / (c.get("rope_theta", 10000.0) ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        scaling = c.get("rope_scaling") or {}
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind == "llama3":
            # Llama 3.1's frequency-dependent scaling, from its definition: long wavelengths divided by `factor`,
            # short ones kept, a smooth blend between low_freq_factor and high_freq_factor.
            factor, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
            old = scaling["original_max_position_embeddings"]
            wavelen = 2 * math.pi / inv
            smooth = (old / wavelen - lo) / (hi - lo)
            blended = (1 - smooth) * inv / factor + smooth * inv
            inv = torch.where(wavelen > old / lo, inv / factor, torch.where(wavelen < old / hi, inv, blended))
        elif kind not in (None, "default"):
            fail(f"config.json: rope_scaling type '{kind}' is not handled by the reference")
        angles = torch.arange(positions, dtype=torch.float64)[:, None] * inv[None, :]
        angles = torch.cat([angles, angles], dim=-1)
        return angles.cos().to(self.dtype), angles.sin().to(self.dtype)

    def embed(self, ids):
        return self.w["model.embed_tokens.weight"][torch.as_tensor(ids, dtype=torch.long)]

    def _norm(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    @staticmethod
    def _rotate_half(x):
        h = x.shape[-1] // 2
        return torch.cat([-x[..., h:], x[..., :h]], dim=-1)

    def forward(self, x, cache):
        """x: [T, hidden] input embeddings at the positions after those in `cache` (a list of per-layer (K, V), empty
        at the start; extended here) -> logits [T, vocab]."""
        t = x.shape[0]
        past = cache[0][0].shape[0] if cache else 0
        if past + t > self.cos.shape[0]:
            self.cos, self.sin = self._rope(past + t)
        cos, sin = self.cos[past:past + t, None, :], self.sin[past:past + t, None, :]
        # Query i (position past + i) sees keys 0 .. past + i.
        mask = torch.full((t, past + t), -math.inf, dtype=self.dtype).triu(past + 1)
        groups = self.heads // self.kv_heads
        for i in range(self.layers):
            p = f"model.layers.{i}."
            w = self.w
            h = self._norm(x, w[p + "input_layernorm.weight"])
            q = h @ w[p + "self_attn.q_proj.weight"].T
            k = h @ w[p + "self_attn.k_proj.weight"].T
            v = h @ w[p + "self_attn.v_proj.weight"].T
            q = q + (h @ w[p + "self_attn.lora_down_Q.weight"].T @ w[p + "self_attn.lora_up_Q.weight"].T) * self.lora_scale
            v = v + (h @ w[p + "self_attn.lora_down_V.weight"].T @ w[p + "self_attn.lora_up_V.weight"].T) * self.lora_scale
            q = q.view(t, self.heads, self.head_dim)
            k = k.view(t, self.kv_heads, self.head_dim)
            v = v.view(t, self.kv_heads, self.head_dim)
            q = q * cos + self._rotate_half(q) * sin
            k = k * cos + self._rotate_half(k) * sin
            if len(cache) <= i:
                cache.append((k, v))
            else:
                k = torch.cat([cache[i][0], k], dim=0)
                v = torch.cat([cache[i][1], v], dim=0)
                cache[i] = (k, v)
            k = k.repeat_interleave(groups, dim=1)
            v = v.repeat_interleave(groups, dim=1)
            scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(self.head_dim) + mask
            o = torch.einsum("hqk,khd->qhd", torch.softmax(scores, dim=-1), v).reshape(t, -1)
            x = x + o @ w[p + "self_attn.o_proj.weight"].T
            h = self._norm(x, w[p + "post_attention_layernorm.weight"])
            gate = h @ w[p + "mlp.gate_proj.weight"].T
            up = h @ w[p + "mlp.up_proj.weight"].T
            x = x + (F.silu(gate) * up) @ w[p + "mlp.down_proj.weight"].T
        x = self._norm(x, self.w["model.norm.weight"])
        return x @ self.w["lm_head.weight"].T


# ---------------------------------------------------------------- SMoP

def experts_of(tensors, layout, modality):
    key = "audiovisual_proj.gate.weight" if layout == "jejr" else "av_router.weight" if layout == "dejr" else f"{modality}_proj.gate.weight"
    return int(tensors[key].shape[0])


# ---------------------------------------------------------------- pipeline

def require(config, key, path):
    if key not in config:
        fail(f"{path}: '{key}' is missing")
    return config[key]


def segment_ranges(job):
    audio = video = None
    if job.get("segment_json"):
        with open(job["segment_json"]) as f:
            segments = json.load(f)["segments"]
        index = int(job.get("segment") or 0)
        if not 0 <= index < len(segments):
            fail(f"{job['segment_json']}: segment {index} does not exist ({len(segments)} segments)")
        audio = segments[index].get("audio_samples")
        video = segments[index].get("video_frames")
    if job.get("audio_samples"):
        audio = job["audio_samples"]
    if job.get("video_frames"):
        video = job["video_frames"]
    return audio, video


def cut(x, rng, what):
    if rng is None:
        return x
    first, count = int(rng[0]), int(rng[1])
    if first < 0 or count < 1 or first + count > len(x):
        fail(f"{what} range [{first}, +{count}) is outside the {len(x)} available")
    return x[first:first + count]


_MEDIA = {}


def media(kind, path, load):
    """Decoded media, once per file (shared by every checkpoint's jobs)."""
    if (kind, path) not in _MEDIA:
        _MEDIA[(kind, path)] = load(path)
    return _MEDIA[(kind, path)]


class Reference:
    """The sources loaded once; media, encoder states and models cached, so several jobs (tasks, segments) share them."""

    def __init__(self, args, checkpoint, train_config):
        self.args = args
        self.dtype = torch.float64 if args.dtype == "float64" else torch.float32
        self.checkpoint_path = checkpoint
        with open(train_config) as f:
            self.train = json.load(f)
        tc = self.tc = train_config
        self.layout = require(self.train, "smop-layout", tc)
        self.top_k = int(require(self.train, "MoP-topk", tc))
        self.pools = {"audio": int(require(self.train, "downsample-ratio-audio", tc)),
                      "video": int(require(self.train, "downsample-ratio-video", tc))}
        self.normalize = bool(require(self.train, "waveform-normalization", tc))
        if not require(self.train, "add-PEFT-LLM", tc):
            fail(f"{tc}: add-PEFT-LLM is false; the reference expects the authors' LoRA")
        self.reduction, self.alpha = float(require(self.train, "rank", tc)), float(require(self.train, "alpha", tc))
        self.metadata = {}
        self.checkpoint = encoders.read_safetensors(checkpoint, self.metadata)
        self.smop = {k: v.numpy().astype(np.float64) for k, v in self.checkpoint.items()
                     if k.split(".", 1)[0] in ("audio_proj", "video_proj", "audiovisual_proj", "av_router")}
        self.audio_path = args.audio or args.input
        self.video_path = args.video or args.input
        self.has_audio = self.audio_path is not None and probe_has(self.audio_path, "a")
        self.has_video = self.video_path is not None and probe_has(self.video_path, "v")
        self.tok = ByteLevelBpe(os.path.join(args.hf, "tokenizer.json"))
        self.special = {t: self.tok.add(t) for t in AVSR_TOKENS}
        self.llm = Llama(args.hf, self.checkpoint, self.reduction, self.alpha, self.dtype)
        rows = self.llm.w["model.embed_tokens.weight"].shape[0]
        if rows != self.tok.size():
            fail(f"checkpoint: llm.model.embed_tokens.weight has {rows} rows; the tokenizer plus the 5 AVSR tokens has {self.tok.size()}")
        self._cache = {}

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def audio(self, rng):
        """(pooled features, tensors to dump) for the 16 kHz sample range (None: all)."""
        def make():
            wave = cut(media("wave", self.audio_path, load_audio), rng, "audio sample")
            x = torch.from_numpy(wave).to(torch.float64)
            if self.normalize:
                x = F.layer_norm(x, x.shape, eps=1e-8)
            model = self._cached("whisper", lambda: encoders.load_checkpoint("whisper", self.checkpoint_path, tensors=self.checkpoint, metadata=self.metadata)[0].to(self.dtype))
            n_mel = 2 * model.embed_positions.weight.shape[0]
            if n_mel == 3000:
                mel = logmel_reference.log_mel(x.numpy(), self.dtype)
            else:  # an encoder trained on a shorter window (the demo model: train config 'mel-frames')
                mel = logmel_reference.log_mel_window(x.numpy(), n_mel, self.dtype)[0].numpy()
            states = model(torch.from_numpy(mel).to(self.dtype).unsqueeze(0))[0]
            states = states[:max(int(len(wave) / RATE * 50), 25)]
            pooled = smop_reference.pool(states, self.pools["audio"])
            return pooled, dict(waveform=x.numpy(), mel=mel, audio_states=states.numpy(), audio_pooled=pooled.numpy())
        return self._cached(("audio", tuple(rng) if rng else None), make)

    def video(self, rng):
        def make():
            frames = cut(media("frames", self.video_path, load_video), rng, "video frame")
            r = roi(frames, self.dtype)
            model = self._cached("avhubert", lambda: encoders.load_checkpoint("avhubert", self.checkpoint_path, tensors=self.checkpoint, metadata=self.metadata)[0].to(self.dtype))
            states = model(r.reshape(1, 1, -1, ROI, ROI))[0]
            pooled = smop_reference.pool(states, self.pools["video"])
            return pooled, dict(roi=r.numpy(), video_states=states.numpy(), video_pooled=pooled.numpy())
        return self._cached(("video", tuple(rng) if rng else None), make)

    def run(self, job):
        args, tok, llm, special = self.args, self.tok, self.llm, self.special
        task = job.get("task") or "auto"
        if task == "auto":
            task = "avsr" if self.has_audio and self.has_video else "asr" if self.has_audio else "vsr"
        if task not in PROMPT_KEY:
            fail(f"task '{task}' is not auto, asr, vsr or avsr")
        want_audio, want_video = task != "vsr", task != "asr"
        if want_audio and not self.has_audio or want_video and not self.has_video:
            fail(f"task {task} needs {'audio' if want_audio and not self.has_audio else 'video'}")
        prompt_text = require(self.train, PROMPT_KEY[task], self.tc)
        max_new = job.get("max_new_tokens")
        if max_new is None:
            max_new = int(require(self.train, "max-dec-tokens", self.tc))
        audio_range, video_range = segment_ranges(job)
        dump, feats = {}, {}
        with torch.no_grad():
            if want_audio:
                feats["audio"], d = self.audio(audio_range)
                dump.update(d)
            if want_video:
                feats["video"], d = self.video(video_range)
                dump.update(d)
            projected = smop_reference.project(self.smop, self.layout, self.top_k, feats, self.dtype)
            bos = llm.config["bos_token_id"]
            eos = llm.config["eos_token_id"]
            stops = set(eos if isinstance(eos, list) else [eos])
            if args.stop == "eog":
                for t in ("<|eot_id|>", "<|eom_id|>", "<|end_of_text|>"):
                    if t in tok.added:
                        stops.add(tok.added[t])
            prompt_ids = tok.encode(prompt_text)
            pieces = [llm.embed([bos])]
            layout_ids = [bos]
            for name, start, end in (("audio", "<audio>", "</audio>"), ("video", "<video>", "</video>")):
                if name in projected:
                    pieces += [llm.embed([special[start]]), projected[name][0], llm.embed([special[end]])]
                    layout_ids += [special[start], f"{name} x {projected[name][0].shape[0]}", special[end]]
            pieces.append(llm.embed(prompt_ids))
            layout_ids += prompt_ids
            step_input = torch.cat(pieces, dim=0)
            prompt_positions = step_input.shape[0]
            tokens, first_logits, stop, cache = [], None, "max_new_tokens", []
            for step in range(max_new):
                logits = llm.forward(step_input, cache)[-1]
                if step == 0:
                    first_logits = logits.clone()
                nxt = int(torch.argmax(logits))
                if nxt in stops:
                    stop = "end_of_generation"
                    break
                tokens.append(nxt)
                step_input = llm.embed([nxt])

        if job.get("first_logits") and first_logits is not None:
            np.save(job["first_logits"], first_logits.numpy().astype(np.float32))
        if job.get("dump"):
            os.makedirs(job["dump"], exist_ok=True)
            for n, (y, idx) in projected.items():
                dump[f"{n}_tokens"] = y.numpy()
                dump[f"experts_{n}"] = idx.numpy().astype(np.int32)
            for n, a in dump.items():
                a = np.asarray(a)
                np.save(os.path.join(job["dump"], n + ".npy"), a.astype(np.float32) if a.dtype.kind == "f" else a)
        return {
            "task": task,
            "audio_samples": [int(audio_range[0]), int(audio_range[1])] if want_audio and audio_range else None,
            "video_frames": [int(video_range[0]), int(video_range[1])] if want_video and video_range else None,
            "audio_samples_available": len(media("wave", self.audio_path, load_audio)) if want_audio else None,
            "video_frames_available": len(media("frames", self.video_path, load_video)) if want_video else None,
            "prompt": layout_ids,
            "prompt_positions": prompt_positions,
            "tokens": tokens,
            "text": tok.decode(tokens, skip=set(tok.added.values())),
            "stop": stop,
            "stop_tokens": sorted(stops),
            "experts": {n: np.bincount(idx.numpy().reshape(-1), minlength=experts_of(self.smop, self.layout, n)).tolist()
                        for n, (_, idx) in projected.items()},
            "llm_weights_from_hf_base": llm.from_base,
            "dtype": args.dtype,
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--train-config", required=True)
    ap.add_argument("--hf", required=True)
    ap.add_argument("--input", help="clip with audio and/or video")
    ap.add_argument("--audio")
    ap.add_argument("--video")
    ap.add_argument("--task", default="auto", choices=["auto", "asr", "vsr", "avsr"])
    ap.add_argument("--segment-json", help="edgeavsr transcribe --format json output: take the segment's ranges")
    ap.add_argument("--segment", type=int, default=0)
    ap.add_argument("--audio-samples", type=int, nargs=2, metavar=("FIRST", "COUNT"))
    ap.add_argument("--video-frames", type=int, nargs=2, metavar=("FIRST", "COUNT"))
    ap.add_argument("--max-new-tokens", type=int)
    ap.add_argument("--stop", default="eog", choices=["eog", "eos"],
                    help="eog: config eos ids plus <|eot_id|>/<|eom_id|> (llama.cpp's end-of-generation set, what EdgeAvsr "
                         "stops at); eos: the config's eos_token_id only (the authors' generate call)")
    ap.add_argument("--first-logits")
    ap.add_argument("--dump")
    ap.add_argument("--jobs", help="JSON list of jobs sharing the loaded sources: objects with task, segment_json, segment, "
                                   "audio_samples, video_frames, max_new_tokens, first_logits, dump, checkpoint, train_config "
                                   "(output: {\"runs\": [...]})")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    references = {}

    def reference_for(job):
        key = (job.get("checkpoint") or args.checkpoint, job.get("train_config") or args.train_config)
        if key not in references:
            references[key] = Reference(args, *key)
        return references[key]

    if args.jobs:
        with open(args.jobs) as f:
            jobs = json.load(f)
        result = {"runs": [reference_for(job).run(job) for job in jobs]}
    else:
        result = reference_for({}).run({"task": args.task, "segment_json": args.segment_json, "segment": args.segment,
                                "audio_samples": args.audio_samples, "video_frames": args.video_frames,
                                "max_new_tokens": args.max_new_tokens, "first_logits": args.first_logits, "dump": args.dump})
    text = json.dumps(result)
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(args.out + ".tmp", args.out)
    else:
        print(text)


def probe_has(path, kind):
    return ("audio" if kind == "a" else "video") in streams(path)


if __name__ == "__main__":
    main()
