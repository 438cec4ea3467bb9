/* EdgeAvsr's INT8 Sparse Mixture of Projectors on a CUDA GPU: a C ABI over the kernels of smop_cuda.cu.
 *
 * The arithmetic is the CPU INT8 path's (Runtime/EdgeAvsr.Runtime/Projector/Int8Mixture.cs): activations quantized per
 * row with scale = max|x| / 127 and q = round_half_even(x * (127 / max|x|)) clamped to [-127, 127]; exact int32
 * accumulation; dequantised as ((float)acc * s_row) * s_channel + bias, each product and sum rounded separately (no
 * fused multiply-add), so the hidden activations and with them both layers' int32 accumulators equal the scalar
 * kernel's bit for bit. LayerNorm and the router's dot products sum in another order than the CPU's vector lanes.
 *
 * Every function returns 0 on success or a negative SMOP_CUDA_* code; smop_cuda_last_error() then holds one line
 * naming the call and the cause. No function aborts or prints. A mixture may be used by one thread at a time. */
#ifndef EDGEAVSR_SMOP_CUDA_H
#define EDGEAVSR_SMOP_CUDA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SMOP_CUDA_ABI_VERSION 1

#define SMOP_CUDA_OK 0
#define SMOP_CUDA_NO_DEVICE (-1)
#define SMOP_CUDA_BAD_ARGUMENT (-2)
#define SMOP_CUDA_CUDA_ERROR (-3)

/* The mixture's weights, host memory, copied to the device by smop_cuda_mixture_create. Expert e's first Linear is
 * up_weight[e * hidden * input .. ) as [hidden, input] int8 row-major, its per-channel scales up_scale[e * hidden .. );
 * the second Linear likewise [output, hidden]; norm_* are the LayerNorm's affine parameters, [experts, output]. */
typedef struct smop_cuda_mixture_desc {
    int32_t experts;
    int32_t input_dim;
    int32_t hidden_dim;
    int32_t output_dim;
    const float *router;       /* [experts, input] */
    const int8_t *up_weight;   /* [experts, hidden, input] */
    const float *up_scale;     /* [experts, hidden] */
    const float *up_bias;      /* [experts, hidden] */
    const int8_t *down_weight; /* [experts, output, hidden] */
    const float *down_scale;   /* [experts, output] */
    const float *down_bias;    /* [experts, output] */
    const float *norm_weight;  /* [experts, output] */
    const float *norm_bias;    /* [experts, output] */
} smop_cuda_mixture_desc;

/* One call's inputs and outputs, host memory. */
typedef struct smop_cuda_run_args {
    const float *tokens;     /* [token_count, input] */
    int32_t token_count;
    int32_t top_k;
    int32_t routing_given;   /* 0: the router runs on the device and fills slot_*; 1: slot_* are inputs */
    int32_t *slot_experts;   /* [token_count, top_k] */
    float *slot_weights;     /* [token_count, top_k] */
    float *result;           /* [token_count, output] */
    int64_t *rows_computed;  /* [experts]: per expert, the rows both GEMMs computed (counted on the device), added to */
    /* Optional (may be null), for the tests: the accumulators in the grouped row order (slots sorted by expert,
     * slot order kept within an expert), [token_count * top_k, hidden] and [token_count * top_k, output]. */
    int32_t *up_accumulators;
    int32_t *down_accumulators;
} smop_cuda_run_args;

/* The ABI version this library was built with (SMOP_CUDA_ABI_VERSION). */
int32_t smop_cuda_abi_version(void);

/* Writes one line describing device 0 ("NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB, driver 12.4") or why there is none
 * ("no CUDA device: ..."), NUL-terminated, into text[capacity]. Returns the device count (0 when none); never fails. */
int32_t smop_cuda_probe(char *text, int32_t capacity);

/* The last error of this thread, one line; "" when none. */
const char *smop_cuda_last_error(void);

int32_t smop_cuda_mixture_create(const smop_cuda_mixture_desc *desc, void **mixture);

int32_t smop_cuda_mixture_run(void *mixture, const smop_cuda_run_args *args);

void smop_cuda_mixture_destroy(void *mixture);

#ifdef __cplusplus
}
#endif

#endif
