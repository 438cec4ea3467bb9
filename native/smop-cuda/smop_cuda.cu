// EdgeAvsr's INT8 Sparse Mixture of Projectors on a CUDA GPU (the C ABI is smop_cuda.h, which states the arithmetic).
// One call: router (fp32 softmax, top-k, renormalised) -> slots grouped by expert (stable counting sort) -> per routed
// row int8 quantization -> per expert int8 GEMM (dp4a) with dequantise, bias, ReLU -> requantization -> second GEMM with
// dequantise, bias -> LayerNorm and the weighted top-k sum per token. The GEMM grids cover only the routed rows of each
// expert, and each GEMM counts the rows it multiplied on the device.
// Built with -fmad=false, and the epilogues spell out __fmul_rn / __fadd_rn: a fused multiply-add would round once
// where the CPU rounds twice, and the hidden activations (so the second layer's accumulators) would differ.
#include "smop_cuda.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

constexpr int kMaxExperts = 64;
constexpr int kThreads = 128;
constexpr int kTileRows = 32;
constexpr int kTileCols = 64;
constexpr int kTileDepthInts = 16;  // 64 int8 values of the reduction per shared-memory stage
constexpr float kLayerNormEpsilon = 1e-5f;

thread_local std::string t_lastError;

int Fail(int code, const std::string &message) {
    t_lastError = message;
    return code;
}

#define SMOP_CHECK(call)                                                                                          \
    do {                                                                                                          \
        cudaError_t err_ = (call);                                                                                \
        if (err_ != cudaSuccess) {                                                                                \
            return Fail(SMOP_CUDA_CUDA_ERROR, std::string(#call) + ": " + cudaGetErrorName(err_) + " (" +          \
                                                  cudaGetErrorString(err_) + ")");                                \
        }                                                                                                         \
    } while (0)

int RoundUp4(int n) { return (n + 3) & ~3; }

// ---- device code ----

__device__ float BlockSum(float v, float *scratch) {
    for (int offset = 16; offset > 0; offset >>= 1) v = __fadd_rn(v, __shfl_down_sync(0xffffffffu, v, offset));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float total = 0.f;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) total = __fadd_rn(total, scratch[w]);
    return total;  // every thread gets the same sum, added in the same order
}

__device__ float BlockMax(float v, float *scratch) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_down_sync(0xffffffffu, v, offset));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float m = 0.f;
    for (int w = 0; w < (int)(blockDim.x >> 5); w++) m = fmaxf(m, scratch[w]);
    return m;
}

