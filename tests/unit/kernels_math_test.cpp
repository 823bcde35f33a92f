// Unit tests of the scalar math of seqk.h against double-precision libm:
// sweeps over the whole float range (every float with a stride through
// the bit patterns, plus every float in [-2, 2]'s neighbourhood at a finer
// stride), and the special values: ±0, ±inf, NaN, overflow, underflow,
// tiny and large arguments.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

extern "C" {
#include "seqk.h"
}

namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();
const double kDenormMin = 1.4012984643248171e-45;

float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

double sigmoidRef(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double siluRef(double x) { return x * sigmoidRef(x); }
double geluErfRef(double x) { return 0.5 * x * std::erfc(-x / std::sqrt(2.0)); }
double geluTanhArg(double x) {
  return 2.0 * std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
}
double geluTanhRef(double x) { return x / (1.0 + std::exp(-geluTanhArg(x))); }
double eluRef(double x) { return x > 0 ? x : 0.7 * std::expm1(x); }
float elu07(float x) { return seqk_eluf(x, 0.7f); }
// x * relu6(x + 3) overflows for |x| > FLT_MAX/6, in PyTorch as here
double hardswishRef(double x) {
  double y = x * std::min(std::max(x + 3.0, 0.0), 6.0);
  return std::fabs(y) > FLT_MAX ? std::copysign(INFINITY, y) : y / 6.0;
}
double one(double) { return 1.0; }

struct Stats {
  double maxRel = 0;
  float worst = 0;
  int64_t failures = 0;
  float firstFailure = 0;
};

// |f(x) - ref(x)| <= relTol cond(x) |ref(x)| + absTol, where absTol is
// two denormal steps for the elementary functions (results in the
// denormal range have no relative precision) and larger for products
// x * g(x) whose g(x) is denormal; cond(x) is 1 but where the problem is
// ill-conditioned in float; NaN where and only where the reference is
// NaN; infinite results exactly.
struct Tolerance {
  double rel;
  double abs = 2 * kDenormMin;
  double (*cond)(double) = one;
};

template <class F, class R>
Stats sweep(F f, R ref, Tolerance tol, uint32_t step, uint32_t begin = 0,
            uint64_t end = 0x100000000ull) {
  Stats s;
  for (uint64_t u = begin; u < end; u += step) {
    float x = fromBits(uint32_t(u));
    if (std::isnan(x))
      continue;
    double want = ref(double(x));
    float got = f(x);
    bool ok;
    if (std::isnan(want) || std::isnan(got))
      ok = std::isnan(want) && std::isnan(got);
    else if (std::isinf(got) || std::fabs(want) > FLT_MAX)
      ok = float(want) == got || (std::isinf(got) && std::fabs(want) > 3.40282e38 &&
                                  std::signbit(got) == std::signbit(want));
    else {
      double err = std::fabs(double(got) - want);
      ok = err <= tol.rel * tol.cond(double(x)) * std::fabs(want) + tol.abs;
      if (std::fabs(want) > 1e-37 && err / std::fabs(want) > s.maxRel) {
        s.maxRel = err / std::fabs(want);
        s.worst = x;
      }
    }
    if (!ok && s.failures++ == 0)
      s.firstFailure = x;
  }
  return s;
}

#define EXPECT_SWEEP(f, ref, ...)                                              \
  do {                                                                         \
    Stats all = sweep(f, ref, Tolerance{__VA_ARGS__}, 4099);                                      \
    Stats mid = sweep(f, ref, Tolerance{__VA_ARGS__}, 7, 0x3c000000u, 0x41a00000u);               \
    Stats neg = sweep(f, ref, Tolerance{__VA_ARGS__}, 7, 0xbc000000u, 0xc1a00000u);               \
    EXPECT_EQ(all.failures + mid.failures + neg.failures, 0)                   \
        << #f << " first failure at " << all.firstFailure << " / "             \
        << mid.firstFailure << " / " << neg.firstFailure << " = "              \
        << f(all.failures ? all.firstFailure                                   \
                          : mid.failures ? mid.firstFailure : neg.firstFailure); \
    RecordProperty(#f "_max_rel_error",                                        \
                   std::to_string(std::max({all.maxRel, mid.maxRel, neg.maxRel}))); \
  } while (0)

double expRef(double x) { return std::exp(x); }
double logRef(double x) { return std::log(x); }
double tanhRef(double x) { return std::tanh(x); }
double erfRef(double x) { return std::erf(x); }
// The tanh form's argument 2v = 2 sqrt(2/pi)(x + 0.044715 x^3) is rounded
// to float; e^(-2v) amplifies that by |2v| (PyTorch's float formula too).
double geluTanhCond(double x) { return 1.0 + std::fabs(geluTanhArg(x)); }
const double kProductAbs = 1e-37; // x * (a denormal g(x))

TEST(KernelsMath, ExpOverTheWholeRange) { EXPECT_SWEEP(seqk_expf, expRef, 4e-7); }
TEST(KernelsMath, LogOverTheWholeRange) { EXPECT_SWEEP(seqk_logf, logRef, 4e-7); }
TEST(KernelsMath, TanhOverTheWholeRange) { EXPECT_SWEEP(seqk_tanhf, tanhRef, 4e-7); }
TEST(KernelsMath, ErfOverTheWholeRange) { EXPECT_SWEEP(seqk_erff, erfRef, 4e-7); }
TEST(KernelsMath, SigmoidOverTheWholeRange) { EXPECT_SWEEP(seqk_sigmoidf, sigmoidRef, 4e-7); }
// x / (1 + e^-x), PyTorch's formula: -0 once e^-x overflows (x < -88.72),
// where silu is above -2.7e-37.
const double kSiluAbs = 2.7e-37;
TEST(KernelsMath, SiluOverTheWholeRange) { EXPECT_SWEEP(seqk_siluf, siluRef, 4e-7, kSiluAbs); }
TEST(KernelsMath, GeluErfOverTheWholeRange) { EXPECT_SWEEP(seqk_gelu_erf, geluErfRef, 4e-7, kProductAbs); }
TEST(KernelsMath, GeluTanhOverTheWholeRange) {
  EXPECT_SWEEP(seqk_gelu_tanh, geluTanhRef, 2.5e-7, kProductAbs, geluTanhCond);
}
TEST(KernelsMath, EluOverTheWholeRange) { EXPECT_SWEEP(elu07, eluRef, 4e-7); }
TEST(KernelsMath, HardswishOverTheWholeRange) { EXPECT_SWEEP(seqk_hardswishf, hardswishRef, 2.5e-7); }

// The activations added with ir/Activations.def.
double hardsigmoidRef(double x) { return std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0; }
double softplusRef(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }
float softplus1(float x) { return seqk_softplusf(x, 1.0f, 20.0f); }
double mishRef(double x) { return x * std::tanh(std::log1p(std::exp(x))); }
double leakyRef(double x) { return x < 0 ? 0.125 * x : x; }
float leaky0125(float x) { return seqk_leaky_reluf(x, 0.125f); }
double hardtanhRef(double x) { return std::min(std::max(x, -2.0), 2.5); }
float hardtanh(float x) { return seqk_hardtanhf(x, -2.0f, 2.5f); }
// At the threshold the two pieces differ by log1p(e^-20) ~ 2e-9 relative.
double softplusCond(double x) { return 1.0 + std::fabs(x); }

TEST(KernelsMath, HardsigmoidOverTheWholeRange) { EXPECT_SWEEP(seqk_hardsigmoidf, hardsigmoidRef, 2.5e-7); }
TEST(KernelsMath, SoftplusOverTheWholeRange) { EXPECT_SWEEP(softplus1, softplusRef, 5e-7, 2 * kDenormMin, softplusCond); }
TEST(KernelsMath, MishOverTheWholeRange) { EXPECT_SWEEP(seqk_mishf, mishRef, 1e-6, kProductAbs); }
TEST(KernelsMath, LeakyReluOverTheWholeRange) { EXPECT_SWEEP(leaky0125, leakyRef, 0); }
TEST(KernelsMath, HardtanhOverTheWholeRange) { EXPECT_SWEEP(hardtanh, hardtanhRef, 0); }

TEST(KernelsMath, ClampActivationsPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (float y : {seqk_reluf(nan), seqk_relu6f(nan), seqk_hardtanhf(nan, -1, 1), seqk_leaky_reluf(nan, 0.1f),
                  seqk_hardsigmoidf(nan), seqk_softplusf(nan, 1, 20), seqk_mishf(nan)})
    EXPECT_TRUE(std::isnan(y));
  EXPECT_EQ(seqk_relu6f(7.0f), 6.0f);
  EXPECT_EQ(seqk_reluf(-2.0f), 0.0f);
  EXPECT_EQ(seqk_mishf(std::numeric_limits<float>::infinity()), std::numeric_limits<float>::infinity());
  // Below the threshold PyTorch computes log1p(exp(x)) in float: inf once exp overflows.
  EXPECT_EQ(seqk_softplusf(100.0f, 1, 200), std::numeric_limits<float>::infinity());
  EXPECT_EQ(seqk_softplusf(100.0f, 1, 20), 100.0f);
  EXPECT_EQ(seqk_gelu(1.5f, 0), seqk_gelu_erf(1.5f));
  EXPECT_EQ(seqk_gelu(1.5f, 1), seqk_gelu_tanh(1.5f));
}

bool same(float a, float b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b);
  return a == b && std::signbit(a) == std::signbit(b);
}

