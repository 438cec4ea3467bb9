#!/usr/bin/python3
"""Generates the synthetic audio-visual GRID data set from one seed (resumable; run under nice).

    /usr/bin/python3 Models/data/make_data.py --out Models/data/cache [--train 6000] [--test 400] [--seed 15] [--workers 2]

Per split, in --out: <split>_audio.npy int16 [N, 48000] (3.0 s at 16 kHz, the utterance at a random offset),
<split>_video.npy uint8 [N, 75, 96, 96] (25 fps mouth crops; babble splits have none), <split>.jsonl (text,
voice, speaker, speed, pitch, offset, phonemes). Splits: train (training sentences and voices), test
(held-out sentences AND held-out voices), babble_train / babble_test (audio only, the babble noise pools).
Work is done in chunks of 100 utterances; a chunk's marker file is written after its rows are flushed, so
a rerun continues where the last one stopped.
"""
import argparse
import json
import os
import sys
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import grid  # noqa: E402

RATE, FPS, SECONDS = 16000, 25, 3.0
N_SAMPLES, N_FRAMES = int(RATE * SECONDS), int(FPS * SECONDS)
CHUNK = 100

ACCENTS = ["en", "en-us", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc"]
TRAIN_VARIANTS = ("m1 m2 m3 m4 m5 m7 m8 f1 f2 f3 f5 klatt klatt2 klatt3 klatt4 klatt6 Alex Alicia Andrea Andy "
                  "AnxiousAndy Denis Diogo Gene Henrique Hugo Jacky Lee Marco Mario Michael Mike Nguyen Storm "
                  "Tweaky adam anika announcer antonio aunty belinda boris caleb david ed edward iven iven3 john "
                  "kaukovalta linda max michel miguel norbert pablo pedro quincy rob robert sandro shelby steph "
                  "travis victor zac").split()
# Voices (variants) never heard or seen in training.
TEST_VARIANTS = "m6 f4 klatt5 Annie benjamin edward2 Gene2 grandma grandpa gustave iven2 marcelo paul steph2".split()


def stable_seed(*parts):
    return zlib.crc32("/".join(map(str, parts)).encode())


def plan(seed, n_train, n_test, n_babble_train=200, n_babble_test=100):
    train_s, test_s = grid.split_sentences(seed)
    rng = np.random.default_rng(seed)
    jobs = {}
    for split, n, sentences, variants in (("train", n_train, train_s, TRAIN_VARIANTS),
                                          ("test", n_test, test_s, TEST_VARIANTS),
                                          ("babble_train", n_babble_train, train_s, TRAIN_VARIANTS),
                                          ("babble_test", n_babble_test, test_s, TEST_VARIANTS)):
        rows = []
        for i in range(n):
            accent = ACCENTS[rng.integers(len(ACCENTS))]
            variant = variants[rng.integers(len(variants))]
            rows.append(dict(split=split, index=i, text=sentences[rng.integers(len(sentences))],
                             voice=f"{accent}+{variant}", speaker=f"{accent}+{variant}",
                             speed=int(rng.integers(140, 211)), pitch_jitter=int(rng.integers(-8, 9)),
                             range=int(rng.integers(30, 81)), seed=int(rng.integers(2**31))))
        jobs[split] = rows
    return jobs


def speaker_pitch(speaker):
    return 30 + stable_seed("pitch", speaker) % 41


def synth(es, row):
    """-> (float32 16 kHz samples, [(phoneme, start_s, end_s)])."""
    import torch
    import torchaudio.functional as AF
    speed = row["speed"]
    for _ in range(6):
        pcm, events = es.synth(grid.spoken_text(row["text"]), row["voice"], speed,
                               speaker_pitch(row["speaker"]) + row["pitch_jitter"], row["range"])
        dur = len(pcm) / es.rate
        if dur <= SECONDS - 0.15:
            break
        speed += 25
    x = torch.from_numpy(pcm.astype(np.float32) / 32768.0)
    y = AF.resample(x, es.rate, RATE).numpy()
    phon = []
    for k, (name, ms) in enumerate(events):
        end = events[k + 1][1] if k + 1 < len(events) else dur * 1000
        if end > ms:
            phon.append((name, ms / 1000.0, end / 1000.0))
    return y[: N_SAMPLES - 1], phon, speed


def utterance(es, row, with_video=True):
    """One planned row -> (int16 [N_SAMPLES] audio, uint8 [N_FRAMES, 96, 96] mouth crops or None, metadata).
    Everything random comes from the row's own seed, so a row renders the same wherever and whenever it is made."""
    import visemes
    rng = np.random.default_rng(row["seed"])
    y, phon, speed = synth(es, row)
    slack = N_SAMPLES - len(y)
    offset = int(rng.integers(int(0.05 * RATE), max(int(0.05 * RATE) + 1, min(slack, int(0.5 * RATE)))))
    offset = min(offset, slack)
    a = np.zeros(N_SAMPLES, np.float32)
    a[offset:offset + len(y)] = y
    peak = np.abs(a).max() + 1e-9
    a = a / peak * rng.uniform(0.3, 0.9)
    audio = np.clip(np.rint(a * 32767), -32768, 32767).astype(np.int16)
    m = dict(row, speed=speed, offset=offset / RATE, speech_samples=[offset, len(y)],
             phonemes=[[p, round(s, 4), round(e, 4)] for p, s, e in phon])
    frames = None
    if with_video:
        look = visemes.speaker_appearance(np.random.default_rng(stable_seed("look", row["speaker"])))
        pose, light = visemes.session_conditions(rng, N_FRAMES)
        params = visemes.parameter_track(phon, N_FRAMES, offset_s=offset / RATE)
        frames = visemes.render(params, look, pose, light, rng)
    return audio, frames, m


def work(args, split, rows, chunk_ids, worker):
    import torch
    torch.set_num_threads(1)
    import espeak
    es = espeak.Espeak()
    n = len(rows)
    audio = np.lib.format.open_memmap(os.path.join(args.out, f"{split}_audio.npy"), mode="r+")
    video = None
    if not split.startswith("babble"):
        video = np.lib.format.open_memmap(os.path.join(args.out, f"{split}_video.npy"), mode="r+")
    for c in chunk_ids:
        marker = os.path.join(args.out, "chunks", f"{split}_{c:04d}.json")
        if os.path.exists(marker):
            continue
        meta = []
        for row in rows[c * CHUNK:min(n, (c + 1) * CHUNK)]:
            a, frames, m = utterance(es, row, video is not None)
            audio[row["index"]] = a
            if video is not None:
                video[row["index"]] = frames
            meta.append(m)
        audio.flush()
        if video is not None:
            video.flush()
        with open(marker + ".tmp", "w") as f:
            json.dump(meta, f)
        os.replace(marker + ".tmp", marker)
        print(f"[{worker}] {split} chunk {c} done {time.strftime('%H:%M:%S')}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--test", type=int, default=400)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "chunks"), exist_ok=True)
    jobs = plan(args.seed, args.train, args.test)
    for split, rows in jobs.items():
        ap_ = os.path.join(args.out, f"{split}_audio.npy")
        if not os.path.exists(ap_):
            np.lib.format.open_memmap(ap_, mode="w+", dtype=np.int16, shape=(len(rows), N_SAMPLES)).flush()
        vp = os.path.join(args.out, f"{split}_video.npy")
        if not split.startswith("babble") and not os.path.exists(vp):
            np.lib.format.open_memmap(vp, mode="w+", dtype=np.uint8, shape=(len(rows), N_FRAMES, 96, 96)).flush()
    import multiprocessing as mp
    procs = []
    # test first (the evaluation needs it), then the rest; chunks dealt round-robin over the workers
    order = ["test", "babble_test", "babble_train", "train"]
    for w in range(args.workers):
        def run(w=w):
            for split in order:
                rows = jobs[split]
                n_chunks = (len(rows) + CHUNK - 1) // CHUNK
                work(args, split, rows, [c for c in range(n_chunks) if c % args.workers == w], w)
        p = mp.Process(target=run)
        p.start()
        procs.append(p)
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"worker failed ({p.exitcode})")
    for split, rows in jobs.items():
        n_chunks = (len(rows) + CHUNK - 1) // CHUNK
        meta = []
        for c in range(n_chunks):
            with open(os.path.join(args.out, "chunks", f"{split}_{c:04d}.json")) as f:
                meta += json.load(f)
        with open(os.path.join(args.out, f"{split}.jsonl"), "w") as f:
            for m in meta:
                f.write(json.dumps(m) + "\n")
    print("done", flush=True)


if __name__ == "__main__":
    main()
