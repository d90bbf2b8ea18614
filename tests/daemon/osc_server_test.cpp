// The OSC server over real loopback UDP: a real OscServer on 127.0.0.1, port 0, its io_context run
// on a test thread; real liblo clients send and receive (every wait has a timeout); a recording
// LiveControl stands in for the engine.
#include "daemon/osc_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <lo/lo.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <fstream>
#include <regex>
#include <sstream>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace scorejam {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<std::uint8_t>;

class RecordingLive final : public LiveControl {
 public:
  struct Calls {
    int starts = 0, stops = 0, panics = 0, applies = 0, surprises = 0;
    std::vector<std::string> loaded;
    std::thread::id load_thread;  // where the last load ran
    LiveSettings settings;
  };

  void start() override { std::lock_guard lock(mutex_); ++calls_.starts; }
  void request_surprise() override { std::lock_guard lock(mutex_); ++calls_.surprises; }
  void stop() override { std::lock_guard lock(mutex_); ++calls_.stops; }
  void panic() override { std::lock_guard lock(mutex_); ++calls_.panics; }
  LiveSettings settings() const override { std::lock_guard lock(mutex_); return calls_.settings; }
  void apply(const LiveSettings& settings) override {
    std::lock_guard lock(mutex_);
    calls_.settings = settings;
    ++calls_.applies;
  }
  void load_checkpoint(const std::string& file_name) override {
    if (file_name == "slow.pt") std::this_thread::sleep_for(1500ms);  // a large model on a slow disk
    std::lock_guard lock(mutex_);
    if (file_name == "missing.pt") throw std::runtime_error("missing.pt: no such file in the model folder");
    calls_.loaded.push_back(file_name);
    calls_.load_thread = std::this_thread::get_id();
  }
  LiveStatus status() const override {
    std::lock_guard lock(mutex_);
    LiveStatus s;
    s.playing = true;
    s.state = "listening";
    s.settings = calls_.settings;
    s.checkpoint = "scorejam-default.pt";
    s.device = "cpu";
    s.answers = 3;
    s.first_note_ms_p50 = 123.5;
    s.first_note_ms_p95 = 250;
    s.windows = 40;
    s.windows_late = 2;
    s.window_ms_p50 = 80;
    s.window_ms_max = 140;
    s.deadline_ms = 250;
    s.steps_in_use = 50;
    s.events_sent = 42;
    s.lateness_us_p50 = 300;
    s.lateness_us_p99 = 2700;
    s.lateness_us_max = 3100;
    s.rss_mib = 512;
    return s;
  }
  Calls calls() const { std::lock_guard lock(mutex_); return calls_; }

 private:
  mutable std::mutex mutex_;
  Calls calls_;
};

using Arg = std::variant<std::int32_t, float, double, std::int64_t, std::string>;

lo_message make_message(const std::vector<Arg>& args) {
  lo_message m = lo_message_new();
  for (const auto& arg : args) {
    if (const auto* i = std::get_if<std::int32_t>(&arg)) lo_message_add_int32(m, *i);
    if (const auto* f = std::get_if<float>(&arg)) lo_message_add_float(m, *f);
    if (const auto* d = std::get_if<double>(&arg)) lo_message_add_double(m, *d);
    if (const auto* h = std::get_if<std::int64_t>(&arg)) lo_message_add_int64(m, *h);
    if (const auto* s = std::get_if<std::string>(&arg)) lo_message_add_string(m, s->c_str());
  }
  return m;
}

Bytes serialise(const std::string& path, const std::vector<Arg>& args) {
  lo_message m = make_message(args);
  std::size_t size = 0;
  void* data = lo_message_serialise(m, path.c_str(), nullptr, &size);
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  Bytes out(bytes, bytes + size);
  std::free(data);
  lo_message_free(m);
  return out;
}

// The datagram that makes liblo 0.31 read past its buffer: #bundle, a time tag, an element of size 0.
const Bytes kCraftedBundle = {0x23, 0x62, 0x75, 0x6e, 0x64, 0x6c, 0x65, 0x00, 0x00, 0x00,
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};

struct Received {
  std::string address;
  std::vector<OscArgument> args;
};

