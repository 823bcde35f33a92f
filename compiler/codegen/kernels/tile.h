/* tile.h: the register tile shared by the GEMM and convolution kernels.
 * Internal to the kernel library; not part of its interface (seqk.h).
 *
 * A tile is TILE_MR rows x TILE_NR columns of C held in TILE_MR x
 * TILE_NV vectors of 16 floats (GCC/clang vector extensions: one zmm
 * register each on AVX-512, four q registers on NEON). One step of the
 * K loop loads one row of B (TILE_NV vectors, unaligned, in place) and
 * broadcasts one element of each of the TILE_MR rows of A, so every
 * element of C is accumulated in the order k = 0, 1, ..., K-1 with one
 * multiply-add per k (contracted to an FMA where the target has one, as
 * -ffp-contract=on allows within an expression).
 *
 * On AVX-512 the 8 x 2 accumulators leave room for the B row and the
 * broadcast, and 16 independent FMA chains cover the FMA latency on two
 * ports; on NEON they take 32 registers, so LLVM spills a little. */
#ifndef SEQK_TILE_H
#define SEQK_TILE_H

#include <stdint.h>

#include "seqk.h"

/* SEQK_NARROW (the _narrow bitcode, for x86 without AVX-512): 16 vector
 * registers of 256 bits, so a vector of 16 floats takes two and the tiles
 * below keep at most 12 of them as accumulators (6 vectors of 16 floats),
 * where the wide ones keep 28 zmm. Every kernel computes the same sums in
 * the same order either way: only how many stay in registers at once
 * differs, and the layouts (panels of 32 channels, lanes of 16) do not. */
#ifndef SEQK_NARROW
#define SEQK_NARROW 0
#endif
/* The most vectors of 16 floats a narrow tile accumulates at once. */
#define NARROW_ACC 6

#define TILE_MR 8
#define TILE_NV 2
#define TILE_NR (16 * TILE_NV) /* == SEQK_PANEL_WIDTH */

#if defined(__clang__)
#define SEQK_UNROLL _Pragma("clang loop unroll(full)")
/* A loop whose body is already a whole tile step: unrolling it (when the
 * call site makes its trip count constant) only makes the register
 * allocator spill the tile's accumulators. */
#define SEQK_NO_UNROLL _Pragma("clang loop unroll(disable)")
#else
#define SEQK_UNROLL _Pragma("GCC unroll 32")
#define SEQK_NO_UNROLL _Pragma("GCC unroll 1")
#endif

/* For the helpers that must see the caller's constant shapes to be
 * specialised (the linker marks only the seqk_ entry points always-inline). */
#define SEQK_INLINE static inline __attribute__((always_inline))

typedef float seqkVec __attribute__((vector_size(64)));
/* The same, for loads and stores at any float-aligned address. */
typedef float seqkVecU
    __attribute__((vector_size(64), aligned(4), may_alias));

typedef struct {
  seqkVec acc[TILE_MR][TILE_NV];
} Tile;

SEQK_INLINE void tileZero(Tile *t) {
  SEQK_UNROLL
  for (int i = 0; i < TILE_MR; ++i) {
    SEQK_UNROLL
    for (int v = 0; v < TILE_NV; ++v)
      t->acc[i][v] = (seqkVec){0};
  }
}

/* The rows of A a tile reads: rows 0 .. mr-1 of A, and the last again in
 * place of the missing ones (computed, never stored). */
SEQK_INLINE void tileRows(const float *A, int64_t lda, int64_t mr,
                          const float *a[TILE_MR]) {
  SEQK_UNROLL
  for (int i = 0; i < TILE_MR; ++i)
    a[i] = A + (i < mr ? i : mr - 1) * lda;
}

/* acc[i] += a[i][k] * b[0:NR] for every row i. */
SEQK_INLINE void tileStep(Tile *t, const float *const a[TILE_MR], int64_t k,
                          const float *b) {
  seqkVec bv[TILE_NV];
  SEQK_UNROLL
  for (int v = 0; v < TILE_NV; ++v)
    bv[v] = *(const seqkVecU *)(b + 16 * v);
  SEQK_UNROLL
  for (int i = 0; i < TILE_MR; ++i) {
    float s = a[i][k];
    SEQK_UNROLL
    for (int v = 0; v < TILE_NV; ++v)
      t->acc[i][v] = t->acc[i][v] + s * bv[v];
  }
}

