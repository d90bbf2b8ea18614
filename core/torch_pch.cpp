// The one translation unit of torch_pch, the target that builds LibTorch's precompiled header for
// every target (CMakeLists.txt, scorejam_torch_pch).
