// Writes the checkpoint fuzzer's seed corpus into DIR: tiny real checkpoints made by save_checkpoint
// (unconditional and conditional, VE and VP, with and without attention), so that the fuzzer starts
// from the archive layout scorejam really writes.
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_checkpoint_seeds DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  torch::manual_seed(1);
  int n = 0;
  for (const bool conditional : {false, true}) {
    for (const auto kind : {scorejam::SdeKind::kVE, scorejam::SdeKind::kVP}) {
      scorejam::ModelSpec spec;
      spec.net.channels = 1;
      spec.net.widths = {4, 8};
      spec.net.embed_dim = 4;
      spec.net.conditional = conditional;
      spec.net.attention = kind == scorejam::SdeKind::kVP;
      spec.sde.kind = kind;
      spec.window_frames = 8;
      scorejam::ScoreNet model(spec.net, scorejam::Sde{spec.sde});
      scorejam::ScoreNet ema(spec.net, scorejam::Sde{spec.sde});
      scorejam::TrainingState state;
      state.step = 10 * n;
      state.run_config = "[train]\nsteps = 10\n";
      scorejam::save_checkpoint(dir / ("seed-" + std::to_string(n++) + ".pt"), spec, model, ema, nullptr, state);
    }
  }
  std::printf("make_checkpoint_seeds: %d checkpoints in %s\n", n, dir.c_str());
  return 0;
}
