// llama.cpp alone: the peer of `edgeavsr bench decoder`. Same work as EdgeAvsr's decoder: an embedding
// prefill (rows read from a float32 file), then greedy decoding of a fixed number of tokens (argmax over
// the logits, one token per llama_decode), on the same libllama with the same context settings.
//
//   driver MODEL EMBD_FILE N_PREFILL N_GEN THREADS N_CTX REPS
//
// After a short warm-up, prints one line per repetition: "prefill_ms <ms> gen_ms <ms> tokens <n> ids <id> ...".
// It links the libllama that LLamaSharp.Backend.Cpu 0.30.0 carries (llama.cpp b10221, commit 815a2a5915f2); the
// package ships no headers, so the subset of llama.h used here is declared below for that release's layouts
// (llama_model_params 72 bytes with load_mode and no lazy_mode; llama_context_params 160 bytes with n_outputs_max
// and no per-sequence output limit). The static asserts pin them; at start the driver reads the native defaults
// back through them and stops if a field is shifted.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int32_t llama_token;
typedef int32_t llama_pos;
typedef int32_t llama_seq_id;
struct llama_model;
struct llama_context;
struct llama_vocab;
typedef struct llama_memory_i *llama_memory_t;
typedef void *ggml_backend_dev_t;

struct llama_model_params {
    ggml_backend_dev_t *devices;
    const void *tensor_buft_overrides;
    int32_t n_gpu_layers;
    int32_t split_mode, load_mode;
    int32_t main_gpu;
    const float *tensor_split;
    void *progress_callback;
    void *progress_callback_user_data;
    const void *kv_overrides;
    bool vocab_only, check_tensors, use_extra_bufts, no_host, no_alloc, load_mtp;
};
struct llama_context_params {
    uint32_t n_ctx, n_batch, n_ubatch, n_seq_max, n_rs_seq, n_outputs_max;
    int32_t n_threads, n_threads_batch;
    int32_t ctx_type, rope_scaling_type, pooling_type, attention_type, flash_attn_type;
    float rope_freq_base, rope_freq_scale, yarn_ext_factor, yarn_attn_factor, yarn_beta_fast, yarn_beta_slow;
    uint32_t yarn_orig_ctx;
    float defrag_thold;
    void *cb_eval;
    void *cb_eval_user_data;
    int32_t type_k, type_v;
    void *abort_callback;
    void *abort_callback_data;
    bool embeddings, offload_kqv, no_perf, op_offload, swa_full, kv_unified;
    void *samplers;
    size_t n_samplers;
    struct llama_context *ctx_other;
};
typedef struct llama_batch {
    int32_t n_tokens;
    llama_token *token;
    float *embd;
    llama_pos *pos;
    int32_t *n_seq_id;
    llama_seq_id **seq_id;
    int8_t *logits;
} llama_batch;

_Static_assert(sizeof(struct llama_model_params) == 72, "llama_model_params");
_Static_assert(offsetof(struct llama_model_params, main_gpu) == 28, "main_gpu");
_Static_assert(offsetof(struct llama_model_params, vocab_only) == 64, "vocab_only");
_Static_assert(sizeof(struct llama_context_params) == 160, "llama_context_params");
_Static_assert(offsetof(struct llama_context_params, n_threads) == 24, "n_threads");
_Static_assert(offsetof(struct llama_context_params, flash_attn_type) == 48, "flash_attn_type");
_Static_assert(offsetof(struct llama_context_params, defrag_thold) == 80, "defrag_thold");
_Static_assert(offsetof(struct llama_context_params, type_k) == 104, "type_k");
_Static_assert(offsetof(struct llama_context_params, embeddings) == 128, "embeddings");
_Static_assert(offsetof(struct llama_context_params, samplers) == 136, "samplers");
_Static_assert(sizeof(llama_batch) == 56, "llama_batch");

typedef void (*ggml_log_callback)(int level, const char *text, void *user_data);
extern void llama_backend_init(void);
extern void llama_log_set(ggml_log_callback cb, void *user_data);
extern struct llama_model_params llama_model_default_params(void);
extern struct llama_context_params llama_context_default_params(void);
extern struct llama_model *llama_model_load_from_file(const char *path, struct llama_model_params p);
extern struct llama_context *llama_init_from_model(struct llama_model *m, struct llama_context_params p);
extern void llama_free(struct llama_context *ctx);
extern void llama_model_free(struct llama_model *m);
extern const struct llama_vocab *llama_model_get_vocab(const struct llama_model *m);
extern int32_t llama_vocab_n_tokens(const struct llama_vocab *v);
extern int32_t llama_model_n_embd(const struct llama_model *m);
extern llama_batch llama_batch_init(int32_t n_tokens, int32_t embd, int32_t n_seq_max);
extern void llama_batch_free(llama_batch b);
extern int32_t llama_decode(struct llama_context *ctx, llama_batch b);
extern float *llama_get_logits_ith(struct llama_context *ctx, int32_t i);
extern llama_memory_t llama_get_memory(const struct llama_context *ctx);
extern void llama_memory_clear(llama_memory_t mem, bool data);

