#pragma once
// HTTP clients for the server's tests, on Beast: a polite one that keeps its connection
// alive, and a raw connection for the bytes no polite client sends (pipelined requests,
// slow or oversized headers, lying lengths). Every wait is bounded by a timeout.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pangeo_forge::test {

using namespace std::chrono_literals;

struct HttpReply {
    int status = 0;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;

    std::string header(const std::string& name) const;
};

using HttpHeaders = std::map<std::string, std::string>;

// One connection to 127.0.0.1:port, opened on first use and again after the server
// closed it. Throws std::runtime_error when no answer comes within the timeout.
class HttpClient {
public:
    explicit HttpClient(int port, std::chrono::milliseconds timeout = 10s);
    ~HttpClient();

    HttpReply send(const std::string& method, const std::string& target, const HttpHeaders& headers = {},
                   const std::string& body = {});
    HttpReply get(const std::string& target, const HttpHeaders& headers = {}) { return send("GET", target, headers); }
    HttpReply post(const std::string& target, const std::string& body, const HttpHeaders& headers = {}) {
        return send("POST", target, headers, body);
    }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A TCP connection that sends what it is given.
class RawConnection {
public:
    explicit RawConnection(int port);
    ~RawConnection();

    // False when the server has closed or reset the connection.
    bool send(std::string_view bytes);
    // The next response, or nothing when the server closed the connection first or none
    // came within `timeout`.
    std::optional<HttpReply> read_reply(std::chrono::milliseconds timeout = 10s);
    // What the server sends until it closes the connection, or nothing when it has not
    // closed it within `timeout`.
    std::optional<std::string> rest_until_closed(std::chrono::milliseconds timeout);
    bool closed_within(std::chrono::milliseconds timeout) { return rest_until_closed(timeout).has_value(); }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pangeo_forge::test
