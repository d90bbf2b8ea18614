#include "core/score_net.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace scorejam {
namespace {

TEST(ScoreNet, KeepsTheShapeOfARollWindow) {
  torch::manual_seed(0);
  ScoreNet net(ScoreNetConfig{3, {16, 32, 64, 64}, 32}, Sde{});
  auto x = torch::randn({2, 3, 88, 64});
  EXPECT_EQ(net->forward(x, torch::full({2}, 0.5)).sizes(), x.sizes());
}

TEST(ScoreNet, PadsSizesThatAreNoMultipleOfTwoToTheDepth) {
  torch::manual_seed(0);
  ScoreNet net(ScoreNetConfig{1, {32, 64, 128, 256}, 256}, Sde{});
  auto x = torch::randn({3, 1, 28, 28});
  EXPECT_EQ(net->forward(x, torch::full({3}, 0.3)).sizes(), x.sizes());
}

TEST(ScoreNet, OriginalValidLayoutKeeps28By28) {
  torch::manual_seed(0);
  ScoreNetConfig config{1, {32, 64, 128, 256}, 256};
  config.valid_convolutions = true;
  ScoreNet net(config, Sde{});
  auto x = torch::randn({2, 1, 28, 28});
  EXPECT_EQ(net->forward(x, torch::full({2}, 0.3)).sizes(), x.sizes());
  {
    torch::NoGradGuard no_grad;  // the preallocated inference path
    EXPECT_EQ(net->forward(x, torch::full({2}, 0.3)).sizes(), x.sizes());
  }
  EXPECT_GT(net->parameter_count(), 1'000'000);
  EXPECT_THROW(net->forward(torch::randn({1, 1, 6, 6}), torch::full({1}, 0.3)), std::exception);
}

TEST(ScoreNet, AttentionAtTheLowestResolutionRuns) {
  torch::manual_seed(0);
  ScoreNetConfig config{2, {8, 16}, 16};
  config.attention = true;
  ScoreNet with(config, Sde{});
  config.attention = false;
  ScoreNet without(config, Sde{});
  EXPECT_GT(with->parameter_count(), without->parameter_count());
  EXPECT_EQ(with->forward(torch::randn({1, 2, 88, 32}), torch::full({1}, 0.5)).sizes(),
            (std::vector<int64_t>{1, 2, 88, 32}));
}

TEST(ScoreNet, ConditionalModelReadsTheKnownRoll) {
  torch::manual_seed(0);
  ScoreNetConfig config{1, {8, 16}, 16};
  config.conditional = true;
  ScoreNet net(config, Sde{});
  auto x = torch::randn({1, 1, 88, 16});
  auto t = torch::full({1}, 0.5);
  auto mask = torch::zeros({1, 1, 88, 16});
  mask.slice(3, 0, 8).fill_(1);
  auto a = net->forward(x, t, torch::ones_like(x), mask);
  auto b = net->forward(x, t, -torch::ones_like(x), mask);
  EXPECT_FALSE(torch::allclose(a, b));
  EXPECT_THROW(net->forward(x, t), std::invalid_argument);
}

// A key held in the known past, far from the frames looked at: beyond any convolution's reach, only
// GroupNorm's statistics (a trace) and the summary carry it there.
TEST(ScoreNet, ContextSummaryCarriesTheKnownRollToEveryFrame) {
  double change[2] = {0, 0};
  for (bool summary : {false, true}) {
    torch::manual_seed(0);
    ScoreNetConfig config{1, {8, 16}, 16};
    config.conditional = true;
    config.context_summary = summary;
    ScoreNet net(config, Sde{});
    auto x = torch::randn({1, 1, 88, 64});
    auto t = torch::full({1}, 0.5);
    auto mask = torch::zeros({1, 1, 88, 64});
    mask.slice(3, 0, 8).fill_(1);
    auto silent = -torch::ones_like(x);
    auto played = silent.clone();
    played.slice(3, 0, 4).select(2, 40).fill_(1.0);  // one key held for the first 4 frames
    auto far = [&](const torch::Tensor& known) { return net->forward(x, t, known, mask).slice(3, 48, 64); };
    change[summary] = (far(silent) - far(played)).abs().mean().item<double>();
  }
  EXPECT_GT(change[1], 5 * change[0]) << "without " << change[0] << ", with " << change[1];
  ScoreNetConfig unconditional{1, {8, 16}, 16};
  unconditional.context_summary = true;
  EXPECT_THROW(ScoreNet(unconditional, Sde{}), std::invalid_argument);
}

// The summary reaches every frame but says nothing of where: a key held in the known past changes
// the far frames of every key alike. The map tells each key's own row, so there the change is on
// the keys that were played.
TEST(ScoreNet, ContextMapCarriesTheKnownKeysAlongTheirOwnRows) {
  double own_over_others[2] = {0, 0};
  for (bool map : {false, true}) {
    torch::manual_seed(0);
    ScoreNetConfig config{1, {8, 16}, 16};
    config.conditional = true;
    config.context_summary = true;
    config.context_map = map;
    ScoreNet net(config, Sde{});
    auto x = torch::randn({1, 1, 88, 64});
    auto t = torch::full({1}, 0.5);
    auto mask = torch::zeros({1, 1, 88, 64});
    mask.slice(3, 0, 8).fill_(1);
    auto silent = -torch::ones_like(x);
    auto played = silent.clone();
    played.slice(3, 0, 4).select(2, 40).fill_(1.0);  // key 40 held for the first 4 frames
    auto far = [&](const torch::Tensor& known) { return net->forward(x, t, known, mask).slice(3, 48, 64); };
    const auto change = (far(silent) - far(played)).abs().mean(3).squeeze();  // per key
    const double own = change[40].item<double>();
    const double others = torch::cat({change.slice(0, 0, 30), change.slice(0, 51, 88)}).mean().item<double>();
    own_over_others[map] = own / others;
  }
  EXPECT_LT(own_over_others[0], 2.0) << "the summary alone is not expected to say which key";
  EXPECT_GT(own_over_others[1], 10.0) << "with the map the change must be on the played key's row";
  ScoreNetConfig unconditional{1, {8, 16}, 16};
  unconditional.context_map = true;
  EXPECT_THROW(ScoreNet(unconditional, Sde{}), std::invalid_argument);
}

// The map's planes: nothing known gives zeros and only the key's place; a known past gives each
// key's mean over all of it and over its last kRecentFrames.
TEST(ScoreNet, ContextMapKnowsNothingWhenNothingIsKnown) {
  torch::manual_seed(0);
  ScoreNetConfig config{1, {8, 16}, 16};
  config.conditional = true;
  config.context_map = true;
  ScoreNet net(config, Sde{});
  auto x = torch::randn({2, 1, 88, 64});
  auto t = torch::full({2}, 0.5);
  auto mask = torch::zeros({2, 1, 88, 64});
  // With nothing known, what the known roll holds must not matter.
  auto a = net->forward(x, t, torch::ones_like(x), mask);
  auto b = net->forward(x, t, -torch::ones_like(x), mask);
  EXPECT_TRUE(torch::equal(a, b));
}

// Samplers make the known past into the network's condition once per window and reuse it at every
// step: it must depend on the known past alone, not on the roll or the time it first met, and a
// conditional network without one is an error, not a silently unconditional score.
TEST(ScoreNet, TheConditionMadeOnceScoresAtEveryStepAsTheKnownPastDoes) {
  for (bool map : {false, true}) {
    torch::manual_seed(0);
    ScoreNetConfig config{3, {8, 16}, 16};
    config.conditional = true;
    config.context_summary = true;
    config.context_map = map;
    config.preconditioning = "edm";
    ScoreNet net(config, Sde{});
    torch::NoGradGuard no_grad;
    auto known = torch::where(torch::rand({2, 3, 88, 40}) < 0.1, 1.0, -1.0);
    auto mask = torch::zeros({2, 1, 88, 40});
    mask.slice(3, 0, 20).fill_(1);
    const auto condition = net->condition(known, mask);
    for (double t : {0.9, 0.3, 0.01}) {
      auto x = torch::randn({2, 3, 88, 40});
      auto tt = torch::full({2}, t);
      EXPECT_TRUE(torch::equal(net->forward(x, tt, condition), net->forward(x, tt, known, mask))) << "map " << map << " t " << t;
    }
    // Another known past gives another score: the condition is not the first one kept.
    auto x = torch::randn({2, 3, 88, 40});
    auto tt = torch::full({2}, 0.5);
    EXPECT_FALSE(torch::allclose(net->forward(x, tt, condition), net->forward(x, tt, -torch::ones_like(known), mask)));
    EXPECT_THROW(net->forward(x, tt, ScoreNetCondition{}), std::invalid_argument);
  }
}

TEST(ScoreNet, OutputScalesWithOneOverStd) {
  // The last layer's output is divided by std(t): at small t the scores are large.
  torch::manual_seed(0);
  ScoreNet net(ScoreNetConfig{1, {8, 16}, 16}, Sde{});
  auto x = torch::randn({1, 1, 88, 16});
  auto early = net->forward(x, torch::full({1}, 0.01)).abs().mean().item<double>();
  auto late = net->forward(x, torch::full({1}, 1.0)).abs().mean().item<double>();
  EXPECT_GT(early, 5 * late);
}

// With its last layer zeroed (F = 0) the EDM network's denoiser is c_skip x: then its score must be
// exactly that of Gaussian data of std sigma_data perturbed by the SDE, -x / (std^2 + mean^2 sd^2).
TEST(ScoreNet, EdmPreconditioningWithZeroOutputIsTheGaussianDataScore) {
  for (auto kind : {SdeKind::kVE, SdeKind::kVP}) {
    torch::manual_seed(0);
    ScoreNetConfig config{1, {8, 16}, 16};
    config.preconditioning = "edm";
    config.sigma_data = 0.4;
    Sde sde{{kind}};
    ScoreNet net(config, sde);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : net->named_parameters())
        if (p.key().rfind("out.", 0) == 0) p.value().zero_();
    }
    auto x = torch::randn({3, 1, 88, 16}) * 3;
    auto t = torch::tensor({0.01, 0.3, 0.9}, torch::kFloat32);
    auto expected = -x / per_sample(sde.std(t).square() + sde.mean_coeff(t).square() * 0.16, x);
    EXPECT_TRUE(torch::allclose(net->forward(x, t), expected, 1e-4, 1e-5)) << to_string(kind);
  }
}

