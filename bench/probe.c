/* probe.c: what this machine can do, measured in the benchmark's own run,
 * so that every figure of the table is quoted against it:
 *   - the FMA peak: independent vector FMA chains in registers, on 1..T
 *     threads at once (GFLOP/s, 2 flops per lane per FMA);
 *   - the read bandwidth: vector sums over a buffer much larger than the
 *     caches, split over 1..T threads (GB/s).
 * Each figure is the best of a few repetitions (a peak, not a median).
 *
 *   cc -O2 -march=native -ffp-contract=fast -pthread probe.c -o probe
 *   ./probe THREADS MEGABYTES      e.g. ./probe 2 512
 * Prints one JSON object:
 *   {"fma_gflops": [t1, t2, ...], "read_gbs": [t1, t2, ...], "vector_bits": N}
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#elif defined(__AVX__)
#define LANES 8
#else
#define LANES 4
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));

enum { CHAINS = 16, REPEATS = 5, MAX_THREADS = 64 };
static const int64_t FMA_ITERS = 20 * 1000 * 1000;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
  const vec *data; /* read probe: this thread's part */
  int64_t count;   /* vectors to read */
  float result;    /* keeps the work observable */
} Job;

/* CHAINS independent acc = acc * a + b chains: enough to cover the FMA
 * latency on two FMA ports. */
static void *fma_job(void *arg) {
  Job *job = arg;
  vec acc[CHAINS], a, b;
  for (int i = 0; i < LANES; ++i) {
    a[i] = 0.999999f;
    b[i] = 1e-7f;
  }
  for (int c = 0; c < CHAINS; ++c)
    for (int i = 0; i < LANES; ++i)
      acc[c][i] = (float)(c + i);
  for (int64_t it = 0; it < FMA_ITERS; ++it) {
#pragma GCC unroll 16
    for (int c = 0; c < CHAINS; ++c)
      acc[c] = acc[c] * a + b;
  }
  float s = 0;
  for (int c = 0; c < CHAINS; ++c)
    for (int i = 0; i < LANES; ++i)
      s += acc[c][i];
  job->result = s;
  return NULL;
}

static void *read_job(void *arg) {
  Job *job = arg;
  vec acc[8] = {{0}};
  const vec *p = job->data;
  for (int64_t i = 0; i + 8 <= job->count; i += 8)
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c)
      acc[c] += p[i + c];
  float s = 0;
  for (int c = 0; c < 8; ++c)
    for (int i = 0; i < LANES; ++i)
      s += acc[c][i];
  job->result = s;
  return NULL;
}

/* Seconds for `threads` jobs run at once (the caller is thread 0). */
static double run(int threads, void *(*fn)(void *), Job *jobs) {
  pthread_t tid[MAX_THREADS];
  double t0 = now_s();
  for (int t = 1; t < threads; ++t)
    pthread_create(&tid[t], NULL, fn, &jobs[t]);
  fn(&jobs[0]);
  for (int t = 1; t < threads; ++t)
    pthread_join(tid[t], NULL);
  return now_s() - t0;
}

static double fma_gflops(int threads) {
  Job jobs[MAX_THREADS];
  memset(jobs, 0, sizeof jobs);
  double best = 1e30;
  for (int r = 0; r < REPEATS; ++r) {
    double s = run(threads, fma_job, jobs);
    if (s < best)
      best = s;
  }
  return 2.0 * LANES * CHAINS * (double)FMA_ITERS * threads / best * 1e-9;
}

static double read_gbs(int threads, const vec *buffer, int64_t vectors) {
  Job jobs[MAX_THREADS];
  int64_t per = vectors / threads / 8 * 8;
  for (int t = 0; t < threads; ++t)
    jobs[t] = (Job){buffer + t * per, per, 0};
  double best = 1e30;
  for (int r = 0; r < REPEATS; ++r) {
    double s = run(threads, read_job, jobs);
    if (s < best)
      best = s;
  }
  return (double)per * threads * sizeof(vec) / best * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s THREADS MEGABYTES\n", argv[0]);
    return 2;
  }
  int threads = atoi(argv[1]);
  int64_t bytes = (int64_t)atoi(argv[2]) << 20;
  if (threads < 1 || threads > MAX_THREADS || bytes < (1 << 20)) {
    fprintf(stderr, "probe: bad arguments\n");
    return 2;
  }
  int64_t vectors = bytes / (int64_t)sizeof(vec);
  vec *buffer = aligned_alloc(64, (size_t)vectors * sizeof(vec));
  if (!buffer) {
    fprintf(stderr, "probe: cannot allocate %s MB\n", argv[2]);
    return 1;
  }
  for (int64_t i = 0; i < vectors; ++i)
    for (int l = 0; l < LANES; ++l)
      buffer[i][l] = (float)((i + l) & 7);

  printf("{\"vector_bits\": %d, \"fma_gflops\": [", LANES * 32);
  for (int t = 1; t <= threads; ++t)
    printf("%s%.2f", t > 1 ? ", " : "", fma_gflops(t));
  printf("], \"read_gbs\": [");
  for (int t = 1; t <= threads; ++t)
    printf("%s%.2f", t > 1 ? ", " : "", read_gbs(t, buffer, vectors));
  printf("], \"buffer_mb\": %s}\n", argv[2]);
  free(buffer);
  return 0;
}
