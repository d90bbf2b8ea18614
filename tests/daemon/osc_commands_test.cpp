// The OSC command table and its help text, without sockets.
#include "daemon/osc_commands.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace scorejam {
namespace {

TEST(OscCommands, AddressesAreUniqueAndUnderScorejam) {
  std::set<std::string> seen;
  for (const auto& command : osc_commands()) {
    EXPECT_EQ(command.address.rfind("/scorejam/", 0), 0u) << command.address;
    EXPECT_TRUE(seen.insert(command.address).second) << command.address << " appears twice";
    EXPECT_FALSE(command.doc.empty()) << command.address;
  }
}

TEST(OscHelp, ListsEveryAddressWithItsArguments) {
  const std::string help = osc_help();
  for (const auto& command : osc_commands()) {
    const std::string usage = command.arguments.empty() ? command.address : command.address + " " + command.arguments;
    EXPECT_NE(help.find(usage), std::string::npos) << usage;
  }
}

TEST(OscHelp, ShowsTheRangeThatIsChecked) {
  EXPECT_NE(osc_help().find("/scorejam/steps <steps: int 1..1000>"), std::string::npos);
  EXPECT_NE(osc_help().find("/scorejam/answer_seconds <answer_seconds: 0.5..120>"), std::string::npos);
}

TEST(OscHelp, StatesTheReplyConventions) {
  const std::string help = osc_help();
  EXPECT_NE(help.find("/scorejam/done <address>"), std::string::npos);
  EXPECT_NE(help.find("/scorejam/fail <address> <message>"), std::string::npos);
  EXPECT_NE(help.find("/scorejam/note <pitch: int> <velocity: int>"), std::string::npos);
}

TEST(OscCommands, RepliesOfScorejamAreRecognisedAsSuch) {
  EXPECT_TRUE(is_osc_reply_address("/scorejam/done"));
  EXPECT_TRUE(is_osc_reply_address("/scorejam/status.reply"));
  EXPECT_FALSE(is_osc_reply_address("/scorejam/status"));
}

}  // namespace
}  // namespace scorejam

namespace scorejam {
namespace {

// docs/osc.md shows the address space as `scorejam run --help-osc` prints it: the two cannot drift.
TEST(OscHelp, DocsShowTheHelpTextVerbatim) {
  std::ifstream in(std::string(SCOREJAM_SOURCE_DIR) + "/docs/osc.md");
  ASSERT_TRUE(in) << "docs/osc.md not found in the source tree";
  std::ostringstream doc;
  doc << in.rdbuf();
  EXPECT_NE(doc.str().find(osc_help()), std::string::npos)
      << "docs/osc.md's address space differs from osc_help(): paste `scorejam run --help-osc` into it";
}

}  // namespace
}  // namespace scorejam
