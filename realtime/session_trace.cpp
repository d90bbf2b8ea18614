#include "realtime/session_trace.h"

#include <charconv>
#include <cstdio>
#include <map>
#include <sstream>
#include <vector>

namespace scorejam {

namespace {

// Doubles with 17 significant digits and floats with 9 read back bit for bit.
std::string num(double v) {
  char s[40];
  std::snprintf(s, sizeof s, "%.17g", v);
  return s;
}

std::string num(float v) {
  char s[32];
  std::snprintf(s, sizeof s, "%.9g", static_cast<double>(v));
  return s;
}

template <class T>
std::string num(T v) requires std::is_integral_v<T> {
  return std::to_string(v);
}

std::string sampler_fields(const SamplerConfig& s) {
  return "sampler=" + to_string(s.kind) + " steps=" + num(s.steps) + " snr=" + num(s.snr) +
         " corrector_steps=" + num(s.corrector_steps) + " atol=" + num(s.atol) + " rtol=" + num(s.rtol) +
         " eps=" + num(s.eps) + " temperature=" + num(s.temperature) + " guidance=" + num(s.guidance) +
         " guidance_t_min=" + num(s.guidance_t_min) +
         " seed=" + num(s.seed);
}

// The fields of one line: the tag, its positional words, and key=value pairs.
class Fields {
 public:
  Fields(const std::string& line, int line_number) : line_number_(line_number) {
    std::istringstream in(line);
    std::string word;
    while (in >> word) {
      const auto eq = word.find('=');
      if (eq == std::string::npos) {
        words_.push_back(word);
      } else if (!pairs_.emplace(word.substr(0, eq), word.substr(eq + 1)).second) {
        fail("'" + word.substr(0, eq) + "' given twice");
      }
    }
    if (words_.empty()) fail("empty line");
  }

  const std::string& tag() const { return words_.front(); }
  std::size_t words() const { return words_.size() - 1; }

  template <class T>
  T word(std::size_t i, const char* what) const {
    if (i + 1 >= words_.size()) fail(std::string("missing ") + what);
    return parse<T>(words_[i + 1], what);
  }

  template <class T>
  T get(const std::string& key) const {
    const auto it = pairs_.find(key);
    if (it == pairs_.end()) fail("missing " + key + "=");
    return parse<T>(it->second, key.c_str());
  }

  template <class T>
  T get_or(const std::string& key, T otherwise) const {
    return pairs_.count(key) ? get<T>(key) : otherwise;
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw TraceError("session trace line " + std::to_string(line_number_) + ": " + why);
  }

 private:
  template <class T>
  T parse(const std::string& text, const char* what) const {
    if constexpr (std::is_same_v<T, std::string>) {
      return text;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (text == "1") return true;
      if (text == "0") return false;
      fail(std::string(what) + " must be 0 or 1, not '" + text + "'");
    } else {
      T value{};
      const auto* end = text.data() + text.size();
      const auto [ptr, ec] = std::from_chars(text.data(), end, value);
      if (ec != std::errc() || ptr != end) fail(std::string(what) + ": '" + text + "' is not a number of the right kind");
      return value;
    }
  }

