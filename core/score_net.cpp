#include "core/score_net.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace scorejam {
namespace {

// Largest power of two <= 32 that divides the width and leaves at least 4 channels a group.
int64_t norm_groups(int width) {
  int g = 32;
  while (g > 1 && (width % g != 0 || width / g < 4)) g /= 2;
  return g;
}

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

constexpr int kSummaryKeys = 88;  // the context summary's keys (other heights are pooled to it)

// Each key's mean over its known frames and over the last `recent` of them, per channel, in [0, 1]
// (silence 0), spread along the key's row; then the key's place, -1 at the bottom row to 1 at the
// top. known: [B, C, H, W]; mask: [B, 1, H, W]. Returns [B, 2 C + 1, H, W].
torch::Tensor context_map(const torch::Tensor& known, const torch::Tensor& mask, int64_t recent) {
  const auto width = known.size(3);
  const auto level = (known + 1.0) * 0.5 * mask;                            // [B, C, H, W]
  const auto all = level.sum(3, true) / mask.sum(3, true).clamp_min(1.0);   // [B, C, H, 1]
  // The last known frame of each row, and the known frames within `recent` of it.
  const auto frame = torch::arange(width, mask.options()).view({1, 1, 1, width});
  const auto last = (mask * (frame + 1.0)).amax(3, true) - 1.0;            // [B, 1, H, 1]; -1: none
  const auto near = mask * (frame > last - static_cast<double>(recent)).to(mask.scalar_type());
  const auto latest = (level * near).sum(3, true) / near.sum(3, true).clamp_min(1.0);
  const auto place = torch::linspace(-1.0, 1.0, known.size(2), mask.options()).view({1, 1, -1, 1});
  return torch::cat({all.expand_as(known), latest.expand_as(known),
                     place.expand({known.size(0), 1, known.size(2), width})}, 1);
}

}  // namespace

