#include "daemon/osc_server.h"

#include <lo/lo.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <cstring>
#include <stdexcept>

#include "daemon/osc_dispatch.h"

namespace scorejam {
namespace {

using boost::asio::ip::udp;

// UDP over IPv4 carries at most 65,507 bytes: no datagram is cut short.
constexpr std::size_t kReceiveBufferBytes = 64 * 1024;

udp::endpoint resolve(boost::asio::io_context& io, const std::string& host, int port, const char* what) {
  if (port < 0 || port > 65535) throw std::runtime_error(fmt::format("OSC: {} port {} is outside 0..65535", what, port));
  boost::system::error_code ec;
  udp::resolver resolver(io);
  const auto results = resolver.resolve(host, std::to_string(port), udp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw std::runtime_error(fmt::format("OSC: cannot resolve {} {}:{}: {}", what, host, port, ec.message()));
  }
  for (const auto& result : results) {
    if (result.endpoint().address().is_v4()) return result.endpoint();
  }
  return results.begin()->endpoint();
}

std::string endpoint_text(const udp::endpoint& endpoint) {
  return fmt::format("{}:{}", endpoint.address().to_string(), endpoint.port());
}

}  // namespace

OscServer::OscServer(boost::asio::io_context& io, const OscConfig& config, LiveControl& live)
    : io_(io), live_(live), socket_(io), receive_buffer_(kReceiveBufferBytes) {
  const udp::endpoint local = resolve(io, config.bind_address, config.port, "bind address");
  boost::system::error_code ec;
  socket_.open(local.protocol(), ec);
  if (!ec) socket_.bind(local, ec);
  // Replies and notes must never wait on a full socket: they are dropped and counted instead.
  if (!ec) socket_.non_blocking(true, ec);
  // Room for bursts (a TouchDesigner CHOP sends a message per channel per frame); the kernel caps
  // it at net.core.rmem_max.
  if (!ec) {
    boost::system::error_code ignored;
    socket_.set_option(boost::asio::socket_base::receive_buffer_size(1 << 20), ignored);
  }
  if (ec) {
    throw std::runtime_error(fmt::format("OSC: cannot listen on UDP {}:{}: {}", config.bind_address, config.port,
                                         ec.message()));
  }
  if (config.reply_port != 0) reply_to_ = resolve(io, config.reply_host, config.reply_port, "reply host");
  if (config.max_subscribers < 0) {
    throw std::runtime_error(fmt::format("OSC: max_subscribers {} is negative", config.max_subscribers));
  }
  subscribers_.max = static_cast<std::size_t>(config.max_subscribers);
  for (const auto& text : config.allow) {
    boost::system::error_code bad;
    const auto address = boost::asio::ip::make_address(text, bad);
    if (bad) throw std::runtime_error(fmt::format("OSC: allow: '{}' is not an IP address", text));
    allowed_.push_back(address);
  }
  subscribers_.loopback_only = local.address().is_loopback();
  spdlog::info("OSC: listening on UDP {}:{}, replying to {}", local.address().to_string(), port(),
               reply_to_ ? endpoint_text(*reply_to_) : std::string("the sender"));
  worker_ = std::thread([this] { work(); });
  receive();
}

OscServer::~OscServer() {
  {
    std::lock_guard lock(jobs_mutex_);
    quit_ = true;
    jobs_.clear();  // not started: dropped (the daemon is stopping)
  }
  jobs_ready_.notify_all();
  if (worker_.joinable()) worker_.join();  // a load under way finishes first
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void OscServer::work() {
  for (;;) {
    SlowJob job;
    {
      std::unique_lock lock(jobs_mutex_);
      jobs_ready_.wait(lock, [&] { return quit_ || !jobs_.empty(); });
      if (quit_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    OscOutcome outcome = job.run(live_);
    // Back to the io thread, which owns the socket. After the server is gone the io_context no
    // longer runs, and the handler is destroyed unrun.
    boost::asio::post(io_, [this, address = std::move(job.address), outcome = std::move(outcome), from = job.from,
                            to = job.reply_to] { report(address, outcome, from, to, true); });
  }
}

int OscServer::port() const {
  boost::system::error_code ec;
  return socket_.local_endpoint(ec).port();
}

OscCounters OscServer::counters() const {
  return {received_.load(std::memory_order_relaxed), malformed_.load(std::memory_order_relaxed),
          errors_.load(std::memory_order_relaxed), send_failures_.load(std::memory_order_relaxed),
          refused_.load(std::memory_order_relaxed)};
}

void OscServer::receive() {
  socket_.async_receive_from(boost::asio::buffer(receive_buffer_), sender_,
                             [this](const boost::system::error_code& ec, std::size_t size) {
                               // Aborted: the server is being destroyed; `this` must not be touched.
                               if (ec == boost::asio::error::operation_aborted) return;
                               on_receive(ec, size);
                             });
}

void OscServer::on_receive(const boost::system::error_code& ec, std::size_t size) {
  if (ec == boost::asio::error::bad_descriptor) return;  // closed: no more receiving
  if (ec) {
    warn(fmt::format("OSC: receive failed: {}", ec.message()));
  } else if (!allowed_.empty() &&
             std::find(allowed_.begin(), allowed_.end(), sender_.address()) == allowed_.end()) {
    if (refused_.fetch_add(1, std::memory_order_relaxed) == 0)
      warn(fmt::format("OSC: datagram from {} dropped: not in [osc] allow (further ones are dropped quietly)",
                       endpoint_text(sender_)));
  } else {
    // Nothing a datagram causes may end the io_context's run().
    try {
      handle_datagram(size);
    } catch (const std::exception& e) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      warn(fmt::format("OSC: datagram from {} dropped: {}", endpoint_text(sender_), e.what()));
    }
  }
  receive();
}

void OscServer::handle_datagram(std::size_t size) {
  received_.fetch_add(1, std::memory_order_relaxed);
  OscTarget target{live_, subscribers_};
  for (const auto& d : dispatch_osc_datagram(receive_buffer_.data(), size, target)) {
    switch (d.kind) {
      case OscDispatched::Kind::kIgnored:
        spdlog::debug("OSC: ignored {} from {}", d.address, endpoint_text(sender_));
        continue;
      case OscDispatched::Kind::kDeferred: {
        {
          std::lock_guard lock(jobs_mutex_);
          jobs_.push_back({d.address, d.run, sender_, reply_to_ ? *reply_to_ : sender_});
        }
        jobs_ready_.notify_one();
        spdlog::debug("OSC: {} from {}: queued for the control worker", d.address, endpoint_text(sender_));
        continue;
      }
      case OscDispatched::Kind::kMalformed: malformed_.fetch_add(1, std::memory_order_relaxed); break;
      case OscDispatched::Kind::kRan: break;
    }
    report(d.address, d.outcome, sender_, reply_to_ ? *reply_to_ : sender_, d.kind == OscDispatched::Kind::kRan);
  }
}

void OscServer::report(const std::string& address, const OscOutcome& outcome, const udp::endpoint& from,
                       const udp::endpoint& to, bool count_error) {
  if (outcome.error.empty()) {
    spdlog::debug("OSC: {} from {}", address, endpoint_text(from));
  } else {
    if (count_error) errors_.fetch_add(1, std::memory_order_relaxed);
    warn(fmt::format("OSC: {} from {}: {}", address, endpoint_text(from), outcome.error));
  }
  send(outcome.reply, to);
}

void OscServer::publish_note(int pitch, int velocity) { publish({std::string(kOscNote), {pitch, velocity}}); }

void OscServer::publish(const OscMessage& message) {
  for (const auto& subscriber : subscribers_.endpoints) send(message, subscriber);
}

void OscServer::send(const OscMessage& message, const udp::endpoint& to) {
  lo_message m = lo_message_new();
  if (m == nullptr) {
    send_failures_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  for (const auto& arg : message.args) {
    if (const auto* i = std::get_if<std::int32_t>(&arg)) lo_message_add_int32(m, *i);
    if (const auto* f = std::get_if<float>(&arg)) lo_message_add_float(m, *f);
    if (const auto* s = std::get_if<std::string>(&arg)) lo_message_add_string(m, s->c_str());
  }
  std::size_t size = lo_message_length(m, message.address.c_str());
  send_buffer_.assign(size, 0);
  lo_message_serialise(m, message.address.c_str(), send_buffer_.data(), &size);
  lo_message_free(m);

  boost::system::error_code ec;
  socket_.send_to(boost::asio::buffer(send_buffer_.data(), size), to, 0, ec);
  if (ec) {
    send_failures_.fetch_add(1, std::memory_order_relaxed);
    warn(fmt::format("OSC: cannot send {} to {}: {}", message.address, endpoint_text(to), ec.message()));
  }
}

void OscServer::warn(const std::string& line) {
  const auto now = std::chrono::steady_clock::now();
  if (now - warning_window_start_ >= std::chrono::seconds(1)) {
    if (warnings_suppressed_ > 0) {
      spdlog::warn("OSC: {} warnings not shown (more than {} a second)", warnings_suppressed_, kWarningsPerSecond);
    }
    warning_window_start_ = now;
    warnings_in_window_ = 0;
    warnings_suppressed_ = 0;
  }
  if (warnings_in_window_ < kWarningsPerSecond) {
    ++warnings_in_window_;
    spdlog::warn("{}", line);
  } else {
    ++warnings_suppressed_;
  }
}

}  // namespace scorejam
