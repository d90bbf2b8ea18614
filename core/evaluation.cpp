#include "core/evaluation.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "core/midi_file.h"

namespace scorejam {
namespace {

// Notes that begin in [start_s, end_s), shifted to start at 0 and cut at the end: a continuation is
// what begins after the prompt, not what the prompt's last notes still hold.
std::vector<Note> notes_begun_between(const std::vector<Note>& notes, double start_s, double end_s) {
  std::vector<Note> out;
  for (auto n : notes) {
    if (n.start_s < start_s || n.start_s >= end_s) continue;
    n.start_s -= start_s;
    n.end_s = std::min(n.end_s, end_s) - start_s;
    out.push_back(n);
  }
  return out;
}

// The annotated beats around [end_s, end_s + seconds], times from end_s.
std::vector<double> annotated_beats(const std::vector<double>& beats, double end_s, double seconds) {
  auto first = std::upper_bound(beats.begin(), beats.end(), end_s);
  if (first != beats.begin()) --first;
  auto last = std::lower_bound(beats.begin(), beats.end(), end_s + seconds);
  if (last != beats.end()) ++last;
  std::vector<double> out;
  for (auto it = first; it < last; ++it) out.push_back(*it - end_s);
  return out;
}

// What the online tracker, having heard the notes of its history window before end_s, expects over
// the continuation, times from end_s.
std::vector<double> tracked_beats(const std::vector<Note>& notes, double end_s, double seconds,
                                  const BeatTrackerConfig& config) {
  BeatTracker tracker(config);
  const double origin = std::max(0.0, end_s - config.history_s);  // the tracker's clock starts here
  for (const auto& n : notes)
    if (n.start_s >= origin && n.start_s < end_s) tracker.add_onset(n.start_s - origin, n.velocity, n.pitch);
  const double now = end_s - origin;
  tracker.advance(now);
  const double period = tracker.period_s();
  std::vector<double> out;
  if (period <= 0) return out;
  for (double b : tracker.predict(now - period, now + seconds + period)) out.push_back(b - now);
  return out;
}

}  // namespace

std::vector<EvalPrompt> eval_prompts(const MaestroSource& source, const EvalOptions& options,
                                     const std::function<void(const SkippedFile&)>& on_skip) {
  if (options.prompt_seconds <= 0 || options.seconds <= 0 || options.prompts_per_piece < 1)
    throw std::invalid_argument("eval: prompt seconds and seconds must be > 0 and prompts per piece >= 1");
  auto indices = source.split(options.split);
  if (indices.empty()) throw std::invalid_argument(source.path().string() + ": no performances in split '" + options.split + "'");
  if (options.pieces > 0 && indices.size() > static_cast<std::size_t>(options.pieces))
    indices.resize(static_cast<std::size_t>(options.pieces));
  std::vector<EvalPrompt> prompts;
  for (auto index : indices) {
    MidiFile midi;
    try {
      midi = source.read(index);
    } catch (const std::exception& e) {
      if (on_skip) on_skip({source.describe(index), e.what()});
      continue;
    }
    const auto notes = options.sustain_pedal ? apply_sustain(midi.notes, midi.controls) : midi.notes;
    const double spare = midi.duration_s - options.prompt_seconds - options.seconds;
    if (spare < 0) continue;
    const BeatAnnotation* annotation = nullptr;
    if (options.beats) {
      const auto it = options.beats->by_name.find(source.entries()[index].midi_filename);
      if (it != options.beats->by_name.end()) annotation = &it->second;
    }
    for (int k = 0; k < options.prompts_per_piece; ++k) {
      EvalPrompt p;
      p.piece = source.describe(index);
      p.end_s = options.prompt_seconds + spare * (k + 0.5) / options.prompts_per_piece;
      p.prompt = notes_between(notes, p.end_s - options.prompt_seconds, p.end_s);
      for (const auto& cc : controls_between(midi.controls, p.end_s - options.prompt_seconds, p.end_s))
        if (cc.controller == kSustainController) p.prompt_pedal.push_back(cc);
      p.real = notes_begun_between(notes, p.end_s, p.end_s + options.seconds);
      p.beats_annotated = annotation != nullptr;
      if (annotation) {
        const double from = p.end_s - options.prompt_seconds, to = p.end_s + options.seconds + 8.0;
        for (double b : annotation->beats_s)
          if (b >= from && b <= to) p.model_beats_s.push_back(b - from);
        for (double b : annotation->downbeats_s)
          if (b >= from && b <= to) p.model_downbeats_s.push_back(b - from);
      }
      p.beats_s = annotation ? annotated_beats(annotation->beats_s, p.end_s, options.seconds)
                             : tracked_beats(midi.notes, p.end_s, options.seconds, options.tracker);
      prompts.push_back(std::move(p));
    }
  }
  return prompts;
}

EvalCorpus eval_corpus(const MaestroSource& source, const std::string& split, bool sustain_pedal,
                       const std::function<void(const SkippedFile&)>& on_skip) {
  EvalCorpus corpus;
  std::vector<std::vector<Note>> performances;
  double seconds = 0;
  for (auto index : source.split(split)) {
    try {
      const auto midi = source.read(index);
      performances.push_back(sustain_pedal ? apply_sustain(midi.notes, midi.controls) : midi.notes);
      seconds += midi.duration_s;
      corpus.markov.learn(performances.back());
    } catch (const std::exception& e) {
      if (on_skip) on_skip({source.describe(index), e.what()});
    }
  }
  corpus.performances = performances.size();
  corpus.statistics = note_statistics(performances, seconds);
  return corpus;
}

std::vector<std::vector<Note>> baseline_continuations(const std::string& name, const std::vector<EvalPrompt>& prompts,
                                                      const EvalOptions& options, const EvalCorpus* corpus) {
  if ((name == "random" || name == "markov-train") && !corpus)
    throw std::invalid_argument("eval: baseline '" + name + "' needs the training corpus");
  std::vector<std::vector<Note>> out(prompts.size());
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    std::mt19937_64 rng(options.seed * 1'000'003 + i);
    if (name == "real") {
      out[i] = prompts[i].real;
    } else if (name == "other") {
      out[i] = prompts[(i + prompts.size() / 2) % prompts.size()].real;
    } else if (name == "repeat") {
      for (double offset = 0; offset < options.seconds; offset += options.prompt_seconds)
        for (auto n : prompts[i].prompt) {
          n.start_s += offset;
          n.end_s = std::min(n.end_s + offset, options.seconds);
          if (n.start_s < options.seconds) out[i].push_back(n);
        }
    } else if (name == "random") {
      out[i] = random_continuation(corpus->statistics, options.seconds, rng);
    } else if (name == "markov-prompt") {
      MarkovContinuator markov(3);
      markov.learn(prompts[i].prompt);
      out[i] = markov.continue_from(prompts[i].prompt, options.prompt_seconds, options.seconds, rng);
    } else if (name == "markov-train") {
      out[i] = corpus->markov.continue_from(prompts[i].prompt, options.prompt_seconds, options.seconds, rng);
    } else if (name != "silence") {
      throw std::invalid_argument("eval: unknown baseline '" + name +
                                  "' (real, other, repeat, silence, random, markov-prompt, markov-train)");
    }
  }
  return out;
}

