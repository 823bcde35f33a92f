/* seqk.h: the kernel library that seqc's generated code calls.
 *
 * The kernels are plain C, compiled by clang into LLVM bitcode for each
 * supported target architecture and embedded in seqc. The code generator
 * links that bitcode into every model's module, calls the kernels with the
 * op's shapes as constants, and runs the O3 pipeline: after inlining, every
 * loop bound is a constant (the code generator marks every kernel
 * always-inline and internal after linking; the C source needs no
 * attributes for it), and LLVM unrolls and vectorises for the target
 * CPU. So the kernels are written for the vectoriser: contiguous innermost
 * loops, no aliasing surprises (restrict), no libm calls, no allocation.
 *
 * Conventions:
 *  - all sizes and indices are int64_t; tensors are float32, row-major;
 *  - every kernel works on a sub-range [begin, end) of its outermost
 *    parallel dimension, so the generated code can split it over threads;
 *  - kernels that produce a tensor call an epilogue on each contiguous run
 *    of outputs they finish, while the run is still in L1: the generated
 *    code applies bias, folded BatchNorm, activations and residual additions
 *    there, so no intermediate tensor is written for them.
 *  - math functions are accurate to float32 over their whole range and
 *    propagate NaN and Inf as PyTorch does.
 */
#ifndef SEQK_H
#define SEQK_H

#include <stdint.h>

/* Applied to `n` contiguous outputs: reads src[0..n), writes dst[0..n)
 * (src and dst may be equal). The run is row `row`, columns [col, col+n)
 * of the kernel's output as documented per kernel. `env` is the generated
 * code's per-call state. */
typedef void (*seqk_epilogue)(const void *env, int64_t row, int64_t col,
                              const float *src, float *dst, int64_t n);

/* The common epilogue of a convolution as data, which the packed
 * convolution kernels apply in registers, before a tile's outputs are
 * first stored, instead of calling an epilogue on them afterwards: for
 * output channel m at the element an epilogue would number (row, col),
 *   x += bias[m]                                   (bias not NULL)
 *   x += add[(rowBase + row) * rowStride + col]    (add not NULL)
 *   x = act(x)
 * with the scalar kernels below (seqk_reluf, seqk_hardtanhf(x, lo, hi),
 * seqk_siluf, seqk_hardswishf, seqk_tanhf), so the outputs are the bits a generated
 * epilogue of the same ops gives. A kernel given one takes epi NULL. */
enum {
  SEQK_ACT_NONE,
  SEQK_ACT_RELU,
  SEQK_ACT_HARDTANH, /* ReLU6 too: lo 0, hi 6 */
  SEQK_ACT_SILU,
  SEQK_ACT_HARDSWISH,
  SEQK_ACT_TANH
};
typedef struct {
  const float *bias;
  const float *add;
  int64_t rowBase, rowStride;
  int32_t act;
  float lo, hi;
} seqk_fused;

/* ---- GEMM ---------------------------------------------------------- */

/* C[m, n] = sum_k A[m, k] * B[k, n] for m in [m0, m1), n in [n0, n1);
 * A is M x K with row stride lda, B is K x N with row stride ldb, C is
 * M x N with row stride ldc. Then epi(env, m, n, &C[m*ldc+n], &C[m*ldc+n],
 * len) on each finished run of each row (epi may be NULL). */
void seqk_gemm(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
               const float *B, int64_t ldb, float *C, int64_t ldc,
               int64_t m0, int64_t m1, int64_t n0, int64_t n1,
               seqk_epilogue epi, const void *env);

/* Linear weights are packed once, at load time, in panels of
 * SEQK_PANEL_WIDTH columns: panel p holds columns [p*W, p*W + W) of the
 * K x N matrix B row after row (K*W floats), the last panel zero-padded;
 * ceil(N / W) * W * K floats in all. (seqrt's SEQRT_PACK_PANELS layout.) */
#define SEQK_PANEL_WIDTH 32

/* seqk_gemm with B in that packed layout; n0 must be a multiple of
 * SEQK_PANEL_WIDTH (n1 need not be). */
void seqk_gemm_packed(int64_t M, int64_t N, int64_t K, const float *A,
                      int64_t lda, const float *Bp, float *C, int64_t ldc,
                      int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      seqk_epilogue epi, const void *env);

