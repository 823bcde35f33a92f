/* gemm.c: C = A B, the kernel behind Linear and Conv2d (1x1 convolutions,
 * im2col, and the gathered implicit GEMM of strided convolutions).
 *
 * Blocking (GotoBLAS/BLIS-like, with A read in place and B read in place
 * or pre-packed; the tile is in tile.h):
 *   for each panel of NR columns of C                     (jc)
 *     for each block of KC rows of B (the K dimension)    (pc)
 *       B's KC x NR block: in place (row stride ldb), or, for the short
 *       last panel, copied zero-padded into a stack panel
 *       for each block of MR rows of C                    (ir)
 *         register tile: C's MR x NR block (zero, or the sums so far),
 *         KC rank-1 updates, stored back
 *     once all of K is in: the epilogue on the panel's run of each row
 * The B block stays in L1 across the row blocks and A's KC-wide slice in
 * L2; every C element is accumulated in the order k = 0, 1, ..., K-1.
 *
 * Packed B (seqk_gemm_packed, Linear weights packed once at load time):
 * panel p holds columns [p*NR, p*NR + NR) of the K x N matrix, row after
 * row (K*NR floats, the last panel zero-padded to NR columns). With two
 * rows or more (Linear at batch 2..), each KC x NR block of a panel is
 * read from memory once for all the rows of the call (packedRows): the
 * weights are one contiguous stream, and while the R row blocks of the
 * current block compute out of L1, their steps prefetch the next block
 * into L2 at an even rate, so the stream never pauses for the compute.
 * Weights too large for any cache (GEMM_STREAM_BYTES) take
 * seqk_gemm_packed_stream and packedStream, which orders the same work
 * for memory (see there).
 *
 * A single row (Linear at batch 1) takes a matrix-vector path instead:
 * on packed B, four panels at a time stream from memory (eight
 * independent accumulator vectors); on an in-place B, rows of B stream
 * with the inner loop over columns. The streams have no software
 * prefetch: with the weights on 2 MB pages (AlignedBuffer) the hardware
 * prefetcher keeps them fed, and a prefetch 1 KB ahead of each stream
 * measured 5-15% slower (seed002_net's 206 MB Linear, 1 and 2 threads). */
#include <stddef.h>
#include <stdint.h>

#include "seqk.h"
#include "tile.h"
#include "window.h"

#define GEMM_KC 256 /* a KC x NR block of B: 32 KB, in L1 */
#define CONV_NC 128 /* columns of a gathered im2col block (128 KB of stack) */
#define GEMV_NB 256 /* columns per accumulator block of the row path */
#define GEMV_PANELS 4
/* packedStream: weights of at least this many bytes (the K x N floats of
 * the whole Linear) stream from memory; smaller ones stay in L3 between
 * calls and take packedRows. That is for calls of up to 8 rows; with more
 * rows (the compute as long as the stream) the weights must be more than
 * twice as large, and the rows at most STREAM_MAX_ROWS. */
#ifndef GEMM_STREAM_BYTES
#define GEMM_STREAM_BYTES SEQK_STREAM_BYTES
#endif
#define STREAM_KC 512    /* a KC x NR block: 64 KB, four 16 KB streams */
#define STREAM_PAGES 4   /* concurrent prefetch streams over a block */
/* More rows than this make the weights' stream a small part of the time
 * (64 rows: 2.6 times the FLOPs of 24 per byte of weights); packedRows,
 * with its longer blocks of K, was 1% faster there. */
#ifndef STREAM_MAX_ROWS
#define STREAM_MAX_ROWS (4 * TILE_MR)
#endif

_Static_assert(TILE_NR == SEQK_PANEL_WIDTH, "the packed layout is the tile's");

static inline int64_t minI64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Rows [pc, pc + kc) of B's columns [jc, jc + nr) as the tile reads them:
 * returns the first row, *ld the row stride. In place when the panel is
 * whole, else copied zero-padded to `edge` (kc x NR). */