#if SEQK_NARROW
/* The narrow tile's steps k = 0 .. kc-1 (A's column k0 + k, B's row at
 * b + k*ldb) in passes of NARROW_ROWS rows by one vector (8 ymm
 * accumulators, beside B's vector and the broadcast): NARROW_PASSES
 * passes, pass_ = 0, 1, ..., each running the statement PF (the caller's
 * prefetch for step k of pass pass_) at each step. Each pass leaves its
 * sums in the tile in memory (the empty asm), or LLVM keeps the finished
 * ones in registers and spills the next pass's accumulators. */
#define NARROW_ROWS 4
#define NARROW_PASSES (TILE_NV * TILE_MR / NARROW_ROWS)
#define TILE_PASSES(t, a, k0, kc, b, ldb, PF)                                 \
  do {                                                                        \
    SEQK_UNROLL                                                               \
    for (int pv_ = 0; pv_ < TILE_NV; ++pv_) {                                 \
      SEQK_UNROLL                                                             \
      for (int pi_ = 0; pi_ < TILE_MR; pi_ += NARROW_ROWS) {                  \
        const int pass_ = pv_ * (TILE_MR / NARROW_ROWS) + pi_ / NARROW_ROWS;  \
        (void)pass_;                                                          \
        seqkVec part_[NARROW_ROWS];                                           \
        SEQK_UNROLL                                                           \
        for (int i_ = 0; i_ < NARROW_ROWS; ++i_)                              \
          part_[i_] = (t)->acc[pi_ + i_][pv_];                                \
        for (int64_t k = 0; k < (kc); ++k) {                                  \
          {                                                                   \
            PF;                                                               \
          }                                                                   \
          seqkVec bv_ = *(const seqkVecU *)((b) + k * (ldb) + 16 * pv_);      \
          SEQK_UNROLL                                                         \
          for (int i_ = 0; i_ < NARROW_ROWS; ++i_)                            \
            part_[i_] = part_[i_] + (a)[pi_ + i_][(k0) + k] * bv_;            \
        }                                                                     \
        SEQK_UNROLL                                                           \
        for (int i_ = 0; i_ < NARROW_ROWS; ++i_)                              \
          (t)->acc[pi_ + i_][pv_] = part_[i_];                                \
        __asm__ volatile("" : : "r"(t) : "memory");                           \
      }                                                                       \
    }                                                                         \
  } while (0)
#endif

/* The kc steps k0 .. k0+kc-1 over B rows b, b + ldb, ... With `ahead`,
 * each step also prefetches (into L2) B's row TILE_PREFETCH steps ahead:
 * B streams from memory (a packed weight panel read for the first time),
 * and the out-of-order window covers too few steps to hide that latency. */
#define TILE_PREFETCH 32
SEQK_INLINE void tileSteps(Tile *t, const float *const a[TILE_MR], int64_t k0,
                           int64_t kc, const float *b, int64_t ldb,
                           int ahead) {
#if SEQK_NARROW
  TILE_PASSES(t, a, k0, kc, b, ldb, if (ahead && pass_ == 0) {
    SEQK_UNROLL
    for (int v = 0; v < TILE_NV; ++v)
      __builtin_prefetch(b + (k + TILE_PREFETCH) * ldb + 16 * v, 0, 1);
  });
  return;
#endif
  for (int64_t k = 0; k < kc; ++k) {
    if (ahead) {
      SEQK_UNROLL
      for (int v = 0; v < TILE_NV; ++v)
        __builtin_prefetch(b + (k + TILE_PREFETCH) * ldb + 16 * v, 0, 1);
    }
    tileStep(t, a, k0 + k, b + k * ldb);
  }
}

