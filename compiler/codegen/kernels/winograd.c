/* winograd.c: 3x3 convolutions of stride 1 by Winograd's minimal filtering
 * F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016).
 *
 * Each 2x2 block of outputs (a tile) reads a 4x4 patch d of the padded
 * input; with the weights of each (output, input) channel pair
 * transformed once, at load time, into U = G g G^T (seqrt's
 * SEQRT_PACK_WINOGRAD layout), the tile is
 *
 *   Y = A^T [ sum_c U[m, c] (.) (B^T d_c B) ] A
 *
 * 16 multiply-adds per tile and channel pair where the direct convolution
 * takes 36. The sum over channels is, for each of the 16 elements xi of a
 * transformed tile, a GEMM: M_xi [OC, T] = U_xi [OC, C] x V_xi [C, T],
 * computed by the pointwise convolution kernel (convpack.c) on panel-packed
 * U_xi, the transformed tiles V_xi standing for a plane of T positions.
 *
 *   B^T = | 1  0 -1  0 |   G = |  1    0    0  |   A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |       | 1/2  1/2  1/2 |         | 0  1 -1 -1 |
 *         | 0 -1  1  0 |       | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |       |  0    0    1  |
 *
 * The input and output transforms only add and subtract. The products
 * are those of the direct convolution regrouped, so outputs differ from
 * it by rounding alone (well within seqc's 1e-4 + 1e-4 |y| parity bound
 * for the channel counts it is used at), and a NaN in the input reaches
 * only the outputs whose window holds it: B^T's columns and A^T's rows
 * pair up so that each output reads exactly its 3x3 window. (An infinite
 * input is another matter: the transforms subtract, so an output of its
 * window may be NaN where the direct convolution gives +-inf.) */
#include "prefetch.h"
#include "seqk.h"
#include "tile.h"
#include "window.h"

#define WG_XI 16   /* elements of a transformed tile */
#define WG_LANES 16 /* tiles per vector */
#define WG_GROUP_TILE 14 /* the products' tile width for several images */

#define WG_EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define WG_ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#define WG_ZIP_LO 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define WG_ZIP_HI 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31

/* Stores the first n (<= 16) lanes of *v at dst, lane by lane from the
 * register when n < 16 (a copy through memory would reload parts of a
 * whole-vector store, which store forwarding cannot serve). By pointer: a
 * vector argument's ABI would depend on the target's features. */
SEQK_INLINE void wgStore(float *restrict dst, const seqkVec *v, int64_t n) {
  seqkVec x = *v;
  if (n >= WG_LANES) {
    *(seqkVecU *)dst = x;
    return;
  }
  SEQK_UNROLL
  for (int e = 0; e < WG_LANES; ++e)
    if (e < n)
      dst[e] = x[e];
}

/* The transformed tiles j0 .. j0+15 of a row of tiles of one channel:
 * tile j reads columns 2j .. 2j+3 of four padded input rows, columns 2j,
 * 2j+1 of row i at in[i][2j], and 2j+2, 2j+3 at in2[i][2j] (in[i] + 2
 * for a plain row; the row-packed strips keep them apart, see
 * wgPackRows). Element xi of tile j goes to v[xi * xiStride + j - j0],
 * all 16 lanes: past the row's last tile they hold garbage (up to 32
 * floats past in[i] + 2*j0 and in2[i] + 2*j0 are read) that the next
 * row's or channel's tiles overwrite, or that lands in the 16 floats after
 * each element's matrix. */
SEQK_INLINE void wgInputTiles(const float *const in[4],
                              const float *const in2[4], int64_t j0,
                              float *restrict v, int64_t xiStride) {
  seqkVec e[4][4];
  SEQK_UNROLL
  for (int i = 0; i < 4; ++i) {
    const float *p = in[i] + 2 * j0, *q = in2[i] + 2 * j0;
    seqkVec a = *(const seqkVecU *)p, b = *(const seqkVecU *)(p + 16);
    seqkVec c = *(const seqkVecU *)q, d = *(const seqkVecU *)(q + 16);
    seqkVec x0 = __builtin_shufflevector(a, b, WG_EVEN);
    seqkVec x1 = __builtin_shufflevector(a, b, WG_ODD);
    seqkVec x2 = __builtin_shufflevector(c, d, WG_EVEN);
    seqkVec x3 = __builtin_shufflevector(c, d, WG_ODD);
    e[i][0] = x0 - x2; /* d B, row by row */
    e[i][1] = x1 + x2;
    e[i][2] = x2 - x1;
    e[i][3] = x1 - x3;
  }
  SEQK_UNROLL
  for (int j = 0; j < 4; ++j) { /* B^T (d B), column by column */
    seqkVec col[4] = {e[0][j] - e[2][j], e[1][j] + e[2][j], e[2][j] - e[1][j],
                      e[1][j] - e[3][j]};
    SEQK_UNROLL
    for (int i = 0; i < 4; ++i)
      *(seqkVecU *)(v + (i * 4 + j) * xiStride) = col[i];
  }
}

