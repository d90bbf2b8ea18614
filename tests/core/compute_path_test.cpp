#include "core/compute_path.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace scorejam {
namespace {

CpuFeatures avx2_only() {
  CpuFeatures cpu;
  cpu.avx2 = cpu.fma = true;
  return cpu;
}

CpuFeatures sapphire_rapids() {
  CpuFeatures cpu = avx2_only();
  cpu.avx512f = cpu.avx512_bf16 = cpu.amx_bf16 = true;
  return cpu;
}

CpuFeatures zen4() {
  CpuFeatures cpu = avx2_only();
  cpu.avx512f = cpu.avx512_bf16 = true;
  return cpu;
}

TEST(ComputePath, AutoTakesBf16AndNhwcWhereTheCpuHasAmx) {
  std::string why;
  const auto path = resolve_compute_path(Precision::kAuto, MemoryLayout::kAuto, sapphire_rapids(), &why);
  EXPECT_TRUE(path.bf16);
  EXPECT_TRUE(path.channels_last);
  EXPECT_NE(why.find("AMX-BF16"), std::string::npos) << why;
}

// AVX512-BF16 without AMX measured slower in bf16 than in fp32 (README): auto keeps fp32 there.
TEST(ComputePath, AutoKeepsFp32OnAvx512Bf16WithoutAmx) {
  std::string why;
  EXPECT_EQ(resolve_compute_path(Precision::kAuto, MemoryLayout::kAuto, zen4(), &why), (ComputePath{false, false}));
  EXPECT_NE(why.find("without AMX"), std::string::npos) << why;
}

TEST(ComputePath, AutoKeepsFp32WhereBf16WouldBeEmulated) {
  std::string why;
  const auto path = resolve_compute_path(Precision::kAuto, MemoryLayout::kAuto, avx2_only(), &why);
  EXPECT_FALSE(path.bf16);
  EXPECT_FALSE(path.channels_last);
  EXPECT_NE(why.find("no native bf16"), std::string::npos) << why;
  EXPECT_FALSE(resolve_compute_path(Precision::kAuto, MemoryLayout::kAuto, CpuFeatures{}).channels_last);
}

TEST(ComputePath, AnExplicitChoiceWinsAndSaysWhenItIsEmulated) {
  std::string why;
  const auto path = resolve_compute_path(Precision::kBf16, MemoryLayout::kContiguous, avx2_only(), &why);
  EXPECT_EQ(path, (ComputePath{true, false}));
  EXPECT_NE(why.find("emulated"), std::string::npos) << why;
  EXPECT_EQ(resolve_compute_path(Precision::kFp32, MemoryLayout::kAuto, sapphire_rapids()), (ComputePath{false, false}));
}

TEST(ComputePath, NamesRoundTripAndABadNameIsRefusedNamingIt) {
  for (auto p : {Precision::kAuto, Precision::kFp32, Precision::kBf16}) EXPECT_EQ(precision_from_string(to_string(p)), p);
  for (auto l : {MemoryLayout::kAuto, MemoryLayout::kContiguous, MemoryLayout::kChannelsLast})
    EXPECT_EQ(layout_from_string(to_string(l)), l);
  try {
    precision_from_string("fp16");
    FAIL() << "fp16 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'fp16'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(layout_from_string("nhwc"), std::invalid_argument);
}

TEST(ComputePath, PeakFlopsFollowTheIsa) {
  EXPECT_EQ(avx2_only().fp32_flops_per_cycle(), 32);
  EXPECT_EQ(avx2_only().bf16_flops_per_cycle(), 32);  // emulated: no gain
  EXPECT_EQ(sapphire_rapids().fp32_flops_per_cycle(), 64);
  EXPECT_EQ(sapphire_rapids().bf16_flops_per_cycle(), 2048);
}

TEST(ComputePath, ThisCpuIsDescribed) {
  const auto& cpu = cpu_features();
  EXPECT_FALSE(cpu.describe().empty());
  // Every x86-64 machine this project runs on has AVX2 (the EPYC and Xeon kinds); a CPU that
  // reports AVX-512 BF16 without AVX-512 would be a misread of cpuid.
  if (cpu.avx512_bf16) EXPECT_TRUE(cpu.avx512f);
}

}  // namespace
}  // namespace scorejam
