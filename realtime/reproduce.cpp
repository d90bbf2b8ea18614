#include "realtime/reproduce.h"

#include <torch/torch.h>

#include <deque>
#include <fstream>
#include <map>
#include <optional>

#include "core/checkpoint.h"
#include "core/live_window.h"
#include "core/torch_runtime.h"
#include "realtime/performance.h"
#include "realtime/session_trace.h"

namespace scorejam {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxLine = 4096;     // a trace line is far shorter; a longer one is not a trace
constexpr std::size_t kKeepWindows = 16;   // a commit names one of the last windows taken
constexpr std::size_t kMaxDifferences = 10;

// std::getline, but refusing a line longer than kMaxLine instead of reading it all into memory.
bool read_line(std::istream& in, std::string& line, int line_number, const fs::path& path) {
  line.clear();
  char c;
  while (in.get(c)) {
    if (c == '\n') return true;
    if (line.size() == kMaxLine)
      throw TraceError(path.string() + " line " + std::to_string(line_number) + ": longer than " +
                       std::to_string(kMaxLine) + " characters; not a session trace");
    line += c;
  }
  return !line.empty();
}

struct Model {
  ModelSpec spec;
  ScoreNet net{nullptr};
};

// A window the session took: what it knew, and with which model and settings it was sampled.
struct Taken {
  std::uint64_t build = 0;
  std::int64_t first = 0;
  WindowRequest request;
  std::shared_ptr<Model> model;
};

}  // namespace

Reproduction reproduce_session(const fs::path& trace_path, const fs::path& models) {
  std::ifstream in(trace_path, std::ios::binary);
  if (!in) throw std::runtime_error(trace_path.string() + ": cannot open the session trace");
  std::string line;
  int line_number = 1;
  if (!read_line(in, line, line_number, trace_path) || line != kTraceMagic)
    throw TraceError(trace_path.string() + ": not a scorejam session trace (its first line is not '" + kTraceMagic + "')");

  torch::InferenceMode inference;
  Reproduction out;
  std::optional<TraceEngine> engine;
  std::optional<std::int64_t> session_origin;
  std::map<int, std::shared_ptr<Model>> loaded;
  std::optional<Performance> performance;
  BeatTracker beats;  // as the engine tracks the player's beats, for beat_planes models
  Timeline timeline;
  std::deque<Taken> windows;
  auto where = [&] { return trace_path.string() + " line " + std::to_string(line_number) + ": "; };

  while (read_line(in, line, ++line_number, trace_path)) {
    TraceRecord record;
    try {
      record = parse_trace(line, line_number);
    } catch (const TraceError& e) {
      throw TraceError(trace_path.string() + ": " + e.what());
    }
    if (auto* session = std::get_if<TraceSession>(&record)) {
      session_origin = session->origin_ns;
      continue;
    }
    if (auto* e = std::get_if<TraceEngine>(&record)) {
      if (engine) throw TraceError(where() + "a second engine line");
      engine = *e;
      out.origin_ns = session_origin.value_or(e->origin_ns);
      out.threads = e->threads;
      torch::set_num_threads(e->threads);
      continue;
    }
    if (!engine) throw TraceError(where() + "a record before the engine line");
    if (auto* m = std::get_if<TraceModel>(&record)) {
      fs::path path = m->path;
      if (!fs::exists(path) && !models.empty()) path = models / fs::path(m->path).filename();
      if (!fs::exists(path))
        throw std::runtime_error(where() + "the session's model " + m->path + " is not there" +
                                 (models.empty() ? " (--models DIR looks for it by name)" : " nor in " + models.string()));
      auto checkpoint = load_checkpoint(path);
      auto model = std::make_shared<Model>(Model{checkpoint.spec, checkpoint.ema});
      // The session's device where this machine has it; a session played on a GPU is reproduced on
      // the CPU elsewhere.
      const bool cuda = engine->device == "cuda" && use_cuda("auto", "the session's device");
      if (cuda) model->net->to(torch::Device(torch::kCUDA));
      model->net->eval();
      out.device = cuda ? "cuda" : "cpu";
      if (!performance) performance.emplace(engine->origin_ns, model->spec.roll);
      loaded[m->id] = std::move(model);
      continue;
    }
    if (!performance) throw TraceError(where() + "a record before the first model line");
    if (auto* p = std::get_if<TracePlayer>(&record)) {
      performance->player_event(p->message);
      if (is_note_on(p->message))
        beats.add_onset(static_cast<double>(p->message.time_ns - performance->origin_ns()) * 1e-9, p->message.bytes[2],
                        p->message.bytes[1]);
      out.player.push_back(p->message);
    } else if (auto* cut = std::get_if<TraceCut>(&record)) {
      performance->cut_generated(cut->frame);
      timeline.offset_ns = 0;
    } else if (auto* w = std::get_if<TraceWindow>(&record)) {
      const auto model = loaded.find(w->model);
      if (model == loaded.end()) throw TraceError(where() + "model " + std::to_string(w->model) + " was never named");
      if (w->known < 1 || w->known >= model->second->spec.window_frames)
        throw TraceError(where() + "known=" + std::to_string(w->known) + " does not fit the model's window");
      WindowRequest request;
      Performance::Sources sources;
      sources.player = w->player;
      request.known = performance->window(w->first, w->known, sources);
      request.known_pedal = performance->pedal_window(w->first, w->known, sources);
      request.known_frames = w->known;
      request.sampler = w->sampler;
      request.thresholds = w->thresholds;
      if (model->second->spec.net.beat_planes && w->player)
        set_window_beats(request, beats, w->first, model->second->spec.window_frames, model->second->spec.roll.fs_hz);
      windows.push_back({w->build, w->first, std::move(request), model->second});
      if (windows.size() > kKeepWindows) windows.pop_front();
    } else if (auto* c = std::get_if<TraceCommit>(&record)) {
      const auto taken = std::find_if(windows.begin(), windows.end(), [&](const Taken& t) { return t.build == c->build; });
      if (taken == windows.end())
        throw TraceError(where() + "commits window " + std::to_string(c->build) + ", which was not taken just before");
      const auto result = generate_window(taken->model->net, taken->model->spec, taken->request);
      HopInput hop_input;
      hop_input.generated = &result.generated;
      if (taken->model->spec.roll.pedal_channel) hop_input.pedal = &result.pedal;
      hop_input.window_first = taken->first;
      hop_input.known = taken->request.known_frames;
      hop_input.first_answer = c->first_answer;
      hop_input.answering = c->answering;
      hop_input.answer_seconds = c->answer_seconds;
      hop_input.now_ns = c->now_ns;
      const HopRules rules{engine->hop_frames, engine->lead_ms, engine->max_notes_per_second};
      const auto hop = commit_hop(*performance, timeline, rules, hop_input);
      ++out.hops;
      out.notes += hop.notes.size();
      out.notes_recorded += c->notes;
      if (hop.notes.size() == c->notes && fingerprint(hop.notes) == c->fingerprint) {
        ++out.identical;
      } else if (out.differences.size() < kMaxDifferences) {
        out.differences.push_back("line " + std::to_string(line_number) + ", window " + std::to_string(c->build) +
                                  ": " + std::to_string(hop.notes.size()) + " notes against " +
                                  std::to_string(c->notes) + " recorded" +
                                  (hop.notes.size() == c->notes ? ", not alike" : ""));
      }
      out.planned.insert(out.planned.end(), hop.notes.begin(), hop.notes.end());
    }
  }
  return out;
}

}  // namespace scorejam
