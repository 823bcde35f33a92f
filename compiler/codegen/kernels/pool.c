/* pool.c: max, average and adaptive average pooling over [P, H, W]
 * planes, with PyTorch's CPU semantics (padding, ceil_mode windows chosen
 * by the caller through OH/OW, divisors, NaN propagation).
 *
 * Max and average pooling accumulate a whole output row at once, tap by
 * tap (kh outer, kw inner: each output sees its window in PyTorch's order),
 * so that the inner loop runs over independent outputs and vectorises. */
#include <stdint.h>

#include "seqk.h"
#include "tile.h"
#include "window.h"

/* PyTorch: if (v > m || isnan(v)) m = v, starting from -inf. */
static void maxpoolRow(const float *restrict xp, float *restrict out,
                       int64_t oh, int64_t H, int64_t W, int64_t KH,
                       int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                       int64_t PW, int64_t DH, int64_t DW, int64_t OW) {
  for (int64_t ow = 0; ow < OW; ++ow)
    out[ow] = -__builtin_inff();
  for (int64_t kh = 0; kh < KH; ++kh) {
    int64_t ih = oh * SH - PH + kh * DH;
    if (ih < 0 || ih >= H)
      continue;
    for (int64_t kw = 0; kw < KW; ++kw) {
      int64_t offW = kw * DW - PW, lo, hi;
      seqkValidRange(offW, SW, W, OW, &lo, &hi);
      const float *restrict row = xp + ih * W + offW;
      for (int64_t ow = lo; ow < hi; ++ow) {
        float v = row[ow * SW], m = out[ow];
        out[ow] = (v > m || v != v) ? v : m;
      }
    }
  }
}

static inline float maxTap(float v, float m) {
  return (v > m || v != v) ? v : m;
}

/* The 3x3 window at stride 1 or 2 (the ResNets' stem pool, GoogLeNet's
 * and SqueezeNet's), separably: each input row's maxima over the three
 * columns of every output's window, then each output's over its three
 * rows. The same bits as maxpoolRow's nine taps in order: a run of maxTap
 * keeps the first of equal values (so the same zero of two) and the last
 * NaN, and so do the maxima of the maxima of its parts, in order. A row's
 * maxima serve the output rows whose windows share it (one more at stride
 * 2, two more at stride 1), so an output takes 6 maxTap (stride 2) or 4
 * (stride 1) instead of 8.
 *
 * The outputs whose three columns are all inside the row go in vectors
 * of 16 consecutive ones (rows of 8 to 15, at stride 2: one vector of
 * 16 a row all the same, two of 8 in the last; see maxpoolPlane3x3), the
 * last vector moved back to end with them (its outputs done twice, with
 * the same bits), down the plane: each output row's vector from the row
 * maxima of its window's rows, in registers, those of the rows the next
 * window shares kept for it. Nothing goes through memory but the input
 * and the outputs.
 * (Row by row through buffers of row maxima, every vector stored and
 * loaded again, 13-wide rows ran at 10 cycles an output: SqueezeNet's 256
 * x 13 x 13 pool took 138 us at batch 1 on one thread, 17 in ONNX
 * Runtime; GoogLeNet's stride-1 pools went through maxpoolRow's nine
 * passes.) The few outputs at the rows' ends take the nine taps in
 * order; rows of fewer than 8 outputs at stride 2, or 16 at stride 1, are
 * left to maxpoolPlaneFlat3x3 below or the general pool. */
typedef int32_t poolVecI __attribute__((vector_size(64)));
typedef float poolVec8 __attribute__((vector_size(32)));
typedef float poolVec8U __attribute__((vector_size(32), aligned(4), may_alias));
typedef int32_t poolVec8I __attribute__((vector_size(32)));

#define POOL_EVEN16 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define POOL_ODD16 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define POOL_NEXT16 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 31
#define POOL_EVEN8 0, 2, 4, 6, 8, 10, 12, 14
#define POOL_ODD8 1, 3, 5, 7, 9, 11, 13, 15

/* maxTap lane by lane: v where v > m or v is NaN, else m (a mask select
 * keeps the NaN's bits, as the scalar ?: does). Macros: vectors passed
 * by value would change the ABI where AVX-512 is off. */
