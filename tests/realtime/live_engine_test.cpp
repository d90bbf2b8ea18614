// The live engine with the real bundled model, the real scheduler and the input queue a keyboard
// feeds: phrases are pushed into the queue as a MIDI port's callback would, and what the scheduler
// sends is read back through the engine's listener.
#include "realtime/live_engine.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "core/checkpoint.h"
#include "realtime/performance.h"
#include "realtime/reproduce.h"
#include "realtime/session_trace.h"
#include "tests/core/test_support.h"

namespace scorejam {
namespace {

using namespace std::chrono_literals;

const std::string kModel = std::string(SCOREJAM_SOURCE_DIR) + "/models/scorejam-default.pt";

class NullSink final : public MidiSink {
 public:
  void send(const std::uint8_t*, std::size_t) noexcept override {}
};

// Everything the scheduler sent, with the times it was sent.
class Heard {
 public:
  void add(const TimedMidi& m) {
    std::lock_guard lock(mutex_);
    messages_.push_back(m);
  }
  std::vector<TimedMidi> all() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  int note_ons() const {
    int n = 0;
    for (const auto& m : all()) n += is_note_on(m);
    return n;
  }
  // Waits until `predicate` holds on what was heard, at most `timeout`.
  template <class F>
  bool wait_for(F predicate, std::chrono::milliseconds timeout) const {
    const auto until = SteadyClock::now() + timeout;
    while (SteadyClock::now() < until) {
      if (predicate(*this)) return true;
      std::this_thread::sleep_for(5ms);
    }
    return predicate(*this);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<TimedMidi> messages_;
};

// Notes still sounding after the messages, per channel and pitch.
int unbalanced_notes(const std::vector<TimedMidi>& messages) {
  std::map<int, int> sounding;
  for (const auto& m : messages) {
    const int key = channel_of(m) * 128 + m.bytes[1];
    if (is_note_on(m)) ++sounding[key];
    if (is_note_off(m) && sounding[key] > 0) --sounding[key];
  }
  int open = 0;
  for (const auto& [key, count] : sounding) open += count;
  return open;
}

struct Rig {
  explicit Rig(LiveMode mode, int steps = 4, const std::string& model = kModel) {
    config.settings.mode = mode;
    config.settings.sampler.kind = SamplerKind::kHeun;
    config.settings.sampler.steps = steps;
    config.settings.pause_ms = 300;
    config.settings.answer_seconds = 4;
    config.model_dir = std::string(SCOREJAM_SOURCE_DIR) + "/models";
    SchedulerConfig sc;
    sc.realtime_priority = false;  // tests share the machine with others
    scheduler = std::make_unique<Scheduler>(sink, sc);
    scheduler->start();
    LiveListener listener;
    listener.played = [this](const TimedMidi& m) { heard.add(m); };
    listener.trace = [this](const std::string& line) {
      std::lock_guard lock(trace_mutex);
      trace += line + "\n";
    };
    engine = std::make_unique<LiveEngine>(config, model, *scheduler, input, listener);
    engine->warm_up();
  }
  ~Rig() {
    engine.reset();
    scheduler->stop();
  }
  // A short phrase, played now: a rising C major arpeggio, 8 notes of 120 ms.
  std::int64_t play_phrase(int base = 60) {
    moodycamel::ProducerToken token(input);
    std::int64_t t = now_ns();
    for (int i = 0; i < 8; ++i) {
      const int pitch = base + std::array{0, 4, 7, 12, 7, 4, 0, 7}[static_cast<std::size_t>(i)];
      input.enqueue(token, note_on(now_ns(), 0, pitch, 80));
      std::this_thread::sleep_for(100ms);
      t = now_ns();
      input.enqueue(token, note_off(t, 0, pitch));
      std::this_thread::sleep_for(20ms);
    }
    return t;  // the last note-off
  }

  // The session trace as a session.trace file holds it (realtime/session_trace.h).
  std::string trace_file() {
    std::lock_guard lock(trace_mutex);
    return std::string(kTraceMagic) + "\n" + trace;
  }

