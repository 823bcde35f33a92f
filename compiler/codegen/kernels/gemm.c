/* gemm.c: C = A B, the kernel behind Linear and (after im2col) Conv2d.
 *
 * Blocking scheme (GotoBLAS/BLIS-like, with A read in place):
 *   for each block of NC columns of C                     (jc)
 *     for each block of KC rows of B (the K dimension)    (pc)
 *       pack B[pc:pc+KC, jc:jc+NC] into column panels of NR floats, each
 *       panel KC x NR contiguous (zero-padded at the right edge); the
 *       packed block, KC x NC floats, lives on the stack and in L2
 *       for each block of MR rows of C                    (ir)
 *         for each panel                                  (jr)
 *           micro-kernel: an MR x NR accumulator tile held in vector
 *           registers, updated by KC rank-1 updates (the A column
 *           broadcast times one packed B row), then added to C
 *         once all of K is in: the epilogue on the MR rows of the block
 * The innermost loop of the micro-kernel runs over NR independent columns,
 * so it vectorises without reassociating any sum: every C element is
 * accumulated in the order k = 0, 1, ..., K-1.
 * Edges: a short row block reads its last row again in place of the
 * missing ones (computed, never stored); a short panel is zero-padded.
 * A single row (Linear at batch 1) takes a matrix-vector path instead that
 * streams rows of B, with the inner loop over columns. */
#include <stddef.h>
#include <stdint.h>

#include "seqk.h"
#include "window.h"

/* Tile sizes, per architecture (the bitcode is built once per arch). The
 * MR x NR accumulators must fit the vector registers with room for a B row
 * and a broadcast: x86-64 is tuned for AVX-512 (32 zmm: 6 x 2 accumulators),
 * aarch64 for NEON (32 q registers: 6 x 4). */
#if defined(__aarch64__)
#define GEMM_MR 6
#define GEMM_NR 16
#else
#define GEMM_MR 6
#define GEMM_NR 32
#endif
#define GEMM_KC 256 /* an MR x KC slice of A and a KC x NR panel fit L1 */
#define GEMM_NC 128 /* the packed KC x NC block: 128 KB of stack */
#define GEMV_NB 256 /* columns per accumulator block of the row path */

#if defined(__clang__)
#define SEQK_UNROLL _Pragma("clang loop unroll(full)")
#else
#define SEQK_UNROLL _Pragma("GCC unroll 32")
#endif

/* For the helpers that must see the caller's constant shapes to be
 * specialised (the linker marks only the seqk_ entry points always-inline). */
#define SEQK_INLINE static inline __attribute__((always_inline))

static inline int64_t minI64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Packs B[0:kc, 0:nc] (row stride ldb) into panels of NR columns:
 * panel p holds rows 0..kc-1 of columns [p*NR, p*NR+NR), row after row. */
static void packB(const float *restrict B, int64_t ldb, int64_t kc,
                  int64_t nc, float *restrict Bp) {
  for (int64_t jr = 0; jr < nc; jr += GEMM_NR) {
    int64_t nr = minI64(GEMM_NR, nc - jr);
    float *restrict panel = Bp + jr * kc;
    for (int64_t k = 0; k < kc; ++k) {
      const float *restrict src = B + k * ldb + jr;
      float *restrict dst = panel + k * GEMM_NR;
      if (nr == GEMM_NR) {
        for (int64_t j = 0; j < GEMM_NR; ++j)
          dst[j] = src[j];
      } else {
        for (int64_t j = 0; j < GEMM_NR; ++j)
          dst[j] = j < nr ? src[j] : 0.0f;
      }
    }
  }
}

/* C[0:mr, 0:nr] (+)= A[0:mr, 0:kc] * panel, A with row stride lda.
 * Rows mr..MR-1 of the tile repeat row mr-1 and are dropped. */
static inline void microKernel(int64_t kc, const float *restrict A,
                               int64_t lda, int64_t mr,
                               const float *restrict panel, float *restrict C,
                               int64_t ldc, int64_t nr, int accumulate) {
  const float *a[GEMM_MR];
  SEQK_UNROLL
  for (int i = 0; i < GEMM_MR; ++i)
    a[i] = A + (i < mr ? i : mr - 1) * lda;

  float acc[GEMM_MR][GEMM_NR];
  SEQK_UNROLL
  for (int i = 0; i < GEMM_MR; ++i) {
    SEQK_UNROLL
    for (int j = 0; j < GEMM_NR; ++j)
      acc[i][j] = 0.0f;
  }
  for (int64_t k = 0; k < kc; ++k) {
    const float *restrict b = panel + k * GEMM_NR;
    SEQK_UNROLL
    for (int i = 0; i < GEMM_MR; ++i) {
      float ak = a[i][k];
      SEQK_UNROLL
      for (int j = 0; j < GEMM_NR; ++j)
        acc[i][j] += ak * b[j];
    }
  }

  SEQK_UNROLL
  for (int i = 0; i < GEMM_MR; ++i) {
    if (i >= mr)
      break;
    float *restrict c = C + i * ldc;
    if (nr == GEMM_NR) {
      SEQK_UNROLL
      for (int j = 0; j < GEMM_NR; ++j)
        c[j] = accumulate ? c[j] + acc[i][j] : acc[i][j];
    } else {
      for (int j = 0; j < nr; ++j)
        c[j] = accumulate ? c[j] + acc[i][j] : acc[i][j];
    }
  }
}