#define POOL_MAXTAP(VT, IT, v, m)                                            \
  ((VT)((((IT)((v) > (m)) | (IT)((v) != (v))) & (IT)(v)) |                  \
        (~((IT)((v) > (m)) | (IT)((v) != (v))) & (IT)(m))))
#define maxTap16(v, m) POOL_MAXTAP(seqkVec, poolVecI, v, m)
#define maxTap8(v, m) POOL_MAXTAP(poolVec8, poolVec8I, v, m)

/* The common 2x2 window at stride 2 with every window inside the input:
 * an output's four taps in one pass, in maxpoolRow's order and with its
 * NaN rule. Rows of 16 outputs or more in vectors of 16, of 8 to 15 in
 * vectors of 8 (each vector's 32 or 16 input columns of both rows loaded
 * once and split into even and odd columns), the last vector moved back
 * to end with the row (its first outputs computed again, the same bits);
 * shorter rows one output at a time. (Left to the compiler's vectoriser,
 * a row of 15 outputs ran one by one: seed 003's 64 x 30 x 30 pool took
 * 37 us at batch 1 on one thread, a fifth of the model.) */
/* Vectors of L outputs from r0's and r1's columns 2*at on, split into
 * even and odd columns by shuffles of the first input vector and SECOND
 * (the next 16 columns for L = 16, the same vector for L = 8). */
#define POOL_ROW2X2(L, VT, VTU, EVEN, ODD, MAXTAP, SECOND)                   \
  {                                                                          \
    const VT ninf = (VT){0} - __builtin_inff();                              \
    for (int64_t ow0 = 0;; ow0 += (L)) {                                     \
      const int64_t at = seqkMin(ow0, OW - (L));                             \
      const seqkVec a = *(const seqkVecU *)(r0 + 2 * at);                    \
      const seqkVec c = *(const seqkVecU *)(r1 + 2 * at);                    \
      const seqkVec b = SECOND(r0, a), d = SECOND(r1, c);                    \
      VT m = MAXTAP(__builtin_shufflevector(a, b, EVEN), ninf);              \
      m = MAXTAP(__builtin_shufflevector(a, b, ODD), m);                     \
      m = MAXTAP(__builtin_shufflevector(c, d, EVEN), m);                    \
      m = MAXTAP(__builtin_shufflevector(c, d, ODD), m);                     \
      *(VTU *)(out + at) = m;                                                \
      if (at + (L) >= OW)                                                    \
        return;                                                              \
    }                                                                        \
  }
#define POOL_NEXT_COLUMNS(r, first) (*(const seqkVecU *)((r) + 2 * at + 16))
#define POOL_SAME_VECTOR(r, first) (first)
static void maxpoolRow2x2(const float *restrict r0, const float *restrict r1,
                          float *restrict out, int64_t OW) {
  if (OW >= 16)
    POOL_ROW2X2(16, seqkVec, seqkVecU, POOL_EVEN16, POOL_ODD16, maxTap16,
                POOL_NEXT_COLUMNS)
  if (OW >= 8)
    POOL_ROW2X2(8, poolVec8, poolVec8U, POOL_EVEN8, POOL_ODD8, maxTap8,
                POOL_SAME_VECTOR)
  for (int64_t ow = 0; ow < OW; ++ow) {
    float m = maxTap(r0[2 * ow], -__builtin_inff());
    m = maxTap(r0[2 * ow + 1], m);
    m = maxTap(r1[2 * ow], m);
    out[ow] = maxTap(r1[2 * ow + 1], m);
  }
}

/* The row maxima of the 16 (8) outputs whose first column is c[0], over
 * their three columns in order: c[j], c[j+1], c[j+2] at stride 1 (reads
 * c[0 .. 17], c[0 .. 9]), c[2j], c[2j+1], c[2j+2] at stride 2 (reads
 * c[0 .. 32], c[0 .. 16]: the third column by a shuffle, not as 0 +
 * c[32], which would turn -0 into +0). */
#define POOL_COLS16_1(c, out)                                                \
  do {                                                                       \
    seqkVec x0_ = *(const seqkVecU *)(c), x1_ = *(const seqkVecU *)((c) + 1); \
    seqkVec x2_ = *(const seqkVecU *)((c) + 2);                              \
    (out) = maxTap16(x2_, maxTap16(x1_, x0_));                               \
  } while (0)