ScoreNetImpl::ScoreNetImpl(const ScoreNetConfig& config, const Sde& sde)
    : config_(config), sde_(sde), compute_(default_compute_path()) {
  if (config.widths.size() < 2) throw std::invalid_argument("ScoreNet: at least two widths (one level down)");
  if (config.channels < 1) throw std::invalid_argument("ScoreNet: channels must be >= 1");
  for (int w : config.widths)
    if (w < 4 || w % 4) throw std::invalid_argument("ScoreNet: widths must be multiples of 4");
  if (config.embed_dim % 2) throw std::invalid_argument("ScoreNet: embed_dim must be even");
  if (config.preconditioning != "song" && config.preconditioning != "edm")
    throw std::invalid_argument("ScoreNet: preconditioning must be \"song\" or \"edm\", not \"" +
                                config.preconditioning + "\"");
  if (!(config.sigma_data > 0)) throw std::invalid_argument("ScoreNet: sigma_data must be > 0");
  if (config.context_summary && !config.conditional)
    throw std::invalid_argument("ScoreNet: context_summary needs a conditional model");
  if (config.context_map && !config.conditional)
    throw std::invalid_argument("ScoreNet: context_map needs a conditional model");
  if (config.beat_planes && !config.conditional)
    throw std::invalid_argument("ScoreNet: beat_planes needs a conditional model");

  // Fixed random features: a buffer, saved with the weights but never trained.
  fourier_w_ = register_buffer("fourier_w", torch::randn({config.embed_dim / 2}) * config.fourier_scale);
  embed_ = register_module("embed", torch::nn::Linear(config.embed_dim, config.embed_dim));
  if (config.context_summary)
    summary_ = register_module("summary", torch::nn::Linear(config.channels * kSummaryKeys + 1, config.embed_dim));

  const auto& w = config.widths;
  const int depth = static_cast<int>(w.size()) - 1;
  // The roll; when conditional the known roll and its mask; with the map, two planes a channel and
  // the key's place.
  const int in_channels = config.conditional ? 2 * config.channels + 1 + (config.context_map ? 2 * config.channels + 1 : 0) +
                                                   (config.beat_planes ? static_cast<int>(kBeatPlanes) : 0)
                                             : config.channels;
  down_convs_ = register_module("down_convs", torch::nn::ModuleList());
  down_dense_ = register_module("down_dense", torch::nn::ModuleList());
  down_norms_ = register_module("down_norms", torch::nn::ModuleList());
  for (int i = 0; i <= depth; ++i) {
    const int from = i == 0 ? in_channels : w[i - 1];
    down_convs_->push_back(torch::nn::Conv2d(
        torch::nn::Conv2dOptions(from, w[i], 3).stride(i == 0 ? 1 : 2).padding(config.valid_convolutions ? 0 : 1).bias(false)));
    down_dense_->push_back(torch::nn::Linear(config.embed_dim, w[i]));
    down_norms_->push_back(torch::nn::GroupNorm(norm_groups(w[i]), w[i]));
  }
  if (config.attention) {
    const int c = w[depth];
    attn_norm_ = register_module("attn_norm", torch::nn::GroupNorm(norm_groups(c), c));
    attn_qkv_ = register_module("attn_qkv", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, 3 * c, 1)));
    attn_out_ = register_module("attn_out", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 1)));
  }
  // Up path: level i (depth-1 .. 0) doubles the resolution; from the second step on its input is
  // the concatenation with the skip of the level below.
  up_convs_ = register_module("up_convs", torch::nn::ModuleList());
  up_dense_ = register_module("up_dense", torch::nn::ModuleList());
  up_norms_ = register_module("up_norms", torch::nn::ModuleList());
  for (int i = depth - 1; i >= 0; --i) {
    const int from = i == depth - 1 ? w[depth] : 2 * w[i + 1];
    up_convs_->push_back(torch::nn::ConvTranspose2d(
        torch::nn::ConvTranspose2dOptions(from, w[i], 3).stride(2).padding(config.valid_convolutions ? 0 : 1)
            .output_padding(config.valid_convolutions ? 0 : 1).bias(false)));
    up_dense_->push_back(torch::nn::Linear(config.embed_dim, w[i]));
    up_norms_->push_back(torch::nn::GroupNorm(norm_groups(w[i]), w[i]));
  }
  if (config.valid_convolutions)
    out_transposed_ = register_module("out", torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(2 * w[0], config.channels, 3)));
  else
    out_ = register_module("out", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * w[0], config.channels, 3).padding(1)));
}

void ScoreNetImpl::set_compute(const ComputePath& path) {
  compute_ = path;
  prepare_weights();
}

void ScoreNetImpl::prepare_weights() {
  if (!compute_.channels_last) return;
  // set_data keeps each parameter the same variable (an optimizer's reference stays valid) and
  // gives it NHWC strides: the convolutions then read it without a copy. The transposed
  // convolutions run in NCHW (LibTorch 1.13 has no NHWC kernel for them) and keep theirs.
  torch::NoGradGuard no_grad;
  auto to_nhwc = [](torch::Tensor& weight) {
    if (weight.defined() && weight.dim() == 4 && !weight.is_contiguous(torch::MemoryFormat::ChannelsLast))
      weight.set_data(weight.contiguous(torch::MemoryFormat::ChannelsLast));
  };
  for (const auto& module : *down_convs_) to_nhwc(module->as<torch::nn::Conv2d>()->weight);
  if (out_) to_nhwc(out_->weight);
}

torch::Tensor ScoreNetImpl::conv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                 int64_t stride, int64_t padding) const {
  // Two-element strides, paddings and dilations: LibTorch's profiler counts a convolution's FLOPs
  // only then (and warns for every call otherwise).
  const std::vector<int64_t> strides{stride, stride}, paddings{padding, padding}, dilations{1, 1};
  if (!compute_.bf16) return torch::conv2d(x, weight, bias, strides, paddings, dilations);
  // The bf16 path: the convolution in bf16 (oneDNN's AMX kernel), its input and output fp32.
  return torch::conv2d(x.to(torch::kBFloat16), weight.to(torch::kBFloat16), bias.defined() ? bias.to(torch::kBFloat16) : bias,
                       strides, paddings, dilations)
      .to(torch::kFloat);
}

