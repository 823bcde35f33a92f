// app.cpp: app.c in C++17, through seqrt.hpp: RAII handles, and errors as
// seqrt::Error exceptions. Prints each row's class probabilities; exits 1
// if a call fails or a row of the softmax does not sum to 1.
#include "mlp.h"
#include "seqrt.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  constexpr int64_t batch = 3;
  std::vector<float> x(MLP_X_ELEMS(batch));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>((i * 37) % 11) / 5.0f - 1.0f;
  try {
    seqrt::Model<mlp_desc> model(seqrt::Weights::random(mlp_model, 42), /*threads=*/1);
    std::vector<float> y = model(batch, x.data());
    bool bad = false;
    for (int64_t n = 0; n < batch; ++n) {
      float sum = 0;
      std::printf("row %lld:", static_cast<long long>(n));
      for (int k = 0; k < 4; ++k) {
        std::printf(" %.4f", y[n * 4 + k]);
        sum += y[n * 4 + k];
      }
      std::printf("\n");
      bad |= std::fabs(sum - 1.0f) > 1e-5f;
    }
    return bad ? 1 : 0;
  } catch (const seqrt::Error &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