SEQK_INLINE const float *panelBlock(const float *restrict B, int64_t ldb,
                                    int64_t jc, int64_t nr, int64_t pc,
                                    int64_t kc, float *restrict edge,
                                    int64_t *ld) {
  if (nr == TILE_NR) {
    *ld = ldb;
    return B + pc * ldb + jc;
  }
  for (int64_t k = 0; k < kc; ++k) {
    const float *restrict src = B + (pc + k) * ldb + jc;
    for (int64_t j = 0; j < TILE_NR; ++j)
      edge[k * TILE_NR + j] = j < nr ? src[j] : 0.0f;
  }
  *ld = TILE_NR;
  return edge;
}

#if SEQK_NARROW
/* The narrow tile steps through a block NARROW_PASSES times (tile.h), and
 * the R row blocks' passes prefetch the next block's 2*kc lines together,
 * one line every 2R steps: step s of the 4R*kc (R <= 1 << shift) fetches
 * line s >> (shift + 1) where s is a multiple of 2 << shift. (In the
 * first pass only, two lines a step, the prefetches came in bursts that
 * waited on the miss buffers, then none for three passes.) */
SEQK_INLINE uint64_t narrowStep(int64_t r, int pass, int64_t kc, int64_t k) {
  return (uint64_t)(r * NARROW_PASSES + pass) * (uint64_t)kc + (uint64_t)k;
}
#endif

/* The steps of row block r (of R, R <= 1 << shift) over a packed KC x NR
 * block b: tileSteps, plus a prefetch (into L2) into the next block
 * `next` (2*kc cache lines of 64 bytes, a row of NR floats is 2): row
 * block r's step k fetches line (2 * (r*kc + k)) >> shift, so that the R
 * passes together cover the block evenly, all of it when R is a power of
 * two. A single row block (R == 1) is a plain stream: it prefetches the
 * row TILE_PREFETCH steps ahead instead (measured 4% faster at 4 rows),
 * but for the narrow tile, which reads the block four times and fetches
 * the next one meanwhile as for R > 1 (the 100 MB MLP at batch 4, 7.4 ->
 * 6.0 ms on one thread; at 2, 7.7 -> 5.9; Zen 3). */
SEQK_INLINE void packedSteps(Tile *t, const float *const a[TILE_MR],
                             int64_t kc, const float *restrict b,
                             const char *next, int64_t r, int shift) {
#if SEQK_NARROW
  /* over every pass of the narrow tile (narrowStep), a single row
   * block's too: its passes after the first read the block from L1 and
   * L2, and the next one comes meanwhile */
  TILE_PASSES(t, a, 0, kc, b, TILE_NR, {
    const uint64_t s = narrowStep(r, pass_, kc, k);
    if ((s & ((2u << shift) - 1)) == 0)
      __builtin_prefetch(next + (s >> (shift + 1)) * 64, 0, 1);
  });
  return;
#endif
  if (shift == 0) {
    tileSteps(t, a, 0, kc, b, TILE_NR, 1);
    return;
  }
  int64_t g = 2 * r * kc;
  for (int64_t k = 0; k < kc; ++k, g += 2) {
    __builtin_prefetch(next + (g >> shift) * 64, 0, 1);
    tileStep(t, a, k, b + k * TILE_NR);
  }
}

/* Line l (of 2*kc) of a packed KC x NR block, the block's lines dealt
 * round-robin to STREAM_PAGES streams of `run` lines each: the streams
 * advance together, each over a page of its own. */
SEQK_INLINE const char *streamLine(const char *block, uint64_t l,
                                   uint64_t run) {
  return block + ((l % STREAM_PAGES) * run + l / STREAM_PAGES) * 64;
}

/* packedSteps for packedStream: the next block prefetched in
 * STREAM_PAGES interleaved streams, 2*kc lines over the R row blocks'
 * steps as in packedSteps (two lines a step for a single row block). */
