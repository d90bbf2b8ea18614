// The one device rule (core/torch_runtime.h) that train, bench, the live engine and reproduce share.
#include "core/torch_runtime.h"

#include <gtest/gtest.h>
#include <torch/cuda.h>

#include <stdexcept>
#include <string>

namespace scorejam {
namespace {

std::string error_of(const std::string& name, const std::string& setting) {
  try {
    use_cuda(name, setting);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(UseCuda, TheCpuIsTheCpuAndAutoTakesAGpuOnlyWhereThereIsOne) {
  EXPECT_FALSE(use_cuda("cpu", "train.device"));
  EXPECT_EQ(use_cuda("auto", "train.device"), torch::cuda::is_available());
}

TEST(UseCuda, CudaWithoutAGpuAndAnUnknownNameAreErrorsNamingTheSetting) {
  if (torch::cuda::is_available()) {
    EXPECT_TRUE(use_cuda("cuda", "live.device"));
  } else {
    const auto message = error_of("cuda", "live.device");
    EXPECT_NE(message.find("live.device"), std::string::npos) << message;
    EXPECT_NE(message.find("no CUDA device"), std::string::npos) << message;
  }
  const auto message = error_of("gpu", "bench --device");
  EXPECT_NE(message.find("bench --device"), std::string::npos) << message;
  EXPECT_NE(message.find("'gpu'"), std::string::npos) << message;
  EXPECT_NE(message.find("cpu, cuda or auto"), std::string::npos) << message;
}

}  // namespace
}  // namespace scorejam
