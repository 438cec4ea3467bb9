#!/usr/bin/python3
"""Stage 3: runs the CTC-pretrained encoders (frozen from here on) over the data and caches their states,
pooled as the model pools them (AvgPool1d 4 for audio, 2 for video), float16:

  runs/cache_train_<k>of<n>.pt  (--shard k --shards n: processes side by side) audio [N, V, 37, D] for V noise versions per utterance (clean, then babble or white at
                       random SNRs of 20/10/5/0/-5 dB), video [N, 37, D] (centre crop), texts
  runs/cache_test.pt   audio {(kind, snr): [N, 37, D]} for babble and white at clean/10/5/0/-5 dB, video, texts

    nice -n 10 /usr/bin/python3 Models/train/cache_features.py [--versions 4]
"""
import argparse
import os
import time

import numpy as np
import torch

import common


def load_encoder(modality):
    ck = torch.load(os.path.join(common.RUNS, f"{modality}_encoder.pt"))
    enc = common.audio_encoder() if modality == "audio" else common.video_encoder()
    enc.load_state_dict(ck["model"])
    return enc.eval()


def pool(states, k):
    return torch.nn.functional.avg_pool1d(states.transpose(1, 2), k).transpose(1, 2)


def audio_feats(enc, split, babble, rows, snr, kinds, rng):
    wave = common.mix(split.wave(rows), split.speech(rows), snr, kinds, babble, rng)
    states = enc(common.log_mel(wave))[:, :max(int(wave.shape[1] / common.RATE * 50), 25)]
    return pool(states, common.POOL_AUDIO).half()


def video_feats(enc, split, rows):
    return pool(enc(common.roi(split.frames(rows))), common.POOL_VIDEO).half()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--versions", type=int, default=4)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=["train", "test"])
    ap.add_argument("--shard", type=int, default=0, help="train rows s with (s // batch) % shards == shard")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--max-rows", type=int, default=8000)
    ap.add_argument("--reuse-video", help="a runs folder whose caches (same shards) hold the video features already: "
                                          "only the audio is recomputed (after retraining the audio encoder)")
    args = ap.parse_args()
    common.setup(args.threads)
    aenc, venc = load_encoder("audio"), load_encoder("video")
    old_test = old_train = None
    if args.reuse_video:
        old_test = torch.load(os.path.join(args.reuse_video, "cache_test.pt")) if args.only != "train" else None
        old_train = torch.load(os.path.join(args.reuse_video, f"cache_train_{args.shard}of{args.shards}.pt")) if args.only != "test" else None
    t0 = time.time()
    with torch.no_grad():
        if args.only != "train":
            test, bt = common.Split("test"), common.Split("babble_test")
            out = {"texts": test.texts(range(len(test))), "speakers": [m["speaker"] for m in test.meta], "audio": {}}
            for kind in ("babble", "white"):
                for snr in common.SNRS:
                    if kind == "white" and snr == "clean":
                        continue
                    feats = []
                    for s in range(0, len(test), args.batch):
                        rows = np.arange(s, min(len(test), s + args.batch))
                        rng = np.random.default_rng(1000 + s + (0 if snr == "clean" else 100 * int(snr)) + (7 if kind == "white" else 0))
                        feats.append(audio_feats(aenc, test, bt, rows, snr, [kind] * len(rows), rng))
                    out["audio"][(kind, snr)] = torch.cat(feats)
                    common.log("cache", f"test {kind} {snr} done {time.time() - t0:.0f} s")
            out["audio"][("white", "clean")] = out["audio"][("babble", "clean")]
            out["video"] = old_test["video"] if old_test is not None else torch.cat(
                [video_feats(venc, test, np.arange(s, min(len(test), s + args.batch))) for s in range(0, len(test), args.batch)])
            common.save(os.path.join(common.RUNS, "cache_test.pt"), out)
            common.log("cache", f"test cached {time.time() - t0:.0f} s")
        if args.only != "test":
            train, bb = common.Split("train"), common.Split("babble_train")
            rng = np.random.default_rng(5 + args.shard)
            audio, video, snrs, texts = [], [], [], []
            n = min(len(train), args.max_rows)
            for s in range(0, n, args.batch):
                if (s // args.batch) % args.shards != args.shard:
                    continue
                rows = np.arange(s, min(n, s + args.batch))
                texts += train.texts(rows)
                versions, labels = [audio_feats(aenc, train, bb, rows, "clean", None, rng)], ["clean"]
                for v in range(1, args.versions):
                    snr = [20, 10, 5, 0, -5][rng.integers(5)] if v > 1 else [10, 5, 0, -5][rng.integers(4)]
                    kinds = ["babble" if rng.random() < 0.6 else "white" for _ in rows]
                    versions.append(audio_feats(aenc, train, bb, rows, snr, kinds, rng))
                    labels.append(snr)
                audio.append(torch.stack(versions, 1))
                snrs.append(labels)
                if old_train is None:
                    video.append(video_feats(venc, train, rows))
                if (s // args.batch) % 10 == 0:
                    common.log("cache", f"train shard {args.shard}: {s + len(rows)}/{n} {time.time() - t0:.0f} s")
            common.save(os.path.join(common.RUNS, f"cache_train_{args.shard}of{args.shards}.pt"),
                        dict(audio=torch.cat(audio), video=old_train["video"] if old_train is not None else torch.cat(video), texts=texts))
            common.log("cache", f"train shard {args.shard} cached ({len(texts)} rows) {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
