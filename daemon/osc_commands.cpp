#include "daemon/osc_commands.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace scorejam {
namespace {

using Args = std::vector<OscArgument>;

OscMessage done(const std::string& address) { return {std::string(kOscDone), {address}}; }

std::string describe(const OscArgument& arg) {
  if (arg.is_number()) return fmt::format("the number {:.7g}", arg.number);
  if (arg.is_text()) return fmt::format("the string \"{}\"", arg.text);
  return fmt::format("an argument of OSC type '{}'", arg.tag);
}

void expect_count(const Args& args, std::size_t count, const std::string& arguments) {
  if (args.size() == count) return;
  if (count == 0) throw OscCommandError(fmt::format("expects no arguments, got {}", args.size()));
  throw OscCommandError(fmt::format("expects {} ({} argument{}), got {}", arguments, count, count == 1 ? "" : "s",
                                    args.size()));
}

double number_arg(const OscArgument& arg, const std::string& name) {
  if (!arg.is_number()) throw OscCommandError(fmt::format("{} must be a number, got {}", name, describe(arg)));
  if (!std::isfinite(arg.number)) throw OscCommandError(fmt::format("{} must be a finite number", name));
  return arg.number;
}

// Integer settings take any number and round it to the nearest: Pd sends only floats.
std::int64_t int_arg(const OscArgument& arg, const std::string& name, std::int64_t lo, std::int64_t hi) {
  const double rounded = std::round(number_arg(arg, name));
  if (rounded < static_cast<double>(lo) || rounded > static_cast<double>(hi)) {
    throw OscCommandError(fmt::format("{} {:.7g} is outside {}..{}", name, arg.number, lo, hi));
  }
  return static_cast<std::int64_t>(rounded);
}

double real_arg(const OscArgument& arg, const std::string& name, double lo, double hi) {
  const double value = number_arg(arg, name);
  if (value < lo || value > hi) throw OscCommandError(fmt::format("{} {:.7g} is outside {}..{}", name, value, lo, hi));
  return value;
}

const std::string& text_arg(const OscArgument& arg, const std::string& name) {
  if (!arg.is_text()) throw OscCommandError(fmt::format("{} must be a string, got {}", name, describe(arg)));
  return arg.text;
}

// The settings are read, changed on a copy and applied whole, so a refusal changes nothing.
OscCommand setting(const std::string& name, std::string arguments, std::string doc,
                   std::function<void(LiveSettings&, const OscArgument&)> change) {
  const std::string address = "/scorejam/" + name;
  auto handler = [address, arguments, change](const Args& args, OscTarget& target) {
    expect_count(args, 1, arguments);
    LiveSettings settings = target.live.settings();
    change(settings, args[0]);
    target.live.apply(settings);
    return done(address);
  };
  return {address, std::move(arguments), std::move(doc), handler};
}

OscCommand int_setting(const std::string& name, std::int64_t lo, std::int64_t hi, std::string doc,
                       std::function<void(LiveSettings&, std::int64_t)> set) {
  return setting(name, fmt::format("<{}: int {}..{}>", name, lo, hi), std::move(doc),
                 [=](LiveSettings& settings, const OscArgument& arg) { set(settings, int_arg(arg, name, lo, hi)); });
}

OscCommand real_setting(const std::string& name, double lo, double hi, std::string doc,
                        std::function<void(LiveSettings&, double)> set) {
  return setting(name, fmt::format("<{}: {}..{}>", name, lo, hi), std::move(doc),
                 [=](LiveSettings& settings, const OscArgument& arg) { set(settings, real_arg(arg, name, lo, hi)); });
}

// `set` parses the name and throws std::invalid_argument for an unknown one.
OscCommand name_setting(const std::string& name, const std::string& choices, std::string doc,
                        std::function<void(LiveSettings&, const std::string&)> set) {
  return setting(name, fmt::format("<{}: {}>", name, choices), std::move(doc),
                 [=](LiveSettings& settings, const OscArgument& arg) {
                   try {
                     set(settings, text_arg(arg, name));
                   } catch (const std::invalid_argument& e) {
                     throw OscCommandError(e.what());
                   }
                 });
}

OscCommand action(const std::string& name, std::string doc, void (LiveControl::*act)()) {
  const std::string address = "/scorejam/" + name;
  auto handler = [address, act](const Args& args, OscTarget& target) {
    expect_count(args, 0, "");
    (target.live.*act)();
    return done(address);
  };
  return {address, "", std::move(doc), handler};
}

std::int32_t clamp_i32(std::int64_t value) {
  return static_cast<std::int32_t>(std::clamp<std::int64_t>(value, std::numeric_limits<std::int32_t>::min(),
                                                            std::numeric_limits<std::int32_t>::max()));
}

// The pairs of /scorejam/status.reply: every LiveStatus field, settings flattened.
std::vector<std::pair<std::string, OscValue>> status_pairs(const LiveStatus& s) {
  const LiveSettings& set = s.settings;
  auto f = [](double value) { return OscValue(static_cast<float>(value)); };
  auto i = [](std::int64_t value) { return OscValue(clamp_i32(value)); };
  return {
      {"playing", i(s.playing ? 1 : 0)},
      {"state", s.state},
      {"mode", to_string(set.mode)},
      {"sampler", to_string(set.sampler.kind)},
      {"steps", i(set.sampler.steps)},
      {"snr", f(set.sampler.snr)},
      {"corrector_steps", i(set.sampler.corrector_steps)},
      {"temperature", f(set.sampler.temperature)},
      {"guidance", f(set.sampler.guidance)},
      {"guidance_t_min", f(set.sampler.guidance_t_min)},
      {"seed", i(static_cast<std::int64_t>(std::min<std::uint64_t>(set.sampler.seed, INT32_MAX)))},
      {"atol", f(set.sampler.atol)},
      {"rtol", f(set.sampler.rtol)},
      {"eps", f(set.sampler.eps)},
      {"onset_threshold", f(set.thresholds.onset)},
      {"frame_threshold", f(set.thresholds.frame)},
      {"pause_ms", i(set.pause_ms)},
      {"answer_seconds", f(set.answer_seconds)},
      {"checkpoint", s.checkpoint},
      {"device", s.device},
      {"midi", s.midi},
      {"answers", i(s.answers)},
      {"first_note_ms_p50", f(s.first_note_ms_p50)},
      {"first_note_ms_p95", f(s.first_note_ms_p95)},
      {"answers_prepared", i(s.answers_prepared)},
      {"answers_opening_rest", i(s.answers_opening_rest)},
      {"windows", i(s.windows)},
      {"windows_late", i(s.windows_late)},
      {"window_ms_p50", f(s.window_ms_p50)},
      {"window_ms_max", f(s.window_ms_max)},
      {"deadline_ms", f(s.deadline_ms)},
      {"steps_in_use", i(s.steps_in_use)},
      {"notes_thinned", i(s.notes_thinned)},
      {"events_sent", i(s.events_sent)},
      {"lateness_us_p50", f(s.lateness_us_p50)},
      {"lateness_us_p99", f(s.lateness_us_p99)},
      {"lateness_us_max", f(s.lateness_us_max)},
      {"rss_mib", f(s.rss_mib)},
      {"surprises", i(s.surprises)},
      {"surprise_bits_per_note", f(s.surprise_bits_per_note)},
      {"surprise_ms_last", f(s.surprise_ms_last)},
  };
}

std::string status_keys() {
  std::string keys;
  for (const auto& [key, value] : status_pairs(LiveStatus{})) keys += (keys.empty() ? "" : ", ") + key;
  return keys;
}

OscCommand status_command() {
  const std::string address = "/scorejam/status";
  auto handler = [](const Args& args, OscTarget& target) {
    expect_count(args, 0, "");
    OscMessage reply{std::string(kOscStatusReply), {}};
    for (auto& [key, value] : status_pairs(target.live.status())) {
      reply.args.emplace_back(key);
      reply.args.push_back(std::move(value));
    }
    return reply;
  };
  return {address, "",
          fmt::format("replies {} with key value pairs (the key a string, the value an int, float or string; playing is 1 or 0): {}",
                      kOscStatusReply, status_keys()),
          handler};
}

OscCommand load_checkpoint_command() {
  const std::string address = "/scorejam/load_checkpoint";
  const std::string arguments = "<file: a file name in the model folder>";
  auto handler = [address, arguments](const Args& args, OscTarget& target) {
    expect_count(args, 1, arguments);
    const std::string& name = text_arg(args[0], "file");
    if (name.empty()) throw OscCommandError("file name is empty");
    if (name.find_first_of("/\\") != std::string::npos || name.find("..") != std::string::npos) {
      throw OscCommandError(fmt::format("'{}' is not a bare file name: only files in the model folder can be loaded",
                                        name));
    }
    target.live.load_checkpoint(name);
    return done(address);
  };
  return {address, arguments,
          "loads a checkpoint from the configured model folder (a bare file name, no '/' or '..') off the "
          "thread that answers OSC, and replies when the model is in use; on failure the current model stays",
          handler, /*slow=*/true};
}

boost::asio::ip::udp::endpoint endpoint_arg(const Args& args, const OscSubscribers& subscribers) {
  const std::string& host = text_arg(args[0], "host");
  boost::system::error_code ec;
  const auto ip = host == "localhost" ? boost::asio::ip::address_v4::loopback()
                                      : boost::asio::ip::make_address(host, ec);
  if (ec) throw OscCommandError(fmt::format("host '{}' is not an IP address", host));
  if (subscribers.loopback_only && !ip.is_loopback()) {
    throw OscCommandError(fmt::format("host {} cannot be reached: scorejam listens on a loopback address only", host));
  }
  return {ip, static_cast<unsigned short>(int_arg(args[1], "port", 1, 65535))};
}

std::string endpoint_text(const boost::asio::ip::udp::endpoint& endpoint) {
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

OscCommand subscribe_command() {
  const std::string address = "/scorejam/subscribe";
  const std::string arguments = "<host: IP address or localhost> <port: int 1..65535>";
  auto handler = [address, arguments](const Args& args, OscTarget& target) {
    expect_count(args, 2, arguments);
    const auto endpoint = endpoint_arg(args, target.subscribers);
    auto& list = target.subscribers.endpoints;
    if (std::find(list.begin(), list.end(), endpoint) != list.end()) return done(address);
    if (list.size() >= target.subscribers.max) {
      throw OscCommandError(fmt::format("already {} subscribers, the most allowed", list.size()));
    }
    list.push_back(endpoint);
    return done(address);
  };
  return {address, arguments,
          fmt::format("sends {} <pitch> <velocity> to host:port for every note played (subscribing twice "
                      "is once; a configured maximum of subscribers)",
                      kOscNote),
          handler};
}

OscCommand unsubscribe_command() {
  const std::string address = "/scorejam/unsubscribe";
  const std::string arguments = "<host: IP address or localhost> <port: int 1..65535>";
  auto handler = [address, arguments](const Args& args, OscTarget& target) {
    expect_count(args, 2, arguments);
    const auto endpoint = endpoint_arg(args, target.subscribers);
    auto& list = target.subscribers.endpoints;
    const auto found = std::find(list.begin(), list.end(), endpoint);
    if (found == list.end()) throw OscCommandError(fmt::format("{} is not subscribed", endpoint_text(endpoint)));
    list.erase(found);
    return done(address);
  };
  return {address, arguments, "stops sending notes to host:port", handler};
}

std::vector<OscCommand> make_commands() {
  return {
      action("start", "listen and play", &LiveControl::start),
      action("stop", "stop playing; every sounding note ends", &LiveControl::stop),
      action("panic", "every sounding note ends now; keeps running", &LiveControl::panic),
      name_setting("mode", "continue|duet|solo",
                   "continue: call and response; duet: play along all the time; solo: play without a player",
                   [](LiveSettings& s, const std::string& name) { s.mode = live_mode_from_string(name); }),
      name_setting("sampler", "em|pc|ode|heun",
                   "the sampler: em Euler-Maruyama, pc predictor-corrector, ode probability-flow ODE, heun Heun",
                   [](LiveSettings& s, const std::string& name) { s.sampler.kind = sampler_kind_from_string(name); }),
      int_setting("steps", 1, 1000, "time steps of the sampler (Heun: 2 network evaluations each)",
                  [](LiveSettings& s, std::int64_t v) { s.sampler.steps = static_cast<int>(v); }),
      real_setting("snr", 0, 1, "pc: signal-to-noise ratio of the Langevin corrector",
                   [](LiveSettings& s, double v) { s.sampler.snr = v; }),
      int_setting("corrector_steps", 0, 10, "pc: Langevin corrector steps per time step",
                  [](LiveSettings& s, std::int64_t v) { s.sampler.corrector_steps = static_cast<int>(v); }),
      real_setting("temperature", 0, 2, "scales the injected noise of em and pc (1 = the true reverse SDE)",
                   [](LiveSettings& s, double v) { s.sampler.temperature = v; }),
      real_setting("guidance", 0, 10, "how closely to follow what was played (classifier-free guidance; 1 = off)",
                   [](LiveSettings& s, double v) { s.sampler.guidance = v; }),
      real_setting("guidance_t_min", 0, 1,
                   "guidance only while the diffusion time t >= this (1 = pure noise); below it the plain "
                   "conditional score, so that notes held into a window go on sounding",
                   [](LiveSettings& s, double v) { s.sampler.guidance_t_min = v; }),
      int_setting("seed", 0, INT32_MAX, "random seed of the sampler",
                  [](LiveSettings& s, std::int64_t v) { s.sampler.seed = static_cast<std::uint64_t>(v); }),
      real_setting("onset_threshold", 0, 1, "decoder: onset level at which a note starts",
                   [](LiveSettings& s, double v) { s.thresholds.onset = static_cast<float>(v); }),
      real_setting("frame_threshold", 0, 1, "decoder: frame level above which a note goes on sounding",
                   [](LiveSettings& s, double v) { s.thresholds.frame = static_cast<float>(v); }),
      int_setting("pause_ms", 50, 10000, "continue: a silence this long ends the player's phrase",
                  [](LiveSettings& s, std::int64_t v) { s.pause_ms = static_cast<int>(v); }),
      real_setting("answer_seconds", 0.5, 120, "continue: the longest answer",
                   [](LiveSettings& s, double v) { s.answer_seconds = v; }),
      load_checkpoint_command(),
      status_command(),
      subscribe_command(),
      unsubscribe_command(),
      action("surprise",
             fmt::format("measures how surprising the player's last phrase is to the model (its bits per note given "
                         "what came before; scorejam run --surprise does it after every phrase) on a worker thread "
                         "that never delays the music, and sends {} <bits per note: float> <bits per dimension: "
                         "float> <notes: int> <seconds: float> <requested: int> to the subscribers when it is ready "
                         "(several seconds of a free core); fails when nothing has been played",
                         kOscSurpriseReply),
             &LiveControl::request_surprise),
  };
}

}  // namespace

const std::vector<OscCommand>& osc_commands() {
  static const std::vector<OscCommand> commands = make_commands();
  return commands;
}

const OscCommand* find_osc_command(std::string_view address) {
  const auto& commands = osc_commands();
  const auto command = std::find_if(commands.begin(), commands.end(),
                                    [&](const OscCommand& c) { return c.address == address; });
  return command == commands.end() ? nullptr : &*command;
}

OscOutcome run_osc_command(const std::string& address, const Args& args, OscTarget& target) {
  std::string error;
  const OscCommand* command = find_osc_command(address);
  if (command == nullptr) {
    error = "unknown address (scorejam run --help-osc lists them)";
  } else {
    try {
      return {command->handler(args, target), ""};
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  return {{std::string(kOscFail), {address, error}}, error};
}

OscMessage surprise_message(const SurpriseReport& report) {
  return {std::string(kOscSurpriseReply),
          {static_cast<float>(report.bits_per_note), static_cast<float>(report.bits_per_dim), report.notes,
           static_cast<float>(report.seconds), report.requested ? 1 : 0}};
}

bool is_osc_reply_address(std::string_view address) {
  return address == kOscDone || address == kOscFail || address == kOscStatusReply || address == kOscNote ||
         address == kOscSurpriseReply;
}

namespace {

// Words of `text` on lines of at most `width` characters, each line indented by `indent`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width) {
  std::string out, line;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (!line.empty() && indent + line.size() + 1 + word.size() > width) {
      out += std::string(indent, ' ') + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + "\n";
  return out;
}

}  // namespace

std::string osc_help() {
  std::string text = fmt::format(
      "scorejam OSC address space\n"
      "\n"
      "scorejam listens on UDP 127.0.0.1:9110 unless configured otherwise. Replies leave from that\n"
      "same port to the sender's address and port, or to the configured reply host and port when\n"
      "one is set (Max's udpreceive cannot see the sender).\n"
      "  success:  {} <address>\n"
      "  error:    {} <address> <message>  (a malformed packet, an unknown address, a wrong\n"
      "            argument count or type, a value out of range, an unknown name): nothing changes,\n"
      "            and the log has a warning. A packet that is not valid OSC is answered with the\n"
      "            address \"(malformed)\".\n"
      "Numbers may be sent as int32, float32, double or int64 alike; an integer setting given a\n"
      "fraction takes the nearest integer. Bundles run their messages at once, in order (time tags\n"
      "are ignored), one reply each. Messages to scorejam's own reply addresses are ignored.\n"
      "\n",
      kOscDone, kOscFail);
  for (const auto& c : osc_commands()) {
    text += "  " + (c.arguments.empty() ? c.address : c.address + " " + c.arguments) + "\n";
    text += wrap(c.doc, 6, 100);
  }
  text += fmt::format(
      "\nSent to subscribers: {} <pitch: int> <velocity: int> for each note as it is played;\n"
      "{} <bits per note: float> <bits per dimension: float> <notes: int> <seconds: float>\n"
      "<requested: int> for each surprise figure (after /scorejam/surprise, or every phrase with --surprise).\n",
      kOscNote, kOscSurpriseReply);
  return text;
}

}  // namespace scorejam
