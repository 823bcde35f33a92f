/* seqrt.h: the C API of libseqrt, the minimal runtime that seqc's generated
 * objects link against.
 *
 * A compiled model is described by a `seqrt_model` (emitted by seqc into the
 * object and declared in the generated header). The runtime:
 *   - loads and validates a safetensors file against that description and
 *     lays the weights out for the kernels (`seqrt_weights_load`);
 *   - owns a context: the workspace and the thread pool a forward call uses
 *     (`seqrt_context_new`);
 *   - turns a status into a message (`seqrt_status_string`,
 *     `seqrt_last_error`).
 *
 * Every call returns a status; nothing here aborts, prints or throws.
 * Every failing call, of the runtime or of generated code, sets
 * seqrt_last_error() on the calling thread. Compiles as C99 and as C++.
 *
 * Threads: a `seqrt_weights` handle is immutable once loaded and may be
 * shared by any number of threads, calling any number of forward functions
 * at once. A `seqrt_context` is used by one call at a time (give each
 * thread its own). Descriptions (`seqrt_model`) are constants.
 */
#ifndef SEQRT_H
#define SEQRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEQRT_VERSION_MAJOR 0
#define SEQRT_VERSION_MINOR 2
/* The version of the interface between generated objects and libseqrt:
 * the layout of seqrt_model and the functions generated code calls. An
 * object records the version it was compiled for (seqrt_model.abi_version)
 * and libseqrt refuses a model of another version. */
#define SEQRT_ABI_VERSION 2
#define SEQRT_MAX_RANK 8
/* Alignment, in bytes, of the packed weight buffer and of the workspace. */
#define SEQRT_ALIGNMENT 64

typedef enum seqrt_status {
  SEQRT_OK = 0,
  SEQRT_ERR_ARGUMENT = 1,         /* a NULL pointer, a negative batch, a bad
                                     thread count */
  SEQRT_ERR_INVALID_ARGUMENT = SEQRT_ERR_ARGUMENT, /* its version-1 name */
  SEQRT_ERR_IO = 2,               /* a file that cannot be opened or read */
  SEQRT_ERR_FORMAT = 3,           /* a malformed weights file, or a
                                     pickle the restricted unpickler refuses */
  SEQRT_ERR_MISSING_TENSOR = 4,   /* a parameter the model needs is absent */
  SEQRT_ERR_SHAPE = 5,            /* a tensor of the wrong shape */
  SEQRT_ERR_DTYPE = 6,            /* a dtype other than F32, F16, BF16, F64 */
  SEQRT_ERR_OUT_OF_MEMORY = 7,
  SEQRT_ERR_BATCH = 8,            /* a batch above the model's maximum, or
                                     other than its fixed batch */
  SEQRT_ERR_WORKSPACE = 9,        /* the context's workspace is too small */
  SEQRT_ERR_INTERNAL = 10,
  SEQRT_ERR_WEIGHTS = 11,         /* weights loaded for another model, or for
                                     a build with another parameter table */
  SEQRT_ERR_ABI = 12              /* a model compiled for another
                                     SEQRT_ABI_VERSION */
} seqrt_status;

/* A short, static description of a status ("missing tensor"). */
const char *seqrt_status_string(seqrt_status status);

/* The detailed message of the last failing call on this thread, naming the
 * tensor, the file and both shapes where they apply. Never NULL; "" when
 * the last call succeeded. Valid until the next call on this thread. */
const char *seqrt_last_error(void);

/* ---------------------------------------------------------------------- */
/* Model descriptions (emitted by seqc)                                    */
/* ---------------------------------------------------------------------- */

/* A tensor's shape. A dimension of -1 is the batch, chosen at run time. */
typedef struct seqrt_tensor_desc {
  const char *name;
  int32_t rank;
  int64_t dims[SEQRT_MAX_RANK];
} seqrt_tensor_desc;

/* How the packed weight buffer is made from the state_dict tensors.
 * Offsets (`dst`, `dst2`) count floats from the start of the packed buffer.
 * `src` holds indices into the model's parameter table, -1 where absent. */
/* The layouts of a COPY or FOLD_BN matrix (`transpose`): as it is;
 * transposed to [cols, rows]; or transposed and cut into panels of
 * SEQRT_PACK_PANEL_WIDTH columns: panel p = [cols, WIDTH] holds rows
 * [p*WIDTH, p*WIDTH + WIDTH) of the source, the last zero-padded, so the
 * matrix takes ceil(rows / WIDTH) * WIDTH * cols floats. */
