// Piano rolls as the model sees them: [C, 88, T] tensors scaled to [-1, 1]. C = 1 keeps the frame
// channel, 2 onset and frame, 3 onset, frame and velocity (the roll's own order).
#pragma once

#include <ATen/core/Tensor.h>

#include "core/roll.h"

namespace scorejam {

at::Tensor roll_to_tensor(const PianoRoll& roll, int channels);
// Inverse: clamps to the roll's [0, 1]. Channels the tensor lacks are filled in: onsets where the
// frame channel rises, velocity `default_velocity`.
PianoRoll tensor_to_roll(const at::Tensor& x, double fs_hz, int default_velocity = 64);

}  // namespace scorejam
