// Start-up settings of LibTorch: the thread count, and which BLAS the process really loaded
// (Debian's reference BLAS makes convolutions about 15x slower than OpenBLAS). The header is
// torch-free so that callers do not pay torch's compile time.
#pragma once

#include <string>

namespace scorejam {

struct TorchRuntime {
  int threads = 1;              // intra-op threads in effect
  std::string blas_library;     // resolved path of the loaded libblas, "" if none is loaded
  bool reference_blas = false;  // Debian's reference BLAS (the slow one) is the one loaded
  bool cuda_available = false;
};

// threads <= 0 means every core. Also tunes malloc to keep freed memory (see the .cpp).
TorchRuntime configure_torch(int threads);

// The resolved path of the libblas.so loaded into this process, or "".
std::string loaded_blas_library();
// True for Debian's reference BLAS (…/blas/libblas.so.3), false for OpenBLAS, BLIS, MKL and others.
bool is_reference_blas(const std::string& resolved_path);

// The one device rule: "cpu" is the CPU; "cuda" the GPU, or an error naming `setting` where this
// LibTorch has none; "auto" the GPU where there is one. Anything else is an error naming `setting`.
// True for the GPU. (Torch-free: callers make the torch::Device.)
bool use_cuda(const std::string& name, const std::string& setting);

inline constexpr const char* kBlasFix =
    "install libopenblas0-openmp (apt-get install libopenblas0-openmp) so torch uses OpenBLAS";

}  // namespace scorejam
