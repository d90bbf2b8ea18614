#include "core/live_window.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "core/beat_planes.h"
#include "core/roll_tensor.h"
#include "core/sampler.h"

namespace scorejam {

WindowResult generate_window(ScoreNet& net, const ModelSpec& spec, const WindowRequest& request,
                             const std::atomic<bool>* cancel) {
  const auto started = std::chrono::steady_clock::now();
  const int window = spec.window_frames;
  if (request.known_frames < 0 || request.known_frames >= window)
    throw std::invalid_argument("live window: known_frames must be in [0, " + std::to_string(window) + ")");
  const int channels = spec.net.channels;
  const double fs = spec.roll.fs_hz;
  const auto options = net->parameters().front().options();

  torch::InferenceMode inference;
  auto x = torch::full({1, channels, kKeys, window}, -1.0, options);
  auto mask = torch::zeros({1, 1, kKeys, window}, options);
  if (request.known_frames > 0) {
    const auto known_roll = render_roll(request.known, request.known_pedal, fs, 0, request.known_frames);
    x.slice(3, 0, request.known_frames).copy_(roll_to_tensor(known_roll, spec.roll, channels).unsqueeze(0));
    mask.slice(3, 0, request.known_frames).fill_(1.0);
  }
  Inpainting inpainting{x, mask};
  if (spec.net.beat_planes) {
    auto planes = beat_planes(request.beats_s, request.downbeats_s, fs, static_cast<int>(request.first_frame), window);
    inpainting.beats =
        torch::from_blob(planes.data(), {1, kBeatPlaneCount, 1, window}, torch::kFloat32).clone().to(options);
  }
  const auto sampled = sample(net, x.sizes(), request.sampler, &inpainting, cancel);

  WindowResult result;
  result.nfe = sampled.nfe;
  const auto roll = tensor_to_roll(sampled.x[0], spec.roll);
  for (const auto& g : decode_roll(roll, request.thresholds))
    if (g.onset_frame >= request.known_frames) result.generated.push_back(g);
  if (spec.roll.pedal_channel) result.pedal = decode_pedal(roll, request.thresholds);
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

void set_window_beats(WindowRequest& request, const BeatTracker& tracker, std::int64_t window_first, int window_frames,
                      double fs_hz) {
  request.beats_s = tracker.beats();
  const double end_s = static_cast<double>(window_first + window_frames) / fs_hz;
  const double from_s = request.beats_s.empty() ? 0.0 : request.beats_s.back() + 1e-6;
  for (double b : tracker.predict(from_s, end_s)) request.beats_s.push_back(b);
  request.first_frame = window_first;
}

}  // namespace scorejam