// A liblo client with its own server socket, so that replies to the sender come back to it.
class OscClient {
 public:
  OscClient() : server_(lo_server_new(nullptr, nullptr)) {
    if (server_ == nullptr) throw std::runtime_error("cannot open a liblo server for the test client");
    lo_server_add_method(server_, nullptr, nullptr, &OscClient::on_message, this);
  }
  ~OscClient() { lo_server_free(server_); }
  OscClient(const OscClient&) = delete;
  OscClient& operator=(const OscClient&) = delete;

  int port() const { return lo_server_get_port(server_); }

  void send(int to_port, const std::string& path, const std::vector<Arg>& args = {}) {
    lo_address to = lo_address_new("127.0.0.1", std::to_string(to_port).c_str());
    lo_message m = make_message(args);
    EXPECT_GT(lo_send_message_from(to, server_, path.c_str(), m), 0) << lo_address_errstr(to);
    lo_message_free(m);
    lo_address_free(to);
  }

  void send_bundle(int to_port, const std::vector<std::pair<const char*, std::vector<Arg>>>& messages) {
    lo_address to = lo_address_new("127.0.0.1", std::to_string(to_port).c_str());
    lo_bundle bundle = lo_bundle_new(LO_TT_IMMEDIATE);
    for (const auto& [path, args] : messages) lo_bundle_add_message(bundle, path, make_message(args));
    EXPECT_GT(lo_send_bundle_from(to, server_, bundle), 0) << lo_address_errstr(to);
    lo_bundle_free_recursive(bundle);
    lo_address_free(to);
  }

  void send_raw(int to_port, const Bytes& datagram) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(to_port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(sendto(lo_server_get_socket_fd(server_), datagram.data(), datagram.size(), 0,
                     reinterpret_cast<const sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(datagram.size()));
  }

  // The first message to `address` received within `timeout`; the others stay in the inbox.
  std::optional<Received> wait_for(const std::string& address, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
        if (it->address != address) continue;
        Received found = std::move(*it);
        inbox_.erase(it);
        return found;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return std::nullopt;
      lo_server_recv_noblock(server_, static_cast<int>(left.count()));
    }
  }

  // Everything received so far, and within `window` from now.
  std::vector<Received> drain(std::chrono::milliseconds window) {
    const auto deadline = std::chrono::steady_clock::now() + window;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (lo_server_recv_noblock(server_, static_cast<int>(std::max(left, 0ms).count())) == 0 && left <= 0ms) break;
    }
    std::vector<Received> all(inbox_.begin(), inbox_.end());
    inbox_.clear();
    return all;
  }

 private:
  static int on_message(const char* path, const char* types, lo_arg** argv, int argc, lo_message, void* self) {
    Received received{path, {}};
    for (int i = 0; i < argc; ++i) {
      OscArgument arg;
      arg.tag = types[i];
      // liblo's lo_arg pointers are only 4-aligned: copy the numbers out.
      std::int32_t i32 = 0;
      float f32 = 0;
      if (arg.tag == 'i') arg.number = (std::memcpy(&i32, argv[i], sizeof i32), i32);
      if (arg.tag == 'f') arg.number = (std::memcpy(&f32, argv[i], sizeof f32), f32);
      if (arg.tag == 's') arg.text = reinterpret_cast<const char*>(argv[i]);
      received.args.push_back(arg);
    }
    static_cast<OscClient*>(self)->inbox_.push_back(std::move(received));
    return 0;
  }

  lo_server server_;
  std::deque<Received> inbox_;
};

