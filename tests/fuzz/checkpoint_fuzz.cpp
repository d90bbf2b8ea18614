// libFuzzer target for the checkpoint loader (load_checkpoint): any bytes as a checkpoint file. A
// CheckpointError naming the file is the expected answer to a file that is not a scorejam
// checkpoint, or is truncated or corrupt; any other exception, a crash, a sanitizer report or an
// allocation over the malloc limit is a finding. Seeds: tiny real checkpoints that make_checkpoint_seeds
// writes with save_checkpoint.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/checkpoint.h"

namespace {

// The bytes as a file: an in-memory one (memfd), reached by its /proc path.
class MemoryFile {
 public:
  MemoryFile(const std::uint8_t* data, std::size_t size) : fd_(memfd_create("checkpoint", 0)) {
    if (fd_ < 0) std::abort();
    for (std::size_t done = 0; done < size;) {
      const auto n = ::write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
  }
  ~MemoryFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const MemoryFile file(data, size);
  try {
    const auto loaded = scorejam::load_checkpoint(file.path());
    if (!loaded.model || !loaded.ema) {
      std::fprintf(stderr, "a checkpoint loaded without its networks\n");
      std::abort();
    }
  } catch (const scorejam::CheckpointError& e) {
    if (std::string(e.what()).find(file.path()) == std::string::npos) {
      std::fprintf(stderr, "an error that names no file: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