/* Edge loops, kept rolled and scalar: they run once per tile at most,
 * and unrolled they would cost compile time at every call site. */
#if defined(__clang__)
#define SEQK_ROLLED _Pragma("clang loop unroll(disable) vectorize(disable)")
#else
#define SEQK_ROLLED
#endif

/* tile = C[0:mr, 0:nr] (rows past mr repeat row mr-1, columns past nr
 * are 0): a K loop that continues a previous block's sums. */
SEQK_INLINE void tileLoad(Tile *t, const float *C, int64_t ldc, int64_t mr,
                          int64_t nr) {
  if (nr == TILE_NR) {
    SEQK_UNROLL
    for (int i = 0; i < TILE_MR; ++i) {
      const float *c = C + (i < mr ? i : mr - 1) * ldc;
      SEQK_UNROLL
      for (int v = 0; v < TILE_NV; ++v)
        t->acc[i][v] = *(const seqkVecU *)(c + 16 * v);
    }
    return;
  }
  float rows[TILE_MR][TILE_NR];
  SEQK_ROLLED
  for (int64_t i = 0; i < TILE_MR; ++i)
    SEQK_ROLLED
    for (int64_t j = 0; j < TILE_NR; ++j)
      rows[i][j] = j < nr ? C[(i < mr ? i : mr - 1) * ldc + j] : 0.0f;
  SEQK_UNROLL
  for (int i = 0; i < TILE_MR; ++i) {
    SEQK_UNROLL
    for (int v = 0; v < TILE_NV; ++v)
      t->acc[i][v] = *(const seqkVecU *)(rows[i] + 16 * v);
  }
}

/* C[0:mr, 0:nr] = tile, C with row stride ldc. */
SEQK_INLINE void tileStore(const Tile *t, float *C, int64_t ldc, int64_t mr,
                           int64_t nr) {
  if (nr == TILE_NR && mr == TILE_MR) {
    SEQK_UNROLL
    for (int i = 0; i < TILE_MR; ++i) {
      SEQK_UNROLL
      for (int v = 0; v < TILE_NV; ++v)
        *(seqkVecU *)(C + i * ldc + 16 * v) = t->acc[i][v];
    }
    return;
  }
  float rows[TILE_MR][TILE_NR];
  SEQK_UNROLL
  for (int i = 0; i < TILE_MR; ++i) {
    SEQK_UNROLL
    for (int v = 0; v < TILE_NV; ++v)
      *(seqkVecU *)(rows[i] + 16 * v) = t->acc[i][v];
  }
  SEQK_ROLLED
  for (int64_t i = 0; i < mr; ++i)
    SEQK_ROLLED
    for (int64_t j = 0; j < nr; ++j)
      C[i * ldc + j] = rows[i][j];
}

/* *out = r[0], r[2], .., r[30], from two loads and a shuffle that read
 * r[0 .. 30] only (the second load starts at r[15], not r[16]: r[31] may
 * be past the input): a row at column stride 2 (convlanes.c's taps,
 * conv.c's im2col). */
SEQK_INLINE void seqkEvenOf31(const float *restrict r, seqkVec *out) {
  seqkVec lo = *(const seqkVecU *)r, hi = *(const seqkVecU *)(r + 15);
  *out = __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14, 17, 19,
                                 21, 23, 25, 27, 29, 31);
}

/* The tile of output positions in the lanes (convpack.c's pointwise
 * lanes, convlanes.c's few taps): LANES_CH output channels by V <= 3
 * vectors of 16 positions. One input step broadcasts LANES_CH weights,
 * w[0 .. LANES_CH), against its V vectors x: acc[i][v] += w[i] * x[v]. */
#define LANES_CH 8
typedef seqkVec LanesAcc[LANES_CH][3];

/* acc[i][v] = 0 for the channels [0, n) and the vectors [v0, v0 + nv)
 * (a narrow tile takes a part at a time). */
SEQK_INLINE void lanesZeroN(seqkVec (*acc)[3], int v0, int nv, int n) {
  SEQK_UNROLL
  for (int i = 0; i < LANES_CH; ++i) {
    if (i >= n)
      break;
    SEQK_UNROLL
    for (int v = v0; v < v0 + nv; ++v)
      acc[i][v] = (seqkVec){0};
  }
}