/* seqk_gemm_packed for weights too large for the caches (K * N floats of
 * SEQK_STREAM_BYTES or more): the same results, bit for bit, with the
 * work ordered for weights streamed from memory. */
#define SEQK_STREAM_BYTES (32 << 20)
void seqk_gemm_packed_stream(int64_t M, int64_t N, int64_t K, const float *A,
                             int64_t lda, const float *Bp, float *C,
                             int64_t ldc, int64_t m0, int64_t m1, int64_t n0,
                             int64_t n1, seqk_epilogue epi, const void *env);

/* ---- Convolution helpers --------------------------------------------- */

/* im2col for one image and one group: x is [C, H, W]; col is
 * [C*KH*KW, OH*OW] (row (c*KH + kh)*KW + kw, column oh*OW + ow); zero
 * where the window falls in the padding. Rows [r0, r1) only. */
void seqk_im2col(const float *x, int64_t C, int64_t H, int64_t W,
                 int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                 int64_t PH, int64_t PW, int64_t DH, int64_t DW,
                 int64_t OH, int64_t OW, float *col, int64_t r0, int64_t r1);

/* Conv2d of one image and one group as a GEMM whose B, im2col(x), is
 * gathered block by block into the GEMM's packed panels, never stored:
 * x is the group's input [C, H, W] (C = its channels), w its weights
 * [OCg, C*KH*KW], y its output [OCg, OH*OW]. Computes y[m, p] for output
 * channels m in [m0, m1) and positions p in [n0, n1), then epi as
 * seqk_gemm does (row m, column p), once every sum is complete. */
void seqk_conv2d_gemm(const float *x, const float *w, float *y, int64_t C,
                      int64_t H, int64_t W, int64_t KH, int64_t KW,
                      int64_t SH, int64_t SW, int64_t PH, int64_t PW,
                      int64_t DH, int64_t DW, int64_t OH, int64_t OW,
                      int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      seqk_epilogue epi, const void *env);

/* Floats a padded image needs after its last plane (read, never used,
 * by the last tile of seqk_conv2d_direct). */
#define SEQK_CONV_SLACK 64

/* xp [C, Hp, Wp] = x [C, H, W] zero-padded, the image at row `top` and
 * column `left`, for channels [c0, c1); the task with c1 == C also zeroes
 * the SEQK_CONV_SLACK floats after the last plane. */
void seqk_pad2d(const float *x, float *xp, int64_t C, int64_t H, int64_t W,
                int64_t Hp, int64_t Wp, int64_t top, int64_t left,
                int64_t c0, int64_t c1);

/* seqk_pad2d with each padded row stored column-phased: its even columns
 * (2j at j), then its odd ones (2j + 1 at (Wp + 1) / 2 + j), for
 * seqk_conv2d_packed_lanes with SW = SEQK_LANES_PHASED; padded rows of at
 * most SEQK_PHASED_ROW_MAX floats (it traps beyond). */
#define SEQK_PHASED_ROW_MAX 2048
void seqk_pad2d_phased(const float *x, float *xp, int64_t C, int64_t H,
                       int64_t W, int64_t Hp, int64_t Wp, int64_t top,
                       int64_t left, int64_t c0, int64_t c1);

/* Conv2d of stride 1 of one image and one group, on its zero-padded
 * input xp [C, Hp, Wp] (Hp = OH + (KH-1)*DH, Wp = OW + (KW-1)*DW, the
 * SEQK_CONV_SLACK floats after it readable), weights w [OCg, C*KH*KW],
 * output y [OCg, OH*OW]. Computes output channels [m0, m1) at the padded
 * positions q = oh*Wp + ow in [q0, q1) (q1 clipped to (OH-1)*Wp + OW;
 * those with ow >= OW are skipped), then epi as seqk_gemm does (row m,
 * column oh*OW + ow) on each run of one output row. */
void seqk_conv2d_direct(const float *xp, const float *w, float *y, int64_t C,
                        int64_t Hp, int64_t Wp, int64_t KH, int64_t KW,
                        int64_t DH, int64_t DW, int64_t OH, int64_t OW,
                        int64_t m0, int64_t m1, int64_t q0, int64_t q1,
                        seqk_epilogue epi, const void *env);

