// Beat annotations: where the pianist's beats and downbeats fall in each performance, as the
// shared data's maestro-asap-subset.beats.csv gives them (ASAP's hand annotations, on each MIDI
// file's own clock). Bad rows are reported with their line and skipped, never fatal. No threads.
#pragma once

#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace scorejam {

class BeatsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TimeSignature {
  double time_s = 0;
  int numerator = 4;
  int denominator = 4;
  bool operator==(const TimeSignature&) const = default;
};

struct BeatAnnotation {
  std::vector<double> beats_s;      // every beat, downbeats included; strictly increasing, >= 0
  std::vector<double> downbeats_s;  // the downbeats alone; strictly increasing, >= 0
  std::vector<TimeSignature> time_signatures;
  bool operator==(const BeatAnnotation&) const = default;
};

struct BeatsProblem {
  int line = 0;         // 1-based line of the CSV text
  std::string message;  // what was wrong, naming the column
};

struct BeatsTable {
  std::map<std::string, BeatAnnotation> by_name;  // key: the zip's midi_filename, e.g. 2006/MIDI-...midi
  std::vector<BeatsProblem> problems;             // rows skipped, in order
};

// Parses the CSV text (header `name,beats_s,downbeats_s,time_signatures`). A row with a missing
// field, an empty name, a time that is not a number, negative, or not after the one before it is
// reported with its line and skipped; the rest are read. `source` names the text in problems.
// Throws BeatsError only when the header is not the expected one.
BeatsTable parse_beats_csv(const std::string& text, const std::string& source);

// Reads a file; throws BeatsError naming the path when it cannot be read or is larger than 256 MiB.
BeatsTable read_beats_csv(const std::filesystem::path& path);

// Where a MAESTRO source's beats CSV lies when it ships one: beside it, named after it
// (maestro-asap-subset.zip -> maestro-asap-subset.beats.csv; a folder -> <folder>.beats.csv).
std::filesystem::path beats_path_beside(const std::filesystem::path& maestro_source);

}  // namespace scorejam
