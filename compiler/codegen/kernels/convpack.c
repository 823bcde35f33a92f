/* convpack.c: the convolution on packed weights, output channels in the
 * vector lanes (seqk_conv2d_packed; the scheme of oneDNN's and MLAS's
 * direct convolutions, on NCHW activations).
 *
 * The weights [OC, C*KH*KW] are packed in panels of 32 output channels
 * (seqrt's SEQRT_PACK_PANELS layout): panel p is [C*KH*KW][32], so one
 * tap (c, kh, kw) of 32 output channels is two aligned vectors. A tile
 * is R output rows x TW output columns (R*TW <= 14 positions) of one
 * panel: 28 accumulators, one vector of 16 channels per position and
 * half-panel. Each tap loads the two weight vectors once and broadcasts
 * the input element of each position once, from the NCHW input (a
 * zero-padded copy when the convolution pads), so the inner loop is
 * 2 loads + R*TW broadcasts for 2*R*TW multiply-adds and any stride or
 * dilation reads the input in place. Every output sums its taps in the
 * order k = (c*KH + kh)*KW + kw, one multiply-add each, as
 * seqk_conv2d_direct and the GEMMs do.
 *
 * The finished tile is transposed in registers into the output planes
 * (one vector of positions per channel), and the epilogue runs on each
 * whole output row of each channel once all its tiles are stored (the row
 * is still in L1); a fused epilogue (seqk_fused: a pointwise
 * convolution's, or another's bias and curve on rows shorter than a
 * vector) is applied to the tile before it is stored instead.
 *
 * The tile shape (R, TW), the column stride SW (1 or 2) and the vectors
 * per position V (2, or 1 for a last panel of at most 16 channels) are
 * compile-time constants of one tile kernel per combination
 * (convRows_R_TW_SW_V, convPoint_TW_V: a tile's multiply-adds, its sums
 * loaded from and stored to memory), shared by every call of that
 * combination in a model and never inlined; the loops over tiles, blocks
 * and images and the tile's store (packedConvRows, packedPointRows) take
 * the shape at run time and are compiled once, whatever shapes a model
 * uses. The loops over channels and taps take the shapes at run time,
 * which costs nothing measurable and keeps a model with many convolutions
 * quick to build. The call's state and the tile's store are convpack.h's. */
#include <stdint.h>

#include "convpack.h"
#include "fused.h"
#include "prefetch.h"
#include "seqk.h"
#include "tile.h"
#include "window.h"

#define PREFETCH_AHEAD 32 /* floats: a pointwise tile's prefetch distance */

/* Channels [0, nc) of the tile of TW columns (and as many rows as it
 * has positions) whose top-left input element (tap 0 of its first
 * channel) is x0 (rowStep floats between its rows), at its n positions
 * g0 .. g0+n-1 (position q is row q / TW, column q % TW), added to acc:
 * acc[i][v] += the taps of channels 16v .. 16v+15 of the panel wp (at
 * that first channel) at position g0 + i, in order; and the nextLines
 * lines at `next` into L2, a share with each channel. A wide tile is all
 * its positions at once (g0 0, n R*TW), a narrow one a group of them, one
 * half-panel at a time (V 1, wp at the half). */
