#include "realtime/live_engine.h"

#include <pthread.h>
#include <sched.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/beat_tracker.h"
#include "core/checkpoint.h"
#include "core/likelihood.h"
#include "core/live_window.h"
#include "core/sampler.h"
#include "core/torch_runtime.h"
#include "realtime/live_timeline.h"
#include "realtime/performance.h"
#include "realtime/session_trace.h"

namespace scorejam {

namespace fs = std::filesystem;

struct LiveEngine::Model {
  ModelSpec spec;
  ScoreNet net{nullptr};
  std::string name;
  std::string path;
  std::string device;
  int trace_id = 0;  // its number in the session trace
};

// Running figures for the status reply; bounded so a long gig does not grow them.
struct LiveEngine::Figures {
  static constexpr std::size_t kKeep = 2000;
  std::vector<double> first_note_ms;
  std::vector<double> window_ms;
  std::int64_t answers = 0, windows = 0, windows_late = 0;
  std::int64_t answers_prepared = 0, answers_opening_rest = 0;
  std::int64_t notes_thinned = 0;
  double deadline_ms = 0;
  int steps_in_use = 0;
  double seconds_per_nfe = 0;  // running estimate of one network evaluation, for the deadline check
  std::int64_t surprises = 0;
  double surprise_bits_per_note = 0, surprise_ms_last = 0;

  static void keep(std::vector<double>& v, double x) {
    if (v.size() == kKeep) v.erase(v.begin());
    v.push_back(x);
  }
};

// What one start()..stop() knows: the performance and where the generated timeline stands.
struct LiveEngine::Session {
  explicit Session(std::int64_t origin_ns, const RollFormat& roll)
      : performance(origin_ns, roll) {}
  Performance performance;
  // The player's beats, tracked online from their onsets (for beat_planes models): seconds since
  // the performance's origin, the frame grid's clock.
  BeatTracker beats;
  Timeline timeline;                   // offset_ns and answer_end of the generated timeline
  // continue mode
  std::uint64_t version = 0;           // bumped at every note the player strikes
  bool phrase_open = false;            // the player has played since the last answer
  std::int64_t pause_detected_ns = 0;  // when the pause that started this answer was detected
  bool answer_started = false;         // the answer's first window is committed
  bool first_note_measured = false;
  int silent_first_windows = 0;        // the answer's first windows that held no note
  // the generated timeline: frames [.., committed_end) are decided
  std::int64_t committed_end = 0;
  std::int64_t last_note_off_ns = 0;   // when the last committed note ends
  // continue mode: the answer sampled while the player was still (speculatively) done
  struct Speculation {
    bool ready = false;
    std::uint64_t version = 0;
    std::uint64_t window = 0;  // its number in the session trace
    std::int64_t window_first = 0;
    int known_frames = 0;
    WindowResult result;
  } speculation;
};

namespace {

// How many more first windows an answer draws when one holds no note, before it plays the rest.
constexpr int kSilentFirstWindowRetries = 1;

std::shared_ptr<LiveEngine::Model> load_model(const fs::path& path, const std::string& device_name) {
  auto loaded = scorejam::load_checkpoint(path);
  auto model = std::make_shared<LiveEngine::Model>();
  model->spec = loaded.spec;
  model->net = loaded.ema;
  model->name = path.filename().string();
  model->path = path.string();
  const torch::Device device = use_cuda(device_name, "live.device") ? torch::kCUDA : torch::kCPU;
  model->net->to(device);
  model->net->eval();
  model->device = device.is_cuda() ? "cuda" : "cpu";
  return model;
}

int nfe_of(const SamplerConfig& s) {
  switch (s.kind) {
    case SamplerKind::kEulerMaruyama: return s.steps;
    case SamplerKind::kPredictorCorrector: return s.steps * (1 + s.corrector_steps);
    case SamplerKind::kHeun: return 2 * s.steps - 1;
    case SamplerKind::kOde: return 150;  // adaptive; a typical count at tol 1e-3
  }
  return s.steps;
}

// The sampler settings that fit `budget_s` at `seconds_per_nfe`: fewer steps (never below
// min_steps), and the fixed-step Heun solver instead of the adaptive ODE, whose cost is unknown.
SamplerConfig fit_budget(SamplerConfig sampler, double budget_s, double seconds_per_nfe, int min_steps) {
  if (seconds_per_nfe <= 0) return sampler;
  const double cost_s = seconds_per_nfe * nfe_of(sampler);
  if (cost_s <= budget_s) return sampler;
  if (sampler.kind == SamplerKind::kOde) sampler.kind = SamplerKind::kHeun;
  const double scale = std::max(0.0, budget_s) / (seconds_per_nfe * nfe_of(sampler));
  sampler.steps = std::clamp(static_cast<int>(sampler.steps * scale), std::min(min_steps, sampler.steps), sampler.steps);
  return sampler;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - (q > 0 ? 1 : 0);
  return v[std::min(i, v.size() - 1)];
}

double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

constexpr std::int64_t kMs = 1'000'000;

std::string fmt_seconds(const std::string& text, double seconds) {
  char s[32];
  std::snprintf(s, sizeof s, "%g s", seconds);
  return text + s;
}

void trace(const LiveListener& listener, const TraceRecord& record) {
  if (listener.trace) listener.trace(format_trace(record));
}

}  // namespace

int generator_threads(const LiveConfig& config) {
  if (config.threads > 0) return config.threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1);
}