  LiveConfig config;
  std::mutex trace_mutex;
  std::string trace;
  NullSink sink;
  std::unique_ptr<Scheduler> scheduler;
  moodycamel::ConcurrentQueue<TimedMidi> input{1024};
  Heard heard;
  std::unique_ptr<LiveEngine> engine;
};

TEST(LiveEngine, AnswersAPhraseAfterThePauseAndEndsEveryNote) {
  Rig rig(LiveMode::kContinue);
  rig.engine->start();
  const auto last_off = rig.play_phrase();
  ASSERT_TRUE(rig.heard.wait_for([](const Heard& h) { return h.note_ons() > 0; }, 5000ms)) << "no answer came";
  const auto first = rig.heard.all().front();
  EXPECT_GE(first.time_ns - last_off, static_cast<std::int64_t>(rig.config.settings.pause_ms) * 1'000'000)
      << "the answer started before the pause was over";
  // The answer lasts answer_seconds and then ends with every note closed.
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(rig.config.settings.answer_seconds * 1000) + 1500));
  EXPECT_FALSE(rig.engine->answering());
  const auto heard = rig.heard.all();
  EXPECT_EQ(unbalanced_notes(heard), 0);
  const double span_s = static_cast<double>(heard.back().time_ns - heard.front().time_ns) * 1e-9;
  EXPECT_LE(span_s, rig.config.settings.answer_seconds + 4.0) << "the answer went on past answer_seconds";
  const auto status = rig.engine->status();
  EXPECT_EQ(status.answers, 1);
  EXPECT_LE(status.answers_prepared, 1);  // each answer counted once, if at all
  EXPECT_LE(status.answers_opening_rest, 1);
  EXPECT_GT(status.first_note_ms_p50, 0);
  EXPECT_GE(status.windows, 1);
}

// A model that only plays silence (save_zeroed_model): its answer's first window is silent, one
// more is drawn at once, and then the answer (silent) runs its course instead of drawing forever.
// An EDM network with its last layer zeroed denoises to c_skip x: it samples Gaussian "rolls" of
// std sigma_data around 0. With 0.001 they decode to nothing under thresholds of 0.6 (silence);
// with 2 to notes on every key (noise, as a window of very few steps does).
void save_zeroed_model(const std::filesystem::path& path, double sigma_data, bool pedal_and_offsets = false) {
  ModelSpec spec;
  spec.net = ScoreNetConfig{pedal_and_offsets ? 5 : 3, {8, 16}, 16};
  if (pedal_and_offsets) {
    spec.roll.sustain_pedal = false;
    spec.roll.pedal_channel = true;
    spec.roll.onset_offsets = true;
  }
  spec.net.conditional = true;
  spec.net.preconditioning = "edm";
  spec.net.sigma_data = sigma_data;
  spec.window_frames = 32;
  torch::manual_seed(0);
  ScoreNet net(spec.net, Sde{spec.sde});
  {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_parameters())
      if (p.key().rfind("out.", 0) == 0) p.value().zero_();
  }
  save_checkpoint(path, spec, net, net, nullptr, {});
}

// The engine's settings for a save_zeroed_model network (a window of 32 frames) in `dir`: Heun
// 4 steps, 16 known frames, hops of 8 (0.5 s).
LiveConfig tiny_model_config(LiveMode mode, const std::filesystem::path& dir) {
  LiveConfig config;
  config.settings.mode = mode;
  config.settings.sampler.kind = SamplerKind::kHeun;
  config.settings.sampler.steps = 4;
  config.context_frames = 16;
  config.hop_frames = 8;
  config.model_dir = dir.string();
  return config;
}

