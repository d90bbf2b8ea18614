#include "core/beat_evaluation.h"

#include <cmath>

namespace scorejam {

namespace {

double mean_bpm(const std::vector<double>& beats) {
  if (beats.size() < 2 || !(beats.back() > beats.front())) return 0;
  return 60.0 * static_cast<double>(beats.size() - 1) / (beats.back() - beats.front());
}

}  // namespace

BeatEvaluation evaluate_beat_tracking(const MaestroSource& source, const BeatsTable& beats, const std::string& split,
                                      const BeatTrackerConfig& config, double lead_s, double frame_hz,
                                      const std::function<void(const BeatFileResult&)>& on_file) {
  BeatEvaluation out;
  double pulse_sum = 0;
  std::size_t pulse_onsets = 0;
  for (const auto index : source.split(split)) {
    const auto& entry = source.entries()[index];
    const auto annotation = beats.by_name.find(entry.midi_filename);
    if (annotation == beats.by_name.end()) {
      out.not_annotated.push_back(entry.midi_filename);
      continue;
    }
    MidiFile midi;
    try {
      midi = source.read(index);
    } catch (const std::exception& e) {
      out.unreadable.push_back({source.describe(index), e.what()});
      continue;
    }
    const auto& reference = annotation->second.beats_s;
    BeatFileResult r;
    r.name = entry.midi_filename;
    const auto found = track_beats(midi.notes, config);
    r.found = beat_f_measure(reference, found);
    r.predicted = beat_f_measure(reference, predict_beats_ahead(midi.notes, lead_s, config));
    r.pianist = sixteenth_pulse(midi.notes, reference);
    if (frame_hz > 0) {
      std::vector<double> rounded;
      rounded.reserve(midi.notes.size());
      for (const auto& n : midi.notes) rounded.push_back(std::round(n.start_s * frame_hz) / frame_hz);
      r.pianist_on_frames = sixteenth_pulse(rounded, reference);
    }
    r.annotated_bpm = mean_bpm(reference);
    r.tracked_bpm = mean_bpm(found);
    pulse_sum += r.pianist.pulse * static_cast<double>(r.pianist.onsets);
    pulse_onsets += r.pianist.onsets;
    if (on_file) on_file(r);
    out.files.push_back(std::move(r));
  }
  if (!out.files.empty()) {
    const auto n = static_cast<double>(out.files.size());
    for (const auto& r : out.files) {
      out.mean_found_f += r.found.f_measure / n;
      out.mean_predicted_f += r.predicted.f_measure / n;
      out.mean_pianist_pulse += r.pianist.pulse / n;
      out.mean_pianist_pulse_on_frames += r.pianist_on_frames.pulse / n;
    }
  }
  if (pulse_onsets > 0) out.pooled_pianist_pulse = pulse_sum / static_cast<double>(pulse_onsets);
  return out;
}

}  // namespace scorejam
