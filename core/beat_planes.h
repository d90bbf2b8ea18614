// Where the beats fall in a window of frames, as the planes a beat_planes network reads
// (ScoreNetImpl::kBeatPlanes): cos and sin of the beat phase, cos and sin of the bar phase, and 1
// where beats are known. The phase of a frame's time t between beats b_k <= t < b_k+1 is
// (t - b_k) / (b_k+1 - b_k); frames outside the beats' span are unknown (all five planes 0); the bar
// planes are 0 outside the downbeats' span. Torch-free; no threads.
#pragma once

#include <vector>

namespace scorejam {

inline constexpr int kBeatPlaneCount = 5;

// Plane-major: value of plane p at frame f is [p * frames + f]. Frame f's time is (first_frame + f) / fs_hz.
std::vector<float> beat_planes(const std::vector<double>& beats_s, const std::vector<double>& downbeats_s, double fs_hz,
                               int first_frame, int frames);

}  // namespace scorejam