testing::AssertionResult replied_done(OscClient& client, const std::string& address) {
  const auto reply = client.wait_for(std::string(kOscDone));
  if (!reply) return testing::AssertionFailure() << "no " << kOscDone << " within the timeout";
  if (reply->args.size() != 1 || reply->args[0].text != address) {
    return testing::AssertionFailure() << kOscDone << " for the wrong address";
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult replied_fail(OscClient& client, const std::string& address, const std::string& reason) {
  const auto reply = client.wait_for(std::string(kOscFail));
  if (!reply) return testing::AssertionFailure() << "no " << kOscFail << " within the timeout";
  if (reply->args.size() != 2 || reply->args[0].tag != 's' || reply->args[1].tag != 's') {
    return testing::AssertionFailure() << kOscFail << " is not <address> <message>";
  }
  if (reply->args[0].text != address) return testing::AssertionFailure() << "failed address " << reply->args[0].text;
  if (reply->args[1].text.find(reason) == std::string::npos) {
    return testing::AssertionFailure() << "message '" << reply->args[1].text << "' lacks '" << reason << "'";
  }
  return testing::AssertionSuccess();
}

OscConfig test_config() {
  OscConfig config;
  config.port = 0;
  return config;
}

class OscServerTest : public testing::Test {
 protected:
  void start(const OscConfig& config = test_config()) {
    server_ = std::make_unique<OscServer>(io_, config, live_);
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }
  int port() const { return server_->port(); }
  OscCounters counters() const { return server_->counters(); }
  void publish_note(int pitch, int velocity) {
    boost::asio::post(io_, [this, pitch, velocity] { server_->publish_note(pitch, velocity); });
  }
  void publish(const OscMessage& message) {
    boost::asio::post(io_, [this, message] { server_->publish(message); });
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  RecordingLive live_;
  std::unique_ptr<OscServer> server_;
  std::thread thread_;
  OscClient client_;
};

// --- every address of the table ---------------------------------------------------------------

struct CommandCase {
  std::string name;
  std::string address;
  std::vector<Arg> args;
  std::function<bool(const RecordingLive::Calls&)> applied;
};

// Keeps the test names CTest discovers stable (the default prints the object's bytes).
void PrintTo(const CommandCase& c, std::ostream* os) { *os << c.address; }

// Each target value differs from the default, so that each check proves a change.
std::vector<CommandCase> command_cases() {
  using C = const RecordingLive::Calls&;
  return {
      {"Start", "/scorejam/start", {}, [](C c) { return c.starts == 1; }},
      {"Stop", "/scorejam/stop", {}, [](C c) { return c.stops == 1; }},
      {"Panic", "/scorejam/panic", {}, [](C c) { return c.panics == 1; }},
      {"Surprise", "/scorejam/surprise", {}, [](C c) { return c.surprises == 1; }},
      {"Mode", "/scorejam/mode", {"duet"}, [](C c) { return c.settings.mode == LiveMode::kDuet; }},
      {"Sampler", "/scorejam/sampler", {"heun"}, [](C c) { return c.settings.sampler.kind == SamplerKind::kHeun; }},
      {"Steps", "/scorejam/steps", {250}, [](C c) { return c.settings.sampler.steps == 250; }},
      {"Snr", "/scorejam/snr", {0.25f}, [](C c) { return c.settings.sampler.snr == 0.25; }},
      {"CorrectorSteps", "/scorejam/corrector_steps", {3}, [](C c) { return c.settings.sampler.corrector_steps == 3; }},
      {"Temperature", "/scorejam/temperature", {1.5f}, [](C c) { return c.settings.sampler.temperature == 1.5; }},
      {"Guidance", "/scorejam/guidance", {2.5}, [](C c) { return c.settings.sampler.guidance == 2.5; }},
      {"GuidanceTMin", "/scorejam/guidance_t_min", {0.5f}, [](C c) { return c.settings.sampler.guidance_t_min == 0.5; }},
      {"Seed", "/scorejam/seed", {12345}, [](C c) { return c.settings.sampler.seed == 12345u; }},
      {"OnsetThreshold", "/scorejam/onset_threshold", {0.25f}, [](C c) { return c.settings.thresholds.onset == 0.25f; }},
      {"FrameThreshold", "/scorejam/frame_threshold", {0.75f}, [](C c) { return c.settings.thresholds.frame == 0.75f; }},
      {"PauseMs", "/scorejam/pause_ms", {800}, [](C c) { return c.settings.pause_ms == 800; }},
      {"AnswerSeconds", "/scorejam/answer_seconds", {12.5f}, [](C c) { return c.settings.answer_seconds == 12.5; }},
      {"LoadCheckpoint", "/scorejam/load_checkpoint", {"other.pt"},
       [](C c) { return c.loaded == std::vector<std::string>{"other.pt"}; }},
  };
}

// Addresses whose effect is not a LiveControl call have their own tests below.
const std::set<std::string> kCoveredByOwnTests = {"/scorejam/status", "/scorejam/subscribe", "/scorejam/unsubscribe"};

TEST(OscCommandTable, EveryAddressHasAServerTest) {
  std::set<std::string> covered = kCoveredByOwnTests;
  for (const auto& c : command_cases()) covered.insert(c.address);
  std::set<std::string> table;
  for (const auto& c : osc_commands()) table.insert(c.address);
  EXPECT_EQ(covered, table);
}

class OscCommandTest : public OscServerTest, public testing::WithParamInterface<CommandCase> {};

TEST_P(OscCommandTest, ChangesWhatItShouldAndRepliesDone) {
  start();
  client_.send(port(), GetParam().address, GetParam().args);
  EXPECT_TRUE(replied_done(client_, GetParam().address));
  EXPECT_TRUE(GetParam().applied(live_.calls()));
  EXPECT_EQ(counters().errors, 0);
}

INSTANTIATE_TEST_SUITE_P(EveryCommand, OscCommandTest, testing::ValuesIn(command_cases()),
                         [](const testing::TestParamInfo<CommandCase>& info) { return info.param.name; });

// --- numbers and refusals ---------------------------------------------------------------------

TEST_F(OscServerTest, TakesInt32Float32DoubleAndInt64ForTheSameSetting) {
  start();
  const std::vector<std::pair<Arg, int>> sent = {{Arg(10), 10}, {Arg(20.0f), 20}, {Arg(30.0), 30},
                                                 {Arg(std::int64_t{40}), 40}};
  for (const auto& [arg, expected] : sent) {
    client_.send(port(), "/scorejam/steps", {arg});
    ASSERT_TRUE(replied_done(client_, "/scorejam/steps"));
    EXPECT_EQ(live_.calls().settings.sampler.steps, expected);
  }
}

TEST_F(OscServerTest, IntegerSettingGivenAFractionTakesTheNearest) {
  start();
  client_.send(port(), "/scorejam/steps", {20.6f});
  ASSERT_TRUE(replied_done(client_, "/scorejam/steps"));
  EXPECT_EQ(live_.calls().settings.sampler.steps, 21);
}

TEST_F(OscServerTest, RealSettingTakesAnInt) {
  start();
  client_.send(port(), "/scorejam/temperature", {2});
  ASSERT_TRUE(replied_done(client_, "/scorejam/temperature"));
  EXPECT_EQ(live_.calls().settings.sampler.temperature, 2.0);
}

TEST_F(OscServerTest, StringForANumberFailsAndChangesNothing) {
  start();
  client_.send(port(), "/scorejam/steps", {"many"});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/steps", "steps must be a number, got the string \"many\""));
  EXPECT_EQ(live_.calls().applies, 0);
  EXPECT_EQ(counters().errors, 1);
}

TEST_F(OscServerTest, OutOfRangeValueFailsAndChangesNothing) {
  start();
  client_.send(port(), "/scorejam/steps", {1001});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/steps", "steps 1001 is outside 1..1000"));
  EXPECT_EQ(live_.calls().applies, 0);
  EXPECT_EQ(live_.calls().settings.sampler.steps, 100);
}

TEST_F(OscServerTest, NotANumberFailsAndChangesNothing) {
  start();
  client_.send(port(), "/scorejam/temperature", {std::nanf("")});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/temperature", "temperature must be a finite number"));
  EXPECT_EQ(live_.calls().applies, 0);
}

TEST_F(OscServerTest, WrongArgumentCountFails) {
  start();
  client_.send(port(), "/scorejam/steps");
  EXPECT_TRUE(replied_fail(client_, "/scorejam/steps", "expects <steps: int 1..1000> (1 argument), got 0"));
  EXPECT_EQ(live_.calls().applies, 0);
}

TEST_F(OscServerTest, UnknownModeNameFailsAndChangesNothing) {
  start();
  client_.send(port(), "/scorejam/mode", {"jazz"});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/mode", "unknown mode 'jazz'"));
  EXPECT_EQ(live_.calls().applies, 0);
}

TEST_F(OscServerTest, UnknownAddressFails) {
  start();
  client_.send(port(), "/scorejam/tempo", {120});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/tempo", "unknown address"));
  EXPECT_EQ(counters().errors, 1);
}

TEST_F(OscServerTest, CheckpointPathOutsideTheModelFolderIsRefusedBeforeTheEngineSeesIt) {
  start();
  for (const char* name : {"../x.pt", "/etc/x.pt", "models/x.pt"}) {
    client_.send(port(), "/scorejam/load_checkpoint", {name});
    EXPECT_TRUE(replied_fail(client_, "/scorejam/load_checkpoint", "is not a bare file name")) << name;
  }
  EXPECT_TRUE(live_.calls().loaded.empty());
}

TEST_F(OscServerTest, CheckpointTheEngineCannotLoadFailsWithItsReason) {
  start();
  client_.send(port(), "/scorejam/load_checkpoint", {"missing.pt"});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/load_checkpoint", "missing.pt: no such file in the model folder"));
}

// --- packets ----------------------------------------------------------------------------------

TEST_F(OscServerTest, CraftedBundleIsCountedMalformedAndTheServerKeepsAnswering) {
  start();
  client_.send_raw(port(), kCraftedBundle);
  EXPECT_TRUE(replied_fail(client_, "(malformed)", "byte 16: bundle element of size 0"));
  client_.send(port(), "/scorejam/status");
  EXPECT_TRUE(client_.wait_for(std::string(kOscStatusReply)));
  EXPECT_EQ(counters().malformed, 1);
  EXPECT_EQ(counters().received, 2);
}

TEST_F(OscServerTest, BundleWithTwoMessagesAppliesBoth) {
  start();
  client_.send_bundle(port(), {{"/scorejam/steps", {12}}, {"/scorejam/temperature", {0.5f}}});
  EXPECT_TRUE(replied_done(client_, "/scorejam/steps"));
  EXPECT_TRUE(replied_done(client_, "/scorejam/temperature"));
  const auto settings = live_.calls().settings;
  EXPECT_EQ(settings.sampler.steps, 12);
  EXPECT_EQ(settings.sampler.temperature, 0.5);
}

TEST_F(OscServerTest, MessagesToItsOwnReplyAddressesAreIgnored) {
  start();
  client_.send(port(), "/scorejam/fail", {"/x", "a peer's error"});
  client_.send(port(), "/scorejam/status");
  ASSERT_TRUE(client_.wait_for(std::string(kOscStatusReply)));
  EXPECT_TRUE(client_.drain(0ms).empty()) << "the ignored message was answered";
  EXPECT_EQ(counters().errors, 0);
}

// --- where replies go -------------------------------------------------------------------------

// Sends `datagram` to 127.0.0.1:port from a socket bound to `from` (any 127.x.y.z is loopback).
void send_from(const char* from, int port, const Bytes& datagram) {
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in local{}, to{};
  local.sin_family = to.sin_family = AF_INET;
  inet_pton(AF_INET, from, &local.sin_addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local), 0) << std::strerror(errno);
  to.sin_port = htons(static_cast<std::uint16_t>(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(sendto(fd, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to),
            static_cast<ssize_t>(datagram.size()));
  close(fd);
}

TEST_F(OscServerTest, SendersOutsideTheAllowListAreDroppedUnanswered) {
  OscConfig config = test_config();
  config.allow = {"127.0.0.1"};
  start(config);
  send_from("127.0.0.2", port(), serialise("/scorejam/start", {}));
  send_from("127.0.0.2", port(), serialise("/scorejam/panic", {}));
  client_.send(port(), "/scorejam/stop");  // from 127.0.0.1: allowed
  EXPECT_TRUE(replied_done(client_, "/scorejam/stop"));
  const auto calls = live_.calls();
  EXPECT_EQ(calls.starts, 0);
  EXPECT_EQ(calls.panics, 0);
  EXPECT_EQ(calls.stops, 1);
  EXPECT_EQ(counters().refused, 2);
}

TEST_F(OscServerTest, AllowListEntryThatIsNoAddressIsAnErrorNamingIt) {
  OscConfig config = test_config();
  config.allow = {"mixer.local"};
  try {
    start(config);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("mixer.local"), std::string::npos) << e.what();
  }
}

TEST_F(OscServerTest, RepliesGoToTheSender) {
  start();
  OscClient other;
  client_.send(port(), "/scorejam/start");
  EXPECT_TRUE(replied_done(client_, "/scorejam/start"));
  other.send(port(), "/scorejam/stop");
  EXPECT_TRUE(replied_done(other, "/scorejam/stop"));
}

TEST_F(OscServerTest, RepliesGoToTheConfiguredReplyPortWhenSet) {
  OscClient max_udpreceive;
  OscConfig config = test_config();
  config.reply_port = max_udpreceive.port();
  start(config);
  client_.send(port(), "/scorejam/status");
  EXPECT_TRUE(max_udpreceive.wait_for(std::string(kOscStatusReply)));
  // Sent before the reply port's copy if at all: loopback delivers at once.
  EXPECT_TRUE(client_.drain(50ms).empty());
}

std::map<std::string, OscArgument> status_pairs(const Received& reply) {
  std::map<std::string, OscArgument> pairs;
  for (std::size_t i = 0; i + 1 < reply.args.size(); i += 2) {
    EXPECT_EQ(reply.args[i].tag, 's') << "key " << i / 2 << " is not a string";
    pairs[reply.args[i].text] = reply.args[i + 1];
  }
  return pairs;
}

TEST_F(OscServerTest, StatusReplyCarriesEveryStatusFieldAsKeyValuePairs) {
  start();
  client_.send(port(), "/scorejam/status");
  const auto reply = client_.wait_for(std::string(kOscStatusReply));
  ASSERT_TRUE(reply);
  ASSERT_EQ(reply->args.size() % 2, 0u);
  const auto pairs = status_pairs(*reply);
  const std::set<std::string> expected_keys = {
      "playing", "state", "mode", "sampler", "steps", "snr", "corrector_steps", "temperature", "guidance", "guidance_t_min", "seed", "atol",
      "rtol", "eps", "onset_threshold", "frame_threshold", "pause_ms", "answer_seconds", "checkpoint", "device", "midi",
      "answers", "first_note_ms_p50", "first_note_ms_p95", "answers_prepared", "answers_opening_rest", "windows", "windows_late", "window_ms_p50",
      "window_ms_max", "deadline_ms", "steps_in_use", "notes_thinned", "events_sent", "lateness_us_p50", "lateness_us_p99",
      "lateness_us_max", "rss_mib", "surprises", "surprise_bits_per_note", "surprise_ms_last"};
  std::set<std::string> keys;
  for (const auto& [key, value] : pairs) keys.insert(key);
  EXPECT_EQ(keys, expected_keys);
  EXPECT_EQ(reply->args.size(), 2 * expected_keys.size()) << "a key appears twice";
  EXPECT_EQ(pairs.at("state").text, "listening");
  EXPECT_EQ(pairs.at("mode").text, "continue");
  EXPECT_EQ(pairs.at("sampler").text, "pc");
  EXPECT_EQ(pairs.at("playing").tag, 'i');
  EXPECT_EQ(pairs.at("playing").number, 1);
  EXPECT_EQ(pairs.at("steps").tag, 'i');
  EXPECT_EQ(pairs.at("steps").number, 100);
  EXPECT_EQ(pairs.at("first_note_ms_p50").tag, 'f');
  EXPECT_EQ(pairs.at("first_note_ms_p50").number, 123.5);
  EXPECT_EQ(pairs.at("lateness_us_p99").number, 2700);
  EXPECT_EQ(pairs.at("events_sent").number, 42);
  EXPECT_EQ(pairs.at("checkpoint").text, "scorejam-default.pt");
}

// --- subscribers ------------------------------------------------------------------------------

TEST_F(OscServerTest, SubscriberReceivesPublishedNotes) {
  start();
  OscClient visuals;
  client_.send(port(), "/scorejam/subscribe", {"127.0.0.1", visuals.port()});
  ASSERT_TRUE(replied_done(client_, "/scorejam/subscribe"));
  publish_note(60, 100);
  const auto note = visuals.wait_for(std::string(kOscNote));
  ASSERT_TRUE(note);
  ASSERT_EQ(note->args.size(), 2u);
  EXPECT_EQ(note->args[0].tag, 'i');
  EXPECT_EQ(note->args[0].number, 60);
  EXPECT_EQ(note->args[1].number, 100);
}

TEST_F(OscServerTest, SubscriberReceivesTheSurpriseFigure) {
  start();
  OscClient visuals;
  client_.send(port(), "/scorejam/subscribe", {"127.0.0.1", visuals.port()});
  ASSERT_TRUE(replied_done(client_, "/scorejam/subscribe"));
  SurpriseReport report;
  report.bits_per_note = 7.25;
  report.bits_per_dim = -3.5;
  report.notes = 12;
  report.seconds = 4;
  report.requested = true;
  publish(surprise_message(report));
  const auto surprise = visuals.wait_for(std::string(kOscSurpriseReply));
  ASSERT_TRUE(surprise);
  ASSERT_EQ(surprise->args.size(), 5u);
  EXPECT_EQ(surprise->args[0].tag, 'f');
  EXPECT_EQ(surprise->args[0].number, 7.25);
  EXPECT_EQ(surprise->args[1].number, -3.5);
  EXPECT_EQ(surprise->args[2].tag, 'i');
  EXPECT_EQ(surprise->args[2].number, 12);
  EXPECT_EQ(surprise->args[3].number, 4);
  EXPECT_EQ(surprise->args[4].number, 1);
  // A peer that sends it back is not answered: two daemons subscribed to each other cannot loop.
  client_.send(port(), std::string(kOscSurpriseReply), {1.0f});
  EXPECT_TRUE(client_.drain(50ms).empty());
}

TEST_F(OscServerTest, UnsubscribedClientReceivesNoMoreNotes) {
  start();
  OscClient visuals;
  client_.send(port(), "/scorejam/subscribe", {"127.0.0.1", visuals.port()});
  ASSERT_TRUE(replied_done(client_, "/scorejam/subscribe"));
  client_.send(port(), "/scorejam/unsubscribe", {"127.0.0.1", visuals.port()});
  ASSERT_TRUE(replied_done(client_, "/scorejam/unsubscribe"));
  client_.send(port(), "/scorejam/subscribe", {"localhost", client_.port()});
  ASSERT_TRUE(replied_done(client_, "/scorejam/subscribe"));
  publish_note(62, 90);
  // The notes go out one after the other in one call; once the client has its note, a note to
  // `visuals` would have been delivered already.
  ASSERT_TRUE(client_.wait_for(std::string(kOscNote)));
  EXPECT_TRUE(visuals.drain(50ms).empty());
}

TEST_F(OscServerTest, UnsubscribingAnUnknownSubscriberFails) {
  start();
  client_.send(port(), "/scorejam/unsubscribe", {"127.0.0.1", 9});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/unsubscribe", "127.0.0.1:9 is not subscribed"));
}

TEST_F(OscServerTest, SubscribersBeyondTheMaximumAreRefused) {
  OscConfig config = test_config();
  config.max_subscribers = 1;
  start(config);
  client_.send(port(), "/scorejam/subscribe", {"127.0.0.1", 40001});
  ASSERT_TRUE(replied_done(client_, "/scorejam/subscribe"));
  client_.send(port(), "/scorejam/subscribe", {"127.0.0.1", 40002});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/subscribe", "already 1 subscribers"));
}

TEST_F(OscServerTest, SubscriberOffTheLoopbackIsRefusedWhenListeningOnLoopback) {
  start();
  client_.send(port(), "/scorejam/subscribe", {"192.0.2.7", 9000});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/subscribe", "cannot be reached"));
}

TEST_F(OscServerTest, SubscriberHostMustBeAnIpAddress) {
  start();
  client_.send(port(), "/scorejam/subscribe", {"visuals.local", 9000});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/subscribe", "host 'visuals.local' is not an IP address"));
}

// --- robustness -------------------------------------------------------------------------------

TEST_F(OscServerTest, StatusIsAnsweredAfterAFloodOf10000Datagrams) {
  start();
  const Bytes steps = serialise("/scorejam/steps", {10});
  // From a socket of its own, whose replies nobody reads.
  const int flood = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(flood, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<std::uint16_t>(port()));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 10000; ++i) {
    const Bytes& datagram = i % 10 == 9 ? kCraftedBundle : steps;
    sendto(flood, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  }
  // The kernel drops what does not fit the server's receive buffer, the first query perhaps too:
  // ask again, as a client would, for up to 10 s.
  std::optional<Received> reply;
  for (int attempt = 0; attempt < 50 && !reply; ++attempt) {
    client_.send(port(), "/scorejam/status");
    reply = client_.wait_for(std::string(kOscStatusReply), 200ms);
  }
  close(flood);
  ASSERT_TRUE(reply);
  EXPECT_EQ(status_pairs(*reply).at("steps").number, 10);
  EXPECT_GT(counters().received, 1);
  RecordProperty("datagrams_received", std::to_string(counters().received));
  RecordProperty("malformed", std::to_string(counters().malformed));
}

TEST_F(OscServerTest, BusyPortIsAnErrorNamingAddressAndPort) {
  start();
  boost::asio::io_context other_io;
  OscConfig config = test_config();
  config.port = port();
  try {
    OscServer second(other_io, config, live_);
    FAIL() << "a second server bound the same port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(port())), std::string::npos) << e.what();
  }
}

// Loading a checkpoint reads a file: it runs on the server's control worker, so the io thread goes
// on answering (here a status request sent after it is answered first) and sending notes, and
// /scorejam/done comes when the model is in use.
TEST_F(OscServerTest, ALoadRunsOffTheIoThreadAndRepliesDoneWhenTheModelIsIn) {
  start();
  const auto sent = std::chrono::steady_clock::now();
  client_.send(port(), "/scorejam/load_checkpoint", {std::string("slow.pt")});
  client_.send(port(), "/scorejam/status");
  ASSERT_TRUE(client_.wait_for(std::string(kOscStatusReply), 1000ms)) << "the status waited for the load";
  EXPECT_LT(std::chrono::steady_clock::now() - sent, 1000ms);
  EXPECT_TRUE(live_.calls().loaded.empty()) << "the load is still under way";
  EXPECT_TRUE(replied_done(client_, "/scorejam/load_checkpoint"));
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 1500ms);
  EXPECT_EQ(live_.calls().loaded, std::vector<std::string>{"slow.pt"});
  EXPECT_NE(live_.calls().load_thread, thread_.get_id()) << "the load ran on the io thread";
  // A refused load is answered from the worker too, with the reason.
  client_.send(port(), "/scorejam/load_checkpoint", {std::string("missing.pt")});
  EXPECT_TRUE(replied_fail(client_, "/scorejam/load_checkpoint", "no such file"));
  EXPECT_EQ(counters().errors, 1);
}

