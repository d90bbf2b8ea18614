#include "core/sde.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace scorejam {
namespace {

torch::Tensor times() { return torch::tensor({1e-5, 0.1, 0.5, 0.9, 1.0}, torch::kFloat64); }

TEST(Sde, VarianceExplodingMatchesTheClosedForm) {
  Sde sde{{SdeKind::kVE, 25.0}};
  auto t = times();
  for (int i = 0; i < t.size(0); ++i) {
    const double ti = t[i].item<double>();
    EXPECT_NEAR(sde.std(t)[i].item<double>(), std::sqrt((std::pow(25.0, 2 * ti) - 1) / (2 * std::log(25.0))), 1e-12);
    EXPECT_NEAR(sde.diffusion(t)[i].item<double>(), std::pow(25.0, ti), 1e-12);
    EXPECT_EQ(sde.mean_coeff(t)[i].item<double>(), 1.0);
  }
  EXPECT_NEAR(sde.prior_std(), sde.std(torch::ones({1}, torch::kFloat64)).item<double>(), 1e-12);
  EXPECT_TRUE(torch::equal(sde.drift(torch::ones({5, 2}), t), torch::zeros({5, 2})));
}

TEST(Sde, VariancePreservingMatchesTheClosedForm) {
  Sde sde{{SdeKind::kVP, 25.0, 0.1, 20.0}};
  auto t = times();
  for (int i = 0; i < t.size(0); ++i) {
    const double ti = t[i].item<double>();
    const double log_mean = -0.25 * ti * ti * 19.9 - 0.5 * ti * 0.1;
    EXPECT_NEAR(sde.mean_coeff(t)[i].item<double>(), std::exp(log_mean), 1e-12);
    EXPECT_NEAR(sde.std(t)[i].item<double>(), std::sqrt(1 - std::exp(2 * log_mean)), 1e-12);
    EXPECT_NEAR(sde.diffusion(t)[i].item<double>(), std::sqrt(0.1 + ti * 19.9), 1e-12);
  }
  auto x = torch::full({5, 3}, 2.0, torch::kFloat64);
  EXPECT_NEAR(sde.drift(x, t)[2][0].item<double>(), -0.5 * (0.1 + 0.5 * 19.9) * 2.0, 1e-12);
  EXPECT_EQ(sde.prior_std(), 1.0);
}

TEST(Sde, SubVpStdIsOneMinusTheVpVariance) {
  Sde sub{{SdeKind::kSubVP}}, vp{{SdeKind::kVP}};
  auto t = times();
  EXPECT_TRUE(torch::allclose(sub.std(t), vp.std(t).pow(2)));
  EXPECT_TRUE(torch::allclose(sub.mean_coeff(t), vp.mean_coeff(t)));
  EXPECT_TRUE(torch::all(sub.diffusion(t) <= vp.diffusion(t)).item<bool>());
}

// For the linear SDEs the marginal variance v(t) = std^2 obeys dv/dt = 2 f'(t) v + g^2 (f the drift
// coefficient): a check that std, drift and diffusion belong together.
TEST(Sde, MarginalVarianceSolvesItsOde) {
  for (auto kind : {SdeKind::kVE, SdeKind::kVP, SdeKind::kSubVP}) {
    Sde sde{{kind}};
    for (double ti : {0.2, 0.5, 0.8}) {
      const double h = 1e-6;
      auto var = [&](double t) { return sde.std(torch::full({1}, t, torch::kFloat64)).pow(2).item<double>(); };
      auto tt = torch::full({1}, ti, torch::kFloat64);
      const double dvar = (var(ti + h) - var(ti - h)) / (2 * h);
      const double f = sde.drift(torch::ones({1, 1}, torch::kFloat64), tt).item<double>();
      const double g2 = sde.diffusion(tt).pow(2).item<double>();
      EXPECT_NEAR(dvar, 2 * f * var(ti) + g2, 1e-4 * std::max(1.0, g2)) << to_string(kind) << " t=" << ti;
    }
  }
}

TEST(Sde, PerturbAppliesMeanAndStd) {
  Sde sde{{SdeKind::kVP}};
  auto x0 = torch::full({2, 1, 2, 2}, 3.0, torch::kFloat64);
  auto z = torch::ones_like(x0);
  auto t = torch::tensor({0.3, 0.7}, torch::kFloat64);
  auto xt = sde.perturb(x0, t, z);
  for (int b = 0; b < 2; ++b)
    EXPECT_NEAR(xt[b][0][1][1].item<double>(),
                3.0 * sde.mean_coeff(t)[b].item<double>() + sde.std(t)[b].item<double>(), 1e-12);
}

TEST(Sde, ParsesItsNames) {
  EXPECT_EQ(sde_kind_from_string("vp"), SdeKind::kVP);
  EXPECT_THROW(sde_kind_from_string("vv"), std::invalid_argument);
}

}  // namespace
}  // namespace scorejam