// One block per token: logits = router x, softmax over all experts, top-k (ties to the lower index), renormalised;
// slots in descending probability, as SmopProjector.Route.
__global__ void RouteKernel(const float *tokens, const float *router, int experts, int inputDim, int topK, int *slotExperts,
                            float *slotWeights) {
    __shared__ float logits[kMaxExperts];
    __shared__ float scratch[32];
    int t = blockIdx.x;
    const float *x = tokens + (size_t)t * inputDim;
    for (int e = 0; e < experts; e++) {
        const float *w = router + (size_t)e * inputDim;
        float partial = 0.f;
        for (int i = threadIdx.x; i < inputDim; i += blockDim.x) partial = __fadd_rn(partial, __fmul_rn(x[i], w[i]));
        float dot = BlockSum(partial, scratch);
        if (threadIdx.x == 0) logits[e] = dot;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    float max = -INFINITY;
    for (int e = 0; e < experts; e++) max = fmaxf(max, logits[e]);
    float sum = 0.f;
    for (int e = 0; e < experts; e++) {
        logits[e] = expf(logits[e] - max);
        sum += logits[e];
    }
    for (int e = 0; e < experts; e++) logits[e] /= sum;
    unsigned long long taken = 0;
    float chosen = 0.f;
    for (int s = 0; s < topK; s++) {
        int best = -1;
        for (int e = 0; e < experts; e++) {
            if (!(taken >> e & 1ull) && (best < 0 || logits[e] > logits[best])) best = e;
        }
        taken |= 1ull << best;
        slotExperts[t * topK + s] = best;
        slotWeights[t * topK + s] = logits[best];
        chosen += logits[best];
    }
    for (int s = 0; s < topK; s++) slotWeights[t * topK + s] /= chosen;
}

// Counting sort of the slots by expert, slot order kept (ExpertGrouping.Group): expert e's rows are start[e] .. start[e+1]-1.
// A few thousand slots: one thread keeps the order deterministic and costs microseconds.
__global__ void GroupKernel(const int *slotExperts, int slots, int experts, int *start, int *slotOfRow, int *rowOfSlot) {
    int next[kMaxExperts + 1];
    for (int e = 0; e <= experts; e++) next[e] = 0;
    for (int s = 0; s < slots; s++) next[slotExperts[s] + 1]++;
    for (int e = 0; e < experts; e++) next[e + 1] += next[e];
    for (int e = 0; e <= experts; e++) start[e] = next[e];
    for (int s = 0; s < slots; s++) {
        int row = next[slotExperts[s]]++;
        slotOfRow[row] = s;
        rowOfSlot[s] = row;
    }
}

// One block per row of the row space: Int8Quantization.QuantizeRow. The source row is sourceRowOf[r] / divisor when a
// map is given (routed tokens), else r (hidden rows). The padding of the row up to a multiple of 4 is zeroed.
__global__ void QuantizeRowsKernel(const float *source, int width, const int *sourceRowOf, int divisor, int8_t *q, int stride,
                                   float *scales) {
    __shared__ float scratch[32];
    int r = blockIdx.x;
    int src = sourceRowOf ? sourceRowOf[r] / divisor : r;
    const float *x = source + (size_t)src * width;
    float m = 0.f;
    for (int i = threadIdx.x; i < width; i += blockDim.x) m = fmaxf(m, fabsf(x[i]));
    m = BlockMax(m, scratch);
    int8_t *out = q + (size_t)r * stride;
    if (m == 0.f) {
        for (int i = threadIdx.x; i < stride; i += blockDim.x) out[i] = 0;
        if (threadIdx.x == 0) scales[r] = 0.f;
        return;
    }
    float inv = __fdiv_rn(127.f, m);
    for (int i = threadIdx.x; i < stride; i += blockDim.x) {
        float v = i < width ? fminf(fmaxf(rintf(__fmul_rn(x[i], inv)), -127.f), 127.f) : 0.f;
        out[i] = (int8_t)(int)v;
    }
    if (threadIdx.x == 0) scales[r] = __fdiv_rn(m, 127.f);
}

// out[r, c] = dequantise(sum_k a[r, k] * w[e, c, k]) for the rows of expert e only. blockIdx.y enumerates the row tiles
// of all experts in order (tiles past the last are idle); blockIdx.x the column tiles. 256 threads, 2 rows x 4 columns each.
__global__ void __launch_bounds__(256) GemmKernel(const int8_t *a, const int8_t *weights, const int *start, int experts, int n,
                                                  int depth, const float *rowScale, const float *channelScale, const float *bias,
                                                  int relu, float *out, int32_t *accOut, unsigned long long *rowsComputed) {
    __shared__ int as[kTileRows][kTileDepthInts + 1];
    __shared__ int ws[kTileCols][kTileDepthInts + 1];
    int tile = blockIdx.y, expert = -1, row0 = 0, rows = 0;
    for (int e = 0; e < experts; e++) {
        int count = start[e + 1] - start[e];
        int tiles = (count + kTileRows - 1) / kTileRows;
        if (tile < tiles) {
            expert = e;
            row0 = start[e] + tile * kTileRows;
            rows = min(kTileRows, count - tile * kTileRows);
            break;
        }
        tile -= tiles;
    }
    if (expert < 0) return;
    int col0 = blockIdx.x * kTileCols;
    if (blockIdx.x == 0 && threadIdx.x == 0) atomicAdd(&rowsComputed[expert], (unsigned long long)rows);
    const int8_t *w = weights + (size_t)expert * n * depth;
    int depthInts = depth / 4;
    int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    int acc[2][4] = {};
    for (int k0 = 0; k0 < depthInts; k0 += kTileDepthInts) {
        for (int i = threadIdx.x; i < kTileRows * kTileDepthInts; i += blockDim.x) {
            int r = i / kTileDepthInts, kk = i % kTileDepthInts;
            as[r][kk] = (r < rows && k0 + kk < depthInts)
                            ? reinterpret_cast<const int *>(a + (size_t)(row0 + r) * depth)[k0 + kk] : 0;
        }
        for (int i = threadIdx.x; i < kTileCols * kTileDepthInts; i += blockDim.x) {
            int c = i / kTileDepthInts, kk = i % kTileDepthInts;
            ws[c][kk] = (col0 + c < n && k0 + kk < depthInts)
                            ? reinterpret_cast<const int *>(w + (size_t)(col0 + c) * depth)[k0 + kk] : 0;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTileDepthInts; kk++) {
            int a0 = as[ty][kk], a1 = as[ty + 16][kk];
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int wv = ws[tx + 16 * j][kk];
                acc[0][j] = __dp4a(a0, wv, acc[0][j]);
                acc[1][j] = __dp4a(a1, wv, acc[1][j]);
            }
        }
        __syncthreads();
    }
    for (int i = 0; i < 2; i++) {
        int r = ty + 16 * i;
        if (r >= rows) continue;
        int row = row0 + r;
        for (int j = 0; j < 4; j++) {
            int c = col0 + tx + 16 * j;
            if (c >= n) continue;
            if (accOut) accOut[(size_t)row * n + c] = acc[i][j];
            float y = __fadd_rn(__fmul_rn(__fmul_rn(__int2float_rn(acc[i][j]), rowScale[row]), channelScale[expert * n + c]),
                                bias[expert * n + c]);
            out[(size_t)row * n + c] = relu ? fmaxf(y, 0.f) : y;
        }
    }
}