TEST(LiveEngine, ASilentFirstWindowIsDrawnAgainOnceThenTheAnswerGoesOn) {
  const auto dir = testing::scratch_dir("silent_model");
  save_zeroed_model(dir / "silent.pt", 0.001);
  LiveConfig config = tiny_model_config(LiveMode::kContinue, dir);
  config.settings.pause_ms = 300;
  config.settings.answer_seconds = 2;
  config.settings.thresholds = {0.6f, 0.6f};
  NullSink sink;
  SchedulerConfig sc;
  sc.realtime_priority = false;
  Scheduler scheduler(sink, sc);
  scheduler.start();
  moodycamel::ConcurrentQueue<TimedMidi> input{1024};
  std::mutex mutex;
  std::vector<std::string> events;
  LiveListener listener;
  listener.event = [&](const std::string& e) {
    std::lock_guard lock(mutex);
    events.push_back(e);
  };
  {
    LiveEngine engine(config, (dir / "silent.pt").string(), scheduler, input, listener);
    engine.warm_up();
    engine.start();
    moodycamel::ProducerToken token(input);
    for (int pitch : {60, 64, 67}) {
      input.enqueue(token, note_on(now_ns(), 0, pitch, 80));
      std::this_thread::sleep_for(100ms);
      input.enqueue(token, note_off(now_ns(), 0, pitch));
    }
    const auto until = SteadyClock::now() + 10s;
    while (SteadyClock::now() < until && (engine.status().answers == 0 || engine.answering()))
      std::this_thread::sleep_for(20ms);
    const auto status = engine.status();
    EXPECT_EQ(status.answers, 1);
    EXPECT_FALSE(engine.answering()) << "the silent answer never ended";
    EXPECT_EQ(status.answers_opening_rest, 1);
    engine.stop();
  }
  scheduler.stop();
  std::lock_guard lock(mutex);
  EXPECT_EQ(std::count(events.begin(), events.end(), "answer: its first window held no note; drawing another"), 1);
}

// A pedal model sampling noise (its pedal channel flickers around the threshold) playing solo while
// the player stamps on the pedal: scorejam sends its pedal as CC 64, and when it stops, no note and
// no pedal is left down.
TEST(LiveEngine, APedalStormLeavesNoNoteAndNoPedalDown) {
  const auto dir = testing::scratch_dir("pedal_model");
  save_zeroed_model(dir / "pedal.pt", 2.0, true);
  LiveConfig config = tiny_model_config(LiveMode::kSolo, dir);
  NullSink sink;
  SchedulerConfig sc;
  sc.realtime_priority = false;
  Scheduler scheduler(sink, sc);
  scheduler.start();
  moodycamel::ConcurrentQueue<TimedMidi> input{1024};
  Heard heard;
  LiveListener listener;
  listener.played = [&](const TimedMidi& m) { heard.add(m); };
  {
    LiveEngine engine(config, (dir / "pedal.pt").string(), scheduler, input, listener);
    engine.warm_up();
    engine.start();
    moodycamel::ProducerToken token(input);
    for (int i = 0; i < 200; ++i) {  // 2 s of pedal chatter, no notes
      input.enqueue(token, control_change(now_ns(), 0, 64, i % 2 ? 127 : 0));
      std::this_thread::sleep_for(10ms);
    }
    auto pedal_heard = [](const Heard& h) {
      int n = 0;
      for (const auto& m : h.all()) n += m.size == 3 && (m.bytes[0] & 0xF0) == 0xB0 && m.bytes[1] == 64;
      return n;
    };
    // Its pedal channel's mean over the keys wavers around 0.5: down once, and held (the decoder's
    // hysteresis keeps it from chattering).
    EXPECT_TRUE(heard.wait_for([&](const Heard& h) { return pedal_heard(h) >= 1; }, 5000ms))
        << "the pedal model sent no pedal";
    engine.stop();
    ASSERT_TRUE(scheduler.wait_silent(1000ms));
    ASSERT_TRUE(heard.wait_for(
        [](const Heard& h) {
          for (const auto& m : h.all())
            if (m.size == 3 && (m.bytes[0] & 0xF0) == 0xB0 && m.bytes[1] == 120) return true;
          return false;
        },
        1000ms))
        << "no all-sound-off after stop";
  }
  scheduler.stop();
  const auto all = heard.all();
  EXPECT_EQ(unbalanced_notes(all), 0);
  int last_pedal = -1;
  for (const auto& m : all)
    if (m.size == 3 && (m.bytes[0] & 0xF0) == 0xB0 && m.bytes[1] == 64) last_pedal = m.bytes[2];
  EXPECT_EQ(last_pedal, 0) << "the pedal was left down";
}

