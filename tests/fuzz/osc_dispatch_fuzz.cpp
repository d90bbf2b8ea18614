// libFuzzer target for the OSC message handler: bytes straight into dispatch_osc_datagram (the
// validator, liblo, the command table), as the server runs it, against a live control that checks
// what reaches it. Invariants: every setting that reaches the engine is finite and inside the
// range the address space documents; a checkpoint name never carries a path; a refused message
// changes nothing (no more calls reach the engine than messages succeeded); the subscriber list
// stays within its maximum and on loopback; every reply has an address.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon/osc_dispatch.h"

namespace {

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

bool within(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

class CheckedControl final : public scorejam::LiveControl {
 public:
  int calls = 0;  // calls that changed (or may have changed) the engine's state
  void start() override { ++calls; }
  void stop() override { ++calls; }
  void panic() override { ++calls; }
  void request_surprise() override { ++calls; }
  scorejam::LiveSettings settings() const override { return settings_; }
  void apply(const scorejam::LiveSettings& s) override {
    ++calls;
    check(s.sampler.steps >= 1 && s.sampler.steps <= 1000, "steps in 1..1000");
    check(within(s.sampler.snr, 0, 1), "snr finite, in 0..1");
    check(s.sampler.corrector_steps >= 0 && s.sampler.corrector_steps <= 10, "corrector_steps in 0..10");
    check(within(s.sampler.temperature, 0, 2), "temperature finite, in 0..2");
    check(within(s.sampler.guidance, 0, 10), "guidance finite, in 0..10");
    check(within(s.sampler.guidance_t_min, 0, 1), "guidance_t_min finite, in 0..1");
    check(s.sampler.seed <= INT32_MAX, "seed in 0..2^31-1");
    check(within(s.thresholds.onset, 0, 1) && within(s.thresholds.frame, 0, 1), "thresholds finite, in 0..1");
    check(s.pause_ms >= 50 && s.pause_ms <= 10000, "pause_ms in 50..10000");
    check(within(s.answer_seconds, 0.5, 120), "answer_seconds finite, in 0.5..120");
    settings_ = s;
  }
  void load_checkpoint(const std::string& name) override {
    check(!name.empty() && name.find('/') == std::string::npos && name.find("..") == std::string::npos,
          "a checkpoint name without a path reaches the engine");
    // The failure path too: the engine refuses, keeping its model, so nothing changed.
    if (name.size() % 2 == 1) throw std::runtime_error("load: " + name + ": no such model");
    ++calls;
  }
  scorejam::LiveStatus status() const override { return {}; }

 private:
  scorejam::LiveSettings settings_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  CheckedControl live;
  scorejam::OscSubscribers subscribers;
  scorejam::OscTarget target{live, subscribers};
  const auto results = scorejam::dispatch_osc_datagram(data, size, target);
  int succeeded = 0;
  for (const auto& d : results) {
    using Kind = scorejam::OscDispatched::Kind;
    // A slow command is run here, as the server's control worker would run it.
    const auto outcome = d.kind == Kind::kDeferred ? d.run(live) : d.outcome;
    if ((d.kind == Kind::kRan || d.kind == Kind::kDeferred) && outcome.error.empty()) ++succeeded;
    if (d.kind != Kind::kIgnored) check(!outcome.reply.address.empty(), "every answered message gets a reply");
    if (d.kind == Kind::kMalformed) check(!outcome.error.empty(), "a malformed message says why");
  }
  check(live.calls <= succeeded, "a refused message changed nothing");
  check(subscribers.endpoints.size() <= subscribers.max, "subscribers within their maximum");
  for (const auto& e : subscribers.endpoints) check(e.address().is_loopback(), "subscribers on loopback only");
  return 0;
}
