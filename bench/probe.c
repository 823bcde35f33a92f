/* probe.c: what this machine can do, measured in the benchmark's own run,
 * so that every figure of the table is quoted against it:
 *   - the FMA peak: CHAINS independent vector FMA chains held in registers
 *     (24 zmm accumulators on AVX-512: 2 FMA ports x 4 cycles of latency
 *     need 8 chains in flight, 24 leave margin on any core; 12 ymm on
 *     AVX2), on 1..T threads at once, each pinned to its own CPU
 *     (GFLOP/s, 2 flops per lane per FMA);
 *   - the read bandwidth: vector sums over a buffer several times larger
 *     than the last-level cache (memory), each thread reading its share as
 *     STREAMS independent sequential streams with software prefetch ahead
 *     (plain loads, no non-temporal hints), on 1..T pinned threads (GB/s);
 *   - optionally the same over smaller working sets, read again and again
 *     as a model's weights are (which the LLC may partly hold);
 *   - the round trip of one cache line between the first two CPUs (two
 *     pinned threads handing an atomic counter back and forth, ns): tens
 *     of ns between cores that share an L3, several times that between
 *     dies. A VM's host may move its vCPUs from one to the other for
 *     minutes at a time, and two-thread timings of layers whose data
 *     cross the cores move with it (bench/README.md, session 2.2).
 * Each figure is the best of several passes (a peak, not a median).
 *
 *   cc -O2 -march=native -ffp-contract=fast -pthread probe.c -o probe
 *   ./probe THREADS MEGABYTES [MB,MB,...]
 *   e.g. ./probe 2 0 100,206      (0 MB: 4x the LLC, within 512..4096)
 * Prints one JSON object:
 *   {"vector_bits": N, "fma_chains": C, "fma_gflops": [t1, t2, ...],
 *    "read_gbs": [t1, t2, ...], "buffer_mb": MB, "llc_mb": L,
 *    "read_gbs_at_mb": {"100": [t1, t2, ...], ...}, "core_to_core_ns": R}
 * (R 0 with fewer than two CPUs allowed)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__AVX512F__)
#define LANES 16
#define CHAINS 24 /* of the 32 zmm registers: 24 sums, a, b */
#elif defined(__AVX2__) || defined(__AVX__)
#define LANES 8
#define CHAINS 12 /* of the 16 ymm registers */
#else
#define LANES 4
#define CHAINS 12
#endif
typedef float vec __attribute__((vector_size(LANES * 4)));

enum { REPEATS = 5, FMA_REPEATS = 40, MAX_THREADS = 64, STREAMS = 4, MAX_SIZES = 16 };
static const int64_t FMA_ITERS = 2 * 1000 * 1000; /* ~8 ms a pass */
/* Bytes ahead of each stream that a read pass prefetches. */
static const int64_t PREFETCH_BYTES = 1024;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
  int cpu;         /* pinned to this CPU, -1: not pinned */
  const vec *data; /* read probe: this thread's part */
  int64_t count;   /* vectors to read, a multiple of STREAMS * 4 */
  float result;    /* keeps the work observable */
} Job;

/* The CPUs this process may run on, in order; returns their count. */
static int allowed_cpus(int *cpus, int max) {
  cpu_set_t set;
  int n = 0;
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return 0;
  for (int c = 0; c < CPU_SETSIZE && n < max; ++c)
    if (CPU_ISSET(c, &set))
      cpus[n++] = c;
  return n;
}

