#include "core/audio_render.h"

#include <fluidsynth.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <memory>

namespace scorejam {
namespace fs = std::filesystem;

std::optional<fs::path> find_soundfont() {
  for (const char* name : {"FluidR3_GM.sf2", "TimGM6mb.sf2", "default-GM.sf2"}) {
    const fs::path path = fs::path("/usr/share/sounds/sf2") / name;
    std::error_code ec;
    if (fs::exists(path, ec)) return path;
  }
  return std::nullopt;
}

namespace {

void quiet(int, const char*, void*) {}

struct Event {
  double time_s;
  bool on;
  int pitch, velocity;
};

void put_u32(std::ostream& out, std::uint32_t v) {
  const char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
  out.write(b, 4);
}
void put_u16(std::ostream& out, std::uint16_t v) {
  const char b[2] = {static_cast<char>(v), static_cast<char>(v >> 8)};
  out.write(b, 2);
}

}  // namespace

void render_wav(const std::vector<Note>& notes, const fs::path& wav_path, const fs::path& soundfont, int sample_rate,
                double tail_s, double max_seconds) {
  double end_s = 0;
  for (const auto& n : notes) end_s = std::max(end_s, n.end_s);
  if (!(end_s <= max_seconds))
    throw AudioRenderError(wav_path.string() + ": the notes last " + std::to_string(end_s) + " s, more than the " +
                           std::to_string(max_seconds) + " s allowed");
  std::vector<Event> events;
  for (const auto& n : notes) {
    events.push_back({std::max(0.0, n.start_s), true, std::clamp(n.pitch, 0, 127), std::clamp(n.velocity, 1, 127)});
    events.push_back({std::max(0.0, n.end_s), false, std::clamp(n.pitch, 0, 127), 0});
  }
  // Note-offs first at one time, so a repeated key sounds again.
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time_s < b.time_s || (a.time_s == b.time_s && !a.on && b.on); });

  for (int level : {FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG}) fluid_set_log_function(level, quiet, nullptr);
  std::unique_ptr<fluid_settings_t, decltype(&delete_fluid_settings)> settings(new_fluid_settings(), delete_fluid_settings);
  fluid_settings_setnum(settings.get(), "synth.sample-rate", sample_rate);
  fluid_settings_setint(settings.get(), "synth.threadsafe-api", 0);
  std::unique_ptr<fluid_synth_t, decltype(&delete_fluid_synth)> synth(new_fluid_synth(settings.get()), delete_fluid_synth);
  if (!synth) throw AudioRenderError("FluidSynth: could not create a synthesizer");
  if (fluid_synth_sfload(synth.get(), soundfont.c_str(), 1) == FLUID_FAILED)
    throw AudioRenderError(soundfont.string() + ": FluidSynth could not load this soundfont");
  fluid_synth_program_change(synth.get(), 0, 0);

  std::ofstream out(wav_path, std::ios::binary | std::ios::trunc);
  if (!out) throw AudioRenderError(wav_path.string() + ": cannot write");
  const auto total_frames = static_cast<std::uint64_t>(std::ceil((end_s + tail_s) * sample_rate));
  const auto data_bytes = static_cast<std::uint32_t>(total_frames * 4);
  out.write("RIFF", 4);
  put_u32(out, 36 + data_bytes);
  out.write("WAVEfmt ", 8);
  put_u32(out, 16);
  put_u16(out, 1);  // PCM
  put_u16(out, 2);
  put_u32(out, static_cast<std::uint32_t>(sample_rate));
  put_u32(out, static_cast<std::uint32_t>(sample_rate) * 4);
  put_u16(out, 4);
  put_u16(out, 16);
  out.write("data", 4);
  put_u32(out, data_bytes);

  std::vector<std::int16_t> block(2 * 1024);
  std::uint64_t written = 0;
  auto render_until = [&](std::uint64_t frame) {
    while (written < frame) {
      const auto n = static_cast<int>(std::min<std::uint64_t>(1024, frame - written));
      fluid_synth_write_s16(synth.get(), n, block.data(), 0, 2, block.data(), 1, 2);
      out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n) * 4);
      written += static_cast<std::uint64_t>(n);
    }
  };
  for (const auto& e : events) {
    render_until(std::min(total_frames, static_cast<std::uint64_t>(std::llround(e.time_s * sample_rate))));
    if (e.on) fluid_synth_noteon(synth.get(), 0, e.pitch, e.velocity);
    else fluid_synth_noteoff(synth.get(), 0, e.pitch);
  }
  render_until(total_frames);
  out.flush();
  if (!out) throw AudioRenderError(wav_path.string() + ": write failed");
}

}  // namespace scorejam
