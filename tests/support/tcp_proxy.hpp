#pragma once
// A TCP relay between a test's clients and a server that the test can take down: every
// relayed connection then ends at once and new ones are refused, as when the server's
// machine goes away. For tests of what a client does when its server is gone.
//
// Throws std::runtime_error when it cannot listen. One thread relays every connection; the
// relay stops with the object.

#include <memory>
#include <string>

namespace pangeo_forge::test {

class TcpProxy {
public:
    // Listens on 127.0.0.1 at a port of the system's choice and relays to host:port.
    TcpProxy(const std::string& host, int port);
    ~TcpProxy();
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    int port() const;
    // Closes every relayed connection and the listening socket; returns when they are closed.
    void go_down();
    // After go_down(): listens again on the same port and relays new connections, as a
    // server back from a restart. Throws std::runtime_error when the port is taken meanwhile.
    void come_back();

private:
    struct Relay;
    std::unique_ptr<Relay> relay_;
};

}  // namespace pangeo_forge::test
