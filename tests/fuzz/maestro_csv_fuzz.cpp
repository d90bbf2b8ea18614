// libFuzzer target for the MAESTRO CSV reader (parse_maestro_csv): any bytes as the CSV text. A
// MaestroError is the expected answer to bad input; any other exception, a crash, or an accepted
// entry that breaks the reader's promises (a path that could leave the set, a duration that is
// not a finite number of seconds) is a finding.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/maestro.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& e : scorejam::parse_maestro_csv(text, "fuzz.csv")) {
      const bool inside = !e.midi_filename.empty() && e.midi_filename.front() != '/' &&
                          e.midi_filename.find("..") == std::string::npos;
      if (!inside || !std::isfinite(e.duration_s) || e.duration_s < 0) {
        std::fprintf(stderr, "accepted a bad entry: '%s', %g s\n", e.midi_filename.c_str(), e.duration_s);
        std::abort();
      }
    }
  } catch (const scorejam::MaestroError&) {
  }
  return 0;
}