/* Conv2d of one image and one group on packed weights (convpack.c): x
 * the input [C, Hp, Wp] (zero-padded when the convolution pads: output
 * (oh, ow) reads x[c, oh*SH + kh*DH, ow*SW + kw*DW]), w the weights
 * [OC, C*KH*KW] in panels of SEQK_PANEL_WIDTH output channels (the
 * layout of seqk_gemm_packed's B), y the output [OC, OH, OW]. Computes
 * panels [p0, p1) (output channels [32*p0, min(32*p1, OC))) on output
 * rows [r0, r1), in tiles of R rows x TW columns (R <= OH, TW <= OW, a
 * shape seqk_conv2d_packed_supports), then epi(env, m, oh*OW, row, row,
 * OW) on each finished output row of channel m; or, with epi NULL, `fused`
 * (NULL: none; its bias and activation only, add NULL) on each tile's
 * vectors before they are stored. Meanwhile it prefetches
 * the xlBytes from xl (NULL, 0: none) into the caches, a few lines
 * before each tile, shared evenly among its panels: the compiler gives
 * each task a slice of the next layer's weights (codegen's NextWeights).
 * The pointwise and Winograd kernels below take xl the same way. */
void seqk_conv2d_packed(const float *x, const float *w, float *y, int64_t C,
                        int64_t Hp, int64_t Wp, int64_t KH, int64_t KW,
                        int64_t SH, int64_t SW, int64_t DH, int64_t DW,
                        int64_t OC, int64_t OH, int64_t OW, int64_t R,
                        int64_t TW, int64_t p0, int64_t p1, int64_t r0,
                        int64_t r1, seqk_epilogue epi, const void *env,
                        const seqk_fused *fused, const void *xl,
                        int64_t xlBytes);
/* The same on `images` images at once: image i's input at x + i*xImage,
 * its output at y + i*yImage, and epi(env, i*OC + m, ...) on its rows. The
 * tiles of several small images share each block of weights while it is
 * in L1, so the weights are read once per call, not once per image. */
void seqk_conv2d_packed_images(const float *x, int64_t xImage,
                               const float *w, float *y, int64_t yImage,
                               int64_t images, int64_t C, int64_t Hp,
                               int64_t Wp, int64_t KH, int64_t KW, int64_t SH,
                               int64_t SW, int64_t DH, int64_t DW, int64_t OC,
                               int64_t OH, int64_t OW, int64_t R, int64_t TW,
                               int64_t p0, int64_t p1, int64_t r0, int64_t r1,
                               seqk_epilogue epi, const void *env,
                               const seqk_fused *fused, const void *xl,
                               int64_t xlBytes);
/* The packed convolution with output positions in the lanes (convlanes.c):
 * seqk_conv2d_packed_images takes it for a convolution of few taps
 * (C*KH*KW <= SEQK_LANES_CONV_MAX_TAPS, a network's stem), a row of 16
 * outputs or more and a column stride of 1 or 2; the compiler calls it
 * itself where it knows the shapes suit it, with the epilogue in register
 * form (fused, applied to each vector before it is stored; epi and env
 * NULL) where it has one, and also, whatever the taps:
 * - for one group of a grouped convolution of 1, 2, 4 or 8 output
 *   channels a group (ResNeXt's and RegNet's), w at the group's first lane
 *   of its panel, OC its channels; at stride 1 rows shorter than 16 too
 *   (on the padded width's grid, (OH - 1) * Wp + OW >= 16);
 * - with SW = SEQK_LANES_PHASED: column stride 2 on an input padded by
 *   seqk_pad2d_phased (each padded row's even columns, then its odd ones
 *   from (Wp + 1) / 2 on), so that a tap reads 16 outputs' inputs in one
 *   load.
 * The same outputs, the same bits; then returns 1. Otherwise returns 0
 * and does nothing. */
#define SEQK_LANES_CONV_MAX_TAPS 64
#define SEQK_LANES_PHASED 3
int seqk_conv2d_packed_lanes(const float *x, int64_t xImage, const float *w,
                             float *y, int64_t yImage, int64_t images,
                             int64_t C, int64_t Hp, int64_t Wp, int64_t KH,
                             int64_t KW, int64_t SH, int64_t SW, int64_t DH,
                             int64_t DW, int64_t OC, int64_t OH, int64_t OW,
                             int64_t p0, int64_t p1, int64_t r0, int64_t r1,
                             seqk_epilogue epi, const void *env,
                             const seqk_fused *fused);