#define EXPECT_SAME(got, want) EXPECT_PRED2(same, got, want)

TEST(KernelsMath, SpecialValues) {
  EXPECT_SAME(seqk_expf(0.0f), 1.0f);
  EXPECT_SAME(seqk_expf(-0.0f), 1.0f);
  EXPECT_SAME(seqk_expf(kInf), kInf);
  EXPECT_SAME(seqk_expf(-kInf), 0.0f);
  EXPECT_SAME(seqk_expf(kNaN), kNaN);
  EXPECT_SAME(seqk_expf(89.0f), kInf);
  EXPECT_SAME(seqk_expf(88.72283f), std::exp(88.72283f));
  EXPECT_SAME(seqk_expf(-104.0f), std::exp(-104.0f));
  EXPECT_SAME(seqk_expf(-100.0f), std::exp(-100.0f)); // denormal
  EXPECT_SAME(seqk_expf(1e-30f), 1.0f);

  EXPECT_SAME(seqk_logf(1.0f), 0.0f);
  EXPECT_SAME(seqk_logf(0.0f), -kInf);
  EXPECT_SAME(seqk_logf(-0.0f), -kInf);
  EXPECT_SAME(seqk_logf(kInf), kInf);
  EXPECT_SAME(seqk_logf(-1.0f), kNaN);
  EXPECT_SAME(seqk_logf(-kInf), kNaN);
  EXPECT_SAME(seqk_logf(kNaN), kNaN);
  EXPECT_FLOAT_EQ(seqk_logf(1e-45f), float(std::log(double(1e-45f)))); // denormal
  EXPECT_FLOAT_EQ(seqk_logf(3.4028235e38f), 88.72283935546875f);

  EXPECT_SAME(seqk_tanhf(0.0f), 0.0f);
  EXPECT_SAME(seqk_tanhf(-0.0f), -0.0f);
  EXPECT_SAME(seqk_tanhf(1e-10f), 1e-10f);
  EXPECT_SAME(seqk_tanhf(-1e-30f), -1e-30f);
  EXPECT_SAME(seqk_tanhf(20.0f), 1.0f);
  EXPECT_SAME(seqk_tanhf(-20.0f), -1.0f);
  EXPECT_SAME(seqk_tanhf(kInf), 1.0f);
  EXPECT_SAME(seqk_tanhf(-kInf), -1.0f);
  EXPECT_SAME(seqk_tanhf(kNaN), kNaN);

  EXPECT_SAME(seqk_erff(0.0f), 0.0f);
  EXPECT_SAME(seqk_erff(-0.0f), -0.0f);
  EXPECT_FLOAT_EQ(seqk_erff(1e-10f), 1.1283791e-10f);
  EXPECT_SAME(seqk_erff(kInf), 1.0f);
  EXPECT_SAME(seqk_erff(-kInf), -1.0f);
  EXPECT_SAME(seqk_erff(5.0f), 1.0f);
  EXPECT_SAME(seqk_erff(kNaN), kNaN);

  EXPECT_SAME(seqk_sigmoidf(0.0f), 0.5f);
  EXPECT_SAME(seqk_sigmoidf(kInf), 1.0f);
  EXPECT_SAME(seqk_sigmoidf(-kInf), 0.0f);
  EXPECT_SAME(seqk_sigmoidf(kNaN), kNaN);
  EXPECT_GT(seqk_sigmoidf(-100.0f), 0.0f);
  EXPECT_SAME(seqk_sigmoidf(-200.0f), 0.0f);
  EXPECT_SAME(seqk_sigmoidf(100.0f), 1.0f);

  // PyTorch: silu(-inf), gelu(-inf) (both forms) and hardswish(-inf) are
  // NaN (-inf * 0); at +inf they are +inf
  EXPECT_SAME(seqk_siluf(-kInf), kNaN);
  EXPECT_SAME(seqk_siluf(kInf), kInf);
  EXPECT_SAME(seqk_siluf(-1000.0f), -0.0f);
  EXPECT_SAME(seqk_gelu_erf(-kInf), kNaN);
  EXPECT_SAME(seqk_gelu_erf(kInf), kInf);
  EXPECT_SAME(seqk_gelu_erf(0.0f), 0.0f);
  EXPECT_SAME(seqk_gelu_tanh(-kInf), kNaN);
  EXPECT_SAME(seqk_gelu_tanh(kInf), kInf);
  EXPECT_SAME(seqk_gelu_tanh(1e13f), 1e13f);
  EXPECT_SAME(seqk_hardswishf(-kInf), kNaN);
  EXPECT_SAME(seqk_hardswishf(kInf), kInf);
  EXPECT_SAME(seqk_hardswishf(kNaN), kNaN);
  EXPECT_SAME(seqk_hardswishf(-3.0f), -0.0f);
  EXPECT_SAME(seqk_hardswishf(3.0f), 3.0f);

  EXPECT_SAME(seqk_eluf(-kInf, 1.0f), -1.0f);
  EXPECT_SAME(seqk_eluf(kInf, 1.0f), kInf);
  EXPECT_SAME(seqk_eluf(kNaN, 1.0f), kNaN);
  EXPECT_SAME(seqk_eluf(2.5f, 1.0f), 2.5f);
  EXPECT_FLOAT_EQ(seqk_eluf(-1e-7f, 1.0f), float(std::expm1(-1e-7)));
  EXPECT_FLOAT_EQ(seqk_eluf(-1e-30f, 2.0f), -2e-30f);
}

} // namespace
