// `scorejam bench`: the speed figures of issue 3, measured with Google Benchmark on the calling
// thread: one network evaluation, one continuation window with each sampler, one training step;
// or, with config "seed", the original ScoreNet setting the targets were set in. The header is
// torch-free so that callers do not pay torch's compile time.
#pragma once

#include <string>

namespace scorejam {

struct ModelSpec;
struct LiveConfig;

struct BenchCommand {
  std::string config = "default";  // "default": the model spec given (or the checkpoint's); "seed": the
                                   // original ScoreNet setting (1 x 28 x 28, VE sigma 25, EM 500 steps);
                                   // "live": the live engine answering phrases (latency, deadlines, lateness)
                                   // "soak": a performance replayed for `minutes` (late windows, hanging
                                   // notes, memory and file descriptors at start and end)
                                   // "data-parallel": training throughput with 1 and 2 processes
                                   // "paths": the network on every compute path this CPU offers (fp32 in
                                   // NCHW and NHWC; bf16 where native): per-NFE time, training samples/s,
                                   // and the share of the CPU's peak FLOP/s each reaches
  std::string checkpoint;          // optional: a checkpoint's spec and weights
  std::string filter;              // Google Benchmark --benchmark_filter regex ("" = every benchmark)
  std::string json;                // optional: write the results as JSON to this file
  int repetitions = 3;
  std::string device = "cpu";      // cpu or cuda (when torch has CUDA)
  double minutes = 60;             // soak: how long
  std::string replay = "examples/bach_prelude_c.mid";  // soak: the performance replayed phrase by phrase
  // "data-parallel": training steps of the model in 1 process and in 2 (this one and a peer it
  // starts: `--config data-parallel-peer --peer-port P`, which steps with it until it is killed).
  int peer_port = 0;
  std::string config_path;  // the config file this run was given, for the peer ("" = none)
  // default, seed, paths: first print where the time goes, op by op, for every compute path offered
  // (default/paths: forward at batch 1 and 2, a training step at batch 16; seed: forward at batch 12,
  // a training step at batch 32).
  bool profile = false;
  // The network's compute path was left to `auto` ([runtime] precision and memory_format): seed then
  // runs Song's network in fp32 NCHW, measured fastest for it on every CPU (bf16 NHWC 1.3-1.4x slower on
  // AMX, where auto takes bf16 for scorejam's networks; docs/speed.md).
  bool compute_path_auto = false;
  // seed: the folder of the original Python code (its bench.py); it is timed in the same run with
  // the same thread count and the ratios printed.
  std::string python;
};

// Runs the benchmarks and prints their median and spread, then the process's peak memory, to
// stdout. Without a checkpoint the network is a freshly initialised one (torch::manual_seed(0)) of
// `default_spec`, and the output says so. threads > 0 sets torch's intra-op threads. Returns the exit
// code: 1 when the filter matches no benchmark. Throws std::invalid_argument for a bad command and
// CheckpointError for a bad checkpoint.
// `live` is the [live] config the "live" figures use, with the checkpoint `live_checkpoint` (a path)
// when the command names none.
int run_bench(const BenchCommand& command, const ModelSpec& default_spec, int threads, const LiveConfig& live,
              const std::string& live_checkpoint);

}  // namespace scorejam
