// Musical measures of a continuation, computed from its notes. Each is defined where it is
// declared, with its source. Plain functions over notes: no torch, no threads.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "core/notes.h"

namespace scorejam {

// Share of the notes in each pitch class (C = 0 .. B = 11), counted per note onset; all zeros
// when there are no notes. The "pitch class histogram" (PCH) of Yang & Lerch, "On the evaluation of
// generative models in music", Neural Computing and Applications 32 (2020).
using PitchClassHistogram = std::array<double, 12>;
PitchClassHistogram pitch_class_histogram(const std::vector<Note>& notes);

// Total-variation distance of two pitch-class histograms, 0.5 * sum |a - b|: 0 for the same
// distribution, 1 for disjoint ones. An empty histogram is at distance 1 from any non-empty one and
// 0 from another empty one. Small distance to the prompt = the continuation stays in its key.
double pitch_class_distance(const PitchClassHistogram& a, const PitchClassHistogram& b);

// Shannon entropy of the pitch-class histogram in bits (0 .. log2 12 = 3.58); Yang & Lerch's PCE.
double pitch_class_entropy(const PitchClassHistogram& h);

// Notes begun per second over `seconds`.
double note_density(const std::vector<Note>& notes, double seconds);

// Highest minus lowest pitch in semitones; 0 without notes. Yang & Lerch's PR.
int pitch_range(const std::vector<Note>& notes);

// Where on the keyboard two sets of notes lie, compared: each note's onset counted on its key and
// spread evenly over the keys within `spread` semitones of it, each side normalised to 1, then
// sum_k min(p_k, q_k): 1 for the same register, 0 for registers more than 2 spread + 1 apart; 0 when
// either has no notes. A pianist stays near the prompt's register; a model that cannot tell which
// keys were played wanders to wherever its noise puts notes.
double register_overlap(const std::vector<Note>& a, const std::vector<Note>& b, int spread = 6);

// Following the prompt's register, as "listening" follows its key: register_overlap with its own
// prompt minus the mean register_overlap with the other prompts (those with notes). > 0 when it
// stays in its own prompt's register rather than in the register of piano music in general; 0 for
// music that did not hear the prompt; 0 without notes. `own` indexes `prompts`.
double register_listening(const std::vector<Note>& notes, const std::vector<std::vector<Note>>& prompts, std::size_t own);

// register_listening of the notes begun in each `bin_s` bin of [0, seconds), averaged over the
// continuations that play in the bin and whose prompt has notes; 0 where none does.
std::vector<double> register_listening_over_time(const std::vector<std::vector<Note>>& continuations,
                                                 const std::vector<std::vector<Note>>& prompts, double seconds,
                                                 double bin_s);

// Mean number of notes sounding, sampled every `step_s` over [0, seconds) (silence counts as 0).
double mean_polyphony(const std::vector<Note>& notes, double seconds, double step_s = 1.0 / 16);

// Share of the notes of `a` that have a note of the same pitch in `b` beginning within
// `tolerance_s`; 0 when `a` is empty. Two continuations of different prompts drawn with one seed
// that overlap strongly were decided by the seed, not by what was played.
double onset_overlap(const std::vector<Note>& a, const std::vector<Note>& b, double tolerance_s);

// Copying the prompt: the share of the notes of `generated` (times from the prompt's end) that
// belong to a copied fragment: a time shift, on a grid of `grid_s`, under which at least
// `min_fragment` notes of `generated` land on prompt notes of the same pitch (onsets within half a
// grid step). Notes matched under any such shift count. The prompt looped scores 1.
double prompt_copy_share(const std::vector<Note>& generated, const std::vector<Note>& prompt, double prompt_seconds,
                         double grid_s = 1.0 / 16, std::size_t min_fragment = 4);

// Overlapping area of the densities of N(m1, s1^2) and N(m2, s2^2): 1 for equal ones, towards 0 for
// distant ones (numerical integral of min(pdf1, pdf2)).
double gaussian_overlap(double m1, double s1, double m2, double s2);

// Mittal et al., "Symbolic music generation with diffusion models", ISMIR 2021: the notes cut into
// frames of `frame_s`; per frame a Gaussian of a feature (pitch in semitones, or duration in s)
// fitted to its notes (std floored at `min_std`); the overlapping area of each pair of adjacent
// frames that both have notes. Consistency and variance then compare the mean and the variance of
// these areas with the real music's.
enum class NoteFeature { kPitch, kDuration };
std::vector<double> frame_overlaps(const std::vector<Note>& notes, double seconds, double frame_s, NoteFeature feature);
struct OverlapMeasures {
  double consistency = 0;  // max(0, 1 - |mean - mean_real| / mean_real)
  double variance = 0;     // max(0, 1 - |var - var_real| / var_real)
};
OverlapMeasures overlap_measures(const std::vector<double>& overlaps, const std::vector<double>& real_overlaps);

// The distribution of a note feature over many notes, to compare a system's with the pianist's:
//   kIoi       time from each onset to the next, onsets sorted (a chord's notes give 0);
//   kDuration  end minus start, s;
//   kVelocity  MIDI velocity.
// Histograms on fixed edges (note_feature_edges: log-spaced times from 1/32 s, velocity in 8 bands)
// are compared by their overlap, sum_i min(p_i, q_i) = 1 - total variation: 1 for the same
// distribution, 0 for disjoint ones or when either side has no values.
enum class NoteDistribution { kIoi, kDuration, kVelocity };
std::vector<double> note_feature_values(const std::vector<Note>& notes, NoteDistribution feature);
const std::vector<double>& note_feature_edges(NoteDistribution feature);
double histogram_overlap(const std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& edges);

// Notes begun per second in each `bin_s` bin of [0, seconds), averaged over the continuations: where
// in a continuation a system plays densely (a sliding-window model shows its window seams here).
std::vector<double> density_over_time(const std::vector<std::vector<Note>>& continuations, double seconds, double bin_s);

// The notes sounding at a time `seam` (begun before it, not ended before it), and how many of them
// stop within `frame_s` after it while the same key is struck again within 2 frame_s after it: a
// sliding-window model that cuts what was held into a new window, and strikes it again, shows it.
struct HeldAcross {
  std::size_t held = 0;
  std::size_t restruck = 0;
};
HeldAcross held_across(const std::vector<Note>& notes, double seam, double frame_s);

// The pulse: how well onsets keep to the sixteenth grid of the beats, mean cos(2π·4·φ) over the
// onsets, φ the onset's position within its beat (between the two beats around it, 0 .. 1). 1 when
// every onset is on a sixteenth, −1 when every one falls halfway between two (the 32nd offbeats),
// about 0 for onsets in free time. Onsets before the first beat or after the last are not counted;
// pulse is 0 when none is counted. `beats_s` sorted. The pianist scores ~0.31 (FIELD-NOTES.md,
// "What a frame costs"); rounding onsets to a coarse frame lowers it.
struct Pulse {
  double pulse = 0;
  std::size_t onsets = 0;  // onsets counted, to pool performances
};
Pulse sixteenth_pulse(const std::vector<double>& onsets_s, const std::vector<double>& beats_s);
Pulse sixteenth_pulse(const std::vector<Note>& notes, const std::vector<double>& beats_s);

// Mean and the half-width of its normal-approximation 95% confidence interval (1.96 s / sqrt n).
struct MeanInterval {
  double mean = 0;
  double half_width = 0;
  std::size_t n = 0;
};
MeanInterval mean_interval(const std::vector<double>& values);

}  // namespace scorejam