TEST(LiveEngine, PlayerStartingAgainStopsTheAnswerAtOnce) {
  Rig rig(LiveMode::kContinue);
  rig.engine->start();
  rig.play_phrase();
  ASSERT_TRUE(rig.heard.wait_for([](const Heard& h) { return h.note_ons() >= 3; }, 5000ms)) << "no answer came";
  const auto barge_in = now_ns();
  rig.input.enqueue(note_on(barge_in, 0, 64, 90));
  // The silence: every sounding note ends, then CC 64 = 0, 123, 120.
  ASSERT_TRUE(rig.heard.wait_for(
      [](const Heard& h) {
        for (const auto& m : h.all())
          if (m.size == 3 && (m.bytes[0] & 0xF0) == 0xB0 && m.bytes[1] == 120) return true;
        return false;
      },
      1000ms))
      << "no all-sound-off after the barge-in";
  std::this_thread::sleep_for(600ms);
  const auto heard = rig.heard.all();
  EXPECT_EQ(unbalanced_notes(heard), 0);
  for (const auto& m : heard)
    if (is_note_on(m)) EXPECT_LT(m.time_ns, barge_in + 50'000'000) << "a note started after the player came back";
  EXPECT_FALSE(rig.engine->answering());
  rig.input.enqueue(note_off(now_ns(), 0, 64));
}

TEST(LiveEngine, StopEndsEveryNoteAndPlaysNothingMore) {
  Rig rig(LiveMode::kSolo);
  rig.engine->start();
  ASSERT_TRUE(rig.heard.wait_for([](const Heard& h) { return h.note_ons() >= 5; }, 5000ms)) << "solo played nothing";
  rig.engine->stop();
  ASSERT_TRUE(rig.scheduler->wait_silent(1000ms));
  std::this_thread::sleep_for(300ms);
  const auto count = rig.heard.all().size();
  EXPECT_EQ(unbalanced_notes(rig.heard.all()), 0);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(rig.heard.all().size(), count) << "something was played after stop";
  EXPECT_EQ(rig.engine->status().state, "stopped");
}

