#!/usr/bin/env bash
# Prepares the GPU check for a machine with a CUDA device (x86-64, sm_90, no network, a 64 MiB tree): the NativeAOT
# edgeavsr for linux-x64 with libsmop_cuda.so beside it (no engine libraries: the check needs neither ONNX Runtime nor
# llama.cpp) and two seeded INT8 projector files with their tokens, all made here, into artifacts/gpu-check.
# Needs ./build.sh cuda first (the .so). On the GPU machine: tools/gpu-check/run.sh (no restore, no build there).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=artifacts/gpu-check
[ -f artifacts/native/libsmop_cuda.so ] || { echo "gpu-check: artifacts/native/libsmop_cuda.so missing (./build.sh cuda)" >&2; exit 2; }
rm -rf "$OUT" artifacts/gpu-check-publish
nice -n 5 dotnet publish Runtime/EdgeAvsr.Cli/EdgeAvsr.Cli.csproj -c Release -r linux-x64 -o artifacts/gpu-check-publish --verbosity quiet -nologo
mkdir -p "$OUT/data"
cp artifacts/gpu-check-publish/edgeavsr artifacts/native/libsmop_cuda.so "$OUT/"
rm -rf artifacts/gpu-check-publish
# The AOT binary writes the data here and then, without a GPU, refuses in one line with exit 2.
set +e
"$OUT/edgeavsr" selftest-projector --projector-device cuda --out "$OUT/data" >"$OUT/make.log" 2>&1
rc=$?
set -e
line=$(cat "$OUT/make.log")
if [ $rc -eq 2 ] && [ "$(wc -l <"$OUT/make.log")" -eq 1 ] && grep -q "no CUDA device" "$OUT/make.log"; then
  echo "[gpu-check] PASS AOT binary without a GPU: exit 2, one line: $line"
elif [ $rc -ne 0 ]; then
  echo "[gpu-check] FAIL AOT binary: exit $rc: $line" >&2
  exit 1
fi
rm -f "$OUT/make.log"
echo "[gpu-check] bundle $OUT: $(du -sh "$OUT" | cut -f1) ($(ls "$OUT" "$OUT/data" | grep -v ':$' | grep -v '^$' | tr '\n' ' '))"
