#include "train/distributed.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <stdexcept>

namespace scorejam {

std::string world_problem(const WorldConfig& w) {
  if (w.world_size < 1) return "the world size must be at least 1 (it is " + std::to_string(w.world_size) + ")";
  if (w.rank < 0 || w.rank >= w.world_size)
    return "the rank must be 0 to " + std::to_string(w.world_size - 1) + " (it is " + std::to_string(w.rank) + ")";
  if (w.local_rank < 0) return "the local rank must not be negative (it is " + std::to_string(w.local_rank) + ")";
  if (w.master_port < 1 || w.master_port > 65535)
    return "the master port must be 1 to 65535 (it is " + std::to_string(w.master_port) + ")";
  if (w.master_addr.empty()) return "the master address is empty";
  if (w.timeout.count() <= 0) return "the timeout must be positive";
  return "";
}

WorldConfig world_from_environment(WorldConfig world) {
  auto number = [](const char* name, int& into) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return;
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    if (*end != '\0' || value < -1 || value > 1'000'000)
      throw std::invalid_argument(std::string(name) + "='" + text + "' is not a whole number");
    into = static_cast<int>(value);
  };
  number("WORLD_SIZE", world.world_size);
  number("RANK", world.rank);
  number("LOCAL_RANK", world.local_rank);
  number("MASTER_PORT", world.master_port);
  if (const char* addr = std::getenv("MASTER_ADDR"); addr != nullptr && *addr != '\0') world.master_addr = addr;
  return world;
}

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const int error = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error(std::string("no free TCP port on 127.0.0.1: ") + std::strerror(error));
  return ntohs(address.sin_port);
}

struct DataParallel::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
};

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string fmt_seconds(std::chrono::milliseconds t) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(t.count()) / 1000.0);
  return text;
}

// Tensors of one dtype flattened into one, and put back.
struct Bucket {
  std::vector<at::Tensor> parts;
  std::size_t bytes = 0;

  at::Tensor flat() const {
    std::vector<at::Tensor> views;
    for (const auto& p : parts) views.push_back(p.reshape({-1}));
    return torch::cat(views);
  }
  void scatter(const at::Tensor& flat) const {
    torch::NoGradGuard no_grad;
    std::int64_t at = 0;
    for (const auto& p : parts) {
      p.copy_(flat.slice(0, at, at + p.numel()).view_as(p));
      at += p.numel();
    }
  }
};

// `tensors` in buckets of one dtype and about `bucket_bytes` each, in order.
std::vector<Bucket> buckets_of(const std::vector<at::Tensor>& tensors, std::size_t bucket_bytes) {
  std::vector<Bucket> buckets;
  for (const auto& t : tensors) {
    const std::size_t bytes = static_cast<std::size_t>(t.numel()) * t.element_size();
    if (buckets.empty() || buckets.back().parts.front().scalar_type() != t.scalar_type() ||
        buckets.back().bytes + bytes > bucket_bytes)
      buckets.emplace_back();
    buckets.back().parts.push_back(t);
    buckets.back().bytes += bytes;
  }
  return buckets;
}

}  // namespace

DataParallel::DataParallel(const WorldConfig& world) : world_(world), group_(std::make_unique<Group>()) {
  if (const auto problem = world_problem(world); !problem.empty())
    throw std::invalid_argument("distributed training: " + problem);
  const std::string where = world.master_addr + ":" + std::to_string(world.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(world.master_port);
    options.isServer = world.rank == 0;
    options.numWorkers = world.world_size;
    options.waitWorkers = true;
    options.timeout = world.timeout;
    group_->store = c10::make_intrusive<c10d::TCPStore>(world.master_addr, options);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(world.timeout);
    // A group on one machine talks over loopback; across machines, over the interface that this
    // machine's hostname resolves to (Gloo's default; GLOO_SOCKET_IFNAME chooses another).
    const bool loopback = world.master_addr == "localhost" || world.master_addr.rfind("127.", 0) == 0;
    gloo_options->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                             : c10d::ProcessGroupGloo::createDefaultDevice());
    group_->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group_->store, world.rank, world.world_size, gloo_options);
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed training: rank " + std::to_string(world.rank) + " of " +
                             std::to_string(world.world_size) + " could not join the group at " + where + " within " +
                             fmt_seconds(world.timeout) + " s: " + first_line(e.what()));
  }
}

DataParallel::~DataParallel() = default;

namespace {

template <class Call>
void collective(const WorldConfig& world, const char* what, Call call) {
  try {
    call()->wait();
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed training: rank " + std::to_string(world.rank) + ": " + what +
                             " failed (has another rank stopped?): " + first_line(e.what()));
  }
}

}  // namespace

void DataParallel::expect_alike(const std::vector<at::Tensor>& tensors, const char* what) {
  double count = 0;
  for (const auto& t : tensors) count += static_cast<double>(t.numel());
  std::vector<at::Tensor> counts{torch::full({2}, count, torch::kFloat64)};
  counts[0][1].fill_(-count);  // the largest and, negated, the smallest count: alike when they match
  c10d::AllreduceOptions largest;
  largest.reduceOp = c10d::ReduceOp::MAX;
  collective(world_, what, [&] { return group_->gloo->allreduce(counts, largest); });
  const double most = counts[0][0].item<double>(), least = -counts[0][1].item<double>();
  if (most != count || least != count)
    throw std::runtime_error("distributed training: rank " + std::to_string(world_.rank) + ": the ranks disagree on " +
                             "the model: this rank has " + std::to_string(static_cast<std::int64_t>(count)) +
                             " numbers to exchange, another " +
                             std::to_string(static_cast<std::int64_t>(most != count ? most : least)) +
                             " (were they started with the same model settings?)");
}

void DataParallel::broadcast(const std::vector<at::Tensor>& tensors) {
  expect_alike(tensors, "comparing the ranks' models");
  for (const auto& bucket : buckets_of(tensors, 64u << 20)) {
    std::vector<at::Tensor> flat{bucket.flat()};
    collective(world_, "broadcasting the weights", [&] { return group_->gloo->broadcast(flat); });
    bucket.scatter(flat[0]);
  }
}

void DataParallel::average_gradients(const std::vector<at::Tensor>& parameters, std::size_t bucket_bytes) {
  std::vector<at::Tensor> grads;
  for (auto p : parameters) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  if (!gradients_checked_) {
    expect_alike(grads, "comparing the ranks' models");
    gradients_checked_ = true;
  }
  for (const auto& bucket : buckets_of(grads, bucket_bytes)) {
    std::vector<at::Tensor> flat{bucket.flat()};
    collective(world_, "averaging the gradients", [&] { return group_->gloo->allreduce(flat); });
    flat[0].div_(world_.world_size);
    bucket.scatter(flat[0]);
  }
}

double DataParallel::average(double value) {
  std::vector<at::Tensor> t{torch::full({1}, value, torch::kFloat64)};
  collective(world_, "averaging a value", [&] { return group_->gloo->allreduce(t); });
  return t[0].item<double>() / world_.world_size;
}

void DataParallel::barrier() {
  collective(world_, "waiting for every rank", [&] { return group_->gloo->barrier(); });
}

}  // namespace scorejam