// One block per token: LayerNorm each slot's expert output (in place), then result = sum over slots, in slot order, of
// weight * output (Int8Mixture's combine).
__global__ void CombineKernel(float *expertOut, int d, const int *rowOfSlot, const int *slotExperts, const float *slotWeights,
                              int topK, const float *normWeight, const float *normBias, float *result) {
    __shared__ float scratch[32];
    int t = blockIdx.x;
    float *y = result + (size_t)t * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) y[c] = 0.f;
    for (int s = 0; s < topK; s++) {
        int slot = t * topK + s;
        float *o = expertOut + (size_t)rowOfSlot[slot] * d;
        int e = slotExperts[slot];
        float partial = 0.f;
        for (int c = threadIdx.x; c < d; c += blockDim.x) partial = __fadd_rn(partial, o[c]);
        float mean = __fdiv_rn(BlockSum(partial, scratch), (float)d);
        partial = 0.f;
        for (int c = threadIdx.x; c < d; c += blockDim.x) {
            float dev = __fsub_rn(o[c], mean);
            partial = __fadd_rn(partial, __fmul_rn(dev, dev));
        }
        float variance = __fdiv_rn(BlockSum(partial, scratch), (float)d);
        float inv = __fdiv_rn(1.f, __fsqrt_rn(__fadd_rn(variance, kLayerNormEpsilon)));
        float p = slotWeights[slot];
        for (int c = threadIdx.x; c < d; c += blockDim.x) {
            float v = __fadd_rn(__fmul_rn(__fmul_rn(__fsub_rn(o[c], mean), inv), normWeight[e * d + c]), normBias[e * d + c]);
            o[c] = v;
            y[c] = __fadd_rn(y[c], __fmul_rn(p, v));
        }
    }
}

