#!/usr/bin/env bash
# The NativeAOT binary on real work: a small generated pack (tiny seeded encoders, Llama-SMoP checkpoint, INT8
# projector, Q8_0 LLM) and a two-sentence espeak-ng clip, transcribed by the AOT binary and by the JIT build; the
# two JSON transcripts must carry the same tokens. Called by ./build.sh test after the publish.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CONFIG=${CONFIG:-Release}
AOT=${1:?usage: transcribe.sh AOT_BINARY}
PY=/usr/bin/python3
QUANTIZE=(dotnet "$ROOT/Quantize/EdgeAvsr.Quantize.Cli/bin/$CONFIG/net10.0/edgeavsr-quantize.dll")
JIT=(dotnet "$ROOT/Runtime/EdgeAvsr.Cli/bin/$CONFIG/net10.0/edgeavsr.dll")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

run() { # name command...: quiet unless it fails
  local name=$1; shift
  "$@" >"$name.out" 2>"$name.log" || { echo "aot smoke: '$*' failed:" >&2; tail -n 20 "$name.out" "$name.log" >&2; exit 1; }
}

run export-audio "$PY" "$ROOT/Models/encoders/export_encoder.py" export --arch whisper --size tiny --seed 5 \
  --save-weights audio.safetensors --out audio.onnx
run export-video "$PY" "$ROOT/Models/encoders/export_encoder.py" export --arch avhubert --size tiny --seed 6 \
  --save-weights video.safetensors --out video.onnx
run checkpoint "${QUANTIZE[@]}" synthetic-checkpoint --size tiny --seed 5 --audio-encoder-weights audio.safetensors \
  --video-encoder-weights video.safetensors --out ckpt.safetensors --train-config train.json --hf hf
run pack "${QUANTIZE[@]}" pack --checkpoint ckpt.safetensors --train-config train.json --hf hf --audio-encoder audio.onnx \
  --video-encoder video.onnx --llm-type q8_0 --projector-precision int8 --ep cpu --out pack
run clip "$PY" "$ROOT/Models/media/make_clip.py" --text "hello edge device" --text "we listen and watch" --gap 0.3 --seed 5 \
  --out clip.mp4
args=(transcribe --model pack --input clip.mp4 --task avsr --beams 1 --max-new-tokens 8 --format json)
run aot "$AOT" "${args[@]}" --out aot.json
run jit "${JIT[@]}" "${args[@]}" --out jit.json
"$PY" - aot.json jit.json <<'PY'
import json, sys
aot, jit = (json.load(open(p)) for p in sys.argv[1:3])
tokens = lambda doc: [s.get("tokens", s.get("text")) for s in doc["segments"]]
if not aot["segments"] or tokens(aot) != tokens(jit):
    sys.exit(f"aot smoke: transcripts differ or are empty:\n AOT {tokens(aot)}\n JIT {tokens(jit)}")
print(f"aot smoke: transcribe (AVSR, INT8 projector + Q8_0) gives the JIT build's {len(aot['segments'])} segment(s)")
PY