/* Input channels up to which seqk_conv2d_pointwise puts positions in the
 * lanes on a run of at least SEQK_POINT_LANES_RUN positions, in blocks
 * of SEQK_POINT_LANES_BLOCK (with 64 or fewer, on any run of 16 or
 * more; with any number, on a run of SEQK_POINT_LANES_ANY_C_RUN or more):
 * the compiler cuts such a layer's plane into runs at multiples of the
 * block, so that only the last run has a part block. */
#define SEQK_POINT_LANES_MAX_C 128
#define SEQK_POINT_LANES_ANY_RUN_MAX_C 64
#define SEQK_POINT_LANES_RUN 192
#define SEQK_POINT_LANES_ANY_C_RUN 384
#define SEQK_POINT_LANES_BLOCK 48
/* Above this many input channels, a run shorter than
 * SEQK_POINT_LANES_RUN takes output channels in the lanes (tiles of TW
 * positions) whatever its panel, and one shorter than
 * SEQK_POINT_LANES_ANY_C_RUN too unless its panel is a last one of 8 or
 * 24 channels (half a vector short: positions in the lanes, on any run
 * with up to this many input channels). */
#define SEQK_POINT_LANES_PARTIAL_MAX_C 160
/* A pointwise convolution (1x1, stride 1, no padding, one group) of one
 * image on the same packed weights: x [C, HW], y [OC, HW]. Computes
 * panels [p0, p1) at positions [q0, q1) (at least TW of them, TW <= 14)
 * in tiles of TW consecutive positions, the last of lastTW when that is
 * (q1 - q0) % TW, else of TW moved left to end at q1 (or, with few
 * input channels or on long runs, of 8 channels x 16 to 48 positions:
 * see SEQK_POINT_LANES_MAX_C), then epi(env, m, q, run, run, n) on
 * runs of each channel m's positions, each position once; or, with epi
 * NULL, `fused` (NULL: none) on each tile before it is stored, its rows
 * and columns numbered as for epi. */
void seqk_conv2d_pointwise(const float *x, const float *w, float *y,
                           int64_t C, int64_t HW, int64_t OC, int64_t TW,
                           int64_t lastTW, int64_t p0, int64_t p1, int64_t q0,
                           int64_t q1, seqk_epilogue epi, const void *env,
                           const seqk_fused *fused, const void *xl,
                           int64_t xlBytes);
/* Panel p alone of the same at positions [q0, q1) (at least TW), into a
 * buffer of its own: output channel 32p + m at position q goes to
 * y[m * yPlane + q - q0] (yPlane >= q1 - q0), then epi(env, 32p + m, q,
 * run, run, n) on runs of each channel's positions, each position once
 * (q the run's first position). A fused expansion convolution
 * computes the rows its depthwise convolution reads this way. */
void seqk_conv2d_pointwise_rows(const float *x, const float *w, float *y,
                                int64_t yPlane, int64_t C, int64_t HW,
                                int64_t OC, int64_t TW, int64_t p, int64_t q0,
                                int64_t q1, seqk_epilogue epi,
                                const void *env, const seqk_fused *fused,
                                const void *xl, int64_t xlBytes);
/* A 3x3 convolution of stride 1 and dilation 1 by Winograd's F(2x2, 3x3)
 * (winograd.c), one image: x [C, H, W], padded by `top` rows and `left`
 * columns (and zeros below and right of it as far as the tiles reach);
 * u holds the weights in seqrt's SEQRT_PACK_WINOGRAD layout: for each of
 * the 16 elements of a transformed tile, the [OC, C] matrix in panels of
 * SEQK_PANEL_WIDTH output channels. Computes the rows of 2x2 output tiles
 * [r0, r1) (output rows [2*r0, min(2*r1, OH))) for the panels [p0, p1),
 * blockRows rows of tiles at a time (TW: the pointwise tile width for the
 * fewest tiles a block has, see seqk_conv2d_pointwise), in `work`
 * (seqk_conv2d_winograd_work floats): the block's padded input rows, its
 * transformed tiles (each element's matrix vStride floats after the
 * previous one's, vStride >= seqk_conv2d_winograd_stride), the products.
 * y [OC, OH*OW]; epi(env, m, oh*OW, run, run, n) on each channel's rows
 * of a block once they are done. With `images` > 1, the same for that
 * many consecutive images (x and y advancing by an image), each block's
 * tiles of all of them transformed into one matrix per element, so that
 * each product reads its weights once for them all; then
 * epi(env, k*OC + m, ...) for image k. */
