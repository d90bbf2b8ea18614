// The loss history as a picture (cairo): train and validation loss against the step, log scale.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace scorejam {

struct LossPoint {
  double step;
  double loss;
};

// Reads the history back from loss.csv (step,epoch,train_loss,val_loss,...; either loss may be
// empty), appending to the two series; rows that do not parse are skipped.
void read_loss_csv(const std::filesystem::path& csv_path, std::vector<LossPoint>& train,
                   std::vector<LossPoint>& validation);

void write_loss_png(const std::vector<LossPoint>& train, const std::vector<LossPoint>& validation,
                    const std::filesystem::path& png_path, const std::string& title);

}  // namespace scorejam