LiveEngine::LiveEngine(const LiveConfig& config, const std::string& checkpoint_path, Scheduler& scheduler,
                       moodycamel::ConcurrentQueue<TimedMidi>& input, LiveListener listener)
    : config_(config), scheduler_(scheduler), input_(input), listener_(std::move(listener)),
      model_(load_model(checkpoint_path, config.device)), settings_(config.settings),
      figures_(std::make_unique<Figures>()) {
  const int window = model_->spec.window_frames;
  if (config_.context_frames < 1 || config_.context_frames >= window)
    throw std::invalid_argument("live.context_frames must be in [1, " + std::to_string(window - 1) + "]");
  if (config_.hop_frames < 1 || config_.hop_frames > window - config_.context_frames)
    throw std::invalid_argument("live.hop_frames must be in [1, window - context_frames = " +
                                std::to_string(window - config_.context_frames) + "]");
  generator_threads_ = generator_threads(config_);
  session_ = std::make_unique<Session>(now_ns(), model_->spec.roll);
  figures_->steps_in_use = settings_.sampler.steps;
  TraceEngine engine;
  engine.origin_ns = session_->performance.origin_ns();
  engine.context_frames = config_.context_frames;
  engine.hop_frames = config_.hop_frames;
  engine.lead_ms = config_.lead_ms;
  engine.max_notes_per_second = config_.max_notes_per_second;
  engine.threads = generator_threads_;
  engine.device = model_->device;
  trace(listener_, engine);
  model_->trace_id = models_loaded_++;
  trace(listener_, TraceModel{model_->trace_id, model_->path});
  conductor_ = std::thread([this] { conductor_loop(); });
  generator_ = std::thread([this] { generator_loop(); });
  surpriser_ = std::thread([this] { surprise_loop(); });
}

LiveEngine::~LiveEngine() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
    quitting_ = true;
    raise_cancel_locked();
  }
  wake_.notify_all();
  if (generator_.joinable()) generator_.join();
  if (surpriser_.joinable()) surpriser_.join();
  if (conductor_.joinable()) conductor_.join();
}

double LiveEngine::warm_up() {
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [this] { return warm_ || quit_; });
  return figures_->seconds_per_nfe;
}

void LiveEngine::warm_up_generator() {
  std::shared_ptr<Model> model;
  SamplerConfig sampler;
  {
    std::lock_guard lock(mutex_);
    model = model_;
    sampler = settings_.sampler;
  }
  WindowRequest request;
  request.known_frames = config_.context_frames;
  request.sampler = sampler;
  try {
    // The first run pays for allocation and oneDNN's kernel choice; the second, with the live
    // settings (at most 50 steps), measures what an evaluation costs inside a whole window.
    for (int steps : {std::min(sampler.steps, 10), std::min(sampler.steps, 50)}) {
      request.sampler.steps = steps;
      const auto r = generate_window(model->net, model->spec, request, &quitting_);
      std::lock_guard lock(mutex_);
      figures_->seconds_per_nfe = r.wall_s / std::max(1, r.nfe);
    }
  } catch (const SamplingCancelled&) {
    // the engine is being destroyed
  } catch (const std::exception& e) {
    if (listener_.event) listener_.event(std::string("warm-up failed: ") + e.what());
  }
  {
    std::lock_guard lock(mutex_);
    warm_ = true;
  }
  wake_.notify_all();
}

