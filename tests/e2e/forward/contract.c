/* contract.c: the forward contract of INTERFACE.md version 2, from C, on
 * objects seqc built (tests/e2e/forward_contract.py builds and links them):
 *   net_a, net_b  two models both named Net, other parameter tables,
 *                 linked into one program with --prefix;
 *   net_a_emb     net_a with its weights compiled in (--weights);
 *   other         a model named Other with net_a's parameter table;
 *   big           a model whose sizes overflow int64 at a (relatively) small batch.
 * Exits 0 when every check passes; prints each failure. argv[1]: the
 * weights file net_a_emb was built with. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "big.h"
#include "net_a.h"
#include "net_a_emb.h"
#include "net_b.h"
#include "other.h"

static int failures = 0;

#define EXPECT(cond, ...)                                      \
  do {                                                         \
    if (!(cond)) {                                             \
      fprintf(stderr, "FAIL line %d: ", __LINE__);             \
      fprintf(stderr, __VA_ARGS__);                            \
      fprintf(stderr, " [last error: %s]\n", seqrt_last_error()); \
      ++failures;                                              \
    }                                                          \
  } while (0)

static int mentions(const char *text, const char *part) { return strstr(text, part) != NULL; }

static seqrt_weights *random_weights(const seqrt_model *model, uint64_t seed) {
  seqrt_weights *w = NULL;
  seqrt_status st = seqrt_weights_random(model, seed, &w);
  if (st != SEQRT_OK) {
    fprintf(stderr, "seqrt_weights_random(%s): %s\n", model->name, seqrt_last_error());
    exit(1);
  }
  return w;
}

static float x[2 * 4] = {0.5f, -1.0f, 2.0f, 0.25f, -0.5f, 1.5f, 0.0f, 3.0f};

/* Two models named Net, with prefixes, in one program; each runs with its
 * own weights and refuses the other's, naming both models. */
static void two_models_one_name(seqrt_context *ctx) {
  seqrt_weights *wa = random_weights(&net_a_model, 1), *wb = random_weights(&net_b_model, 2);
  seqrt_weights *wo = random_weights(&other_model, 3);
  float y[2 * 3];
  EXPECT(net_a_forward(wa, x, y, 2, ctx) == SEQRT_OK, "net_a with its weights");
  EXPECT(!*seqrt_last_error(), "a successful call leaves no error");
  EXPECT(net_b_forward(wb, x, y, 2, ctx) == SEQRT_OK, "net_b with its weights");

  EXPECT(net_a_forward(wb, x, y, 2, ctx) == SEQRT_ERR_WEIGHTS, "net_a refuses net_b's weights");
  EXPECT(mentions(seqrt_last_error(), "'Net'") && mentions(seqrt_last_error(), "net_a_forward") &&
             mentions(seqrt_last_error(), "another parameter table"),
         "the message names both builds of Net");
  EXPECT(net_b_forward(wa, x, y, 2, ctx) == SEQRT_ERR_WEIGHTS, "net_b refuses net_a's weights");
  EXPECT(net_a_forward(wo, x, y, 2, ctx) == SEQRT_ERR_WEIGHTS, "net_a refuses Other's weights");
  EXPECT(mentions(seqrt_last_error(), "'Other'") && mentions(seqrt_last_error(), "'Net'"),
         "the message names Other and Net");
  EXPECT(other_forward(wa, x, y, 2, ctx) == SEQRT_ERR_WEIGHTS, "other refuses Net's weights");
  seqrt_weights_free(wa);
  seqrt_weights_free(wb);
  seqrt_weights_free(wo);
}

/* An object built with --weights runs on NULL (its own weights) or a handle
 * of its model, and refuses others. */
static void embedded(seqrt_context *ctx, const char *path) {
  float own[2 * 3], loaded[2 * 3];
  seqrt_weights *w = NULL;
  EXPECT(seqrt_weights_load(&net_a_model, path, &w) == SEQRT_OK, "loading %s", path);
  EXPECT(net_a_emb_forward(NULL, x, own, 2, ctx) == SEQRT_OK, "embedded: NULL weights");
  EXPECT(net_a_forward(w, x, loaded, 2, ctx) == SEQRT_OK, "net_a with the file's weights");
  EXPECT(memcmp(own, loaded, sizeof own) == 0, "compiled-in and loaded weights agree");
  seqrt_weights *wr = random_weights(&net_a_emb_model, 5), *wb = random_weights(&net_b_model, 6);
  EXPECT(net_a_emb_forward(wr, x, own, 2, ctx) == SEQRT_OK, "embedded: a handle of its model");
  EXPECT(net_a_forward(wr, x, loaded, 2, ctx) == SEQRT_OK, "the same handle in net_a");
  EXPECT(memcmp(own, loaded, sizeof own) == 0, "the handle overrides the compiled-in weights");
  EXPECT(net_a_emb_forward(wb, x, own, 2, ctx) == SEQRT_ERR_WEIGHTS, "embedded: refuses net_b's weights");
  EXPECT(net_a_forward(NULL, x, own, 2, ctx) == SEQRT_ERR_ARGUMENT, "no weights compiled into net_a");
  seqrt_weights_free(w);
  seqrt_weights_free(wr);
  seqrt_weights_free(wb);
}