// examples/scorejam.maxpat, checked without Max: every message box that sends to /scorejam/ names
// an address of the command table, and sent over UDP as Max would send it (a number box's $1 given
// the lowest value the address's documented range allows) it is accepted and replied /done.
TEST_F(OscServerTest, EveryMessageOfTheMaxPatchIsACommandThatIsAccepted) {
  std::ifstream in(std::string(SCOREJAM_SOURCE_DIR) + "/examples/scorejam.maxpat");
  ASSERT_TRUE(in) << "examples/scorejam.maxpat not found";
  const auto patch = nlohmann::json::parse(in);  // throws, naming the place, on a broken patch
  std::map<std::string, std::string> arguments_of;
  for (const auto& c : osc_commands()) arguments_of[c.address] = c.arguments;
  start();
  int messages = 0;
  for (const auto& entry : patch.at("patcher").at("boxes")) {
    const auto& box = entry.at("box");
    if (box.value("maxclass", "") != "message") continue;
    const std::string text = box.value("text", "");
    if (text.rfind("/scorejam/", 0) != 0) continue;
    std::istringstream words(text);
    std::string address, word;
    words >> address;
    ASSERT_TRUE(arguments_of.count(address)) << "the Max patch sends " << address << ", which is not in the command table";
    std::vector<Arg> args;
    while (words >> word) {
      if (word == "$1") {
        // The lowest value of the documented range ("<steps: int 1..1000>"), as an int where the
        // setting is one: what a number box at its minimum sends.
        static const std::regex range(R"((int )?(-?[0-9.]+)\.\.)");
        std::smatch m;
        ASSERT_TRUE(std::regex_search(arguments_of[address], m, range)) << address << " takes a number without a range";
        if (m[1].matched)
          args.emplace_back(static_cast<std::int32_t>(std::stoi(m[2].str())));
        else
          args.emplace_back(std::stof(m[2].str()));
      } else if (std::all_of(word.begin(), word.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        args.emplace_back(static_cast<std::int32_t>(std::stoi(word)));
      } else {
        args.emplace_back(word);
      }
    }
    client_.send(port(), address, args);
    if (address == "/scorejam/status")  // the one command answered with its figures, not /done
      EXPECT_TRUE(client_.wait_for(std::string(kOscStatusReply))) << "no status reply to the Max patch's '" << text << "'";
    else
      EXPECT_TRUE(replied_done(client_, address)) << "the Max patch's message '" << text << "'";
    ++messages;
  }
  EXPECT_GE(messages, 10) << "the Max patch has fewer message boxes than it had";
  EXPECT_EQ(counters().errors, 0);
}

}  // namespace
}  // namespace scorejam