/* The outputs of tiles j0 .. j0+15 of one channel, from its products m
 * (element xi of tile j at m[xi * xiStride + j]): out[r] holds their
 * output row r, 32 columns, tile j's two at 2(j - j0). */
SEQK_INLINE void wgOutputTiles(const float *restrict m, int64_t xiStride,
                               int64_t j0, seqkVec out[2][2]) {
  seqkVec t[2][4];
  SEQK_UNROLL
  for (int j = 0; j < 4; ++j) { /* A^T M, column by column */
    seqkVec m0 = *(const seqkVecU *)(m + (0 * 4 + j) * xiStride + j0);
    seqkVec m1 = *(const seqkVecU *)(m + (1 * 4 + j) * xiStride + j0);
    seqkVec m2 = *(const seqkVecU *)(m + (2 * 4 + j) * xiStride + j0);
    seqkVec m3 = *(const seqkVecU *)(m + (3 * 4 + j) * xiStride + j0);
    t[0][j] = m0 + m1 + m2;
    t[1][j] = m1 - m2 - m3;
  }
  SEQK_UNROLL
  for (int r = 0; r < 2; ++r) { /* (A^T M) A, row by row */
    seqkVec even = t[r][0] + t[r][1] + t[r][2];
    seqkVec odd = t[r][1] - t[r][2] - t[r][3];
    out[r][0] = __builtin_shufflevector(even, odd, WG_ZIP_LO);
    out[r][1] = __builtin_shufflevector(even, odd, WG_ZIP_HI);
  }
}

/* The first n (<= 32) outputs of a row, from its two vectors. */
SEQK_INLINE void wgStoreRow(float *restrict row, const seqkVec v[2],
                            int64_t n) {
  wgStore(row, &v[0], n);
  if (n > WG_LANES)
    wgStore(row + WG_LANES, &v[1], n - WG_LANES);
}

/* Output rows 2*row and 2*row + 1 (the second when below OH) of one
 * channel, from its products m (element xi of tile j at
 * m[xi * xiStride + j]) of the row of TWt tiles. */
SEQK_INLINE void wgOutputRow(const float *restrict m, int64_t xiStride,
                             int64_t TWt, float *restrict y, int64_t OW,
                             int both) {
  for (int64_t j0 = 0; j0 < TWt; j0 += WG_LANES) {
    seqkVec out[2][2];
    wgOutputTiles(m, xiStride, j0, out);
    int64_t n = seqkMin(2 * WG_LANES, OW - 2 * j0);
    /* the two rows written out, not as a loop of two with a break: in
     * some specialisations (112 x 112 planes) LLVM could not unroll that
     * loop and `seqc build` printed its warning */
    wgStoreRow(y + 2 * j0, out[0], n);
    if (both)
      wgStoreRow(y + OW + 2 * j0, out[1], n);
  }
}

/* Row packing. Unless a row of tiles fills whole vectors (a multiple of
 * 16 tiles), a block's tiles are transformed 16 at a time across its
 * rows, in the order of V's columns, instead of row by row: a row of 4
 * tiles filled a quarter of each vector, and the transforms were half of
 * the 64x64 ResNet's 8x8 layers; a row of 28 (56x56 planes), 7/8 of two,
 * and the VGG block is 2-3% faster packed. Each channel's padded rows are
 * first copied into four strips, where tile t = row*TWt + j finds its
 * columns at 2t: the even and the odd rows of the block (row 2s, 2s+1 at
 * 2*TWt*s), from column 0 and from column 2 (a row's last tile reads two
 * columns past 2*TWt). The products go back the same way, through two
 * strips of output rows, for rows of fewer than 16 tiles; longer rows are
 * written row by row, their last vector part empty (packed, ResNet-18's
 * build took 0.1 s longer for no measurable gain). (Rows of 16 tiles
 * packed as well: the 64x64 ResNet's 32x32 layers, the copies for
 * nothing, 1.4-2% slower.) */
SEQK_INLINE int wgRowPacked(int64_t TWt) { return TWt % WG_LANES != 0; }

/* Floats of one strip of a block of `rows` rows of TWt tiles. */
SEQK_INLINE int64_t wgStripFloats(int64_t TWt, int64_t rows) {
  return 2 * TWt * (rows + 1) + 2 * WG_LANES;
}

/* Copies n floats from src to dst in whole vectors: up to 15 past n are
 * read and written. */
SEQK_INLINE void wgCopyOver(float *restrict dst, const float *restrict src,
                            int64_t n) {
  for (int64_t k = 0; k < n; k += WG_LANES)
    *(seqkVecU *)(dst + k) = *(const seqkVecU *)(src + k);
}