/* C[m0:m1, jc:jc+nc] (+)= A[m0:m1, pc:pc+kc] Bp, Bp the packed block of
 * rows pc..pc+kc-1 of B (+= unless pc == 0); then epi, when given, on
 * each finished row run (the caller passes it with the last block). */
static void multiplyBlock(const float *restrict A, int64_t lda,
                          const float *restrict Bp, float *restrict C,
                          int64_t ldc, int64_t m0, int64_t m1, int64_t jc,
                          int64_t nc, int64_t pc, int64_t kc,
                          seqk_epilogue epi, const void *env) {
  for (int64_t ir = m0; ir < m1; ir += GEMM_MR) {
    int64_t mr = minI64(GEMM_MR, m1 - ir);
    float *Cblock = C + ir * ldc + jc;
    for (int64_t jr = 0; jr < nc; jr += GEMM_NR)
      microKernel(kc, A + ir * lda + pc, lda, mr, Bp + jr * kc, Cblock + jr,
                  ldc, minI64(GEMM_NR, nc - jr), pc > 0);
    if (epi)
      for (int64_t i = 0; i < mr; ++i)
        epi(env, ir + i, jc, Cblock + i * ldc, Cblock + i * ldc, nc);
  }
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
  float Bp[GEMM_KC * GEMM_NC];
  for (int64_t jc = n0; jc < n1; jc += GEMM_NC) {
    int64_t nc = minI64(GEMM_NC, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
      int64_t kc = minI64(GEMM_KC, K - pc);
      packB(B + pc * ldb + jc, ldb, kc, nc, Bp);
      multiplyBlock(A, lda, Bp, C, ldc, m0, m1, jc, nc, pc, kc,
                    pc + kc == K ? epi : 0, env);
    }
  }
}

/* ---- Conv2d as an implicit GEMM ---------------------------------------
 *
 * seqk_conv2d_gemm is seqk_gemm with B = im2col(x) never stored: each
 * KC x NC block of B is gathered from the image straight into the panel
 * layout packB produces, so the columns are copied once, not twice.
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
    int64_t p = jc + j, ow = p % OW, lane = j % GEMM_NR;
    int64_t len = minI64(minI64(OW - ow, GEMM_NR - lane), nc - j);
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
  for (uint32_t i = 0; i < GEMM_NR; ++i)
    if (i < len)
      dst[i] = i - ua < width ? row[(int64_t)i * g->SW] : 0.0f;
}

/* Bp = rows [pc, pc + kc), columns [jc, jc + nc) of im2col(x), packed as
 * packB packs them (a short last panel zero-padded). */
SEQK_INLINE void packIm2col(const ConvGeometry *g, int64_t pc, int64_t kc,
                       int64_t jc, int64_t nc, float *restrict Bp) {
  ConvSegment segs[GEMM_NC + GEMM_NC / GEMM_NR + 1];
  int64_t nseg = blockSegments(jc, nc, kc, g->OW, segs);
  int64_t c = pc / (g->KH * g->KW), kh = pc / g->KW % g->KH, kw = pc % g->KW;
  int64_t tail = nc % GEMM_NR, tailPanel = (nc - tail) * kc;
  for (int64_t k = 0; k < kc; ++k) {
    const float *restrict xc = g->x + c * g->H * g->W;
    int64_t lo, hi;
    seqkValidRange(kw * g->DW - g->PW, g->SW, g->W, g->OW, &lo, &hi);
    for (int64_t i = 0; i < nseg; ++i)
      gatherSegment(g, xc, kh, kw, lo, hi, segs[i],
                    Bp + segs[i].off + k * GEMM_NR);
    if (tail)
      for (int64_t j = tail; j < GEMM_NR; ++j)
        Bp[tailPanel + k * GEMM_NR + j] = 0.0f;
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
  float Bp[GEMM_KC * GEMM_NC];
  for (int64_t jc = n0; jc < n1; jc += GEMM_NC) {
    int64_t nc = minI64(GEMM_NC, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += GEMM_KC) {
      int64_t kc = minI64(GEMM_KC, K - pc);
      packIm2col(&g, pc, kc, jc, nc, Bp);
      multiplyBlock(w, K, Bp, y, N, m0, m1, jc, nc, pc, kc,
                    pc + kc == K ? epi : 0, env);
    }
  }
}
