/* main.c: runs a model compiled by `seqc build` from C, with the runtime
 * libseqrt and nothing else. Built by scripts/demo.sh for examples/lenet5.seq:
 *
 *   seqc build examples/lenet5.seq --model LeNet5 -o lenet5.o   # + lenet5.h
 *   cc main.c lenet5.o -Iruntime/include -Lbuild/runtime -lseqrt -o demo
 *   ./demo [weights.safetensors]
 *
 * Without a weights file it draws weights as PyTorch initialises a fresh
 * model (seqrt_weights_random), so the demo needs no download.
 */
#include "lenet5.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int fail(const char *what, seqrt_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, seqrt_status_string(status), seqrt_last_error());
  return 1;
}

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
  const int64_t batch = 4;
  seqrt_weights *weights = NULL;
  seqrt_status status = argc > 1 ? seqrt_weights_load(&lenet5_model, argv[1], &weights)
                                 : seqrt_weights_random(&lenet5_model, 42, &weights);
  if (status != SEQRT_OK)
    return fail("loading weights", status);

  seqrt_context *ctx = NULL;
  status = seqrt_context_new(0, (size_t)LENET5_WORKSPACE_SIZE(batch), &ctx);
  if (status != SEQRT_OK)
    return fail("creating a context", status);

  /* A batch of "images": a bright square on a dark background, moving. */
  float *x = calloc((size_t)LENET5_X_ELEMS(batch), sizeof(float));
  float *y = calloc((size_t)LENET5_OUTPUT_ELEMS(batch), sizeof(float));
  for (int64_t n = 0; n < batch; ++n)
    for (int i = 8; i < 20; ++i)
      for (int j = 8; j < 20; ++j)
        x[n * 784 + (i + (int)n) * 28 + j] = 1.0f;

  status = lenet5_forward(weights, x, y, batch, ctx);
  if (status != SEQRT_OK)
    return fail("forward", status);

  int runs = 200;
  double start = seconds();
  for (int r = 0; r < runs; ++r)
    lenet5_forward(weights, x, y, batch, ctx);
  double per = (seconds() - start) / runs;

  printf("LeNet5, batch %lld, %d threads: %.1f us per forward\n", (long long)batch,
         seqrt_context_threads(ctx), per * 1e6);
  for (int64_t n = 0; n < batch; ++n) {
    int best = 0;
    printf("  image %lld: logits", (long long)n);
    for (int k = 0; k < 10; ++k) {
      printf(" %+.3f", y[n * 10 + k]);
      if (y[n * 10 + k] > y[n * 10 + best])
        best = k;
    }
    printf("  -> class %d\n", best);
  }
  free(x);
  free(y);
  seqrt_context_free(ctx);
  seqrt_weights_free(weights);
  return 0;
}