#define POOL_COLS8_1(c, out)                                                 \
  do {                                                                       \
    poolVec8 x0_ = *(const poolVec8U *)(c);                                  \
    poolVec8 x1_ = *(const poolVec8U *)((c) + 1);                            \
    poolVec8 x2_ = *(const poolVec8U *)((c) + 2);                            \
    (out) = maxTap8(x2_, maxTap8(x1_, x0_));                                 \
  } while (0)
#define POOL_COLS16_2(c, out)                                                \
  do {                                                                       \
    seqkVec a_ = *(const seqkVecU *)(c), b_ = *(const seqkVecU *)((c) + 16); \
    seqkVec d_ = *(const seqkVecU *)((c) + 17);                              \
    seqkVec x0_ = __builtin_shufflevector(a_, b_, POOL_EVEN16);              \
    seqkVec x1_ = __builtin_shufflevector(a_, b_, POOL_ODD16);               \
    seqkVec x2_ = __builtin_shufflevector(x0_, d_, POOL_NEXT16);             \
    (out) = maxTap16(x2_, maxTap16(x1_, x0_));                               \
  } while (0)
#define POOL_COLS8_2(c, out)                                                 \
  do {                                                                       \
    seqkVec a_ = *(const seqkVecU *)(c), d_ = *(const seqkVecU *)((c) + 1);  \
    poolVec8 x0_ = __builtin_shufflevector(a_, a_, POOL_EVEN8);              \
    poolVec8 x1_ = __builtin_shufflevector(a_, a_, POOL_ODD8);               \
    poolVec8 x2_ = __builtin_shufflevector(d_, d_, POOL_ODD8);               \
    (out) = maxTap8(x2_, maxTap8(x1_, x0_));                                 \
  } while (0)

/* The outputs [lo, HI) of the rows [OH0, OH1) of one plane at stride S,
 * HI - lo >= L, in vectors of L (VT, VU: the vector and its unaligned
 * form, COLS and MAX: the row maxima and maxTap of that width). `rows[k]`
 * is the input row whose maxima `keep[k]` hold, for the window's rows k
 * (-1: none). */
#define POOL_PLANE3X3(S, L, VT, VU, COLS, MAX, OH0, OH1, HI)                 \
  for (int64_t q = lo;; q += (L)) {                                          \
    const int64_t at = seqkMin(q, (HI) - (L));                               \
    const float *restrict col = xp + (S) * at - PW;                          \
    VT keep[3] = {(VT){0}, (VT){0}, (VT){0}};                                \
    int64_t rows[3] = {-1, -1, -1};                                          \
    for (int64_t oh = (OH0); oh < (OH1); ++oh) {                             \
      const int64_t ih = (S) * oh - PH;                                      \
      VT m = (VT){0} - __builtin_inff();                                     \
      VT next[3] = {(VT){0}, (VT){0}, (VT){0}};                              \
      SEQK_UNROLL                                                            \
      for (int kh = 0; kh < 3; ++kh) {                                       \
        const int64_t r = ih + kh;                                           \
        if (r < 0 || r >= H)                                                 \
          continue;                                                          \
        VT h;                                                                \
        if (r == rows[(S)])                                                  \
          h = keep[(S)];                                                     \
        else if ((S) == 1 && r == rows[2])                                   \
          h = keep[2];                                                       \
        else                                                                 \
          COLS(col + r * W, h);                                              \
        m = MAX(h, m); /* from -inf: the first row as it is */           \
        next[kh] = h;                                                        \
      }                                                                      \
      SEQK_UNROLL                                                            \
      for (int k = 0; k < 3; ++k) {                                          \
        keep[k] = next[k];                                                   \
        rows[k] = ih + k >= 0 && ih + k < H ? ih + k : -1;                   \
      }                                                                      \
      *(VU *)(y + oh * OW + at) = m;                                         \
    }                                                                        \
    if (at + (L) >= (HI))                                                    \
      break;                                                                 \
  }

