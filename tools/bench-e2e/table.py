#!/usr/bin/python3
"""Prints the end-to-end benchmark table from the files tools/bench-e2e/run.sh leaves in WORK.

    table.py WORK TAG TYPE [TYPE...]     (the first two types are compared as TYPE1 / TYPE2)

Per type and round N it reads transcribe-TAG-TYPE-rN.out (`edgeavsr transcribe --format json`),
transcribe-TAG-TYPE-rN.time (GNU time: wall seconds, max RSS KiB) and load-TAG-TYPE-rN.txt; and pack-TYPE/manifest.json
(file sizes), pack-TYPE.time (pack build). Measured rows show the median over the rounds, with min-max when more
than one; ratios are of the medians.
Then the Jetson Orin figures the same byte and FLOP counts imply (estimates; shared/docs/performance-anchors.md).
"""
import glob
import json
import math
import os
import statistics
import sys

STAGES = ["media", "front_end", "encoders", "projector", "prefill", "generation", "total"]
LLM_PARAMS = 1_235_814_400  # Llama-3.2-1B (the synthetic model has the same shapes)
EMBEDDING_PARAMS = 128_256 * 2048  # a table lookup per prompt row, not a matmul (the tied head runs for the last row only)
# Work of the encoders on this model's inputs, counted as in BENCHMARKS.md "Encoders (ORT)" (2 FLOP per MAC of every
# convolution and matmul): Whisper-medium on a 30 s log-mel; AV-HuBERT Large per 125 frames (5 s at 25 fps).
WHISPER_MEDIUM_30S_GFLOP = 1138
AVHUBERT_LARGE_125_FRAMES_GFLOP = 159
ORIN = [("Orin Nano 8GB", 68, 10.0), ("Orin Nano Super", 102, 16.7), ("AGX Orin 64GB", 204.8, 42.6)]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load_round(work, tag, t, n):
    stem = os.path.join(work, f"transcribe-{tag}-{t}-r{n}")
    j = json.loads(read(stem + ".out"))
    wall, rss = read(stem + ".time").split()[-2:]
    load_file = os.path.join(work, f"load-{tag}-{t}-r{n}.txt")
    loads = [line.split("load average:")[-1].split(",")[0].strip() for line in read(load_file).splitlines()] \
        if os.path.exists(load_file) else []
    return j, float(wall), int(rss) * 1024, loads


def load(work, tag, t):
    r = {"type": t}
    rounds = sorted(int(p.rsplit("-r", 1)[1][:-4]) for p in glob.glob(os.path.join(work, f"transcribe-{tag}-{t}-r*.out")))
    if not rounds:
        raise SystemExit(f"no transcribe-{tag}-{t}-r*.out in {work}")
    r["rounds"] = [load_round(work, tag, t, n) for n in rounds]
    r["json"] = r["rounds"][0][0]
    manifest = json.loads(read(os.path.join(work, f"pack-{t}", "manifest.json")))
    r["files"] = {f["path"]: f["bytes"] for f in manifest["files"]}
    r["decoder_bytes"] = r["files"][manifest["decoder"]["file"]]
    pack_time = os.path.join(work, f"pack-{t}.time")
    r["pack_s"] = float(read(pack_time).split()[-2]) if os.path.exists(pack_time) else None
    return r


def values(r, get):
    """get(json, wall_s, max_rss) over the rounds (None where missing)."""
    return [get(j, wall, rss) for j, wall, rss, _ in r["rounds"]]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ms(x):
    return f"{x:,.0f}" if x is not None else "-"


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b not in (None, 0) else "-"