static void pin(int cpu) {
  if (cpu < 0)
    return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* CHAINS independent acc = acc * a + b chains, written out so that each
 * stays in its own register (check: objdump -d probe | grep vfmadd). */
static void *fma_job(void *arg) {
  Job *job = arg;
  pin(job->cpu);
  vec acc[CHAINS], a, b;
  for (int i = 0; i < LANES; ++i) {
    a[i] = 0.999999f;
    b[i] = 1e-7f;
  }
  for (int c = 0; c < CHAINS; ++c)
    for (int i = 0; i < LANES; ++i)
      acc[c][i] = (float)(c + i);
  for (int64_t it = 0; it < FMA_ITERS; ++it) {
    /* keeps a and b in registers and the loop from being folded */
    __asm__ volatile("" : "+v"(a), "+v"(b));
#pragma GCC unroll 24
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

/* Sums this thread's part as STREAMS equal sequential streams read in
 * step, four vectors of each stream per step into independent sums. */
static void *read_job(void *arg) {
  Job *job = arg;
  pin(job->cpu);
  enum { U = 4 };
  vec acc[STREAMS][U];
  memset(acc, 0, sizeof acc);
  int64_t per = job->count / STREAMS;
  const vec *p[STREAMS];
  for (int s = 0; s < STREAMS; ++s)
    p[s] = job->data + s * per;
  const int64_t ahead = PREFETCH_BYTES / (int64_t)sizeof(vec);
  for (int64_t i = 0; i + U <= per; i += U) {
#pragma GCC unroll 4
    for (int s = 0; s < STREAMS; ++s) {
#pragma GCC unroll 4
      for (int u = 0; u < U; ++u) {
        __builtin_prefetch(p[s] + i + u + ahead, 0, 3); /* into L1, temporal */
        acc[s][u] += p[s][i + u];
      }
    }
  }
  float sum = 0;
  for (int s = 0; s < STREAMS; ++s)
    for (int u = 0; u < U; ++u)
      for (int i = 0; i < LANES; ++i)
        sum += acc[s][u][i];
  job->result = sum;
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

static void place(Job *jobs, int threads, const int *cpus, int ncpus) {
  for (int t = 0; t < threads; ++t)
    jobs[t].cpu = threads <= ncpus ? cpus[t] : -1;
}

/* Many short passes: on a shared machine the best of them is the one
 * that ran undisturbed. */
static double fma_gflops(int threads, const int *cpus, int ncpus) {
  Job jobs[MAX_THREADS];
  memset(jobs, 0, sizeof jobs);
  place(jobs, threads, cpus, ncpus);
  double best = 1e30;
  for (int r = 0; r < FMA_REPEATS; ++r) {
    double s = run(threads, fma_job, jobs);
    if (s < best)
      best = s;
  }
  return 2.0 * LANES * CHAINS * (double)FMA_ITERS * threads / best * 1e-9;
}

static double read_gbs(int threads, const vec *buffer, int64_t vectors,
                       const int *cpus, int ncpus) {
  Job jobs[MAX_THREADS];
  memset(jobs, 0, sizeof jobs);
  place(jobs, threads, cpus, ncpus);
  int64_t per = vectors / threads / (STREAMS * 4) * (STREAMS * 4);
  for (int t = 0; t < threads; ++t) {
    jobs[t].data = buffer + t * per;
    jobs[t].count = per;
  }
  /* at least 4 passes and 0.5 s of them: a short pass is easily unlucky */
  int passes = REPEATS;
  if ((double)vectors * sizeof(vec) * passes < 4e9)
    passes = (int)(4e9 / ((double)vectors * sizeof(vec))) + 1;
  passes = passes > 200 ? 200 : passes;
  double best = 1e30;
  for (int r = 0; r < passes; ++r) {
    double s = run(threads, read_job, jobs);
    if (s < best)
      best = s;
  }
  return (double)per * threads * sizeof(vec) / best * 1e-9;
}

/* The last-level cache in MB, from sysfs (0 when unknown). */
static int64_t llc_mb(void) {
  int64_t best = 0;
  for (int i = 0; i < 8; ++i) {
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    FILE *f = fopen(path, "r");
    if (!f)
      continue;
    long v = 0;
    char unit = 'K';
    if (fscanf(f, "%ld%c", &v, &unit) >= 1) {
      int64_t kb = unit == 'M' ? v * 1024 : v;
      if (kb > best)
        best = kb;
    }
    fclose(f);
  }
  return best / 1024;
}

enum { ROUND_TRIPS = 20000 };
static _Atomic int64_t ball __attribute__((aligned(64)));

/* The second player: answers each odd value with the next even one. */
static void *return_ball(void *arg) {
  pin(*(const int *)arg);
  for (int64_t i = 0; i < ROUND_TRIPS; ++i) {
    while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 1)
      ;
    atomic_store_explicit(&ball, 2 * i + 2, memory_order_release);
  }
  return NULL;
}

/* The best of REPEATS passes of ROUND_TRIPS round trips between cpus[0]
 * and cpus[1], in ns; 0 with fewer than two CPUs. */
static double core_to_core_ns(const int *cpus, int ncpus) {
  if (ncpus < 2)
    return 0.0;
  double best = 1e30;
  for (int r = 0; r < REPEATS; ++r) {
    atomic_store(&ball, 0);
    pthread_t other;
    pthread_create(&other, NULL, return_ball, (void *)&cpus[1]);
    pin(cpus[0]);
    double t0 = 0.0;
    for (int64_t i = 0; i < ROUND_TRIPS; ++i) {
      if (i == 1) /* the first trip waited for the thread to start */
        t0 = now_s();
      atomic_store_explicit(&ball, 2 * i + 1, memory_order_release);
      while (atomic_load_explicit(&ball, memory_order_acquire) != 2 * i + 2)
        ;
    }
    double s = (now_s() - t0) * ROUND_TRIPS / (ROUND_TRIPS - 1);
    pthread_join(other, NULL);
    if (s < best)
      best = s;
  }
  return best / ROUND_TRIPS * 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s THREADS MEGABYTES (0: 4x the LLC) [MB,MB,...]\n", argv[0]);
    return 2;
  }
  int64_t sizes[MAX_SIZES];
  int nsizes = 0;
  for (char *s = argc == 4 ? argv[3] : "", *end; *s && nsizes < MAX_SIZES; s = *end ? end + 1 : end)
    sizes[nsizes++] = strtoll(s, &end, 10);
  int threads = atoi(argv[1]);
  int64_t mb = atoll(argv[2]), llc = llc_mb();
  if (mb == 0) {
    mb = 4 * llc;
    mb = mb < 512 ? 512 : mb > 4096 ? 4096 : mb;
  }
  if (threads < 1 || threads > MAX_THREADS || mb < 1) {
    fprintf(stderr, "probe: bad arguments\n");
    return 2;
  }
  int64_t vectors = (mb << 20) / (int64_t)sizeof(vec);
  vec *buffer = aligned_alloc(64, (size_t)vectors * sizeof(vec));
  if (!buffer) {
    fprintf(stderr, "probe: cannot allocate %lld MB\n", (long long)mb);
    return 1;
  }
  for (int64_t i = 0; i < vectors; ++i)
    for (int l = 0; l < LANES; ++l)
      buffer[i][l] = (float)((i + l) & 7);
  int cpus[MAX_THREADS];
  int ncpus = allowed_cpus(cpus, MAX_THREADS);

  printf("{\"vector_bits\": %d, \"fma_chains\": %d, \"fma_gflops\": [", LANES * 32, CHAINS);
  for (int t = 1; t <= threads; ++t)
    printf("%s%.2f", t > 1 ? ", " : "", fma_gflops(t, cpus, ncpus));
  printf("], \"read_gbs\": [");
  for (int t = 1; t <= threads; ++t)
    printf("%s%.2f", t > 1 ? ", " : "", read_gbs(t, buffer, vectors, cpus, ncpus));
  printf("], \"buffer_mb\": %lld, \"llc_mb\": %lld, \"read_gbs_at_mb\": {", (long long)mb,
         (long long)llc);
  for (int i = 0; i < nsizes; ++i) {
    int64_t n = sizes[i] < 1 ? 1 : sizes[i] > mb ? mb : sizes[i];
    printf("%s\"%lld\": [", i ? ", " : "", (long long)sizes[i]);
    for (int t = 1; t <= threads; ++t)
      printf("%s%.2f", t > 1 ? ", " : "",
             read_gbs(t, buffer, (n << 20) / (int64_t)sizeof(vec), cpus, ncpus));
    printf("]");
  }
  printf("}, \"core_to_core_ns\": %.0f}\n", core_to_core_ns(cpus, ncpus));
  free(buffer);
  return 0;
}
