#include "core/continuation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

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

// A beat_planes model hears where the beats fall: the tracker's, carried on over the continuation,
// or the ones the request gives.
TEST(Continuation, ABeatPlanesModelFollowsTheTrackersBeatsOrTheGivenOnes) {
  torch::manual_seed(0);
  auto spec = tiny_spec();
  spec.net.beat_planes = true;
  ScoreNet net(spec.net, Sde{});
  ContinuationRequest request;
  for (int i = 0; i < 24; ++i) request.prompt.push_back({0.5 * i, 0.5 * i + 0.2, i % 2 ? 48 : 60, 90, 0});  // 120 BPM
  request.prompt_seconds = 12.0;
  request.seconds = 2.0;
  request.sampler = {SamplerKind::kHeun, 2};
  const auto tracked = continue_notes(net, spec, request);
  ASSERT_GE(tracked.beats_s.size(), 4u) << "the tracker found the prompt's steady beat";
  const auto& b = tracked.beats_s;
  EXPECT_NEAR(b[b.size() - 1] - b[b.size() - 2], 0.5, 0.05) << "carried on at the prompt's tempo";
  EXPECT_GT(b.back(), request.prompt_seconds) << "over the continuation too";
  request.beats_s = {0.0, 0.75, 1.5, 2.25, 3.0, 3.75, 4.5, 5.25, 6.0, 6.75, 7.5, 8.25, 9.0, 9.75, 10.5, 11.25, 12.0, 12.75, 13.5, 14.25};
  const auto given = continue_notes(net, spec, request);
  EXPECT_EQ(given.beats_s, request.beats_s);  // (ScoreNet.BeatPlanesReachTheScore... checks they reach the score)
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

// A window's known past is what was played before it, as notes: a long continuation must go on from
// its own first window exactly as it would from a prompt of that window's notes. (It used to hand
// the next window the sampler's raw values, which no training window looks like, and the model
// played half as many notes again after every seam.) The bundled model, so that there are notes.
TEST(Continuation, TheNextWindowKnowsTheNotesOfTheLastOneAsIfTheyHadBeenPlayed) {
  const auto model = std::filesystem::path(SCOREJAM_SOURCE_DIR) / "models" / "scorejam-default.pt";
  ASSERT_TRUE(std::filesystem::exists(model)) << model << " is missing: the bundled model must be committed";
  auto loaded = load_checkpoint(model);
  loaded.ema->eval();
  torch::NoGradGuard no_grad;
  const double fs = loaded.spec.roll.fs_hz;
  const double window_s = loaded.spec.window_frames / fs;

  ContinuationRequest request;  // from nothing: a whole first window, then half windows
  request.sampler = {SamplerKind::kPredictorCorrector, 10};
  request.sampler.seed = 5;
  request.seconds = window_s * 1.5;
  const auto whole = continue_notes(loaded.ema, loaded.spec, request);
  ASSERT_EQ(whole.windows, 2);

  request.seconds = window_s;
  const auto first = continue_notes(loaded.ema, loaded.spec, request);
  ASSERT_GE(first.generated[0].size(), 5u) << "the bundled model played almost nothing";

  request.prompt = first.generated[0];
  request.prompt_seconds = window_s;
  request.seconds = window_s / 2;
  request.sampler.seed += 7919;  // the second window's seed
  const auto second = continue_notes(loaded.ema, loaded.spec, request);

  std::vector<Note> expected;
  for (const auto& n : whole.generated[0])
    if (n.start_s >= window_s) expected.push_back({n.start_s - window_s, n.end_s - window_s, n.pitch, n.velocity, 0});
  ASSERT_FALSE(expected.empty()) << "the second window played nothing";
  ASSERT_EQ(second.generated[0].size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(second.generated[0][i].pitch, expected[i].pitch) << "note " << i;
    EXPECT_EQ(second.generated[0][i].velocity, expected[i].velocity) << "note " << i;
    EXPECT_NEAR(second.generated[0][i].start_s, expected[i].start_s, 1e-9) << "note " << i;
    EXPECT_NEAR(second.generated[0][i].end_s, expected[i].end_s, 1e-9) << "note " << i;
  }
}

// Which keys were played must carry further than a convolution reaches (about a second): the same
// figure played in the bass and three octaves up, continued with one seed, must still be continued
// apart from 1.5 s on. (Before the context map the bundled model could not tell: from a second
// after the prompt both continuations went wherever the seed put notes.) The bundled model.
TEST(Continuation, TheBundledModelStaysInThePromptsRegisterBeyondAConvolutionsReach) {
  const auto model = std::filesystem::path(SCOREJAM_SOURCE_DIR) / "models" / "scorejam-default.pt";
  ASSERT_TRUE(std::filesystem::exists(model)) << model << " is missing: the bundled model must be committed";
  auto loaded = load_checkpoint(model);
  loaded.ema->eval();
  torch::NoGradGuard no_grad;
  auto figure = [](int transpose) {  // a C major arpeggio in sixteenths at 120 bpm, for 4 s
    std::vector<Note> notes;
    const int pitches[] = {36, 40, 43, 48, 43, 40};
    for (int i = 0; i < 32; ++i) notes.push_back({i * 0.125, i * 0.125 + 0.25, pitches[i % 6] + transpose, 70, 0});
    return notes;
  };
  auto late_mean_pitch = [&](int transpose) {
    ContinuationRequest request;
    request.prompt = figure(transpose);
    request.prompt_seconds = 4;
    request.seconds = 4;
    request.count = 3;
    request.sampler = {SamplerKind::kPredictorCorrector, 30};
    request.sampler.guidance = 3;
    const auto result = continue_notes(loaded.ema, loaded.spec, request);
    double sum = 0, count = 0;
    for (const auto& notes : result.generated)
      for (const auto& n : notes)
        if (n.start_s >= 1.5) {
          sum += n.pitch;
          count += 1;
        }
    EXPECT_GE(count, 6) << "the continuation of the figure at +" << transpose << " hardly played after 1.5 s";
    return count > 0 ? sum / count : 0.0;
  };
  const double bass = late_mean_pitch(0), treble = late_mean_pitch(36);
  std::printf("mean pitch from 1.5 s on: bass prompt (mean 41.7) %.1f, treble prompt (mean 77.7) %.1f\n", bass, treble);
  EXPECT_GT(treble - bass, 18.0) << "the prompts lie 36 semitones apart";
  EXPECT_LT(std::abs(bass - 41.7), 12.0) << "the bass prompt's continuation left its register";
  EXPECT_LT(std::abs(treble - 77.7), 12.0) << "the treble prompt's continuation left its register";
}

TEST(Continuation, NotesBetweenCutsAndShifts) {
  auto out = notes_between({{0.0, 1.0, 60, 80, 0}, {1.5, 3.0, 62, 70, 0}, {4.0, 5.0, 64, 60, 0}}, 0.5, 2.0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (Note{0.0, 0.5, 60, 80, 0}));
  EXPECT_EQ(out[1], (Note{1.0, 1.5, 62, 70, 0}));
}

TEST(Continuation, APedalModelPlaysThePedalFromTheStateAtThePromptsEnd) {
  torch::manual_seed(0);
  auto spec = tiny_spec();
  spec.net.channels = 5;
  spec.roll.sustain_pedal = false;
  spec.roll.pedal_channel = true;
  spec.roll.onset_offsets = true;
  ScoreNet net(spec.net, Sde{});
  ContinuationRequest request;
  request.prompt = {{0.03, 0.5, 60, 80, 0}, {0.52, 1.0, 64, 80, 0}};
  request.prompt_controls = {{0.1, 0, 64, 127}};
  request.prompt_seconds = 1.0;
  request.seconds = 2.0;
  request.count = 2;
  request.sampler = {SamplerKind::kHeun, 2};
  const auto result = continue_notes(net, spec, request);
  ASSERT_EQ(result.pedal.size(), 2u);
  for (const auto& pedal : result.pedal) {
    ASSERT_FALSE(pedal.empty());
    EXPECT_EQ(pedal.front().time_s, 0.0);
    for (const auto& cc : pedal) {
      EXPECT_EQ(cc.controller, kSustainController);
      EXPECT_TRUE(cc.value == 0 || cc.value == 127);
      EXPECT_GE(cc.time_s, 0.0);
      EXPECT_LE(cc.time_s, 2.0 + 1e-9);
    }
    EXPECT_EQ(pedal.back().value, 0);  // never left down
  }
}

TEST(Continuation, AModelWithoutAPedalChannelPlaysNoPedal) {
  torch::manual_seed(0);
  auto spec = tiny_spec();
  ScoreNet net(spec.net, Sde{});
  ContinuationRequest request;
  request.prompt_controls = {{0.1, 0, 64, 127}};
  request.seconds = 1.0;
  request.sampler = {SamplerKind::kHeun, 2};
  EXPECT_TRUE(continue_notes(net, spec, request).pedal.empty());
}

}  // namespace
}  // namespace scorejam