  int line_number_;
  std::vector<std::string> words_;
  std::map<std::string, std::string> pairs_;
};

// Frames and steady-clock times far beyond any session (2,000 years of frames, 146 years of ns)
// are refused, so that the arithmetic on them cannot overflow.
constexpr std::int64_t kMaxFrame = 1'000'000'000'000;
constexpr std::int64_t kMaxTimeNs = std::int64_t{1} << 62;

std::int64_t frame_in_range(const Fields& f, std::int64_t frame, const char* what) {
  if (frame < -kMaxFrame || frame > kMaxFrame) f.fail(std::string(what) + " " + std::to_string(frame) + " is out of range");
  return frame;
}

std::int64_t time_in_range(const Fields& f, std::int64_t time_ns, const char* what) {
  if (time_ns < 0 || time_ns > kMaxTimeNs) f.fail(std::string(what) + " " + std::to_string(time_ns) + " is out of range");
  return time_ns;
}

SamplerConfig read_sampler(const Fields& f) {
  SamplerConfig s;
  try {
    s.kind = sampler_kind_from_string(f.get<std::string>("sampler"));
  } catch (const std::invalid_argument& e) {
    f.fail(e.what());
  }
  s.steps = f.get<int>("steps");
  s.snr = f.get<double>("snr");
  s.corrector_steps = f.get<int>("corrector_steps");
  s.atol = f.get<double>("atol");
  s.rtol = f.get<double>("rtol");
  s.eps = f.get<double>("eps");
  s.temperature = f.get<double>("temperature");
  s.guidance = f.get<double>("guidance");
  s.guidance_t_min = f.get_or<double>("guidance_t_min", 0.0);  // traces before it was a setting: 0
  s.seed = f.get<std::uint64_t>("seed");
  // The sampler allocates per step: a trace may not ask for an absurd run.
  if (s.steps < 1 || s.steps > 100'000 || s.corrector_steps < 0 || s.corrector_steps > 100)
    f.fail("steps or corrector_steps out of range");
  return s;
}

}  // namespace

std::string format_trace(const TraceRecord& record) {
  struct Format {
    std::string operator()(const TraceSession& s) const { return "session origin_ns=" + num(s.origin_ns); }
    std::string operator()(const TraceEngine& e) const {
      return "engine origin_ns=" + num(e.origin_ns) + " context_frames=" + num(e.context_frames) +
             " hop_frames=" + num(e.hop_frames) + " lead_ms=" + num(e.lead_ms) +
             " max_notes_per_second=" + num(e.max_notes_per_second) + " threads=" + num(e.threads) +
             " device=" + e.device;
    }
    std::string operator()(const TraceModel& m) const { return "model " + num(m.id) + " " + m.path; }
    std::string operator()(const TracePlayer& p) const {
      char out[64];
      int n = std::snprintf(out, sizeof out, "p %lld", static_cast<long long>(p.message.time_ns));
      for (int i = 0; i < p.message.size && i < 3; ++i)
        n += std::snprintf(out + n, sizeof out - static_cast<std::size_t>(n), " %d", p.message.bytes[i]);
      return out;
    }
    std::string operator()(const TraceCut& c) const { return "cut " + num(c.frame); }
    std::string operator()(const TraceWindow& w) const {
      return "w " + num(w.build) + " first=" + num(w.first) + " known=" + num(w.known) +
             " player=" + num(static_cast<int>(w.player)) + " model=" + num(w.model) + " " + sampler_fields(w.sampler) +
             " onset=" + num(w.thresholds.onset) + " frame=" + num(w.thresholds.frame);
    }
    std::string operator()(const TraceCommit& c) const {
      char print[20];
      std::snprintf(print, sizeof print, "%016llx", static_cast<unsigned long long>(c.fingerprint));
      return "c " + num(c.build) + " first_answer=" + num(static_cast<int>(c.first_answer)) +
             " answering=" + num(static_cast<int>(c.answering)) + " now=" + num(c.now_ns) +
             " answer_seconds=" + num(c.answer_seconds) + " notes=" + num(c.notes) + " fingerprint=" + print;
    }
  };
  return std::visit(Format{}, record);
}

TraceRecord parse_trace(const std::string& line, int line_number) {
  const Fields f(line, line_number);
  const auto& tag = f.tag();
  if (tag == "session") return TraceSession{time_in_range(f, f.get<std::int64_t>("origin_ns"), "origin_ns")};
  if (tag == "engine") {
    TraceEngine e;
    e.origin_ns = time_in_range(f, f.get<std::int64_t>("origin_ns"), "origin_ns");
    e.context_frames = f.get<int>("context_frames");
    e.hop_frames = f.get<int>("hop_frames");
    e.lead_ms = f.get<int>("lead_ms");
    e.max_notes_per_second = f.get<double>("max_notes_per_second");
    e.threads = f.get<int>("threads");
    e.device = f.get<std::string>("device");
    if (e.context_frames < 1 || e.context_frames > 100'000 || e.hop_frames < 1 || e.hop_frames > 100'000 ||
        e.threads < 1 || e.threads > 1024 || !(e.max_notes_per_second > 0))
      f.fail("an engine setting is out of range");
    return e;
  }
  if (tag == "model") {
    TraceModel m;
    m.id = f.word<int>(0, "model number");
    // The path is the rest of the line: it may hold spaces.
    std::istringstream in(line);
    std::string tag_word, id_word;
    in >> tag_word >> id_word;
    std::getline(in >> std::ws, m.path);
    if (m.path.empty()) f.fail("missing the model's path");
    return m;
  }
  if (tag == "p") {
    TracePlayer p;
    p.message.time_ns = time_in_range(f, f.word<std::int64_t>(0, "time"), "time");
    if (f.words() < 2 || f.words() > 4) f.fail("a player's message has 1 to 3 bytes");
    for (std::size_t i = 1; i < f.words(); ++i) {
      const int byte = f.word<int>(i, "byte");
      if (byte < 0 || byte > 255) f.fail("a MIDI byte is 0..255, not " + std::to_string(byte));
      p.message.bytes[i - 1] = static_cast<std::uint8_t>(byte);
    }
    p.message.size = static_cast<std::uint8_t>(f.words() - 1);
    return p;
  }
  if (tag == "cut") return TraceCut{frame_in_range(f, f.word<std::int64_t>(0, "frame"), "frame")};
  if (tag == "w") {
    TraceWindow w;
    w.build = f.word<std::uint64_t>(0, "window number");
    w.first = frame_in_range(f, f.get<std::int64_t>("first"), "first");
    w.known = f.get<int>("known");
    w.player = f.get<bool>("player");
    w.model = f.get<int>("model");
    w.sampler = read_sampler(f);
    w.thresholds.onset = f.get<float>("onset");
    w.thresholds.frame = f.get<float>("frame");
    if (w.known < 0 || w.known > 100'000) f.fail("known=" + std::to_string(w.known) + " is out of range");
    return w;
  }
  if (tag == "c") {
    TraceCommit c;
    c.build = f.word<std::uint64_t>(0, "window number");
    c.first_answer = f.get<bool>("first_answer");
    c.answering = f.get<bool>("answering");
    c.now_ns = time_in_range(f, f.get<std::int64_t>("now"), "now");
    c.answer_seconds = f.get<double>("answer_seconds");
    c.notes = f.get<std::size_t>("notes");
    const auto print = f.get<std::string>("fingerprint");
    const auto [ptr, ec] = std::from_chars(print.data(), print.data() + print.size(), c.fingerprint, 16);
    if (ec != std::errc() || ptr != print.data() + print.size()) f.fail("fingerprint '" + print + "' is not hexadecimal");
    if (!(c.answer_seconds >= 0 && c.answer_seconds <= 86'400)) f.fail("answer_seconds is out of range");
    return c;
  }
  f.fail("unknown record '" + tag + "'");
}

}  // namespace scorejam
