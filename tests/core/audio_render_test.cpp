#include "core/audio_render.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#include "tests/core/test_support.h"

namespace scorejam {
namespace {

std::vector<std::int16_t> samples_of(const testing::Bytes& wav) {
  std::vector<std::int16_t> s((wav.size() - 44) / 2);
  std::memcpy(s.data(), wav.data() + 44, s.size() * 2);
  return s;
}

double rms(const std::vector<std::int16_t>& s, std::size_t from, std::size_t to) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i) sum += static_cast<double>(s[i]) * s[i];
  return std::sqrt(sum / static_cast<double>(to - from));
}

TEST(AudioRender, PlaysTheNotesWhereTheyAreAndIsSilentBefore) {
  const auto soundfont = find_soundfont();
  if (!soundfont) GTEST_SKIP() << "no General MIDI soundfont in /usr/share/sounds/sf2 (.ci/bootstrap installs timgm6mb-soundfont)";
  const auto wav = testing::scratch_dir("audio_render") / "two.wav";
  render_wav({{0.5, 1.0, 60, 100, 0}, {1.0, 1.5, 67, 100, 0}}, wav, *soundfont, 8000, 0.5);
  const auto bytes = testing::read_file(wav);
  ASSERT_EQ(bytes.size(), 44u + 16000u * 4);  // (1.5 s + 0.5 s tail) x 8000 frames x 2 channels x 2 bytes
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "RIFF");
  EXPECT_EQ(std::string(bytes.begin() + 8, bytes.begin() + 16), "WAVEfmt ");
  const auto s = samples_of(bytes);
  EXPECT_LT(rms(s, 0, 2 * 3900), 2.0) << "silence (FluidSynth dithers by a bit) before the first note";
  EXPECT_GT(rms(s, 2 * 4200, 2 * 7900), 100.0) << "the piano sounds while the note is held";
}

TEST(AudioRender, ABadSoundfontOrTooLongANoteIsAnErrorNamingIt) {
  const auto dir = testing::scratch_dir("audio_render_bad");
  testing::write_text(dir / "not.sf2", "not a soundfont");
  try {
    render_wav({{0, 1, 60, 100, 0}}, dir / "x.wav", dir / "not.sf2");
    FAIL() << "a text file is no soundfont";
  } catch (const AudioRenderError& e) {
    EXPECT_NE(std::string(e.what()).find("not.sf2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(render_wav({{0, 1e9, 60, 100, 0}}, dir / "y.wav", dir / "not.sf2"), AudioRenderError);
}

}  // namespace
}  // namespace scorejam
