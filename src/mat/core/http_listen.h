// Binding an HTTP server to the address a user asked for (`--host`, `--port`), for the commands
// that serve over HTTP. A template over the server type (cpp-httplib's httplib::Server) keeps
// core free of the server library.
#pragma once

#include <string>

#include "mat/core/error.h"

namespace mat::core {

// Binds `server` to host:port (port 0: any free port) and returns the port. Throws core::Error
// saying what to change when it cannot.
template <typename Server>
int bind_listener(Server& server, const std::string& host, int port) {
  int bound = -1;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (server.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    throw Error("cannot listen on " + host + ":" + std::to_string(port) +
                " (in use, or not an address of this machine); choose another --port or --host");
  }
  return bound;
}

}  // namespace mat::core
