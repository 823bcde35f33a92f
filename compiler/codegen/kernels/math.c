/* math.c: float32 elementary functions for seqc's kernels and epilogues.
 *
 * Every function is branch-free: each piece of a piecewise definition is
 * computed and the result chosen with a select (a ternary), so loops that
 * call these functions vectorise after inlining. No libm: the exponent
 * field is read and written through a union, square roots are not needed,
 * constants come from <float.h> or clang/gcc builtins.
 *
 * Accuracy (checked against double-precision libm by the unit tests): a
 * few ulp for exp, log, tanh, erf, sigmoid over the whole float range,
 * with ±0, ±inf, NaN, overflow and denormal results as libm gives them.
 * The polynomial coefficients are our own Chebyshev fits (mpmath), with the
 * piecewise structure of the classic Cephes/fdlibm implementations. */
#include <float.h>
#include <stdint.h>

#include "seqk.h"

/* ---- Bit access ---------------------------------------------------- */

static inline uint32_t asU32(float f) {
  union { float f; uint32_t u; } v;
  v.f = f;
  return v.u;
}

static inline float asF32(uint32_t u) {
  union { float f; uint32_t u; } v;
  v.u = u;
  return v.f;
}

static inline float absF(float x) { return asF32(asU32(x) & 0x7fffffffu); }

/* |mag| with the sign of `sign` (NaN magnitudes stay NaN). */
static inline float withSignOf(float mag, float sign) {
  return asF32((asU32(mag) & 0x7fffffffu) | (asU32(sign) & 0x80000000u));
}

/* 2^n for n in [-126, 127], built in the exponent field. */
static inline float pow2i(int32_t n) {
  return asF32((uint32_t)(n + 127) << 23);
}

#define SEQK_INF __builtin_inff()
#define SEQK_NAN __builtin_nanf("")

/* ---- exp ------------------------------------------------------------- */

/* Cody–Waite range reduction: x = n ln2 + r, |r| <= ln2/2. ln2 is split
 * into LN2_HI, which has 9 significant bits so that n*LN2_HI and
 * x - n*LN2_HI are exact for |n| <= 150, and the remainder LN2_LO. */
#define LOG2E 1.44269504f
#define LN2_HI 0.693359375f
#define LN2_LO (-2.12194440e-4f)
/* Adding 1.5*2^23 rounds a float of magnitude < 2^22 to an integer, which
 * then sits in the low mantissa bits: n without a float->int conversion
 * (which would be undefined for NaN). */
#define ROUND_SHIFTER 12582912.0f

/* e^r - 1 - r = r^2 P(r) on |r| <= ln2/2 (relative error 9e-9). */
static inline float expPoly(float r) {
  float p = 1.98909809e-4f;
  p = p * r + 1.39336416e-3f;
  p = p * r + 8.33331048e-3f;
  p = p * r + 4.16664667e-2f;
  p = p * r + 1.66666672e-1f;
  p = p * r + 0.5f;
  return p;
}

/* The same to relative error 1.1e-7 (with the rounding of 1 + r +
 * r^2 P(r), 1.6e-7), two terms fewer: for onePlusExpNormalNeg (SiLU),
 * within its 4e-7 bound. SiLU is a quarter of EfficientNet-B0's time and its
 * exponential three quarters of SiLU (a microbenchmark, L1-resident: 0.249
 * of 0.329 ns an element; the division 0.047); with this, 0.29-0.30 ns.
 * (Not for e^x itself: GELU's tail and ELU's e^x - 1 near 0 need
 * expPoly's accuracy.) */
static inline float expPolyShort(float r) {
  float p = 8.31277855e-3f;
  p = p * r + 4.18904237e-2f;
  p = p * r + 1.66671127e-1f;
  p = p * r + 4.99992281e-1f;
  return p;
}

/* 1.5*2^23 + 126, which rounds as ROUND_SHIFTER does and leaves n + 126
 * in the low mantissa bits of the sum: shifted left by 23, they are
 * 2^(n-1), for n in [-125, 128], in one operation (the top bit of the
 * shifter's mantissa leaves the word). */