SEQK_INLINE void lanesZero(LanesAcc acc, int V) {
  lanesZeroN(acc, 0, V, LANES_CH);
}

/* The step on channels [0, n) and vectors [v0, v0 + nv) only (constants
 * where it is inlined: the others' multiply-adds vanish). */
SEQK_INLINE void lanesStepN(seqkVec (*acc)[3], const float *restrict w,
                            const seqkVec x[3], int v0, int nv, int n) {
  SEQK_UNROLL
  for (int i = 0; i < LANES_CH; ++i) {
    if (i >= n)
      break;
    float s = w[i];
    SEQK_UNROLL
    for (int v = v0; v < v0 + nv; ++v)
      acc[i][v] = acc[i][v] + s * x[v];
  }
}

SEQK_INLINE void lanesStep(LanesAcc acc, const float *restrict w,
                           const seqkVec x[3], int V) {
  lanesStepN(acc, w, x, 0, V, LANES_CH);
}

/* m[r] lane c becomes m[c] lane r: four stages, stage D exchanging bit
 * log2(D) of the vector's and the lane's index, 16 two-source shuffles
 * each. */
#define T1_LO 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define T1_HI 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31
#define T2_LO 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define T2_HI 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define T4_LO 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define T4_HI 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define T8_LO 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define T8_HI 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define TRANSPOSE_STAGE(D, LO, HI)                                           \
  SEQK_UNROLL                                                                \
  for (int r = 0; r < 16; ++r)                                               \
    if (!(r & (D))) {                                                        \
      seqkVec lo = m[r], hi = m[r + (D)];                                    \
      m[r] = __builtin_shufflevector(lo, hi, LO);                            \
      m[r + (D)] = __builtin_shufflevector(lo, hi, HI);                      \
    }
SEQK_INLINE void transpose16(seqkVec m[16]) {
  TRANSPOSE_STAGE(1, T1_LO, T1_HI)
  TRANSPOSE_STAGE(2, T2_LO, T2_HI)
  TRANSPOSE_STAGE(4, T4_LO, T4_HI)
  TRANSPOSE_STAGE(8, T8_LO, T8_HI)
}

/* transpose16 for tiles whose 16 vectors are in memory already (the
 * depthwise kernels' blocks). Narrow: the four 8 x 8 blocks of 256-bit
 * halves one at a time, in memory: the four stages over whole vectors
 * keep 32 ymm registers live, and LLVM spilled them at every stage; a
 * block is 8 halves in, 24 shuffles, 8 halves out (MobileNetV2 9.29 ->
 * 9.17 ms at batch 1 on one thread, EfficientNet-B0 15.10 -> 14.79). In
 * the packed convolution's store, whose sums come from registers, it was
 * 3% slower (LeNet-5, the 64x64 ResNet). */
#if SEQK_NARROW
typedef float seqkHalf __attribute__((vector_size(32)));
typedef float seqkHalfU __attribute__((vector_size(32), aligned(4), may_alias));
/* One step of a narrow tile of 4 channels by 24 positions in the lanes
 * (convlanes.c's and pointlanes.c's blocks of 48 positions, a half at a
 * time: 12 ymm sums): the 24 inputs at x, the channels' weights
 * w[0 .. n), acc[i][j] += w[i] * x[8j .. 8j + 8) for i < n. */
