// [osc] of the config: where the OSC server listens and replies. Apart from osc_server.h so that
// the config does not compile Boost.Asio.
#pragma once

#include <string>
#include <vector>

namespace scorejam {

struct OscConfig {
  bool enabled = true;
  std::string bind_address = "127.0.0.1";  // loopback unless the performer asks for more
  int port = 9110;                         // 0 = any free port (read it back with port())
  std::string reply_host = "127.0.0.1";
  int reply_port = 0;                      // 0 = reply to the sender; else every reply goes here
  int max_subscribers = 8;
  // Sender IP addresses whose datagrams are read; empty = any sender that can reach bind_address.
  // Datagrams from others are dropped unanswered (an answer would make scorejam a reflector).
  std::vector<std::string> allow;
};

}  // namespace scorejam