/* The vectors of a 3x3 pooling of stride S over rows of W columns: the
 * outputs [*lo, *hi) of a row whose three columns are all inside it, in
 * vectors of the returned width: 16, 8, or 0 when fewer than 8. */
SEQK_INLINE int64_t maxpool3x3Lanes(int64_t W, int64_t S, int64_t PW,
                                    int64_t OW, int64_t *lo, int64_t *hi) {
  const int64_t span = W + PW - 3;
  *lo = seqkMin((PW + S - 1) / S, OW);
  *hi = span < 0 ? *lo : seqkMax(*lo, seqkMin(OW, span / S + 1));
  return *hi - *lo >= 16 ? 16 : *hi - *lo >= 8 ? 8 : 0;
}

/* The outputs of one plane's 3x3 pooling outside the vectors' columns
 * [lo, hi), each the nine taps in order. */
SEQK_INLINE void maxpoolPlaneEnds(const float *restrict xp, float *restrict y,
                                  int64_t H, int64_t W, int64_t S, int64_t PH,
                                  int64_t PW, int64_t OH, int64_t OW,
                                  int64_t lo, int64_t hi) {
  for (int64_t oh = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow) {
      if (ow == lo)
        ow = hi; /* the vectors' */
      if (ow >= OW)
        break;
      float m = -__builtin_inff();
      for (int kh = 0; kh < 3; ++kh) {
        const int64_t ih = S * oh - PH + kh;
        if (ih < 0 || ih >= H)
          continue;
        for (int kw = 0; kw < 3; ++kw) {
          const int64_t iw = S * ow - PW + kw;
          if (iw >= 0 && iw < W)
            m = maxTap(xp[ih * W + iw], m);
        }
      }
      y[oh * OW + ow] = m;
    }
}

/* One plane's 3x3 pooling of stride S (1 or 2) and padding PH, PW, y its
 * first output row (OW floats a row); L, lo, hi from maxpool3x3Lanes, L
 * not 0. */
static void maxpoolPlane3x3(const float *restrict xp, float *restrict y,
                            int64_t H, int64_t W, int64_t S, int64_t PH,
                            int64_t PW, int64_t OH, int64_t OW, int64_t L,
                            int64_t lo, int64_t hi) {
  /* At stride 2, rows of 8 to 15 such outputs (SqueezeNet's 13x13 and
   * GoogLeNet's 14x14 pools) take one vector of 16 from lo, but the last
   * row: the lanes past hi land on the row's end and the next row's
   * start, which the next row's vector and the row ends, computed after
   * the vectors, write again. Its input rows stay inside the plane (the
   * last output row, whose may not, takes the vectors of 8). GoogLeNet's
   * 192 x 28 x 28 pool: 125-131 -> 99 us at batch 1 on one thread. */
  if (S == 2 && L == 8 && OH >= 2 && 2 * OH - PH <= H &&
      2 * lo - PW + 33 <= 2 * W) {
    POOL_PLANE3X3(2, 16, seqkVec, seqkVecU, POOL_COLS16_2, maxTap16, 0,
                  OH - 1, lo + 16)
    POOL_PLANE3X3(2, 8, poolVec8, poolVec8U, POOL_COLS8_2, maxTap8, OH - 1,
                  OH, hi)
    maxpoolPlaneEnds(xp, y, H, W, S, PH, PW, OH, OW, lo, hi);
    return;
  }
  maxpoolPlaneEnds(xp, y, H, W, S, PH, PW, OH, OW, lo, hi);
  if (S == 2 && L == 16)
    POOL_PLANE3X3(2, 16, seqkVec, seqkVecU, POOL_COLS16_2, maxTap16, 0, OH,
                  hi)
  else if (S == 2 && L == 8)
    POOL_PLANE3X3(2, 8, poolVec8, poolVec8U, POOL_COLS8_2, maxTap8, 0, OH,
                  hi)
  else if (L == 16)
    POOL_PLANE3X3(1, 16, seqkVec, seqkVecU, POOL_COLS16_1, maxTap16, 0, OH,
                  hi)
  else if (L == 8)
    POOL_PLANE3X3(1, 8, poolVec8, poolVec8U, POOL_COLS8_1, maxTap8, 0, OH, hi)
}