// ---- host side ----

template <typename T>
struct DeviceBuffer {
    T *ptr = nullptr;
    size_t count = 0;
    ~DeviceBuffer() { if (ptr) cudaFree(ptr); }
    cudaError_t Ensure(size_t n) {
        if (n <= count) return cudaSuccess;
        if (ptr) cudaFree(ptr);
        ptr = nullptr;
        count = 0;
        cudaError_t err = cudaMalloc(&ptr, (n ? n : 1) * sizeof(T));
        if (err == cudaSuccess) count = n;
        return err;
    }
};

struct Mixture {
    int experts = 0, inputDim = 0, hiddenDim = 0, outputDim = 0, inputStride = 0, hiddenStride = 0;
    cudaStream_t stream = nullptr;
    std::mutex lock;
    DeviceBuffer<float> router, upScale, upBias, downScale, downBias, normWeight, normBias;
    DeviceBuffer<int8_t> up, down;
    // Per-call workspace, grown as needed.
    DeviceBuffer<float> tokens, slotWeights, rowScale1, rowScale2, hidden, expertOut, result;
    DeviceBuffer<int> slotExperts, start, slotOfRow, rowOfSlot, upAcc, downAcc;
    DeviceBuffer<int8_t> qInput, qHidden;
    DeviceBuffer<unsigned long long> rowCounters;
    ~Mixture() { if (stream) cudaStreamDestroy(stream); }
};

template <typename T>
int Upload(DeviceBuffer<T> &buffer, const T *host, size_t count, const char *name) {
    if (!host) return Fail(SMOP_CUDA_BAD_ARGUMENT, std::string("smop_cuda_mixture_create: ") + name + " is null");
    SMOP_CHECK(buffer.Ensure(count));
    SMOP_CHECK(cudaMemcpy(buffer.ptr, host, count * sizeof(T), cudaMemcpyHostToDevice));
    return SMOP_CUDA_OK;
}

// Copies [rows, width] int8 into [rows, stride] on the device, the padding zeroed.
int UploadPadded(DeviceBuffer<int8_t> &buffer, const int8_t *host, size_t rows, int width, int stride, const char *name) {
    if (!host) return Fail(SMOP_CUDA_BAD_ARGUMENT, std::string("smop_cuda_mixture_create: ") + name + " is null");
    SMOP_CHECK(buffer.Ensure(rows * stride));
    SMOP_CHECK(cudaMemset(buffer.ptr, 0, rows * stride));
    SMOP_CHECK(cudaMemcpy2D(buffer.ptr, stride, host, width, width, rows, cudaMemcpyHostToDevice));
    return SMOP_CUDA_OK;
}

int RequireDevice() {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        return Fail(SMOP_CUDA_NO_DEVICE, std::string("no CUDA device: cudaGetDeviceCount: ") +
                                             (err != cudaSuccess ? cudaGetErrorString(err) : "0 devices"));
    }
    return SMOP_CUDA_OK;
}

}  // namespace

extern "C" int32_t smop_cuda_abi_version(void) { return SMOP_CUDA_ABI_VERSION; }

extern "C" const char *smop_cuda_last_error(void) { return t_lastError.c_str(); }