SEQK_INLINE void packedTile(const PackedConv *a, const float *restrict wp,
                            const float *restrict x0, int64_t rowStep,
                            int64_t nc, const char *next, int64_t nextLines,
                            seqkVec acc[16][2], int g0, int n, int TW, int SW,
                            int V, int PW) {
  /* PW: a 1x1 kernel, known here, so that the tap loops vanish and the
   * channel loop is the only one (it unrolls) */
  const int64_t plane = a->xPlane, KH = PW ? 1 : a->KH, KW = PW ? 1 : a->KW;
  const int64_t rowTap = a->DH * a->Wp, colTap = a->DW;
  const float *restrict wk = wp;
  const int64_t nextEach = xlPerCall(nextLines, nc);
  for (int64_t c = 0; c < nc; ++c) {
    xlPrefetch(&next, &nextLines, nextEach);
    /* a pointwise tile reads one run of each of its channels' planes, a
     * stream per channel, more than the hardware prefetcher follows: the
     * lines two tiles ahead, into L1 (MobileNetV2's projections, inputs
     * in L2 or L3: the model 5.22 -> 5.02 ms of CPU at batch 1) */
    if (PW && g0 == 0)
      __builtin_prefetch(x0 + c * plane + PREFETCH_AHEAD, 0, 3);
    for (int64_t kh = 0; kh < KH; ++kh) {
      const float *restrict xr = x0 + c * plane + kh * rowTap;
      for (int64_t kw = 0; kw < KW; ++kw, wk += PACK_W) {
        const float *restrict xk = xr + kw * colTap;
        seqkVec w0 = *(const seqkVecU *)wk, w1 = w0;
        if (V == 2)
          w1 = *(const seqkVecU *)(wk + 16);
        SEQK_UNROLL
        for (int i = 0; i < PACK_MAX_POS; ++i) {
          if (i >= n)
            break;
          const int q = g0 + i;
          float s = xk[q / TW * rowStep + q % TW * SW];
          acc[i][0] = acc[i][0] + s * w0;
          if (V == 2)
            acc[i][1] = acc[i][1] + s * w1;
        }
      }
    }
  }
}

/* Channel blocks: the 32-channel weights of a block's taps take at most
 * PACK_BLOCK_TAPS * 128 bytes (16 KB), so they stay in L1 while every
 * tile of a group (at most PACK_GROUP_TILES, whole rows of tiles) adds
 * the block's taps to its sums, kept in `part` between blocks. Storing and
 * reloading a sum is exact: each output still adds its taps in order. */
#define PACK_BLOCK_TAPS 128
/* Up to this many taps (20 KB of a panel's weights), all in one block:
 * no sums stored and reloaded (ResNet-18's 7x7 stem, 147 taps, took 2
 * blocks: 2.40 -> 2.32 ms alone at batch 1 on one thread). */
#define PACK_WHOLE_TAPS 160
#define PACK_GROUP_TILES 32
/* Pointwise blocks on planes of POINT_LONG_PLANE floats or more take
 * POINT_LONG_BLOCK channels: a tile reads a line of each channel and
 * prefetches two more, so 128 channels kept ~400 lines in flight beside
 * 256 of weights in a 768-line L1 (a 56x56 plane's lines in a quarter of
 * its sets). Warm, one thread: 256 -> 128 at 56x56, 1560 -> 1375 us;
 * 256 -> 64, 796 -> 693; at 28x28, 340 -> 312. Smaller planes: +-3%. */
#define POINT_LONG_PLANE 784
#define POINT_LONG_BLOCK 64
/* A narrow tile reads its block's weights and inputs six times (3 groups
 * of positions by 2 half-panels): on any plane, blocks of
 * POINT_LONG_BLOCK channels unless there are at most POINT_NARROW_WHOLE
 * (one Zen 3 core, warm, MobileNetV2's 160 -> 960 at 7 x 7 in one block
 * of 160, 55 -> 60 GFLOP/s; 960 -> 160, 80 -> 88; 96 -> 576 at 14 x 14
 * in blocks of 64, 87 -> 84) */
#define POINT_NARROW_WHOLE 96

/* A tile's sums: R*TW positions (at most PACK_MAX_POS) of V vectors. */
typedef seqkVec PackSums[PACK_MAX_POS][2];

/* The tile kernel of one (R, TW, SW, V, PW): packedTile on channels
 * [0, nc) added to the sums in `sums` (zero when `first`), which it
 * writes back. */
typedef void (*PackTileFn)(const PackedConv *a, const float *restrict wp,
                           const float *restrict x0, int64_t rowStep,
                           int64_t nc, const char *next, int64_t nextLines,
                           PackSums *sums, int first);

