#!/usr/bin/python3
"""Stage 5: word error rate on the held-out test set (held-out sentences spoken by held-out voices), greedy
decoding in PyTorch, per task (ASR / VSR / AVSR) and SNR (clean, 10, 5, 0, -5 dB), per layout.

    nice -n 10 /usr/bin/python3 Models/train/evaluate.py --layout dedr [--n 400] [--kinds babble,white]
    /usr/bin/python3 Models/train/evaluate.py --table          (markdown table of runs/wer_*.json)
"""
import argparse
import json
import os
import time

import torch

import common
import train_smop


def run(args):
    common.setup(args.threads)
    test = torch.load(os.path.join(common.RUNS, "cache_test.pt"))
    model = train_smop.AvsrModel(args.layout, os.path.join(common.RUNS, "hf"))
    ck = torch.load(os.path.join(common.RUNS, f"smop_{args.layout}.pt"))
    model.load_state_dict(ck["model"])
    model.eval()
    n = min(args.n, len(test["texts"]))
    refs = test["texts"][:n]
    video = test["video"][:n].float()
    out_path = os.path.join(common.RUNS, f"wer_{args.layout}.json")
    result = {"layout": args.layout, "utterances": n, "step": ck["step"], "train_seconds": ck["seconds"], "wer": {}, "examples": {}}
    if os.path.exists(out_path):
        with open(out_path) as f:
            old = json.load(f)
        if old.get("step") == ck["step"] and old.get("utterances") == n:
            result = old
    t0 = time.time()
    conds = [("vsr", "-", "-")]
    for kind in args.kinds.split(","):
        for snr in common.SNRS:
            for task in ("asr", "avsr"):
                if kind != "babble" and snr == "clean":
                    continue
                conds.append((task, kind, snr))
    for task, kind, snr in conds:
        key = f"{task}/{kind}/{snr}"
        if key in result["wer"]:
            continue
        audio = None if task == "vsr" else test["audio"][(kind, snr)][:n].float()
        hyps = []
        for s in range(0, n, args.batch):
            hyps += model.greedy(task, None if audio is None else audio[s:s + args.batch], video[s:s + args.batch])
        result["wer"][key] = common.wer(refs, hyps)
        result["examples"][key] = list(zip(refs[:3], hyps[:3]))
        common.log(f"eval_{args.layout}", f"{key}: WER {100 * result['wer'][key]:.1f}% ({time.time() - t0:.0f} s)")
        with open(out_path + ".tmp", "w") as f:
            json.dump(result, f, indent=1)
        os.replace(out_path + ".tmp", out_path)


def table():
    rows = []
    for layout in ("dedr", "jejr"):
        p = os.path.join(common.RUNS, f"wer_{layout}.json")
        if not os.path.exists(p):
            continue
        with open(p) as f:
            r = json.load(f)
        for kind in ("babble", "white"):
            if not any(k.split("/")[1] == kind for k in r["wer"]):
                continue
            rows.append(f"\n{layout.upper()} ({r['utterances']} held-out utterances, step {r['step']}), {kind} noise, WER %:\n")
            rows.append("| task | clean | 10 dB | 5 dB | 0 dB | -5 dB |")
            rows.append("| --- | --- | --- | --- | --- | --- |")
            for task in ("asr", "vsr", "avsr"):
                cells = []
                for snr in common.SNRS:
                    k = "vsr/-/-" if task == "vsr" else f"{task}/{'babble' if snr == 'clean' else kind}/{snr}"
                    cells.append(f"{100 * r['wer'][k]:.1f}" if k in r["wer"] else "-")
                rows.append(f"| {task.upper()} | " + " | ".join(cells) + " |")
    print("\n".join(rows))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", choices=["dedr", "jejr"])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--kinds", default="babble")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    table() if args.table else run(args)


if __name__ == "__main__":
    main()
