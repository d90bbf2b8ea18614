#include "core/roll_tensor.h"

#include <torch/torch.h>

#include <stdexcept>

namespace scorejam {
namespace {

RollFormat plain_format(double fs_hz) {
  RollFormat format;
  format.fs_hz = fs_hz;
  return format;
}

}  // namespace

at::Tensor roll_to_tensor(const PianoRoll& roll, const RollFormat& format, int channels) {
  if (channels < 1 || channels > kRollChannels)
    throw std::invalid_argument("roll_to_tensor: channels must be 1.." + std::to_string(kRollChannels));
  const auto picked_channels = model_channels(format, channels);
  auto all = torch::from_blob(const_cast<float*>(roll.data().data()), {kRollChannels, kKeys, roll.frames()},
                              torch::kFloat32);
  std::vector<at::Tensor> picked;
  for (auto c : picked_channels) picked.push_back(all[static_cast<int>(c)]);
  return torch::stack(picked) * 2.0 - 1.0;
}

at::Tensor roll_to_tensor(const PianoRoll& roll, int channels) {
  if (channels < 1 || channels > 3) throw std::invalid_argument("roll_to_tensor: channels must be 1..3");
  return roll_to_tensor(roll, plain_format(roll.fs_hz()), channels);
}

PianoRoll tensor_to_roll(const at::Tensor& x, const RollFormat& format, int default_velocity) {
  if (x.dim() != 3 || x.size(1) != kKeys || x.size(0) < 1 || x.size(0) > kRollChannels)
    throw std::invalid_argument("tensor_to_roll: expected [C, 88, T] with C in 1.." + std::to_string(kRollChannels));
  const int channels = static_cast<int>(x.size(0));
  const auto picked = model_channels(format, channels);
  const auto frames = static_cast<int>(x.size(2));
  auto values = ((x.detach().to(torch::kCPU, torch::kFloat32) + 1.0) * 0.5).clamp(0.0, 1.0).contiguous();
  PianoRoll roll(frames, format.fs_hz);
  auto out = torch::from_blob(roll.data().data(), {kRollChannels, kKeys, frames}, torch::kFloat32);
  for (int i = 0; i < channels; ++i) out[static_cast<int>(picked[static_cast<std::size_t>(i)])].copy_(values[i]);
  if (channels < 3) out[static_cast<int>(RollChannel::kVelocity)].fill_(static_cast<float>(default_velocity) / 127.0f);
  if (channels < 2) {
    auto frame = out[static_cast<int>(RollChannel::kFrame)];
    auto before = torch::constant_pad_nd(frame, {1, 0}).slice(1, 0, frames);
    out[static_cast<int>(RollChannel::kOnset)].copy_((frame >= 0.5) & (before < 0.5));
  }
  return roll;
}

PianoRoll tensor_to_roll(const at::Tensor& x, double fs_hz, int default_velocity) {
  if (x.dim() != 3 || x.size(0) < 1 || x.size(0) > 3)
    throw std::invalid_argument("tensor_to_roll: expected [C, 88, T] with C in 1..3");
  return tensor_to_roll(x, plain_format(fs_hz), default_velocity);
}

}  // namespace scorejam