/* The 3x3 pool of stride 1 and padding 1 that keeps a small plane's size
 * (GoogLeNet's inception branches at 14 x 14 and 7 x 7), in vectors of 16
 * consecutive outputs of the plane taken as one row of H*W: each tap one
 * load at its offset (dh*W + dw), its lanes outside the plane's rows or
 * columns made -inf, which maxTap passes over as the sequential rule skips
 * them: the nine taps in order, the same bits. The loads reach W + 1
 * floats before and past the plane: only for planes inside the call's
 * range, whose neighbours are the tensor's too. (Through maxpoolRow's nine
 * passes, row by row, these took 5 times as long as ONNX Runtime's.) */
/* the plane's floats: the masks of its vectors' taps take 9 x 64 bytes a
 * vector on the stack (9.6 KB) */
#define POOL_FLAT_MAX 256
static void maxpoolPlaneFlat3x3(const float *restrict xp, float *restrict y,
                                int64_t H, int64_t W,
                                const poolVecI (*valid)[9]) {
  const int64_t HW = H * W;
  const seqkVec ninf = (seqkVec){0} - __builtin_inff();
  for (int64_t q = 0, k = 0;; q += 16, ++k) {
    const int64_t at = seqkMin(q, HW - 16);
    seqkVec m = ninf;
    SEQK_UNROLL
    for (int t = 0; t < 9; ++t) {
      seqkVec v = *(const seqkVecU *)(xp + at + (t / 3 - 1) * W + t % 3 - 1);
      v = (seqkVec)((valid[k][t] & (poolVecI)v) | (~valid[k][t] & (poolVecI)ninf));
      m = maxTap16(v, m);
    }
    *(seqkVecU *)(y + at) = m;
    if (at + 16 >= HW)
      break;
  }
}

/* valid[k][t]: the lanes of vector k of maxpoolPlaneFlat3x3 whose tap t
 * is inside the plane, from each lane's row and column, in vectors (once
 * a call: lane by lane, at 2 threads they took as long as the 14 x 14
 * pools' planes). */
static void maxpoolFlatMasks(int64_t H, int64_t W, poolVecI (*valid)[9]) {
  const int64_t HW = H * W;
  const poolVecI iota = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const poolVecI all = ~(poolVecI){0};
  for (int64_t q = 0, k = 0;; q += 16, ++k) {
    const int64_t at = seqkMin(q, HW - 16);
    const poolVecI index = iota + (int32_t)at;
    const poolVecI row = index / (int32_t)W, col = index - row * (int32_t)W;
    /* tap t = 3 (dh + 1) + (dw + 1) */
    const poolVecI rows[3] = {row >= 1, all, row <= (int32_t)H - 2};
    const poolVecI cols[3] = {col >= 1, all, col <= (int32_t)W - 2};
    for (int t = 0; t < 9; ++t)
      valid[k][t] = rows[t / 3] & cols[t % 3];
    if (at + 16 >= HW)
      break;
  }
}

/* Planes [p0, p1) of x (xPlane floats apart) pooled into y's (yPlane
 * apart). */