std::vector<ContinuationScore> score_continuations(const std::vector<EvalPrompt>& prompts,
                                                   const std::vector<std::vector<Note>>& continuations,
                                                   const EvalOptions& options) {
  if (continuations.size() != prompts.size()) throw std::invalid_argument("eval: one continuation per prompt");
  std::vector<PitchClassHistogram> prompt_pch;
  std::vector<std::vector<Note>> prompt_notes;
  for (const auto& p : prompts) {
    prompt_pch.push_back(pitch_class_histogram(p.prompt));
    prompt_notes.push_back(p.prompt);
  }
  const double frame_s = 1.0 / 16;
  std::vector<ContinuationScore> scores;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const auto& notes = continuations[i];
    const auto pch = pitch_class_histogram(notes);
    ContinuationScore s;
    s.notes_per_s = note_density(notes, options.seconds);
    s.polyphony = mean_polyphony(notes, options.seconds, frame_s);
    s.pitch_range = pitch_range(notes);
    s.register_listening = register_listening(notes, prompt_notes, i);
    s.pc_entropy = pitch_class_entropy(pch);
    s.pcd_real = pitch_class_distance(pch, pitch_class_histogram(prompts[i].real));
    s.pcd_prompt = pitch_class_distance(pch, prompt_pch[i]);
    double others = 0;
    for (std::size_t j = 0; j < prompts.size(); ++j)
      if (j != i) others += pitch_class_distance(pch, prompt_pch[j]);
    s.pcd_others = prompts.size() > 1 ? others / static_cast<double>(prompts.size() - 1) : s.pcd_prompt;
    s.listening = s.pcd_others - s.pcd_prompt;
    s.seed_overlap = onset_overlap(notes, continuations[(i + 1) % prompts.size()], frame_s);
    if (notes.size() > 1) {
      double first = notes.front().start_s, last = first, durations = 0, velocities = 0;
      for (const auto& n : notes) {
        first = std::min(first, n.start_s);
        last = std::max(last, n.start_s);
      }
      s.mean_ioi_s = (last - first) / static_cast<double>(notes.size() - 1);
      for (const auto& n : notes) {
        durations += n.end_s - n.start_s;
        velocities += n.velocity;
      }
      s.mean_duration_s = durations / static_cast<double>(notes.size());
      s.mean_velocity = velocities / static_cast<double>(notes.size());
    } else if (notes.size() == 1) {
      s.mean_duration_s = notes[0].end_s - notes[0].start_s;
      s.mean_velocity = notes[0].velocity;
    }
    s.prompt_copy = prompt_copy_share(notes, prompts[i].prompt, options.prompt_seconds);
    s.pulse = sixteenth_pulse(notes, prompts[i].beats_s).pulse;
    scores.push_back(s);
  }
  return scores;
}

