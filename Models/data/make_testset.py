#!/usr/bin/python3
"""Writes the held-out test set as MP4 files, the media that PyTorch (Models/train/evaluate_media.py) and EdgeAvsr
(`edgeavsr eval`) both read, so their word error rates compare on the same bytes.

    nice -n 15 /usr/bin/python3 Models/data/make_testset.py --out DIR [--n 300] [--noise babble,white]
                                [--snr clean,10,5,0,-5] [--seed 15] [--workers 1]

The utterances are the training run's test split, made by the same code from the same seeds: make_data.plan(seed,
8000, 400)'s "test" rows (held-out sentences AND held-out voices; the plan's row counts fix its random stream, so
they are the ones the shipped run used), rendered by make_data.utterance. libespeak-ng's output depends on what
its process synthesised before, so the rows are made in the shipped run's order (2 data workers, each its chunks of
test then babble_test; rows before a needed one are synthesised again, not rendered). Noise is mixed exactly as
Models/train/cache_features.py mixed the cached test features (common.mix over blocks of 25 rows, one generator
per block, kind and SNR; babble from the 100-utterance babble_test pool), so the media hold the same samples the
cached-feature evaluation saw.

Per utterance and condition DIR/<id>_<cond>.mp4 (cond: clean, babble10 ... babble-5, white10 ... white-5): H.264
96x96 at 25 fps, lossless (x264 -qp 0, full-range yuvj420p, so ffmpeg's `format=gray` gives back the rendered
bytes), plus ALAC 16 kHz mono 16-bit audio (lossless; the clean track is the generated int16 itself, a noisy one is
scaled down only where it would clip). Every MP4 is self-contained; the video stream is the same in all of an
utterance's files. DIR/test.jsonl: one line per file, {"media", "text", "noise", "snr", "id"}.

Files are written under a temporary name and renamed; a rerun with the same arguments keeps the files it finds.
"""
import argparse
import json
import os
import queue as queue_module
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "train"))
import make_data  # noqa: E402

PLAN_TRAIN, PLAN_TEST = 8000, 400   # the row counts the shipped data were planned with (Models/train/run_all.sh)
DATA_WORKERS = 2                    # make_data.py --workers of the shipped run: fixes each row's synthesis history
NOISE_BLOCK = 25                    # cache_features.py --only test --batch 25
NOISE_SEED = 1000                   # cache_features.py: default_rng(1000 + block start + 100 * snr + 7 if white)


def condition_name(noise, snr):
    return "clean" if snr == "clean" else f"{noise}{snr}"


def conditions(noises, snrs):
    """[(noise, snr)]: clean once (shared by every noise kind), then each kind at each SNR."""
    out = [("clean", "clean")] if "clean" in snrs else []
    for noise in noises:
        out += [(noise, snr) for snr in snrs if snr != "clean"]
    return out


def atomic_write(path, data):
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)


def ffmpeg(args, data=None):
    done = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], input=data, capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"make_testset.py: ffmpeg failed: {done.stderr.decode(errors='replace').strip()[-400:]}")


def encode_video(frames, path):
    """uint8 [T, 96, 96] -> lossless H.264 MP4 (video only; muxed into each condition's file)."""
    ffmpeg(["-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{frames.shape[2]}x{frames.shape[1]}", "-r", str(make_data.FPS),
            "-i", "pipe:0", "-c:v", "libx264", "-threads", "1", "-qp", "0", "-preset", "medium", "-pix_fmt", "yuvj420p",
            "-map_metadata", "-1", "-fflags", "+bitexact", "-f", "mp4", path], frames.tobytes())


def write_clips(video_mp4, tracks, workdir):
    """[(path, float32 wave at 16 kHz)] + the utterance's video -> one MP4 per track, from one ffmpeg process (process
    start-up dominates on a loaded machine); each written under a temporary name, then renamed."""
    cmd = ["-i", video_mp4]
    for k, (_, wave) in enumerate(tracks):
        peak = float(np.abs(wave).max())
        gain = 1.0 if peak <= 32767 / 32768 else 0.999 / peak
        raw = os.path.join(workdir, f"audio{k}.s16")
        np.clip(np.rint(wave * gain * 32768), -32768, 32767).astype("<i2").tofile(raw)
        cmd += ["-f", "s16le", "-ar", str(make_data.RATE), "-ac", "1", "-i", raw]
    for k, (path, _) in enumerate(tracks):
        cmd += ["-map", "0:v:0", "-map", f"{k + 1}:a:0", "-c:v", "copy", "-c:a", "alac", "-map_metadata", "-1",
                "-fflags", "+bitexact", "-f", "mp4", path + ".tmp"]
    ffmpeg(cmd)
    for path, _ in tracks:
        os.replace(path + ".tmp", path)


