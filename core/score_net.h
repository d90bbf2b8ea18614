// The score network: a time-conditioned U-Net generalising Song's ScoreNet. Gaussian Fourier time
// embedding, a dense time injection at every level, GroupNorm, SiLU, skip connections, optional
// self-attention at the lowest resolution, optional conditioning inputs (the known roll and its
// mask) for continuation; the output is divided by the perturbation std(t). Optionally Karras et
// al.'s (EDM, 2022) preconditioning instead: the network's raw output F gives the denoised roll
// D = c_skip x + c_out F from an input scaled by c_in, so at high noise it predicts the clean roll
// (and what the known past implies for it) rather than the noise; the score follows from D.
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

#include "core/beat_planes.h"
#include "core/compute_path.h"
#include "core/sde.h"

namespace scorejam {

// What a conditional network makes of the known past before it meets the noisy roll: the first
// convolution's response to the known roll, its mask and the context map, and the context
// summary's embedding. It depends on the known past alone, so a sampler computes it once per window
// instead of at every step. Empty for an unconditional network.
struct ScoreNetCondition {
  torch::Tensor first_layer;  // [B, widths[0], H', W'] (H', W': the padded size, less the valid layout's border)
  torch::Tensor summary;      // [B, embed_dim]; undefined without context_summary
};

class ScoreNetImpl : public torch::nn::Module {
 public:
  ScoreNetImpl(const ScoreNetConfig& config, const Sde& sde);

  // x: [B, C, H, W]; t: [B]. known, mask: [B, C, H, W] and [B, 1, H, W] when conditional, else
  // undefined. Returns the score estimate, shaped like x.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& known = {},
                        const torch::Tensor& mask = {}, const torch::Tensor& beats = {});
  // The same, with the known past already made into `condition` (from condition() with these H, W).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const ScoreNetCondition& condition);
  // known, mask as for forward(); throws std::invalid_argument when a conditional network lacks them.
  // beats: [B, kBeatPlanes, 1 or H, W] (beat_planes networks; undefined = no beats known).
  ScoreNetCondition condition(const torch::Tensor& known, const torch::Tensor& mask, const torch::Tensor& beats = {});

  const ScoreNetConfig& config() const { return config_; }
  // The precision and layout it computes in (default_compute_path() at construction). The weights
  // stay fp32 (the master copy training updates); convolution weights are kept in NHWC on the
  // channels-last path. Outputs are fp32 and contiguous on every path.
  const ComputePath& compute() const { return compute_; }
  void set_compute(const ComputePath& path);
  const Sde& sde() const { return sde_; }
  int64_t parameter_count() const;

  // context_map's recent plane: the last second of the known past at the bundled 16 fps.
  static constexpr int64_t kRecentFrames = 16;
  // beat_planes: cos, sin of the beat phase; cos, sin of the bar phase; beats known (1) or not (0).
  static constexpr int64_t kBeatPlanes = kBeatPlaneCount;

 private:
  void prepare_weights();  // the channels-last path's NHWC convolution weights (idempotent)
  torch::Tensor conv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, int64_t stride,
                     int64_t padding) const;
  torch::Tensor conv_transposed(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                int64_t padding, std::vector<int64_t> output_padding) const;
  torch::Tensor norm(const torch::nn::GroupNormImpl& layer, const torch::Tensor& x) const;

  ScoreNetConfig config_;
  Sde sde_;
  ComputePath compute_;
  torch::Tensor fourier_w_;
  torch::nn::Linear embed_{nullptr};
  torch::nn::Linear summary_{nullptr};  // context_summary: [C x 88 + 1] -> embed_dim
  torch::nn::ModuleList down_convs_, down_dense_, down_norms_;
  torch::nn::ModuleList up_convs_, up_dense_, up_norms_;
  torch::nn::Conv2d out_{nullptr};
  torch::nn::ConvTranspose2d out_transposed_{nullptr};  // the valid layout's last layer
  torch::nn::GroupNorm attn_norm_{nullptr};
  torch::nn::Conv2d attn_qkv_{nullptr}, attn_out_{nullptr};
};
TORCH_MODULE(ScoreNet);

// torch::conv_transpose2d(x, weight, bias, 2, padding, output_padding) for a 3 x 3 kernel, as one
// 2 x 2 convolution and a pixel shuffle, which oneDNN runs in bf16 and NHWC. padding 0 or 1 (with
// output_padding 1).
torch::Tensor subpixel_conv_transposed(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                       int64_t padding, const std::vector<int64_t>& output_padding);

// Denoising score matching (Song et al.): t ~ U(eps, 1), x_t = mean(t) x0 + std(t) z, loss = batch
// mean of sum over elements of w(t) (score * std + z)^2. w = 1 for Song's network (his loss); for
// the "edm" network w = 1 + sigma^2 / sigma_data^2, which is Karras et al.'s weighting 1 / c_out^2
// of the denoiser's error, so each noise level weighs alike. known/mask are passed through for
// conditional models. Seed torch (torch::manual_seed) for reproducible draws.
torch::Tensor dsm_loss(ScoreNet& net, const torch::Tensor& x0, const torch::Tensor& known = {},
                       const torch::Tensor& mask = {}, const torch::Tensor& beats = {});

enum class DsmWeighting {
  kModel,  // the network's own training weighting (above)
  kSong,   // w = 1 whatever the network: Song's loss, comparable across preconditionings
};
// The per-sample loss at given times t [B] and noise z (shaped like x0): validation's fixed draws.
torch::Tensor dsm_loss_at(ScoreNet& net, const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& z,
                          const torch::Tensor& known, const torch::Tensor& mask,
                          DsmWeighting weighting = DsmWeighting::kModel, const torch::Tensor& beats = {});

}  // namespace scorejam