// A stride-2, 3 x 3 transposed convolution as one ordinary 2 x 2 convolution with four times the
// output channels, then a pixel shuffle: each output pixel's parity (a, b) takes its own taps of
// the kernel (the sub-pixel form of Shi et al. 2016). The same sums, so the same result to
// rounding; but oneDNN runs it (LibTorch 1.13's CPU transposed convolution is a naive kernel with
// no bf16 and no NHWC). padding 1 with output_padding 1 (the padded layout) or padding 0 (the
// valid layout, output_padding 0 or 1). The weight is rearranged by indexing, so gradients reach it.
torch::Tensor subpixel_conv_transposed(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                       int64_t padding, const std::vector<int64_t>& output_padding) {
  // taps[a][d]: the kernel row feeding output parity a from the input at offset d; 3 is a zero row.
  static const int64_t kTaps[2][2][2] = {{{2, 0}, {3, 1}},   // padding 0
                                         {{1, 3}, {2, 0}}};  // padding 1
  const auto& taps = kTaps[padding];
  const auto index = torch::tensor({taps[0][0], taps[0][1], taps[1][0], taps[1][1]}, torch::kLong);
  const int64_t in_channels = weight.size(0), out_channels = weight.size(1);
  auto w = torch::constant_pad_nd(weight.permute({1, 0, 2, 3}), {0, 1, 0, 1});  // [Cout, Cin, 4, 4], row 3 zero
  w = w.index_select(2, index).index_select(3, index).view({out_channels, in_channels, 2, 2, 2, 2});
  w = w.permute({0, 2, 4, 1, 3, 5}).reshape({out_channels * 4, in_channels, 2, 2});
  if (x.is_contiguous(torch::MemoryFormat::ChannelsLast)) w = w.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto b = bias.defined() ? bias.repeat_interleave(4) : bias;
  const auto padded = padding == 1 ? torch::constant_pad_nd(x, {0, 1, 0, 1}) : torch::constant_pad_nd(x, {1, 1, 1, 1});
  auto y = torch::pixel_shuffle(torch::conv2d(padded, w, b, at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1}), 2);
  if (padding == 0)
    y = y.slice(2, 0, 2 * x.size(2) + 1 + output_padding[0]).slice(3, 0, 2 * x.size(3) + 1 + output_padding[1]);
  return y;
}

torch::Tensor ScoreNetImpl::conv_transposed(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                            int64_t padding, std::vector<int64_t> output_padding) const {
  if (compute_.bf16)
    return subpixel_conv_transposed(x.to(torch::kBFloat16), weight.to(torch::kBFloat16),
                                    bias.defined() ? bias.to(torch::kBFloat16) : bias, padding, output_padding)
        .to(torch::kFloat);
  if (!compute_.channels_last) return torch::conv_transpose2d(x, weight, bias, 2, padding, output_padding);
  // NHWC in and out; NCHW inside, where LibTorch 1.13's kernel is 2.5x faster than its NHWC one.
  return torch::conv_transpose2d(x.contiguous(), weight, bias, 2, padding, output_padding)
      .contiguous(torch::MemoryFormat::ChannelsLast);
}

torch::Tensor ScoreNetImpl::norm(const torch::nn::GroupNormImpl& layer, const torch::Tensor& x) const {
  // fp32 on every path: the bf16 path keeps its activations fp32 between convolutions.
  const auto& o = layer.options;
  return torch::group_norm(x, o.num_groups(), layer.weight, layer.bias, o.eps());
}

int64_t ScoreNetImpl::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