extern "C" int32_t smop_cuda_probe(char *text, int32_t capacity) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    std::string line;
    if (err != cudaSuccess || count == 0) {
        line = std::string("no CUDA device (cudaGetDeviceCount: ") +
               (err != cudaSuccess ? std::string(cudaGetErrorName(err)) + ", " + cudaGetErrorString(err) : "0 devices") + ")";
        count = 0;
        cudaGetLastError();  // clear the sticky-free error state for later calls
    } else {
        cudaDeviceProp prop;
        int driver = 0;
        cudaDriverGetVersion(&driver);
        if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
            char buf[320];
            std::snprintf(buf, sizeof buf, "%s, sm_%d%d, %.1f GiB, driver CUDA %d.%d, %d device(s)", prop.name, prop.major, prop.minor,
                          prop.totalGlobalMem / 1073741824.0, driver / 1000, driver % 1000 / 10, count);
            line = buf;
        } else {
            line = "CUDA device 0: cudaGetDeviceProperties failed";
        }
    }
    if (text && capacity > 0) {
        std::strncpy(text, line.c_str(), capacity - 1);
        text[capacity - 1] = '\0';
    }
    return count;
}

extern "C" int32_t smop_cuda_mixture_create(const smop_cuda_mixture_desc *d, void **out) {
    t_lastError.clear();
    if (!d || !out) return Fail(SMOP_CUDA_BAD_ARGUMENT, "smop_cuda_mixture_create: desc or out is null");
    *out = nullptr;
    if (d->experts < 1 || d->experts > kMaxExperts || d->input_dim < 1 || d->hidden_dim < 1 || d->output_dim < 1) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "smop_cuda_mixture_create: experts %d (1..%d), input %d, hidden %d, output %d (>= 1 each)",
                      d->experts, kMaxExperts, d->input_dim, d->hidden_dim, d->output_dim);
        return Fail(SMOP_CUDA_BAD_ARGUMENT, buf);
    }
    int rc = RequireDevice();
    if (rc) return rc;
    auto *m = new Mixture();
    m->experts = d->experts;
    m->inputDim = d->input_dim;
    m->hiddenDim = d->hidden_dim;
    m->outputDim = d->output_dim;
    m->inputStride = RoundUp4(d->input_dim);
    m->hiddenStride = RoundUp4(d->hidden_dim);
    size_t e = d->experts, din = d->input_dim, hid = d->hidden_dim, dout = d->output_dim;
    if ((rc = [&]() -> int {
            SMOP_CHECK(cudaStreamCreateWithFlags(&m->stream, cudaStreamNonBlocking));
            int r;
            if ((r = Upload(m->router, d->router, e * din, "router"))) return r;
            if ((r = UploadPadded(m->up, d->up_weight, e * hid, m->inputDim, m->inputStride, "up_weight"))) return r;
            if ((r = Upload(m->upScale, d->up_scale, e * hid, "up_scale"))) return r;
            if ((r = Upload(m->upBias, d->up_bias, e * hid, "up_bias"))) return r;
            if ((r = UploadPadded(m->down, d->down_weight, e * dout, m->hiddenDim, m->hiddenStride, "down_weight"))) return r;
            if ((r = Upload(m->downScale, d->down_scale, e * dout, "down_scale"))) return r;
            if ((r = Upload(m->downBias, d->down_bias, e * dout, "down_bias"))) return r;
            if ((r = Upload(m->normWeight, d->norm_weight, e * dout, "norm_weight"))) return r;
            if ((r = Upload(m->normBias, d->norm_bias, e * dout, "norm_bias"))) return r;
            SMOP_CHECK(m->rowCounters.Ensure(2 * e));
            SMOP_CHECK(m->start.Ensure(e + 1));
            return SMOP_CUDA_OK;
        }())) {
        delete m;
        return rc;
    }
    *out = m;
    return SMOP_CUDA_OK;
}