SEQK_INLINE void packedTileSums(const PackedConv *a, const float *restrict wp,
                                const float *restrict x0, int64_t rowStep,
                                int64_t nc, const char *next,
                                int64_t nextLines, PackSums *sums, int first,
                                int R, int TW, int SW, int V, int PW) {
#if SEQK_NARROW
  /* each half-panel in turn, the tile's positions in even groups of at
   * most NARROW_ACC (14: 4, 5, 5), each over all of the block's taps; the
   * next block's prefetch spread over the first group's */
  const int P = R * TW, groups = (P + NARROW_ACC - 1) / NARROW_ACC;
  SEQK_UNROLL
  for (int v = 0; v < V; ++v) {
    SEQK_UNROLL
    for (int g = 0; g < groups; ++g) {
      const int g0 = g * P / groups, n = (g + 1) * P / groups - g0;
      const int lead = v == 0 && g == 0;
      seqkVec acc[16][2];
      SEQK_UNROLL
      for (int i = 0; i < NARROW_ACC; ++i)
        acc[i][0] = first || i >= n ? (seqkVec){0} : (*sums)[g0 + i][v];
      packedTile(a, wp + 16 * v, x0, rowStep, nc, lead ? next : 0,
                 lead ? nextLines : 0, acc, g0, n, TW, SW, 1, PW);
      SEQK_UNROLL
      for (int i = 0; i < NARROW_ACC; ++i)
        if (i < n)
          (*sums)[g0 + i][v] = acc[i][0];
    }
  }
  return;
#endif
  seqkVec acc[16][2];
  SEQK_UNROLL
  for (int i = 0; i < 16; ++i) {
    SEQK_UNROLL
    for (int v = 0; v < V; ++v)
      acc[i][v] = first || i >= R * TW ? (seqkVec){0} : (*sums)[i][v];
  }
  packedTile(a, wp, x0, rowStep, nc, next, nextLines, acc, 0, R * TW, TW, SW,
             V, PW);
  SEQK_UNROLL
  for (int i = 0; i < R * TW; ++i) {
    SEQK_UNROLL
    for (int v = 0; v < V; ++v)
      (*sums)[i][v] = acc[i][v];
  }
}

/* Output rows [r0, r1) of panel p in each image: tiles of R rows (the
 * last one moved up to end at r1, its rows already stored skipped) by TW
 * columns (the last one of lastTW, by lastTile; of TW, it is moved left
 * to end at OW, its columns already stored skipped), then the
 * epilogue on each new row of each channel. Needs R <= OH and TW <= OW; a
 * tile computes rows outside [r0, r1) only to drop them. The groups of
 * tiles sharing a block of weights are rows of tiles of the images in
 * turn, so a group spans several images when one has few tiles.
 *
 * For every tile shape: the shape is a run-time value here, and each
 * tile is computed by `tile`, the kernel of its shape (only the
 * multiply-adds are specialised). A model's build compiles this once
 * (packedConvRows, packedPointRows) and each shape it uses only as its
 * tile kernel: with all of this in every shape, GoogLeNet's pooled
 * kernels took 0.98 s of CPU to compile, now 0.47. A tile's sums reach
 * its store through memory: up to 28 vectors stored and loaded again, per
 * tile, beside its multiply-adds (a block of up to 128 taps; the kernels'
 * times were the same within noise). */