SEQK_INLINE void lanes4x24Step(seqkHalf acc[4][3], const float *restrict x,
                               const float *restrict w, int n) {
  const seqkHalf x0 = *(const seqkHalfU *)x, x1 = *(const seqkHalfU *)(x + 8);
  const seqkHalf x2 = *(const seqkHalfU *)(x + 16);
  SEQK_UNROLL
  for (int i = 0; i < 4; ++i) {
    if (i >= n)
      break;
    const float s = w[i];
    acc[i][0] = acc[i][0] + s * x0;
    acc[i][1] = acc[i][1] + s * x1;
    acc[i][2] = acc[i][2] + s * x2;
  }
}
SEQK_INLINE void transpose8(seqkHalf r[8]) {
  seqkHalf t[8], u[8];
  SEQK_UNROLL
  for (int i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  SEQK_UNROLL
  for (int i = 0; i < 8; i += 4)
    SEQK_UNROLL
    for (int k = 0; k < 2; ++k) {
      u[i + 2 * k] = __builtin_shufflevector(t[i + k], t[i + k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
      u[i + 2 * k + 1] = __builtin_shufflevector(t[i + k], t[i + k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
  SEQK_UNROLL
  for (int c = 0; c < 4; ++c) {
    r[c] = __builtin_shufflevector(u[c], u[c + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    r[c + 4] = __builtin_shufflevector(u[c], u[c + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}
/* Half `col` / 8 of m[row], in place (m's vectors are 64-byte aligned). */
typedef float seqkHalfA __attribute__((vector_size(32), may_alias));
#define SEQK_HALF(m, row, col) (*(seqkHalfA *)((float *)&(m)[row] + (col)))
SEQK_INLINE void transpose16Blocked(seqkVec m[16]) {
  /* in place: the diagonal blocks each into itself, the other two into
   * each other's place, the first kept meanwhile (copied whole through
   * buffers, the tile was two calls of memcpy: 1% of MobileNetV2) */
  seqkHalf r[8], keep[8];
  SEQK_UNROLL
  for (int b = 0; b < 16; b += 8) {
    SEQK_UNROLL
    for (int i = 0; i < 8; ++i)
      r[i] = SEQK_HALF(m, b + i, b);
    transpose8(r);
    SEQK_UNROLL
    for (int c = 0; c < 8; ++c)
      SEQK_HALF(m, b + c, b) = r[c];
    __asm__ volatile("" : : "r"(m) : "memory"); /* a block at a time */
  }
  SEQK_UNROLL
  for (int i = 0; i < 8; ++i)
    r[i] = SEQK_HALF(m, i, 8);
  transpose8(r);
  SEQK_UNROLL
  for (int c = 0; c < 8; ++c)
    keep[c] = r[c];
  __asm__ volatile("" : : "r"(keep) : "memory");
  SEQK_UNROLL
  for (int i = 0; i < 8; ++i)
    r[i] = SEQK_HALF(m, 8 + i, 0);
  transpose8(r);
  SEQK_UNROLL
  for (int c = 0; c < 8; ++c)
    SEQK_HALF(m, c, 8) = r[c];
  SEQK_UNROLL
  for (int c = 0; c < 8; ++c)
    SEQK_HALF(m, 8 + c, 0) = keep[c];
}
/* m = the transpose of the 16 x 16 floats whose row i is rows[i] (16
 * floats each; rows may be anywhere, the same one twice): the blocks read
 * straight from the rows, not through a copy (dwlanes.c's gather and
 * store: a memset and a memcpy of the tile each). */
SEQK_INLINE void transpose16FromRows(const float *const rows[16], seqkVec m[16]) {
  SEQK_UNROLL
  for (int rb = 0; rb < 16; rb += 8)
    SEQK_UNROLL
    for (int cb = 0; cb < 16; cb += 8) {
      seqkHalf r[8];
      SEQK_UNROLL
      for (int i = 0; i < 8; ++i)
        r[i] = *(const seqkHalfU *)(rows[rb + i] + cb);
      transpose8(r);
      SEQK_UNROLL
      for (int c = 0; c < 8; ++c)
        SEQK_HALF(m, cb + c, rb) = r[c];
      __asm__ volatile("" : : "r"(m) : "memory"); /* a block at a time */
    }
}
#else
#define transpose16Blocked transpose16
SEQK_INLINE void transpose16FromRows(const float *const rows[16], seqkVec m[16]) {
  SEQK_UNROLL
  for (int i = 0; i < 16; ++i)
    m[i] = *(const seqkVecU *)rows[i];
  transpose16(m);
}
#endif

#endif /* SEQK_TILE_H */