void seqk_conv2d_winograd(const float *x, const float *u, float *y,
                          float *work, int64_t C, int64_t H, int64_t W,
                          int64_t top, int64_t left, int64_t OC, int64_t OH,
                          int64_t OW, int64_t blockRows, int64_t TW,
                          int64_t vStride, int64_t r0, int64_t r1, int64_t p0,
                          int64_t p1, seqk_epilogue epi, const void *env,
                          const void *xl, int64_t xlBytes, int64_t images);
/* The least vStride of seqk_conv2d_winograd for up to `images` images a
 * call, and the floats of its work buffer for a vStride. */
int64_t seqk_conv2d_winograd_stride(int64_t C, int64_t OW, int64_t blockRows,
                                    int64_t images);
int64_t seqk_conv2d_winograd_work(int64_t C, int64_t OW, int64_t blockRows,
                                  int64_t vStride, int64_t images);

/* 1 when seqk_conv2d_packed has a tile of R rows x TW columns for column
 * stride SW. */
int seqk_conv2d_packed_supports(int64_t R, int64_t TW, int64_t SW);

/* Depthwise convolution of one image, any stride, padding and dilation
 * (depthwise.c): x [C, H, W], w [C, KH, KW], y [C, OH, OW], the padding's
 * top and left sides given (the others only set OH and OW); channels
 * [c0, c1). Each channel is first copied into `buf`, zero-padded and
 * split by column phase: (OH-1)*SH + (KH-1)*DH + 1 rows of SW phases of
 * Wq = seqk_depthwise2d_phased_width(...) floats, then SEQK_DW_SLACK
 * floats (seqk_depthwise2d_phased_plane in all); buf is the task's own and
 * reused channel after channel. Then epi(env, c, oh*OW, src, dst, n) on
 * each finished block of output rows of channel c: dst = &y[c, oh, 0],
 * n = R*OW for R rows; src is dst, or a copy for rows narrower than 16. */
void seqk_depthwise2d_phased(const float *x, float *buf, const float *w,
                             float *y, int64_t H, int64_t W, int64_t KH,
                             int64_t KW, int64_t SH, int64_t SW, int64_t top,
                             int64_t left, int64_t DH, int64_t DW, int64_t OH,
                             int64_t OW, int64_t Wq, int64_t c0, int64_t c1,
                             seqk_epilogue epi, const void *env);

/* The same for small planes (dwlanes.c): 16 channels in the vector lanes.
 * Channels [16*b0, min(16*b1, C)), block by block; each block is
 * transposed into `buf` (seqk_depthwise2d_lanes_block floats, reused
 * block after block), computed, transposed back into y, then epi(env, c,
 * 0, dst, dst, OH*OW) once on each channel's whole plane, or `fused`
 * (the register form, bias and activation only; NULL: none) applied to
 * each output before its transpose. w is [C, KH*KW]
 * as it is, or in panels of 32 channels when wPanels (SEQRT_PACK_PANELS,
 * the channels past C zero). Needs H*W >= 16 and OH*OW >= 16. */
void seqk_depthwise2d_lanes(const float *x, float *buf, const float *w,
                            int64_t wPanels, float *y, int64_t C, int64_t H,
                            int64_t W, int64_t KH, int64_t KW, int64_t SH,
                            int64_t SW, int64_t top, int64_t left, int64_t DH,
                            int64_t DW, int64_t OH, int64_t OW, int64_t b0,
                            int64_t b1, seqk_epilogue epi, const void *env,
                            const seqk_fused *fused);
int64_t seqk_depthwise2d_lanes_block(int64_t KH, int64_t KW, int64_t SH,
                                     int64_t SW, int64_t DH, int64_t DW,
                                     int64_t OH, int64_t OW);

/* The same on output rows [oh0, oh1) only, row by row (never in padded
 * positions): channel c's input is the plane at x + (c - c0) * xPlane,
 * holding the image's input rows from xRow0 on (at least the rows those
 * output rows read), W floats each. */