#define SEQRT_PACK_TRANSPOSED 1
#define SEQRT_PACK_PANELS 2
#define SEQRT_PACK_PANEL_WIDTH 32
/* The weights of a 3x3 convolution ([rows = OC, cols = C*9]) for
 * Winograd's F(2x2, 3x3): each 3x3 kernel g becomes U = G g G^T (4x4;
 * G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]), computed in double and
 * rounded once (after the BatchNorm fold, for FOLD_BN); element
 * xi = 4*i + j of every U forms an [OC, C] matrix, laid out in panels as
 * SEQRT_PACK_PANELS lays out a matrix, and the 16 matrices follow one
 * another: 16 * ceil(OC / WIDTH) * WIDTH * C floats in all. */
#define SEQRT_PACK_WINOGRAD 3

typedef enum seqrt_pack_op {
  /* dst = src[0] viewed as [rows, cols], laid out as `transpose` says
   * (0: as it is, or SEQRT_PACK_TRANSPOSED, SEQRT_PACK_PANELS,
   * SEQRT_PACK_WINOGRAD). */
  SEQRT_PACK_COPY = 0,
  /* Fold an inference BatchNorm into the Conv/Linear before it:
   *   A[r]   = gamma[r] / sqrt(var[r] + eps)        (gamma = 1 when absent)
   *   W'[r,:] = W[r,:] * A[r]
   *   b'[r]   = (b[r] - mean[r]) * A[r] + beta[r]   (b, beta = 0 when absent)
   * src = {W [rows, cols], b [rows] or -1, gamma, beta, mean, var};
   * W' goes to dst (laid out as `transpose` says), b' to dst2. */
  SEQRT_PACK_FOLD_BN = 1,
  /* A standalone BatchNorm as one per-channel scale and shift:
   *   scale[r] = gamma[r] / sqrt(var[r] + eps); shift[r] = beta[r] - mean[r]*scale[r]
   * src = {-1, -1, gamma, beta, mean, var}; scale to dst, shift to dst2,
   * `rows` channels. */
  SEQRT_PACK_BN_SCALE_SHIFT = 2,
  /* dst[rows*cols] = 0 */
  SEQRT_PACK_ZERO = 3
} seqrt_pack_op;

typedef struct seqrt_pack_step {
  int32_t op; /* seqrt_pack_op */
  int32_t transpose; /* the layout of dst: 0, SEQRT_PACK_TRANSPOSED, SEQRT_PACK_PANELS or SEQRT_PACK_WINOGRAD */
  int32_t src[6];
  int64_t dst, dst2;
  int64_t rows, cols;
  float eps;
} seqrt_pack_step;

typedef struct seqrt_model {
  /* SEQRT_ABI_VERSION of the seqc that compiled the model. Always the
   * first member, in every version. */
  int32_t abi_version;
  const char *name;   /* the model's name: "MLP" */
  const char *prefix; /* its symbols' prefix: "mlp" for mlp_forward */
  /* seqrt_model_fingerprint(): identifies the parameter table and the
   * packed layout; weights know the fingerprint they were packed for. */
  uint64_t fingerprint;
  int32_t num_inputs;
  const seqrt_tensor_desc *inputs;
  const seqrt_tensor_desc *output;
  /* The state_dict entries the model reads, named as PyTorch names them
   * (`num_batches_tracked` is not among them). */
  int32_t num_params;
  const seqrt_tensor_desc *params;
  /* The packed weight buffer: its size in floats and how it is made. */
  int64_t packed_size;
  int32_t num_pack_steps;
  const seqrt_pack_step *pack_steps;
  /* Workspace bytes a forward call needs: fixed + per_batch * batch. */
  int64_t workspace_fixed;
  int64_t workspace_per_batch;
  /* The largest batch the forward function accepts (<PREFIX>_MAX_BATCH):
   * every size in the generated header and in the call fits in int64_t
   * and size_t for it. */
  int64_t max_batch;
  /* > 0 for a model declared with a fixed batch: the only batch accepted. */
  int64_t fixed_batch;
} seqrt_model;

/* Workspace bytes `model` needs for `batch`; -1 (and seqrt_last_error()
 * set) for a NULL model, a negative batch or a size that overflows. A
 * query: success leaves the last error as it was. */
int64_t seqrt_workspace_size(const seqrt_model *model, int64_t batch);