TEST(LiveEngine, DuetPlaysAlongWhileThePlayerPlays) {
  Rig rig(LiveMode::kDuet);
  rig.engine->start();
  [[maybe_unused]] const auto started = now_ns();
  // The player keeps playing, phrase after phrase (1 s each), until the duet has sounded, for at
  // most 12 phrases: a sanitizer build on a loaded 2-core machine draws its first window in several
  // seconds, a plain one well within the first phrase.
  std::int64_t last_off = 0;
  for (int phrase = 0; phrase < 12 && rig.heard.all().empty(); ++phrase) last_off = rig.play_phrase(phrase % 2 ? 55 : 60);
  // Generation went on while the player played: notes sounded before the player's last note.
  const auto heard = rig.heard.all();
  ASSERT_FALSE(heard.empty()) << "duet played nothing in 12 phrases of the player";
  EXPECT_LT(heard.front().time_ns, last_off) << "the duet's first note came only after the player stopped";
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // The latency bound holds for a plain build only: ASan and TSan slow sampling several times over.
  EXPECT_LT(heard.front().time_ns - started, 2'000'000'000);
#endif
  EXPECT_FALSE(rig.engine->answering());
}

TEST(LiveEngine, ModeChangeSilencesWhatWasPlaying) {
  Rig rig(LiveMode::kSolo);
  rig.engine->start();
  ASSERT_TRUE(rig.heard.wait_for([](const Heard& h) { return h.note_ons() >= 3; }, 5000ms));
  auto settings = rig.engine->settings();
  settings.mode = LiveMode::kContinue;
  rig.engine->apply(settings);
  ASSERT_TRUE(rig.scheduler->wait_silent(1000ms));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(unbalanced_notes(rig.heard.all()), 0);
  EXPECT_EQ(rig.engine->status().state, "listening");
}

TEST(LiveEngine, LoadRefusesPathsOutsideTheModelFolderAndKeepsTheModel) {
  Rig rig(LiveMode::kContinue);
  for (const std::string name : {"../scorejam-default.pt", "/etc/passwd", "", "missing.pt"}) {
    EXPECT_THROW(rig.engine->load_checkpoint(name), std::runtime_error) << name;
    EXPECT_EQ(rig.engine->status().checkpoint, "scorejam-default.pt");
  }
  EXPECT_NO_THROW(rig.engine->load_checkpoint("scorejam-default.pt"));
}

TEST(LiveEngine, LoadRefusesALinkLeadingOutOfTheModelFolder) {
  const auto dir = testing::scratch_dir("model_links");
  const auto models = dir / "models", elsewhere = dir / "elsewhere";
  std::filesystem::create_directories(models);
  std::filesystem::create_directories(elsewhere);
  save_zeroed_model(models / "a.pt", 0.001);
  save_zeroed_model(elsewhere / "b.pt", 0.001);
  std::filesystem::create_symlink("a.pt", models / "latest.pt");
  std::filesystem::create_symlink(elsewhere / "b.pt", models / "outside.pt");
  LiveConfig config = tiny_model_config(LiveMode::kContinue, models);
  NullSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  moodycamel::ConcurrentQueue<TimedMidi> input{16};
  LiveEngine engine(config, (models / "a.pt").string(), scheduler, input);
  try {
    engine.load_checkpoint("outside.pt");
    FAIL() << "a link out of the model folder was followed";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the model folder"), std::string::npos) << e.what();
  }
  EXPECT_EQ(engine.status().checkpoint, "a.pt");
  EXPECT_NO_THROW(engine.load_checkpoint("latest.pt"));  // a link within the folder is fine
}

TEST(LiveEngine, AWindowOfNoisePlaysOnlyItsLoudestNotes) {
  const auto dir = testing::scratch_dir("noise_model");
  save_zeroed_model(dir / "noise.pt", 2.0);
  LiveConfig config = tiny_model_config(LiveMode::kSolo, dir);
  config.max_notes_per_second = 10;  // 5 a hop of 0.5 s
  NullSink sink;
  SchedulerConfig sc;
  sc.realtime_priority = false;
  Scheduler scheduler(sink, sc);
  scheduler.start();
  moodycamel::ConcurrentQueue<TimedMidi> input{16};
  Heard heard;
  LiveListener listener;
  listener.played = [&](const TimedMidi& m) { heard.add(m); };
  {
    LiveEngine engine(config, (dir / "noise.pt").string(), scheduler, input, listener);
    engine.warm_up();
    engine.start();
    ASSERT_TRUE(heard.wait_for([](const Heard& h) { return h.note_ons() > 0; }, 5000ms)) << "solo played nothing";
    std::this_thread::sleep_for(3000ms);
    const auto status = engine.status();
    engine.stop();
    EXPECT_GT(status.notes_thinned, 0) << "the noise model decoded to no more than 5 notes a hop";
    // Every committed hop holds at most 5 notes; the windows committed so far bound the count.
    EXPECT_LE(heard.note_ons(), 5 * status.windows);
    EXPECT_GT(heard.note_ons(), 0);
  }
  scheduler.stop();
}

TEST(LiveEngine, LowersTheStepsRatherThanPlayLate) {
  // 400 Heun steps (about 800 network evaluations) cannot fit a 2 s hop on two cores: the engine
  // must lower the steps and keep every window on time.
  Rig rig(LiveMode::kSolo, 400);
  rig.engine->start();
  ASSERT_TRUE(rig.heard.wait_for([](const Heard& h) { return h.note_ons() >= 1; }, 8000ms)) << "solo played nothing";
  std::this_thread::sleep_for(3000ms);
  const auto status = rig.engine->status();
  EXPECT_LT(status.steps_in_use, 400);
  EXPECT_GE(status.steps_in_use, rig.config.min_steps);
  // The first window is planned on the warm-up's measure of the machine; when other programs take
  // the cores between the two (ctest -j2 beside a build), that one window can still be late, and
  // its notes that come too late are dropped, not played late. After it the engine has measured.
  EXPECT_LE(status.windows_late, 1) << "of " << status.windows << " windows";
  EXPECT_GE(status.windows, 2);
}

// A checkpoint that fails to load while scorejam plays (over OSC, /scorejam/load) changes nothing:
// the old model goes on playing, and the status still names it.
TEST(LiveEngine, ALoadThatFailsWhilePlayingLeavesTheOldModelPlaying) {
  const auto dir = testing::scratch_dir("LiveEngine.ALoadThatFailsWhilePlayingLeavesTheOldModelPlaying");
  save_zeroed_model(dir / "a.pt", 2.0);  // plays notes on every key: something to hear
  const auto bytes = testing::read_file(dir / "a.pt");
  testing::write_file(dir / "cut.pt", std::span(bytes).first(bytes.size() / 2));
  LiveConfig config = tiny_model_config(LiveMode::kSolo, dir);
  NullSink sink;
  Scheduler scheduler(sink, SchedulerConfig{});
  scheduler.start();
  moodycamel::ConcurrentQueue<TimedMidi> input{16};
  Heard heard;
  LiveListener listener;
  listener.played = [&heard](const TimedMidi& m) { heard.add(m); };
  {
    LiveEngine engine(config, (dir / "a.pt").string(), scheduler, input, listener);
    engine.warm_up();
    engine.start();
    ASSERT_TRUE(heard.wait_for([](const Heard& h) { return h.note_ons() >= 3; }, 5000ms)) << "nothing played";
    try {
      engine.load_checkpoint("cut.pt");
      ADD_FAILURE() << "a truncated checkpoint was loaded";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("cut.pt"), std::string::npos) << e.what();
    }
    const auto failed_at = now_ns();
    EXPECT_TRUE(heard.wait_for(
        [&](const Heard& h) {
          const auto all = h.all();
          return std::any_of(all.begin(), all.end(), [&](const TimedMidi& m) { return is_note_on(m) && m.time_ns > failed_at + 300'000'000; });
        },
        3000ms))
        << "nothing was played after the failed load";
    const auto status = engine.status();
    EXPECT_EQ(status.checkpoint, "a.pt");
    EXPECT_EQ(status.state, "playing");
    engine.stop();
    ASSERT_TRUE(scheduler.wait_silent(1000ms));
    // What the scheduler sent reaches the listener through the engine's conductor: wait for it.
    EXPECT_TRUE(heard.wait_for([](const Heard& h) { return unbalanced_notes(h.all()) == 0; }, 1000ms))
        << unbalanced_notes(heard.all()) << " notes left sounding";
  }
  scheduler.stop();
}