static void null_arguments(seqrt_context *ctx) {
  seqrt_weights *w = random_weights(&net_a_model, 7);
  float y[2 * 3];
  EXPECT(net_a_forward(w, NULL, y, 2, ctx) == SEQRT_ERR_ARGUMENT, "NULL input");
  EXPECT(mentions(seqrt_last_error(), "input 'x' is NULL"), "names the input");
  EXPECT(net_a_forward(w, x, NULL, 2, ctx) == SEQRT_ERR_ARGUMENT, "NULL output");
  EXPECT(mentions(seqrt_last_error(), "output is NULL"), "names the output");
  EXPECT(net_a_forward(w, x, y, 2, NULL) == SEQRT_ERR_ARGUMENT, "NULL context");
  EXPECT(mentions(seqrt_last_error(), "context") && !mentions(seqrt_last_error(), "too small"),
         "a NULL context is not a small workspace");
  EXPECT(net_a_forward(w, x, y, -1, ctx) == SEQRT_ERR_ARGUMENT, "negative batch");
  EXPECT(mentions(seqrt_last_error(), "negative"), "says the batch is negative");
  seqrt_weights_free(w);
}

/* The last error belongs to the thread that failed. */
struct thread_result {
  seqrt_context *ctx;
  seqrt_weights *w;
  int clean_at_start, clean_after_success, own_error;
};

static void *other_thread(void *arg) {
  struct thread_result *r = (struct thread_result *)arg;
  float y[2 * 3];
  r->clean_at_start = *seqrt_last_error() == '\0';
  r->clean_after_success = net_a_forward(r->w, x, y, 2, r->ctx) == SEQRT_OK && !*seqrt_last_error();
  r->own_error = net_a_forward(r->w, x, NULL, 2, r->ctx) == SEQRT_ERR_ARGUMENT &&
                 mentions(seqrt_last_error(), "output is NULL");
  return NULL;
}

static void last_error_per_thread(void) {
  seqrt_weights *w = random_weights(&net_a_model, 8);
  struct thread_result r = {NULL, w, 0, 0, 0};
  EXPECT(seqrt_context_new(1, (size_t)NET_A_WORKSPACE_SIZE(2), &r.ctx) == SEQRT_OK, "context");
  float y[2 * 3];
  EXPECT(net_a_forward(w, x, y, -5, r.ctx) == SEQRT_ERR_ARGUMENT, "a failing call here");
  char mine[512];
  snprintf(mine, sizeof mine, "%s", seqrt_last_error());
  pthread_t thread;
  pthread_create(&thread, NULL, other_thread, &r);
  pthread_join(thread, NULL);
  EXPECT(r.clean_at_start, "another thread starts with no error");
  EXPECT(r.clean_after_success, "another thread's successful call has no error");
  EXPECT(r.own_error, "another thread sees its own failure");
  EXPECT(strcmp(seqrt_last_error(), mine) == 0 && mentions(mine, "-5"), "this thread's error is unchanged");
  seqrt_context_free(r.ctx);
  seqrt_weights_free(w);
}

/* BIG_MAX_BATCH keeps every size macro in range; the forward function
 * refuses a larger batch before touching memory. */
static void max_batch(seqrt_context *ctx) {
  int64_t bytes;
  /* 16 GiB a sample (seqc's tensor limit) leaves a maximum near 2^29. */
  EXPECT(BIG_MAX_BATCH > 0 && BIG_MAX_BATCH < ((int64_t)1 << 31), "a large model has a bounded maximum batch (%lld)",
         (long long)BIG_MAX_BATCH);
  EXPECT(!__builtin_mul_overflow(BIG_X_ELEMS(BIG_MAX_BATCH), (int64_t)sizeof(float), &bytes) &&
             !__builtin_mul_overflow(BIG_OUTPUT_ELEMS(BIG_MAX_BATCH), (int64_t)sizeof(float), &bytes),
         "the size macros in bytes fit int64 at BIG_MAX_BATCH");
  EXPECT(__builtin_mul_overflow(BIG_X_ELEMS(1) * (int64_t)sizeof(float), BIG_MAX_BATCH + 1, &bytes),
         "the maximum is tight: one more overflows");
  float dummy[4] = {0};
  EXPECT(big_forward(NULL, dummy, dummy, BIG_MAX_BATCH + 1, ctx) == SEQRT_ERR_BATCH, "batch above the maximum");
  EXPECT(mentions(seqrt_last_error(), "maximum"), "says the batch is above the maximum");
  EXPECT(big_forward(NULL, dummy, dummy, INT64_MAX, ctx) == SEQRT_ERR_BATCH, "INT64_MAX");
  EXPECT(net_a_model.max_batch == NET_A_MAX_BATCH, "the description records the maximum");
}

/* A model of another ABI version is refused, saying which. */
static void abi_version(void) {
  seqrt_model old = net_a_model;
  seqrt_weights *w = NULL;
  EXPECT(old.abi_version == SEQRT_ABI_VERSION, "the object records the ABI version");
  old.abi_version = SEQRT_ABI_VERSION + 1;
  EXPECT(seqrt_weights_random(&old, 1, &w) == SEQRT_ERR_ABI && w == NULL, "another ABI version");
  EXPECT(mentions(seqrt_last_error(), "ABI version 3") && mentions(seqrt_last_error(), "implements version 2"),
         "names both versions");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s NET_A_WEIGHTS\n", argv[0]);
    return 2;
  }
  seqrt_context *ctx = NULL;
  if (seqrt_context_new(2, 1 << 16, &ctx) != SEQRT_OK)
    return 1;
  two_models_one_name(ctx);
  embedded(ctx, argv[1]);
  null_arguments(ctx);
  last_error_per_thread();
  max_batch(ctx);
  abi_version();
  seqrt_context_free(ctx);
  if (failures == 0)
    printf("forward contract: all checks passed\n");
  return failures ? 1 : 0;
}
