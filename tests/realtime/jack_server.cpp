#include "tests/realtime/jack_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rtmidi/RtMidi.h>

#include "realtime/midi_ports.h"

extern char** environ;

namespace scorejam::testing {
namespace {

// Waits up to 1 s for /proc/<pid>/stat to show the process stopped ('T').
void wait_until_stopped(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream stat(path);
    std::string line;
    std::getline(stat, line);
    const auto name_end = line.rfind(')');  // the state follows "pid (comm) "
    if (name_end != std::string::npos && name_end + 2 < line.size() && line[name_end + 2] == 'T') return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ADD_FAILURE() << "jackd (pid " << pid << ") was not stopped 1 s after its SIGSTOP";
}

std::string find_on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream folders(path != nullptr ? path : "/usr/bin:/bin");
  std::string folder;
  while (std::getline(folders, folder, ':')) {
    const auto candidate = std::filesystem::path(folder.empty() ? "." : folder) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

std::string unique_name(const char* prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Serialises the start of test servers across processes (ctest -j runs several at once): two jackd
// starting together on a machine with no JACK shared-memory registry yet (a fresh CI machine, or
// after /dev/shm/jack* was cleared) made both, or their first clients, fail ("Cannot connect to
// server socket"), seen here in 4 of the first 40 tests. Held until the server takes clients.
class StartLock {
 public:
  StartLock() : fd_(::open((std::filesystem::temp_directory_path() / "scorejam-jackd-start.lock").c_str(),
                           O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~StartLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  StartLock(const StartLock&) = delete;
  StartLock& operator=(const StartLock&) = delete;

 private:
  int fd_;
};

}  // namespace

JackServer::JackServer() : name_(unique_name("scorejam-test")) {
  jackd_ = find_on_path("jackd");
  if (jackd_.empty()) {
    ADD_FAILURE() << "jackd is not on PATH: the MIDI tests need a real JACK server (Debian: apt-get install jackd2)";
    return;
  }
  std::string pattern = (std::filesystem::path(::testing::TempDir()) / "scorejam-jack-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    ADD_FAILURE() << "cannot make a temporary folder from " << pattern;
    return;
  }
  folder_ = pattern;
  log_path_ = folder_ + "/jackd.log";

  // Clients of this process go to this server only, and never start one themselves.
  ::setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
  ::setenv("JACK_NO_START_SERVER", "1", 1);
  start();
}

void JackServer::start() {
  ok_ = false;
  const StartLock one_at_a_time;
  const std::string& jackd = jackd_;
  std::vector<std::string> args = {jackd, "-n", name_, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "128"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    ADD_FAILURE() << "cannot open " << log_path_ << " or /dev/null: " << std::strerror(errno);
    return;
  }
  // fork and exec rather than posix_spawn: the child asks for SIGTERM when this thread dies, so a
  // test process that crashes or is killed by a timeout leaves no jackd behind. Only
  // async-signal-safe calls between fork and exec.
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (::prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || ::getppid() != parent) ::_exit(126);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(log_fd);
  ::close(null_fd);
  if (pid_ < 0) {
    ADD_FAILURE() << "cannot start " << jackd << ": " << std::strerror(fork_errno);
    return;
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "jackd -n " << name_ << " exited at start (status " << status << "); its log, "
                    << log_path_ << ":\n" << log();
      return;
    }
    if (jack_server_running()) {
      ok_ = true;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ADD_FAILURE() << "jackd -n " << name_ << " accepted no client within 10 s; its log, " << log_path_ << ":\n" << log();
}

JackServer::~JackServer() {
  stop();
  if (::testing::Test::HasFailure()) {
    std::cerr << "jackd log: " << log_path_ << "\n";
  } else if (!folder_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
}

void ClosePlayer::operator()(RtMidiOut* player) const {
  player->closePort();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  delete player;
}

void JackServer::stall_for(std::chrono::milliseconds length) {
  if (pid_ <= 0 || resumer_ > 0) return;
  const pid_t server = pid_;
  const timespec pause{static_cast<time_t>(length.count() / 1000), static_cast<long>(length.count() % 1000) * 1'000'000};
  ::kill(server, SIGSTOP);
  // SIGSTOP takes effect asynchronously, and a process cycle that the server had already started
  // still runs in the clients. Wait until the server is stopped and that cycle is over (a few
  // periods of 2.67 ms; generous for a sanitizer build on a busy machine), so that the stall has
  // begun when this returns and no MIDI sent afterwards leaves before the SIGCONT.
  wait_until_stopped(server);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  resumer_ = ::fork();
  if (resumer_ == 0) {  // async-signal-safe calls only
    ::nanosleep(&pause, nullptr);
    ::kill(server, SIGCONT);
    ::_exit(0);
  }
  if (resumer_ < 0) {
    ::kill(server, SIGCONT);
    ADD_FAILURE() << "cannot fork the process that would resume jackd: " << std::strerror(errno);
  }
}

void JackServer::wait_until_resumed() {
  if (resumer_ <= 0) return;
  int status = 0;
  ::waitpid(resumer_, &status, 0);
  resumer_ = -1;
}

void JackServer::stop() {
  ok_ = false;
  wait_until_resumed();
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        ADD_FAILURE() << "jackd -n " << name_ << " ignored SIGTERM for 5 s; log: " << log_path_;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }
}

std::string JackServer::log() const {
  std::ifstream in(log_path_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int JackServer::xruns() const {
  std::stringstream text(log());
  std::string line;
  int count = 0;
  while (std::getline(text, line))
    if (line.find("XRun") != std::string::npos) ++count;
  return count;
}

std::string point_jack_at_no_server() {
  const std::string name = unique_name("scorejam-no-server");
  ::setenv("JACK_DEFAULT_SERVER", name.c_str(), 1);
  ::setenv("JACK_NO_START_SERVER", "1", 1);
  return name;
}

}  // namespace scorejam::testing
