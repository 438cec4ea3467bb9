#!/usr/bin/env bash
# The GPU check, on a machine with a CUDA device, from the bundle tools/gpu-check/make.sh left in artifacts/gpu-check
# (carry that folder): nvidia-smi, then for each INT8 projector file every mixture on the GPU against the CPU INT8 path:
# int32 accumulators of both GEMMs bit-equal to the scalar kernel, outputs within the stated bound, the rows the GPU's
# GEMMs computed equal to the routing's, and the median time of both. About a minute; output in $OUT when set.
set -uo pipefail
cd "$(dirname "$0")/../.."
B=artifacts/gpu-check
log=${OUT:-/tmp}/gpu-check.log
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || echo "nvidia-smi failed"
  rc=0
  for w in "$B"/data/*.int8.safetensors; do
    name=$(basename "$w" .int8.safetensors)
    timeout 240 "$B/edgeavsr" selftest-projector --projector-device cuda --out /tmp/gpu-check-scratch --weights "$w" \
      --features "$B/data/$name.tokens.npy" || rc=1
  done
  echo "gpu-check: exit $rc"
} 2>&1 | tee "$log"
grep -q "gpu-check: exit 0" "$log"