SEQK_INLINE void streamSteps(Tile *t, const float *const a[TILE_MR],
                             int64_t kc, const float *restrict b,
                             const char *next, int64_t r, int shift) {
  uint64_t run = (uint64_t)(2 * kc + STREAM_PAGES - 1) / STREAM_PAGES;
#if SEQK_NARROW
  TILE_PASSES(t, a, 0, kc, b, TILE_NR, {
    const uint64_t s = narrowStep(r, pass_, kc, k);
    if ((s & ((2u << shift) - 1)) == 0)
      __builtin_prefetch(streamLine(next, s >> (shift + 1), run), 0, 1);
  });
  return;
#endif
  uint64_t g = 2 * (uint64_t)(r * kc);
  for (int64_t k = 0; k < kc; ++k, g += 2) {
    __builtin_prefetch(streamLine(next, g >> shift, run), 0, 1);
    if (shift == 0)
      __builtin_prefetch(streamLine(next, g + 1, run), 0, 1);
    tileStep(t, a, k, b + k * TILE_NR);
  }
}

/* How a row block steps through its K rows: on B in place (row stride
 * ld), or on a packed block prefetching the next one (packedSteps, or
 * streamSteps for packedStream). */
enum { STEPS_IN_PLACE, STEPS_PACKED, STEPS_STREAM };

/* The MR-row blocks of C[m0:m1, jc:jc+nr] over K rows [pc, pc + kc) of
 * the B block b, the first block of K starting the sums; `steps` (a
 * constant at each caller) says how, `next` and `shift` what the packed
 * steps prefetch. */
SEQK_INLINE void rowBlocks(const float *restrict A, int64_t lda,
                           const float *restrict b, int64_t ld,
                           const char *next, float *restrict C, int64_t ldc,
                           int64_t m0, int64_t m1, int64_t jc, int64_t nr,
                           int64_t pc, int64_t kc, int shift, int steps) {
  const int64_t R = (m1 - m0 + TILE_MR - 1) / TILE_MR;
  for (int64_t r = 0; r < R; ++r) {
    int64_t ir = m0 + r * TILE_MR, mr = minI64(TILE_MR, m1 - ir);
    const float *a[TILE_MR];
    tileRows(A + ir * lda + pc, lda, mr, a);
    float *c = C + ir * ldc + jc;
    Tile t;
    if (pc == 0)
      tileZero(&t);
    else
      tileLoad(&t, c, ldc, mr, nr);
    if (steps == STEPS_IN_PLACE)
      tileSteps(&t, a, 0, kc, b, ld, 0);
    else if (steps == STEPS_PACKED)
      packedSteps(&t, a, kc, b, next, r, shift);
    else
      streamSteps(&t, a, kc, b, next, r, shift);
    tileStore(&t, c, ldc, mr, nr);
  }
}

SEQK_INLINE void gemmTiles(int64_t K, const float *restrict A, int64_t lda,
                           const float *restrict B, int64_t ldb,
                           float *restrict C, int64_t ldc, int64_t m0,
                           int64_t m1, int64_t n0, int64_t n1,
                           seqk_epilogue epi, const void *env) {
  float edge[GEMM_KC * TILE_NR];
  for (int64_t jc = n0; jc < n1; jc += TILE_NR) {
    int64_t nr = minI64(TILE_NR, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
      int64_t kc = minI64(GEMM_KC, K - pc), ld;
      const float *b = panelBlock(B, ldb, jc, nr, pc, kc, edge, &ld);
      rowBlocks(A, lda, b, ld, 0, C, ldc, m0, m1, jc, nr, pc, kc, 0,
                STEPS_IN_PLACE);
    }
    if (epi)
      for (int64_t m = m0; m < m1; ++m)
        epi(env, m, jc, C + m * ldc + jc, C + m * ldc + jc, nr);
  }
}

/* C[m0:m1, n0:n1] = A B on packed B, two rows or more: per panel and
 * block of K, the MR-row blocks in turn (the block read from memory
 * once, then from L1), the next block prefetched meanwhile. */
