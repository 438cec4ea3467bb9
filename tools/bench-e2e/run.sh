#!/usr/bin/env bash
# End-to-end benchmark at the Llama-SMoP 1B sizes (issue 5): `./build.sh bench e2e [--seed N] [--threads N]`.
#
# 1. Generates once, cached in artifacts/bench-1b/seed-N/ (keyed by the seed): the encoders at their real sizes with
#    seeded weights (Models/encoders/export_encoder.py: Whisper-medium, AV-HuBERT Large), the seeded Llama-SMoP 1B
#    checkpoint in the authors' key layout with its training config and base HF Llama-3.2-1B-shaped directory
#    (`edgeavsr-quantize synthetic-checkpoint --size 1b`), and two packs (`edgeavsr-quantize pack`, projector int8,
#    LLM q4_k_m and q8_0).
# 2. Makes a ~10 s clip of four sentences (10.0 s; pauses of 0.15 s, shorter than the 400 ms that ends an utterance,
#    so transcribe keeps it as one segment) (Models/media/make_clip.py: espeak-ng speech + a mouth video, H.264/AAC MP4).
# 3. Runs `edgeavsr transcribe --model PACK --input CLIP --format json` for each pack under /usr/bin/time and prints
#    a table (tools/bench-e2e/table.py): per-stage ms, RTF, peak memory, file sizes, q4_k_m / q8_0 ratios.
# Expects a Release build (build.sh's bench verb builds first). Nothing here runs in `./build.sh test`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONFIG=${CONFIG:-Release}
SEED=7
THREADS=$(nproc)
BEAMS=
REPS=1
TYPES=(q4_k_m q8_0)
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) SEED=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --beams) BEAMS=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    *) echo "bench e2e: unknown argument '$1' (use --seed N, --threads N, --beams B, --reps R)" >&2; exit 2 ;;
  esac
done
# Results of one configuration go to files tagged with it (transcribe-TAG-TYPE-rN.*): the pack's beams unless --beams.
# With --reps R the packs alternate (q4_k_m, q8_0, q4_k_m, ...) so load changes on the shared machine hit both.
TAG=beams-${BEAMS:-pack}

WORK="$ROOT/artifacts/bench-1b/seed-$SEED"
QUANTIZE=(dotnet "$ROOT/Quantize/EdgeAvsr.Quantize.Cli/bin/$CONFIG/net10.0/edgeavsr-quantize.dll")
EDGEAVSR=(dotnet "$ROOT/Runtime/EdgeAvsr.Cli/bin/$CONFIG/net10.0/edgeavsr.dll")
PY=/usr/bin/python3
mkdir -p "$WORK"
cd "$WORK"

log() { printf '[bench e2e %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# timed NAME CMD...: runs CMD with stdout in NAME.out and stderr in NAME.log; wall seconds and max RSS (KiB) of the
# process go to NAME.time (GNU time).
timed() {
  local name=$1; shift
  if ! /usr/bin/time -f '%e %M' -o "$name.time" "$@" >"$name.out" 2>"$name.log"; then
    echo "bench e2e: '$*' failed; its output:" >&2
    tail -n 30 "$name.out" "$name.log" >&2
    exit 1
  fi
}

# Encoders (cached): the ONNX graph and the weights the checkpoint copies, written under temporary names first.
export_encoder() { # arch size seed stem
  local arch=$1 size=$2 seed=$3 stem=$4
  if [ -f "$stem.onnx" ] && [ -f "$stem.weights.safetensors" ]; then return; fi
  log "exporting the $arch ($size) encoder, seed $seed"
  timed "export-$stem" "$PY" "$ROOT/Models/encoders/export_encoder.py" export --arch "$arch" --size "$size" --seed "$seed" \
    --save-weights "$stem.weights.tmp.safetensors" --out "$stem.tmp.onnx"
  mv "$stem.weights.tmp.safetensors" "$stem.weights.safetensors"
  mv "$stem.tmp.onnx" "$stem.onnx"
}
export_encoder whisper medium "$SEED" audio_encoder
export_encoder avhubert large "$((SEED + 1))" video_encoder

if [ ! -f checkpoint.safetensors ] || [ ! -f train_config.json ] || [ ! -f hf/config.json ]; then
  log "writing the seeded Llama-SMoP 1B checkpoint and its base HF directory"
  rm -rf hf hf.tmp
  timed synthetic-checkpoint "${QUANTIZE[@]}" synthetic-checkpoint --size 1b --seed "$SEED" \
    --audio-encoder-weights audio_encoder.weights.safetensors --video-encoder-weights video_encoder.weights.safetensors \
    --out checkpoint.tmp.safetensors --train-config train_config.json --hf hf.tmp
  mv hf.tmp hf
  mv checkpoint.tmp.safetensors checkpoint.safetensors
fi

for t in "${TYPES[@]}"; do
  if [ -f "pack-$t/manifest.json" ]; then continue; fi
  log "building pack-$t (projector int8, LLM $t, $THREADS threads)"
  rm -rf "pack-$t"
  timed "pack-$t" "${QUANTIZE[@]}" pack --checkpoint checkpoint.safetensors --train-config train_config.json --hf hf \
    --audio-encoder audio_encoder.onnx --video-encoder video_encoder.onnx --llm-type "$t" --projector-precision int8 \
    --threads "$THREADS" --name "llama-smop-1b-synthetic-$t" --out "pack-$t"
done

if [ ! -f clip.mp4 ]; then
  log "making the ~10 s clip"
  "$PY" "$ROOT/Models/media/make_clip.py" --seed "$SEED" --gap 0.15 --lead 0.3 \
    --text "the edge device transcribes speech and video" \
    --text "we watch the lips of the speaker" \
    --text "this small model runs here" \
    --text "four sentences make ten seconds" \
    --out clip.tmp.mp4 >clip.json
  mv clip.tmp.mp4 clip.mp4
fi

rm -f transcribe-"$TAG"-* load-"$TAG"-*
for ((r = 1; r <= REPS; r++)); do
  for t in "${TYPES[@]}"; do
    log "transcribing with pack-$t ($THREADS threads, beams ${BEAMS:-of the pack}, round $r of $REPS)"
    uptime >"load-$TAG-$t-r$r.txt"
    timed "transcribe-$TAG-$t-r$r" "${EDGEAVSR[@]}" transcribe --model "pack-$t" --input clip.mp4 --format json \
      --threads "$THREADS" ${BEAMS:+--beams "$BEAMS"} --verbose
    uptime >>"load-$TAG-$t-r$r.txt"
  done
done

"$PY" "$ROOT/tools/bench-e2e/table.py" "$WORK" "$TAG" "${TYPES[@]}"
