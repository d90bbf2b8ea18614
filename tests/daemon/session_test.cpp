#include "daemon/session.h"

#include <gtest/gtest.h>

#include "core/midi_file.h"
#include "tests/core/test_support.h"

namespace scorejam {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kOrigin = 5'000'000'000;
std::int64_t at(double s) { return kOrigin + static_cast<std::int64_t>(s * 1e9); }

TEST(SessionTrack, PairsRepeatedNotesFirstInFirstOut) {
  const auto track = messages_to_track({note_on(at(0.0), 0, 60, 90), note_on(at(0.5), 0, 60, 70),
                                        note_off(at(1.0), 0, 60), note_off(at(2.0), 0, 60)},
                                       kOrigin, "player");
  ASSERT_EQ(track.notes.size(), 2u);
  EXPECT_EQ(track.notes[0], (Note{0.0, 1.0, 60, 90, 0}));
  EXPECT_EQ(track.notes[1], (Note{0.5, 2.0, 60, 70, 0}));
}

TEST(SessionTrack, NoteWithoutItsOffEndsAtTheLastMessageAndPedalIsKept) {
  const auto track = messages_to_track(
      {note_on(at(1.0), 2, 64, 80), control_change(at(1.5), 2, 64, 127), control_change(at(3.0), 2, 64, 0)}, kOrigin,
      "scorejam");
  ASSERT_EQ(track.notes.size(), 1u);
  EXPECT_DOUBLE_EQ(track.notes[0].end_s, 3.0);
  EXPECT_EQ(track.notes[0].channel, 2);
  ASSERT_EQ(track.controls.size(), 2u);
  EXPECT_EQ(track.controls[0].controller, 64);
}

TEST(SessionRecorder, WritesBothTracksAndTheLog) {
  const auto dir = testing::scratch_dir("SessionRecorderWrites") / "session";
  SessionRecorder recorder(dir, kOrigin);
  recorder.player(note_on(at(0.1), 0, 60, 90));
  recorder.player(note_off(at(0.4), 0, 60));
  recorder.played(note_on(at(1.0), 0, 67, 70));
  recorder.played(note_off(at(1.5), 0, 67));
  recorder.log("set steps 100 -> 20");
  recorder.flush();
  const auto midi = read_midi_file(dir / "session.mid");
  EXPECT_EQ(midi.track_count, 3);  // tempo, player, scorejam
  ASSERT_EQ(midi.notes.size(), 2u);
  EXPECT_EQ(midi.notes[0].pitch, 60);
  EXPECT_NEAR(midi.notes[1].start_s, 1.0, 1e-3);
  const auto log = testing::read_file(dir / "session.log");
  EXPECT_NE(std::string(log.begin(), log.end()).find("set steps 100 -> 20"), std::string::npos);
}

TEST(SessionRecorder, FolderThatCannotBeMadeIsAnErrorNamingIt) {
  const auto file = testing::scratch_dir("SessionRecorderBadFolder") / "a-file";
  testing::write_text(file, "x");
  try {
    SessionRecorder recorder(file / "session", kOrigin);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("a-file"), std::string::npos) << e.what();
  }
}


// The take is spooled to disk as it is played: every autosave writes everything so far, and the
// spools leave with the recorder.
TEST(SessionRecorder, EveryFlushHoldsTheWholeTakeAndTheSpoolsLeaveWithTheRecorder) {
  const auto dir = testing::scratch_dir("SessionRecorderSpools") / "session";
  {
    SessionRecorder recorder(dir, kOrigin);
    for (int i = 0; i < 3; ++i) {
      recorder.played(note_on(at(i), 0, 60 + i, 70));
      recorder.played(note_off(at(i + 0.5), 0, 60 + i));
      recorder.flush();
      EXPECT_EQ(read_midi_file(dir / "session.mid").notes.size(), static_cast<std::size_t>(i + 1));
    }
    recorder.player(note_on(at(-1.0), 0, 40, 50));  // before the session began: at its start
    recorder.flush();
    const auto midi = read_midi_file(dir / "session.mid");
    ASSERT_EQ(midi.notes.size(), 4u);
    EXPECT_EQ(midi.notes[0], (Note{0.0, 2.5, 40, 50, 0})) << "still sounding: it ends with the file";
    EXPECT_EQ(midi.notes[3], (Note{2.0, 2.5, 62, 70, 0}));
    EXPECT_TRUE(fs::exists(dir / ".session.player.spool"));
  }
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_NE(entry.path().extension(), ".spool") << entry.path();
  EXPECT_TRUE(fs::exists(dir / "session.mid"));
}

}  // namespace
}  // namespace scorejam