#define ROUND_SHIFTER_126 12583038.0f

/* e^r - 1 for x = n ln2 + r, |r| <= ln2/2 (x + xlo, where xlo is a small
 * correction to x: the low part of an argument known to more than float
 * precision; -0.0f when there is none), or for -x = n ln2 + r when `neg`
 * (then xlo corrects -x; -x is never computed: it folds into the
 * multiply-adds, the same bits, as negation is exact and rounding
 * symmetric): q in [-0.3, 0.42], e^r = 1 + q, and z =
 * n + shifter (ROUND_SHIFTER or ROUND_SHIFTER_126), whose low mantissa
 * bits hold n (plus 126 with the second). */
static inline float expReduced(float x, float xlo, float shifter, float *z,
                               int shortPoly, int neg) {
  *z = x * (neg ? -LOG2E : LOG2E) + shifter;
  float nf = *z - shifter;
  float r = neg ? -(x + nf * LN2_HI) : x - nf * LN2_HI;
  r = r + xlo;
  r = r - nf * LN2_LO;
  return r + (r * r) * (shortPoly ? expPolyShort(r) : expPoly(r));
}

/* e^(x + xlo) = p * 2^n. 2^n is applied as two factors 2^(n/2)
 * 2^(n - n/2), each a normal float for n in [-150, 128], so overflow
 * gives inf and denormal results are rounded once. */
static inline float expHiLo(float x, float xlo) {
  x = x > 89.0f ? 89.0f : x;     /* e^89 overflows: n = 128 */
  x = x < -104.0f ? -104.0f : x; /* e^-104 underflows to 0: n = -150 */
  float z;
  float p = 1.0f + expReduced(x, xlo, ROUND_SHIFTER, &z, 0, 0);
  int32_t n = (int32_t)(asU32(z) - asU32(ROUND_SHIFTER));
  int32_t n1 = n >> 1;
  return p * pow2i(n1) * pow2i(n - n1);
}

/* 1 + e^x (e^-x when `neg`) for x in [-86.5, 89] where only normal
 * values of e^x and overflow matter (SiLU's 1 + e^-x),
 * to expPolyShort's accuracy. e^x = 2 s (1 + q) with s = 2^(n-1),
 * normal for n in [-125, 128], straight from z's bits (two operations:
 * expHiLo's two factors take eight); (1 + e^x) / 2 = s q + (s + 1/2) is
 * one multiply-add and an add, and doubling it an exact add (an add
 * issues beside the multiply-adds: SiLU 13.5 -> 12.8 cycles a vector on
 * Zen 4, where the two multiply-adds s q + s and 2 (that) + 1 it replaced
 * had to take turns with the exponential's). Overflow is the sum's: h
 * stays finite (s <= 2^127), h + h is inf once 1 + e^x is. Rounded
 * differently from expHiLo's 1 + e^x, within SiLU's 4e-7 (its sweep). */
static inline float onePlusExpClamped(float x, int neg) {
  float z;
  float q = expReduced(x, -0.0f, ROUND_SHIFTER_126, &z, 1, neg);
  float s = asF32(asU32(z) << 23);
  float h = q * s + (s + 0.5f); /* (1 + e^x) / 2 */
  return h + h;
}

/* 1 + e^-x as onePlusExpClamped, x clamped to [-89, 86.5] first (e^-86.5,
 * 2.6e-38, above 86.5 instead of a denormal), and -x never computed
 * (SiLU an operation shorter). */
static inline float onePlusExpNormalNeg(float x) {
  x = x < -89.0f ? -89.0f : x;
  x = x > 86.5f ? 86.5f : x;
  return onePlusExpClamped(x, 1);
}

float seqk_expf(float x) { return expHiLo(x, -0.0f); }

/* e^x - 1 for x <= 0 (NaN propagates), accurate near 0: with x = n ln2 + r,
 * e^x - 1 = 2^n (e^r - 1) + (2^n - 1), where 2^n - 1 is exact for
 * n >= -24 and e^r - 1 = r + r^2 P(r) keeps its relative accuracy. */