const std::vector<MetricInfo>& eval_metrics() {
  static const std::vector<MetricInfo> metrics{
      {"notes/s", "notes begun per second", &ContinuationScore::notes_per_s},
      {"polyphony", "mean notes sounding, sampled at 16 Hz", &ContinuationScore::polyphony},
      {"range", "highest minus lowest pitch, semitones (Yang & Lerch 2020, PR)", &ContinuationScore::pitch_range},
      {"register listening",
       "overlap of its notes' keys (each spread over +-6 semitones) with its own prompt's, minus the mean with the other "
       "prompts': > 0 when it stays in its prompt's register",
       &ContinuationScore::register_listening},
      {"PC entropy", "pitch-class entropy in bits (Yang & Lerch 2020, PCE)", &ContinuationScore::pc_entropy},
      {"PCD real", "pitch-class histogram distance (total variation) to the real continuation", &ContinuationScore::pcd_real},
      {"PCD prompt", "pitch-class histogram distance to its own prompt: key consistency", &ContinuationScore::pcd_prompt},
      {"listening", "mean PCD to the other prompts minus PCD to its own: > 0 when it follows its prompt's key",
       &ContinuationScore::listening},
      {"seed overlap", "share of notes (pitch, onset within 1/16 s) also in the next prompt's continuation",
       &ContinuationScore::seed_overlap},
      {"IOI s", "mean inter-onset interval, s", &ContinuationScore::mean_ioi_s},
      {"duration s", "mean note duration, s (pedal applied)", &ContinuationScore::mean_duration_s},
      {"velocity", "mean MIDI velocity", &ContinuationScore::mean_velocity},
      {"prompt copy", "share of notes in fragments of >= 4 copied from the prompt, shifted in time",
       &ContinuationScore::prompt_copy},
      {"pulse",
       "mean cos(2 pi 4 phi) of its onsets, phi the place within the beat (annotated beats, or the tracker's from the "
       "notes before the prompt's end, extrapolated): 1 on the sixteenth grid, 0 in free time",
       &ContinuationScore::pulse},
  };
  return metrics;
}

