# syntax=docker/dockerfile:1
# EdgeAvsr for an NVIDIA Jetson Orin (JetPack 6: Ubuntu 22.04, glibc 2.35, CUDA 12.6, TensorRT 10.3, sm_87).
# Build ON the Jetson (or another arm64 host with the JetPack base images), from the repository root:
#   docker build -f jetson.Dockerfile -t edgeavsr:jetson .
# Run (JETSON.md: devices, groups, memory):
#   docker run --rm --runtime nvidia --device /dev/video0 --device /dev/snd --device /dev/gpiochip0 edgeavsr:jetson doctor
# Nothing here was built on the machines that wrote it (no arm64 JetPack host, no JetPack image pull): see JETSON.md.
#
# The versions below must equal the files that pin them for the rest of the build; tests/EdgeAvsr.Runtime.Tests/Jetson/
# JetsonDockerfileTests.cs fails when they differ: ORT_VERSION and LLAMASHARP_VERSION (Directory.Packages.props),
# LLAMA_CPP_COMMIT and LLAMA_CPP_RELEASE (native/llama.cpp.pin), DOTNET_SDK_VERSION (global.json).
ARG JETPACK_IMAGE=nvcr.io/nvidia/l4t-jetpack:r36.4.0
ARG RUNTIME_IMAGE=nvcr.io/nvidia/l4t-cuda:12.6.11-runtime
ARG ORT_VERSION=1.32.0
ARG LLAMASHARP_VERSION=0.30.0
ARG LLAMA_CPP_COMMIT=815a2a5915f22ce6a760c676389c5dfe8535c08f
ARG LLAMA_CPP_RELEASE=b10221
ARG DOTNET_SDK_VERSION=10.0.401
ARG CUDA_ARCH=87

# ---- llama.cpp at the commit LLamaSharp binds, CUDA for the Orin (the package's arm64 libllama needs glibc 2.38) ----
FROM ${JETPACK_IMAGE} AS llama
ARG LLAMA_CPP_COMMIT
ARG LLAMA_CPP_RELEASE
ARG CUDA_ARCH
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git cmake build-essential ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# A full clone: ggml_commit() is taken from git at configure time, and the runtime compares it with native/llama.cpp.pin.
RUN git clone https://github.com/ggml-org/llama.cpp /src/llama.cpp && cd /src/llama.cpp && git checkout ${LLAMA_CPP_COMMIT} \
    && test "$(git describe --tags --exact-match 2>/dev/null || echo ${LLAMA_CPP_RELEASE})" = "${LLAMA_CPP_RELEASE}"
# NO_VMM: the Orin's unified memory has no CUDA virtual memory management; FORCE_MMQ: the int8 MMQ kernels, not cuBLAS.
RUN cd /src/llama.cpp && cmake -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
      -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH} -DGGML_CUDA_NO_VMM=ON -DGGML_CUDA_FORCE_MMQ=ON -DGGML_NATIVE=ON \
      -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF \
    && cmake --build build -j"$(nproc)" \
    && mkdir -p /out && find build -name 'lib*.so*' -exec cp -P {} /out/ \;