void LiveEngine::raise_cancel_locked() {
  ++epoch_;
  cancel_ = true;
}

void LiveEngine::silence_locked(std::int64_t now) {
  raise_cancel_locked();
  scheduler_.silence();
  auto& s = *session_;
  const auto cut = s.performance.frame_at(now - s.timeline.offset_ns);
  s.performance.cut_generated(cut);
  trace(listener_, TraceCut{cut});
  s.speculation.ready = false;
  s.answer_started = false;
  s.committed_end = 0;
  s.timeline.offset_ns = 0;
  s.last_note_off_ns = 0;
}

void LiveEngine::start() {
  std::lock_guard lock(mutex_);
  if (state_ != State::kStopped) return;
  state_ = settings_.mode == LiveMode::kContinue ? State::kListening : State::kPlaying;
  session_->committed_end = 0;
  wake_.notify_all();
}

void LiveEngine::stop() {
  std::lock_guard lock(mutex_);
  silence_locked(now_ns());
  state_ = State::kStopped;
}

void LiveEngine::panic() {
  std::lock_guard lock(mutex_);
  silence_locked(now_ns());
  if (state_ == State::kAnswering) state_ = State::kListening;
  session_->phrase_open = false;
  wake_.notify_all();
}

LiveSettings LiveEngine::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

void LiveEngine::apply(const LiveSettings& settings) {
  std::lock_guard lock(mutex_);
  const bool mode_changed = settings.mode != settings_.mode;
  settings_ = settings;
  figures_->steps_in_use = settings.sampler.steps;
  if (mode_changed) {
    silence_locked(now_ns());
    if (state_ != State::kStopped) state_ = settings.mode == LiveMode::kContinue ? State::kListening : State::kPlaying;
    session_->phrase_open = false;
  }
  wake_.notify_all();
}

void LiveEngine::load_checkpoint(const std::string& file_name) {
  if (file_name.empty() || file_name.find('/') != std::string::npos || file_name.find("..") != std::string::npos)
    throw std::runtime_error("load: '" + file_name + "' is not a file name in the model folder");
  const auto path = fs::path(config_.model_dir) / file_name;
  // A symbolic link may point elsewhere: what is read must lie in the model folder itself.
  std::error_code ec;
  const auto folder = fs::canonical(config_.model_dir, ec);
  const auto target = fs::canonical(path, ec);
  if (ec) throw std::runtime_error("load: " + file_name + ": " + ec.message());
  if (target.parent_path() != folder)
    throw std::runtime_error("load: " + file_name + " leads outside the model folder (to " + target.string() + ")");
  auto model = load_model(path, config_.device);  // off the generator thread: it keeps playing meanwhile
  std::lock_guard lock(mutex_);
  if (model->spec.window_frames - config_.context_frames < config_.hop_frames)
    throw std::runtime_error("load: " + file_name + " has a window of " + std::to_string(model->spec.window_frames) +
                             " frames, too short for live.context_frames + live.hop_frames");
  if (model->spec.roll != model_->spec.roll)
    throw std::runtime_error("load: " + file_name + " uses another roll format (frame rate, pedal rule, pedal channel or onset offsets)");
  model->trace_id = models_loaded_++;
  trace(listener_, TraceModel{model->trace_id, model->path});
  model_ = std::move(model);
}

bool LiveEngine::answering() const {
  std::lock_guard lock(mutex_);
  return state_ == State::kAnswering;
}

std::string LiveEngine::state_name() const {
  switch (state_) {
    case State::kStopped: return "stopped";
    case State::kListening: return "listening";
    case State::kAnswering: return "answering";
    case State::kPlaying: return "playing";
  }
  return "?";
}