static void quiet(int level, const char *text, void *ud) {
    (void)ud;
    if (level == 4) fputs(text, stderr);  // errors only
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++) if (v[i] > v[best]) best = i;
    return best;
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: driver MODEL EMBD_FILE N_PREFILL N_GEN THREADS N_CTX REPS\n");
        return 2;
    }
    const char *model_path = argv[1], *embd_path = argv[2];
    int n_prefill = atoi(argv[3]), n_gen = atoi(argv[4]), threads = atoi(argv[5]), n_ctx = atoi(argv[6]), reps = atoi(argv[7]);

    // The package's libggml links its CPU backend: llama_backend_init registers it (no backend folder to load).
    llama_log_set(quiet, NULL);
    llama_backend_init();

    struct llama_model_params mp = llama_model_default_params();
    struct llama_context_params dp = llama_context_default_params();
    // llama.cpp's documented defaults, read through the declarations above: a shifted field reads a neighbour.
    if (mp.n_gpu_layers != -1 || mp.split_mode != 1 || mp.main_gpu != 0 || mp.vocab_only || !mp.use_extra_bufts
        || dp.n_ctx != 512 || dp.n_batch != 2048 || dp.n_ubatch != 512 || dp.n_seq_max != 1 || dp.flash_attn_type != -1
        || dp.defrag_thold != -1.0f || dp.type_k != 1 || dp.type_v != 1 || !dp.offload_kqv || dp.kv_unified || dp.samplers || dp.ctx_other) {
        fprintf(stderr, "driver: llama.h declarations do not match this libllama's default parameters (not b10221?)\n");
        return 3;
    }
    ggml_backend_dev_t no_devices[1] = {NULL};  // CPU only, as EdgeAvsr's CPU choice
    mp.devices = no_devices;
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(model_path, mp);
    if (!model) { fprintf(stderr, "driver: cannot load %s\n", model_path); return 1; }
    int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    int n_embd = llama_model_n_embd(model);

    float *rows = malloc(sizeof(float) * (size_t)n_prefill * n_embd);
    FILE *f = fopen(embd_path, "rb");
    if (!f || fread(rows, sizeof(float), (size_t)n_prefill * n_embd, f) != (size_t)n_prefill * n_embd) {
        fprintf(stderr, "driver: cannot read %d x %d floats from %s\n", n_prefill, n_embd, embd_path);
        return 1;
    }
    fclose(f);

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = cp.n_ubatch = 512;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = threads;
    cp.no_perf = false;  // as EdgeAvsr's benchmark context (it reads llama.cpp's own decode time)
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "driver: cannot create a context\n"); return 1; }

    int *ids = malloc(sizeof(int) * (size_t)(n_gen > 0 ? n_gen : 1));
    llama_batch eb = llama_batch_init(512, n_embd, 1);
    llama_batch tb = llama_batch_init(512, 0, 1);
    // Repetition 0 is a short warm-up (8 rows + 2 tokens, not printed); then REPS measured repetitions.
    for (int r = 0; r <= reps; r++) {
        int n_gen_r = r == 0 ? (n_gen < 2 ? n_gen : 2) : n_gen;
        int n_prefill_r = r == 0 ? (n_prefill < 8 ? n_prefill : 8) : n_prefill;
        double t0 = now_ms();
        llama_memory_clear(llama_get_memory(ctx), true);
        for (int start = 0; start < n_prefill_r; start += 512) {
            int n = n_prefill_r - start < 512 ? n_prefill_r - start : 512;
            eb.n_tokens = n;
            for (int i = 0; i < n; i++) {
                memcpy(eb.embd + (size_t)i * n_embd, rows + (size_t)(start + i) * n_embd, sizeof(float) * n_embd);
                eb.pos[i] = start + i;
                eb.n_seq_id[i] = 1;
                eb.seq_id[i][0] = 0;
                eb.logits[i] = start + i == n_prefill_r - 1;
            }
            if (llama_decode(ctx, eb) != 0) { fprintf(stderr, "driver: prefill decode failed\n"); return 1; }
        }
        int token = argmax(llama_get_logits_ith(ctx, -1), n_vocab);
        double t1 = now_ms();
        ids[0] = token;
        int generated = 1;
        for (; generated < n_gen_r; generated++) {
            tb.n_tokens = 1;
            tb.token[0] = token;
            tb.pos[0] = n_prefill_r + generated - 1;
            tb.n_seq_id[0] = 1;
            tb.seq_id[0][0] = 0;
            tb.logits[0] = 1;
            if (llama_decode(ctx, tb) != 0) { fprintf(stderr, "driver: decode failed\n"); return 1; }
            token = argmax(llama_get_logits_ith(ctx, 0), n_vocab);
            ids[generated] = token;
        }
        double t2 = now_ms();
        if (r == 0) continue;
        printf("prefill_ms %.3f gen_ms %.3f tokens %d ids", t1 - t0, t2 - t1, generated);
        for (int i = 0; i < generated; i++) printf(" %d", ids[i]);
        printf("\n");
        fflush(stdout);
    }
    llama_batch_free(eb);
    llama_batch_free(tb);
    llama_free(ctx);
    llama_model_free(model);
    free(rows);
    free(ids);
    return 0;
}