SEQK_INLINE void packedRows(int64_t K, const float *restrict A, int64_t lda,
                            const float *restrict Bp, float *restrict C,
                            int64_t ldc, int64_t m0, int64_t m1, int64_t n0,
                            int64_t n1, seqk_epilogue epi, const void *env) {
  int64_t R = (m1 - m0 + TILE_MR - 1) / TILE_MR;
  int shift = 0;
  while ((1 << shift) < R)
    ++shift;
  for (int64_t jc = n0; jc < n1; jc += TILE_NR) {
    int64_t nr = minI64(TILE_NR, n1 - jc);
    const float *panel = Bp + (jc / TILE_NR) * K * TILE_NR;
    for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
      int64_t kc = minI64(GEMM_KC, K - pc);
      const float *b = panel + pc * TILE_NR;
      /* the stream's next block: the same panel's, or the next panel's */
      const char *next = (const char *)(b + kc * TILE_NR);
      rowBlocks(A, lda, b, TILE_NR, next, C, ldc, m0, m1, jc, nr, pc, kc, shift,
                STEPS_PACKED);
    }
    if (epi)
      for (int64_t m = m0; m < m1; ++m)
        epi(env, m, jc, C + m * ldc + jc, C + m * ldc + jc, nr);
  }
}

/* packedRows for weights that stream from memory (GEMM_STREAM_BYTES).
 * Measured (a microbenchmark of the kernel alone, one core pinned) on
 * seed002_net's Linear(50176, 1024), 205 MB, tasks of 16 rows x 128
 * columns, against a GEMV of 12.6 ms and a plain 4-stream read of 11.5
 * (18 GB/s): packedRows takes 16.4-17.1 ms at batch 16 and 15.8-16.2 at
 * batch 8, this 14.1-14.9 and 13.3-13.8. Two changes, each worth about
 * half:
 *   - blocks of K outer, the task's panels inner: A's KC-wide slice is
 *     read from memory once per task, not once per panel. At batch 16 A
 *     is 3.2 MB, more than L2, and packedRows reads 103 MB of it besides
 *     the 205 MB of weights: with A's rows made to overlap (same work,
 *     A in L2) packedRows took 12.6 ms;
 *   - the next block prefetched as four interleaved streams (one per
 *     4 KB page of what was a 16 KB block), not one stream in order: the
 *     L2 streamer runs ahead on each page it sees (it does not cross a
 *     page), so four pages advancing together keep about four times as
 *     many lines in flight as one, and the software prefetches, held in
 *     the L1 fill buffers until their line arrives, mostly find it on
 *     its way. Eight streams of half a page each were slower (16.9 ms).
 * For weights that stay in L3 (about 64 MB on this machine) both changes
 * cost: 16 MB, 0.84 -> 0.92 ms. At 32 MB the paths are even; at 64 MB
 * with K 16384 (A past L2) 5.5 -> 4.2 ms, but mlp_big's 4096 x 4096
 * layer (A in L2) gains at batch 8 (2.9 -> 2.5 ms) and not at 16, hence
 * the thresholds in seqk_gemm_packed_stream. Prefetching A's next slice
 * as well (worse), KC 64 (worse) or 256, prefetching two blocks ahead,
 * and an exact spread of the prefetches over 3 row blocks measured no
 * better there (an Intel Xeon). On an AMD EPYC (Zen 4), blocks of 512
 * rows of K (64 KB, more than L1: the tiles read them from L2) took the
 * same Linear 16.8 -> 15.0 ms at batch 16 (256: 15.2; 512 in 16 streams
 * of a page each: 15.1), 10.3 -> 8.6 at batch 8, 33.8 -> 29.7 at batch
 * 32, and on two threads 8.4 -> 7.5 ms at batch 16 (medians of 3-5
 * alternated runs). */