void seqk_depthwise2d_phased_rows(const float *x, int64_t xPlane,
                                  int64_t xRow0, float *buf, const float *w,
                                  float *y, int64_t H, int64_t W, int64_t KH,
                                  int64_t KW, int64_t SH, int64_t SW,
                                  int64_t top, int64_t left, int64_t DH,
                                  int64_t DW, int64_t OH, int64_t OW,
                                  int64_t Wq, int64_t c0, int64_t c1,
                                  int64_t oh0, int64_t oh1, seqk_epilogue epi,
                                  const void *env);

/* A 1x1 expansion fused into the depthwise convolution reading it, with
 * 16 channels in the lanes (dwexpand.c), one image: the expansion's input
 * x [eC, H, W] and packed weights we (panels of 32 of its C output
 * channels), the depthwise weights w [C, KH, KW] and output y [C, OH, OW]
 * (padding's top and left sides given). Panel p of the expanded channels,
 * output rows [oh0, oh1): the expanded rows they read are computed into
 * `work` (seqk_expand_depthwise_lanes_work floats for bands of up to
 * bandRows rows, 64-byte aligned) with `expand` (NULL: none), then the
 * band with `fused` in registers (NULL: none) or epi(env, c, oh*OW, row,
 * row, OW) on each finished row of channel c. Needs W >= 14 and SW 1 or
 * 2. */
void seqk_expand_depthwise_lanes(const float *x, const float *we,
                                 const float *w, float *y, float *work,
                                 int64_t eC, int64_t C, int64_t H, int64_t W,
                                 int64_t KH, int64_t KW, int64_t SH,
                                 int64_t SW, int64_t top, int64_t left,
                                 int64_t DH, int64_t DW, int64_t OH,
                                 int64_t OW, int64_t p, int64_t oh0,
                                 int64_t oh1, const seqk_fused *expand,
                                 const seqk_fused *fused, seqk_epilogue epi,
                                 const void *env);
/* The same with any convolution of one group producing the depthwise
 * convolution's input (a network's stem: 3x3 of stride 2 on the padded
 * image): its output row ih, column iw reads tap (kh, kw) of its input
 * channel c at x + c*xPlane + ih*xRow + iw*ES + kh*eRowTap + kw*eColTap
 * (x zero-padded as the convolution pads), the taps in the packed
 * weights' order; ES 1 or 2, eKH*eKW at most 64. The expansion is the
 * 1x1 case: xPlane H*W, xRow W, ES 1, one tap. */
void seqk_conv_depthwise_lanes(
    const float *x, int64_t xPlane, int64_t xRow, int64_t ES, int64_t eKH,
    int64_t eKW, int64_t eRowTap, int64_t eColTap, const float *we,
    const float *w, float *y, float *work, int64_t eC, int64_t C, int64_t H,
    int64_t W, int64_t KH, int64_t KW, int64_t SH, int64_t SW, int64_t top,
    int64_t left, int64_t DH, int64_t DW, int64_t OH, int64_t OW, int64_t p,
    int64_t oh0, int64_t oh1, const seqk_fused *expand,
    const seqk_fused *fused, seqk_epilogue epi, const void *env);
int64_t seqk_expand_depthwise_lanes_work(int64_t KH, int64_t KW, int64_t SH,
                                         int64_t SW, int64_t DH, int64_t DW,
                                         int64_t left, int64_t W, int64_t OW,
                                         int64_t bandRows);

#define SEQK_DW_SLACK 64
#define SEQK_DW_LINEAR_MAX 256

/* Whether a stride-1 plane is computed in padded positions q = oh*Wq + ow
 * (16 consecutive q a vector, the KW-1 padding columns of each row
 * computed and dropped) rather than row by row (a row's OW outputs
 * rounded up to 16): on small planes, where that wastes fewer lanes
 * (7 x 7: 4 vectors rather than 7). */
static inline int seqk_depthwise2d_phased_linear(int64_t SH, int64_t SW,
                                                 int64_t OH, int64_t OW,
                                                 int64_t Wq) {
  int64_t positions = (OH - 1) * Wq + OW;
  return SH == 1 && SW == 1 && positions <= SEQK_DW_LINEAR_MAX &&
         (positions + 15) / 16 < OH * ((OW + 15) / 16);
}

/* Wq: for a plane computed row by row, OW rounded up to 16 (the kernel
 * reads whole vectors) plus the farthest tap's offset in its phase; in
 * padded positions, the padded row. */