// A conditional network whose first convolution ignores the known roll and the mask computes what
// the unconditional one with the same weights does: the EDM input scaling (x / mean times c_in)
// must reach the noisy roll on both paths.
TEST(ScoreNet, EdmScalesTheNoisyInputOfAConditionalNetworkToo) {
  for (const char* preconditioning : {"song", "edm"}) {
    ScoreNetConfig config{1, {8, 16}, 16};
    config.preconditioning = preconditioning;
    torch::manual_seed(0);
    ScoreNet plain(config, Sde{});
    config.conditional = true;
    torch::manual_seed(0);
    ScoreNet conditional(config, Sde{});
    {
      torch::NoGradGuard no_grad;
      auto from = plain->named_parameters(), to = conditional->named_parameters();
      for (const auto& p : from) {
        auto& q = to[p.key()];
        if (q.sizes() == p.value().sizes()) {
          q.copy_(p.value());
        } else {  // the first convolution: its input channels are (x, known * mask, mask)
          q.zero_();
          q.narrow(1, 0, 1).copy_(p.value());
        }
      }
      for (const auto& b : plain->named_buffers()) conditional->named_buffers()[b.key()].copy_(b.value());
    }
    auto x = torch::randn({2, 1, 88, 16}) * 5;
    auto t = torch::tensor({0.2, 0.9}, torch::kFloat32);
    auto known = torch::randn_like(x), mask = torch::ones_like(x);
    EXPECT_TRUE(torch::allclose(conditional->forward(x, t, known, mask), plain->forward(x, t), 1e-4, 1e-5))
        << preconditioning;
  }
}

