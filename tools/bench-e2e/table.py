#!/usr/bin/python3
"""Prints the end-to-end benchmark table from the files tools/bench-e2e/run.sh leaves in WORK.

    table.py WORK TAG TYPE [TYPE...]     (the first two types are compared as TYPE1 / TYPE2)

Per type it reads transcribe-TAG-TYPE.out (`edgeavsr transcribe --format json`), transcribe-TAG-TYPE.time (GNU
time: wall seconds, max RSS KiB), pack-TYPE/manifest.json (file sizes), pack-TYPE.time (pack build),
load-TAG-TYPE.txt.
Then the Jetson Orin figures the same byte and FLOP counts imply (estimates; shared/docs/performance-anchors.md).
"""
import json
import math
import os
import sys

STAGES = ["media", "front_end", "encoders", "projector", "prefill", "generation", "total"]
LLM_PARAMS = 1_235_814_400  # Llama-3.2-1B (the synthetic model has the same shapes)
# Work of the encoders on this model's inputs, counted as in BENCHMARKS.md "Encoders (ORT)" (2 FLOP per MAC of every
# convolution and matmul): Whisper-medium on a 30 s log-mel; AV-HuBERT Large per 125 frames (5 s at 25 fps).
WHISPER_MEDIUM_30S_GFLOP = 1138
AVHUBERT_LARGE_125_FRAMES_GFLOP = 159
ORIN = [("Orin Nano 8GB", 68, 10.0), ("Orin Nano Super", 102, 16.7), ("AGX Orin 64GB", 204.8, 42.6)]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def load(work, tag, t):
    r = {"type": t}
    r["json"] = json.loads(read(os.path.join(work, f"transcribe-{tag}-{t}.out")))
    wall, rss = read(os.path.join(work, f"transcribe-{tag}-{t}.time")).split()[-2:]
    r["wall_s"], r["max_rss"] = float(wall), int(rss) * 1024
    manifest = json.loads(read(os.path.join(work, f"pack-{t}", "manifest.json")))
    r["files"] = {f["path"]: f["bytes"] for f in manifest["files"]}
    r["decoder_bytes"] = r["files"][manifest["decoder"]["file"]]
    pack_time = os.path.join(work, f"pack-{t}.time")
    r["pack_s"] = float(read(pack_time).split()[-2]) if os.path.exists(pack_time) else None
    load_file = os.path.join(work, f"load-{tag}-{t}.txt")
    r["load"] = [line.split("load average:")[-1].strip() for line in read(load_file).splitlines()] if os.path.exists(load_file) else []
    return r


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
        texts = " | ".join(s.get("text", "") for s in r["json"].get("segments", []))
        print(f"  {r['type']}: load {' -> '.join(r['load'])}; text: {texts!r}")
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

    for s in STAGES:
        row(f"{s} ms", [r["json"]["timings_ms"].get(s) for r in runs], ms)
    row("real-time factor (total / clip)", [float(r["json"]["rtf"]) for r in runs], lambda v: f"{v:.2f}")
    gen = []
    for r in runs:
        tokens = sum(s["tokens"] if isinstance(s.get("tokens"), int) else len(s.get("tokens") or [])
                     for s in r["json"].get("segments", []))
        g = r["json"]["timings_ms"].get("generation")
        gen.append((tokens, g))
    row("segments (VAD utterances)", [len(r["json"].get("segments", [])) for r in runs], lambda v: str(v), cmp=False)
    row("generated tokens", [t for t, _ in gen], lambda v: str(v), cmp=False)
    row("generation tokens/s", [t / (g / 1000) if g else None for t, g in gen], lambda v: f"{v:.2f}" if v else "-")
    row("peak memory (reported by transcribe)", [r["json"].get("peak_memory_bytes") for r in runs], lambda v: mib(v) if v else "-")
    row("max RSS (GNU time)", [r["max_rss"] for r in runs], mib)
    row("pack load ms", [r["json"].get("load_ms") for r in runs], ms)
    row("process wall s (incl. loading)", [r["wall_s"] for r in runs], lambda v: f"{v:.1f}")
    row("decoder GGUF", [r["decoder_bytes"] for r in runs], mib)
    row("pack (all files)", [sum(r["files"].values()) for r in runs], mib)
    row("pack build s", [r["pack_s"] for r in runs], lambda v: f"{v:.0f}" if v else "-")
    print()
    print("Files (first pack): " + ", ".join(f"{k} {mib(v)}" for k, v in sorted(a["files"].items())))
    print()

    # Jetson implications from the same byte and FLOP counts (estimates, not measurements).
    prompt_rows = math.ceil(dur * 50 / 4) + math.ceil(dur * 25 / 2) + 16  # audio 50 Hz / 4, video 25 Hz / 2, + text
    prefill_gflop = 2 * LLM_PARAMS * prompt_rows / 1e9
    enc_gflop = WHISPER_MEDIUM_30S_GFLOP + AVHUBERT_LARGE_125_FRAMES_GFLOP * (dur * 25 / 125)
    print(f"Jetson Orin estimates [est] (decode ceiling = bandwidth / GGUF bytes per token; prefill ~{prompt_rows} rows x "
          f"2 x {LLM_PARAMS / 1e9:.3f} G params = {prefill_gflop:,.0f} GFLOP; encoders {enc_gflop:,.0f} GFLOP per clip; "
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