static inline float expm1Neg(float x) {
  x = x < -30.0f ? -30.0f : x; /* e^x - 1 rounds to -1 below */
  float z = x * LOG2E + ROUND_SHIFTER;
  float n = z - ROUND_SHIFTER;
  int32_t ni = (int32_t)(asU32(z) - asU32(ROUND_SHIFTER));
  float r = x - n * LN2_HI;
  r = r - n * LN2_LO;
  float q = r + (r * r) * expPoly(r);
  float s = pow2i(ni);
  return s * q + (s - 1.0f);
}

/* ---- log ------------------------------------------------------------- */

/* log(1+f) - f + f^2/2 = f^3 P(f) on [sqrt(1/2)-1, sqrt(2)-1]. */
static inline float logPoly(float f) {
  float p = 6.97161183e-2f;
  p = p * f - 1.14797339e-1f;
  p = p * f + 1.16854198e-1f;
  p = p * f - 1.24256872e-1f;
  p = p * f + 1.42490581e-1f;
  p = p * f - 1.66678026e-1f;
  p = p * f + 2.00007156e-1f;
  p = p * f - 2.49999970e-1f;
  p = p * f + 3.33333313e-1f;
  return p;
}

/* x = 2^k m with m in [sqrt(1/2), sqrt(2)): offsetting the bits by those
 * of sqrt(1/2) before splitting exponent and mantissa picks k so. Then
 * log x = k ln2 + log(1+f), f = m - 1 exact; k ln2 is added in two parts
 * (LN2_HI, LN2_LO) so that it adds no rounding error of its own. */