static void maxpoolPlanes(const float *restrict x, int64_t xPlane,
                          float *restrict y, int64_t yPlane, int64_t H,
                          int64_t W, int64_t KH, int64_t KW, int64_t SH,
                          int64_t SW, int64_t PH, int64_t PW, int64_t DH,
                          int64_t DW, int64_t OH, int64_t OW, int64_t p0,
                          int64_t p1) {
  int fast2x2 = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 &&
                PW == 0 && DH == 1 && DW == 1 && 2 * OH <= H && 2 * OW <= W;
  /* 3x3 at stride 2 on rows of 8 outputs or more, at stride 1 of 16 or
   * more (GoogLeNet's 14 x 14 planes, 12 a row in vectors of 8, took 13%
   * longer than maxpoolRow's nine passes; its 7 x 7 ones, the nine taps
   * output by output, 3 times as long) */
  int64_t lo = 0, hi = 0, L = 0;
  if (KH == 3 && KW == 3 && SH == SW && (SH == 1 || SH == 2) && DH == 1 &&
      DW == 1)
    L = maxpool3x3Lanes(W, SW, PW, OW, &lo, &hi);
  const int fast3x3 = SH == 2 ? L >= 8 : L == 16;
  /* (its loads reach past a plane into its neighbours: planes of the
   * tensor's, not a band's) */
  const int flat = !fast3x3 && KH == 3 && KW == 3 && SH == 1 && SW == 1 &&
                   PH == 1 && PW == 1 && DH == 1 && DW == 1 && OH == H &&
                   OW == W && H * W >= 16 && H * W <= POOL_FLAT_MAX &&
                   xPlane == H * W;
  poolVecI valid[POOL_FLAT_MAX / 16 + 1][9];
  if (flat)
    maxpoolFlatMasks(H, W, valid);
  for (int64_t p = p0; p < p1; ++p) {
    const float *xp = x + p * xPlane;
    float *yp = y + p * yPlane;
    if (flat && p > p0 && p + 1 < p1) {
      maxpoolPlaneFlat3x3(xp, yp, H, W, (const poolVecI(*)[9])valid);
      continue;
    }
    if (fast3x3) {
      maxpoolPlane3x3(xp, yp, H, W, SH, PH, PW, OH, OW, L, lo, hi);
      continue;
    }
    for (int64_t oh = 0; oh < OH; ++oh) {
      float *out = yp + oh * OW;
      if (fast2x2)
        maxpoolRow2x2(xp + 2 * oh * W, xp + (2 * oh + 1) * W, out, OW);
      else
        maxpoolRow(xp, out, oh, H, W, KH, KW, SH, SW, PH, PW, DH, DW, OW);
    }
  }
}

void seqk_maxpool2d(const float *x, float *y, int64_t H, int64_t W,
                    int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                    int64_t PH, int64_t PW, int64_t DH, int64_t DW,
                    int64_t OH, int64_t OW, int64_t p0, int64_t p1) {
  maxpoolPlanes(x, H * W, y, OH * OW, H, W, KH, KW, SH, SW, PH, PW, DH, DW,
                OH, OW, p0, p1);
}

void seqk_maxpool2d_band(const float *x, int64_t xPlane, float *y,
                         int64_t yPlane, int64_t H, int64_t W, int64_t KH,
                         int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                         int64_t PW, int64_t DH, int64_t DW, int64_t OH,
                         int64_t OW, int64_t planes) {
  maxpoolPlanes(x, xPlane, y, yPlane, H, W, KH, KW, SH, SW, PH, PW, DH, DW,
                OH, OW, 0, planes);
}

/* PyTorch's divisor: the window [i0, min(i0 + K, size + pad)) counted
 * before clipping to the input when padding is included, the clipped
 * window [max(i0, 0), min(i0 + K, size)) otherwise. */
static inline int64_t windowCount(int64_t i0, int64_t K, int64_t size,
                                  int64_t pad, int32_t includePad) {
  int64_t i1 = seqkMin(i0 + K, size + pad);
  if (includePad)
    return i1 - i0;
  return seqkMin(i1, size) - seqkMax(i0, 0);
}

static void avgpoolRow(const float *restrict xp, float *restrict out,
                       int64_t oh, int64_t H, int64_t W, int64_t KH,
                       int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                       int64_t PW, int64_t OW, int32_t includePad) {
  int64_t ih0 = oh * SH - PH;
  int64_t ih1 = seqkMin(ih0 + KH, H); /* the taps inside the input */
  for (int64_t ow = 0; ow < OW; ++ow)
    out[ow] = 0.0f;
  for (int64_t ih = seqkMax(ih0, 0); ih < ih1; ++ih) {
    for (int64_t kw = 0; kw < KW; ++kw) {
      int64_t offW = kw - PW, lo, hi;
      seqkValidRange(offW, SW, W, OW, &lo, &hi);
      const float *restrict row = xp + ih * W + offW;
      for (int64_t ow = lo; ow < hi; ++ow)
        out[ow] += row[ow * SW];
    }
  }
  int64_t hInside = ih1 - seqkMax(ih0, 0);
  int64_t hCount = windowCount(ih0, KH, H, PH, includePad);
  for (int64_t ow = 0; ow < OW; ++ow) {
    int64_t iw0 = ow * SW - PW;
    int64_t wInside = seqkMin(iw0 + KW, W) - seqkMax(iw0, 0);
    int64_t count = hCount * windowCount(iw0, KW, W, PW, includePad);
    /* a window wholly in the padding (never produced by PyTorch's
     * output size rule) is 0, as PyTorch leaves it */
    int empty = hInside <= 0 || wInside <= 0 || count <= 0;
    out[ow] = empty ? 0.0f : out[ow] / (float)count;
  }
}