ScoreNetCondition ScoreNetImpl::condition(const torch::Tensor& known, const torch::Tensor& mask, const torch::Tensor& beats) {
  if (!config_.conditional) return {};
  if (!known.defined() || !mask.defined()) throw std::invalid_argument("ScoreNet: conditional model needs known and mask");
  const int depth = static_cast<int>(config_.widths.size()) - 1;
  const int64_t multiple = config_.valid_convolutions ? 1 : int64_t{1} << depth;
  const int64_t pad_h = round_up(known.size(2), multiple) - known.size(2), pad_w = round_up(known.size(3), multiple) - known.size(3);
  // The first convolution has no bias and is linear in its input channels: its response to the
  // conditioning planes is added to its response to the roll's.
  auto planes = config_.context_map ? torch::cat({known * mask, mask, context_map(known, mask, kRecentFrames)}, 1)
                                    : torch::cat({known * mask, mask}, 1);
  if (config_.beat_planes) {
    const std::vector<int64_t> size{known.size(0), kBeatPlanes, known.size(2), known.size(3)};
    if (beats.defined() && (beats.dim() != 4 || beats.size(0) != size[0] || beats.size(1) != kBeatPlanes ||
                            beats.size(3) != size[3] || (beats.size(2) != 1 && beats.size(2) != size[2])))
      throw std::invalid_argument("ScoreNet: beats must be [B, 5, 1 or H, W] like the known roll");
    planes = torch::cat({planes, beats.defined() ? beats.to(planes.options()).expand(size) : torch::zeros(size, planes.options())}, 1);
  }
  if (pad_h || pad_w) planes = torch::constant_pad_nd(planes, {0, pad_w, 0, pad_h});
  prepare_weights();
  if (compute_.channels_last) planes = planes.contiguous(torch::MemoryFormat::ChannelsLast);
  auto* first = down_convs_[0]->as<torch::nn::Conv2d>();
  ScoreNetCondition condition;
  condition.first_layer = conv(planes, first->weight.narrow(1, config_.channels, planes.size(1)), {}, 1,
                               config_.valid_convolutions ? 0 : 1);
  if (config_.context_summary) {
    // Each key's mean over the known frames, in [0, 1] (silence 0), per channel; and the share known.
    const auto frames_known = mask.sum(3).clamp_min(1.0);                   // [B, 1, H]
    auto per_key = ((known + 1.0) * 0.5 * mask).sum(3) / frames_known;     // [B, C, H]
    if (per_key.size(2) != kSummaryKeys) per_key = torch::adaptive_avg_pool1d(per_key, kSummaryKeys);
    const auto share = mask.mean({1, 2, 3}).unsqueeze(1);                  // [B, 1]
    condition.summary = torch::silu(summary_->forward(torch::cat({per_key.flatten(1), share}, 1)));
  }
  return condition;
}

torch::Tensor ScoreNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& known,
                                    const torch::Tensor& mask, const torch::Tensor& beats) {
  return forward(x, t, condition(known, mask, beats));
}

