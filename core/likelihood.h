// Exact log-likelihood of piano rolls under a score model (Song et al. 2021, section D.2): the
// probability-flow ODE dx/dt = f(x, t) - g(t)^2 s(x, t) / 2 integrated from the data (t = eps) to
// t = 1 together with the divergence of its drift, estimated by the Skilling-Hutchinson trace
// estimator (fixed probes over the whole integration; vector-Jacobian products through LibTorch's
// autograd), with Boost.Odeint's adaptive Dormand-Prince solver; then the prior's log-density at
// t = 1. log p_eps(x) = log p_1(x(1)) + integral_eps^1 div v(x(t), t) dt.
// Conditional: only the region's dimensions count (the rest, the known past, follows the
// deterministic path mean(t) known + std(t) z0 the ODE sampler gives it). No threads of its own;
// runs on the device of the network.
#pragma once

#include <ATen/core/Tensor.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "core/model_spec.h"
#include "core/notes.h"
#include "core/sampler.h"
#include "core/score_net.h"

namespace scorejam {

struct LikelihoodConfig {
  double rtol = 1e-4;  // the ODE solver's tolerances (Song et al. use 1e-5; 1e-3 is 7% off: bench --config likelihood)
  double atol = 1e-4;
  int probes = 1;          // Hutchinson probes (each a vector-Jacobian product per evaluation)
  bool gaussian_probes = false;  // false: Rademacher (lower variance), true: standard normal
  std::uint64_t seed = 0;  // the probes and the known region's path noise
  double eps = 1e-5;       // where the data sits (the model's training eps)
  int max_nfe = 20000;     // a solver that needs more stops with an error instead of running on
  // Raised by another thread: the solver stops between evaluations with SamplingCancelled
  // (core/sampler.h). The live surprise uses it to give way when the engine stops.
  const std::atomic<bool>* cancel = nullptr;
};

struct LikelihoodResult {
  at::Tensor nll_nats;  // [B], -log p of each roll's counted dimensions, in nats (float64, CPU)
  std::int64_t dims = 0;  // counted dimensions per roll (the region's, or all)
  int nfe = 0;            // network evaluations (each with its vector-Jacobian products)
  // nll / (dims ln 2): bits per dimension of the continuous density at t = eps ("differential"
  // bits: comparable between models of the same representation, frame rate and window only).
  at::Tensor bits_per_dim() const;
};

// The dequantisation offset (Song et al.'s `offset` in likelihood.py, 7 bits for 8-bit images in
// [-1, 1]): bits per dimension to add to the differential figure for the code length of the roll's
// discrete values under uniform dequantisation, -log2 of each channel's bin width in the model's
// [-1, 1] scale, averaged over the model's channels. Onset and frame and pedal are two-valued
// (bins of width 2: -1 bit), velocity has 128 levels (bins of 2/127: +5.99 bits), the onset offset
// is continuous (0). Of the 3-channel roll: +1.33 bits per dimension.
double dequantisation_offset_bits(const RollFormat& format, int channels);

// x: [B, C, H, W] in the model's scale. region: undefined (every dimension counts) or [B, 1 or C,
// H, W] with 1 where a dimension counts. Throws std::invalid_argument for a wrong shape, a region
// that counts nothing, a value outside [-1.5, 1.5], or a non-finite score (naming it).
LikelihoodResult log_likelihood(const ScoreFn& score, const Sde& sde, const at::Tensor& x, const LikelihoodConfig& config,
                                const at::Tensor& region = {});

// With a network: a conditional one is given `known` and its `mask` (mask = 1: known; the counted
// region is where mask = 0). Without inpainting, nothing is known and the whole roll counts.
LikelihoodResult log_likelihood(ScoreNet& net, const at::Tensor& x, const LikelihoodConfig& config,
                                const Inpainting* inpainting = nullptr);

// Bits of note windows under a model: each window is one of the model's training windows
// (window_frames at its frame rate) with the prompt's notes (times 0..prompt_s) ending at its middle
// and the continuation's notes (times from 0) after it. With `conditional`, the prompt is the known
// past (the model's own condition) and only the second half counts: how likely the continuation is
// given the prompt. Without, nothing is known and the whole window counts. Windows go through the
// ODE `batch` at a time.
struct WindowBits {
  std::vector<double> bits_per_dim;   // one per window
  std::vector<double> bits_per_note;  // counted bits over the onsets in the counted region (NaN: none)
  std::int64_t dims = 0;              // counted dimensions a window
  int nfe = 0;                        // network evaluations in all
  double wall_s = 0;
};
WindowBits note_window_bits(ScoreNet& net, const ModelSpec& spec, const std::vector<std::vector<Note>>& prompts,
                            const std::vector<std::vector<Note>>& continuations, double prompt_s, bool conditional,
                            const LikelihoodConfig& config, int batch = 8);

// The bits of one window of grid notes given its first `known_frames` frames (the live surprise:
// the player's last phrase given what came before it). `notes` and `pedal` are window-relative,
// as Performance::window gives them; the counted region is frames [known_frames, window_frames),
// and bits_per_note divides its bits by the notes struck there (NaN when none is). Throws
// std::invalid_argument for known_frames outside [1, window_frames), SamplingCancelled when
// config.cancel is raised.
struct GridWindowBits {
  double bits_per_dim = 0;
  double bits_per_note = 0;
  int notes = 0;     // onsets in the counted region
  std::int64_t dims = 0;
  int nfe = 0;
  double wall_s = 0;
};
GridWindowBits grid_window_bits(ScoreNet& net, const ModelSpec& spec, const std::vector<GridNote>& notes,
                                const std::vector<GridPedal>& pedal, int known_frames, const LikelihoodConfig& config);

}  // namespace scorejam
