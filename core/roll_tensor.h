// Piano rolls as the model sees them: [C, 88, T] tensors scaled to [-1, 1]. C = 1 keeps the frame
// channel, 2 onset and frame, 3 onset, frame and velocity, 4 or 5 those and the format's pedal
// and onset-offset channels (the roll's own order: core/roll.h).
#pragma once

#include <ATen/core/Tensor.h>

#include "core/roll.h"

namespace scorejam {

// Throws std::invalid_argument when `channels` does not fit the format (core/roll.h: model_channels).
at::Tensor roll_to_tensor(const PianoRoll& roll, const RollFormat& format, int channels);
// Inverse: clamps to the roll's [0, 1]. Channels the tensor lacks are filled in: onsets where the
// frame channel rises, velocity `default_velocity`, no pedal, no onset offsets.
PianoRoll tensor_to_roll(const at::Tensor& x, const RollFormat& format, int default_velocity = 64);

// The same for the format of three channels at most (no pedal channel, no onset offsets).
at::Tensor roll_to_tensor(const PianoRoll& roll, int channels);
PianoRoll tensor_to_roll(const at::Tensor& x, double fs_hz, int default_velocity = 64);

}  // namespace scorejam