torch::Tensor ScoreNetImpl::forward(const torch::Tensor& x, const torch::Tensor& t, const ScoreNetCondition& condition) {
  const int depth = static_cast<int>(config_.widths.size()) - 1;
  const int64_t height = x.size(2), width = x.size(3);
  const int64_t multiple = config_.valid_convolutions ? 1 : int64_t{1} << depth;
  const int64_t pad_h = round_up(height, multiple) - height, pad_w = round_up(width, multiple) - width;
  if (config_.conditional && !condition.first_layer.defined())
    throw std::invalid_argument("ScoreNet: conditional model needs known and mask");

  // EDM: sigma = std / mean and the input scaled into the variance-exploding space, then by c_in.
  const bool edm = config_.preconditioning == "edm";
  torch::Tensor mean, std, sigma, scaled;
  if (edm) {
    mean = per_sample(sde_.mean_coeff(t), x);
    std = per_sample(sde_.std(t), x);
    sigma = std / mean;
    scaled = x / mean;
  }
  const double sd2 = config_.sigma_data * config_.sigma_data;
  torch::Tensor h = edm ? scaled * (sigma.square() + sd2).rsqrt() : x;
  if (pad_h || pad_w) h = torch::constant_pad_nd(h, {0, pad_w, 0, pad_h});
  prepare_weights();
  const bool nhwc = compute_.channels_last;
  if (nhwc) h = h.contiguous(torch::MemoryFormat::ChannelsLast);

  const auto projected = t.unsqueeze(1) * fourier_w_.unsqueeze(0) * (2.0 * M_PI);
  auto embed = torch::silu(embed_->forward(torch::cat({torch::sin(projected), torch::cos(projected)}, 1)));
  if (condition.summary.defined()) embed = embed + condition.summary;
  auto inject = [&](torch::nn::ModuleList& dense, std::size_t i) {
    return dense[i]->as<torch::nn::Linear>()->forward(embed).unsqueeze(-1).unsqueeze(-1);
  };

  // Without autograd (sampling), every level's skip is written straight into the second half of the
  // buffer its concatenation with the up path uses, and the up path's output into the first half:
  // no torch::cat copies and fewer fresh allocations, which cost page faults on every call. Time
  // embeddings are added in place to the fresh convolution outputs. (Not in NHWC, where a channel
  // slice of the shared buffer is not dense and the next convolution would copy it.)
  const bool inference = !torch::GradMode::is_enabled();
  const bool shared_buffers = inference && !nhwc;
  const auto& w = config_.widths;
  std::vector<torch::Tensor> skips, joined(static_cast<std::size_t>(depth));
  for (int i = 0; i <= depth; ++i) {
    if (i == 0 && config_.conditional) {
      auto* first = down_convs_[0]->as<torch::nn::Conv2d>();
      h = conv(h, first->weight.narrow(1, 0, config_.channels), {}, 1, config_.valid_convolutions ? 0 : 1);
      h.add_(condition.first_layer);
    } else {
      h = conv(h, down_convs_[i]->as<torch::nn::Conv2d>()->weight, {}, i == 0 ? 1 : 2, config_.valid_convolutions ? 0 : 1);
    }
    h.add_(inject(down_dense_, i));
    h = norm(*down_norms_[i]->as<torch::nn::GroupNorm>(), h);
    if (shared_buffers && i < depth) {
      auto& buffer = joined[static_cast<std::size_t>(i)];
      buffer = torch::empty({h.size(0), 2 * w[i], h.size(2), h.size(3)}, h.options());
      auto skip = buffer.narrow(1, w[i], w[i]);
      torch::silu_out(skip, h);
      h = skip;
    } else {
      h = inference ? torch::silu_(h) : torch::silu(h);
    }
    skips.push_back(h);
  }
  if (config_.attention) {
    // In fp32 on every path: at the lowest resolution it is cheap, and bf16 logits (8 bits of
    // mantissa at magnitudes near 10) move the softmax by about 2%.
    const auto b = h.size(0), c = h.size(1), hh = h.size(2), ww = h.size(3);
    const auto h32 = h.to(torch::kFloat).contiguous();
    auto qkv = torch::conv2d(torch::group_norm(h32, attn_norm_->options.num_groups(), attn_norm_->weight, attn_norm_->bias,
                                               attn_norm_->options.eps()),
                             attn_qkv_->weight, attn_qkv_->bias, at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1})
                   .reshape({b, 3, c, hh * ww});
    auto q = qkv.select(1, 0).transpose(1, 2), k = qkv.select(1, 1), v = qkv.select(1, 2).transpose(1, 2);
    auto weights = torch::softmax(torch::bmm(q, k) / std::sqrt(static_cast<double>(c)), -1);
    auto attended = torch::conv2d(torch::bmm(weights, v).transpose(1, 2).reshape({b, c, hh, ww}), attn_out_->weight,
                                  attn_out_->bias, at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0}, at::IntArrayRef{1, 1});
    if (nhwc) attended = attended.contiguous(torch::MemoryFormat::ChannelsLast);
    h = h + attended;
  }
  for (int step = 0; step < depth; ++step) {
    const auto level = static_cast<std::size_t>(depth - 1 - step);
    if (step > 0 && !shared_buffers) h = torch::cat({h, skips[level + 1]}, 1);
    auto* up_conv = up_convs_[step]->as<torch::nn::ConvTranspose2d>();
    if (config_.valid_convolutions) {
      // Unpadded: (n - 1) * 2 + 3, one short of the skip's size where that is even.
      const auto& target = skips[level];
      const int64_t extra_h = target.size(2) - ((h.size(2) - 1) * 2 + 3), extra_w = target.size(3) - ((h.size(3) - 1) * 2 + 3);
      if (extra_h < 0 || extra_h > 1 || extra_w < 0 || extra_w > 1)
        throw std::invalid_argument("ScoreNet: input too small for the valid-convolution layout");
      h = conv_transposed(h, up_conv->weight, {}, 0, {extra_h, extra_w});
    } else {
      h = conv_transposed(h, up_conv->weight, {}, 1, {1, 1});
    }
    h.add_(inject(up_dense_, step));
    h = norm(*up_norms_[step]->as<torch::nn::GroupNorm>(), h);
    if (shared_buffers) {
      auto up = joined[level].narrow(1, 0, w[level]);
      torch::silu_out(up, h);
      h = joined[level];
    } else {
      h = inference ? torch::silu_(h) : torch::silu(h);
    }
  }
  if (!shared_buffers) h = torch::cat({h, skips[0]}, 1);
  if (config_.valid_convolutions && !compute_.bf16 && !nhwc) {
    h = out_transposed_->forward(h);
  } else if (config_.valid_convolutions) {
    // Stride 1: an ordinary convolution with the kernel flipped and its channels swapped, padded by 2.
    auto weight = out_transposed_->weight.flip({2, 3}).transpose(0, 1);
    if (nhwc) weight = weight.contiguous(torch::MemoryFormat::ChannelsLast);
    h = conv(h, weight, out_transposed_->bias, 1, 2);
  } else {
    h = conv(h, out_->weight, out_->bias, 1, 1);
  }
  if (nhwc) h = h.contiguous();
  if (pad_h || pad_w) h = h.slice(2, 0, height).slice(3, 0, width);
  if (!edm) return h / per_sample(sde_.std(t), h);
  // D = c_skip x + c_out F; score = (mean D - x) / std^2.
  const auto s2 = sigma.square();
  const auto denoised = scaled * (sd2 / (s2 + sd2)) + h * (sigma * config_.sigma_data * (s2 + sd2).rsqrt());
  return (mean * denoised - x) / std.square();
}