/* Outputs [0, 16) (the taps at r0[0 .. 32), r1[0 .. 32)), and [0, 8)
 * (r0[0 .. 16), r1[0 .. 16)) of avgpoolRow2x2. */
SEQK_INLINE void avgpool2x2By16(const float *restrict r0,
                                const float *restrict r1,
                                float *restrict out) {
  seqkVec r0a = *(const seqkVecU *)r0, r0b = *(const seqkVecU *)(r0 + 16);
  seqkVec r1a = *(const seqkVecU *)r1, r1b = *(const seqkVecU *)(r1 + 16);
  seqkVec s = ((seqkVec){0} + __builtin_shufflevector(r0a, r0b, POOL_EVEN16)) +
              __builtin_shufflevector(r0a, r0b, POOL_ODD16);
  s = s + __builtin_shufflevector(r1a, r1b, POOL_EVEN16);
  s = s + __builtin_shufflevector(r1a, r1b, POOL_ODD16);
  *(seqkVecU *)out = s / 4.0f;
}

SEQK_INLINE void avgpool2x2By8(const float *restrict r0,
                               const float *restrict r1, float *restrict out) {
  seqkVec a = *(const seqkVecU *)r0, c = *(const seqkVecU *)r1;
  poolVec8 s = ((poolVec8){0} + __builtin_shufflevector(a, a, POOL_EVEN8)) +
               __builtin_shufflevector(a, a, POOL_ODD8);
  s = s + __builtin_shufflevector(c, c, POOL_EVEN8);
  s = s + __builtin_shufflevector(c, c, POOL_ODD8);
  *(poolVec8U *)out = s / 4.0f;
}

/* The 2x2 window at stride 2 with every window inside the input
 * (LeNet's pools, DenseNet's transitions): an output is (((0 + a) + b) +
 * c) + d) / 4, its taps in avgpoolRow's order (the row's pair, then the
 * next row's) from 0, as PyTorch sums them (so -0 inputs give +0), and
 * the same division by the count. In vectors of 16 outputs (8 on rows of
 * 8 to 15), the taps split from two loads of each input row by shuffles,
 * the last vector moved back to end with the row (its first outputs
 * computed again, the same bits); rows of fewer than 8 outputs one by
 * one. (avgpoolRow's four strided passes and a division loop in int64
 * took 1.6 ns an output: LeNet-5's first pool, 64 images, 123 us.) */
static void avgpoolRow2x2(const float *restrict r0, const float *restrict r1,
                          float *restrict out, int64_t OW) {
  const int64_t L = OW >= 16 ? 16 : OW >= 8 ? 8 : 0;
  if (L == 0) {
    for (int64_t ow = 0; ow < OW; ++ow) {
      float s = (0.0f + r0[2 * ow]) + r0[2 * ow + 1];
      s = s + r1[2 * ow];
      s = s + r1[2 * ow + 1];
      out[ow] = s / 4.0f;
    }
    return;
  }
  for (int64_t q = 0;; q += L) {
    const int64_t at = seqkMin(q, OW - L);
    if (L == 16)
      avgpool2x2By16(r0 + 2 * at, r1 + 2 * at, out + at);
    else
      avgpool2x2By8(r0 + 2 * at, r1 + 2 * at, out + at);
    if (at == OW - L)
      return;
  }
}

