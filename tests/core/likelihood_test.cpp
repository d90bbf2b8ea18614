#include "core/likelihood.h"

#include "core/roll.h"
#include "core/roll_tensor.h"
#include "core/sampler.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace scorejam {
namespace {

// Data N(mu, s0^2) per dimension, perturbed by the VE SDE: p_t = N(mu, s0^2 + std(t)^2), whose
// score is analytic. The ODE's log-likelihood of x at eps must be that Gaussian's log-density.
struct GaussianData {
  Sde sde{SdeConfig{}};
  double mu = 0.2, s0 = 0.5;
  double variance(double t) const {
    const double std = sde.std(torch::full({1}, t, torch::kFloat64)).item<double>();
    return s0 * s0 + std * std;
  }
  ScoreFn score() const {
    return [this](const at::Tensor& x, const at::Tensor& t) {
      const auto std = per_sample(sde.std(t), x);
      return -(x - mu) / (s0 * s0 + std * std);
    };
  }
  static torch::Tensor gaussian_nll(const torch::Tensor& x, double mean, double v) {
    return 0.5 * (x - mean).square() / v + 0.5 * std::log(2 * M_PI * v);
  }
  // What the estimate must give per roll, over the counted dimensions: -log p_eps(x), less the
  // mismatch between p_1 and the prior N(0, std(1)^2) at the ODE's end point x(1) = mu + (x - mu)
  // sqrt(v(1) / v(eps)) (a Gaussian's probability flow scales its deviations).
  torch::Tensor nll(const torch::Tensor& x, double eps, const torch::Tensor& counted) const {
    const auto x64 = x.to(torch::kFloat64);
    const auto x1 = mu + (x64 - mu) * std::sqrt(variance(1.0) / variance(eps));
    const double prior_v = sde.prior_std() * sde.prior_std();
    const auto per_dim = gaussian_nll(x64, mu, variance(eps)) - gaussian_nll(x1, mu, variance(1.0)) +
                         gaussian_nll(x1, 0.0, prior_v);
    return (per_dim * counted.to(torch::kFloat64)).flatten(1).sum(1);
  }
};

torch::Tensor data_like(int64_t batch, int64_t seed) {
  torch::manual_seed(seed);
  return (torch::randn({batch, 1, 4, 6}) * 0.5 + 0.2).clamp(-1.4, 1.4);
}

TEST(Likelihood, MatchesTheClosedFormOfGaussianDataWithinTheSolversTolerance) {
  GaussianData data;
  const auto x = data_like(3, 0);
  LikelihoodConfig config;
  config.rtol = config.atol = 1e-6;
  const auto result = log_likelihood(data.score(), data.sde, x, config);
  const auto want = data.nll(x, config.eps, torch::ones_like(x));
  EXPECT_EQ(result.dims, 24);
  for (int b = 0; b < 3; ++b) EXPECT_NEAR(result.nll_nats[b].item<double>(), want[b].item<double>(), 1e-3) << "roll " << b;
  // Bits per dimension are the nats over dims ln 2.
  EXPECT_NEAR(result.bits_per_dim()[0].item<double>(), want[0].item<double>() / (24 * std::log(2.0)), 1e-4);
  EXPECT_GT(result.nfe, 10);
}

TEST(Likelihood, GaussianProbesAreUnbiasedAcrossSeeds) {
  GaussianData data;
  const auto x = data_like(1, 1);
  const double want = data.nll(x, 1e-5, torch::ones_like(x))[0].item<double>();
  std::vector<double> estimates;
  for (std::uint64_t seed = 0; seed < 12; ++seed) {
    LikelihoodConfig config;
    config.gaussian_probes = true;
    config.seed = seed;
    estimates.push_back(log_likelihood(data.score(), data.sde, x, config).nll_nats[0].item<double>());
  }
  double mean = 0, var = 0;
  for (double e : estimates) mean += e / estimates.size();
  for (double e : estimates) var += (e - mean) * (e - mean) / (estimates.size() - 1);
  const double standard_error = std::sqrt(var / estimates.size());
  EXPECT_GT(var, 0) << "Gaussian probes of a scaled identity vary; Rademacher ones do not";
  EXPECT_NEAR(mean, want, 4 * standard_error + 0.05);
}

TEST(Likelihood, AConditionalRegionCountsOnlyItsDimensions) {
  GaussianData data;
  const auto x = data_like(2, 2);
  auto region = torch::zeros({2, 1, 4, 6});
  region.slice(3, 3, 6).fill_(1);  // the last half: the continuation
  LikelihoodConfig config;
  config.rtol = config.atol = 1e-6;
  const auto result = log_likelihood(data.score(), data.sde, x, config, region);
  EXPECT_EQ(result.dims, 12);
  const auto want = data.nll(x, config.eps, region.expand_as(x));
  for (int b = 0; b < 2; ++b) EXPECT_NEAR(result.nll_nats[b].item<double>(), want[b].item<double>(), 2e-3) << "roll " << b;
}

TEST(Likelihood, BadInputIsAClearError) {
  GaussianData data;
  const LikelihoodConfig config;
  auto message = [&](const torch::Tensor& x, const torch::Tensor& region, const ScoreFn& score) -> std::string {
    try {
      log_likelihood(score, data.sde, x, config, region);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message(torch::zeros({4, 6}), {}, data.score()).find("[B, C, H, W]"), std::string::npos);
  EXPECT_NE(message(torch::full({1, 1, 4, 6}, 3.0), {}, data.score()).find("[-1, 1]"), std::string::npos);
  EXPECT_NE(message(torch::zeros({1, 1, 4, 6}), torch::zeros({1, 1, 4, 6}), data.score()).find("no dimension"),
            std::string::npos);
  const ScoreFn nan = [](const at::Tensor& x, const at::Tensor&) { return x * std::nan(""); };
  EXPECT_NE(message(torch::zeros({1, 1, 4, 6}), {}, nan).find("not finite"), std::string::npos);
}

TEST(Likelihood, ANetworkGivesFiniteBitsAndTheRegionOfItsUnknownPart) {
  torch::manual_seed(0);
  ScoreNetConfig config{3, {8, 16}, 16};
  config.conditional = true;
  ScoreNet net(config, Sde{});
  const auto x = torch::rand({1, 3, 88, 16}).round() * 2 - 1;
  Inpainting inpainting{x, torch::zeros({1, 1, 88, 16})};
  inpainting.mask.slice(3, 0, 8).fill_(1);
  LikelihoodConfig loose;
  loose.rtol = loose.atol = 1e-2;
  const auto result = log_likelihood(net, x, loose, &inpainting);
  EXPECT_EQ(result.dims, 3 * 88 * 8);
  EXPECT_TRUE(std::isfinite(result.bits_per_dim()[0].item<double>()));
  EXPECT_THROW(log_likelihood(net, torch::zeros({1, 2, 88, 16}), loose), std::invalid_argument);
}

// The live surprise's window: the counted region is the frames after the known ones, its notes are
// the ones struck there, and the figure is the network's likelihood of exactly that roll and mask.
TEST(Likelihood, AGridWindowCountsTheNotesAfterItsKnownFramesAndCanBeCancelled) {
  torch::manual_seed(0);
  ModelSpec spec;
  spec.net = ScoreNetConfig{3, {8, 16}, 16};
  spec.net.conditional = true;
  spec.window_frames = 16;
  ScoreNet net(spec.net, Sde{});
  const std::vector<GridNote> notes{{1, 5, 60, 80}, {3, 9, 64, 70}, {8, 12, 67, 90}, {10, 16, 72, 60}, {15, 16, 48, 50}};
  LikelihoodConfig loose;
  loose.rtol = loose.atol = 1e-2;
  const auto bits = grid_window_bits(net, spec, notes, {}, 8, loose);
  EXPECT_EQ(bits.notes, 3);  // struck at frames 8, 10 and 15; the note held over from frame 3 is known
  EXPECT_EQ(bits.dims, 3 * 88 * 8);
  EXPECT_GT(bits.nfe, 0);
  ASSERT_TRUE(std::isfinite(bits.bits_per_dim));
  EXPECT_NEAR(bits.bits_per_note, bits.bits_per_dim * static_cast<double>(bits.dims) / 3, 1e-9);

  const auto x = roll_to_tensor(render_roll(notes, {}, spec.roll.fs_hz, 0, 16), spec.roll, 3).unsqueeze(0);
  Inpainting inpainting{x, torch::zeros({1, 1, 88, 16})};
  inpainting.mask.slice(3, 0, 8).fill_(1);
  EXPECT_NEAR(bits.bits_per_dim, log_likelihood(net, x, loose, &inpainting).bits_per_dim()[0].item<double>(), 1e-9);

  const auto silent_after = grid_window_bits(net, spec, {{1, 5, 60, 80}}, {}, 8, loose);
  EXPECT_EQ(silent_after.notes, 0);
  EXPECT_TRUE(std::isnan(silent_after.bits_per_note));

  EXPECT_THROW(grid_window_bits(net, spec, notes, {}, 0, loose), std::invalid_argument);
  EXPECT_THROW(grid_window_bits(net, spec, notes, {}, 16, loose), std::invalid_argument);
  std::atomic<bool> cancel{true};
  loose.cancel = &cancel;
  EXPECT_THROW(grid_window_bits(net, spec, notes, {}, 8, loose), SamplingCancelled);
}

// Song et al.'s offset for 8-bit data in [-1, 1] is 7 bits (bins of 2/256); the roll's channels
// have bins of 2 (two-valued) and 2/127 (velocity), and the onset offset is continuous.
TEST(Likelihood, TheDequantisationOffsetIsMinusLog2OfEachChannelsBinWidth) {
  RollFormat plain;
  EXPECT_NEAR(dequantisation_offset_bits(plain, 3), (-1 - 1 + std::log2(127.0 / 2)) / 3, 1e-12);
  EXPECT_NEAR(dequantisation_offset_bits(plain, 1), -1, 1e-12);  // onsets only
  RollFormat full;
  full.sustain_pedal = false;
  full.pedal_channel = true;
  full.onset_offsets = true;
  EXPECT_NEAR(dequantisation_offset_bits(full, 5), (-1 - 1 + std::log2(127.0 / 2) - 1 + 0) / 5, 1e-12);
}

}  // namespace
}  // namespace scorejam