TEST(ScoreNet, UnknownPreconditioningIsRefusedNamingIt) {
  ScoreNetConfig config{1, {8, 16}, 16};
  config.preconditioning = "ddpm";
  try {
    ScoreNet net(config, Sde{});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("ddpm"), std::string::npos);
  }
}

TEST(DsmLoss, EdmWeighsEachSampleByOnePlusSigmaSquaredOverSigmaDataSquared) {
  torch::manual_seed(0);
  ScoreNetConfig config{1, {8, 16}, 16};
  config.preconditioning = "edm";
  config.sigma_data = 0.5;
  ScoreNet net(config, Sde{});
  auto x0 = torch::rand({3, 1, 88, 16}) * 2 - 1;
  auto t = torch::tensor({0.05, 0.5, 1.0}, torch::kFloat32);
  auto z = torch::randn_like(x0);
  auto own = dsm_loss_at(net, x0, t, z, {}, {});
  auto song = dsm_loss_at(net, x0, t, z, {}, {}, DsmWeighting::kSong);
  auto sigma = net->sde().std(t);  // VE: mean 1
  EXPECT_TRUE(torch::allclose(own, song * (1 + sigma.square() / 0.25), 1e-5));
  EXPECT_GT(own[2].item<double>(), 100 * song[2].item<double>());  // sigma(1) = 9.8: weight ~390
}

