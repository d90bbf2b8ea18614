// An online beat tracker over note onsets, and the mir_eval F-measure to judge one against the
// annotated beats. No threads; the daemon feeds it from a non-real-time thread.
//
// Design (FIELD-NOTES.md, "Beat tracking from notes, online"): onsets, weighted by velocity and by
// how low they are, are summed into an onset strength on a 10 ms grid kept for the last
// `history_s`. Every `tempo_every_s` the beat period is
// re-estimated from the autocorrelation of that strength (lag and double lag, a comb of two) times
// a log-normal tempo prior around `prior_bpm`, within `min_bpm`..`max_bpm`, favouring the last
// period a little. Each frame extends
// Ellis's dynamic programme in Stark et al.'s leaky, causal form (real-time beat-synchronous
// analysis, DAFx 2009): score(t) = (1 − α) onset(t) + α max_v W(v) score(t − v), v in [P/2, 2P],
// W a log-Gaussian around the period P, with a back-link to the best v. A beat is found once the
// best path through the last period, traced back, passes it `decision_delay_s` ago: only the past
// is used. `predict` extends the latest beat of that path by whole periods.
// Memory is fixed at construction; adding an onset allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/notes.h"

namespace scorejam {

// Defaults tuned on a quarter of the train split of maestro-asap-subset (F-measure of the beats
// found, against the hand annotations); the validation split was left for the report.
struct BeatTrackerConfig {
  double frame_s = 0.01;
  double history_s = 8;            // onset strength and scores kept
  double min_bpm = 40;
  double max_bpm = 220;
  double prior_bpm = 130;          // centre of the log-normal tempo prior
  double prior_octaves = 1.0;      // its standard deviation, in octaves
  double tempo_every_s = 0.25;     // how often the period is re-estimated
  double tempo_continuity = 0.5;   // extra weight, up to 1 + this, for a period within ~7% of the last
  double tightness = 2;            // of W(v) = exp(−(tightness · ln(v / P))² / 2)
  double score_memory = 0.8;       // α: how much of the score comes from the previous beat
  double decision_delay_s = 0.3;   // a beat is found this long after it
  double warm_up_s = 2;            // no tempo (and no beat) before this much time with onsets
  double bass_weight = 3;          // an onset two octaves below middle C counts 1 + this times as much
};

class BeatTracker {
 public:
  explicit BeatTracker(const BeatTrackerConfig& config = {});

  // Onsets in time order (an earlier one counts at the current frame). Velocity 1..127; the pitch,
  // when known, lets bass notes (which mark beats more often) count more.
  void add_onset(double time_s, int velocity, int pitch = -1);
  // Lets time pass without onsets up to `time_s`: beats go on being found through a rest.
  void advance(double time_s);
  void reset();

  // Beat period and tempo; 0 until the first estimate.
  double period_s() const;
  double bpm() const;
  // The beats found within the last history_s, oldest first; how many were found in all.
  std::vector<double> beats() const;
  std::size_t beats_found() const { return found_count_; }
  // The latest beat of the best path and its whole periods on either side, within [from_s, to_s):
  // where the coming beats fall if the tempo holds. Empty before the first tempo estimate.
  std::vector<double> predict(double from_s, double to_s) const;

  const BeatTrackerConfig& config() const { return config_; }

 private:
  void process_frame();
  void estimate_tempo();
  void set_period(double period_frames);
  void find_beats();
  std::int64_t best_recent_frame() const;
  std::size_t slot(std::int64_t frame) const { return static_cast<std::size_t>(frame % static_cast<std::int64_t>(size_)); }

  BeatTrackerConfig config_;
  std::size_t size_ = 0;              // frames of history
  int min_lag_ = 0, max_lag_ = 0;     // period bounds, frames
  std::vector<double> onset_;         // ring: onset strength per frame
  std::vector<double> score_;         // ring: cumulative score
  std::vector<std::int64_t> back_;    // ring: previous beat frame on the best path, −1 for none
  std::vector<double> weight_;        // W(v) for the current period, by v
  std::vector<double> smooth_;        // scratch for the tempo estimate
  std::vector<double> acf_;           // scratch: autocorrelation by lag
  std::vector<double> found_;         // ring of the beats found, seconds
  std::int64_t processed_ = 0;        // frames 0 .. processed_ − 1 are done
  std::int64_t first_onset_ = -1;     // frame of the first onset
  std::int64_t last_found_ = -1;      // frame of the last beat found
  std::size_t found_count_ = 0;
  double period_frames_ = 0;          // fractional, 0 = unknown
  int period_lag_ = 0;                // rounded
  int frames_to_tempo_ = 0;
  std::vector<std::int64_t> path_;    // scratch for find_beats
};

// Runs a tracker over a performance's notes as if they were played live and returns every beat it
// found, advancing through rests in steps shorter than the history.
std::vector<double> track_beats(const std::vector<Note>& notes, const BeatTrackerConfig& config = {});

// The beats the tracker predicts `lead_s` ahead: at each multiple t of lead_s, having heard the notes
// before t, its prediction for [t, t + lead_s). What a continuation generated lead_s ahead would get.
std::vector<double> predict_beats_ahead(const std::vector<Note>& notes, double lead_s,
                                        const BeatTrackerConfig& config = {});

// mir_eval.beat.f_measure: both sequences without the beats before `skip_s` (mir_eval trims the
// first 5 s), each annotated beat matched to at most one estimated beat within ±tolerance_s
// (a maximum matching), F = 2PR / (P + R). 0 when either is empty after the trim.
struct BeatScore {
  double f_measure = 0;
  double precision = 0;
  double recall = 0;
  std::size_t matched = 0;
  std::size_t reference = 0;
  std::size_t estimated = 0;
};
BeatScore beat_f_measure(const std::vector<double>& reference_s, const std::vector<double>& estimated_s,
                         double tolerance_s = 0.07, double skip_s = 5.0);

}  // namespace scorejam