extern "C" int32_t smop_cuda_mixture_run(void *handle, const smop_cuda_run_args *a) {
    t_lastError.clear();
    if (!handle || !a) return Fail(SMOP_CUDA_BAD_ARGUMENT, "smop_cuda_mixture_run: mixture or args is null");
    auto *m = static_cast<Mixture *>(handle);
    if (a->token_count < 1 || a->top_k < 1 || a->top_k > m->experts || !a->tokens || !a->slot_experts || !a->slot_weights ||
        !a->result || !a->rows_computed) {
        char buf[200];
        std::snprintf(buf, sizeof buf, "smop_cuda_mixture_run: token_count %d (>= 1), top_k %d (1..%d), and every buffer but the "
                      "accumulators non-null", a->token_count, a->top_k, m->experts);
        return Fail(SMOP_CUDA_BAD_ARGUMENT, buf);
    }
    size_t tokens = a->token_count, k = a->top_k, rows = tokens * k, e = m->experts;
    if ((rows + kTileRows - 1) / kTileRows + e > 65535) {  // the GEMM grids' y extent
        return Fail(SMOP_CUDA_BAD_ARGUMENT, "smop_cuda_mixture_run: more than 2 million routed rows in one call; split the tokens");
    }
    if (a->routing_given) {
        for (size_t s = 0; s < rows; s++) {
            if (a->slot_experts[s] < 0 || a->slot_experts[s] >= m->experts) {
                char buf[160];
                std::snprintf(buf, sizeof buf, "smop_cuda_mixture_run: slot %zu routes to expert %d of %d", s, a->slot_experts[s], m->experts);
                return Fail(SMOP_CUDA_BAD_ARGUMENT, buf);
            }
        }
    }
    std::lock_guard<std::mutex> guard(m->lock);
    cudaStream_t st = m->stream;
    SMOP_CHECK(m->tokens.Ensure(tokens * m->inputDim));
    SMOP_CHECK(m->slotExperts.Ensure(rows));
    SMOP_CHECK(m->slotWeights.Ensure(rows));
    SMOP_CHECK(m->slotOfRow.Ensure(rows));
    SMOP_CHECK(m->rowOfSlot.Ensure(rows));
    SMOP_CHECK(m->rowScale1.Ensure(rows));
    SMOP_CHECK(m->rowScale2.Ensure(rows));
    SMOP_CHECK(m->qInput.Ensure(rows * m->inputStride));
    SMOP_CHECK(m->qHidden.Ensure(rows * m->hiddenStride));
    SMOP_CHECK(m->hidden.Ensure(rows * m->hiddenDim));
    SMOP_CHECK(m->expertOut.Ensure(rows * m->outputDim));
    SMOP_CHECK(m->result.Ensure(tokens * m->outputDim));
    if (a->up_accumulators) SMOP_CHECK(m->upAcc.Ensure(rows * m->hiddenDim));
    if (a->down_accumulators) SMOP_CHECK(m->downAcc.Ensure(rows * m->outputDim));

    SMOP_CHECK(cudaMemcpyAsync(m->tokens.ptr, a->tokens, tokens * m->inputDim * sizeof(float), cudaMemcpyHostToDevice, st));
    SMOP_CHECK(cudaMemsetAsync(m->rowCounters.ptr, 0, 2 * e * sizeof(unsigned long long), st));
    if (a->routing_given) {
        SMOP_CHECK(cudaMemcpyAsync(m->slotExperts.ptr, a->slot_experts, rows * sizeof(int), cudaMemcpyHostToDevice, st));
        SMOP_CHECK(cudaMemcpyAsync(m->slotWeights.ptr, a->slot_weights, rows * sizeof(float), cudaMemcpyHostToDevice, st));
    } else {
        RouteKernel<<<tokens, kThreads, 0, st>>>(m->tokens.ptr, m->router.ptr, m->experts, m->inputDim, a->top_k, m->slotExperts.ptr,
                                                 m->slotWeights.ptr);
    }
    GroupKernel<<<1, 1, 0, st>>>(m->slotExperts.ptr, (int)rows, m->experts, m->start.ptr, m->slotOfRow.ptr, m->rowOfSlot.ptr);
    QuantizeRowsKernel<<<rows, kThreads, 0, st>>>(m->tokens.ptr, m->inputDim, m->slotOfRow.ptr, a->top_k, m->qInput.ptr,
                                                  m->inputStride, m->rowScale1.ptr);
    // Row tiles: sum over experts of ceil(rows_e / 32) <= rows / 32 + experts.
    unsigned rowTiles = (unsigned)((rows + kTileRows - 1) / kTileRows + e);
    dim3 upGrid((m->hiddenDim + kTileCols - 1) / kTileCols, rowTiles);
    GemmKernel<<<upGrid, 256, 0, st>>>(m->qInput.ptr, m->up.ptr, m->start.ptr, m->experts, m->hiddenDim, m->inputStride,
                                        m->rowScale1.ptr, m->upScale.ptr, m->upBias.ptr, 1, m->hidden.ptr,
                                        a->up_accumulators ? m->upAcc.ptr : nullptr, m->rowCounters.ptr);
    QuantizeRowsKernel<<<rows, kThreads, 0, st>>>(m->hidden.ptr, m->hiddenDim, nullptr, 1, m->qHidden.ptr, m->hiddenStride,
                                                  m->rowScale2.ptr);
    dim3 downGrid((m->outputDim + kTileCols - 1) / kTileCols, rowTiles);
    GemmKernel<<<downGrid, 256, 0, st>>>(m->qHidden.ptr, m->down.ptr, m->start.ptr, m->experts, m->outputDim, m->hiddenStride,
                                          m->rowScale2.ptr, m->downScale.ptr, m->downBias.ptr, 0, m->expertOut.ptr,
                                          a->down_accumulators ? m->downAcc.ptr : nullptr, m->rowCounters.ptr + e);
    CombineKernel<<<tokens, kThreads, 0, st>>>(m->expertOut.ptr, m->outputDim, m->rowOfSlot.ptr, m->slotExperts.ptr,
                                               m->slotWeights.ptr, a->top_k, m->normWeight.ptr, m->normBias.ptr, m->result.ptr);
    SMOP_CHECK(cudaGetLastError());

    std::vector<unsigned long long> counters(2 * e);
    SMOP_CHECK(cudaMemcpyAsync(a->result, m->result.ptr, tokens * m->outputDim * sizeof(float), cudaMemcpyDeviceToHost, st));
    SMOP_CHECK(cudaMemcpyAsync(counters.data(), m->rowCounters.ptr, 2 * e * sizeof(unsigned long long), cudaMemcpyDeviceToHost, st));
    if (!a->routing_given) {
        SMOP_CHECK(cudaMemcpyAsync(a->slot_experts, m->slotExperts.ptr, rows * sizeof(int), cudaMemcpyDeviceToHost, st));
        SMOP_CHECK(cudaMemcpyAsync(a->slot_weights, m->slotWeights.ptr, rows * sizeof(float), cudaMemcpyDeviceToHost, st));
    }
    if (a->up_accumulators) {
        SMOP_CHECK(cudaMemcpyAsync(a->up_accumulators, m->upAcc.ptr, rows * m->hiddenDim * sizeof(int), cudaMemcpyDeviceToHost, st));
    }
    if (a->down_accumulators) {
        SMOP_CHECK(cudaMemcpyAsync(a->down_accumulators, m->downAcc.ptr, rows * m->outputDim * sizeof(int), cudaMemcpyDeviceToHost, st));
    }
    SMOP_CHECK(cudaStreamSynchronize(st));
    for (size_t i = 0; i < e; i++) {
        if (counters[i] != counters[e + i]) {
            char buf[160];
            std::snprintf(buf, sizeof buf, "smop_cuda_mixture_run: expert %zu: the first GEMM computed %llu rows, the second %llu", i,
                          counters[i], counters[e + i]);
            return Fail(SMOP_CUDA_CUDA_ERROR, buf);
        }
        a->rows_computed[i] += (int64_t)counters[i];
    }
    return SMOP_CUDA_OK;
}

extern "C" void smop_cuda_mixture_destroy(void *handle) { delete static_cast<Mixture *>(handle); }