TEST(ScoreNet, CountsItsParameters) {
  ScoreNet net(ScoreNetConfig{1, {32, 64, 128, 256}, 256}, Sde{});
  int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  EXPECT_EQ(net->parameter_count(), n);
  // The original ScoreNet of Song's tutorial has about 1.1 M parameters in this configuration.
  EXPECT_GT(n, 1'000'000);
  EXPECT_LT(n, 1'300'000);
}

TEST(ScoreNet, RejectsWidthsThatCannotBeNormalised) {
  EXPECT_THROW(ScoreNet(ScoreNetConfig{1, {30, 64}, 16}, Sde{}), std::invalid_argument);
  EXPECT_THROW(ScoreNet(ScoreNetConfig{1, {32}, 16}, Sde{}), std::invalid_argument);
}

TEST(DsmLoss, FallsWhenTrainingOnASimpleDistribution) {
  torch::manual_seed(1);
  ScoreNet net(ScoreNetConfig{1, {16, 32}, 32}, Sde{{SdeKind::kVE, 25.0}});
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(2e-3));
  // Data: a fixed pattern of horizontal stripes in [-1, 1].
  auto pattern = (torch::arange(16).remainder(4) < 2).to(torch::kFloat32).mul(2).sub(1).view({1, 1, 16, 1});
  auto data = pattern.expand({16, 1, 16, 16}).contiguous();
  auto average = [&](int steps, bool train) {
    double sum = 0;
    for (int i = 0; i < steps; ++i) {
      auto loss = dsm_loss(net, data);
      if (train) {
        adam.zero_grad();
        loss.backward();
        adam.step();
      }
      sum += loss.item<double>();
    }
    return sum / steps;
  };
  torch::manual_seed(2);
  const double before = average(20, false);
  average(150, true);
  torch::manual_seed(2);
  const double after = average(20, false);
  EXPECT_LT(after, 0.7 * before) << "before " << before << " after " << after;
}