class Pool:
    """The babble noise pool as common.mix takes it (.audio: int16 [rows, samples])."""

    def __init__(self, audio):
        self.audio = audio


def part_path(args, split, index):
    return os.path.join(args.out, "parts", f"{split}{index:04d}.npz")


def history(split_rows, stream):
    """The (split, row) sequence that make_data.py's worker `stream` of DATA_WORKERS synthesised: its chunks of each split
    in turn. libespeak-ng's output depends on what the process synthesised before it (state kept inside the library),
    so a row is bit-identical to the training data's only when made after the same rows in a fresh process."""
    out = []
    for split in ("test", "babble_test"):
        rows = split_rows[split]
        n_chunks = (len(rows) + make_data.CHUNK - 1) // make_data.CHUNK
        for c in range(stream, n_chunks, DATA_WORKERS):
            out += [(split, row) for row in rows[c * make_data.CHUNK:(c + 1) * make_data.CHUNK]]
    return out


def make_parts(args, split_rows, needed, stream):
    """Renders the needed rows of one history stream into DIR/parts (rows before them are synthesised again only to
    bring libespeak-ng to the same state)."""
    import torch
    torch.set_num_threads(1)
    sequence = history(split_rows, stream)
    todo = [i for i, (split, row) in enumerate(sequence) if (split, row["index"]) in needed
            and not os.path.exists(part_path(args, split, row["index"]))]
    if not todo:
        return
    import espeak
    es = espeak.Espeak()
    for i, (split, row) in enumerate(sequence[:todo[-1] + 1]):
        path = part_path(args, split, row["index"])
        if (split, row["index"]) not in needed or os.path.exists(path):
            make_data.synth(es, row)  # advances the library's state as the original run did
            continue
        audio, frames, meta = make_data.utterance(es, row, with_video=split == "test")
        with open(path + ".tmp", "wb") as f:
            np.savez(f, audio=audio, frames=frames if frames is not None else np.zeros(0, np.uint8),
                     speech=np.array(meta["speech_samples"]))
        os.replace(path + ".tmp", path)


def load_part(args, split, index):
    with np.load(part_path(args, split, index)) as z:
        return z["audio"], z["frames"], [int(v) for v in z["speech"]]


def make_block(args, rows, block_start, conds, pool):
    """Writes the missing files of one noise block; -> number of files written."""
    import torch
    torch.set_num_threads(1)
    import common
    paths = {(row["index"], c): os.path.join(args.out, f"{utt_id(row)}_{condition_name(*c)}.mp4") for row in rows for c in conds}
    if all(os.path.exists(p) for p in paths.values()):
        return 0
    made = [load_part(args, "test", row["index"]) for row in rows]
    wave = torch.from_numpy(np.stack([a for a, _, _ in made]).astype(np.float32) / 32768.0)
    speech = [s for _, _, s in made]
    mixes = {}
    for noise, snr in conds:
        if snr == "clean":
            mixes[(noise, snr)] = wave
        else:  # every block row is mixed (the generator's draws run over the rows in order), missing files or not
            rng = np.random.default_rng(NOISE_SEED + block_start + 100 * int(snr) + (7 if noise == "white" else 0))
            mixes[(noise, snr)] = common.mix(wave, speech, int(snr), [noise] * len(rows), pool, rng)
    written = 0
    with tempfile.TemporaryDirectory(dir=os.path.join(args.out, "parts")) as work:
        for b, (row, (_, frames, _)) in enumerate(zip(rows, made)):
            tracks = [(paths[(row["index"], c)], mixes[c][b].numpy()) for c in conds if not os.path.exists(paths[(row["index"], c)])]
            if not tracks:
                continue
            video = os.path.join(work, f"{utt_id(row)}_video.mp4")
            encode_video(frames, video)
            write_clips(video, tracks, work)
            written += len(tracks)
    return written


