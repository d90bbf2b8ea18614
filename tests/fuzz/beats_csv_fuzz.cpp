// libFuzzer target for the beats CSV reader (parse_beats_csv): any bytes as the CSV text. A
// BeatsError is the expected answer to a wrong header; any other exception, a crash, a problem
// without a line, or an accepted row that breaks the reader's promises (a time that is not a
// finite number >= 0 after the one before it, no beats, a time signature that is not positive) is
// a finding.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/beats.h"

namespace {

bool increasing(const std::vector<double>& times) {
  for (std::size_t i = 0; i < times.size(); ++i)
    if (!std::isfinite(times[i]) || times[i] < 0 || (i > 0 && !(times[i] > times[i - 1]))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto table = scorejam::parse_beats_csv(text, "fuzz.beats.csv");
    for (const auto& p : table.problems)
      if (p.line < 1 || p.message.empty()) {
        std::fprintf(stderr, "a problem without a line or a message: %d '%s'\n", p.line, p.message.c_str());
        std::abort();
      }
    for (const auto& [name, a] : table.by_name) {
      std::vector<double> signature_times;
      bool signatures_ok = true;
      for (const auto& s : a.time_signatures) {
        signature_times.push_back(s.time_s);
        signatures_ok = signatures_ok && s.numerator > 0 && s.denominator > 0;
      }
      if (name.empty() || a.beats_s.empty() || !increasing(a.beats_s) || !increasing(a.downbeats_s) ||
          !increasing(signature_times) || !signatures_ok) {
        std::fprintf(stderr, "accepted a bad row: '%s'\n", name.c_str());
        std::abort();
      }
    }
  } catch (const scorejam::BeatsError&) {
  }
  return 0;
}