/* The four strips of one channel's padded block xc (rows + 1 pairs of
 * rows of Wp floats) at strips, each wgStripFloats apart: strip k holds
 * row 2s + (k & 1) from column 2 (k >> 1) at 2*TWt*s; and the rows tile
 * row i reads, in[i] and in2[i] (wgInputTiles). Compiled once, not into
 * every specialisation of the kernel: inlined, ResNet-18's build took
 * 0.15 s longer (0.87 s without). */
static __attribute__((noinline)) void
wgPackRows(const float *restrict xc, int64_t Wp, int64_t TWt, int64_t rows,
           float *restrict strips, const float *in[4], const float *in2[4]) {
  const int64_t seg = 2 * TWt, stride = wgStripFloats(TWt, rows);
  SEQK_ROLLED
  for (int64_t s = 0; s <= rows; ++s)
    SEQK_UNROLL
    for (int k = 0; k < 4; ++k)
      wgCopyOver(strips + k * stride + s * seg,
                 xc + (2 * s + (k & 1)) * Wp + 2 * (k >> 1), seg);
  SEQK_UNROLL
  for (int i = 0; i < 4; ++i) {
    in[i] = strips + (i & 1) * stride + (i >> 1) * seg;
    in2[i] = in[i] + 2 * stride;
  }
}

/* Output rows [2*b0, min(2*b1, OH)) of one channel at y (OW floats a
 * row), from the products m of the block's T tiles, row-packed: through
 * two strips of output rows at st (the even rows, then the odd ones,
 * 2T + 32 floats each), copied out exactly. */
SEQK_INLINE void wgOutputPacked(const float *restrict m, int64_t xiStride,
                                int64_t T, int64_t TWt, int64_t b0,
                                int64_t b1, float *restrict y, int64_t OH,
                                int64_t OW, float *restrict st) {
  const int64_t stride = 2 * T + 2 * WG_LANES;
  SEQK_ROLLED
  for (int64_t j0 = 0; j0 < T; j0 += WG_LANES) {
    seqkVec out[2][2];
    wgOutputTiles(m, xiStride, j0, out);
    SEQK_UNROLL
    for (int r = 0; r < 2; ++r) {
      *(seqkVecU *)(st + r * stride + 2 * j0) = out[r][0];
      *(seqkVecU *)(st + r * stride + 2 * j0 + WG_LANES) = out[r][1];
    }
  }
  for (int64_t row = 2 * b0; row < seqkMin(OH, 2 * b1); ++row) {
    const float *src = st + (row & 1) * stride + (row / 2 - b0) * 2 * TWt;
    float *restrict dst = y + row * OW;
    for (int64_t k = 0; k < OW; ++k)
      dst[k] = src[k];
  }
}

