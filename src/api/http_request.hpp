#pragma once
// Reading one HTTP/1.1 request under the server's limits, apart from the sockets: the
// server applies these to each request it reads, and the fuzz target feeds the same
// parser bytes from memory. A request the server answers itself, without the router, is
// a Refusal: the status and the reason, in the API's {"detail": ...} shape.

#include <boost/beast/http.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "pangeo_forge/api/router.hpp"

namespace pangeo_forge::api::http {

namespace beast_http = boost::beast::http;

using Parser = beast_http::request_parser<beast_http::string_body>;
using WireRequest = beast_http::request<beast_http::string_body>;
using WireResponse = beast_http::response<beast_http::string_body>;

struct RequestLimits {
    std::size_t header_bytes;   // the request line, and the header fields apart from it
    std::size_t header_fields;  // how many fields
    std::size_t body_bytes;     // counted after de-chunking
};

struct Refusal {
    int status;
    std::string detail;
};

// Bounds a parser for the next request by `limits`.
void apply_limits(Parser& parser, const RequestLimits& limits);

// What a complete header may still be refused for: too many fields; an HTTP/1.1 request
// without exactly one Host; a body compressed with a Content-Encoding (inflating it would
// escape the body limit); a Transfer-Encoding other than chunked alone.
std::optional<Refusal> check_header(const Parser& parser, const RequestLimits& limits);

// The answer to a reading error: 413 and 431 past a limit, 400 for anything malformed.
// Nothing when the client closed the connection between requests, or the read was
// cancelled: there is no one to answer. (A deadline's 408 is the server's to word.)
std::optional<Refusal> refusal_for(const boost::system::error_code& error, const RequestLimits& limits);

// The router's request from a complete header, without its body: the path of the
// target (origin or absolute form) percent-decoded, the query string split, header names
// in lower case. Taken before the body is read, so that fields in a chunked body's trailer
// never pass for headers.
Request request_head(const WireRequest& message);

// What an answer depends on in the request it answers.
struct Exchange {
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;  // a HEAD request: the answer has no body
};

// The wire response for the router's, or for a refusal (which always closes). A status
// outside 200-599 is answered as a 500: the status line has room for three digits.
WireResponse to_wire(Response response, const Exchange& exchange);
WireResponse to_wire(const Refusal& refusal, const Exchange& exchange);

// What a client sent, fit for a log line or a message: control characters and bytes
// outside ASCII escaped as %XX, and cut after `shown` bytes.
std::string printable(std::string_view text, std::size_t shown = 256);

// "GET /bakeries/ 200 1.2 ms": the access log's line, the method and target escaped and cut.
std::string log_line(std::string_view method, std::string_view target, int status,
                     std::chrono::steady_clock::duration took);

}  // namespace pangeo_forge::api::http
