#include "api/http_request.hpp"

#include <cstdio>
#include <iterator>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>

#include "support/text.hpp"

namespace pangeo_forge::api::http {
namespace {

std::string_view view(boost::beast::string_view text) { return {text.data(), text.size()}; }

std::string with_unit(std::size_t bytes) {
    if (bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
    if (bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
    return std::to_string(bytes) + " bytes";
}

}  // namespace

void apply_limits(Parser& parser, const RequestLimits& limits) {
    parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
    parser.body_limit(limits.body_bytes);
}

std::optional<Refusal> check_header(const Parser& parser, const RequestLimits& limits) {
    const auto& header = parser.get();
    if (static_cast<std::size_t>(std::distance(header.begin(), header.end())) > limits.header_fields) {
        return Refusal{431, "the request has more than " + std::to_string(limits.header_fields) +
                                " header fields: send fewer"};
    }
    if (header.version() == 11 && header.count(beast_http::field::host) != 1) {
        return Refusal{400, "an HTTP/1.1 request needs exactly one Host header field"};
    }
    for (const auto& field : header) {
        const auto name = field.name();
        if (name != beast_http::field::content_encoding && name != beast_http::field::transfer_encoding) continue;
        const std::string value = detail::lowercase(detail::trimmed(view(field.value())));
        if (name == beast_http::field::content_encoding && !value.empty() && value != "identity") {
            return Refusal{415, "request bodies with Content-Encoding '" + printable(value, 64) +
                                    "' are not accepted: send the body uncompressed"};
        }
        // Beast takes a body as chunked only when chunked comes last, and reads any other
        // coding as no body at all: the body would then be read as the next request.
        if (name == beast_http::field::transfer_encoding && value != "chunked") {
            return Refusal{501, "Transfer-Encoding '" + printable(value, 64) +
                                    "' is not supported: send the body with Content-Length, or chunked alone"};
        }
    }
    return std::nullopt;
}

std::optional<Refusal> refusal_for(const boost::system::error_code& error, const RequestLimits& limits) {
    if (error == beast_http::error::end_of_stream || error == boost::asio::error::operation_aborted ||
        error == boost::asio::error::connection_reset || error == boost::asio::error::eof) {
        return std::nullopt;
    }
    if (error == beast_http::error::header_limit || error == beast_http::error::buffer_overflow) {
        // The buffer overflows on a chunk's size line or a trailer field that big.
        return Refusal{431, "the request line and header fields exceed " + with_unit(limits.header_bytes) +
                                ": send a shorter request"};
    }
    if (error == beast_http::error::body_limit) {
        return Refusal{413, "the request body exceeds " + with_unit(limits.body_bytes) + ": send a smaller one"};
    }
    // The parser's own words name what was wrong ("bad method", "bad chunk", ...).
    return Refusal{400, "malformed HTTP request: " + error.message()};
}

Request request_head(const WireRequest& message) {
    std::string_view target = view(message.target());
    // The absolute form ("http://host/path"), which a server must accept: its path.
    for (std::string_view scheme : {"http://", "https://"}) {
        if (detail::lowercase(target.substr(0, scheme.size())) != scheme) continue;
        auto path = target.find('/', scheme.size());
        target = path == std::string_view::npos ? std::string_view("/") : target.substr(path);
        break;
    }
    auto question = target.find('?');
    Request request;
    request.method = std::string(message.method_string());
    request.path = *detail::percent_decoded(target.substr(0, question), false, detail::MalformedEscape::keep);
    if (question != std::string_view::npos) request.query = parse_query_string(std::string(target.substr(question + 1)));
    for (const auto& field : message) {
        request.headers[detail::lowercase(view(field.name_string()))] = std::string(field.value());
    }
    return request;
}

WireResponse to_wire(Response response, const Exchange& exchange) {
    const bool answerable = response.status >= 200 && response.status <= 599;
    WireResponse wire{static_cast<beast_http::status>(answerable ? response.status : 500), exchange.version};
    bool typed = false;
    for (auto& [name, value] : response.headers) {
        typed = typed || name == "content-type";
        wire.insert(name, value);
    }
    if (!typed) wire.set(beast_http::field::content_type, "application/json");
    // 204 and 304 have no body to measure (Beast refuses to).
    if (response.status != 204 && response.status != 304) wire.body() = std::move(response.body);
    wire.keep_alive(exchange.keep_alive);
    wire.prepare_payload();
    // The length a GET would have, without the body: a body after a HEAD answer would be
    // read as the start of the next one.
    if (exchange.head) wire.body().clear();
    return wire;
}

WireResponse to_wire(const Refusal& refusal, const Exchange& exchange) {
    // The detail may quote what the client sent: bytes that are not UTF-8 are replaced.
    nlohmann::json body{{"detail", refusal.detail}};
    Response response{refusal.status, {}, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
    if (refusal.status == 503) response.headers.emplace_back("retry-after", "1");
    return to_wire(std::move(response), Exchange{exchange.version, false, exchange.head});
}

std::string printable(std::string_view text, std::size_t shown) {
    std::string out;
    for (unsigned char c : text.substr(0, shown)) {
        if (c >= 0x20 && c < 0x7f) {
            out.push_back(static_cast<char>(c));
        } else {
            char escaped[4];
            std::snprintf(escaped, sizeof escaped, "%%%02X", c);
            out += escaped;
        }
    }
    if (text.size() > shown) out += "...";
    return out;
}

std::string log_line(std::string_view method, std::string_view target, int status,
                     std::chrono::steady_clock::duration took) {
    char milliseconds[32];
    std::snprintf(milliseconds, sizeof milliseconds, "%.1f ms",
                  std::chrono::duration<double, std::milli>(took).count());
    return printable(method) + " " + printable(target) + " " + std::to_string(status) + " " + milliseconds;
}

}  // namespace pangeo_forge::api::http