void seqk_conv2d_winograd(const float *x, const float *u, float *y,
                          float *work, int64_t C, int64_t H, int64_t W,
                          int64_t top, int64_t left, int64_t OC, int64_t OH,
                          int64_t OW, int64_t blockRows, int64_t TW,
                          int64_t vStride, int64_t r0, int64_t r1, int64_t p0,
                          int64_t p1, seqk_epilogue epi, const void *env,
                          const void *xl, int64_t xlBytes, int64_t images) {
  const int64_t TWt = (OW + 1) / 2, Wp = 2 * TWt + 2;
  const int64_t xImage = C * H * W, yImage = OC * OH * OW;
  const int64_t uStride = (OC + SEQK_PANEL_WIDTH - 1) / SEQK_PANEL_WIDTH *
                          SEQK_PANEL_WIDTH * C;
  /* the block's input rows, zero-padded; then each element xi's matrix of
   * transformed tiles and at least 16 floats of spill; then the products */
  float *restrict xp = work;
  float *restrict V = work + C * (2 * blockRows + 2) * Wp + SEQK_CONV_SLACK;
  float *restrict M = V + WG_XI * vStride;
  /* row-packed blocks: the input strips, then the output strips */
  const int packed = wgRowPacked(TWt), packedOut = packed && TWt < WG_LANES;
  float *restrict strips =
      M + WG_XI * SEQK_PANEL_WIDTH * images * blockRows * TWt + WG_LANES;
  float *restrict ostrips = strips + 4 * wgStripFloats(TWt, blockRows);
  /* the next layer's weights (seqk_conv2d_packed's xl): a slice for each
   * product of each block and panel */
  const int64_t xlPieces = (r1 - r0 + blockRows - 1) / blockRows * (p1 - p0) * WG_XI;
  int64_t xlPiece = 0;
  for (int64_t b0 = r0; b0 < r1; b0 += blockRows) {
    /* an image's Tb tiles of the block, T of all the images; a channel's
     * row of V holds each image's in turn, then, for several images, 16
     * floats that the last one's spill may take (see below) */
    const int64_t b1 = seqkMin(r1, b0 + blockRows), Tb = (b1 - b0) * TWt;
    const int64_t T = images * Tb, Tr = images > 1 ? T + WG_LANES : T;
    /* the products' tile width: several images' tiles make long runs */
    const int64_t tw = images > 1 && T >= 2 * WG_GROUP_TILE ? WG_GROUP_TILE : TW;
    const int64_t rows = 2 * (b1 - b0) + 2, plane = rows * Wp;
    /* V[xi][c][t]: the block's transformed tiles, image by image, channel
     * by channel. A row-packed channel's last vector spills up to 15
     * floats past its image's tiles, onto those of the images after it
     * (transformed later) or the row's last 16 floats. */
    for (int64_t k = 0; k < images; ++k) {
      seqk_pad2d(x + k * xImage, xp, C, H, W, rows, Wp, top - 2 * b0, left, 0,
                 C);
      for (int64_t c = 0; c < C; ++c) {
        float *vc = V + c * Tr + k * Tb;
        if (packed) {
          const float *in[4], *in2[4];
          wgPackRows(xp + c * plane, Wp, TWt, b1 - b0, strips, in, in2);
          SEQK_ROLLED
          for (int64_t j0 = 0; j0 < Tb; j0 += WG_LANES)
            wgInputTiles(in, in2, j0, vc + j0, vStride);
          continue;
        }
        for (int64_t row = b0; row < b1; ++row) {
          const float *base = xp + c * plane + 2 * (row - b0) * Wp;
          const float *in[4] = {base, base + Wp, base + 2 * Wp, base + 3 * Wp};
          const float *in2[4] = {in[0] + 2, in[1] + 2, in[2] + 2, in[3] + 2};
          float *v = vc + (row - b0) * TWt;
          for (int64_t j0 = 0; j0 < TWt; j0 += WG_LANES)
            wgInputTiles(in, in2, j0, v + j0, vStride);
        }
      }
    }
    const int64_t oh0 = 2 * b0, oh1 = seqkMin(OH, 2 * b1);
    for (int64_t p = p0; p < p1; ++p) {
      /* M[xi][m][t] for the panel's 32 channels m, all images' tiles */
      for (int xi = 0; xi < WG_XI; ++xi, ++xlPiece) {
        int64_t lines;
        const char *at = xlSlice(xl, xlBytes / 64, xlPiece, xlPieces, &lines);
        seqk_conv2d_pointwise_rows(V + xi * vStride, u + xi * uStride,
                                   M + xi * SEQK_PANEL_WIDTH * T, T, C, Tr, OC,
                                   tw, p, 0, T, 0, 0, 0, at, lines * 64);
      }
      const int64_t m0 = p * SEQK_PANEL_WIDTH;
      const int64_t mr = seqkMin(SEQK_PANEL_WIDTH, OC - m0);
      for (int64_t m = 0; m < mr; ++m)
        for (int64_t k = 0; k < images; ++k) {
          const float *mk = M + m * T + k * Tb;
          float *yc = y + k * yImage + (m0 + m) * OH * OW;
          if (packedOut)
            wgOutputPacked(mk, SEQK_PANEL_WIDTH * T, Tb, TWt, b0, b1, yc, OH,
                           OW, ostrips);
          else
            for (int64_t row = b0; row < b1; ++row)
              wgOutputRow(mk + (row - b0) * TWt, SEQK_PANEL_WIDTH * T, TWt,
                          yc + 2 * row * OW, OW, 2 * row + 1 < OH);
          if (epi)
            epi(env, k * OC + m0 + m, oh0 * OW, yc + oh0 * OW, yc + oh0 * OW,
                (oh1 - oh0) * OW);
        }
    }
  }
}

int64_t seqk_conv2d_winograd_stride(int64_t C, int64_t OW, int64_t blockRows,
                                    int64_t images) {
  const int64_t T = images * blockRows * ((OW + 1) / 2);
  return C * (images > 1 ? T + WG_LANES : T) + WG_LANES;
}

int64_t seqk_conv2d_winograd_work(int64_t C, int64_t OW, int64_t blockRows,
                                  int64_t vStride, int64_t images) {
  const int64_t TWt = (OW + 1) / 2, Wp = 2 * TWt + 2;
  return C * (2 * blockRows + 2) * Wp + SEQK_CONV_SLACK + WG_XI * vStride +
         WG_XI * SEQK_PANEL_WIDTH * images * blockRows * TWt + WG_LANES +
         4 * wgStripFloats(TWt, blockRows) +
         2 * (2 * blockRows * TWt + 2 * WG_LANES);
}