# ---- ONNX Runtime at the managed package's version, TensorRT + CUDA providers (JetPack's own builds stop at 1.25) ----
FROM ${JETPACK_IMAGE} AS ort
ARG ORT_VERSION
ARG CUDA_ARCH
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git build-essential python3 python3-pip \
      python3-dev ca-certificates && rm -rf /var/lib/apt/lists/* && pip3 install --no-cache-dir "cmake>=3.28" numpy packaging wheel
RUN git clone --recursive --depth 1 --branch v${ORT_VERSION} https://github.com/microsoft/onnxruntime /src/onnxruntime
RUN cd /src/onnxruntime && ./build.sh --config Release --update --build --parallel --build_shared_lib --skip_tests --allow_running_as_root \
      --use_cuda --cuda_home /usr/local/cuda --cudnn_home /usr/lib/aarch64-linux-gnu \
      --use_tensorrt --tensorrt_home /usr/lib/aarch64-linux-gnu \
      --cmake_extra_defines CMAKE_CUDA_ARCHITECTURES=${CUDA_ARCH} onnxruntime_BUILD_UNIT_TESTS=OFF \
    && mkdir -p /out && cp -P build/Linux/Release/libonnxruntime.so* build/Linux/Release/libonnxruntime_providers_*.so /out/

# ---- the projector's CUDA kernels (native/smop-cuda) with JetPack's nvcc ----
FROM ${JETPACK_IMAGE} AS smop
ARG CUDA_ARCH
COPY native/smop-cuda /src/smop-cuda
RUN mkdir -p /out && /usr/local/cuda/bin/nvcc -O3 -std=c++17 -shared -Xcompiler -fPIC -cudart static -fmad=false \
      -gencode arch=compute_${CUDA_ARCH},code=sm_${CUDA_ARCH} -lstdc++ -o /out/libsmop_cuda.so /src/smop-cuda/smop_cuda.cu

# ---- EdgeAvsr: NativeAOT linux-arm64, published natively; the VAD model and the default pack (./build.sh setup) ----
FROM ${JETPACK_IMAGE} AS app
ARG DOTNET_SDK_VERSION
ARG ORT_VERSION
ARG LLAMASHARP_VERSION
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates clang zlib1g-dev \
      ffmpeg npm openssl libicu70 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL https://dot.net/v1/dotnet-install.sh -o /tmp/dotnet-install.sh \
    && bash /tmp/dotnet-install.sh --version ${DOTNET_SDK_VERSION} --install-dir /usr/share/dotnet && ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
WORKDIR /src
COPY . .
# The managed bindings restored here must be the versions the native stages above were built for.
RUN grep -q "Include=\"Microsoft.ML.OnnxRuntime.Managed\" Version=\"${ORT_VERSION}\"" Directory.Packages.props \
    && grep -q "Include=\"LLamaSharp\" Version=\"${LLAMASHARP_VERSION}\"" Directory.Packages.props
RUN ./build.sh setup \
    && dotnet publish Runtime/EdgeAvsr.Cli/EdgeAvsr.Cli.csproj -c Release -r linux-arm64 -o /out --verbosity quiet -nologo \
    && find /out -mindepth 1 \( -name 'libllama*' -o -name 'libggml*' -o -name 'libmtmd*' -o -name 'libonnxruntime*' -o -name runtimes \) \
         -prune -exec rm -rf {} + \
    && rm -f /out/*.dbg \
    && mkdir -p /out/packs && cp -r artifacts/packs/demo /out/packs/demo

# ---- runtime: the binary, the native libraries, the VAD model, the default pack and the systemd unit ----
FROM ${JETPACK_IMAGE} AS tensorrt
RUN mkdir -p /out && cp -P /usr/lib/aarch64-linux-gnu/libnvinfer.so.10* /usr/lib/aarch64-linux-gnu/libnvinfer_plugin.so.10* \
      /usr/lib/aarch64-linux-gnu/libnvonnxparser.so.10* /usr/lib/aarch64-linux-gnu/libcudnn*.so.9* /out/

FROM ${RUNTIME_IMAGE} AS runtime
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg libgomp1 libgpiod2 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=app /out/ /opt/edgeavsr/
COPY --from=llama /out/ /opt/edgeavsr/native/
COPY --from=ort /out/ /opt/edgeavsr/native/
COPY --from=smop /out/libsmop_cuda.so /opt/edgeavsr/native/
COPY --from=tensorrt /out/ /opt/edgeavsr/native/
COPY deploy/edgeavsr.service /etc/systemd/system/edgeavsr.service
# EDGEAVSR_NATIVE_DIR: the custom libllama and libonnxruntime (and libsmop_cuda.so) instead of the packages' CPU builds.
ENV EDGEAVSR_NATIVE_DIR=/opt/edgeavsr/native LD_LIBRARY_PATH=/opt/edgeavsr/native NVIDIA_DRIVER_CAPABILITIES=all
WORKDIR /opt/edgeavsr
ENTRYPOINT ["/opt/edgeavsr/edgeavsr"]
CMD ["doctor"]