void seqk_avgpool2d(const float *restrict x, float *restrict y, int64_t H,
                    int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                    int64_t PH, int64_t PW, int64_t OH, int64_t OW,
                    int32_t count_include_pad, int64_t p0, int64_t p1) {
  if (KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0 &&
      2 * OH <= H && 2 * OW <= W) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t oh = 0; oh < OH; ++oh) {
        const float *r0 = x + (p * H + 2 * oh) * W;
        float *out = y + (p * OH + oh) * OW;
        /* rows of 3 to 7 outputs (LeNet-5's second pool, 10x10 -> 5x5)
         * where the plane goes on far enough: 8 outputs from 16 floats of
         * each input row, the next rows' floats read but not used, and
         * stored whole, those past the row into the plane's next rows,
         * computed after (a task has whole planes); the last rows one
         * by one */
        if (OW < 8 && (OH - oh) * OW >= 8 && (H - 2 * oh - 1) * W >= 16) {
          avgpool2x2By8(r0, r0 + W, out);
          continue;
        }
        avgpoolRow2x2(r0, r0 + W, out, OW);
      }
    return;
  }
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      avgpoolRow(x + p * H * W, y + (p * OH + oh) * OW, oh, H, W, KH, KW, SH,
                 SW, PH, PW, OW, count_include_pad);
}

/* The mean of n floats, as PyTorch's global average pool (x.mean over
 * the plane: a vectorised sum, divided by n). Four vectors of partial
 * sums: a float sum in order is a chain of dependent adds (4 cycles per
 * float), this adds 64 floats per step at memory speed. */
SEQK_INLINE float planeMean(const float *restrict x, int64_t n) {
  seqkVec acc[4] = {{0}, {0}, {0}, {0}};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    SEQK_UNROLL
    for (int v = 0; v < 4; ++v)
      acc[v] = acc[v] + *(const seqkVecU *)(x + i + 16 * v);
  }
  for (; i + 16 <= n; i += 16)
    acc[0] = acc[0] + *(const seqkVecU *)(x + i);
  seqkVec s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  float lanes[16];
  *(seqkVecU *)lanes = s;
  SEQK_UNROLL
  for (int w = 8; w >= 1; w /= 2) {
    SEQK_UNROLL
    for (int l = 0; l < w; ++l)
      lanes[l] += lanes[l + w];
  }
  float tail = 0.0f;
  for (; i < n; ++i)
    tail += x[i];
  return (lanes[0] + tail) / (float)n;
}

/* Output i covers [floor(i*S/O), ceil((i+1)*S/O)); PyTorch sums the window
 * row by row and divides by its height, then by its width. The whole
 * plane (OH == OW == 1, which PyTorch computes as a mean) by planeMean. */
void seqk_adaptive_avgpool2d(const float *restrict x, float *restrict y,
                             int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int64_t p0, int64_t p1) {
  if (OH == 1 && OW == 1) {
    for (int64_t p = p0; p < p1; ++p)
      y[p] = planeMean(x + p * H * W, H * W);
    return;
  }
  for (int64_t p = p0; p < p1; ++p) {
    const float *restrict xp = x + p * H * W;
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t ih0 = oh * H / OH, ih1 = ((oh + 1) * H + OH - 1) / OH;
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t iw0 = ow * W / OW, iw1 = ((ow + 1) * W + OW - 1) / OW;
        float sum = 0.0f;
        for (int64_t ih = ih0; ih < ih1; ++ih)
          for (int64_t iw = iw0; iw < iw1; ++iw)
            sum += xp[ih * W + iw];
        y[(p * OH + oh) * OW + ow] = sum / (float)(ih1 - ih0) / (float)(iw1 - iw0);
      }
    }
  }
}

/* Adaptive max pooling over the windows of seqk_adaptive_avgpool2d, with
 * max pooling's NaN rule. */
void seqk_adaptive_maxpool2d(const float *restrict x, float *restrict y,
                             int64_t H, int64_t W, int64_t OH, int64_t OW,
                             int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const float *restrict xp = x + p * H * W;
    for (int64_t oh = 0; oh < OH; ++oh) {
      int64_t ih0 = oh * H / OH, ih1 = ((oh + 1) * H + OH - 1) / OH;
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t iw0 = ow * W / OW, iw1 = ((ow + 1) * W + OW - 1) / OW;
        float m = -__builtin_inff();
        for (int64_t ih = ih0; ih < ih1; ++ih)
          for (int64_t iw = iw0; iw < iw1; ++iw)
            m = maxTap(xp[ih * W + iw], m);
        y[(p * OH + oh) * OW + ow] = m;
      }
    }
  }
}
