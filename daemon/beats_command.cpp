#include "daemon/beats_command.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <stdexcept>

#include "core/beat_evaluation.h"

namespace scorejam {

int run_beats(const BeatsCommand& command, const Config& config) {
  const std::string data = command.data.empty() ? config.train.data : command.data;
  if (data.empty()) throw std::invalid_argument("beats: no data; give --data or set train.data");
  MaestroSource source(data);
  const auto beats_path = command.beats.empty() ? beats_path_beside(source.path()) : std::filesystem::path(command.beats);
  if (command.beats.empty() && !std::filesystem::exists(beats_path))
    throw std::invalid_argument("beats: no beat annotations beside " + source.path().string() + " (looked for " +
                                beats_path.string() + "); give --beats FILE");
  const auto table = read_beats_csv(beats_path);
  for (const auto& p : table.problems) spdlog::warn("{}", p.message);

  const BeatTrackerConfig tracker;
  const double frame_hz = config.roll.format.fs_hz;
  std::printf("%s, split %s, against %s\n", source.path().c_str(), command.split.c_str(), beats_path.c_str());
  std::printf("F-measure: mir_eval's, within ±70 ms, the first 5 s not counted. found: the beats the tracker found\n"
              "online (each %.0f ms after it); ahead: the beats it predicted up to %.1f s ahead. pulse: the pianist's\n"
              "onsets on the annotated sixteenth grid, mean cos(2π·4·φ); framed: the same onsets rounded to the roll's\n"
              "%g Hz frames ([roll] fs_hz).\n\n",
              tracker.decision_delay_s * 1000, command.lead_s, frame_hz);
  if (command.per_file)
    std::printf("%6s %6s %6s %7s %8s %8s  %s\n", "found", "ahead", "pulse", "framed", "ann bpm", "trk bpm", "performance");
  const auto evaluation = evaluate_beat_tracking(source, table, command.split, tracker, command.lead_s, frame_hz,
                                                 [&](const BeatFileResult& r) {
                                                   if (!command.per_file) return;
                                                   std::printf("%6.3f %6.3f %6.3f %7.3f %8.1f %8.1f  %s\n",
                                                               r.found.f_measure, r.predicted.f_measure, r.pianist.pulse,
                                                               r.pianist_on_frames.pulse, r.annotated_bpm, r.tracked_bpm,
                                                               r.name.c_str());
                                                   std::fflush(stdout);
                                                 });
  for (const auto& name : evaluation.not_annotated) spdlog::warn("{}: no beat annotation in {}", name, beats_path.string());
  for (const auto& s : evaluation.unreadable) spdlog::warn("skipped {}: {}", s.name, s.reason);
  if (evaluation.files.empty()) {
    std::fprintf(stderr, "scorejam: error: beats: no annotated performance could be read in split '%s'\n",
                 command.split.c_str());
    return 1;
  }
  std::printf("\n%zu performances: mean F-measure %.3f (beats found), %.3f (predicted %.1f s ahead)\n"
              "pianist's pulse %.3f (mean of the files; %.3f pooled over onsets); on %g Hz frames %.3f (mean of the files)\n",
              evaluation.files.size(), evaluation.mean_found_f, evaluation.mean_predicted_f, command.lead_s,
              evaluation.mean_pianist_pulse, evaluation.pooled_pianist_pulse, frame_hz,
              evaluation.mean_pianist_pulse_on_frames);
  return 0;
}

}  // namespace scorejam
