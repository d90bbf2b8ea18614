// What a performer steers while scorejam plays: the live settings, the status it reports, and the
// control interface that the OSC handlers (daemon/) call and the live engine (realtime/) implements.
// Torch-free. Every call is made from the control thread (load_checkpoint excepted: see there);
// implementations hand work to their own threads.
#pragma once

#include <cstdint>
#include <string>

#include "core/roll.h"
#include "core/sampler_config.h"

namespace scorejam {

// continue: call and response; duet: play along all the time; solo: play without a player.
enum class LiveMode { kContinue, kDuet, kSolo };

std::string to_string(LiveMode mode);
LiveMode live_mode_from_string(const std::string& name);  // continue, duet, solo; throws std::invalid_argument

struct LiveSettings {
  LiveMode mode = LiveMode::kContinue;
  SamplerConfig sampler;           // kind, steps, snr, corrector_steps, temperature, seed
  DecodeThresholds thresholds;     // onset and frame thresholds of the decoder
  int pause_ms = 500;              // continue: a silence this long ends the player's phrase
  double answer_seconds = 8;       // continue: the longest answer
  bool operator==(const LiveSettings&) const = default;
};

// Percentiles are over the running session; 0 when nothing was measured yet.
struct LiveStatus {
  bool playing = false;              // started and not stopped
  std::string state = "stopped";     // stopped, listening, answering, playing
  LiveSettings settings;
  std::string checkpoint;            // file name of the model in use
  std::string device;                // cpu or cuda
  std::string midi;                  // the MIDI ports ("jack: in ..., out ...") or what is waited for
  // Latency from the detected pause to the first answering note.
  std::int64_t answers = 0;
  double first_note_ms_p50 = 0, first_note_ms_p95 = 0;
  // Why an answer's first note is slow: its window was not ready when the pause was detected (the
  // others are answers_prepared), or that window held no note, so another was drawn at once.
  std::int64_t answers_prepared = 0, answers_opening_rest = 0;
  // Generation per window against its deadline.
  std::int64_t windows = 0, windows_late = 0;
  double window_ms_p50 = 0, window_ms_max = 0, deadline_ms = 0;
  int steps_in_use = 0;              // after any lowering of the cost to stay on time
  std::int64_t notes_thinned = 0;    // decoded notes not played: over live.max_notes_per_second
  // Scheduler lateness (sent time minus due time).
  std::int64_t events_sent = 0;
  double lateness_us_p50 = 0, lateness_us_p99 = 0, lateness_us_max = 0;
  double rss_mib = 0;
  // The live surprise (LiveConfig::surprise): how many phrases were measured, and the last figure.
  std::int64_t surprises = 0;
  double surprise_bits_per_note = 0;
  double surprise_ms_last = 0;       // what computing it took, on its idle-priority worker thread
};

// One surprise figure: the bits per note of what the player has just played under the model,
// given what they played before it (the conditional likelihood, core/likelihood.h).
struct SurpriseReport {
  double bits_per_note = 0;
  double bits_per_dim = 0;
  int notes = 0;          // notes struck in the measured span
  double seconds = 0;     // the measured span: the second half of the model's window, ending at the last key up
  int nfe = 0;            // network evaluations the ODE took
  double wall_ms = 0;
  bool requested = false; // asked for over OSC (otherwise: at the end of a phrase)
};

class LiveControl {
 public:
  virtual ~LiveControl() = default;
  virtual void start() = 0;                                   // listen and play
  virtual void stop() = 0;                                    // stop playing; every sounding note ends
  virtual void panic() = 0;                                   // every sounding note ends now; keeps running
  virtual LiveSettings settings() const = 0;
  virtual void apply(const LiveSettings& settings) = 0;       // already validated by the caller
  // Loads a checkpoint from the configured model folder (a bare file name); throws
  // std::runtime_error naming what was wrong, and keeps the current model then. The one call made
  // from another thread (the OSC server's control worker: it reads a file), concurrently with the
  // others: implementations guard what it changes.
  virtual void load_checkpoint(const std::string& file_name) = 0;
  virtual LiveStatus status() const = 0;
  // Measures the surprise of what the player has just played, on a worker thread; the figure goes
  // to the listeners when it is ready. Throws std::runtime_error when nothing has been played.
  virtual void request_surprise() = 0;
};

}  // namespace scorejam