TEST(DsmLoss, EdmNetworkLearnsTheStripesToo) {
  torch::manual_seed(1);
  ScoreNetConfig config{1, {16, 32}, 32};
  config.preconditioning = "edm";
  ScoreNet net(config, Sde{{SdeKind::kVE, 25.0}});
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(2e-3));
  auto pattern = (torch::arange(16).remainder(4) < 2).to(torch::kFloat32).mul(2).sub(1).view({1, 1, 16, 1});
  auto data = pattern.expand({16, 1, 16, 16}).contiguous();
  // Judged with Song's weighting at fixed draws, so the figure means the same before and after.
  auto t = torch::rand({16}) * 0.9 + 0.05;
  auto z = torch::randn_like(data);
  auto judge = [&] {
    torch::NoGradGuard no_grad;
    return dsm_loss_at(net, data, t, z, {}, {}, DsmWeighting::kSong).mean().item<double>();
  };
  const double before = judge();
  for (int i = 0; i < 150; ++i) {
    auto loss = dsm_loss(net, data);
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  const double after = judge();
  EXPECT_LT(after, 0.7 * before) << "before " << before << " after " << after;
}

}  // namespace
}  // namespace scorejam

namespace scorejam {
namespace {

// The bundled model's shape at a smaller size: conditional, context summary and map, attention, EDM.
ScoreNetConfig bundled_like() {
  ScoreNetConfig config{3, {8, 16, 32, 32}, 32};
  config.conditional = true;
  config.context_summary = true;
  config.context_map = true;
  config.attention = true;
  config.preconditioning = "edm";
  return config;
}

struct Evaluation {
  torch::Tensor x, t, known, mask;
};

Evaluation evaluation_inputs(int64_t channels, int64_t height, int64_t width, int64_t batch = 2) {
  torch::manual_seed(1);
  Evaluation e;
  e.x = torch::randn({batch, channels, height, width}) * 3;
  e.t = torch::tensor({0.3, 0.8}).narrow(0, 0, batch);
  e.known = torch::rand({batch, channels, height, width}) * 2 - 1;
  e.mask = torch::zeros({batch, 1, height, width});
  e.mask.slice(3, 0, width / 2).fill_(1);
  return e;
}

double relative_error(const torch::Tensor& got, const torch::Tensor& want) {
  return ((got - want).norm() / want.norm()).item<double>();
}

TEST(SubpixelConvTransposed, IsTheTransposedConvolutionInBothLayouts) {
  torch::manual_seed(3);
  const auto x = torch::randn({2, 6, 11, 16});
  const auto weight = torch::randn({6, 4, 3, 3});
  const auto bias = torch::randn({4});
  for (const auto& [padding, extra] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {0, 0}, {0, 1}}) {
    const auto want = torch::conv_transpose2d(x, weight, bias, 2, padding, extra);
    const auto got = subpixel_conv_transposed(x, weight, bias, padding, {extra, extra});
    ASSERT_EQ(got.sizes(), want.sizes()) << "padding " << padding << ", output padding " << extra;
    EXPECT_LT((got - want).abs().max().item<double>(), 1e-4) << "padding " << padding << ", output padding " << extra;
    const auto nhwc = subpixel_conv_transposed(x.contiguous(torch::MemoryFormat::ChannelsLast), weight, bias, padding,
                                               {extra, extra});
    EXPECT_LT((nhwc - want).abs().max().item<double>(), 1e-4);
  }
}

TEST(ScoreNet, BeatPlanesReachTheScoreAndAreCheckedForShape) {
  torch::manual_seed(0);
  ScoreNetConfig config{3, {8, 16}, 16};
  config.conditional = true;
  config.beat_planes = true;
  ScoreNet net(config, Sde{});
  const auto x = torch::randn({1, 3, 88, 16});
  const auto t = torch::full({1}, 0.5);
  auto mask = torch::zeros({1, 1, 88, 16});
  mask.slice(3, 0, 8).fill_(1);
  const auto known = torch::ones_like(x);
  auto beats = torch::zeros({1, 5, 1, 16});
  beats.select(1, 0).fill_(1);
  beats.select(1, 4).fill_(1);
  torch::NoGradGuard no_grad;
  const auto without = net->forward(x, t, known, mask);
  EXPECT_TRUE(torch::allclose(without, net->forward(x, t, known, mask, torch::zeros({1, 5, 1, 16}))))
      << "no beats given = nothing known";
  EXPECT_FALSE(torch::allclose(without, net->forward(x, t, known, mask, beats)));
  EXPECT_THROW(net->forward(x, t, known, mask, torch::zeros({1, 4, 1, 16})), std::invalid_argument);
  config.conditional = false;
  EXPECT_THROW(ScoreNet(config, Sde{}), std::invalid_argument);
}

TEST(ScoreNetComputePath, ChannelsLastGivesTheFp32ResultToRounding) {
  torch::manual_seed(0);
  ScoreNet net(bundled_like(), Sde{});
  const auto in = evaluation_inputs(3, 88, 64);
  torch::NoGradGuard no_grad;
  const auto want = net->forward(in.x, in.t, in.known, in.mask);
  net->set_compute({false, true});
  const auto got = net->forward(in.x, in.t, in.known, in.mask);
  EXPECT_TRUE(got.is_contiguous());  // samplers get NCHW whatever the path
  EXPECT_LT(relative_error(got, want), 1e-5);
  // The weights are NHWC now; back on the contiguous path the result is the same.
  net->set_compute({false, false});
  EXPECT_LT(relative_error(net->forward(in.x, in.t, in.known, in.mask), want), 1e-5);
}

// bf16 in NHWC, the path `auto` takes where bf16 is native. (In NCHW on a CPU without native
// bf16, LibTorch's fallback convolution accumulates in bf16: 2.7% off for one 64-channel layer.)
TEST(ScoreNetComputePath, Bf16GivesTheFp32ResultWithinTwoPercent) {
  torch::manual_seed(0);
  ScoreNet net(bundled_like(), Sde{});
  const auto in = evaluation_inputs(3, 88, 64);
  torch::NoGradGuard no_grad;
  const auto want = net->forward(in.x, in.t, in.known, in.mask);
  net->set_compute({true, true});
  const auto got = net->forward(in.x, in.t, in.known, in.mask);
  EXPECT_EQ(got.scalar_type(), torch::kFloat);
  const double error = relative_error(got, want);
  EXPECT_LT(error, 0.02);
  EXPECT_GT(error, 0.0) << "bf16 must really compute in bf16";
}

TEST(ScoreNetComputePath, TheOriginalValidLayoutGivesTheSameResultInNhwc) {
  torch::manual_seed(0);
  ScoreNetConfig config{1, {32, 64, 128, 256}, 256};
  config.valid_convolutions = true;
  ScoreNet net(config, Sde{});
  torch::manual_seed(2);
  const auto x = torch::randn({2, 1, 28, 28});
  const auto t = torch::full({2}, 0.3);
  torch::NoGradGuard no_grad;
  const auto want = net->forward(x, t);
  net->set_compute({false, true});
  EXPECT_LT(relative_error(net->forward(x, t), want), 1e-5);
  net->set_compute({true, true});
  EXPECT_LT(relative_error(net->forward(x, t), want), 0.02);
}

TEST(ScoreNetComputePath, TrainingGradientsInNhwcAndBf16FollowTheFp32Ones) {
  const auto in = evaluation_inputs(3, 88, 32);
  auto gradients = [&](const ComputePath& path) {
    torch::manual_seed(0);
    ScoreNet net(bundled_like(), Sde{});
    net->set_compute(path);
    torch::manual_seed(5);
    dsm_loss(net, in.known, in.known, in.mask).backward();
    std::vector<torch::Tensor> grads;
    for (const auto& p : net->named_parameters()) grads.push_back(p.value().grad().flatten());
    return grads;
  };
  const auto want = gradients({false, false});
  const auto nhwc = gradients({false, true});
  const auto bf16 = gradients({true, true});
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_LT(relative_error(nhwc[i], want[i]), 1e-4) << "parameter " << i;
    // Mixed precision: each parameter's gradient points the same way (cosine >= 0.97).
    const double cosine = (torch::dot(bf16[i], want[i]) / (bf16[i].norm() * want[i].norm() + 1e-30)).item<double>();
    EXPECT_GT(cosine, 0.97) << "parameter " << i << ", relative error " << relative_error(bf16[i], want[i]);
  }
}

}  // namespace
}  // namespace scorejam
