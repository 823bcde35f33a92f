/* app.c: runs the MLP of mlp.seq, compiled by seqc, on a small batch with
 * seeded random weights (as PyTorch initialises a fresh model), and prints
 * each row's class probabilities. Exits 1 if a call fails or a row of the
 * softmax does not sum to 1. */
#include "mlp.h"

#include <math.h>
#include <stdio.h>

static int fail(const char *what, seqrt_status status) {
  fprintf(stderr, "%s: %s: %s\n", what, seqrt_status_string(status), seqrt_last_error());
  return 1;
}

int main(void) {
  enum { BATCH = 3 };
  float x[MLP_X_ELEMS(BATCH)], y[MLP_OUTPUT_ELEMS(BATCH)];
  for (int i = 0; i < MLP_X_ELEMS(BATCH); ++i)
    x[i] = (float)((i * 37) % 11) / 5.0f - 1.0f;

  seqrt_weights *weights = NULL;
  seqrt_status status = seqrt_weights_random(&mlp_model, 42, &weights);
  if (status != SEQRT_OK)
    return fail("seqrt_weights_random", status);
  seqrt_context *ctx = NULL;
  status = seqrt_context_new(1, (size_t)MLP_WORKSPACE_SIZE(BATCH), &ctx);
  if (status != SEQRT_OK)
    return fail("seqrt_context_new", status);
  status = mlp_forward(weights, x, y, BATCH, ctx);
  if (status != SEQRT_OK)
    return fail("mlp_forward", status);

  int bad = 0;
  for (int n = 0; n < BATCH; ++n) {
    float sum = 0;
    printf("row %d:", n);
    for (int k = 0; k < 4; ++k) {
      printf(" %.4f", y[n * 4 + k]);
      sum += y[n * 4 + k];
    }
    printf("\n");
    bad |= fabsf(sum - 1.0f) > 1e-5f;
  }
  seqrt_context_free(ctx);
  seqrt_weights_free(weights);
  if (bad)
    fprintf(stderr, "a row of the softmax does not sum to 1\n");
  return bad;
}