SEQK_INLINE void packedStream(int64_t K, const float *restrict A,
                              int64_t lda, const float *restrict Bp,
                              float *restrict C, int64_t ldc, int64_t m0,
                              int64_t m1, int64_t n0, int64_t n1,
                              seqk_epilogue epi, const void *env) {
  int64_t R = (m1 - m0 + TILE_MR - 1) / TILE_MR;
  int shift = 0;
  while ((1 << shift) < R)
    ++shift;
  const float *first = Bp + (n0 / TILE_NR) * K * TILE_NR;
  for (int64_t pc = 0; pc < K; pc += STREAM_KC) {
    int64_t kc = minI64(STREAM_KC, K - pc);
    for (int64_t jc = n0; jc < n1; jc += TILE_NR) {
      int64_t nr = minI64(TILE_NR, n1 - jc);
      const float *b = Bp + (jc / TILE_NR) * K * TILE_NR + pc * TILE_NR;
      /* the next block visited: the next panel's at this pc, else the
       * first panel's next one, else (the task's last) the next panel */
      const float *nb = jc + TILE_NR < n1 ? b + K * TILE_NR
                        : pc + kc < K     ? first + (pc + kc) * TILE_NR
                                          : b + kc * TILE_NR;
      rowBlocks(A, lda, b, TILE_NR, (const char *)nb, C, ldc, m0, m1, jc, nr, pc,
                kc, shift, STEPS_STREAM);
    }
  }
  if (epi)
    for (int64_t m = m0; m < m1; ++m)
      for (int64_t jc = n0; jc < n1; jc += TILE_NR)
        epi(env, m, jc, C + m * ldc + jc, C + m * ldc + jc,
            minI64(TILE_NR, n1 - jc));
}

/* One row: C[m, n0:n1] = A[m, :] B[:, n0:n1], streaming the rows of B.
 * Blocks of NB columns accumulate in C (in L1) over all of K, four rows of
 * B at a time; each column's sum is still taken in the order of k. */
static void gemvRow(int64_t K, const float *restrict a,
                    const float *restrict B, int64_t ldb, float *restrict c,
                    int64_t m, int64_t n0, int64_t n1, seqk_epilogue epi,
                    const void *env) {
  for (int64_t jc = n0; jc < n1; jc += GEMV_NB) {
    int64_t nb = minI64(GEMV_NB, n1 - jc);
    float *restrict y = c + jc;
    const float *restrict b = B + jc;
    for (int64_t j = 0; j < nb; ++j)
      y[j] = 0.0f;
    int64_t k = 0;
    for (; k + 4 <= K; k += 4) {
      const float *restrict b0 = b + k * ldb;
      const float *restrict b1 = b0 + ldb;
      const float *restrict b2 = b1 + ldb;
      const float *restrict b3 = b2 + ldb;
      float a0 = a[k], a1 = a[k + 1], a2 = a[k + 2], a3 = a[k + 3];
      for (int64_t j = 0; j < nb; ++j) {
        float t = y[j];
        t += a0 * b0[j];
        t += a1 * b1[j];
        t += a2 * b2[j];
        t += a3 * b3[j];
        y[j] = t;
      }
    }
    for (; k < K; ++k) {
      const float *restrict bk = b + k * ldb;
      float ak = a[k];
      for (int64_t j = 0; j < nb; ++j)
        y[j] += ak * bk[j];
    }
    if (epi)
      epi(env, m, jc, y, y, nb);
  }
}

/* y[0:np*NR] = a B over np (1..GEMV_PANELS) consecutive packed panels p,
 * each read as one contiguous stream. */
