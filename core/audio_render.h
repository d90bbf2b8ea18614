// Listening to notes: renders them to a WAV file through FluidSynth (libfluidsynth) with a General
// MIDI soundfont, on the acoustic grand piano. Offline and faster than real time; no threads of
// its own, no audio device.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <vector>

#include "core/notes.h"

namespace scorejam {

class AudioRenderError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The first General MIDI soundfont Debian installs: FluidR3_GM.sf2 (fluid-soundfont-gm),
// TimGM6mb.sf2 (timgm6mb-soundfont), else default-GM.sf2, in /usr/share/sounds/sf2.
std::optional<std::filesystem::path> find_soundfont();

// Writes a 16-bit stereo WAV of the notes (channel ignored: all on the piano) at `sample_rate`, with
// `tail_s` after the last note for the release. Throws AudioRenderError naming the soundfont or the
// WAV path when either fails, or when the notes last longer than `max_seconds`.
void render_wav(const std::vector<Note>& notes, const std::filesystem::path& wav_path,
                const std::filesystem::path& soundfont, int sample_rate = 44100, double tail_s = 1.5,
                double max_seconds = 3600);

}  // namespace scorejam
