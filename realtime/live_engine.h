// The live engine: what `scorejam run` plays. It owns three non-real-time threads and meets the
// real-time side only through lock-free queues.
// - The conductor thread ("scorejam-cond") drains the MIDI input queue every millisecond, keeps the
//   performance (the player's notes with the pedal applied), detects the end of a phrase (a pause of
//   pause_ms with no key down), stops an answer at once when the player starts again (barge-in), and
//   drains what the scheduler sent for the listeners (session recording, OSC subscribers).
// - The generator thread ("scorejam-gen") owns the model, loaded once and kept warm. Each window it
//   takes the known past from the performance (the player's notes and what scorejam committed to
//   play), samples the horizon with the inpainting sampler, commits the first hop of it and hands the
//   notes to the scheduler. In `continue` mode it starts working while the player is still playing:
//   when the last key comes up it samples the answer that follows if the player stays silent, so the
//   answer is ready when the pause is detected. When a window would miss its deadline it lowers the
//   sampler's steps rather than play late.
// - The surprise thread ("scorejam-surp", SCHED_IDLE, one torch thread, its own copy of the model)
//   measures the bits per note of the player's last phrase when asked or after each phrase
//   (LiveConfig::surprise): it only runs on CPU time nothing else wants.
// The header is torch-free; the model lives behind a pointer in the .cpp.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "realtime/live.h"
#include "realtime/scheduler.h"
#include "realtime/timed_midi.h"

namespace scorejam {

struct LiveConfig {
  LiveSettings settings;       // at start-up; OSC changes them while playing
  int context_frames = 64;     // known past per window (the rest of the model's window is generated)
  int hop_frames = 32;         // frames committed per window; shorter than the horizon so windows overlap
  int lead_ms = 20;            // how far ahead of now a freshly decided note is scheduled at the earliest
  int answer_latency_ms = 100; // continue: time after the pause the answer's first window may still take
                               // (more: more sampling steps for it; the first note comes later)
  int min_steps = 4;           // floor when the steps are lowered to stay on time
  double max_notes_per_second = 30;  // per committed hop; beyond it the loudest are kept (a window of
                                     // few steps decodes to noise: PC 4 steps, 500 notes a second)
  int output_channel = 1;      // 1..16
  int threads = 0;             // torch threads of the generator; 0 = every core but one (at least 1), which
                               // the scheduler, conductor, MIDI and OSC keep
  std::string device = "auto"; // auto (CUDA when this LibTorch has it), cpu, cuda
  std::string model_dir = "models";  // /scorejam/load takes file names from this folder only
  // After each of the player's phrases (no key down for pause_ms), the bits per note of it given
  // what came before (SurpriseReport), on a worker thread at idle priority with one torch thread
  // and its own copy of the model, so it never delays a window. /scorejam/surprise asks for one
  // at any time, whether this is on or not.
  bool surprise = false;
  double surprise_tolerance = 1e-4;  // the likelihood ODE's rtol and atol: 1e-3 leaves 7% error (bench --config likelihood)
  bool operator==(const LiveConfig&) const = default;
};

// The generator's torch threads under `config` (LiveConfig::threads, with 0 resolved).
int generator_threads(const LiveConfig& config);

// Where the engine reports what happens, on its conductor thread (never a real-time thread).
struct LiveListener {
  std::function<void(const TimedMidi&)> player;  // each message the player played
  std::function<void(const TimedMidi&)> played;  // each message scorejam sent, stamped with the sent time
  std::function<void(const std::string&)> event; // one line a person on stage would want to know
  // One line of the session trace (realtime/session_trace.h), in the order the engine decided;
  // called with the engine's lock held, so it must only append to a buffer.
  std::function<void(const std::string&)> trace;
  std::function<void(const SurpriseReport&)> surprise;  // on the surprise worker thread
};

class LiveEngine final : public LiveControl {
 public:
  // Loads the checkpoint (throws CheckpointError naming the file and the problem).
  LiveEngine(const LiveConfig& config, const std::string& checkpoint_path, Scheduler& scheduler,
             moodycamel::ConcurrentQueue<TimedMidi>& input, LiveListener listener = {});
  ~LiveEngine() override;
  LiveEngine(const LiveEngine&) = delete;
  LiveEngine& operator=(const LiveEngine&) = delete;

  void start() override;
  void stop() override;
  void panic() override;
  LiveSettings settings() const override;
  void apply(const LiveSettings& settings) override;
  void load_checkpoint(const std::string& file_name) override;
  LiveStatus status() const override;
  void request_surprise() override;

  // Waits until the generator thread has run its warm-up windows (it starts them at once, so that
  // the first real window does not pay for allocation, kernel choice and its thread team) and
  // returns what one network evaluation took there: the first estimate for the deadline checks.
  double warm_up();
  // True while an answer (continue mode) is still to be generated or played.
  bool answering() const;

  struct Model;
  struct Figures;

 private:
  enum class State { kStopped, kListening, kAnswering, kPlaying };
  void conductor_loop();
  void generator_loop();
  void surprise_loop();
  void warm_up_generator();
  void on_player_message(const TimedMidi& message, std::int64_t now);
  void silence_locked(std::int64_t now);   // with mutex_ held: cancel work, drop pending notes
  void raise_cancel_locked();
  std::string state_name() const;

  LiveConfig config_;
  Scheduler& scheduler_;
  moodycamel::ConcurrentQueue<TimedMidi>& input_;
  LiveListener listener_;

  mutable std::mutex mutex_;  // guards everything below (never taken by a real-time thread)
  std::condition_variable wake_;
  std::shared_ptr<Model> model_;
  LiveSettings settings_;
  State state_ = State::kStopped;
  struct Session;
  std::unique_ptr<Session> session_;
  std::unique_ptr<Figures> figures_;
  int generator_threads_ = 1;
  bool warm_ = false;                // the generator's warm-up is done
  std::int64_t failed_windows_ = 0;  // windows whose sampling threw (generator thread only)
  int models_loaded_ = 0;            // the session trace numbers the models
  std::uint64_t windows_taken_ = 0;  // the session trace numbers the windows
  std::uint64_t epoch_ = 0;          // bumped whenever work in flight becomes worthless
  std::atomic<bool> cancel_{false};  // raised with epoch_; read by the sampler between evaluations
  std::atomic<bool> quitting_{false};  // cancels the warm-up (which a player's note must not cancel)
  bool quit_ = false;
  bool surprise_requested_ = false;
  std::int64_t surprise_measured_ns_ = 0;  // the player's last note when the surprise was last measured

  std::thread conductor_;
  std::thread generator_;
  std::thread surpriser_;
};

}  // namespace scorejam
