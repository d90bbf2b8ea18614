#include "core/continuation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace scorejam {
namespace {

ModelSpec tiny_spec() {
  ModelSpec spec;
  spec.net = ScoreNetConfig{3, {8, 16}, 16};
  spec.net.conditional = true;
  spec.window_frames = 16;
  return spec;
}

TEST(Continuation, SlidesWindowsUntilTheRequestedLength) {
  torch::manual_seed(0);
  auto spec = tiny_spec();
  ScoreNet net(spec.net, Sde{});
  ContinuationRequest request;
  request.prompt = {{0.0, 0.5, 60, 80, 0}, {0.5, 1.0, 64, 80, 0}};
  request.prompt_seconds = 1.0;
  request.seconds = 3.0;  // 48 frames; 8 known + 8 new per window -> 6 windows
  request.count = 2;
  request.sampler = {SamplerKind::kHeun, 2};
  auto result = continue_notes(net, spec, request);
  EXPECT_EQ(result.windows, 6);
  EXPECT_EQ(result.nfe, 6 * 3);
  ASSERT_EQ(result.generated.size(), 2u);
  for (const auto& notes : result.generated)
    for (const auto& n : notes) {
      EXPECT_GE(n.start_s, 0.0);
      EXPECT_LE(n.end_s, 3.0 + 1e-9);
      EXPECT_GE(n.pitch, kLowestPitch);
      EXPECT_LE(n.pitch, kHighestPitch);
    }
}

TEST(Continuation, WithoutPromptGeneratesFromNothing) {
  torch::manual_seed(0);
  auto spec = tiny_spec();
  ScoreNet net(spec.net, Sde{});
  ContinuationRequest request;
  request.seconds = 1.0;  // one full window
  request.sampler = {SamplerKind::kHeun, 2};
  auto result = continue_notes(net, spec, request);
  EXPECT_EQ(result.windows, 1);
}

TEST(Continuation, IsReproducibleFromItsSeed) {
  torch::manual_seed(0);
  auto spec = tiny_spec();
  ScoreNet net(spec.net, Sde{});
  ContinuationRequest request;
  request.prompt = {{0.0, 0.5, 60, 80, 0}};
  request.prompt_seconds = 0.5;
  request.seconds = 2.0;
  request.sampler = {SamplerKind::kEulerMaruyama, 5};
  request.sampler.seed = 11;
  auto a = continue_notes(net, spec, request);
  auto b = continue_notes(net, spec, request);
  EXPECT_EQ(a.generated, b.generated);
}

TEST(Continuation, NotesBetweenCutsAndShifts) {
  auto out = notes_between({{0.0, 1.0, 60, 80, 0}, {1.5, 3.0, 62, 70, 0}, {4.0, 5.0, 64, 60, 0}}, 0.5, 2.0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (Note{0.0, 0.5, 60, 80, 0}));
  EXPECT_EQ(out[1], (Note{1.0, 1.5, 62, 70, 0}));
}

}  // namespace
}  // namespace scorejam