LiveStatus LiveEngine::status() const {
  LiveStatus st;
  {
    std::lock_guard lock(mutex_);
    st.playing = state_ != State::kStopped;
    st.state = state_name();
    st.settings = settings_;
    st.checkpoint = model_->name;
    st.device = model_->device;
    const auto& f = *figures_;
    st.answers = f.answers;
    st.answers_prepared = f.answers_prepared;
    st.answers_opening_rest = f.answers_opening_rest;
    st.notes_thinned = f.notes_thinned;
    st.first_note_ms_p50 = percentile(f.first_note_ms, 0.5);
    st.first_note_ms_p95 = percentile(f.first_note_ms, 0.95);
    st.windows = f.windows;
    st.windows_late = f.windows_late;
    st.window_ms_p50 = percentile(f.window_ms, 0.5);
    st.window_ms_max = percentile(f.window_ms, 1.0);
    st.deadline_ms = f.deadline_ms;
    st.steps_in_use = f.steps_in_use;
    st.surprises = f.surprises;
    st.surprise_bits_per_note = f.surprise_bits_per_note;
    st.surprise_ms_last = f.surprise_ms_last;
  }
  const auto sched = scheduler_.stats();
  st.events_sent = sched.sent;
  st.lateness_us_p50 = sched.lateness_us_p50;
  st.lateness_us_p99 = sched.lateness_us_p99;
  st.lateness_us_max = sched.lateness_us_max;
  st.rss_mib = rss_mib();
  return st;
}

void LiveEngine::request_surprise() {
  std::lock_guard lock(mutex_);
  if (session_->performance.last_player_note_ns() == 0) throw std::runtime_error("surprise: nothing has been played yet");
  surprise_requested_ = true;
  wake_.notify_all();
}

// ---- conductor thread ------------------------------------------------------------------------

void LiveEngine::on_player_message(const TimedMidi& m, std::int64_t now) {
  auto& s = *session_;
  trace(listener_, TracePlayer{m});
  s.performance.player_event(m);
  if (is_note_on(m))  // allocation-free (its memory is fixed at construction)
    s.beats.add_onset(static_cast<double>(m.time_ns - s.performance.origin_ns()) * 1e-9, m.bytes[2], m.bytes[1]);
  if (state_ == State::kStopped || settings_.mode != LiveMode::kContinue) return;
  if (is_note_on(m)) {
    ++s.version;
    s.phrase_open = true;
    s.speculation.ready = false;
    if (state_ == State::kAnswering) {
      silence_locked(now);  // barge-in: the player has the floor again
      state_ = State::kListening;
      if (listener_.event) listener_.event("barge-in: answer stopped, listening");
    } else {
      raise_cancel_locked();  // a speculative answer to a phrase that goes on
    }
  }
  if (is_note_off(m) && s.performance.keys_down() == 0) wake_.notify_all();  // time to speculate
}

