#include "core/compute_path.h"

#include <cpuid.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <stdexcept>

namespace scorejam {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(1, 0, &a, &b, &c, &d)) f.fma = (c >> 12) & 1;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = (b >> 5) & 1;
    f.avx512f = (b >> 16) & 1;
    f.amx_bf16 = (d >> 22) & 1;
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512_bf16 = (a >> 5) & 1;
  // The OS must save the wide registers too (XCR0): AVX state (bits 1, 2), AVX-512 (5-7), AMX tiles (17, 18).
  if (__get_cpuid_count(1, 0, &a, &b, &c, &d) && ((c >> 27) & 1)) {
    unsigned lo = 0, hi = 0;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    const unsigned long long xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
    if ((xcr0 & 0x6) != 0x6) f.avx2 = f.fma = f.avx512f = f.avx512_bf16 = false;
    if ((xcr0 & 0xe0) != 0xe0) f.avx512f = f.avx512_bf16 = false;
    if ((xcr0 & 0x60000) != 0x60000) f.amx_bf16 = false;
  } else {
    f.avx2 = f.fma = f.avx512f = f.avx512_bf16 = f.amx_bf16 = false;
  }
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line) && (f.model.empty() || f.mhz == 0)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const auto value = colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
    if (key == "model name" && f.model.empty()) f.model = value;
    if (key == "cpu MHz" && f.mhz == 0) {
      try {
        f.mhz = std::stod(value);
      } catch (const std::exception&) {
      }
    }
  }
  return f;
}

std::atomic<bool> g_bf16{false}, g_channels_last{false};

}  // namespace

double CpuFeatures::fp32_flops_per_cycle() const {
  // Two FMA units of 16 (AVX-512) or 8 (AVX2) lanes, 2 FLOPs each; 8 for plain SSE.
  if (avx512f) return 64;
  if (avx2 && fma) return 32;
  return 8;
}

double CpuFeatures::bf16_flops_per_cycle() const {
  if (amx_bf16) return 2048;      // TMUL: 1,024 bf16 multiply-adds a cycle
  if (avx512_bf16) return 128;    // VDPBF16PS: 32 pairs, two units
  return fp32_flops_per_cycle();  // emulated: no faster than fp32
}

std::string CpuFeatures::describe() const {
  std::string text = model.empty() ? "unknown CPU" : model;
  text += ":";
  if (avx2) text += " AVX2";
  if (fma) text += " FMA";
  if (avx512f) text += " AVX-512";
  if (avx512_bf16) text += " AVX512-BF16";
  if (amx_bf16) text += " AMX-BF16";
  if (!avx2 && !avx512f) text += " no AVX2";
  return text;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::kAuto: return "auto";
    case Precision::kFp32: return "fp32";
    case Precision::kBf16: return "bf16";
  }
  return "auto";
}

std::string to_string(MemoryLayout layout) {
  switch (layout) {
    case MemoryLayout::kAuto: return "auto";
    case MemoryLayout::kContiguous: return "contiguous";
    case MemoryLayout::kChannelsLast: return "channels_last";
  }
  return "auto";
}

Precision precision_from_string(const std::string& name) {
  if (name == "auto") return Precision::kAuto;
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw std::invalid_argument("precision '" + name + "' (expected auto, fp32 or bf16)");
}

MemoryLayout layout_from_string(const std::string& name) {
  if (name == "auto") return MemoryLayout::kAuto;
  if (name == "contiguous") return MemoryLayout::kContiguous;
  if (name == "channels_last") return MemoryLayout::kChannelsLast;
  throw std::invalid_argument("memory_format '" + name + "' (expected auto, contiguous or channels_last)");
}

std::string ComputePath::describe() const {
  return std::string(bf16 ? "bf16" : "fp32") + ", " + (channels_last ? "channels_last" : "contiguous");
}

ComputePath resolve_compute_path(Precision precision, MemoryLayout layout, const CpuFeatures& cpu, std::string* why) {
  ComputePath path;
  std::string reason;
  if (precision == Precision::kAuto) {
    // bf16 where AMX's tile unit runs oneDNN's bf16 convolutions (12x a 3x3 convolution's fp32 time,
    // measured on a Xeon; the bundled network there trained 1.34x faster than in fp32 and drew run's
    // window 1.08x faster, though Song's small ScoreNet ran slower). With AVX512-BF16 alone (a Zen 4 EPYC here) the bf16 path measured slower
    // than fp32: the bundled network's evaluation 5.6 against 5.1 ms at batch 1, the original
    // ScoreNet's Euler-Maruyama 7.1 against 4.7 s; training 12% faster (docs/speed.md, "Where the time goes").
    path.bf16 = cpu.amx_bf16;
    reason = path.bf16 ? "bf16: the CPU has AMX-BF16"
             : cpu.avx512_bf16
                 ? "fp32: AVX512-BF16 without AMX measured slower in bf16 than in fp32"
                 : "fp32: the CPU has no native bf16 (bf16 would be emulated)";
  } else {
    path.bf16 = precision == Precision::kBf16;
    reason = to_string(precision) + " as configured";
    if (path.bf16 && !cpu.native_bf16()) reason += " (emulated on this CPU: slower than fp32)";
  }
  if (layout == MemoryLayout::kAuto) {
    // fp32: NHWC measured at most 6-16% faster for the bundled network and 1.3-1.7x slower for
    // the original ScoreNet, on AVX2 and on AVX-512 (docs/speed.md, "Where the time goes"), so the layout
    // follows the precision.
    path.channels_last = path.bf16;
    reason += path.channels_last ? "; channels_last: oneDNN's bf16 kernels want NHWC"
                                 : "; contiguous: fp32 NHWC is no faster on this CPU";
  } else {
    path.channels_last = layout == MemoryLayout::kChannelsLast;
    reason += "; " + to_string(layout) + " as configured";
  }
  if (why) *why = reason;
  return path;
}

void set_default_compute_path(const ComputePath& path) {
  g_bf16 = path.bf16;
  g_channels_last = path.channels_last;
}

ComputePath default_compute_path() { return {g_bf16.load(), g_channels_last.load()}; }

}  // namespace scorejam
