// Data-parallel training over c10d's Gloo, with real processes over loopback TCP: two ranks end
// with identical weights, equal to one process trained on the combined batch; a rank that dies or
// a group that never forms ends every rank with a clear error, in bounded time.
#include "train/distributed.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "tests/core/test_support.h"

extern char** environ;

namespace scorejam {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A worker process (distributed_worker.cpp), its stderr in `log`.
class Worker {
 public:
  Worker(const std::vector<std::string>& args, const fs::path& log) : log_(log) {
    std::vector<std::string> all{SCOREJAM_DISTRIBUTED_WORKER};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~Worker() {
    if (pid_ > 0 && !done_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // The exit code (128 + signal for a killed one), or -1 when it has not ended within `timeout`.
  int wait(std::chrono::seconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        done_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  std::string log() const { return slurp(log_); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool done_ = false;
};

std::vector<float> weights(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<float> out;
  float value = 0;
  while (in.read(reinterpret_cast<char*>(&value), sizeof value)) out.push_back(value);
  return out;
}

std::vector<std::string> rank_args(int rank, int world, int port, int batch, const fs::path& out) {
  return {"--rank", std::to_string(rank), "--world", std::to_string(world), "--port", std::to_string(port),
          "--steps", "20", "--batch", std::to_string(batch), "--timeout-ms", "20000", "--out", out.string()};
}

TEST(DataParallel, TwoRanksEndIdenticalAndEqualToOneProcessOnTheCombinedBatch) {
  const auto dir = testing::scratch_dir("DataParallel.TwoRanks");
  const int port = free_loopback_port();
  Worker rank0(rank_args(0, 2, port, 4, dir / "rank0.bin"), dir / "rank0.log");
  Worker rank1(rank_args(1, 2, port, 4, dir / "rank1.bin"), dir / "rank1.log");
  ASSERT_EQ(rank0.wait(std::chrono::seconds(60)), 0) << rank0.log();
  ASSERT_EQ(rank1.wait(std::chrono::seconds(60)), 0) << rank1.log();
  Worker single(rank_args(0, 1, free_loopback_port(), 8, dir / "single.bin"), dir / "single.log");
  ASSERT_EQ(single.wait(std::chrono::seconds(60)), 0) << single.log();

  const auto w0 = weights(dir / "rank0.bin"), w1 = weights(dir / "rank1.bin"), w = weights(dir / "single.bin");
  ASSERT_EQ(w0.size(), 16u * 32 + 32 + 32 + 1);
  EXPECT_EQ(w0, w1) << "the ranks' weights differ after 20 steps";
  ASSERT_EQ(w.size(), w0.size());
  double worst = 0;
  for (std::size_t i = 0; i < w.size(); ++i) worst = std::max(worst, static_cast<double>(std::abs(w[i] - w0[i])));
  EXPECT_LT(worst, 1e-4) << "two ranks of 4 differ from one process of 8";
  // And the test can tell: one process on half the data ends elsewhere.
  Worker half(rank_args(0, 1, free_loopback_port(), 4, dir / "half.bin"), dir / "half.log");
  ASSERT_EQ(half.wait(std::chrono::seconds(60)), 0) << half.log();
  const auto h = weights(dir / "half.bin");
  double apart = 0;
  for (std::size_t i = 0; i < h.size(); ++i) apart = std::max(apart, static_cast<double>(std::abs(h[i] - w0[i])));
  EXPECT_GT(apart, 1e-3);
}

TEST(DataParallel, ARankThatDiesEndsTheOthersWithAClearError) {
  const auto dir = testing::scratch_dir("DataParallel.ARankDies");
  const int port = free_loopback_port();
  auto args1 = rank_args(1, 2, port, 4, dir / "rank1.bin");
  args1.insert(args1.end(), {"--die-after", "5"});
  Worker rank0(rank_args(0, 2, port, 4, dir / "rank0.bin"), dir / "rank0.log");
  Worker rank1(args1, dir / "rank1.log");
  EXPECT_EQ(rank1.wait(std::chrono::seconds(60)), 128 + SIGKILL) << rank1.log();
  const auto died = Clock::now();
  EXPECT_EQ(rank0.wait(std::chrono::seconds(30)), 1) << rank0.log();
  EXPECT_LT(Clock::now() - died, std::chrono::seconds(25)) << "within the 20 s timeout";
  EXPECT_TRUE(contains(rank0.log(), "rank 0: averaging the gradients failed (has another rank stopped?)"))
      << rank0.log();
}

// Ranks started with different models would make Gloo abort the process on the first exchange
// (an exception on its own thread); they are told apart first, with an error on every rank.
TEST(DataParallel, RanksWithDifferentModelsAreAClearErrorNotAnAbort) {
  const auto dir = testing::scratch_dir("DataParallel.DifferentModels");
  const int port = free_loopback_port();
  auto args1 = rank_args(1, 2, port, 4, dir / "rank1.bin");
  args1.insert(args1.end(), {"--hidden", "33"});
  Worker rank0(rank_args(0, 2, port, 4, dir / "rank0.bin"), dir / "rank0.log");
  Worker rank1(args1, dir / "rank1.log");
  EXPECT_EQ(rank0.wait(std::chrono::seconds(60)), 1) << rank0.log();
  EXPECT_EQ(rank1.wait(std::chrono::seconds(60)), 1) << rank1.log();
  EXPECT_TRUE(contains(rank0.log(), "the ranks disagree on the model: this rank has 577 numbers to exchange, another 595"))
      << rank0.log();
  EXPECT_TRUE(contains(rank1.log(), "this rank has 595 numbers to exchange, another 577")) << rank1.log();
}

TEST(DataParallel, AGroupThatNeverFormsIsAClearErrorWithinTheTimeout) {
  const auto dir = testing::scratch_dir("DataParallel.NeverForms");
  const int port = free_loopback_port();
  auto args = rank_args(1, 2, port, 4, dir / "rank1.bin");
  args[args.size() - 3] = "2000";  // --timeout-ms
  const auto started = Clock::now();
  Worker lonely(args, dir / "rank1.log");
  EXPECT_EQ(lonely.wait(std::chrono::seconds(30)), 1) << lonely.log();
  EXPECT_LT(Clock::now() - started, std::chrono::seconds(20));
  EXPECT_TRUE(contains(lonely.log(), "rank 1 of 2 could not join the group at 127.0.0.1:" +
                                                  std::to_string(port) + " within 2"))
      << lonely.log();
}

TEST(DataParallel, WorldSettingsAreCheckedAndReadFromTorchrunsVariables) {
  EXPECT_EQ(world_problem(WorldConfig{}), "");
  EXPECT_NE(world_problem(WorldConfig{2, 2}).find("rank must be 0 to 1"), std::string::npos);
  EXPECT_NE(world_problem(WorldConfig{0, 0}).find("world size"), std::string::npos);
  WorldConfig port;
  port.master_port = 70000;
  EXPECT_NE(world_problem(port).find("port"), std::string::npos);
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "3", 1);
  ::setenv("MASTER_ADDR", "10.0.0.7", 1);
  ::setenv("MASTER_PORT", "29511", 1);
  const auto world = world_from_environment(WorldConfig{});
  EXPECT_EQ(world.world_size, 4);
  EXPECT_EQ(world.rank, 3);
  EXPECT_EQ(world.master_addr, "10.0.0.7");
  EXPECT_EQ(world.master_port, 29511);
  ::setenv("RANK", "three", 1);
  try {
    world_from_environment(WorldConfig{});
    ADD_FAILURE() << "RANK=three was taken";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("RANK='three'"), std::string::npos) << e.what();
  }
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) ::unsetenv(name);
}

}  // namespace
}  // namespace scorejam
