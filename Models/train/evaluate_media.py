#!/usr/bin/python3
"""Word error rate of the demo model in PyTorch, read from MP4 files (the test set of Models/data/make_testset.py),
so that it compares with `edgeavsr eval` on the same bytes.

    nice -n 15 /usr/bin/python3 Models/train/evaluate_media.py --manifest DIR/test.jsonl [--tasks asr,vsr,avsr]
                                [--snr clean,10,5,0,-5] [--noise babble,white] [--model Models/demo] [--out results.json]

Every file goes through Models/reference/avsr_reference.py, the PyTorch reference of EdgeAvsr's pipeline: ffmpeg
decodes the audio to 16 kHz mono float32 and the video to 25 fps gray frames; waveform layer norm when the train
config says `waveform-normalization`; the log-mel of the config's `mel-frames` window; mouth crops /255, centre crop
88, (x - 0.421) / 0.165; the encoders, SMoP projector, Llama and LoRA loaded from the model folder's checkpoint,
train config and hf/; greedy decoding with the config's prompts and `max-dec-tokens` (float32 by default).

VSR does not use the audio: it runs once per utterance (on the first file of that id in the manifest) and its one
number stands in every SNR column of the table; the JSON holds it once as "vsr/-/-". AVSR files of an utterance
share the video stream (make_testset.py muxes the same one into each), so the video features are computed once per
utterance id. WER is Models/train/common.py's: word edit distance over the reference word count, per cell.

Writes --out (JSON: {"wer": {"asr/babble/0": 0.123, "asr/clean/clean": ..., "vsr/-/-": ...}, "utterances": N,
"files": F, "seconds": S, "hypotheses": [{"media", "task", "ref", "hyp"}]}) and prints a markdown table per noise
kind. Hypotheses are appended to --out + ".partial.jsonl" as they are made; a rerun continues from there.
"""
import argparse
import json
import os
import sys
import time
from types import SimpleNamespace

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(MODELS, "reference"))
import avsr_reference  # noqa: E402
import common  # noqa: E402


class MediaReference(avsr_reference.Reference):
    """The reference with its sources loaded once and the media switched per file."""

    def __init__(self, model_dir, dtype, stop):
        self.model_dir = model_dir
        names = sorted(n for n in os.listdir(model_dir) if n.startswith("llama_smop_") and n.endswith(".safetensors"))
        if not names:
            raise SystemExit(f"evaluate_media.py: {model_dir}: no llama_smop_*.safetensors checkpoint")
        layout = names[0][len("llama_smop_"):-len(".safetensors")]
        config = os.path.join(model_dir, f"train_config_{layout}.json")
        if not os.path.exists(config):
            raise SystemExit(f"evaluate_media.py: {config} is missing (the train config of {names[0]})")
        args = SimpleNamespace(audio=None, video=None, input=None, hf=os.path.join(model_dir, "hf"), dtype=dtype, stop=stop)
        super().__init__(args, os.path.join(model_dir, names[0]), config)
        self.video_key = None

    def use(self, path, video_key):
        """Points the reference at one file; the video features are kept while video_key stays the same."""
        self.audio_path = self.video_path = path
        streams = avsr_reference.streams(path)
        self.has_audio, self.has_video = "audio" in streams, "video" in streams
        self._cache.pop(("audio", None), None)
        avsr_reference._MEDIA.clear()
        avsr_reference._PROBES.clear()
        if video_key != self.video_key:
            self._cache.pop(("video", None), None)
            self.video_key = video_key

    def transcribe(self, task):
        return self.run({"task": task})["text"].strip()


