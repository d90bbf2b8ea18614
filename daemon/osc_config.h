// [osc] of the config: where the OSC server listens and replies. Apart from osc_server.h so that
// the config does not compile Boost.Asio.
#pragma once

#include <string>

namespace scorejam {

struct OscConfig {
  bool enabled = true;
  std::string bind_address = "127.0.0.1";  // loopback unless the performer asks for more
  int port = 9110;                         // 0 = any free port (read it back with port())
  std::string reply_host = "127.0.0.1";
  int reply_port = 0;                      // 0 = reply to the sender; else every reply goes here
  int max_subscribers = 8;
};

}  // namespace scorejam
