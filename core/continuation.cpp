#include "core/continuation.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "core/roll_tensor.h"

namespace scorejam {

ContinuationResult continue_notes(ScoreNet& net, const ModelSpec& spec, const ContinuationRequest& request) {
  const auto started = std::chrono::steady_clock::now();
  const double fs = spec.roll.fs_hz;
  const int window = spec.window_frames;
  const int prompt_frames = static_cast<int>(std::lround(request.prompt_seconds * fs));
  const int generate_frames = static_cast<int>(std::lround(request.seconds * fs));
  if (request.count < 1) throw std::invalid_argument("continuation: count must be >= 1");
  if (generate_frames < 1) throw std::invalid_argument("continuation: nothing to generate");
  const int context = std::clamp(request.context_frames > 0 ? request.context_frames : window / 2, 1, window - 1);
  const int channels = spec.net.channels;
  const auto options = net->parameters().front().options();

  // The whole performance, prompt then continuation, as one buffer [B, C, 88, frames].
  const int total = prompt_frames + generate_frames;
  auto prompt_roll = render_roll(quantize(request.prompt, {}, {fs, false}), fs, 0, std::max(prompt_frames, 1));
  auto buffer = torch::full({request.count, channels, kKeys, total}, -1.0, options);
  if (prompt_frames > 0)
    buffer.slice(3, 0, prompt_frames).copy_(roll_to_tensor(prompt_roll, channels).slice(2, 0, prompt_frames).unsqueeze(0));

  ContinuationResult result;
  int done = prompt_frames;  // frames of the buffer that are settled
  while (done < total) {
    // The window starts with the known past; the rest is generated, and what lies past the end
    // of the request is generated too but dropped.
    const int known = std::min(done, context);
    const int fresh = std::min(window - known, total - done);
    auto x = torch::full({request.count, channels, kKeys, window}, -1.0, options);
    x.slice(3, 0, known).copy_(buffer.slice(3, done - known, done));
    auto mask = torch::zeros({request.count, 1, kKeys, window}, options);
    mask.slice(3, 0, known).fill_(1.0);
    auto config = request.sampler;
    config.seed = request.sampler.seed + static_cast<std::uint64_t>(result.windows) * 7919;
    const Inpainting inpainting{x, mask};
    auto sampled = sample(net, x.sizes(), config, &inpainting);
    // What the next window knows must look like what training showed the network as a known past:
    // a roll of notes, not the sampler's raw values. So the window's notes are decoded and drawn
    // again, as the live daemon draws what it played.
    for (int b = 0; b < request.count; ++b) {
      const auto notes = decode_roll(tensor_to_roll(sampled.x[b], fs), request.thresholds);
      const auto clean = roll_to_tensor(render_roll(notes, fs, 0, window), channels).to(options);
      buffer[b].slice(2, done, done + fresh).copy_(clean.slice(2, known, known + fresh));
    }
    result.nfe += sampled.nfe;
    ++result.windows;
    done += fresh;
  }

  // Decode everything, keep the notes struck after the prompt.
  for (int b = 0; b < request.count; ++b) {
    const auto roll = tensor_to_roll(buffer[b], fs);
    std::vector<Note> notes;
    for (const auto& g : decode_roll(roll, request.thresholds))
      if (g.onset_frame >= prompt_frames)
        notes.push_back({(g.onset_frame - prompt_frames) / fs, (g.end_frame - prompt_frames) / fs, g.pitch, g.velocity, 0});
    sort_notes(notes);
    result.generated.push_back(std::move(notes));
  }
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace scorejam