float seqk_logf(float x) {
  int32_t scaled = x < FLT_MIN ? 1 : 0;
  float xs = scaled ? x * 33554432.0f : x; /* denormals: scale by 2^25 */
  uint32_t ix = asU32(xs) + (0x3f800000u - 0x3f3504f3u);
  int32_t k = (int32_t)(ix >> 23) - 127 - (scaled ? 25 : 0);
  float f = asF32((ix & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
  float kf = (float)k;
  float f2 = f * f;
  float y = f * f2 * logPoly(f);
  y = y + kf * LN2_LO;
  y = y - 0.5f * f2;
  float r = (f + y) + kf * LN2_HI;
  r = x == SEQK_INF ? SEQK_INF : r;
  r = x == 0.0f ? -SEQK_INF : r;
  r = x < 0.0f ? SEQK_NAN : r;
  return x != x ? x : r;
}

/* ---- tanh, sigmoid --------------------------------------------------- */

/* 1.5*2^23 + 127: as ROUND_SHIFTER_126, but the low mantissa bits
 * shifted left by 23 are 2^n itself, for n in [-126, 127]. */
#define ROUND_SHIFTER_127 12583039.0f

/* tanh|x| = (e^2|x| - 1) / (e^2|x| + 1) = em / (em + 2), where em =
 * e^2|x| - 1 = 2^n (1 + q) - 1 = 2^n q + (2^n - 1) for 2|x| = n ln2 + r
 * (expReduced's q = e^r - 1): one formula over the whole range, the sign
 * of x put back. No cancellation: for n = 0, em is q itself, accurate
 * near 0 (tanh of a tiny or denormal x is x, of -0 is -0), and for n >= 1
 * 2^n - 1 >= 1 while |2^n q| < 0.9 (2^n - 1). 2|x| is clamped to 20,
 * where tanh already rounds to 1 (from 18.4 on), so 2^n is a normal
 * float made from the rounded sum's bits. Relative error 1.8e-7 over all
 * floats with expPoly (expPolyShort's 6e-7 is too much). It replaced an
 * odd polynomial below 0.625 and 1 - 2/(e^2|x| + 1) above, both computed
 * for every element: 23 -> 16 cycles a vector of 16 (LeNet-5's
 * epilogues). */
float seqk_tanhf(float x) {
  float e = 2.0f * absF(x);
  e = e > 20.0f ? 20.0f : e; /* a NaN stays NaN */
  float z;
  float q = expReduced(e, -0.0f, ROUND_SHIFTER_127, &z, 0, 0);
  float s = asF32(asU32(z) << 23);
  float em = q * s + (s - 1.0f);
  return withSignOf(em / (em + 2.0f), x);
}

/* 1/(1+e^-|x|), or e^-|x|/(1+e^-|x|) for x < 0: no cancellation, no
 * overflow, and tiny (denormal) results for very negative x. */
float seqk_sigmoidf(float x) {
  float e = expHiLo(-absF(x), -0.0f);
  float s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}

/* PyTorch's formula, x / (1 + e^-x): once e^-x overflows (x < -88.72,
 * where silu is above -2.7e-37) it gives -0 as PyTorch does, and it costs
 * a third less than x * sigmoid(x) (EfficientNet's epilogues). Where e^-x
 * is below 2.6e-38, 1 + e^-x is 1 whatever it is: onePlusExpNormalNeg. */
float seqk_siluf(float x) { return x / onePlusExpNormalNeg(x); }

/* ---- erf ------------------------------------------------------------- */

/* erf x = x P(x^2) for |x| < 1 (relative error 7e-8). */
static inline float erfPoly(float z) {
  float p = 7.87587487e-5f;
  p = p * z - 8.01686430e-4f;
  p = p * z + 5.18908724e-3f;
  p = p * z - 2.68542115e-2f;
  p = p * z + 1.12835944e-1f;
  p = p * z - 3.76126260e-1f;
  p = p * z + 1.12837911f;
  return p;
}

/* erfc a = e^(-a^2) t H(t), t = 1/a, for a >= 0.5. H is smooth (it tends
 * to 1/sqrt(pi) as t -> 0) and fitted in three pieces, each a polynomial
 * in t - centre: a in [0.5, 1], [1, 2] and [2, 10.2] (relative error
 * 3e-8). The caller passes a^2 as hi + lo, exact, so that e^(-a^2) is
 * accurate even where a^2 is large; erfc is 0 beyond a = 10.2. */
#define ERFC_PIECE(near, mid, far) (a < 1.0f ? (near) : a < 2.0f ? (mid) : (far))
static inline float erfcTail(float a, float sqHi, float sqLo) {
  float t = 1.0f / a;
  float u = t - ERFC_PIECE(1.5f, 0.75f, 0.3f);
  float h = ERFC_PIECE(-4.49973537e-4f, 1.34150349e-2f, -2.88985163e-1f);
  h = h * u + ERFC_PIECE(9.49450594e-4f, -1.87290541e-3f, -1.86437115e-1f);
  h = h * u + ERFC_PIECE(-1.48620922e-3f, -1.82250608e-2f, 3.44787151e-1f);
  h = h * u + ERFC_PIECE(2.04425957e-3f, 3.78050283e-2f, -1.60875365e-1f);
  h = h * u + ERFC_PIECE(-1.16519036e-3f, -5.04638515e-2f, -8.15892443e-2f);
  h = h * u + ERFC_PIECE(-5.93184633e-3f, 4.02911641e-2f, 2.08099678e-1f);
  h = h * u + ERFC_PIECE(3.31569612e-2f, 1.93478633e-2f, -1.35583684e-1f);
  h = h * u + ERFC_PIECE(-1.18398048e-1f, -1.69080973e-1f, -1.34601101e-1f);
  h = h * u + ERFC_PIECE(3.59522939e-1f, 4.68179584e-1f, 5.41633189e-1f);
  float r = expHiLo(-sqHi, -sqLo) * (t * h);
  return a > 10.2f ? 0.0f : r;
}
#undef ERFC_PIECE

/* x^2 = hi + lo exactly (Dekker): xh keeps the top 12 significant bits of
 * x, so xh*xh is exact, and x^2 - xh^2 = (x - xh)(x + xh) is small. */
static inline void squareSplit(float x, float *hi, float *lo) {
  float xh = asF32(asU32(x) & 0xfffff000u);
  *hi = xh * xh;
  *lo = (x - xh) * (x + xh);
}

float seqk_erff(float x) {
  float a = absF(x);
  float small = x * erfPoly(x * x);
  float hi, lo;
  squareSplit(a, &hi, &lo);
  float tail = withSignOf(1.0f - erfcTail(a, hi, lo), x);
  return a < 1.0f ? small : tail;
}

/* ---- Activations ----------------------------------------------------- */

/* x/2 (1 + erf(x/sqrt2)); for |x/sqrt2| >= 1/2 written with erfc, as
 * x/2 erfc(|x|/sqrt2) for x < 0, so that the negative tail keeps its
 * relative accuracy, with the exponent -x^2/2 computed exactly from x. */
float seqk_gelu_erf(float x) {
  float u = x * 0.707106781f;
  float a = absF(u);
  float inner = x * 0.5f * (1.0f + u * erfPoly(u * u));
  float hi, lo;
  squareSplit(x, &hi, &lo);
  float erfc = erfcTail(a, 0.5f * hi, 0.5f * lo);
  float outer = u > 0.0f ? x * (1.0f - 0.5f * erfc) : x * (0.5f * erfc);
  return a < 0.5f ? inner : outer;
}

/* x/2 (1 + tanh v) = x sigmoid(2v), v = sqrt(2/pi) (x + 0.044715 x^3):
 * the same function without the cancellation of 1 + tanh v for x < 0. */
float seqk_gelu_tanh(float x) {
  float v = 0.797884561f * (x + 0.044715f * (x * x * x));
  return x * seqk_sigmoidf(2.0f * v);
}

float seqk_eluf(float x, float alpha) {
  return x > 0.0f ? x : alpha * expm1Neg(x);
}

/* x * relu6(x + 3) / 6, in PyTorch's order of operations. */
float seqk_hardswishf(float x) {
  float t = x + 3.0f;
  t = t < 0.0f ? 0.0f : t;
  t = t > 6.0f ? 6.0f : t;
  return x * t / 6.0f;
}

/* PyTorch's clamp-style activations: a NaN input fails every ordered
 * comparison and falls through to x, so it propagates. */
float seqk_reluf(float x) { return x < 0.0f ? 0.0f : x; }

float seqk_relu6f(float x) { return seqk_hardtanhf(x, 0.0f, 6.0f); }

float seqk_hardtanhf(float x, float lo, float hi) {
  float t = x < lo ? lo : x;
  return t > hi ? hi : t;
}

float seqk_leaky_reluf(float x, float slope) { return x < 0.0f ? x * slope : x; }

/* GELU's two forms, chosen by approximate ('none' = 0, 'tanh' = 1); the
 * choice is a constant in the generated code, so the select folds. */
float seqk_gelu(float x, float approximate) {
  return approximate != 0.0f ? seqk_gelu_tanh(x) : seqk_gelu_erf(x);
}

/* relu6(x + 3) / 6, in PyTorch's order of operations. */
float seqk_hardsigmoidf(float x) {
  float t = x + 3.0f;
  t = t < 0.0f ? 0.0f : t;
  t = t > 6.0f ? 6.0f : t;
  return t / 6.0f;
}

/* log(1 + e) for e = exp(z) >= 0, accurate for tiny e: with u = 1 + e
 * rounded, log(u) * e / (u - 1) cancels the rounding of u (Goldberg). */
static inline float log1pOfExp(float z) {
  float e = seqk_expf(z);
  float u = 1.0f + e;
  float r = seqk_logf(u) * (e / (u - 1.0f));
  r = u == 1.0f ? e : r;
  return u == SEQK_INF ? SEQK_INF : r;
}

/* PyTorch: x if x * beta > threshold, else log1p(exp(x * beta)) / beta. */
float seqk_softplusf(float x, float beta, float threshold) {
  float z = x * beta;
  return z > threshold ? x : log1pOfExp(z) / beta;
}

/* x * tanh(softplus(x)), PyTorch's mish (no threshold). */
float seqk_mishf(float x) { return x * seqk_tanhf(log1pOfExp(x)); }