def utt_id(row):
    return f"test{row['index']:04d}"


def mux_worker(args, rows, conds, blocks, pool, queue):
    for start in blocks:
        t0 = time.time()
        n = make_block(args, rows[start:start + NOISE_BLOCK], start, conds, pool)
        queue.put((start, n, time.time() - t0))


def run_all(processes):
    for p in processes:
        p.start()
    for p in processes:
        p.join()
        if p.exitcode:
            raise SystemExit(f"make_testset.py: a worker failed ({p.exitcode})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--n", type=int, default=300, help="utterances: the first N test rows (at most 400)")
    ap.add_argument("--noise", default="babble,white", help="noise kinds: babble and/or white")
    ap.add_argument("--snr", default="clean,10,5,0,-5")
    ap.add_argument("--seed", type=int, default=15, help="the data seed (sentence split and plan); 15 made the shipped data")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    noises = [k for k in args.noise.split(",") if k]
    snrs = [s.strip() for s in args.snr.split(",") if s.strip()]
    for k in noises:
        if k not in ("babble", "white"):
            ap.error(f"--noise: '{k}' is not babble or white")
    for s in snrs:
        if s != "clean" and not s.lstrip("-").isdigit():
            ap.error(f"--snr: '{s}' is not clean or a whole number of dB")
    if not 1 <= args.n <= PLAN_TEST:
        ap.error(f"--n must be 1..{PLAN_TEST} (the planned test rows)")
    os.makedirs(os.path.join(args.out, "parts"), exist_ok=True)
    jobs = make_data.plan(args.seed, PLAN_TRAIN, PLAN_TEST)
    rows = jobs["test"][:args.n]
    conds = conditions(noises, snrs)
    t0 = time.time()
    import multiprocessing as mp
    split_rows = {"test": jobs["test"], "babble_test": jobs["babble_test"]}
    needed = {("test", row["index"]) for row in rows}
    if "babble" in noises:
        needed |= {("babble_test", row["index"]) for row in jobs["babble_test"]}
    streams = [mp.Process(target=make_parts, args=(args, split_rows, needed, w)) for w in range(DATA_WORKERS)]
    for first in range(0, DATA_WORKERS, max(1, args.workers)):
        run_all(streams[first:first + max(1, args.workers)])
    print(f"{time.strftime('%H:%M:%S')} utterances rendered ({time.time() - t0:.0f} s)", flush=True)
    pool = None
    if "babble" in noises:
        pool = Pool(np.stack([load_part(args, "babble_test", row["index"])[0] for row in jobs["babble_test"]]))
    blocks = list(range(0, args.n, NOISE_BLOCK))
    queue = mp.Queue()
    workers = [mp.Process(target=mux_worker, args=(args, rows, conds, blocks[w::args.workers], pool, queue))
               for w in range(max(1, args.workers))]
    for p in workers:
        p.start()
    written = received = 0
    while received < len(blocks):
        try:
            start, n, seconds = queue.get(timeout=10)
        except queue_module.Empty:
            if not any(p.is_alive() for p in workers):
                raise SystemExit("make_testset.py: a worker failed")
            continue
        received += 1
        written += n
        print(f"{time.strftime('%H:%M:%S')} rows {start}-{min(args.n, start + NOISE_BLOCK) - 1}: {n} files written "
              f"({seconds:.0f} s)", flush=True)
    for p in workers:
        p.join()
        if p.exitcode:
            raise SystemExit(f"make_testset.py: a worker failed ({p.exitcode})")
    lines = []
    for row in rows:
        for noise, snr in conds:
            lines.append(json.dumps({"media": f"{utt_id(row)}_{condition_name(noise, snr)}.mp4", "text": row["text"],
                                     "noise": noise, "snr": snr, "id": utt_id(row)}))
    atomic_write(os.path.join(args.out, "test.jsonl"), ("\n".join(lines) + "\n").encode())
    print(f"done: {len(rows)} utterances x {len(conds)} conditions = {len(lines)} files ({written} written now, "
          f"{len(lines) - written} reused), {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