// A player at the physical limit of the keyboard (every key struck 20 times a second, 3,520 MIDI
// messages a second) while scorejam plays along: the engine keeps up, its status stays answerable,
// and when it stops no note of its own is left sounding.
TEST(LiveEngine, EveryKeyHammeredTwentyTimesASecondLeavesNothingHanging) {
  Rig rig(LiveMode::kDuet);
  rig.engine->start();
  std::atomic<bool> done{false};
  std::thread player([&] {
    moodycamel::ProducerToken token(rig.input);
    const auto start = now_ns();
    for (int round = 0; round < 40; ++round) {  // 2 s: a round every 50 ms
      const auto at = start + static_cast<std::int64_t>(round) * 50'000'000;
      while (now_ns() < at) std::this_thread::sleep_for(1ms);
      for (int pitch = 21; pitch <= 108; ++pitch) rig.input.enqueue(token, note_on(now_ns(), 0, pitch, 100));
      std::this_thread::sleep_for(25ms);
      for (int pitch = 21; pitch <= 108; ++pitch) rig.input.enqueue(token, note_off(now_ns(), 0, pitch));
    }
    done = true;
  });
  double slowest_status_ms = 0;
  while (!done) {
    const auto asked = now_ns();
    const auto status = rig.engine->status();
    slowest_status_ms = std::max(slowest_status_ms, static_cast<double>(now_ns() - asked) / 1e6);
    EXPECT_EQ(status.state, "playing");
    std::this_thread::sleep_for(20ms);
  }
  player.join();
  // The engine has taken in all of it: the queue drains within a conductor tick or two.
  EXPECT_TRUE(rig.heard.wait_for([&](const Heard&) { return rig.input.size_approx() == 0; }, 1000ms));
  EXPECT_LT(slowest_status_ms, 500) << "the status waited that long on the engine";
  std::this_thread::sleep_for(1000ms);  // and it goes on playing along
  rig.engine->stop();
  ASSERT_TRUE(rig.scheduler->wait_silent(1000ms));
  EXPECT_TRUE(rig.heard.wait_for([](const Heard& h) { return unbalanced_notes(h.all()) == 0; }, 1000ms))
      << unbalanced_notes(rig.heard.all()) << " notes left sounding";
  EXPECT_GT(rig.heard.note_ons(), 0) << "scorejam played nothing along";
}