class BatchedModel:
    """The same model from the same files, batched: train_smop.AvsrModel (the training graph, whose state-dict keys
    are the checkpoint's) with the encoders of common.py, the front-ends of common.py (the reference's formulas) and
    the train config's prompts and max-dec-tokens; greedy, stopping at the config's eos_token_id."""

    def __init__(self, model_dir):
        import train_smop
        names = sorted(n for n in os.listdir(model_dir) if n.startswith("llama_smop_") and n.endswith(".safetensors"))
        if not names:
            raise SystemExit(f"evaluate_media.py: {model_dir}: no llama_smop_*.safetensors checkpoint")
        layout = names[0][len("llama_smop_"):-len(".safetensors")]
        with open(os.path.join(model_dir, f"train_config_{layout}.json")) as f:
            self.config = json.load(f)
        tensors = avsr_reference.encoders.read_safetensors(os.path.join(model_dir, names[0]))
        self.model = train_smop.AvsrModel(layout, os.path.join(model_dir, "hf"))
        own = {k: v for k, v in tensors.items() if not k.startswith(("audio_encoder.", "video_encoder.")) and k != "llm.lm_head.weight"}
        self.model.load_state_dict(own)
        self.model.eval()
        self.model.prompts = {t: self.model.tok.encode(self.config[k]) for t, k in avsr_reference.PROMPT_KEY.items()}
        self.max_new = int(self.config["max-dec-tokens"])
        self.normalize = bool(self.config["waveform-normalization"])
        self.mel_frames = int(self.config["mel-frames"])
        self.pools = int(self.config["downsample-ratio-audio"]), int(self.config["downsample-ratio-video"])
        self.audio_enc, self.video_enc = common.audio_encoder(), common.video_encoder()
        for enc, prefix in ((self.audio_enc, "audio_encoder."), (self.video_enc, "video_encoder.")):
            enc.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
            enc.eval()

    @staticmethod
    def pool(states, k):
        return torch.nn.functional.avg_pool1d(states.transpose(1, 2), k).transpose(1, 2)

    @torch.no_grad()
    def audio_features(self, waves):
        """list of float arrays (16 kHz) -> pooled features [B, T, D]; the waves must have one length."""
        import logmel_reference
        x = torch.stack([torch.from_numpy(w).float() for w in waves])
        if self.normalize:
            x = torch.nn.functional.layer_norm(x, x.shape[1:], eps=1e-8)
        states = self.audio_enc(logmel_reference.log_mel_window(x, self.mel_frames))
        states = states[:, :max(int(x.shape[1] / common.RATE * 50), 25)]
        return self.pool(states, self.pools[0])

    @torch.no_grad()
    def video_features(self, frames):
        """uint8 [T, 96, 96] -> pooled features [1, T / pool, D]."""
        return self.pool(self.video_enc(common.roi(torch.from_numpy(frames.copy()).unsqueeze(0))), self.pools[1])

    def greedy(self, task, audio, video):
        return self.model.greedy(task, audio, video, max_new=self.max_new)


def decode_utterance(root, audio_files, video_file):
    """One ffmpeg process for all of an utterance's files (process start-up dominates on a loaded machine): each
    audio track to 16 kHz mono float32 (what avsr_reference.load_audio gives for the test set's 16 kHz mono tracks)
    and the video of video_file to 25 fps gray frames (its load_video filter) -> ({file: wave}, uint8 [T, 96, 96])."""
    import tempfile
    import numpy as np
    with tempfile.TemporaryDirectory() as work:
        cmd = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
        for m in audio_files:
            cmd += ["-i", os.path.join(root, m)]
        cmd += ["-noautorotate", "-i", os.path.join(root, video_file)]
        for k, m in enumerate(audio_files):
            cmd += ["-map", f"{k}:a:0", "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ar", str(common.RATE), "-ac", "1",
                    os.path.join(work, f"{k}.f32")]
        cmd += ["-map", f"{len(audio_files)}:v:0", "-an", "-vf", f"fps={common.FPS},format=gray", "-f", "rawvideo",
                "-pix_fmt", "gray", os.path.join(work, "video.gray")]
        avsr_reference.run_ffmpeg(cmd)
        waves = {m: np.fromfile(os.path.join(work, f"{k}.f32"), dtype="<f4") for k, m in enumerate(audio_files)}
        raw = np.fromfile(os.path.join(work, "video.gray"), dtype=np.uint8)
    size = common.CROP * common.CROP
    if raw.size % size:
        raise SystemExit(f"evaluate_media.py: {video_file}: frames are not {common.CROP}x{common.CROP} (the test set's mouth crops)")
    return waves, raw.reshape(-1, common.CROP, common.CROP)