torch::Tensor dsm_loss_at(ScoreNet& net, const torch::Tensor& x0, const torch::Tensor& t, const torch::Tensor& z,
                          const torch::Tensor& known, const torch::Tensor& mask, DsmWeighting weighting,
                          const torch::Tensor& beats) {
  const auto& sde = net->sde();
  const auto std = per_sample(sde.std(t), x0);
  const auto score = net->forward(sde.perturb(x0, t, z), t, known, mask, beats);
  auto loss = (score * std + z).pow(2).flatten(1).sum(1);
  if (weighting == DsmWeighting::kModel && net->config().preconditioning == "edm") {
    const double sd = net->config().sigma_data;
    loss = loss * (1.0 + (sde.std(t) / sde.mean_coeff(t)).square() / (sd * sd));
  }
  return loss;
}

torch::Tensor dsm_loss(ScoreNet& net, const torch::Tensor& x0, const torch::Tensor& known, const torch::Tensor& mask,
                       const torch::Tensor& beats) {
  const double eps = net->sde().config.eps;
  const auto t = torch::rand({x0.size(0)}, x0.options()) * (1.0 - eps) + eps;
  return dsm_loss_at(net, x0, t, torch::randn_like(x0), known, mask, DsmWeighting::kModel, beats).mean();
}

}  // namespace scorejam
