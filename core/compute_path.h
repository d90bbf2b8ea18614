// How the score network computes on this machine: the precision of its convolutions and the
// memory layout of its activations, chosen from what the CPU has (cpuid) unless the config says.
// bfloat16 pays only where the CPU has native bf16 dot products (AVX512-BF16, AMX-BF16), where
// oneDNN runs bf16 channels-last convolutions 3-12x faster than fp32; elsewhere it is emulated and
// slower. Torch-free, so the config reader and the CLI use it without LibTorch's headers.
#pragma once

#include <string>

namespace scorejam {

struct CpuFeatures {
  std::string model;      // /proc/cpuinfo's model name, "" when unknown
  double mhz = 0;         // the clock /proc/cpuinfo reports (the first core's), 0 when unknown
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512_bf16 = false;
  bool amx_bf16 = false;
  bool native_bf16() const { return avx512_bf16 || amx_bf16; }
  // The ISA's peak per core and cycle: fp32 FMA lanes x 2 units x 2 FLOPs; bf16 with AMX's tile
  // unit (1,024 multiply-adds a cycle) or AVX512-BF16's dot products.
  double fp32_flops_per_cycle() const;
  double bf16_flops_per_cycle() const;
  std::string describe() const;  // "AMD EPYC: AVX2 FMA" and the like
};

// What this process's CPU has (cpuid), read once.
const CpuFeatures& cpu_features();

// [runtime] precision and memory_format, as written in the config and on the command line.
enum class Precision { kAuto, kFp32, kBf16 };
enum class MemoryLayout { kAuto, kContiguous, kChannelsLast };
std::string to_string(Precision precision);
std::string to_string(MemoryLayout layout);
Precision precision_from_string(const std::string& name);    // "auto", "fp32", "bf16"; throws naming the value
MemoryLayout layout_from_string(const std::string& name);    // "auto", "contiguous", "channels_last"

// A resolved choice: what the network does.
struct ComputePath {
  bool bf16 = false;           // convolutions (transposed ones too) in bfloat16, their inputs cast
                               // per call; activations, GroupNorm, SiLU, attention, the time
                               // embedding, sigma scaling and loss stay fp32
  bool channels_last = false;  // activations and convolution weights in NHWC
  bool operator==(const ComputePath&) const = default;
  std::string describe() const;  // "fp32, contiguous" and the like
};

// auto resolves by the CPU: bf16 with channels_last where it has AMX-BF16 (oneDNN's AMX kernels
// want NHWC); fp32 contiguous elsewhere, AVX512-BF16 without AMX included, where bf16 measured
// slower, and fp32 NHWC no faster for the bundled network and slower for the original ScoreNet
// (docs/speed.md, "Where the time goes"). `why` (optional) says why.
ComputePath resolve_compute_path(Precision precision, MemoryLayout layout, const CpuFeatures& cpu,
                                 std::string* why = nullptr);

// The path networks built from now on start with (ScoreNet reads it at construction); fp32,
// contiguous until set. Set once at start-up, before any network exists.
void set_default_compute_path(const ComputePath& path);
ComputePath default_compute_path();

}  // namespace scorejam