def run_batched(args, root, todo, done, log):
    """Decodes the files of a block of utterances side by side (ffmpeg in threads), then encodes and decodes in batches."""
    from concurrent.futures import ThreadPoolExecutor
    model = BatchedModel(args.model)
    t0 = time.time()
    by_id = {}
    for e, task in todo:
        by_id.setdefault(e["id"], []).append((e, task))
    ids = list(by_id)
    finished = 0
    with ThreadPoolExecutor(max_workers=args.ffmpeg_jobs) as pool:
        for s in range(0, len(ids), args.block):
            block = ids[s:s + args.block]
            jobs = [j for i in block for j in by_id[i]]
            files = sorted({e["media"] for e, t in jobs if t != "vsr"})
            first = {}
            for e, _ in jobs:
                first.setdefault(e["id"], e["media"])
            per_id = {i: [m for m in files if m in {e["media"] for e, _ in by_id[i]}] for i in block}
            decoded = dict(zip(block, pool.map(lambda i: decode_utterance(root, per_id[i], first[i]), block)))
            waves = {m: w for i in block for m, w in decoded[i][0].items()}
            frames = {i: decoded[i][1] for i in block}
            vfeat = {i: model.video_features(frames[i]) for i in block}
            afeat = {}
            for b in range(0, len(files), args.batch):
                chunk = files[b:b + args.batch]
                lengths = {len(waves[m]) for m in chunk}
                for n in lengths:  # equal lengths batch together (make_testset's files all have 3.0 s)
                    same = [m for m in chunk if len(waves[m]) == n]
                    for m, f in zip(same, model.audio_features([waves[m] for m in same])):
                        afeat[m] = f
            for task in ("asr", "vsr", "avsr"):
                these = [e for e, t in jobs if t == task]
                for b in range(0, len(these), args.batch):
                    part = these[b:b + args.batch]
                    groups = {}
                    for e in part:
                        key = (afeat[e["media"]].shape[0] if task != "vsr" else 0, vfeat[e["id"]].shape[1] if task != "asr" else 0)
                        groups.setdefault(key, []).append(e)
                    for group in groups.values():
                        audio = torch.stack([afeat[e["media"]] for e in group]) if task != "vsr" else None
                        video = torch.cat([vfeat[e["id"]] for e in group]) if task != "asr" else None
                        with torch.no_grad():
                            hyps = model.greedy(task, audio, video)
                        for e, hyp in zip(group, hyps):
                            h = {"media": e["media"], "task": task, "ref": e["text"], "hyp": hyp}
                            done[(e["media"], task)] = h
                            log.write(json.dumps(h) + "\n")
            log.flush()
            finished += len(jobs)
            rate = (time.time() - t0) / finished
            print(f"{time.strftime('%H:%M:%S')} {finished}/{len(todo)} decodes ({rate:.3f} s each, "
                  f"{rate * (len(todo) - finished) / 60:.0f} min left)", flush=True)


def cell(task, noise, snr):
    return "vsr/-/-" if task == "vsr" else f"{task}/{noise}/{snr}"