SEQK_INLINE void packedRows(const PackedConv *a, int64_t p, int64_t r0,
                            int64_t r1, int R, int TW, int SW, int V, int PW,
                            PackTileFn tile, int lastTW, PackTileFn lastTile) {
  const int64_t taps = PW ? 1 : a->KH * a->KW, C = a->C, K = C * taps;
  const int64_t OW = a->OW, OHW = a->yPlane, plane = a->xPlane;
  const int64_t m0 = p * PACK_W, mr = seqkMin(PACK_W, a->OC - m0);
  const int64_t rowStep = a->SH * a->Wp;
  const float *restrict wp = a->w + p * K * PACK_W;
  float *restrict yp = a->y + p * a->yPanel;
  const int64_t colTiles = (OW + TW - 1) / TW, rowTiles = (r1 - r0 + R - 1) / R;
  const int64_t units = a->images * rowTiles; /* rows of tiles, all images */
  int64_t block = PW && plane >= POINT_LONG_PLANE ? POINT_LONG_BLOCK
                                                  : seqkMax(1, PACK_BLOCK_TAPS / taps);
  if (colTiles > PACK_GROUP_TILES || K <= PACK_WHOLE_TAPS)
    block = C;
#if SEQK_NARROW
  if (PW && colTiles <= PACK_GROUP_TILES)
    block = C <= POINT_NARROW_WHOLE ? C : POINT_LONG_BLOCK;
#endif
  const int64_t groupRows = seqkMax(1, PACK_GROUP_TILES / colTiles);
  PackSums part[PACK_GROUP_TILES];
  const char *xl = a->xl;
  int64_t xlLeft = a->xlLines;
  const int64_t xlEach = xlPerCall(a->xlLines, units * colTiles * ((C + block - 1) / block));
  for (int64_t g0 = 0; g0 < units; g0 += groupRows) {
    int64_t g1 = seqkMin(units, g0 + groupRows);
    for (int64_t c0 = 0; c0 < C; c0 += block) {
      int64_t nc = seqkMin(block, C - c0);
      int first = c0 == 0, last = c0 + nc == C;
      /* the next block's weights into L2 while this block's are read from
       * L1: a share of their lines per tile, which the tile spreads over
       * its channels. (At each tile's start instead, a burst of 36 lines
       * at a time waited on the L1 miss buffers: ResNet-18's 7x7 layers,
       * weights from L3, 6% slower, and the 64x64 ResNet's 4x4 layers,
       * 2 tiles a block, 5% slower; capped at 16 lines a tile, the rest
       * of the block came on demand.) */
      const int64_t groupTiles = (g1 - g0) * colTiles;
      /* In the last block of the panel's last group: the next panel's
       * first block, which follows this panel in memory (a panel of up to
       * PACK_WHOLE_TAPS taps is one block, whose first tile otherwise
       * waited for memory at batch 1: MobileNetV2's 160 -> 960 at 7 x 7,
       * 30 panels of 20 KB, 125 us with weights from memory, 76 warm;
       * with this and NextWeights' 1 MB, 82) */
      const int64_t panels = (a->OC + PACK_W - 1) / PACK_W;
      const int nextPanel = last && g1 == units && p + 1 < panels;
      const int64_t nextTaps =
          (last ? (nextPanel ? seqkMin(block, C) : 0) : seqkMin(block, C - c0 - nc)) * taps;
      const char *next = (const char *)(wp + (c0 + nc) * taps * PACK_W);
      const int64_t nextLines = nextTaps * PACK_W * 4 / 64;
      const int64_t linesPerTile = (nextLines + groupTiles - 1) / groupTiles;
      for (int64_t t = 0; t < groupTiles; ++t) {
        const int64_t tileLines = seqkMax(0, seqkMin(nextLines - t * linesPerTile, linesPerTile));
        int64_t unit = g0 + t / colTiles, image = unit / rowTiles;
        int64_t oh = r0 + unit % rowTiles * R, ow = t % colTiles * TW;
        const int lastCol = t % colTiles == colTiles - 1;
        const int tw = lastCol ? lastTW : TW;
        int64_t top = seqkMax(0, seqkMin(oh, r1 - R)), left = seqkMin(ow, OW - tw);
        xlPrefetch(&xl, &xlLeft, xlEach);
        if (last && PW) /* one row, one image: top and image are 0 */
          prefetchTileStores(yp, OHW, left, mr, tw);
        /* one block: the sums go straight to the store, through part[0]
         * (there may be more than PACK_GROUP_TILES tiles then) */
        PackSums *sums = &part[first && last ? 0 : t];
        (lastCol ? lastTile : tile)(a, wp + c0 * taps * PACK_W,
             a->x + image * a->xImage + c0 * plane + top * rowStep + left * SW,
             rowStep, nc, next + t * linesPerTile * 64, tileLines, sums, first);
        if (!last)
          continue;
        storeTile(a, *sums, yp + image * a->yImage, m0, image * a->OC + m0,
                  top, left, oh - top, seqkMin(top + R, r1) - top, r1,
                  ow - left, mr, R, tw, V, PW);
      }
    }
    if (!a->epi)
      continue;
    /* in each image, the group's rows of a channel are one contiguous run */
    for (int64_t image = g0 / rowTiles; image * rowTiles < g1; ++image) {
      int64_t u0 = seqkMax(g0 - image * rowTiles, 0);
      int64_t u1 = seqkMin(g1 - image * rowTiles, rowTiles);
      int64_t rs = r0 + u0 * R, re = seqkMin(r1, r0 + u1 * R);
      for (int64_t m = 0; m < mr; ++m) {
        float *run = yp + image * a->yImage + m * OHW + rs * OW;
        a->epi(a->env, image * a->OC + m0 + m, a->col0 + rs * OW, run, run,
               (re - rs) * OW);
      }
    }
  }
}

