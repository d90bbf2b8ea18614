// Judging continuations against what the pianist really played. Prompts are cut from the
// performances of a MAESTRO split at fixed places; each system (a model, or a baseline) continues
// every prompt; each continuation is measured (core/music_metrics.h) and the measures are
// aggregated per system with 95% confidence intervals. No torch: a model is one more system whose
// continuations the caller supplies.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/beat_tracker.h"
#include "core/beats.h"
#include "core/continuators.h"
#include "core/maestro.h"
#include "core/music_metrics.h"
#include "core/notes.h"

namespace scorejam {

struct EvalOptions {
  std::string split = "test";
  double prompt_seconds = 4;  // context given to the system
  double seconds = 8;         // continuation judged
  int prompts_per_piece = 2;  // at evenly spaced places through each performance
  int pieces = 0;             // 0 = every performance of the split; else the first N
  bool sustain_pedal = true;  // held notes are lengthened by the pedal, as in training
  std::uint64_t seed = 0;     // of the random and Markov baselines
  double oa_frame_s = 2;      // frames of Mittal et al.'s overlapping-area measures
  // The beats the pulse is measured against: a performance's annotated beats where this table (not
  // owned) has it, else the beats the online tracker finds in the notes of its history window
  // before the prompt's end, extrapolated over the continuation.
  const BeatsTable* beats = nullptr;
  BeatTrackerConfig tracker;
};

struct EvalPrompt {
  std::string piece;        // MaestroSource::describe()
  double end_s = 0;         // where in the performance the prompt ends
  std::vector<Note> prompt;  // times from 0 to prompt_seconds
  std::vector<ControlChange> prompt_pedal;  // its CC 64, times from 0 (the state at 0 first), for pedal-channel models
  std::vector<Note> real;    // what the pianist played next, times from 0 to seconds
  // The beats over the continuation, times from the prompt's end: from the last at or before 0 to
  // the first at or after `seconds`; empty when none is known.
  std::vector<double> beats_s;
  bool beats_annotated = false;  // from the annotation, not the tracker
  // The annotated beats and downbeats over the prompt and the continuation (and a window beyond),
  // times from the prompt's start, as ContinuationRequest takes them: what a beat-plane model is
  // given with `eval --model-beats annotated`. Empty without an annotation.
  std::vector<double> model_beats_s, model_downbeats_s;
};

// The prompts of the split: for a performance of length L, prompt k of K ends at
// prompt_seconds + (L - prompt_seconds - seconds) (k + 0.5) / K; performances shorter than
// prompt_seconds + seconds are left out. Unreadable files are skipped through `on_skip`.
std::vector<EvalPrompt> eval_prompts(const MaestroSource& source, const EvalOptions& options,
                                     const std::function<void(const SkippedFile&)>& on_skip = {});

// What the random and the learned Markov baselines know: the notes of a split (default: train).
struct EvalCorpus {
  NoteStatistics statistics;
  MarkovContinuator markov{3};
  std::size_t performances = 0;
};
EvalCorpus eval_corpus(const MaestroSource& source, const std::string& split, bool sustain_pedal,
                       const std::function<void(const SkippedFile&)>& on_skip = {});

// The baselines, each a continuation of every prompt (times from 0, within `seconds`):
//   real          the pianist's own continuation (the ceiling);
//   other         the real continuation of another prompt, half the list away (music of the right
//                 style that did not hear this prompt: the floor of listening);
//   repeat        the prompt played again and again;
//   silence       nothing;
//   random        random notes at the corpus' rate, with its pitches, durations and velocities;
//   markov-prompt a Markov continuator (order <= 3) learned from the prompt alone;
//   markov-train  the same learned from the corpus.
// random and markov-train need the corpus; every prompt's draw is seeded from options.seed.
std::vector<std::vector<Note>> baseline_continuations(const std::string& name, const std::vector<EvalPrompt>& prompts,
                                                      const EvalOptions& options, const EvalCorpus* corpus = nullptr);
inline const std::vector<std::string>& baseline_names() {
  static const std::vector<std::string> names{"real",   "other",         "repeat",      "silence",
                                              "random", "markov-prompt", "markov-train"};
  return names;
}

// One continuation's measures.
struct ContinuationScore {
  double notes_per_s = 0;
  double polyphony = 0;
  double pitch_range = 0;
  double register_listening = 0;  // music_metrics.h: > 0 when it stays in its prompt's register
  double pc_entropy = 0;
  double pcd_real = 0;       // pitch-class distance to the real continuation
  double pcd_prompt = 0;     // ... to its own prompt (key consistency)
  double pcd_others = 0;     // ... mean over the other prompts
  double listening = 0;      // pcd_others - pcd_prompt: > 0 when it follows its own prompt's key
  double seed_overlap = 0;   // onset_overlap with the next prompt's continuation (same system, same seed)
  double mean_ioi_s = 0;     // mean inter-onset interval (0 with fewer than 2 notes)
  double mean_duration_s = 0;
  double mean_velocity = 0;
  double prompt_copy = 0;    // prompt_copy_share: notes copied from the prompt, shifted in time
  double pulse = 0;          // sixteenth_pulse of its onsets against the prompt's beats_s
};
std::vector<ContinuationScore> score_continuations(const std::vector<EvalPrompt>& prompts,
                                                   const std::vector<std::vector<Note>>& continuations,
                                                   const EvalOptions& options);

struct MetricInfo {
  const char* name;
  const char* definition;
  double ContinuationScore::*field;
};
const std::vector<MetricInfo>& eval_metrics();

struct SystemResult {
  std::string name;
  std::vector<ContinuationScore> scores;
  double seconds_per_continuation = 0;  // compute time, 0 for baselines
  OverlapMeasures pitch_oa, duration_oa;  // against the real continuations (Mittal et al. 2021)
  // Histogram overlap of all its notes' IOIs, durations and velocities with the real continuations'
  // (music_metrics.h: histogram_overlap), in the order of NoteDistribution.
  std::array<double, 3> distribution_overlap{};
  double nfe_per_continuation = 0;      // network evaluations, 0 for baselines
  std::string series;                   // models: checkpoint and sampler kind, for the trade-off plot
  std::string steps_label;              // models: the sampler's steps, labelling its point there
};
// Scores a system's continuations of the prompts, with the overlapping-area measures.
SystemResult judge_system(const std::string& name, const std::vector<EvalPrompt>& prompts,
                          const std::vector<std::vector<Note>>& continuations, const EvalOptions& options,
                          double seconds_per_continuation = 0);
// A Markdown table: one row per system, one column per metric, "mean ± 95% CI half-width", then
// the OA measures, network evaluations and compute time per continuation.
std::string eval_table_markdown(const std::vector<SystemResult>& systems);
// CSV: one row per system and prompt.
std::string eval_csv(const std::vector<SystemResult>& systems, const std::vector<EvalPrompt>& prompts);

}  // namespace scorejam
