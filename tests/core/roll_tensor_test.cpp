#include "core/roll_tensor.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace scorejam {
namespace {

RollFormat pedal_and_offsets() {
  RollFormat format;
  format.sustain_pedal = false;
  format.pedal_channel = true;
  format.onset_offsets = true;
  return format;
}

TEST(RollTensor, FiveChannelsCarryNotesOffsetsAndPedalThroughTheTensor) {
  const auto format = pedal_and_offsets();
  const std::vector<Note> notes = {{0.03, 0.5, 60, 80, 0}, {0.47, 1.0, 64, 40, 0}, {1.2, 1.9, 21, 127, 0}};
  const std::vector<ControlChange> pedal = {{0.2, 0, 64, 127}, {1.1, 0, 64, 0}};
  const auto roll = notes_to_roll(notes, pedal, format);
  const auto x = roll_to_tensor(roll, format, 5);
  ASSERT_EQ(x.size(0), 5);
  // Silence is -1 in the note and pedal channels and 0 (no offset) in the offset channel.
  EXPECT_EQ(x[0][87][0].item<float>(), -1.0f);
  EXPECT_EQ(x[4][87][0].item<float>(), 0.0f);
  const auto back = tensor_to_roll(x, format);
  const auto decoded = roll_to_notes(back);
  ASSERT_EQ(decoded.size(), notes.size());
  for (std::size_t i = 0; i < notes.size(); ++i) {
    EXPECT_EQ(decoded[i].pitch, notes[i].pitch);
    EXPECT_NEAR(decoded[i].start_s, notes[i].start_s, 1e-6);
  }
  EXPECT_EQ(decode_pedal(back), quantize_pedal(pedal, 1.9, 16));
}

TEST(RollTensor, FourChannelsOfOffsetsOnlyHoldNoPedal) {
  auto format = pedal_and_offsets();
  format.pedal_channel = false;
  const auto roll = notes_to_roll({{0.03, 0.5, 60, 80, 0}}, {{0.0, 0, 64, 127}}, format);
  const auto x = roll_to_tensor(roll, format, 4);
  const auto back = tensor_to_roll(x, format);
  EXPECT_TRUE(decode_pedal(back).empty());
  EXPECT_NEAR(roll_to_notes(back).at(0).start_s, 0.03, 1e-6);
}

TEST(RollTensor, ThreeChannelTensorDecodesOnTheGridWithoutPedal) {
  const auto roll = notes_to_roll({{0.03, 0.5, 60, 80, 0}}, {{0.0, 0, 64, 127}}, pedal_and_offsets());
  const auto back = tensor_to_roll(roll_to_tensor(roll, 3), 16);
  EXPECT_TRUE(decode_pedal(back).empty());
  EXPECT_EQ(roll_to_notes(back).at(0).start_s, 0.0);
}

TEST(RollTensor, ChannelsThatDoNotFitTheFormatAreRefused) {
  const auto format = pedal_and_offsets();
  PianoRoll roll(4, 16);
  EXPECT_THROW(roll_to_tensor(roll, format, 3), std::invalid_argument);
  EXPECT_THROW(tensor_to_roll(torch::zeros({4, kKeys, 4}), format), std::invalid_argument);
  EXPECT_THROW(tensor_to_roll(torch::zeros({5, kKeys, 4}), 16), std::invalid_argument);
}

}  // namespace
}  // namespace scorejam
