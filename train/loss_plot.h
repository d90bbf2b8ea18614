// The loss history as a picture (cairo): train and validation loss against the step, log scale.
#pragma once

#include <filesystem>
#include <vector>

namespace scorejam {

struct LossPoint {
  double step;
  double loss;
};

void write_loss_png(const std::vector<LossPoint>& train, const std::vector<LossPoint>& validation,
                    const std::filesystem::path& png_path, const std::string& title);

}  // namespace scorejam
