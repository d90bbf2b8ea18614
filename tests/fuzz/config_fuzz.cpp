// libFuzzer target for the config file reader (parse_config): any bytes as the TOML text. A
// ConfigError naming the source is the expected answer to bad input; any other exception, a crash,
// or an accepted config that does not survive its own printing is a finding: what --print-config
// (to_toml) writes must read back to the same config, so that a printed config can be saved and
// loaded as it is.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon/config.h"

namespace {

[[noreturn]] void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  scorejam::Config config;
  try {
    config = scorejam::parse_config(text, "fuzz.toml");
  } catch (const scorejam::ConfigError& e) {
    if (std::string(e.what()).find("fuzz.toml") == std::string::npos) finding("an error that names no file:", e.what());
    return 0;
  }
  const std::string printed = scorejam::to_toml(config);
  try {
    const std::string again = scorejam::to_toml(scorejam::parse_config(printed, "printed.toml"));
    if (again != printed) finding("the printed config reads back differently:", printed + "\n----\n" + again);
  } catch (const scorejam::ConfigError& e) {
    finding("the printed config is refused:", std::string(e.what()) + "\n----\n" + printed);
  }
  return 0;
}
