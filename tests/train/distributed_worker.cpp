// One rank of a data-parallel training run, for distributed_test.cpp: a small network trained with
// Adam for --steps steps on data that depends only on the global sample number, so that two ranks
// of --batch samples each see exactly what one process of 2 x --batch sees. Writes its final
// weights (raw float32, parameter after parameter) to --out. --die-after N: this rank kills itself
// (SIGKILL, as a crash would) after N steps. --hidden N: the hidden layer's width (32). Exit 1 with the error on stderr when training fails.
#include <signal.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "train/distributed.h"

namespace {

// Global sample `index` of step `step`: 16 inputs and their target.
std::pair<torch::Tensor, torch::Tensor> sample(std::int64_t step, std::int64_t index) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(step * 100'003 + index));
  auto x = torch::randn({16}, generator);
  return {x, torch::sin(x).sum().reshape({1})};
}

}  // namespace

int main(int argc, char** argv) {
  scorejam::WorldConfig world;
  int steps = 10, batch = 4, die_after = -1, hidden = 32;
  std::string out;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--rank") world.rank = std::stoi(value);
    else if (flag == "--world") world.world_size = std::stoi(value);
    else if (flag == "--port") world.master_port = std::stoi(value);
    else if (flag == "--timeout-ms") world.timeout = std::chrono::milliseconds(std::stoi(value));
    else if (flag == "--steps") steps = std::stoi(value);
    else if (flag == "--batch") batch = std::stoi(value);
    else if (flag == "--die-after") die_after = std::stoi(value);
    else if (flag == "--out") out = value;
    else if (flag == "--hidden") hidden = std::stoi(value);
  }
  try {
    torch::set_num_threads(1);
    scorejam::DataParallel group(world);
    torch::manual_seed(static_cast<std::uint64_t>(world.rank + 1));  // differs per rank until the broadcast
    torch::nn::Sequential net(torch::nn::Linear(16, hidden), torch::nn::Tanh(), torch::nn::Linear(hidden, 1));
    group.broadcast(net->parameters());
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-2));
    for (int step = 0; step < steps; ++step) {
      if (step == die_after) ::raise(SIGKILL);
      std::vector<torch::Tensor> xs, ys;
      for (int i = 0; i < batch; ++i) {
        auto [x, y] = sample(step, static_cast<std::int64_t>(world.rank) * batch + i);
        xs.push_back(x);
        ys.push_back(y);
      }
      auto loss = torch::mse_loss(net->forward(torch::stack(xs)), torch::stack(ys));
      adam.zero_grad();
      loss.backward();
      group.average_gradients(net->parameters());
      adam.step();
    }
    std::ofstream file(out, std::ios::binary);
    for (const auto& p : net->parameters()) {
      auto flat = p.detach().contiguous().to(torch::kFloat32);
      file.write(reinterpret_cast<const char*>(flat.data_ptr<float>()), static_cast<std::streamsize>(flat.numel() * 4));
    }
    return file ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