// A session is reproduced exactly from its trace: a phrase, an answer cut short by the player
// starting again, a second phrase and its whole answer, sampled by the stochastic PC sampler. Run
// again later (so at other wall-clock times, with other loads), every committed hop comes out with
// the same notes at the same times, and they are the notes that were heard.
TEST(LiveEngine, ASessionIsReproducedExactlyFromItsTrace) {
  Rig rig(LiveMode::kContinue);
  auto settings = rig.engine->settings();
  settings.sampler.kind = SamplerKind::kPredictorCorrector;
  settings.sampler.steps = 6;
  settings.sampler.seed = 77;
  settings.answer_seconds = 3;
  rig.engine->apply(settings);
  rig.engine->start();
  rig.play_phrase(60);
  ASSERT_TRUE(rig.heard.wait_for([](const Heard& h) { return h.note_ons() >= 2; }, 5000ms)) << "no answer came";
  rig.play_phrase(55);  // barge-in: the first answer is cut
  // The second answer's notes, counted from the end of the second phrase: a fast first answer can
  // play many notes before the barge-in (under AddressSanitizer it planned 60 in one hop).
  const int before_second = rig.heard.note_ons();
  ASSERT_TRUE(rig.heard.wait_for([&](const Heard& h) { return h.note_ons() >= before_second + 2; }, 8000ms))
      << "no second answer";
  ASSERT_TRUE(rig.heard.wait_for([&](const Heard&) { return !rig.engine->answering(); }, 8000ms));
  rig.engine->stop();
  ASSERT_TRUE(rig.scheduler->wait_silent(1000ms));
  const auto heard = rig.heard.all();

  const auto dir = testing::scratch_dir("LiveEngine.ASessionIsReproducedExactlyFromItsTrace");
  const auto trace = rig.trace_file();
  testing::write_text(dir / "session.trace", trace);
  ASSERT_NE(trace.find("\ncut "), std::string::npos) << "the barge-in left no cut in the trace";
  const auto r = reproduce_session(dir / "session.trace");
  EXPECT_GE(r.hops, 3u);
  EXPECT_EQ(r.identical, r.hops) << (r.differences.empty() ? "" : r.differences.front());
  EXPECT_EQ(r.notes, r.notes_recorded);
  // Every note heard is one the reproduction planned: same pitch, sent within 20 ms of its time.
  int matched = 0, note_ons = 0;
  for (const auto& m : heard) {
    if (!is_note_on(m)) continue;
    ++note_ons;
    matched += std::any_of(r.planned.begin(), r.planned.end(), [&](const PlannedNote& n) {
      return n.pitch == m.bytes[1] && n.velocity == m.bytes[2] && std::abs(m.time_ns - n.on_ns) < 20'000'000;
    });
  }
  EXPECT_EQ(matched, note_ons);
  EXPECT_GE(r.notes, static_cast<std::size_t>(note_ons));  // the barge-in cut planned notes before they sounded

  // The check can fail: another seed for the first window that played notes gives other notes.
  std::vector<std::string> lines;
  for (std::size_t from = 0, to; (to = trace.find('\n', from)) != std::string::npos; from = to + 1)
    lines.push_back(trace.substr(from, to - from));
  std::uint64_t build = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto record = parse_trace(lines[i], static_cast<int>(i + 1));
    if (const auto* c = std::get_if<TraceCommit>(&record); c && c->notes > 0) {
      build = c->build;
      break;
    }
  }
  std::string altered;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto line = lines[i];
    if (i > 0) {
      auto record = parse_trace(line, static_cast<int>(i + 1));
      if (auto* w = std::get_if<TraceWindow>(&record); w && w->build == build) {
        w->sampler.seed += 1;
        line = format_trace(record);
      }
    }
    altered += line + "\n";
  }
  ASSERT_NE(altered, trace);
  testing::write_text(dir / "altered.trace", altered);
  const auto a = reproduce_session(dir / "altered.trace");
  EXPECT_LT(a.identical, a.hops);
  ASSERT_FALSE(a.differences.empty());
  EXPECT_NE(a.differences.front().find("window " + std::to_string(build) + ":"), std::string::npos) << a.differences.front();
}