SEQK_INLINE void gemvPanelGroup(int64_t K, const float *restrict a,
                                const float *restrict p, int64_t np,
                                float *restrict y) {
  if (np == GEMV_PANELS) {
    seqkVec acc[GEMV_PANELS][TILE_NV];
    SEQK_UNROLL
    for (int q = 0; q < GEMV_PANELS; ++q) {
      SEQK_UNROLL
      for (int v = 0; v < TILE_NV; ++v)
        acc[q][v] = (seqkVec){0};
    }
    for (int64_t k = 0; k < K; ++k) {
      float s = a[k];
      SEQK_UNROLL
      for (int q = 0; q < GEMV_PANELS; ++q) {
        SEQK_UNROLL
        for (int v = 0; v < TILE_NV; ++v)
          acc[q][v] = acc[q][v] + s * *(const seqkVecU *)(p + q * K * TILE_NR +
                                                         k * TILE_NR + 16 * v);
      }
    }
    SEQK_UNROLL
    for (int q = 0; q < GEMV_PANELS; ++q) {
      SEQK_UNROLL
      for (int v = 0; v < TILE_NV; ++v)
        *(seqkVecU *)(y + q * TILE_NR + 16 * v) = acc[q][v];
    }
    return;
  }
  for (int64_t q = 0; q < np; ++q) { /* the last few panels, one by one */
    seqkVec one[TILE_NV];
    SEQK_UNROLL
    for (int v = 0; v < TILE_NV; ++v)
      one[v] = (seqkVec){0};
    for (int64_t k = 0; k < K; ++k) {
      float s = a[k];
      SEQK_UNROLL
      for (int v = 0; v < TILE_NV; ++v)
        one[v] = one[v] + s * *(const seqkVecU *)(p + q * K * TILE_NR +
                                                 k * TILE_NR + 16 * v);
    }
    SEQK_UNROLL
    for (int v = 0; v < TILE_NV; ++v)
      *(seqkVecU *)(y + q * TILE_NR + 16 * v) = one[v];
  }
}

/* One row on packed B: C[m, n0:n1] = a B[:, n0:n1]; n0 a multiple of NR. */
SEQK_INLINE void gemvPacked(int64_t K, const float *restrict a,
                            const float *restrict B, float *restrict c,
                            int64_t m, int64_t n0, int64_t n1,
                            seqk_epilogue epi, const void *env) {
  for (int64_t jc = n0; jc < n1; jc += GEMV_PANELS * TILE_NR) {
    int64_t n = minI64(GEMV_PANELS * TILE_NR, n1 - jc);
    float y[GEMV_PANELS * TILE_NR];
    gemvPanelGroup(K, a, B + (jc / TILE_NR) * K * TILE_NR, (n + TILE_NR - 1) / TILE_NR, y);
    for (int64_t j = 0; j < n; ++j)
      c[jc + j] = y[j];
    if (epi)
      epi(env, m, jc, c + jc, c + jc, n);
  }
}

void seqk_gemm(int64_t M, int64_t N, int64_t K, const float *restrict A,
               int64_t lda, const float *restrict B, int64_t ldb,
               float *restrict C, int64_t ldc, int64_t m0, int64_t m1,
               int64_t n0, int64_t n1, seqk_epilogue epi, const void *env) {
  (void)M;
  (void)N;
  if (m1 <= m0 || n1 <= n0)
    return;
  if (m1 - m0 == 1) {
    gemvRow(K, A + m0 * lda, B, ldb, C + m0 * ldc, m0, n0, n1, epi, env);
    return;
  }
  gemmTiles(K, A, lda, B, ldb, C, ldc, m0, m1, n0, n1, epi, env);
}

void seqk_gemm_packed(int64_t M, int64_t N, int64_t K,
                      const float *restrict A, int64_t lda,
                      const float *restrict Bp, float *restrict C,
                      int64_t ldc, int64_t m0, int64_t m1, int64_t n0,
                      int64_t n1, seqk_epilogue epi, const void *env) {
  (void)M;
  (void)N;
  if (m1 <= m0 || n1 <= n0)
    return;
  if (m1 - m0 == 1) {
    gemvPacked(K, A + m0 * lda, Bp, C + m0 * ldc, m0, n0, n1, epi, env);
    return;
  }
  packedRows(K, A, lda, Bp, C, ldc, m0, m1, n0, n1, epi, env);
}

/* seqk_gemm_packed for weights of GEMM_STREAM_BYTES or more (the caller
 * decides): packedStream, or else a call of seqk_gemm_packed (one row;
 * more than STREAM_MAX_ROWS; more than 8 rows on weights of up to twice
 * GEMM_STREAM_BYTES). A separate entry point, so that seqk_gemm_packed's
 * code stays as it was: with this path inlined into it, packedRows' code
 * moved and mlp_big at batch 16, which never streams, ran 20% slower
 * (9.3 vs 7.7 ms), its loops the same instructions. */