SystemResult judge_system(const std::string& name, const std::vector<EvalPrompt>& prompts,
                          const std::vector<std::vector<Note>>& continuations, const EvalOptions& options,
                          double seconds_per_continuation) {
  SystemResult r;
  r.name = name;
  r.scores = score_continuations(prompts, continuations, options);
  r.seconds_per_continuation = seconds_per_continuation;
  for (auto feature : {NoteFeature::kPitch, NoteFeature::kDuration}) {
    std::vector<double> overlaps, real;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      for (double a : frame_overlaps(continuations[i], options.seconds, options.oa_frame_s, feature)) overlaps.push_back(a);
      for (double a : frame_overlaps(prompts[i].real, options.seconds, options.oa_frame_s, feature)) real.push_back(a);
    }
    (feature == NoteFeature::kPitch ? r.pitch_oa : r.duration_oa) = overlap_measures(overlaps, real);
  }
  for (auto feature : {NoteDistribution::kIoi, NoteDistribution::kDuration, NoteDistribution::kVelocity}) {
    std::vector<double> values, real;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      for (double v : note_feature_values(continuations[i], feature)) values.push_back(v);
      for (double v : note_feature_values(prompts[i].real, feature)) real.push_back(v);
    }
    r.distribution_overlap[static_cast<std::size_t>(feature)] = histogram_overlap(values, real, note_feature_edges(feature));
  }
  return r;
}

std::string eval_table_markdown(const std::vector<SystemResult>& systems) {
  std::string head = "| system |", rule = "|---|";
  for (const auto& m : eval_metrics()) {
    head += fmt::format(" {} |", m.name);
    rule += "---|";
  }
  std::string text = head + " OA pitch C / V | OA duration C / V | IOI / duration / velocity overlap | NFE | s per continuation |\n" +
                     rule + "---|---|---|---|---|\n";
  for (const auto& system : systems) {
    text += fmt::format("| {} |", system.name);
    for (const auto& m : eval_metrics()) {
      std::vector<double> values;
      for (const auto& s : system.scores) values.push_back(s.*m.field);
      const auto r = mean_interval(values);
      text += fmt::format(" {:.3g} ± {:.2g} |", r.mean, r.half_width);
    }
    text += fmt::format(" {:.2f} / {:.2f} | {:.2f} / {:.2f} |", system.pitch_oa.consistency, system.pitch_oa.variance,
                        system.duration_oa.consistency, system.duration_oa.variance);
    text += fmt::format(" {:.2f} / {:.2f} / {:.2f} |", system.distribution_overlap[0], system.distribution_overlap[1],
                        system.distribution_overlap[2]);
    text += system.nfe_per_continuation > 0 ? fmt::format(" {:.0f} |", system.nfe_per_continuation) : " – |";
    text += system.seconds_per_continuation > 0 ? fmt::format(" {:.2f} |\n", system.seconds_per_continuation) : " – |\n";
  }
  return text;
}

std::string eval_csv(const std::vector<SystemResult>& systems, const std::vector<EvalPrompt>& prompts) {
  std::string text = "system,piece,prompt_end_s";
  for (const auto& m : eval_metrics()) text += fmt::format(",{}", m.name);
  text += "\n";
  for (const auto& system : systems)
    for (std::size_t i = 0; i < system.scores.size() && i < prompts.size(); ++i) {
      text += fmt::format("{},\"{}\",{:.3f}", system.name, prompts[i].piece, prompts[i].end_s);
      for (const auto& m : eval_metrics()) text += fmt::format(",{:.6g}", system.scores[i].*m.field);
      text += "\n";
    }
  return text;
}

}  // namespace scorejam
