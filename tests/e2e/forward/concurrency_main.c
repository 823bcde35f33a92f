/* concurrency_main.c: 8 threads call one compiled forward at once, sharing
 * one weights handle, each with its own context of 2 workers; every thread's
 * output must equal a lone call's, bit for bit. concurrency_tsan.py builds
 * it, with libseqrt and the forward (seqc build --sanitize thread), under
 * ThreadSanitizer. The model is net.h (NET_*).
 * `concurrency race`: 2 threads give the forward ONE output buffer, a data
 * race that only the forward's own stores make, which ThreadSanitizer must
 * report (it cannot when the forward is not instrumented).
 * CONCURRENCY_THREADS and CONCURRENCY_BATCH (-D) change the 8 threads and
 * the batch of 4: one thread at batch 2 leaves the context's 2 workers to
 * the forward's own parallel loops. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include "net.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CONCURRENCY_THREADS
#define CONCURRENCY_THREADS 8
#endif
#ifndef CONCURRENCY_BATCH
#define CONCURRENCY_BATCH 4
#endif
enum { kThreads = CONCURRENCY_THREADS, kCalls = 5, kBatch = CONCURRENCY_BATCH };

static seqrt_weights *weights;
static float *x;

struct Job {
  float *y;
  seqrt_status status;
};

/* Race mode: both threads wait here once their context exists and again
 * before freeing it, so that their forwards overlap and neither thread's
 * workers end (and are recycled) before the other's stores: on a loaded
 * machine one thread could otherwise finish before the other began, and
 * ThreadSanitizer, recycling the finished workers' slots, saw no race. */
static pthread_barrier_t *overlap;

static seqrt_status forward(float *y, int calls) {
  seqrt_context *ctx = NULL;
  seqrt_status status = seqrt_context_new(2, (size_t)NET_WORKSPACE_SIZE(kBatch), &ctx);
  if (overlap)
    pthread_barrier_wait(overlap);
  for (int i = 0; i < calls && status == SEQRT_OK; ++i)
    status = net_forward(weights, x, y, kBatch, ctx);
  if (overlap)
    pthread_barrier_wait(overlap);
  if (status != SEQRT_OK)
    fprintf(stderr, "forward: %s: %s\n", seqrt_status_string(status), seqrt_last_error());
  seqrt_context_free(ctx);
  return status;
}

static void *run(void *arg) {
  struct Job *job = arg;
  job->status = forward(job->y, kCalls);
  return NULL;
}

/* Two threads, one output buffer: the forward's stores race. */
static int race(void) {
  float *y = calloc((size_t)NET_OUTPUT_ELEMS(kBatch), sizeof(float));
  pthread_t threads[2];
  struct Job jobs[2] = {{y, SEQRT_OK}, {y, SEQRT_OK}};
  static pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, 2);
  overlap = &barrier;
  for (int t = 0; t < 2; ++t)
    if (pthread_create(&threads[t], NULL, run, &jobs[t]) != 0)
      return 1;
  for (int t = 0; t < 2; ++t)
    pthread_join(threads[t], NULL);
  pthread_barrier_destroy(&barrier);
  free(y);
  printf("2 threads wrote one output buffer and ThreadSanitizer said nothing\n");
  return 0;
}

int main(int argc, char **argv) {
  if (seqrt_weights_random(&net_model, 7, &weights) != SEQRT_OK) {
    fprintf(stderr, "weights: %s\n", seqrt_last_error());
    return 1;
  }
  size_t in = (size_t)NET_X_ELEMS(kBatch), out = (size_t)NET_OUTPUT_ELEMS(kBatch);
  x = malloc(in * sizeof(float));
  for (size_t i = 0; i < in; ++i)
    x[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
  if (argc > 1 && strcmp(argv[1], "race") == 0)
    return race();
  float *want = calloc(out, sizeof(float));
  if (forward(want, 1) != SEQRT_OK)
    return 1;

  pthread_t threads[kThreads];
  struct Job jobs[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    jobs[t].y = calloc(out, sizeof(float));
    if (pthread_create(&threads[t], NULL, run, &jobs[t]) != 0)
      return 1;
  }
  int bad = 0;
  for (int t = 0; t < kThreads; ++t) {
    pthread_join(threads[t], NULL);
    if (jobs[t].status != SEQRT_OK || memcmp(jobs[t].y, want, out * sizeof(float)) != 0) {
      fprintf(stderr, "thread %d computed a different output\n", t);
      bad = 1;
    }
    free(jobs[t].y);
  }
  free(want);
  free(x);
  seqrt_weights_free(weights);
  if (!bad)
    printf("%d threads x %d calls agree with a lone call\n", kThreads, kCalls);
  return bad;
}