/* A 64-bit FNV-1a hash of the model's parameter table (names, ranks,
 * shapes), packed size and pack steps: what weights must agree on to be
 * used by the model. 0 for a NULL model. */
uint64_t seqrt_model_fingerprint(const seqrt_model *model);

/* ---------------------------------------------------------------------- */
/* Weights                                                                 */
/* ---------------------------------------------------------------------- */

typedef struct seqrt_weights seqrt_weights;

/* `path` (and an image in memory) is a safetensors file or the zip file
 * torch.save(model.state_dict(), path) writes, told apart by its first
 * bytes. A torch file is read by a restricted unpickler that, like
 * torch.load(weights_only=True), accepts what a state_dict holds and
 * refuses every other global and call by name, executing nothing.
 *
 * Opens `path`, validates it completely (header length, JSON, dtypes,
 * shapes, offsets within the file, no overlaps, gaps or duplicate keys,
 * overflow-checked sizes), matches it against `model->params`, converts to
 * float32 and runs the pack steps. An extra tensor is not an error.
 * On failure *out is NULL and seqrt_last_error() names every problem. */
seqrt_status seqrt_weights_load(const seqrt_model *model, const char *path,
                                seqrt_weights **out);

/* The same from an image in memory (safetensors or torch.save; not copied,
 * not kept). */
seqrt_status seqrt_weights_load_memory(const seqrt_model *model,
                                       const void *data, size_t size,
                                       seqrt_weights **out);

/* Weights drawn as PyTorch initialises a fresh model (uniform in
 * +-1/sqrt(fan_in) for Conv/Linear, BatchNorm statistics 0 and 1), from
 * `seed`: for demos and benchmarks. */
seqrt_status seqrt_weights_random(const seqrt_model *model, uint64_t seed,
                                  seqrt_weights **out);

/* A handle holding a copy of `packed` (`model->packed_size` floats, laid
 * out as seqrt_weights_data returns them), e.g. weights packed earlier
 * and cached. `count` must equal model->packed_size. */
seqrt_status seqrt_weights_from_packed(const seqrt_model *model,
                                       const float *packed, size_t count,
                                       seqrt_weights **out);

/* The packed buffer (model->packed_size floats, read-only). */
const float *seqrt_weights_data(const seqrt_weights *weights);
/* The name of the model the weights were loaded for; "" for NULL. */
const char *seqrt_weights_model_name(const seqrt_weights *weights);
void seqrt_weights_free(seqrt_weights *weights);

/* One problem found while matching a file against a model. */
typedef enum seqrt_problem_kind {
  SEQRT_PROBLEM_MISSING = 0,    /* error: the model needs it, the file lacks it */
  SEQRT_PROBLEM_SHAPE = 1,      /* error: both shapes are in the message */
  SEQRT_PROBLEM_DTYPE = 2,      /* error */
  SEQRT_PROBLEM_UNEXPECTED = 3, /* warning: the file has it, the model not */
  SEQRT_PROBLEM_FORMAT = 4,     /* error: the file itself is malformed */
  SEQRT_PROBLEM_PREFIX = 5      /* error: every name in the file carries a
                                   prefix the model's names lack (DDP's
                                   "module."); `tensor` is that prefix */
} seqrt_problem_kind;

/* `tensor` is "" when the problem concerns the whole file; `message`
 * names the file. Both are valid only during the call. */
typedef void (*seqrt_problem_fn)(void *user, seqrt_problem_kind kind,
                                 const char *tensor, const char *message);

/* Checks `path` against `model` without packing, calling `report` once per
 * problem (every one, not just the first). Returns SEQRT_OK when no error
 * (warnings allowed) was found. */
seqrt_status seqrt_weights_check(const seqrt_model *model, const char *path,
                                 seqrt_problem_fn report, void *user);

/* seqrt_weights_load and seqrt_weights_check with `strip_prefix` removed
 * from the front of every tensor name in the file that starts with it
 * (e.g. "module." for a checkpoint saved from DistributedDataParallel).
 * NULL or "" strips nothing. */
seqrt_status seqrt_weights_load_strip(const seqrt_model *model,
                                      const char *path,
                                      const char *strip_prefix,
                                      seqrt_weights **out);
seqrt_status seqrt_weights_check_strip(const seqrt_model *model,
                                       const char *path,
                                       const char *strip_prefix,
                                       seqrt_problem_fn report, void *user);