void seqk_gemm_packed_stream(int64_t M, int64_t N, int64_t K,
                             const float *restrict A, int64_t lda,
                             const float *restrict Bp, float *restrict C,
                             int64_t ldc, int64_t m0, int64_t m1, int64_t n0,
                             int64_t n1, seqk_epilogue epi, const void *env) {
  uint64_t bytes = (uint64_t)K * (uint64_t)N * sizeof(float);
  int64_t rows = m1 - m0;
  if (rows > 1 && n1 > n0 &&
      (rows <= TILE_MR ? bytes >= (uint64_t)GEMM_STREAM_BYTES
                       : bytes > 2 * (uint64_t)GEMM_STREAM_BYTES &&
                             rows <= STREAM_MAX_ROWS)) {
    packedStream(K, A, lda, Bp, C, ldc, m0, m1, n0, n1, epi, env);
    return;
  }
  seqk_gemm_packed(M, N, K, A, lda, Bp, C, ldc, m0, m1, n0, n1, epi, env);
}

/* ---- Conv2d as an implicit GEMM ---------------------------------------
 *
 * seqk_conv2d_gemm is seqk_gemm with B = im2col(x) never stored: each
 * KC x NC block of B is gathered from the image straight into the
 * panel layout of the tile (kc x NR per panel, NR-wide panels one after
 * another), so the columns are copied once, not twice.
 *
 * The block's columns (output positions p = oh*OW + ow) are cut into
 * segments, runs of positions within one output row and one panel. Row k
 * = (c, kh, kw) of a segment is input row ih = oh*SH - PH + kh*DH read at
 * iw = ow*SW + kw*DW - PW; like im2col, each segment splits into padding,
 * interior (a strided copy that vectorises) and padding. */

typedef struct {
  int64_t off;    /* lane of the segment's first column in its panel, plus
                     the panel's offset in the packed block */
  int64_t oh, ow; /* output row and first output column */
  int64_t len;    /* columns */
} ConvSegment;

typedef struct {
  const float *x; /* the group's input planes [Cg, H, W] */
  int64_t H, W, KH, KW, SH, SW, PH, PW, DH, DW, OW;
} ConvGeometry;

/* The segments of columns [jc, jc + nc) of a block of kc rows; returns
 * their count (at most nc + nc / NR + 1). */
SEQK_INLINE int64_t blockSegments(int64_t jc, int64_t nc, int64_t kc, int64_t OW,
                             ConvSegment *segs) {
  int64_t count = 0;
  for (int64_t j = 0; j < nc;) {
    int64_t p = jc + j, ow = p % OW, lane = j % TILE_NR;
    int64_t len = minI64(minI64(OW - ow, TILE_NR - lane), nc - j);
    segs[count++] = (ConvSegment){(j - lane) * kc + lane, p / OW, ow, len};
    j += len;
  }
  return count;
}

/* dst[0:len] = row k = (kh, kw) of the segment; xc is the channel plane,
 * [lo, hi) the output columns whose tap kw lies inside the image. The
 * loop runs over a whole panel row, NR lanes, the loads and stores of the
 * lanes outside the segment or its interior masked off: a short variable
 * copy would become a call to memcpy. */
SEQK_INLINE void gatherSegment(const ConvGeometry *g,
                               const float *restrict xc, int64_t kh,
                               int64_t kw, int64_t lo, int64_t hi,
                               ConvSegment s, float *restrict dst) {
  int64_t ih = s.oh * g->SH - g->PH + kh * g->DH;
  int inside = ih >= 0 && ih < g->H;
  /* interior [a, b) of the segment, relative to its first column */
  int64_t a = inside ? seqkMax(lo - s.ow, 0) : 0;
  int64_t b = inside ? seqkMin(hi - s.ow, s.len) : 0;
  const float *restrict row =
      xc + ih * g->W + s.ow * g->SW + kw * g->DW - g->PW;
  /* 32-bit lane tests, a <= i < b as one unsigned compare */
  uint32_t len = (uint32_t)s.len, ua = (uint32_t)a;
  uint32_t width = b > a ? (uint32_t)(b - a) : 0;
  for (uint32_t i = 0; i < TILE_NR; ++i)
    if (i < len)
      dst[i] = i - ua < width ? row[(int64_t)i * g->SW] : 0.0f;
}