static inline int64_t seqk_depthwise2d_phased_width(int64_t KW, int64_t SH,
                                                    int64_t SW, int64_t DW,
                                                    int64_t OH, int64_t OW) {
  int64_t padded = OW + (KW - 1) * DW;
  if (seqk_depthwise2d_phased_linear(SH, SW, OH, OW, padded))
    return padded;
  return (OW + 15) / 16 * 16 + (KW - 1) * DW / SW;
}

/* The floats of one channel's copy in `buf`. */
static inline int64_t seqk_depthwise2d_phased_plane(int64_t KH, int64_t SH,
                                                    int64_t SW, int64_t DH,
                                                    int64_t OH, int64_t Wq) {
  return ((OH - 1) * SH + (KH - 1) * DH + 1) * SW * Wq + SEQK_DW_SLACK;
}

/* ---- Pooling (x [P, H, W] planes -> y [P, OH, OW], planes [p0, p1)) --- */

/* Max pooling as PyTorch computes it: padding is -inf, NaN propagates. */
void seqk_maxpool2d(const float *x, float *y, int64_t H, int64_t W,
                    int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                    int64_t PH, int64_t PW, int64_t DH, int64_t DW,
                    int64_t OH, int64_t OW, int64_t p0, int64_t p1);

/* seqk_maxpool2d on a band of rows of each of `planes` planes: the rows
 * of x's planes (xPlane floats apart) that the OH output rows of each
 * read, top padding PH (a band below the image's top: the padding its
 * first window's rows above the band would take, often 0), pooled into
 * rows of y's planes (yPlane floats apart). A convolution fused into the
 * max pool reading it (ir::ConvPoolPlan) writes the band's rows, then
 * pools them while they are in L2. */
void seqk_maxpool2d_band(const float *x, int64_t xPlane, float *y,
                         int64_t yPlane, int64_t H, int64_t W, int64_t KH,
                         int64_t KW, int64_t SH, int64_t SW, int64_t PH,
                         int64_t PW, int64_t DH, int64_t DW, int64_t OH,
                         int64_t OW, int64_t planes);

/* Average pooling with PyTorch's divisor rules for ceil_mode and
 * count_include_pad (the window is clipped to H+PH, W+PW before counting
 * when padding is included; to the input when it is not). */
void seqk_avgpool2d(const float *x, float *y, int64_t H, int64_t W,
                    int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                    int64_t PH, int64_t PW, int64_t OH, int64_t OW,
                    int32_t count_include_pad, int64_t p0, int64_t p1);

/* Adaptive average pooling: window [floor(i*H/OH), ceil((i+1)*H/OH)). */
void seqk_adaptive_avgpool2d(const float *x, float *y, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, int64_t p0, int64_t p1);

/* Adaptive max pooling over the same windows, NaN propagating. */
void seqk_adaptive_maxpool2d(const float *x, float *y, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, int64_t p0, int64_t p1);

/* ---- Moving and reducing (shape.c) ------------------------------------ */

/* y = a permutation of x, written row by row: y is row-major with dims
 * sizes[0..rank) (sizes[0], the outermost, is not read), and its element
 * (i0, ..., i_{rank-1}) is x[sum_d i_d * strides[d]]. Output rows (all
 * dims but the last) [r0, r1). */
void seqk_permute(const float *x, float *y, int64_t rank, const int64_t *sizes,
                  const int64_t *strides, int64_t r0, int64_t r1);

/* x viewed as [outer, R, inner]; y[o, i] = op over r of x[o, r, i], for
 * outer rows [o0, o1). Sum and mean accumulate in double; max and min
 * propagate NaN. */
enum { SEQK_REDUCE_SUM = 0, SEQK_REDUCE_MEAN = 1, SEQK_REDUCE_MAX = 2, SEQK_REDUCE_MIN = 3 };
void seqk_reduce(const float *x, float *y, int64_t R, int64_t inner, int32_t op,
                 int64_t o0, int64_t o1);

/* ---- Normalisation and softmax --------------------------------------- */

/* x viewed as [outer, D, inner]; softmax (or log-softmax when `log`) over
 * D, numerically stable (max subtracted), for outer [o0, o1). y may be x
 * (in place), but must not overlap it otherwise. */
