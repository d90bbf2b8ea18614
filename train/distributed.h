// Data-parallel training on PyTorch's own distributed engine, c10d, as Debian's LibTorch ships it:
// a TCPStore for the rendezvous (rank 0 serves it at MASTER_ADDR:MASTER_PORT) and Gloo for the
// collectives over TCP. Every rank runs the same program on its own share of the data; after each
// backward pass the gradients are averaged across ranks, so every rank takes the same optimizer
// step and the weights stay identical (rank 0's initial weights are broadcast first).
//
// A rank that dies or cannot be reached makes the others fail within `timeout`, with an error that
// names the rendezvous and what was waited for: no collective waits for good.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace scorejam {

struct WorldConfig {
  int world_size = 1;
  int rank = 0;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::chrono::milliseconds timeout{60'000};
  bool operator==(const WorldConfig&) const = default;
};

// What is wrong with `world` ("" when nothing is): sizes, ranks, the port.
std::string world_problem(const WorldConfig& world);

// `world` with what torchrun's environment variables say (WORLD_SIZE, RANK, LOCAL_RANK,
// MASTER_ADDR, MASTER_PORT); those not set leave `world` as it is. Throws std::invalid_argument
// naming the variable and its value when one is not a number.
WorldConfig world_from_environment(WorldConfig world);

// A TCP port on 127.0.0.1 that is free now, for a rendezvous on this machine. Throws
// std::runtime_error when there is none.
int free_loopback_port();

class DataParallel {
 public:
  // Joins the group: waits until every rank has joined, up to the timeout. Throws
  // std::runtime_error naming the rendezvous when the group cannot be formed.
  explicit DataParallel(const WorldConfig& world);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return world_.rank; }
  int world_size() const { return world_.world_size; }

  // Every rank's `tensors` become rank 0's, in place. Like average_gradients, it first checks that
  // every rank has as many numbers to exchange (ranks started with different model settings would
  // otherwise make Gloo abort the process), and throws naming both counts when not.
  void broadcast(const std::vector<at::Tensor>& tensors);
  // The gradients of `parameters` become their mean across ranks, in place, all-reduced in
  // buckets of about `bucket_bytes` (one flat tensor per bucket). Parameters without a gradient
  // count as zero.
  void average_gradients(const std::vector<at::Tensor>& parameters, std::size_t bucket_bytes = 8u << 20);
  // The mean of `value` across ranks.
  double average(double value);
  // Waits until every rank has come here.
  void barrier();

 private:
  struct Group;
  void expect_alike(const std::vector<at::Tensor>& tensors, const char* what);
  WorldConfig world_;
  std::unique_ptr<Group> group_;
  bool gradients_checked_ = false;
};

}  // namespace scorejam
