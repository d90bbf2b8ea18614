#include "daemon/osc_server.h"

#include <lo/lo.h>
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstring>
#include <stdexcept>

#include "core/osc_packet.h"

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

// liblo's argument pointers are 4-aligned in the message, lo_arg's members up to 8: copy, do not
// dereference.
template <typename T>
T read_arg(const lo_arg* arg) {
  T value;
  std::memcpy(&value, arg, sizeof value);
  return value;
}

std::vector<OscArgument> arguments_of(lo_message message) {
  const char* types = lo_message_get_types(message);
  const int count = lo_message_get_argc(message);
  lo_arg** argv = lo_message_get_argv(message);
  std::vector<OscArgument> args(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    OscArgument& arg = args[static_cast<std::size_t>(i)];
    arg.tag = types[i];
    switch (arg.tag) {
      case LO_INT32: arg.number = read_arg<std::int32_t>(argv[i]); break;
      case LO_FLOAT: arg.number = read_arg<float>(argv[i]); break;
      case LO_DOUBLE: arg.number = read_arg<double>(argv[i]); break;
      case LO_INT64: arg.number = static_cast<double>(read_arg<std::int64_t>(argv[i])); break;
      case LO_STRING: arg.text = reinterpret_cast<const char*>(argv[i]); break;
      case LO_SYMBOL: arg.text = reinterpret_cast<const char*>(argv[i]); break;
      default: break;
    }
  }
  return args;
}

}  // namespace

OscServer::OscServer(boost::asio::io_context& io, const OscConfig& config, LiveControl& live)
    : live_(live), socket_(io), receive_buffer_(kReceiveBufferBytes) {
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
  receive();
}

OscServer::~OscServer() {
  boost::system::error_code ignored;
  socket_.close(ignored);
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
  const std::uint8_t* data = receive_buffer_.data();
  if (const auto error = validate_osc_packet(data, size)) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    fail("(malformed)", fmt::format("not a valid OSC packet of {} bytes: {}", size, to_string(*error)));
    return;
  }
  for_each_osc_message(data, size, [this](const std::uint8_t* message, std::size_t bytes) {
    handle_message(message, bytes);
  });
}

void OscServer::handle_message(const std::uint8_t* data, std::size_t size) {
  const std::string address(reinterpret_cast<const char*>(data));  // validated: NUL-terminated inside
  if (is_osc_reply_address(address)) {
    spdlog::debug("OSC: ignored {} from {}", address, endpoint_text(sender_));
    return;
  }
  int result = 0;
  lo_message message = lo_message_deserialise(const_cast<std::uint8_t*>(data), size, &result);
  if (message == nullptr) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    fail(address, fmt::format("liblo cannot parse the message (liblo error {})", result));
    return;
  }
  const std::vector<OscArgument> args = arguments_of(message);
  lo_message_free(message);

  OscTarget target{live_, subscribers_};
  const OscOutcome outcome = run_osc_command(address, args, target);
  if (outcome.error.empty()) {
    spdlog::debug("OSC: {} from {}", address, endpoint_text(sender_));
  } else {
    errors_.fetch_add(1, std::memory_order_relaxed);
    warn(fmt::format("OSC: {} from {}: {}", address, endpoint_text(sender_), outcome.error));
  }
  reply(outcome.reply);
}

void OscServer::fail(const std::string& address, const std::string& error) {
  warn(fmt::format("OSC: {} from {}: {}", address, endpoint_text(sender_), error));
  reply({std::string(kOscFail), {address, error}});
}

void OscServer::reply(const OscMessage& message) { send(message, reply_to_ ? *reply_to_ : sender_); }

void OscServer::publish_note(int pitch, int velocity) {
  const OscMessage note{std::string(kOscNote), {pitch, velocity}};
  for (const auto& subscriber : subscribers_.endpoints) send(note, subscriber);
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