def table(wer, noises, snrs, tasks):
    out = []
    for noise in noises:
        out.append(f"\n{noise} noise, WER % (VSR ignores the audio: one number, repeated in each column)\n")
        out.append("| task | " + " | ".join("clean" if s == "clean" else f"{s} dB" for s in snrs) + " |")
        out.append("| --- " * (len(snrs) + 1) + "|")
        for task in tasks:
            cells = []
            for snr in snrs:
                key = cell(task, "clean" if snr == "clean" else noise, snr)
                cells.append(f"{100 * wer[key]:.1f}" if key in wer else "-")
            out.append(f"| {task.upper()} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--tasks", default="asr,vsr,avsr")
    ap.add_argument("--snr", default="clean,10,5,0,-5")
    ap.add_argument("--noise", default="babble,white", help="noise kinds to evaluate (those in the manifest)")
    ap.add_argument("--model", default=os.path.join(MODELS, "demo"))
    ap.add_argument("--out", default="results.json")
    ap.add_argument("--n", type=int, default=0, help="only the first N utterances of the manifest (0: all)")
    ap.add_argument("--engine", default="batched", choices=["batched", "reference"],
                    help="batched: the training graph in batches (fast); reference: avsr_reference.py file by file")
    ap.add_argument("--block", type=int, default=25, help="batched: utterances whose files are decoded together")
    ap.add_argument("--batch", type=int, default=64, help="batched: sequences per forward pass")
    ap.add_argument("--ffmpeg-jobs", type=int, default=4, help="batched: utterances decoded side by side (one ffmpeg each)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"], help="reference engine only")
    ap.add_argument("--stop", default="eog", choices=["eog", "eos"], help="reference engine only: as avsr_reference.py --stop")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tasks = [t for t in args.tasks.split(",") if t]
    snrs = [s for s in args.snr.split(",") if s]
    noises = [k for k in args.noise.split(",") if k]
    for t in tasks:
        if t not in ("asr", "vsr", "avsr"):
            ap.error(f"--tasks: '{t}' is not asr, vsr or avsr")
    root = os.path.dirname(os.path.abspath(args.manifest))
    entries = []
    with open(args.manifest) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
                e = {k: str(e[k]) for k in ("media", "text", "noise", "snr", "id")}
            except (ValueError, KeyError) as err:
                raise SystemExit(f"evaluate_media.py: {args.manifest}:{number}: not a test line with media, text, noise, "
                                 f"snr, id ({err})")
            entries.append(e)
    ids = list(dict.fromkeys(e["id"] for e in entries))
    if args.n:
        ids = ids[:args.n]
    keep = set(ids)
    entries = [e for e in entries if e["id"] in keep]
    jobs = []  # (entry, task)
    first_file = {}
    for e in entries:
        first_file.setdefault(e["id"], e)
    for e in entries:
        for task in tasks:
            if task == "vsr":
                if e is first_file[e["id"]]:
                    jobs.append((e, task))
            elif e["snr"] in snrs and (e["noise"] in noises or e["snr"] == "clean"):
                jobs.append((e, task))
    for e, _ in jobs:
        path = os.path.join(root, e["media"])
        if not os.path.exists(path):
            raise SystemExit(f"evaluate_media.py: {path}: missing (listed in {args.manifest})")
    partial = args.out + ".partial.jsonl"
    done = {}
    if os.path.exists(partial):
        with open(partial) as f:
            for line in f:
                try:
                    h = json.loads(line)
                except ValueError:
                    continue  # a line cut by an interrupted run
                done[(h["media"], h["task"])] = h
    t0 = time.time()
    todo = [(e, t) for e, t in jobs if (e["media"], t) not in done]
    todo.sort(key=lambda j: (j[0]["id"], j[0]["media"]))  # one file at a time: its decode and features serve all tasks
    with open(partial, "a") as log:
        if args.engine == "batched":
            run_batched(args, root, todo, done, log)
            todo = []
        else:
            model = MediaReference(args.model, args.dtype, args.stop)
        for k, (e, task) in enumerate(todo):
            path = os.path.join(root, e["media"])
            if model.audio_path != path:
                model.use(path, e["id"])
            hyp = model.transcribe(task)
            h = {"media": e["media"], "task": task, "ref": e["text"], "hyp": hyp}
            done[(e["media"], task)] = h
            log.write(json.dumps(h) + "\n")
            log.flush()
            if (k + 1) % 100 == 0 or k + 1 == len(todo):
                rate = (time.time() - t0) / (k + 1)
                print(f"{time.strftime('%H:%M:%S')} {k + 1}/{len(todo)} ({rate:.2f} s each, {rate * (len(todo) - k - 1) / 60:.0f} min "
                      f"left)", flush=True)
    groups = {}
    for e, task in jobs:
        h = done[(e["media"], task)]
        groups.setdefault(cell(task, e["noise"], e["snr"]), []).append((h["ref"], h["hyp"]))
    wer = {key: common.wer([r for r, _ in pairs], [h for _, h in pairs]) for key, pairs in sorted(groups.items())}
    result = {"wer": wer, "utterances": len(ids), "files": len({e["media"] for e, _ in jobs}), "jobs": len(jobs),
              "seconds": round(time.time() - t0, 1), "model": os.path.abspath(args.model), "engine": args.engine,
              "dtype": args.dtype if args.engine == "reference" else "float32",
              "stop": args.stop if args.engine == "reference" else "eos", "hypotheses": [done[(e["media"], t)] for e, t in jobs]}
    with open(args.out + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    print(table(wer, [k for k in noises if any(key.split("/")[1] == k for key in wer)], snrs, tasks))
    print(f"\n{len(ids)} utterances, {len(jobs)} decodes, {result['seconds']:.0f} s (this run); wrote {args.out}")


if __name__ == "__main__":
    main()
