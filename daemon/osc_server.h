// scorejam's OSC server: Boost.Asio owns the UDP socket; each datagram passes validate_osc_packet
// (core/osc_packet.h) before liblo deserialises its messages, which then run against the command
// table (daemon/osc_commands.h). Replies and subscriber notes leave through the same socket.
// Everything runs on the thread that runs the io_context; only counters() may be read elsewhere.
// Slow commands (OscCommand::slow: loading a checkpoint) run on the server's control worker
// thread, one at a time in the order received; their reply is posted back to the io thread and
// sent to where the command came from when it is done, while the io thread goes on answering.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "daemon/osc_commands.h"
#include "daemon/osc_config.h"
#include "realtime/live.h"

namespace scorejam {

struct OscCounters {
  std::int64_t received = 0;       // datagrams
  std::int64_t malformed = 0;      // datagrams refused by the validator, messages refused by liblo
  std::int64_t errors = 0;         // messages answered with /scorejam/fail for any other reason
  std::int64_t send_failures = 0;  // replies and notes the socket did not take
  std::int64_t refused = 0;        // datagrams from senders not in [osc] allow, dropped unanswered
};

class OscServer {
 public:
  // Binds and starts receiving on `io`. Throws std::runtime_error naming address:port when the
  // address does not resolve or the port cannot be bound (busy, no permission).
  OscServer(boost::asio::io_context& io, const OscConfig& config, LiveControl& live);
  // Destroy on the io_context's thread, or after it stopped running.
  ~OscServer();
  OscServer(const OscServer&) = delete;
  OscServer& operator=(const OscServer&) = delete;

  int port() const;  // the bound port

  // Sends /scorejam/note pitch velocity to every subscriber. Call on the io_context's thread
  // (boost::asio::post it there).
  void publish_note(int pitch, int velocity);
  // Sends `message` to every subscriber (the same thread rule).
  void publish(const OscMessage& message);

  OscCounters counters() const;  // any thread

 private:
  void receive();
  void on_receive(const boost::system::error_code& ec, std::size_t size);
  void handle_datagram(std::size_t size);
  void send(const OscMessage& message, const boost::asio::ip::udp::endpoint& to);
  void warn(const std::string& line);
  // Logs what a command did (a refusal as a warning, counted in errors when count_error) and sends
  // its reply to `to`. On the io thread.
  void report(const std::string& address, const OscOutcome& outcome, const boost::asio::ip::udp::endpoint& from,
              const boost::asio::ip::udp::endpoint& to, bool count_error);
  void work();  // the control worker's loop

  boost::asio::io_context& io_;
  LiveControl& live_;
  boost::asio::ip::udp::socket socket_;
  std::optional<boost::asio::ip::udp::endpoint> reply_to_;  // set when reply_port is configured
  std::vector<std::uint8_t> receive_buffer_;
  boost::asio::ip::udp::endpoint sender_;
  std::vector<std::uint8_t> send_buffer_;
  OscSubscribers subscribers_;

  std::atomic<std::int64_t> received_{0}, malformed_{0}, errors_{0}, send_failures_{0}, refused_{0};
  std::vector<boost::asio::ip::address> allowed_;  // empty = every sender

  // At most kWarningsPerSecond warning lines a second: a flood of bad packets must not flood the log.
  static constexpr int kWarningsPerSecond = 10;
  std::chrono::steady_clock::time_point warning_window_start_{};
  int warnings_in_window_ = 0;
  std::int64_t warnings_suppressed_ = 0;

  // The control worker: slow commands queued by the io thread (not a real-time thread: it locks).
  struct SlowJob {
    std::string address;
    std::function<OscOutcome(LiveControl&)> run;
    boost::asio::ip::udp::endpoint from, reply_to;
  };
  std::mutex jobs_mutex_;
  std::condition_variable jobs_ready_;
  std::deque<SlowJob> jobs_;
  bool quit_ = false;
  std::thread worker_;  // last: started once the rest is built
};

}  // namespace scorejam
