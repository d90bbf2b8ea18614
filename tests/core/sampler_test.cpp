#include "core/sampler.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/roll.h"
#include "core/roll_tensor.h"

namespace scorejam {
namespace {

// Data x0 ~ N(mu, s^2) elementwise has the exact score -(x - m(t) mu) / (m(t)^2 s^2 + std(t)^2).
ScoreFn gaussian_score(const Sde& sde, double mu, double s) {
  return [&sde, mu, s](const at::Tensor& x, const at::Tensor& t) {
    auto m = per_sample(sde.mean_coeff(t), x);
    auto var = m * m * s * s + per_sample(sde.std(t), x).pow(2);
    return -(x - m * mu) / var;
  };
}

std::vector<SamplerConfig> every_sampler() {
  SamplerConfig em{SamplerKind::kEulerMaruyama, 400};
  SamplerConfig pc{SamplerKind::kPredictorCorrector, 200};
  SamplerConfig ode{SamplerKind::kOde};
  SamplerConfig heun{SamplerKind::kHeun, 30};
  return {em, pc, ode, heun};
}

TEST(Sampler, EverySamplerReproducesAGaussian) {
  for (auto kind : {SdeKind::kVE, SdeKind::kVP}) {
    const Sde sde{{kind}};
    for (auto config : every_sampler()) {
      config.seed = 7;
      auto result = sample(gaussian_score(sde, 0.5, 0.2), sde, {4, 1, 16, 32}, config, torch::kFloat32);
      const double mean = result.x.mean().item<double>(), stddev = result.x.std().item<double>();
      EXPECT_NEAR(mean, 0.5, 0.03) << to_string(config.kind) << " " << to_string(kind);
      EXPECT_NEAR(stddev, 0.2, 0.03) << to_string(config.kind) << " " << to_string(kind);
    }
  }
}

TEST(Sampler, CountsNetworkEvaluations) {
  const Sde sde{};
  auto score = gaussian_score(sde, 0, 1);
  auto nfe = [&](SamplerConfig c) { return sample(score, sde, {1, 1, 4, 4}, c, torch::kFloat32).nfe; };
  EXPECT_EQ(nfe({SamplerKind::kEulerMaruyama, 50}), 50);
  SamplerConfig pc{SamplerKind::kPredictorCorrector, 50};
  pc.corrector_steps = 2;
  EXPECT_EQ(nfe(pc), 150);
  EXPECT_EQ(nfe({SamplerKind::kHeun, 10}), 19);
  EXPECT_GT(nfe({SamplerKind::kOde}), 6);
}

TEST(Sampler, SameSeedSameSamplesOtherSeedOtherSamples) {
  const Sde sde{};
  auto score = gaussian_score(sde, 0, 1);
  for (auto config : every_sampler()) {
    config.steps = std::min(config.steps, 20);
    config.seed = 3;
    auto a = sample(score, sde, {1, 1, 8, 8}, config, torch::kFloat32).x;
    auto b = sample(score, sde, {1, 1, 8, 8}, config, torch::kFloat32).x;
    config.seed = 4;
    auto c = sample(score, sde, {1, 1, 8, 8}, config, torch::kFloat32).x;
    EXPECT_TRUE(torch::equal(a, b)) << to_string(config.kind);
    EXPECT_FALSE(torch::equal(a, c)) << to_string(config.kind);
  }
}

TEST(Sampler, HeunGridRunsFromOneToEpsWithFallingNoise) {
  const Sde sde{};
  auto grid = heun_time_grid(sde, 8, 1e-3);
  ASSERT_EQ(grid.size(), 9u);
  EXPECT_EQ(grid.front(), 1.0);
  EXPECT_EQ(grid.back(), 1e-3);
  for (std::size_t i = 1; i < grid.size(); ++i) EXPECT_LT(grid[i], grid[i - 1]);
}

// A roll whose first half is a real phrase; the second half is to be generated.
PianoRoll phrase_roll() {
  std::vector<Note> notes;
  for (int i = 0; i < 12; ++i) notes.push_back({i * 0.25, i * 0.25 + 0.5, 60 + (i * 5) % 17, 30 + 7 * i, 0});
  auto grid = quantize(notes, {}, {16, false});
  return render_roll(grid, 16, 0, 64);
}

TEST(Sampler, EverySamplerKeepsTheKnownRegionExactly) {
  const auto roll = phrase_roll();
  const auto known = roll_to_tensor(roll, 3).unsqueeze(0);
  auto mask = torch::zeros({1, 1, kKeys, 64});
  mask.slice(3, 0, 32).fill_(1);
  const Inpainting inpainting{known, mask};
  for (auto kind : {SdeKind::kVE, SdeKind::kVP, SdeKind::kSubVP}) {
    const Sde sde{{kind}};
    for (auto config : every_sampler()) {
      config.steps = std::min(config.steps, 25);
      config.rtol = config.atol = 1e-3;
      auto result = sample(gaussian_score(sde, -0.8, 0.5), sde, known.sizes(), config, torch::kFloat32, &inpainting);
      auto x = result.x[0];
      EXPECT_TRUE(torch::equal(x.slice(2, 0, 32), known[0].slice(2, 0, 32))) << to_string(config.kind);
      // After decoding, the notes of the known half are the phrase's notes.
      auto decoded = tensor_to_roll(x, 16);
      auto expected = decode_roll(render_roll(decode_roll(roll), 16, 0, 32));
      auto got = decode_roll(render_roll(decode_roll(decoded), 16, 0, 32));
      EXPECT_EQ(got, expected) << to_string(config.kind) << " " << to_string(kind);
      EXPECT_FALSE(torch::equal(x.slice(2, 32, 64), known[0].slice(2, 32, 64))) << to_string(config.kind);
    }
  }
}

TEST(Sampler, ConditionalNetworkSeesTheKnownRoll) {
  torch::manual_seed(0);
  ScoreNetConfig config{1, {8, 16}, 16};
  config.conditional = true;
  ScoreNet net(config, Sde{});
  auto known = torch::ones({1, 1, kKeys, 16});
  auto mask = torch::zeros({1, 1, kKeys, 16});
  mask.slice(3, 0, 8).fill_(1);
  Inpainting inpainting{known, mask};
  auto with = sample(net, {1, 1, kKeys, 16}, {SamplerKind::kHeun, 3}, &inpainting);
  EXPECT_TRUE(torch::equal(with.x.slice(3, 0, 8), known.slice(3, 0, 8)));
  EXPECT_EQ(with.nfe, 5);
}

// A small untrained conditional network, and two rolls of 16 frames whose first 8 are known.
class GuidedSampler : public testing::Test {
 protected:
  GuidedSampler() {
    torch::manual_seed(0);
    ScoreNetConfig config{1, {8, 16}, 16};
    config.conditional = true;
    net = ScoreNet(config, Sde{});
    net->eval();
    known = torch::rand(shape) * 2 - 1;
    mask = torch::zeros({2, 1, kKeys, 16});
    mask.slice(3, 0, 8).fill_(1);
    inpainting = {known, mask};
  }
  ScoreNet net{nullptr};
  std::vector<int64_t> shape{2, 1, kKeys, 16};
  torch::Tensor known, mask;
  Inpainting inpainting;
};

// Guidance w samples with s_none + w (s_known - s_none): w = 0 is the network knowing nothing, w = 2
// leans twice as far towards what is known. Checked against score functions built by hand.
TEST_F(GuidedSampler, ClassifierFreeGuidanceMixesTheScoresWithAndWithoutTheKnownRoll) {
  auto by_hand = [&](double w) {
    ScoreFn score = [&, w](const at::Tensor& x, const at::Tensor& t) {
      auto with = net->forward(x, t, known, mask);
      auto without = net->forward(x, t, torch::zeros_like(known), torch::zeros_like(mask));
      return without + (with - without) * w;
    };
    return sample(score, net->sde(), shape, {SamplerKind::kHeun, 3}, torch::kFloat32, &inpainting).x;
  };
  for (double w : {0.0, 1.0, 2.5}) {
    SamplerConfig guided{SamplerKind::kHeun, 3};
    guided.guidance = w;
    auto got = sample(net, shape, guided, &inpainting);
    EXPECT_TRUE(torch::allclose(got.x, by_hand(w), 1e-4, 1e-4)) << "guidance " << w;
    EXPECT_EQ(got.nfe, 5);
  }
  SamplerConfig plain{SamplerKind::kHeun, 3}, strong = plain;
  strong.guidance = 3;
  EXPECT_FALSE(torch::allclose(sample(net, shape, plain, &inpainting).x, sample(net, shape, strong, &inpainting).x));
}

// With guidance_t_min, the steps at t >= guidance_t_min are guided and the later ones take the plain
// conditional score: checked against a score function built by hand, and against both ends.
TEST_F(GuidedSampler, GuidanceStopsBelowGuidanceTMin) {
  SamplerConfig guided{SamplerKind::kPredictorCorrector, 6};
  guided.guidance = 3;
  guided.seed = 7;
  int guided_calls = 0, plain_calls = 0;
  ScoreFn by_hand = [&](const at::Tensor& x, const at::Tensor& t) {
    auto with = net->forward(x, t, known, mask);
    if (t[0].item<double>() < 0.5) {
      ++plain_calls;
      return with;
    }
    ++guided_calls;
    auto without = net->forward(x, t, torch::zeros_like(known), torch::zeros_like(mask));
    return without + (with - without) * 3.0;
  };
  auto interval = guided;
  interval.guidance_t_min = 0.5;
  const auto got = sample(net, shape, interval, &inpainting);
  const auto expected = sample(by_hand, net->sde(), shape, interval, torch::kFloat32, &inpainting);
  EXPECT_TRUE(torch::allclose(got.x, expected.x, 1e-4, 1e-4));
  EXPECT_GT(guided_calls, 0);
  EXPECT_GT(plain_calls, 0);
  EXPECT_EQ(got.nfe, expected.nfe);

  auto unguided = guided;
  unguided.guidance = 1;
  auto everywhere = guided;
  everywhere.guidance_t_min = 0;
  EXPECT_TRUE(torch::equal(sample(net, shape, everywhere, &inpainting).x, sample(net, shape, guided, &inpainting).x));
  EXPECT_FALSE(torch::allclose(got.x, sample(net, shape, everywhere, &inpainting).x, 1e-4, 1e-4));
  EXPECT_FALSE(torch::allclose(got.x, sample(net, shape, unguided, &inpainting).x, 1e-4, 1e-4));
  EXPECT_TRUE(torch::equal(got.x.slice(3, 0, 8), known.slice(3, 0, 8)));
}

TEST(Sampler, RejectsBadArguments) {
  const Sde sde{};
  auto score = gaussian_score(sde, 0, 1);
  EXPECT_THROW(sample(score, sde, {1, 4, 4}, {}, torch::kFloat32), std::invalid_argument);
  EXPECT_THROW(sample(score, sde, {1, 1, 4, 4}, {SamplerKind::kEulerMaruyama, 0}, torch::kFloat32),
               std::invalid_argument);
  EXPECT_THROW(sampler_kind_from_string("ddim"), std::invalid_argument);
}

}  // namespace
}  // namespace scorejam
