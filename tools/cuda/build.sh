#!/usr/bin/env bash
# Compiles native/smop-cuda into artifacts/native/libsmop_cuda.so with nvcc for sm_87 (Jetson Orin) and sm_90 (H100/H200),
# plus compute_90 PTX for later GPUs; cudart linked statically, so the library loads on a machine without a driver.
# Host compiler clang-14: nvcc 11.8 refuses Debian 12's gcc 12 ("No supported gcc/g++ host compiler found").
# -fmad=false: no fused multiply-adds (the CPU path rounds products and sums separately).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/native
mkdir -p "$out"
nice -n 5 nvcc -ccbin clang-14 -O3 -std=c++17 -shared -Xcompiler -fPIC,-Wall,-Wextra -Werror all-warnings -cudart static -fmad=false \
  -gencode arch=compute_87,code=sm_87 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 \
  -lstdc++ -o "$out/libsmop_cuda.so.tmp" native/smop-cuda/smop_cuda.cu
mv "$out/libsmop_cuda.so.tmp" "$out/libsmop_cuda.so"
echo "built $out/libsmop_cuda.so ($(stat -c %s "$out/libsmop_cuda.so") bytes; $(cuobjdump --list-elf "$out/libsmop_cuda.so" 2>/dev/null | grep -o 'sm_[0-9]*' | sort -u | tr '\n' ' '))"
