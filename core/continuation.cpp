#include "core/continuation.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

#include "core/beat_planes.h"
#include "core/beat_tracker.h"
#include "core/roll_tensor.h"

namespace scorejam {
namespace {

// The pedal from frame `from` on, in seconds from it: its state at `from`, then each change.
std::vector<ControlChange> pedal_from(const std::vector<GridPedal>& spans, int from, double fs) {
  std::vector<GridPedal> after;
  bool down_at_start = false;
  for (auto s : spans) {
    if (s.up_frame <= from) continue;
    if (s.down_frame <= from) down_at_start = true;
    after.push_back({std::max(s.down_frame, from) - from, s.up_frame - from});
  }
  auto controls = pedal_to_controls(after, fs);
  if (!down_at_start) controls.insert(controls.begin(), ControlChange{0.0, 0, kSustainController, 0});
  return controls;
}

}  // namespace

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
  const RollFormat& format = spec.roll;
  RollFormat prompt_format = format;
  prompt_format.sustain_pedal = false;  // the caller has folded the pedal or not, as the model wants
  const auto prompt_pedal = format.pedal_channel
                                ? quantize_pedal(request.prompt_controls, request.prompt_seconds, fs)
                                : std::vector<GridPedal>{};
  auto prompt_roll = render_roll(quantize(request.prompt, {}, prompt_format), prompt_pedal, fs, 0,
                                 std::max(prompt_frames, 1));
  auto buffer = torch::full({request.count, channels, kKeys, total}, -1.0, options);
  if (prompt_frames > 0)
    buffer.slice(3, 0, prompt_frames)
        .copy_(roll_to_tensor(prompt_roll, format, channels).slice(2, 0, prompt_frames).unsqueeze(0));

  ContinuationResult result;
  std::vector<double> beats = request.beats_s, downbeats = request.downbeats_s;
  if (spec.net.beat_planes && beats.empty()) {
    BeatTracker tracker;
    auto onsets = request.prompt;
    std::sort(onsets.begin(), onsets.end(), [](const Note& a, const Note& b) { return a.start_s < b.start_s; });
    for (const auto& note : onsets) tracker.add_onset(note.start_s, note.velocity, note.pitch);
    tracker.advance(request.prompt_seconds);
    beats = tracker.beats();
    const double from = beats.empty() ? 0.0 : beats.back() + 1e-6;
    for (double b : tracker.predict(from, request.prompt_seconds + request.seconds + window / fs)) beats.push_back(b);
  }
  result.beats_s = beats;
  int windows_planned = 0;  // for on_window: the loop below, counted ahead
  for (int d = prompt_frames; d < total; d += std::min(window - std::min(d, context), total - d)) ++windows_planned;
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
    Inpainting inpainting{x, mask};
    if (spec.net.beat_planes) {
      auto planes = beat_planes(beats, downbeats, fs, done - known, window);
      inpainting.beats = torch::from_blob(planes.data(), {1, kBeatPlaneCount, 1, window}, torch::kFloat32)
                             .clone()
                             .expand({request.count, kBeatPlaneCount, 1, window})
                             .to(options);
    }
    auto sampled = sample(net, x.sizes(), config, &inpainting);
    // What the next window knows must look like what training showed the network as a known past:
    // a roll of notes, not the sampler's raw values. So the window's notes are decoded and drawn
    // again, as the live daemon draws what it played.
    for (int b = 0; b < request.count; ++b) {
      const auto roll = tensor_to_roll(sampled.x[b], format);
      const auto clean = roll_to_tensor(render_roll(decode_roll(roll, request.thresholds),
                                                    format.pedal_channel ? decode_pedal(roll, request.thresholds)
                                                                         : std::vector<GridPedal>{},
                                                    fs, 0, window),
                                        format, channels)
                             .to(options);
      buffer[b].slice(2, done, done + fresh).copy_(clean.slice(2, known, known + fresh));
    }
    result.nfe += sampled.nfe;
    ++result.windows;
    done += fresh;
    if (request.on_window) request.on_window(result.windows, windows_planned);
  }

  // Decode everything, keep the notes struck after the prompt.
  for (int b = 0; b < request.count; ++b) {
    const auto roll = tensor_to_roll(buffer[b], format);
    std::vector<Note> notes;
    for (auto g : decode_roll(roll, request.thresholds))
      if (g.onset_frame >= prompt_frames) {
        g.onset_frame -= prompt_frames;
        g.end_frame -= prompt_frames;
        notes.push_back(to_note(g, fs));
      }
    sort_notes(notes);
    result.generated.push_back(std::move(notes));
    if (format.pedal_channel) result.pedal.push_back(pedal_from(decode_pedal(roll, request.thresholds), prompt_frames, fs));
  }
  result.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace scorejam
