#include "support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <stdexcept>

#include "support/text.hpp"

namespace pangeo_forge::test {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using boost::system::error_code;

// A connection to 127.0.0.1:port whose every operation ends within its timeout: each runs
// asynchronously on a private io_context, which the stream's deadline stops.
struct Socket {
    net::io_context io;
    beast::tcp_stream stream{io};
    beast::flat_buffer buffer;

    template <class Start>
    error_code run(std::chrono::milliseconds timeout, Start start) {
        error_code result = net::error::would_block;
        stream.expires_after(timeout);
        start([&result](error_code error, auto&&...) { result = error; });
        io.restart();
        io.run();
        return result;
    }

    error_code connect(int port) {
        net::ip::tcp::endpoint endpoint(net::ip::address_v4::loopback(), static_cast<unsigned short>(port));
        return run(10s, [&](auto handler) { stream.async_connect(endpoint, handler); });
    }

    std::optional<HttpReply> read_reply(std::chrono::milliseconds timeout) {
        beast_http::response<beast_http::string_body> response;
        if (run(timeout, [&](auto handler) { beast_http::async_read(stream, buffer, response, handler); })) {
            return std::nullopt;
        }
        HttpReply reply;
        reply.status = static_cast<int>(response.result_int());
        for (const auto& field : response) {
            reply.headers[detail::lowercase(std::string(field.name_string()))] = std::string(field.value());
        }
        reply.body = std::move(response.body());
        return reply;
    }
};

}  // namespace

std::string HttpReply::header(const std::string& name) const {
    auto it = headers.find(detail::lowercase(name));
    return it == headers.end() ? std::string() : it->second;
}

struct HttpClient::Impl {
    int port;
    std::chrono::milliseconds timeout;
    std::unique_ptr<Socket> socket;  // none until first use, and after the server closed it
};

HttpClient::HttpClient(int port, std::chrono::milliseconds timeout) : impl_(new Impl{port, timeout, nullptr}) {}

HttpClient::~HttpClient() = default;

HttpReply HttpClient::send(const std::string& method, const std::string& target, const HttpHeaders& headers,
                           const std::string& body) {
    beast_http::request<beast_http::string_body> request{beast_http::string_to_verb(method), target, 11};
    request.set(beast_http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty() && !headers.count("Content-Type")) request.set(beast_http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
    // A kept connection the server has closed meanwhile (idle too long) fails before any
    // answer: then once more on a new one.
    for (bool reused = impl_->socket != nullptr;; reused = false) {
        if (!impl_->socket) {
            impl_->socket = std::make_unique<Socket>();
            if (auto error = impl_->socket->connect(impl_->port)) {
                impl_->socket.reset();
                throw std::runtime_error("cannot connect to port " + std::to_string(impl_->port) + ": " + error.message());
            }
        }
        auto& socket = *impl_->socket;
        error_code written = socket.run(impl_->timeout, [&](auto handler) { beast_http::async_write(socket.stream, request, handler); });
        auto reply = written ? std::nullopt : socket.read_reply(impl_->timeout);
        if (!reply) {
            impl_->socket.reset();
            if (reused) continue;
            throw std::runtime_error(method + " " + target + ": no answer" + (written ? ": " + written.message() : ""));
        }
        if (detail::lowercase(reply->header("connection")) == "close") impl_->socket.reset();
        return *reply;
    }
}

struct RawConnection::Impl : Socket {};

RawConnection::RawConnection(int port) : impl_(new Impl) {
    if (auto error = impl_->connect(port)) {
        throw std::runtime_error("cannot connect to port " + std::to_string(port) + ": " + error.message());
    }
}

RawConnection::~RawConnection() = default;

bool RawConnection::send(std::string_view bytes) {
    return !impl_->run(10s, [&](auto handler) { net::async_write(impl_->stream, net::buffer(bytes.data(), bytes.size()), handler); });
}

std::optional<HttpReply> RawConnection::read_reply(std::chrono::milliseconds timeout) { return impl_->read_reply(timeout); }

std::optional<std::string> RawConnection::rest_until_closed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto& buffer = impl_->buffer;
    std::string received(static_cast<const char*>(buffer.data().data()), buffer.size());
    buffer.clear();
    std::array<char, 16 * 1024> scratch;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left <= 0ms) return std::nullopt;
        std::size_t got = 0;
        error_code error = impl_->run(left, [&](auto handler) {
            impl_->stream.async_read_some(net::buffer(scratch), [&got, handler](error_code e, std::size_t n) mutable {
                got = n;
                handler(e, n);
            });
        });
        received.append(scratch.data(), got);
        if (error == beast::error::timeout) return std::nullopt;
        if (error) return received;  // end of stream, reset
    }
}

}  // namespace pangeo_forge::test
