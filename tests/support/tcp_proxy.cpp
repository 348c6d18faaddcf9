#include "support/tcp_proxy.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace pangeo_forge::test {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("test proxy: " + what); }

// Port 0: one of the system's choice.
int listen_on_loopback(int port = 0) {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0) fail("cannot create a socket");
    int reuse = 1;  // come_back() binds the port again while the old connections sit in TIME_WAIT
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 64) != 0) {
        ::close(listener);
        fail("cannot listen on 127.0.0.1");
    }
    return listener;
}

int connect_to(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
    int server = -1;
    for (addrinfo* candidate = found; candidate != nullptr && server < 0; candidate = candidate->ai_next) {
        server = ::socket(candidate->ai_family, candidate->ai_socktype, candidate->ai_protocol);
        if (server >= 0 && ::connect(server, candidate->ai_addr, candidate->ai_addrlen) != 0) {
            ::close(server);
            server = -1;
        }
    }
    ::freeaddrinfo(found);
    return server;
}

// Copies what `from` has to `to`; false when either side has ended.
bool pass_on(int from, int to) {
    char buffer[65536];
    ssize_t received = ::recv(from, buffer, sizeof buffer, 0);
    if (received <= 0) return false;
    for (ssize_t sent = 0; sent < received;) {
        ssize_t written = ::send(to, buffer + sent, received - sent, MSG_NOSIGNAL);
        if (written <= 0) return false;
        sent += written;
    }
    return true;
}

}  // namespace

struct TcpProxy::Relay {
    std::string host;
    int server_port;
    int listener;
    int port;
    int wake[2];  // go_down() writes to wake[1]
    std::vector<std::pair<int, int>> links;  // (client, server)
    std::thread thread;

    void run() {
        for (;;) {
            std::vector<pollfd> watched{{wake[0], POLLIN, 0}, {listener, POLLIN, 0}};
            for (auto [client, server] : links) {
                watched.push_back({client, POLLIN, 0});
                watched.push_back({server, POLLIN, 0});
            }
            if (::poll(watched.data(), watched.size(), -1) < 0) continue;
            if (watched[0].revents != 0) break;
            std::vector<std::pair<int, int>> kept;
            for (std::size_t i = 0; i < links.size(); ++i) {
                auto [client, server] = links[i];
                bool open = (watched[2 + 2 * i].revents == 0 || pass_on(client, server)) &&
                            (watched[3 + 2 * i].revents == 0 || pass_on(server, client));
                if (open) {
                    kept.push_back(links[i]);
                } else {
                    ::close(client);
                    ::close(server);
                }
            }
            links.swap(kept);
            if (watched[1].revents != 0) accept_one();  // after the loop above: the new link was not polled
        }
        for (auto [client, server] : links) {
            ::close(client);
            ::close(server);
        }
        links.clear();
        ::close(listener);
    }

    void accept_one() {
        int client = ::accept(listener, nullptr, nullptr);
        if (client < 0) return;
        int server = connect_to(host, server_port);
        if (server < 0) {
            ::close(client);
            return;
        }
        links.emplace_back(client, server);
    }
};

TcpProxy::TcpProxy(const std::string& host, int port) : relay_(new Relay{host, port, -1, 0, {-1, -1}, {}, {}}) {
    relay_->listener = listen_on_loopback();
    sockaddr_in address{};
    socklen_t length = sizeof address;
    ::getsockname(relay_->listener, reinterpret_cast<sockaddr*>(&address), &length);
    relay_->port = ntohs(address.sin_port);
    if (::pipe(relay_->wake) != 0) {
        ::close(relay_->listener);
        fail("cannot create a pipe");
    }
    relay_->thread = std::thread([relay = relay_.get()] { relay->run(); });
}

TcpProxy::~TcpProxy() {
    go_down();
    ::close(relay_->wake[0]);
    ::close(relay_->wake[1]);
}

int TcpProxy::port() const { return relay_->port; }

void TcpProxy::go_down() {
    if (!relay_->thread.joinable()) return;
    char byte = 0;
    if (::write(relay_->wake[1], &byte, 1) != 1) fail("cannot wake the relay");
    relay_->thread.join();
}

void TcpProxy::come_back() {
    if (relay_->thread.joinable()) return;
    relay_->listener = listen_on_loopback(relay_->port);
    char byte = 0;  // go_down()'s wake-up, still in the pipe: the new relay must not stop on it
    if (::read(relay_->wake[0], &byte, 1) != 1) fail("cannot clear the relay's wake-up");
    relay_->thread = std::thread([relay = relay_.get()] { relay->run(); });
}

}  // namespace pangeo_forge::test