/* packedRows of any convolution, and of a pointwise one (PW), each
 * compiled once. */
static __attribute__((noinline)) void packedConvRows(
    const PackedConv *a, int64_t p, int64_t r0, int64_t r1, int R, int TW,
    int SW, int V, PackTileFn tile) {
  packedRows(a, p, r0, r1, R, TW, SW, V, 0, tile, TW, tile);
}
static __attribute__((noinline)) void packedPointRows(const PackedConv *a,
                                                      int64_t p, int TW, int V,
                                                      PackTileFn tile,
                                                      int lastTW,
                                                      PackTileFn lastTile) {
  packedRows(a, p, 0, 1, 1, TW, 1, V, 1, tile, lastTW, lastTile);
}

/* One tile kernel per (R, TW, SW, V), never inlined (see the top). */
#define PACKED_VARIANT(R, TW, SW, V)                                         \
  static __attribute__((noinline)) void convRows_##R##_##TW##_##SW##_##V(    \
      const PackedConv *a, const float *restrict wp,                         \
      const float *restrict x0, int64_t rowStep, int64_t nc,                 \
      const char *next, int64_t nextLines, PackSums *sums, int first) {      \
    packedTileSums(a, wp, x0, rowStep, nc, next, nextLines, sums, first, R,  \
                   TW, SW, V, 0);                                            \
  }
#define PACKED_VARIANTS(R, TW)                                               \
  PACKED_VARIANT(R, TW, 1, 1)                                                \
  PACKED_VARIANT(R, TW, 1, 2)                                                \
  PACKED_VARIANT(R, TW, 2, 1)                                                \
  PACKED_VARIANT(R, TW, 2, 2)
/* The tile shapes: R*TW <= 14, R <= 3. */
#define PACKED_SHAPES(X)                                                     \
  X(1, 1) X(1, 2) X(1, 3) X(1, 4) X(1, 5) X(1, 6) X(1, 7) X(1, 8) X(1, 9)    \
  X(1, 10) X(1, 11) X(1, 12) X(1, 13) X(1, 14) X(2, 2) X(2, 3) X(2, 4)       \
  X(2, 5) X(2, 6) X(2, 7) X(3, 2) X(3, 3) X(3, 4)
PACKED_SHAPES(PACKED_VARIANTS)

