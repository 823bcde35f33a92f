/* seqc_bench.c: times one model that `seqc build` compiled, the benchmark's
 * seqc column. A template: bench.py compiles it once per model with
 *
 *   cc -O2 seqc_bench.c model.o -I runtime/include -I DIR_OF_HEADER
 *      -DSEQ_HEADER='"model.h"' -DSEQ_PREFIX=lenet5
 *      -L build/runtime -lseqrt -Wl,-rpath,build/runtime -lm
 *
 * where SEQ_PREFIX is the model's name in lower case (the generated symbols
 * are SEQ_PREFIX_model and SEQ_PREFIX_forward). Weights are random
 * (seqrt_weights_random); input and output sizes come from the model's
 * description, so the harness needs nothing else from the header.
 *
 *   ./bench BATCHES THREADS MIN_TIME [MIN_ITERS [WEIGHTS]]
 *   e.g. ./bench 1,16 1,2 1.0 5 resnet18.safetensors
 *
 * For each thread count (one context) and batch: warm up, then time single
 * forward calls for at least MIN_TIME seconds and MIN_ITERS calls (10). Prints one JSON object a line:
 * {"batch", "threads", "median_ms", "p10_ms", "p90_ms", "iters"}.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seqrt.h"
#include SEQ_HEADER

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define MODEL CAT(SEQ_PREFIX, _model)
#define FORWARD CAT(SEQ_PREFIX, _forward)

enum { DEFAULT_MIN_ITERS = 10, MAX_ITERS = 100000, MAX_LIST = 16 };
static const double WARMUP_S = 0.2;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, seqrt_status st) {
  fprintf(stderr, "seqc_bench: %s: %s (%s)\n", what, seqrt_status_string(st),
          seqrt_last_error());
  exit(1);
}

/* Elements of a tensor for `batch` (a dimension of -1 is the batch). */
static int64_t elems(const seqrt_tensor_desc *d, int64_t batch) {
  int64_t n = 1;
  for (int i = 0; i < d->rank; ++i) n *= d->dims[i] < 0 ? batch : d->dims[i];
  return n;
}

static float *alloc_floats(int64_t n) {
  size_t bytes = ((size_t)n * sizeof(float) + SEQRT_ALIGNMENT - 1) / SEQRT_ALIGNMENT *
                 SEQRT_ALIGNMENT;
  float *p = aligned_alloc(SEQRT_ALIGNMENT, bytes ? bytes : SEQRT_ALIGNMENT);
  if (!p) die("allocating buffers", SEQRT_ERR_OUT_OF_MEMORY);
  return p;
}

static int parse_list(const char *s, int *out) {
  int n = 0;
  for (char *end; *s && n < MAX_LIST; s = *end ? end + 1 : end)
    out[n++] = (int)strtol(s, &end, 10);
  return n;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double percentile(const double *sorted, int n, double q) {
  return sorted[(int)(q * (n - 1) + 0.5)];
}

static void call(const seqrt_weights *w, const float *x, float *y, int64_t batch,
                 seqrt_context *ctx) {
  seqrt_status st = FORWARD(w, x, y, batch, ctx);
  if (st != SEQRT_OK) die("forward", st);
}

/* Warm up, then time single calls; prints the JSON line. */
static void bench(const seqrt_weights *w, int batch, seqrt_context *ctx, double min_time,
                  int min_iters, double *samples) {
  const seqrt_model *m = &MODEL;
  float *x = alloc_floats(elems(&m->inputs[0], batch));
  float *y = alloc_floats(elems(m->output, batch));
  for (int64_t i = 0; i < elems(&m->inputs[0], batch); ++i)
    x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
  seqrt_status st = seqrt_context_reserve(ctx, (size_t)seqrt_workspace_size(m, batch));
  if (st != SEQRT_OK) die("reserving the workspace", st);

  for (double end = now_s() + WARMUP_S; now_s() < end;) call(w, x, y, batch, ctx);
  int n = 0;
  for (double start = now_s(); (now_s() - start < min_time || n < min_iters) && n < MAX_ITERS;) {
    double t0 = now_s();
    call(w, x, y, batch, ctx);
    samples[n++] = (now_s() - t0) * 1e3;
  }
  qsort(samples, (size_t)n, sizeof *samples, cmp_double);
  printf("{\"batch\": %d, \"threads\": %d, \"median_ms\": %.6f, \"p10_ms\": %.6f, "
         "\"p90_ms\": %.6f, \"iters\": %d}\n",
         batch, seqrt_context_threads(ctx), percentile(samples, n, 0.5),
         percentile(samples, n, 0.1), percentile(samples, n, 0.9), n);
  fflush(stdout);
  free(x);
  free(y);
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 6) {
    fprintf(stderr,
            "usage: %s BATCHES THREADS MIN_TIME [MIN_ITERS [WEIGHTS]]  (e.g. 1,16 1,2 1.0)\n",
            argv[0]);
    return 2;
  }
  int batches[MAX_LIST], threads[MAX_LIST];
  int nb = parse_list(argv[1], batches), nt = parse_list(argv[2], threads);
  double min_time = atof(argv[3]);
  int min_iters = argc > 4 ? atoi(argv[4]) : DEFAULT_MIN_ITERS;
  if (min_iters < 1) min_iters = 1;
  double *samples = malloc(sizeof(double) * MAX_ITERS);

  seqrt_weights *weights;
  seqrt_status st = argc > 5 ? seqrt_weights_load(&MODEL, argv[5], &weights)
                              : seqrt_weights_random(&MODEL, 42, &weights);
  if (st != SEQRT_OK) die(argc > 5 ? argv[5] : "random weights", st);
  for (int t = 0; t < nt; ++t) {
    seqrt_context *ctx;
    st = seqrt_context_new(threads[t], 0, &ctx);
    if (st != SEQRT_OK) die("creating a context", st);
    for (int b = 0; b < nb; ++b)
      bench(weights, batches[b], ctx, min_time, min_iters, samples);
    seqrt_context_free(ctx);
  }
  seqrt_weights_free(weights);
  free(samples);
  return 0;
}