def mib(b):
    return f"{b / 2**20:,.1f} MiB"


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    work, tag, types = sys.argv[1], sys.argv[2], sys.argv[3:]
    runs = [load(work, tag, t) for t in types]
    a, b = runs[0], runs[1] if len(runs) > 1 else None
    j0 = a["json"]
    dur = float(j0["duration_seconds"])
    print(f"{tag}; clip: {dur:.2f} s, task {j0.get('task')}; machine: {os.cpu_count()} logical cores, shared (load averages below)")
    for r in runs:
        loads = "; ".join(" -> ".join(lo) for _, _, _, lo in r["rounds"])
        texts = " | ".join(s.get("text", "")[:60] for s in r["json"].get("segments", []))
        print(f"  {r['type']}: {len(r['rounds'])} round(s), 1-min load average before -> after each: {loads}; "
              f"text (first 60 chars per segment, random weights): {texts!r}")
    print()
    head = "| | " + " | ".join(r["type"] for r in runs) + (f" | {a['type']} / {b['type']} |" if b else " |")
    print(head)
    print("|" + " --- |" * (len(runs) + 1 + (1 if b else 0)))

    def row(name, values, fmt, cmp=True):
        cells = [fmt(v) for v in values]
        extra = [ratio(values[0], values[1])] if b else []
        if b and not cmp:
            extra = [""]
        print(f"| {name} | " + " | ".join(cells + extra) + " |")

    def measured(name, get, fmt):
        """Median over rounds, with the range when there is more than one round."""
        cells, medians = [], []
        for r in runs:
            xs = [x for x in values(r, get) if x is not None]
            m = med(xs)
            medians.append(m)
            cells.append("-" if m is None else fmt(m) + (f" ({fmt(min(xs))}-{fmt(max(xs))})" if len(xs) > 1 else ""))
        extra = [ratio(medians[0], medians[1])] if b else []
        print(f"| {name} | " + " | ".join(cells + extra) + " |")

    def tokens(j):
        return sum(s["tokens"] if isinstance(s.get("tokens"), int) else len(s.get("tokens") or []) for s in j.get("segments", []))

    for s in STAGES:
        measured(f"{s} ms", lambda j, w, m, s=s: j["timings_ms"].get(s), ms)
    measured("real-time factor (media + pipeline / clip)", lambda j, w, m: float(j["rtf"]), lambda v: f"{v:.2f}")
    row("segments (VAD utterances)", [len(r["json"].get("segments", [])) for r in runs], lambda v: str(v), cmp=False)
    row("generated tokens per round", [tokens(r["json"]) for r in runs], lambda v: str(v), cmp=False)
    measured("generation tokens/s", lambda j, w, m: tokens(j) / (j["timings_ms"]["generation"] / 1000) if j["timings_ms"].get("generation") else None,
             lambda v: f"{v:.2f}")
    measured("peak memory (reported by transcribe)", lambda j, w, m: j.get("peak_memory_bytes"), mib)
    measured("max RSS (GNU time)", lambda j, w, m: m, mib)
    measured("pack load ms", lambda j, w, m: j.get("load_ms"), ms)
    measured("process wall s (incl. loading)", lambda j, w, m: w, lambda v: f"{v:.1f}")
    row("decoder GGUF", [r["decoder_bytes"] for r in runs], mib)
    row("pack (all files)", [sum(r["files"].values()) for r in runs], mib)
    row("pack build s", [r["pack_s"] for r in runs], lambda v: f"{v:.0f}" if v else "-")
    print()
    print("Files (first pack): " + ", ".join(f"{k} {mib(v)}" for k, v in sorted(a["files"].items())))
    print()

    # Jetson implications from the same byte and FLOP counts (estimates, not measurements).
    prompt_rows = math.ceil(dur * 50 / 4) + math.ceil(dur * 25 / 2) + 16  # audio 50 Hz / 4, video 25 Hz / 2, + text
    prefill_gflop = 2 * (LLM_PARAMS - EMBEDDING_PARAMS) * prompt_rows / 1e9
    enc_gflop = WHISPER_MEDIUM_30S_GFLOP + AVHUBERT_LARGE_125_FRAMES_GFLOP * (dur * 25 / 125)
    print(f"Jetson Orin estimates [est] (decode ceiling = bandwidth / GGUF bytes per token; prefill ~{prompt_rows} rows x "
          f"2 x {(LLM_PARAMS - EMBEDDING_PARAMS) / 1e9:.3f} G non-embedding params = {prefill_gflop:,.0f} GFLOP; encoders {enc_gflop:,.0f} GFLOP per clip; "
          f"GPU at 40% of dense FP16)")
    print("| module | GB/s | " + " | ".join(f"{r['type']} decode ceiling tok/s" for r in runs)
          + " | prefill ms | encoders ms |")
    print("|" + " --- |" * (len(runs) + 4))
    for name, bw, tflops in ORIN:
        ceil = [f"{bw * 1e9 / r['decoder_bytes']:.0f}" for r in runs]
        eff = tflops * 1e12 * 0.4
        print(f"| {name} | {bw:g} | " + " | ".join(ceil)
              + f" | {prefill_gflop * 1e9 / eff * 1e3:.0f} | {enc_gflop * 1e9 / eff * 1e3:.0f} |")


if __name__ == "__main__":
    main()
