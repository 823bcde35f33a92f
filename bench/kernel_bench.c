/* kernel_bench.c: times one kernel of the library (compiler/codegen/kernels)
 * alone, on shapes given on the command line: a quicker loop than a whole
 * model when changing a tile or a prefetch. Not a test, and not the
 * bench's figures (those are bench.py's, models against their peers).
 *
 * Build it against the kernels compiled for this machine, in the tiling
 * seqc would link here (SEQK_NARROW=1 for x86 without AVX-512):
 *
 *   K=compiler/codegen/kernels; mkdir -p /tmp/kb
 *   for f in $K/[a-z]*.c; do clang-19 -std=c11 -O2 -march=native -fno-math-errno \
 *       -ffp-contract=on -Wno-pass-failed -DSEQK_NARROW=1 -I$K -c $f \
 *       -o /tmp/kb/$(basename $f .c).o; done
 *   clang-19 -O2 -march=native -I$K bench/kernel_bench.c /tmp/kb/[a-z]*.o -lm -o /tmp/kb/bench
 *
 *   /tmp/kb/bench gemm M N K [stream [tile_columns]]
 *       C[M, N] = A[M, K] B on packed B (seqk_gemm_packed, or with stream 1
 *       seqk_gemm_packed_stream), in calls of tile_columns columns (256:
 *       how a Linear layer's tasks split it);
 *   /tmp/kb/bench pointwise C OC HW TW lastTW [run]
 *       a 1x1 convolution of C -> OC channels on HW positions
 *       (seqk_conv2d_pointwise), in runs of `run` positions (the whole
 *       plane by default), tiles of TW and a last of lastTW.
 *
 * Random data; the best of REPS calls (environment, 20 by default) after
 * one warm-up, in microseconds and GFLOP/s. FLUSH=1 reads 48 MB between
 * calls, so that the operands come from memory rather than the caches.
 * bench/kernel_ab.sh compares builds, alternated and pinned to each CPU
 * in turn. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seqk.h"

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static float *random_floats(int64_t n) {
  size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64;
  float *p = aligned_alloc(64, bytes ? bytes : 64);
  if (!p) {
    fprintf(stderr, "kernel_bench: out of memory\n");
    exit(1);
  }
  for (int64_t i = 0; i < n; ++i)
    p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  return p;
}

static int64_t arg(int argc, char **argv, int i, int64_t fallback) {
  return i < argc ? atoll(argv[i]) : fallback;
}

/* 48 MB read between calls (FLUSH=1): more than this machine's caches. */
static volatile float flush_sink;
static void flush_caches(void) {
  static float *junk;
  enum { FLOATS = 12 << 20 };
  if (!junk)
    junk = random_floats(FLOATS);
  float s = 0;
  for (int64_t i = 0; i < FLOATS; i += 16)
    s += junk[i];
  flush_sink = s;
}

typedef struct {
  const char *what;
  int64_t M, N, K, stream, cols;               /* gemm */
  int64_t C, OC, HW, TW, lastTW, run;          /* pointwise */
  const float *a, *b;
  float *c;
} Call;

static void run_once(const Call *k) {
  if (k->what[0] == 'g') {
    for (int64_t n0 = 0; n0 < k->N; n0 += k->cols) {
      int64_t n1 = n0 + k->cols < k->N ? n0 + k->cols : k->N;
      if (k->stream)
        seqk_gemm_packed_stream(k->M, k->N, k->K, k->a, k->K, k->b, k->c, k->N, 0, k->M, n0,
                                n1, 0, 0);
      else
        seqk_gemm_packed(k->M, k->N, k->K, k->a, k->K, k->b, k->c, k->N, 0, k->M, n0, n1, 0,
                         0);
    }
    return;
  }
  int64_t panels = (k->OC + SEQK_PANEL_WIDTH - 1) / SEQK_PANEL_WIDTH;
  for (int64_t q = 0; q < k->HW; q += k->run) {
    int64_t q1 = q + k->run < k->HW ? q + k->run : k->HW;
    seqk_conv2d_pointwise(k->a, k->b, k->c, k->C, k->HW, k->OC, k->TW, k->lastTW, 0, panels, q,
                          q1, 0, 0, 0, 0, 0);
  }
}

int main(int argc, char **argv) {
  Call k = {0};
  double flops;
  if (argc >= 5 && strcmp(argv[1], "gemm") == 0) {
    k.what = "gemm";
    k.M = arg(argc, argv, 2, 1), k.N = arg(argc, argv, 3, 1), k.K = arg(argc, argv, 4, 1);
    k.stream = arg(argc, argv, 5, 0), k.cols = arg(argc, argv, 6, 256);
    int64_t panels = (k.N + SEQK_PANEL_WIDTH - 1) / SEQK_PANEL_WIDTH;
    k.a = random_floats(k.M * k.K);
    k.b = random_floats(panels * SEQK_PANEL_WIDTH * k.K); /* packed: any floats will do */
    k.c = random_floats(k.M * k.N);
    flops = 2.0 * (double)k.M * (double)k.N * (double)k.K;
  } else if (argc >= 7 && strcmp(argv[1], "pointwise") == 0) {
    k.what = "pointwise";
    k.C = arg(argc, argv, 2, 1), k.OC = arg(argc, argv, 3, 1), k.HW = arg(argc, argv, 4, 1);
    k.TW = arg(argc, argv, 5, 14), k.lastTW = arg(argc, argv, 6, 14);
    k.run = arg(argc, argv, 7, k.HW);
    int64_t panels = (k.OC + SEQK_PANEL_WIDTH - 1) / SEQK_PANEL_WIDTH;
    k.a = random_floats(k.C * k.HW);
    k.b = random_floats(panels * SEQK_PANEL_WIDTH * k.C);
    k.c = random_floats(k.OC * k.HW);
    flops = 2.0 * (double)k.C * (double)k.OC * (double)k.HW;
  } else {
    fprintf(stderr, "usage: %s gemm M N K [stream [tile_columns]]\n"
                    "       %s pointwise C OC HW TW lastTW [run]\n",
            argv[0], argv[0]);
    return 2;
  }
  int bad = k.what[0] == 'g' ? k.M < 1 || k.N < 1 || k.K < 1 || k.cols < 1
                             : k.C < 1 || k.OC < 1 || k.HW < 1 || k.TW < 1 || k.TW > 14 ||
                                   k.lastTW < 1 || k.lastTW > 14 || k.run < k.TW;
  if (bad) {
    fprintf(stderr, "kernel_bench: sizes must be positive (TW and lastTW 1..14, run >= TW)\n");
    return 2;
  }
  const char *reps_env = getenv("REPS"), *flush_env = getenv("FLUSH");
  int reps = reps_env ? atoi(reps_env) : 20;
  int flush = flush_env && *flush_env && strcmp(flush_env, "0") != 0;
  run_once(&k);
  double best = 1e30;
  for (int r = 0; r < (reps > 0 ? reps : 1); ++r) {
    if (flush)
      flush_caches();
    double t0 = now_s();
    run_once(&k);
    double t = now_s() - t0;
    best = t < best ? t : best;
  }
  printf("%s", k.what);
  for (int i = 2; i < argc; ++i)
    printf(" %s", argv[i]);
  printf(": %.1f us, %.1f GFLOP/s (best of %d%s)\n", best * 1e6, flops / best * 1e-9,
         reps > 0 ? reps : 1, flush ? ", caches flushed" : "");
  return 0;
}