/* Runs the model's pack steps on float32 state_dict tensors (`params[i]`
 * for `model->params[i]`, in PyTorch layout) into `packed`
 * (`model->packed_size` floats, zeroed first). Used by seqc to compile
 * weights in. Invalid steps fail with SEQRT_ERR_INTERNAL before anything
 * is written. */
seqrt_status seqrt_pack(const seqrt_model *model, const float *const *params,
                        float *packed);

/* ---------------------------------------------------------------------- */
/* Contexts                                                                */
/* ---------------------------------------------------------------------- */

typedef struct seqrt_context seqrt_context;

/* A context with `threads` worker threads in all (0: one per core) and a
 * workspace of `workspace_bytes` (grown later by seqrt_context_reserve).
 * One thread at a time may use a context; several contexts may run at
 * once. */
seqrt_status seqrt_context_new(int threads, size_t workspace_bytes,
                               seqrt_context **out);
void seqrt_context_free(seqrt_context *ctx);
/* Makes the workspace at least `bytes` large (allocates; not during a
 * forward call). */
seqrt_status seqrt_context_reserve(seqrt_context *ctx, size_t bytes);
int seqrt_context_threads(const seqrt_context *ctx);

/* ---- used by generated code ---- */

/* The checks at the start of every generated forward function. Checks,
 * in this order and setting seqrt_last_error() on failure:
 *   - `ctx`, `output` and each of `model->num_inputs` `inputs` are not
 *     NULL, `ctx` is a live context, `batch` is not negative
 *     (SEQRT_ERR_ARGUMENT);
 *   - `weights`, when not NULL, is a live handle (SEQRT_ERR_ARGUMENT: e.g.
 *     seqrt_weights_data(), what version-1 forward functions took);
 *   - `weights` is a handle for this model (SEQRT_ERR_WEIGHTS), or NULL
 *     when `embedded` holds compiled-in weights or the model has none
 *     (otherwise SEQRT_ERR_ARGUMENT);
 *   - `batch` is at most `model->max_batch` and equals a fixed batch
 *     (SEQRT_ERR_BATCH);
 *   - the context's workspace holds what `batch` needs
 *     (SEQRT_ERR_WORKSPACE).
 * On success clears the last error and sets *packed to the weights to
 * use, *workspace to the workspace (NULL when batch is 0). */
seqrt_status seqrt_forward_begin(const seqrt_model *model,
                                 const seqrt_weights *weights,
                                 const float *embedded,
                                 const float *const *inputs,
                                 const float *output, int64_t batch,
                                 seqrt_context *ctx, const float **packed,
                                 void **workspace);

/* The end of a forward call that seqrt_forward_begin let through (the
 * last thing generated code does before it returns SEQRT_OK): with two
 * threads or more, the call's time from its first parallel loop goes
 * into the context's choice of running the next calls of this model and
 * batch with the pool or on the calling thread alone, whichever has been
 * faster of late (a small model on two cores that share no cache can be
 * slower on two threads than on one). Does nothing for a NULL or dead
 * ctx, or a call that ran no loop. Forward functions compiled before it
 * existed do not call it, and always use the pool. */
void seqrt_forward_end(seqrt_context *ctx);

/* The workspace, aligned to SEQRT_ALIGNMENT, when it holds at least `bytes`;
 * NULL otherwise. Never allocates. (Version-1 generated code called it;
 * seqrt_forward_begin now hands the workspace over.) */
void *seqrt_context_workspace(seqrt_context *ctx, size_t bytes);

/* The L2 cache of one core of the machine this runs on, in bytes (Linux's
 * sysfs, else glibc's sysconf; 1 MiB when neither says). A forward
 * function that runs image by image takes groups of images whose
 * activations fit it when the model's weights do too. */
int64_t seqrt_l2_cache_bytes(void);

/* Runs fn(arg, begin, end) over [0, n) split in chunks across the context's
 * threads, the calling thread included; returns when all are done.
 * n <= 0 does nothing; a NULL ctx, a one-thread ctx or n == 1 runs
 * fn(arg, 0, n) inline, as does a nested call on the same ctx, and a
 * call inside a forward call that the context chose to run alone (see
 * seqrt_forward_end). */
typedef void (*seqrt_task_fn)(void *arg, int64_t begin, int64_t end);
void seqrt_parallel_for(seqrt_context *ctx, int64_t n, seqrt_task_fn fn,
                        void *arg);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SEQRT_H */
