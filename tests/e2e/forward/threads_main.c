/* threads_main.c: a compiled forward on contexts of 1, 2 and 3 workers
 * must compute the same output, bit for bit: every output sums its terms
 * in one fixed order, however a layer's work is split. threads_agree.py
 * builds it once per model (net.h, NET_*) and runs it:
 *
 *   ./threads CALLS BATCH
 *
 * One call on a 1-worker context is the reference; then CALLS calls on
 * each multi-worker context, each output compared with it (a race between
 * two tasks' stores shows only in some runs, so there are many). Prints
 * how many calls differed and where the first difference was. */
#include "net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *alloc_floats(size_t n) {
  size_t bytes = (n * sizeof(float) + SEQRT_ALIGNMENT - 1) / SEQRT_ALIGNMENT * SEQRT_ALIGNMENT;
  return aligned_alloc(SEQRT_ALIGNMENT, bytes ? bytes : SEQRT_ALIGNMENT);
}

static int call(const seqrt_weights *w, const float *x, float *y, int64_t batch, int workers,
                int calls, const float *want, size_t out) {
  seqrt_context *ctx = NULL;
  seqrt_status st = seqrt_context_new(workers, (size_t)NET_WORKSPACE_SIZE(batch), &ctx);
  int differ = 0;
  for (int i = 0; i < calls && st == SEQRT_OK; ++i) {
    memset(y, 0xff, out * sizeof(float)); /* NaN: an output never written differs */
    st = net_forward(w, x, y, batch, ctx);
    if (st != SEQRT_OK || !want || memcmp(y, want, out * sizeof(float)) == 0)
      continue;
    if (differ++ == 0)
      for (size_t k = 0; k < out; ++k)
        if (memcmp(&y[k], &want[k], sizeof(float)) != 0) {
          fprintf(stderr, "%d workers, batch %lld, call %d: output %zu is %.9g, not %.9g\n", workers,
                  (long long)batch, i, k, (double)y[k], (double)want[k]);
          break;
        }
  }
  seqrt_context_free(ctx);
  if (st != SEQRT_OK) {
    fprintf(stderr, "forward: %s: %s\n", seqrt_status_string(st), seqrt_last_error());
    return -1;
  }
  return differ;
}

int main(int argc, char **argv) {
  int calls = argc > 1 ? atoi(argv[1]) : 100;
  int64_t batch = argc > 2 ? atoll(argv[2]) : 1;
  seqrt_weights *w = NULL;
  if (seqrt_weights_random(&net_model, 11, &w) != SEQRT_OK) {
    fprintf(stderr, "weights: %s\n", seqrt_last_error());
    return 1;
  }
  size_t in = (size_t)NET_X_ELEMS(batch), out = (size_t)NET_OUTPUT_ELEMS(batch);
  float *x = alloc_floats(in), *want = alloc_floats(out), *y = alloc_floats(out);
  for (size_t i = 0; i < in; ++i)
    x[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
  int bad = call(w, x, want, batch, 1, 1, NULL, out) != 0;
  for (int workers = 2; workers <= 3 && !bad; ++workers) {
    int differ = call(w, x, y, batch, workers, calls, want, out);
    if (differ != 0) {
      fprintf(stderr, "%d workers, batch %lld: %d of %d calls differ from 1 worker's\n", workers,
              (long long)batch, differ, calls);
      bad = 1;
    }
  }
  if (!bad)
    printf("batch %lld: %d calls each on 2 and 3 workers agree with 1 worker, bit for bit\n", (long long)batch,
           calls);
  free(x);
  free(want);
  free(y);
  seqrt_weights_free(w);
  return bad;
}