void seqk_softmax(const float *x, float *y, int64_t D, int64_t inner,
                  int32_t log, int64_t o0, int64_t o1);

/* LayerNorm over the last D elements of each row, rows [r0, r1);
 * gamma/beta may be NULL. Biased variance, as PyTorch. y may be x. */
void seqk_layernorm(const float *x, float *y, int64_t D, const float *gamma,
                    const float *beta, float eps, int64_t r0, int64_t r1);

/* y[r, :] = epi(x[r, :]) for rows [r0, r1) of a [rows, D] tensor: a
 * standalone element-wise op, its chain in the epilogue. */
void seqk_map(const float *x, float *y, int64_t D, int64_t r0, int64_t r1,
              seqk_epilogue epi, const void *env);

/* GroupNorm: x [rows, Cg*inner], row r being group r % G of its image
 * (channels [(r % G)*Cg, +Cg), `inner` elements each); normalised over the
 * row (biased variance), then channel c scaled by gamma[c] and shifted by
 * beta[c] (either may be NULL). Rows [r0, r1); y may be x. */
void seqk_groupnorm(const float *x, float *y, int64_t G, int64_t Cg,
                    int64_t inner, const float *gamma, const float *beta,
                    float eps, int64_t r0, int64_t r1);

/* PReLU: x [rows, inner], row r being channel r % C; y = x > 0 ? x :
 * w[c] * x (w[0] for every channel when nw == 1). Rows [r0, r1). */
void seqk_prelu(const float *x, float *y, int64_t C, int64_t inner,
                const float *w, int64_t nw, int64_t r0, int64_t r1);

/* ---- Resampling (upsample.c): x [P, H, W] -> y [P, OH, OW], planes
 * [p0, p1); sh, sw: output-to-source scales as PyTorch computes them --- */

void seqk_upsample_nearest2d(const float *x, float *y, int64_t H, int64_t W,
                             int64_t OH, int64_t OW, float sh, float sw,
                             int64_t p0, int64_t p1);
void seqk_upsample_bilinear2d(const float *x, float *y, int64_t H, int64_t W,
                              int64_t OH, int64_t OW, float sh, float sw,
                              int32_t align, int64_t p0, int64_t p1);

/* ---- Transposed convolution (convtranspose.c) ------------------------- */

/* Rows [r0, r1) of the B*G stacked matrices col[n][g] [M, HW] =
 * wT[:, g*C/G ..][M, C/G] (row stride C) x x[n][g] [C/G, HW]. */
void seqk_convtranspose_cols(const float *x, const float *wT, float *col,
                             int64_t C, int64_t G, int64_t M, int64_t HW,
                             int64_t r0, int64_t r1);
/* Output planes [p0, p1) of y [B*OC, OH, OW]: bias[oc] (or 0 when bias is
 * NULL) plus the col rows of (n, oc) scattered to their taps. */
void seqk_convtranspose_col2im(const float *col, float *y, const float *bias,
                               int64_t OC, int64_t G, int64_t H, int64_t W,
                               int64_t KH, int64_t KW, int64_t SH, int64_t SW,
                               int64_t PH, int64_t PW, int64_t DH, int64_t DW,
                               int64_t OH, int64_t OW, int64_t p0, int64_t p1);

/* ---- Scalar math, called from generated epilogues -------------------- */

float seqk_expf(float x);
float seqk_logf(float x);
float seqk_tanhf(float x);
float seqk_erff(float x);
float seqk_sigmoidf(float x);
float seqk_gelu_erf(float x);  /* x/2 * (1 + erf(x/sqrt(2))) */
float seqk_gelu_tanh(float x); /* x/2 * (1 + tanh(sqrt(2/pi)*(x + 0.044715 x^3))) */
float seqk_siluf(float x);     /* x * sigmoid(x) */
float seqk_eluf(float x, float alpha);
float seqk_hardswishf(float x);
/* The activations of compiler/ir/Activations.def, one element each. */
float seqk_reluf(float x);
float seqk_relu6f(float x);
float seqk_hardtanhf(float x, float lo, float hi);
float seqk_leaky_reluf(float x, float slope);
float seqk_gelu(float x, float approximate); /* 0: erf, 1: tanh */
float seqk_hardsigmoidf(float x);
float seqk_softplusf(float x, float beta, float threshold);
float seqk_mishf(float x);

#endif /* SEQK_H */