#define PACKED_CASE(R, TW)                                                   \
  case (R) * 16 + (TW):                                                      \
    packedConvRows(a, p, r0, r1, R, TW, (int)SW, V,                            \
               SW == 1 ? (V == 2 ? convRows_##R##_##TW##_1_2                 \
                                 : convRows_##R##_##TW##_1_1)                \
                       : (V == 2 ? convRows_##R##_##TW##_2_2                 \
                                 : convRows_##R##_##TW##_2_1));              \
    return 1;

/* Vectors per position of panel p of OC output channels: every panel but
 * the last is full; the last is 2 vectors unless it has 16 channels or
 * fewer (a constant once OC is). */
SEQK_INLINE int panelVectors(int64_t OC, int64_t p) {
  int64_t last = (OC - 1) / PACK_W, tail = OC - last * PACK_W;
  return p < last || tail > 16 ? 2 : 1;
}

/* Runs the variant of (R, TW, SW, V); 0 when there is none. */
SEQK_INLINE int packedDispatch(const PackedConv *a, int64_t p, int64_t r0,
                               int64_t r1, int64_t R, int64_t TW, int64_t SW,
                               int V) {
  switch (R * 16 + TW) {
    PACKED_SHAPES(PACKED_CASE)
  default: return 0;
  }
}

int seqk_conv2d_packed_supports(int64_t R, int64_t TW, int64_t SW) {
  if (SW != 1 && SW != 2)
    return 0;
  switch (R * 16 + TW) {
#define PACKED_SUPPORTED(R_, TW_) case (R_) * 16 + (TW_): return 1;
    PACKED_SHAPES(PACKED_SUPPORTED)
#undef PACKED_SUPPORTED
  default: return 0;
  }
}

void seqk_conv2d_packed_images(const float *x, int64_t xImage,
                               const float *w, float *y, int64_t yImage,
                               int64_t images, int64_t C, int64_t Hp,
                               int64_t Wp, int64_t KH, int64_t KW, int64_t SH,
                               int64_t SW, int64_t DH, int64_t DW, int64_t OC,
                               int64_t OH, int64_t OW, int64_t R, int64_t TW,
                               int64_t p0, int64_t p1, int64_t r0, int64_t r1,
                               seqk_epilogue epi, const void *env,
                               const seqk_fused *fused, const void *xl,
                               int64_t xlBytes) {
  PackedConv a = {.x = x, .w = w, .y = y, .C = C, .Hp = Hp, .Wp = Wp,
                  .KH = KH, .KW = KW, .SH = SH, .DH = DH, .DW = DW, .OC = OC,
                  .OH = OH, .OW = OW, .xPlane = Hp * Wp, .yPlane = OH * OW,
                  .col0 = 0, .yPanel = PACK_W * OH * OW, .images = images,
                  .xImage = xImage, .yImage = yImage, .epi = epi, .env = env,
                  .fused = fused};
  if (C * KH * KW <= SEQK_LANES_CONV_MAX_TAPS && OW >= 16 && (SW == 1 || SW == 2) &&
      seqk_conv2d_packed_lanes(x, xImage, w, y, yImage, images, C, Hp, Wp,
                               KH, KW, SH, SW, DH, DW, OC, OH, OW, p0, p1, r0,
                               r1, epi, env, fused))
    return;
  for (int64_t p = p0; p < p1; ++p) {
    a.xl = xlSlice(xl, xlBytes / 64, p - p0, p1 - p0, &a.xlLines);
    packedDispatch(&a, p, r0, r1, R, TW, SW, panelVectors(OC, p));
  }
}

void seqk_conv2d_packed(const float *x, const float *w, float *y, int64_t C,
                        int64_t Hp, int64_t Wp, int64_t KH, int64_t KW,
                        int64_t SH, int64_t SW, int64_t DH, int64_t DW,
                        int64_t OC, int64_t OH, int64_t OW, int64_t R,
                        int64_t TW, int64_t p0, int64_t p1, int64_t r0,
                        int64_t r1, seqk_epilogue epi, const void *env,
                        const seqk_fused *fused, const void *xl,
                        int64_t xlBytes) {
  seqk_conv2d_packed_images(x, 0, w, y, 0, 1, C, Hp, Wp, KH, KW, SH, SW, DH,
                            DW, OC, OH, OW, R, TW, p0, p1, r0, r1, epi, env,
                            fused, xl, xlBytes);
}

/* ---- Pointwise: a 1x1 convolution of stride 1 without padding ----------
 *
 * Its output position p reads only input position p, so a run of
 * positions [q0, q1) of the plane, across output rows, is a one-row
 * image of q1 - q0 columns whose channel planes are HW floats apart:
 * tiles of TW consecutive positions whatever the plane's width (a 7 x 7
 * plane is 3 tiles of 14 and one of 7, not 7 tiles of 7), and the
 * epilogue runs once per channel on the whole run. The tile variants know
 * the kernel is 1x1 (convPoint_TW_V). */
#define POINT_VARIANT(TW, V)                                                 \
  static __attribute__((noinline)) void convPoint_##TW##_##V(                \
      const PackedConv *a, const float *restrict wp,                         \
      const float *restrict x0, int64_t rowStep, int64_t nc,                 \
      const char *next, int64_t nextLines, PackSums *sums, int first) {      \
    packedTileSums(a, wp, x0, rowStep, nc, next, nextLines, sums, first, 1,  \
                   TW, 1, V, 1);                                             \
  }
#define POINT_VARIANTS(TW) POINT_VARIANT(TW, 1) POINT_VARIANT(TW, 2)
#define POINT_WIDTHS(X)                                                      \
  X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)
POINT_WIDTHS(POINT_VARIANTS)

#define POINT_TILE_CASE(TW)                                                  \
  case TW:                                                                   \
    return V == 2 ? convPoint_##TW##_2 : convPoint_##TW##_1;

/* The tile kernel of width TW (a constant where the caller's is: the
 * other widths are then not compiled). */
SEQK_INLINE PackTileFn pointTile(int64_t TW, int V) {
  switch (TW) {
    POINT_WIDTHS(POINT_TILE_CASE)
  default: return 0;
  }
}

/* Tiles of TW positions, the run's last one of lastTW when that is what
 * the run leaves past its whole tiles (49 positions in tiles of 13: 13,
 * 13, 13 and 10), else of TW moved left to end with the run (its first
 * positions computed again, the same values). Each tile kernel is looked
 * up with a constant (the caller's): a width chosen at run time would
 * make the lookup a table of all 14, all compiled. */
SEQK_INLINE void pointDispatch(const PackedConv *a, int64_t p, int64_t TW,
                               int64_t lastTW, int V) {
  PackTileFn tile = pointTile(TW, V), rest = pointTile(lastTW, V);
  const int useRest = rest && a->OW % TW == lastTW;
  if (!tile)
    return;
  packedPointRows(a, p, (int)TW, V, tile, useRest ? (int)lastTW : (int)TW,
                  useRest ? rest : tile);
}

/* Panel p of the run in a: positions in the lanes where
 * seqk_pointwise_lanes_fits says so (pointlanes.c), else output channels
 * (the tiles of packedPointRows, of width TW, the last of lastTW:
 * pointDispatch). */
SEQK_INLINE void pointPanel(const PackedConv *a, int64_t p, int64_t TW,
                            int64_t lastTW, int V) {
  if (seqk_pointwise_lanes_fits(a, p))
    seqk_pointwise_lanes(a, p);
  else
    pointDispatch(a, p, TW, lastTW, V);
}

void seqk_conv2d_pointwise(const float *x, const float *w, float *y,
                           int64_t C, int64_t HW, int64_t OC, int64_t TW,
                           int64_t lastTW, int64_t p0, int64_t p1, int64_t q0,
                           int64_t q1, seqk_epilogue epi, const void *env,
                           const seqk_fused *fused, const void *xl,
                           int64_t xlBytes) {
  int64_t n = q1 - q0;
  PackedConv a = {.x = x + q0, .w = w, .y = y + q0, .C = C, .Hp = 1,
                  .Wp = n, .KH = 1, .KW = 1, .SH = 1, .DH = 1, .DW = 1,
                  .OC = OC, .OH = 1, .OW = n, .xPlane = HW, .yPlane = HW,
                  .col0 = q0, .yPanel = PACK_W * HW, .images = 1, .xImage = 0,
                  .yImage = 0, .epi = epi, .env = env, .fused = fused};
  for (int64_t p = p0; p < p1; ++p) {
    a.xl = xlSlice(xl, xlBytes / 64, p - p0, p1 - p0, &a.xlLines);
    pointPanel(&a, p, TW, lastTW, panelVectors(OC, p));
  }
}

void seqk_conv2d_pointwise_rows(const float *x, const float *w, float *y,
                                int64_t yPlane, int64_t C, int64_t HW,
                                int64_t OC, int64_t TW, int64_t p, int64_t q0,
                                int64_t q1, seqk_epilogue epi,
                                const void *env, const seqk_fused *fused,
                                const void *xl, int64_t xlBytes) {
  int64_t n = q1 - q0;
  PackedConv a = {.x = x + q0, .w = w, .y = y, .C = C, .Hp = 1, .Wp = n,
                  .KH = 1, .KW = 1, .SH = 1, .DH = 1, .DW = 1, .OC = OC,
                  .OH = 1, .OW = n, .xPlane = HW, .yPlane = yPlane,
                  .col0 = q0, .yPanel = 0, .images = 1, .xImage = 0, .yImage = 0,
                  .epi = epi, .env = env, .fused = fused,
                  .xl = xl, .xlLines = xlBytes / 64};
  pointPanel(&a, p, TW, TW, panelVectors(OC, p));
}