/* Bp = rows [pc, pc + kc), columns [jc, jc + nc) of im2col(x) in panels
 * of kc x NR (a short last panel zero-padded). */
SEQK_INLINE void packIm2col(const ConvGeometry *g, int64_t pc, int64_t kc,
                       int64_t jc, int64_t nc, float *restrict Bp) {
  ConvSegment segs[CONV_NC + CONV_NC / TILE_NR + 1];
  int64_t nseg = blockSegments(jc, nc, kc, g->OW, segs);
  int64_t c = pc / (g->KH * g->KW), kh = pc / g->KW % g->KH, kw = pc % g->KW;
  int64_t tail = nc % TILE_NR, tailPanel = (nc - tail) * kc;
  for (int64_t k = 0; k < kc; ++k) {
    const float *restrict xc = g->x + c * g->H * g->W;
    int64_t lo, hi;
    seqkValidRange(kw * g->DW - g->PW, g->SW, g->W, g->OW, &lo, &hi);
    for (int64_t i = 0; i < nseg; ++i)
      gatherSegment(g, xc, kh, kw, lo, hi, segs[i],
                    Bp + segs[i].off + k * TILE_NR);
    if (tail)
      for (int64_t j = tail; j < TILE_NR; ++j)
        Bp[tailPanel + k * TILE_NR + j] = 0.0f;
    /* next patch row: kw fastest, then kh, then c */
    if (++kw == g->KW) {
      kw = 0;
      if (++kh == g->KH) {
        kh = 0;
        ++c;
      }
    }
  }
}

/* C[m0:m1, jc:jc+nc] (+)= A[m0:m1, pc:pc+kc] Bp, Bp the gathered panels of
 * rows pc..pc+kc-1 (the sums start at pc == 0); then epi, when given, on
 * each finished row run (the caller passes it with the last block). */
SEQK_INLINE void gatheredBlock(const float *restrict A, int64_t lda,
                               const float *restrict Bp, float *restrict C,
                               int64_t ldc, int64_t m0, int64_t m1,
                               int64_t jc, int64_t nc, int64_t pc, int64_t kc,
                               seqk_epilogue epi, const void *env) {
  for (int64_t jr = 0; jr < nc; jr += TILE_NR)
    rowBlocks(A, lda, Bp + jr * kc, TILE_NR, 0, C, ldc, m0, m1, jc + jr,
              minI64(TILE_NR, nc - jr), pc, kc, 0, STEPS_IN_PLACE);
  if (epi)
    for (int64_t m = m0; m < m1; ++m)
      epi(env, m, jc, C + m * ldc + jc, C + m * ldc + jc, nc);
}

void seqk_conv2d_gemm(const float *restrict x, const float *restrict w,
                      float *restrict y, int64_t C, int64_t H, int64_t W,
                      int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                      int64_t PH, int64_t PW, int64_t DH, int64_t DW,
                      int64_t OH, int64_t OW, int64_t m0, int64_t m1,
                      int64_t n0, int64_t n1, seqk_epilogue epi,
                      const void *env) {
  int64_t K = C * KH * KW, N = OH * OW;
  if (m1 <= m0 || n1 <= n0)
    return;
  ConvGeometry g = {x, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OW};
  float Bp[GEMM_KC * CONV_NC];
  for (int64_t jc = n0; jc < n1; jc += CONV_NC) {
    int64_t nc = minI64(CONV_NC, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
      int64_t kc = minI64(GEMM_KC, K - pc);
      packIm2col(&g, pc, kc, jc, nc, Bp);
      gatheredBlock(w, K, Bp, y, N, m0, m1, jc, nc, pc, kc,
                    pc + kc == K ? epi : 0, env);
    }
  }
}
