#!/usr/bin/python3
"""Stage 1: pretrains one encoder with word-level CTC (51 GRID words + blank), resumable.

    nice -n 10 /usr/bin/python3 Models/train/train_encoders.py --modality audio --steps 1500 [--batch 16]
    nice -n 10 /usr/bin/python3 Models/train/train_encoders.py --modality video --steps 1200

audio: the Whisper-style encoder on the log-mel of the utterance with noise (babble or white at a random SNR of
clean/20/10/5/0/-5 dB); video: the AV-HuBERT-style encoder on randomly cropped mouth ROIs. Checkpoint
runs/<modality>_encoder.pt (model, CTC head, optimiser, step) every --save-every steps and at the end; a rerun
continues from it. --seconds stops early (checkpointed) after that much wall time.
"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import common


VIDEO_CROP = 50


def crop_start(split, r):
    o, _ = split.speech([r])[0]
    return max(0, int(o / common.RATE * common.FPS) - 2)


def fits(split, r):
    o, c = split.speech([r])[0]
    s0 = crop_start(split, r)
    return (o + c) / common.RATE * common.FPS + 1 <= s0 + VIDEO_CROP and s0 + VIDEO_CROP <= common.N_VIDEO


def batch(args, split, babble, rows, rng, train=True, snr=None):
    if args.modality == "audio":
        wave = split.wave(rows)
        if train:
            # an SNR per clip, not per batch: whole batches of -5 dB babble swung the shared weights back and forth
            snr_choices = ["clean"] * 5 + [20, 10, 5, 0, -5]
            speech = split.speech(rows)
            wave = torch.cat([common.mix(wave[b:b + 1], speech[b:b + 1], snr_choices[rng.integers(len(snr_choices))],
                                         ["babble" if rng.random() < 0.6 else "white"], babble, rng) for b in range(len(rows))])
            return common.log_mel(wave)
        s, kinds = ("clean" if snr is None else snr), ["babble"] * len(rows)
        wave = common.mix(wave, split.speech(rows), s, kinds, babble, rng)
        return common.log_mel(wave)
    x = common.roi(split.frames(rows), train=train, rng=rng)
    if train:
        # the frames around the speech only (CTC sees every word; 2 s instead of 3 s per clip)
        starts = [max(0, int(o / common.RATE * common.FPS) - 2) for o, _ in split.speech(rows)]
        x = torch.stack([x[b, :, s0:s0 + VIDEO_CROP] for b, s0 in enumerate(starts)])
    return x


def spec_augment(mel, rng):
    """SpecAugment-style masks (2 of up to 8 mel bins, 2 of up to 12 frames per clip), filled with the clip's mean:
    held-out voices differ from the training voices mostly in their spectra."""
    mel = mel.clone()
    B, M, T = mel.shape
    for b in range(B):
        fill = mel[b].mean()
        for _ in range(2):
            w = int(rng.integers(0, 9))
            f0 = int(rng.integers(0, M - w + 1))
            mel[b, f0:f0 + w] = fill
            w = int(rng.integers(0, 13))
            t0 = int(rng.integers(0, T - w + 1))
            mel[b, :, t0:t0 + w] = fill
    return mel


def frame_targets(split, rows, T, rate, label, pid, firsts):
    """[B, T] class ids (0 = silence) from espeak's phoneme timings; firsts[b]: the frame row b's window starts at."""
    tgt = torch.zeros(len(rows), T, dtype=torch.long)
    for b, r in enumerate(rows):
        m = split.meta[r]
        centre = (np.arange(T) + firsts[b] + 0.5) / rate - m["offset"]
        for ph_name, st, en in m["phonemes"]:
            q = ph_name.strip("#:;',")
            if q in label:
                tgt[b, torch.from_numpy((centre >= st) & (centre < en))] = pid[label[q]]
    return tgt


def frame_accuracy(enc, phone_head, split, rows, label, pid, args):
    """Share of speech frames whose phoneme (audio) or viseme class (video) the frame head gets right, clean input."""
    with torch.no_grad():
        if args.modality == "audio":
            hidden = enc(common.log_mel(split.wave(rows)))
        else:
            hidden = enc(common.roi(split.frames(rows)))
        rate = 50.0 if args.modality == "audio" else float(common.FPS)
        tgt = frame_targets(split, rows, hidden.shape[1], rate, label, pid, [0] * len(rows))
        speech = tgt > 0
        return float((phone_head(hidden).argmax(-1)[speech] == tgt[speech]).float().mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--modality", choices=["audio", "video"], required=True)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--save-every", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=1e9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--phone-weight", type=float, default=1.0)
    ap.add_argument("--budget", type=float, default=0.0,
                    help="seconds of training the cosine schedule spans (with --steps: whichever ends first)")
    ap.add_argument("--spec-augment", action="store_true", help="audio: 2 frequency and 2 time masks per clip")
    ap.add_argument("--ctc-detach", action="store_true",
                    help="the word CTC head learns from the encoder's states without training the encoder (it measures "
                         "them): word CTC from the start kept the encoder on the blank plateau, 16%% frame phoneme accuracy "
                         "after 250 steps against 63%% with the frame targets alone")
    args = ap.parse_args()
    common.setup(args.threads)
    name = f"{args.modality}_encoder"
    path = f"{common.RUNS}/{name}.pt"
    torch.manual_seed(1)
    enc = common.audio_encoder() if args.modality == "audio" else common.video_encoder()
    dim = (common.AUDIO_ENC if args.modality == "audio" else common.VIDEO_ENC)["dim"]
    head = nn.Linear(dim, len(common.WORDS) + 1)
    # a second head: frame-level phoneme classes from espeak's timings, dense targets the word CTC alone learns
    # slowly from (video: viseme classes, the phonemes that the viseme table renders alike merged)
    phones = sorted({p.strip("#:;',") or "_" for m in common.Split("train").meta for p, _, _ in m["phonemes"]} - {"_"})
    label = {p: p for p in phones}
    if args.modality == "video":
        import visemes
        label = {p: "/".join(",".join(f"{x:.3f}" for x in t) for t in visemes.targets_of(p)) for p in phones}
        label = {p: v for p, v in label.items() if v != "/".join(",".join(f"{x:.3f}" for x in t) for t in visemes.targets_of("_"))}
        phones = sorted(set(label.values()))
    phone_head = nn.Linear(dim, len(phones) + 1)
    params = [p for p in list(enc.parameters()) + list(head.parameters()) + list(phone_head.parameters()) if p.requires_grad]
    pid = {p: i + 1 for i, p in enumerate(phones)}
    head_params = list(head.parameters())
    body_params = [p for p in params if all(p is not h for h in head_params)]
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.98), weight_decay=0.01)
    step, spent = 0, 0.0
    try:
        ck = torch.load(path)
        enc.load_state_dict(ck["model"])
        head.load_state_dict(ck["head"])
        if "phone_head" in ck and ck["phones"] == phones:
            phone_head.load_state_dict(ck["phone_head"])
        try:
            opt.load_state_dict(ck["opt"])
        except ValueError:
            common.log(name, "optimiser state does not fit (a head was added): fresh moments")
        step, spent = ck["step"], ck.get("seconds", 0.0)
        common.log(name, f"resumed at step {step} ({spent:.0f} s so far)")
    except FileNotFoundError:
        pass
    train, test = common.Split("train"), common.Split("test")
    babble = common.Split("babble_train")
    rng = np.random.default_rng(step + 1)
    t0 = time.time()
    start = t0
    warm = 300
    best_acc = -1.0

    def checkpoint():
        common.save(path, dict(model=enc.state_dict(), head=head.state_dict(), phone_head=phone_head.state_dict(), phones=phones,
                               opt=opt.state_dict(), step=step,
                               seconds=spent + time.time() - start, config=common.AUDIO_ENC if args.modality == "audio" else common.VIDEO_ENC))

    while step < args.steps:
        if time.time() - start > args.seconds:
            break
        if step % 200 == 0:
            train = common.Split("train")  # pick up rows generated since
        progress = step / args.steps
        if args.budget > 0:
            progress = max(progress, (spent + time.time() - start) / args.budget)
        lr = args.lr * min(1.0, (step + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
        for g in opt.param_groups:
            g["lr"] = lr
        enc.train()
        if args.modality == "video":
            enc.feature_extractor_video.resnet.frontend3D.eval()
        rows = rng.integers(len(train), size=args.batch)
        if args.modality == "video":
            rows = np.array([r for r in rows if fits(train, r)] or [r for r in range(len(train)) if fits(train, r)][:1])
        x = batch(args, train, babble, rows, rng)
        if args.spec_augment and args.modality == "audio":
            x = spec_augment(x, rng)
        hidden = enc(x)
        logits = head(hidden.detach() if args.ctc_detach else hidden)
        targets, tl = common.ctc_words(train.texts(rows))
        lp = F.log_softmax(logits, -1).transpose(0, 1)
        loss = F.ctc_loss(lp, targets, torch.full((len(rows),), lp.shape[0], dtype=torch.long), tl, zero_infinity=True)
        if args.phone_weight > 0:
            # frame-level targets from the phoneme timings (0 = silence): dense supervision, no CTC plateau
            rate = 50.0 if args.modality == "audio" else float(common.FPS)
            firsts = [0 if args.modality == "audio" else crop_start(train, r) for r in rows]
            tgt = frame_targets(train, rows, hidden.shape[1], rate, label, pid, firsts)
            ploss = F.cross_entropy(phone_head(hidden).reshape(-1, len(phones) + 1), tgt.reshape(-1))
            loss = loss + args.phone_weight * ploss
        if not torch.isfinite(loss):
            # one bad batch must not poison the weights (a NaN step once turned a whole run into blanks)
            common.log(name, f"step {step}: loss {loss.item()} on rows {rows.tolist()} (input finite: {bool(torch.isfinite(x).all())}); skipped")
            step += 1
            continue
        opt.zero_grad()
        loss.backward()
        # The word head apart: its CTC gradients (large on the blank plateau) must not shrink the encoder's by a shared norm.
        norm = torch.nn.utils.clip_grad_norm_(body_params, 5.0)
        torch.nn.utils.clip_grad_norm_(head_params, 5.0)
        if not torch.isfinite(norm):
            common.log(name, f"step {step}: gradient norm {norm.item()}; step skipped")
            step += 1
            continue
        opt.step()
        step += 1
        if step % 10 == 0:
            common.log(name, f"step {step} loss {loss.item():.3f} lr {lr:.2e} {(time.time() - t0) / 10:.2f} s/step rows {len(train)}")
            t0 = time.time()
        if step % args.save_every == 0 or step == args.steps:
            checkpoint()
        if step % 200 == 0 or step == args.steps:
            enc.eval()
            with torch.no_grad():
                rows = np.arange(64)
                for snr in (["clean", 0] if args.modality == "audio" else ["clean"]):
                    hyp = common.greedy_ctc(head(enc(batch(args, test, common.Split("babble_test"), rows, np.random.default_rng(0), False, snr))))
                    common.log(name, f"step {step} test CTC WER ({snr}) {common.wer(test.texts(rows), hyp):.3f} e.g. {hyp[0]!r}")
                # frame phoneme accuracy on the held-out voices (clean): what the encoder is trained on; the best state is kept
                phone_acc = frame_accuracy(enc, phone_head, test, np.arange(64), label, pid, args)
                common.log(name, f"step {step} test frame phoneme accuracy (clean) {phone_acc:.3f}")
                if phone_acc > best_acc:
                    best_acc = phone_acc
                    common.save(f"{common.RUNS}/{name}.best.pt", dict(model=enc.state_dict(), step=step, phone_accuracy=phone_acc,
                                                                        config=common.AUDIO_ENC if args.modality == "audio" else common.VIDEO_ENC))
                # the same measure on training rows: the gap says whether the held-out voices or the fit is the limit
                rows = np.arange(min(64, len(train)))
                hyp = common.greedy_ctc(head(enc(batch(args, train, babble, rows, np.random.default_rng(0), False, "clean"))))
                common.log(name, f"step {step} train CTC WER (clean) {common.wer(train.texts(rows), hyp):.3f}")
    checkpoint()
    common.log(name, f"stopped at step {step}")


if __name__ == "__main__":
    main()