void LiveEngine::conductor_loop() {
  pthread_setname_np(pthread_self(), "scorejam-cond");
  TimedMidi messages[64];
  while (true) {
    const auto now = now_ns();
    const auto n = input_.try_dequeue_bulk(messages, 64);
    {
      std::lock_guard lock(mutex_);
      if (quit_) return;
      for (std::size_t i = 0; i < n; ++i) on_player_message(messages[i], now);
      auto& s = *session_;
      if (state_ == State::kListening && settings_.mode == LiveMode::kContinue && s.phrase_open &&
          s.performance.keys_down() == 0 && s.performance.last_player_note_ns() > 0 &&
          now - s.performance.last_player_note_ns() >= static_cast<std::int64_t>(settings_.pause_ms) * kMs) {
        state_ = State::kAnswering;
        s.phrase_open = false;
        s.pause_detected_ns = now;
        s.answer_started = false;
        s.first_note_measured = false;
        s.silent_first_windows = 0;
        ++figures_->answers;
        if (s.speculation.ready && s.speculation.version == s.version) ++figures_->answers_prepared;
        wake_.notify_all();
      }
      if (state_ == State::kAnswering && s.answer_started && s.committed_end >= s.timeline.answer_end &&
          now >= s.last_note_off_ns)
        state_ = State::kListening;  // the answer has been played out
      if (s.performance.size() > 4096) s.performance.forget_before(s.performance.frame_at(now) - 4096);
    }
    if (listener_.player)
      for (std::size_t i = 0; i < n; ++i) listener_.player(messages[i]);
    TimedMidi sent;
    while (scheduler_.pop_sent(sent))
      if (listener_.played) listener_.played(sent);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// ---- generator thread ------------------------------------------------------------------------

void LiveEngine::generator_loop() {
  pthread_setname_np(pthread_self(), "scorejam-gen");
  torch::InferenceMode inference;
  torch::set_num_threads(generator_threads_);
  warm_up_generator();
  enum class Job { kNone, kSpeculate, kFirstAnswer, kNext };
  while (true) {
    Job job = Job::kNone;
    std::shared_ptr<Model> model;
    WindowRequest request;
    std::int64_t window_first = 0, deadline_ns = 0;
    std::uint64_t epoch = 0, version = 0, window = 0;
    {
      std::unique_lock lock(mutex_);
      if (quit_) return;
      auto& s = *session_;
      const auto now = now_ns();
      const double fs = s.performance.fs_hz();
      const auto pause_ns = static_cast<std::int64_t>(settings_.pause_ms) * kMs;
      const auto lead_ns = static_cast<std::int64_t>(config_.lead_ms) * kMs;
      const double per_nfe = figures_->seconds_per_nfe;
      const double hop_s = config_.hop_frames / fs;
      // Throughput first: a window must take well under the music it adds, or the engine falls behind.
      const auto planned = fit_budget(settings_.sampler, 0.6 * hop_s, per_nfe, config_.min_steps);
      const auto planned_ns = static_cast<std::int64_t>(per_nfe * nfe_of(planned) * 1e9);
      std::int64_t context_end = 0;
      if (state_ == State::kAnswering && !s.answer_started) {
        job = Job::kFirstAnswer;
        if (!(s.speculation.ready && s.speculation.version == s.version)) {
          // Nothing sampled in advance (the speculation was cancelled or is not done): sample now.
          context_end = s.performance.frame_at(s.performance.last_player_note_ns() + pause_ns) + 1;
          deadline_ns = now + 100 * kMs;
        }
      } else if (state_ == State::kAnswering && s.committed_end < s.timeline.answer_end) {
        job = Job::kNext;
        context_end = s.committed_end;
        deadline_ns = s.performance.time_of(context_end) + s.timeline.offset_ns - lead_ns;
      } else if (state_ == State::kListening && settings_.mode == LiveMode::kContinue && s.phrase_open &&
                 s.performance.keys_down() == 0 && !(s.speculation.ready && s.speculation.version == s.version)) {
        job = Job::kSpeculate;
        context_end = s.performance.frame_at(s.performance.last_player_note_ns() + pause_ns) + 1;
        deadline_ns = s.performance.last_player_note_ns() + pause_ns + config_.answer_latency_ms * kMs;
      } else if (state_ == State::kPlaying) {
        // duet and solo: start each window just early enough, so it sees the player's latest notes
        if (s.committed_end == 0 || s.performance.time_of(s.committed_end) < now + lead_ns)
          s.committed_end = s.performance.frame_at(now + lead_ns + 2 * planned_ns + 50 * kMs) + 1;
        if (s.performance.time_of(s.committed_end) - now <= 3 * planned_ns / 2 + lead_ns + 50 * kMs) {
          job = Job::kNext;
          context_end = s.committed_end;
          deadline_ns = s.performance.time_of(context_end) - lead_ns;
        }
      }
      if (job == Job::kNone) {
        wake_.wait_for(lock, std::chrono::milliseconds(10));
        continue;
      }
      epoch = epoch_;
      version = s.version;
      cancel_ = false;
      model = model_;
      if (!(job == Job::kFirstAnswer && context_end == 0)) {
        // Build the window: the known past ends at context_end.
        const int known = config_.context_frames;
        window_first = context_end - known;
        Performance::Sources sources;
        sources.player = settings_.mode != LiveMode::kSolo;
        request.known = s.performance.window(window_first, known, sources);
        request.known_pedal = s.performance.pedal_window(window_first, known, sources);
        request.known_frames = known;
        request.thresholds = settings_.thresholds;
        if (model->spec.net.beat_planes && sources.player)
          set_window_beats(request, s.beats, window_first, model->spec.window_frames, fs);
        // Lower the cost further when this window would not be ready in time.
        const double budget_s = static_cast<double>(deadline_ns - now) * 1e-9;
        // A speculation has fewer steps, so its fixed cost per window weighs more: a wider margin.
        const double margin = job == Job::kSpeculate ? 0.6 : 0.8;
        request.sampler = fit_budget(planned, margin * budget_s, per_nfe, config_.min_steps);
        request.sampler.seed = settings_.sampler.seed + static_cast<std::uint64_t>(figures_->windows) * 7919;
        figures_->steps_in_use = request.sampler.steps;
        figures_->deadline_ms = budget_s * 1e3;
        window = windows_taken_++;
        trace(listener_, TraceWindow{window, window_first, known, sources.player, model->trace_id, request.sampler,
                                     request.thresholds});
      }
    }

    WindowResult result;
    const bool have_window = request.known_frames > 0;
    if (have_window) {
      try {
        result = generate_window(model->net, model->spec, request, &cancel_);
      } catch (const SamplingCancelled&) {
        continue;
      } catch (const std::exception& e) {
        // A window that cannot be sampled (out of memory, say) is skipped, never the end of the
        // generator thread: the engine keeps listening, and the next window tries again a little later.
        if (failed_windows_++ % 100 == 0 && listener_.event)
          listener_.event("a window could not be sampled (" + std::to_string(failed_windows_) + " so far): " + e.what());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
    }

    std::lock_guard lock(mutex_);
    if (epoch != epoch_ || quit_) continue;  // the world moved on while we sampled
    auto& s = *session_;
    const auto now = now_ns();
    if (have_window) {
      ++figures_->windows;
      Figures::keep(figures_->window_ms, result.wall_s * 1e3);
      figures_->seconds_per_nfe = 0.7 * figures_->seconds_per_nfe + 0.3 * result.wall_s / std::max(1, result.nfe);
      if (job != Job::kSpeculate && now > deadline_ns) ++figures_->windows_late;
    }
    if (job == Job::kSpeculate) {
      if (version == s.version)
        s.speculation = {true, version, window, window_first, request.known_frames, std::move(result)};
      continue;
    }
    int known = request.known_frames;
    if (job == Job::kFirstAnswer && !have_window) {
      window = s.speculation.window;
      window_first = s.speculation.window_first;
      known = s.speculation.known_frames;
      result = std::move(s.speculation.result);
      s.speculation.ready = false;
    }

    if (job == Job::kFirstAnswer && result.generated.empty() && s.silent_first_windows++ < kSilentFirstWindowRetries) {
      // The model opened the answer with a rest as long as the window: an answer that starts
      // seconds late. Draw another window at once (with the next window's seed) instead.
      if (s.silent_first_windows == 1) ++figures_->answers_opening_rest;
      s.speculation.ready = false;
      if (listener_.event) listener_.event("answer: its first window held no note; drawing another");
      continue;
    }
    HopInput input;
    input.generated = &result.generated;
    if (model->spec.roll.pedal_channel) input.pedal = &result.pedal;
    input.window_first = window_first;
    input.known = known;
    input.first_answer = job == Job::kFirstAnswer;
    input.answering = state_ == State::kAnswering;
    input.answer_seconds = settings_.answer_seconds;
    input.now_ns = now;
    const HopRules rules{config_.hop_frames, config_.lead_ms, config_.max_notes_per_second};
    const auto hop = commit_hop(s.performance, s.timeline, rules, input);
    trace(listener_, TraceCommit{window, input.first_answer, input.answering, now, input.answer_seconds,
                                 hop.notes.size(), fingerprint(hop.notes)});
    if (hop.thinned > 0) {
      if (figures_->notes_thinned == 0 && listener_.event)
        listener_.event("a window decoded to " + std::to_string(hop.decoded) + " notes; playing the loudest " +
                        std::to_string(hop.decoded - hop.thinned) + " (live.max_notes_per_second)");
      figures_->notes_thinned += static_cast<std::int64_t>(hop.thinned);
    }
    if (job == Job::kFirstAnswer) s.answer_started = true;
    const int channel = config_.output_channel - 1;
    for (const auto& n : hop.notes) {
      scheduler_.schedule(note_on(n.on_ns, channel, n.pitch, n.velocity));
      scheduler_.schedule(note_off(n.off_ns, channel, n.pitch));
      s.last_note_off_ns = std::max(s.last_note_off_ns, n.off_ns);
    }
    for (const auto& p : hop.pedal) scheduler_.schedule(control_change(p.at_ns, channel, kSustainController, p.value));
    if (state_ == State::kAnswering && !s.first_note_measured && !hop.notes.empty()) {
      s.first_note_measured = true;
      const auto first = std::min_element(hop.notes.begin(), hop.notes.end(), [](const PlannedNote& a, const PlannedNote& b) {
        return a.on_ns < b.on_ns;
      });
      Figures::keep(figures_->first_note_ms, static_cast<double>(first->on_ns - s.pause_detected_ns) / 1e6);
    }
    s.committed_end = hop.committed_end;
  }
}

// ---- surprise thread ------------------------------------------------------------------------

void LiveEngine::surprise_loop() {
  pthread_setname_np(pthread_self(), "scorejam-surp");
  // Below every other thread of the machine: it takes only CPU time that nothing else wants, so a
  // window (the generator), the scheduler and the conductor never wait for it.
  sched_param idle{};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
  torch::set_num_threads(1);  // this thread's OpenMP team only; the generator keeps its own
  std::string loaded_path;
  ScoreNet net{nullptr};
  ModelSpec spec;
  while (true) {
    std::vector<GridNote> notes;
    std::vector<GridPedal> pedal;
    std::string path;
    bool requested = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(20));
      if (quit_) return;
      auto& s = *session_;
      const auto now = now_ns();
      const auto last = s.performance.last_player_note_ns();
      const bool phrase_ended = last > 0 && s.performance.keys_down() == 0 &&
                                now - last >= static_cast<std::int64_t>(settings_.pause_ms) * kMs;
      requested = surprise_requested_;
      if (!requested && !(config_.surprise && phrase_ended && last != surprise_measured_ns_)) continue;
      surprise_requested_ = false;
      surprise_measured_ns_ = last;
      // The model's window ending just after the player's last key up (or now, with keys still
      // down); the known first half is what came before, the second half is measured.
      const int frames = model_->spec.window_frames;
      const auto end = s.performance.frame_at(s.performance.keys_down() > 0 ? now : last) + 1;
      Performance::Sources player_only;
      player_only.generated = false;
      notes = s.performance.window(end - frames, frames, player_only);
      pedal = s.performance.pedal_window(end - frames, frames, player_only);
      path = model_->path;
      spec = model_->spec;
    }
    SurpriseReport report;
    report.requested = requested;
    report.seconds = (spec.window_frames - spec.window_frames / 2) / spec.roll.fs_hz;
    if (std::none_of(notes.begin(), notes.end(), [&](const GridNote& g) { return g.onset_frame >= spec.window_frames / 2; })) {
      if (listener_.event) listener_.event(fmt_seconds("surprise: no note struck in the last ", report.seconds));
      continue;  // nothing to measure: no solve
    }
    try {
      if (path != loaded_path) {  // its own copy, on the CPU: nothing shared with the generator
        net = scorejam::load_checkpoint(path).ema;
        net->eval();
        loaded_path = path;
      }
      LikelihoodConfig likelihood;
      likelihood.rtol = likelihood.atol = config_.surprise_tolerance;
      likelihood.cancel = &quitting_;
      const auto bits = grid_window_bits(net, spec, notes, pedal, spec.window_frames / 2, likelihood);
      report.bits_per_note = bits.bits_per_note;
      report.bits_per_dim = bits.bits_per_dim;
      report.notes = bits.notes;
      report.nfe = bits.nfe;
      report.wall_ms = bits.wall_s * 1e3;
    } catch (const SamplingCancelled&) {
      return;  // the engine is being destroyed
    } catch (const std::exception& e) {
      loaded_path.clear();
      if (listener_.event) listener_.event(std::string("surprise: could not be measured: ") + e.what());
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      ++figures_->surprises;
      figures_->surprise_bits_per_note = report.bits_per_note;
      figures_->surprise_ms_last = report.wall_ms;
    }
    if (listener_.surprise) listener_.surprise(report);
  }
}

}  // namespace scorejam
