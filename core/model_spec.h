// What a model is, without LibTorch: the SDE's and the network's settings and the model spec a
// checkpoint stores. The config reader, the OSC layer and the fuzz build use these without
// compiling LibTorch's headers; core/sde.h, core/score_net.h and core/checkpoint.h build on them.
#pragma once

#include <string>
#include <vector>

#include "core/roll.h"

namespace scorejam {

enum class SdeKind { kVE, kVP, kSubVP };

std::string to_string(SdeKind kind);
SdeKind sde_kind_from_string(const std::string& name);  // "ve", "vp", "subvp"; throws naming the value

struct SdeConfig {
  SdeKind kind = SdeKind::kVE;
  double sigma = 25.0;     // VE: sigma^t
  double beta_min = 0.1;   // VP, sub-VP: beta(t) = beta_min + t (beta_max - beta_min)
  double beta_max = 20.0;
  double eps = 1e-5;       // smallest time used in training and sampling
  bool operator==(const SdeConfig&) const = default;
};

struct ScoreNetConfig {
  int channels = 3;                        // data channels (the roll format's)
  std::vector<int> widths{32, 64, 128, 256};  // one per level; depth = widths.size() - 1
  int embed_dim = 256;                     // time embedding size
  double fourier_scale = 30.0;
  bool attention = false;                  // self-attention at the lowest resolution
  bool conditional = false;                // extra inputs: known roll (channels) and its mask (1)
  // Song's original layout: unpadded convolutions, each transposed convolution sized to its skip,
  // a transposed convolution last. Sizes follow the input (28 x 28 works); no internal padding.
  bool valid_convolutions = false;
  // "song": output / std(t), Song's ScoreNet. "edm": Karras et al.'s preconditioning with the data
  // std sigma_data, in the sigma = std / mean space of the SDE; its loss weighs every noise level
  // alike (see dsm_loss).
  // Conditional models: the known roll summed up (each key's mean over the known frames, per
  // channel, and the share of the window known) joins the time embedding, so every level hears the
  // register, key and density of what was played, not only the convolutions near it.
  bool context_summary = false;
  // Conditional models: the known past as planes beside the roll. A convolution reaches about a
  // second from where it looks, and neither the summary (one vector for the whole roll) nor the
  // attention (no positions) can say *which* keys were played, so without this a continuation loses
  // the prompt's register after a second. Each key's mean over the known frames and over the last
  // kRecentFrames of them (per channel, 0 = silence) is spread along its row, and one plane holds
  // the key's place on the keyboard (-1 = A0, 1 = C8): every cell hears its own key's past.
  bool context_map = false;
  // Conditional models: where the beats fall, as planes beside the roll over the whole window (the
  // known past and the part to play): cos and sin of the beat phase and of the bar phase, and a
  // plane that is 1 where beats are known. Trained from annotated beats (some windows with none);
  // given at run time by annotations or the beat tracker, or left empty (nothing known).
  bool beat_planes = false;
  std::string preconditioning = "song";
  double sigma_data = 0.5;
  bool operator==(const ScoreNetConfig&) const = default;
};

// What a model is: enough to rebuild it and to feed it.
struct ModelSpec {
  ScoreNetConfig net;
  SdeConfig sde;
  RollFormat roll;          // frame rate, pedal rule and extra channels of the data it was trained on
  int window_frames = 128;  // T of the training windows
  bool operator==(const ModelSpec&) const = default;
};

// The bounds of a network that can be built: 1 to 3 channels (exactly the format's 4 or 5 when the
// [roll] format has a pedal channel or onset offsets), 1 to 8 levels of widths from 4 to
// 4096 (multiples of 4), a time embedding of 2 to 4096, 8 to 4096 frames divisible by 2^(levels - 1).
// Returns what is wrong, naming the [model] key, or "" when nothing is. The config reader and the
// checkpoint loader both ask, so a checkpoint's spec cannot ask for more than a config could.
std::string spec_problem(const ModelSpec& spec);

}  // namespace scorejam