// A beat_planes model (the music run's checkpoint, committed beside the bundled model) is given the
// player's beats as the engine tracks them; the reproduction tracks them again from the trace's
// player lines, so each window is sampled as it was live.
TEST(LiveEngine, ABeatPlanesModelsSessionIsReproducedWithTheSameBeats) {
  const std::string model = std::string(SCOREJAM_SOURCE_DIR) + "/models/music-in-training/checkpoint.pt";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " is absent (the music run's checkpoint)";
  Rig rig(LiveMode::kContinue, 4, model);
  rig.engine->start();
  moodycamel::ProducerToken token(rig.input);
  for (int i = 0; i < 10; ++i) {  // a steady beat at 150 BPM, bass on the beat: the tracker finds its tempo
    rig.input.enqueue(token, note_on(now_ns(), 0, i % 2 ? 64 : 43, 90));
    std::this_thread::sleep_for(300ms);
    rig.input.enqueue(token, note_off(now_ns(), 0, i % 2 ? 64 : 43));
    std::this_thread::sleep_for(100ms);
  }
  // The pause is detected (an answer begins: speculative windows alone do not count), then played out.
  ASSERT_TRUE(rig.heard.wait_for([&](const Heard&) { return rig.engine->status().answers >= 1; }, 20000ms));
  ASSERT_TRUE(rig.heard.wait_for([&](const Heard&) { return !rig.engine->answering(); }, 20000ms));
  rig.engine->stop();
  const auto dir = testing::scratch_dir("LiveEngine.ABeatPlanesModelsSessionIsReproducedWithTheSameBeats");
  testing::write_text(dir / "session.trace", rig.trace_file());
  const auto r = reproduce_session(dir / "session.trace");
  EXPECT_GE(r.hops, 2u);
  EXPECT_EQ(r.identical, r.hops) << (r.differences.empty() ? "" : r.differences.front());
}

// A trace cut off mid-line, or one that is not a trace, is refused naming the file and the line.
TEST(LiveEngine, ADamagedTraceIsRefusedNamingTheLine) {
  const auto dir = testing::scratch_dir("LiveEngine.ADamagedTraceIsRefusedNamingTheLine");
  testing::write_text(dir / "not.trace", "MThd garbage\n");
  EXPECT_THROW(
      {
        try {
          reproduce_session(dir / "not.trace");
        } catch (const TraceError& e) {
          EXPECT_NE(std::string(e.what()).find("not a scorejam session trace"), std::string::npos) << e.what();
          throw;
        }
      },
      TraceError);
  testing::write_text(dir / "cut.trace", std::string(kTraceMagic) + "\nengine origin_ns=5 context_frames=64 hop_fr");
  try {
    reproduce_session(dir / "cut.trace");
    ADD_FAILURE() << "a cut-off trace was accepted";
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("cut.trace: session trace line 2: missing hop_frames="), std::string::npos) << e.what();
  }
  testing::write_text(dir / "long.trace", std::string(kTraceMagic) + "\n" + std::string(100'000, 'p'));
  try {
    reproduce_session(dir / "long.trace");
    ADD_FAILURE() << "a 100 kB line was accepted";
  } catch (const TraceError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: longer than"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace scorejam
