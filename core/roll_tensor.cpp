#include "core/roll_tensor.h"

#include <torch/torch.h>

#include <stdexcept>

namespace scorejam {
namespace {

// Index of the roll channel that model channel i holds.
int roll_channel(int channels, int i) { return channels == 1 ? static_cast<int>(RollChannel::kFrame) : i; }

}  // namespace

at::Tensor roll_to_tensor(const PianoRoll& roll, int channels) {
  if (channels < 1 || channels > kRollChannels) throw std::invalid_argument("roll_to_tensor: channels must be 1..3");
  auto all = torch::from_blob(const_cast<float*>(roll.data().data()), {kRollChannels, kKeys, roll.frames()},
                              torch::kFloat32);
  std::vector<at::Tensor> picked;
  for (int i = 0; i < channels; ++i) picked.push_back(all[roll_channel(channels, i)]);
  return torch::stack(picked) * 2.0 - 1.0;
}

PianoRoll tensor_to_roll(const at::Tensor& x, double fs_hz, int default_velocity) {
  if (x.dim() != 3 || x.size(1) != kKeys || x.size(0) < 1 || x.size(0) > kRollChannels)
    throw std::invalid_argument("tensor_to_roll: expected [C, 88, T] with C in 1..3");
  const int channels = static_cast<int>(x.size(0));
  const auto frames = static_cast<int>(x.size(2));
  auto values = ((x.detach().to(torch::kCPU, torch::kFloat32) + 1.0) * 0.5).clamp(0.0, 1.0).contiguous();
  PianoRoll roll(frames, fs_hz);
  auto out = torch::from_blob(roll.data().data(), {kRollChannels, kKeys, frames}, torch::kFloat32);
  for (int i = 0; i < channels; ++i) out[roll_channel(channels, i)].copy_(values[i]);
  if (channels < 3) out[static_cast<int>(RollChannel::kVelocity)].fill_(static_cast<float>(default_velocity) / 127.0f);
  if (channels < 2) {
    auto frame = out[static_cast<int>(RollChannel::kFrame)];
    auto before = torch::constant_pad_nd(frame, {1, 0}).slice(1, 0, frames);
    out[static_cast<int>(RollChannel::kOnset)].copy_((frame >= 0.5) & (before < 0.5));
  }
  return roll;
}

}  // namespace scorejam
