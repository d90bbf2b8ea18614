// A MIDI file played in as if from a keyboard: `scorejam run --replay` and the soak bench feed these
// messages through the same queue a MIDI port's callback feeds. Torch-free; not real-time code.
#pragma once

#include <vector>

#include "core/midi_file.h"
#include "realtime/timed_midi.h"

namespace scorejam {

// The file's notes and sustain pedal from start_s on (for `seconds`; 0 = to its end) as the
// messages a keyboard would have sent, on the steady clock from origin_ns, in time order; at one
// time a note-off goes before a note-on. Notes still held at the end are released there, and the
// pedal is lifted.
std::vector<TimedMidi> replay_messages(const MidiFile& file, double start_s, double seconds, std::int64_t origin_ns);

}  // namespace scorejam
