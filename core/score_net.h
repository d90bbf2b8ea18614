// The score network: a time-conditioned U-Net generalising Song's ScoreNet. Gaussian Fourier time
// embedding, a dense time injection at every level, GroupNorm, SiLU, skip connections, optional
// self-attention at the lowest resolution, optional conditioning inputs (the known roll and its
// mask) for continuation; the output is divided by the perturbation std(t).
// Input: [B, C, H, W] (a roll is C x 88 keys x T frames). H and W are padded internally to a
// multiple of 2^depth and the output cropped back, so any size works.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

#include "core/sde.h"

namespace scorejam {

struct ScoreNetConfig {
  int channels = 3;                        // data channels (the roll format's)
  std::vector<int> widths{32, 64, 128, 256};  // one per level; depth = widths.size() - 1
  int embed_dim = 256;                     // time embedding size
  double fourier_scale = 30.0;
  bool attention = false;                  // self-attention at the lowest resolution
  bool conditional = false;                // extra inputs: known roll (channels) and its mask (1)
  // Song's original layout: unpadded convolutions, each transposed convolution sized to its skip,
  // a transposed convolution last. Sizes follow the input (28 x 28 works); no internal padding.
  bool valid_convolutions = false;
  bool operator==(const ScoreNetConfig&) const = default;
};

class ScoreNetImpl : public torch::nn::Module {
 public:
  ScoreNetImpl(const ScoreNetConfig& config, const Sde& sde);

  // x: [B, C, H, W]; t: [B]. known, mask: [B, C, H, W] and [B, 1, H, W] when conditional, else
  // undefined. Returns the score estimate, shaped like x.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& known = {},
                        const torch::Tensor& mask = {});

  const ScoreNetConfig& config() const { return config_; }
  const Sde& sde() const { return sde_; }
  int64_t parameter_count() const;

 private:
  ScoreNetConfig config_;
  Sde sde_;
  torch::Tensor fourier_w_;
  torch::nn::Linear embed_{nullptr};
  torch::nn::ModuleList down_convs_, down_dense_, down_norms_;
  torch::nn::ModuleList up_convs_, up_dense_, up_norms_;
  torch::nn::Conv2d out_{nullptr};
  torch::nn::ConvTranspose2d out_transposed_{nullptr};  // the valid layout's last layer
  torch::nn::GroupNorm attn_norm_{nullptr};
  torch::nn::Conv2d attn_qkv_{nullptr}, attn_out_{nullptr};
};
TORCH_MODULE(ScoreNet);

// Denoising score matching (Song et al.): t ~ U(eps, 1), x_t = mean(t) x0 + std(t) z, loss = batch
// mean of sum over elements of (score * std + z)^2. known/mask are passed through for conditional
// models. Seed torch (torch::manual_seed) for reproducible draws.
torch::Tensor dsm_loss(ScoreNet& net, const torch::Tensor& x0, const torch::Tensor& known = {},
                       const torch::Tensor& mask = {});

}  // namespace scorejam
