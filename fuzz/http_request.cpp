// The server's request reading: bytes as a client sends them (pipelined requests one after
// another) through the same parser, limits and checks as src/api/server.cpp, then turned
// into the router's request or a refusal's wire response. Beast's parser is fed from
// memory, as the server's reads feed it from a socket.

#include <cstddef>
#include <cstdint>

#include "api/http_request.hpp"

using namespace pangeo_forge::api;

namespace {

// Small limits, so that the fuzzer reaches them with short inputs.
const http::RequestLimits limits{2048, 20, 4096};

// Feeds `parser` from `data` until it wants no more or fails; returns the bytes it took.
std::size_t feed(http::Parser& parser, const std::uint8_t*& data, std::size_t& size,
                 boost::system::error_code& error, bool header_only) {
    std::size_t taken = 0;
    while (size > 0 && !error && !(header_only ? parser.is_header_done() : parser.is_done())) {
        std::size_t used = parser.put(boost::asio::buffer(data, size), error);
        if (error == boost::beast::http::error::need_more) error = {};
        if (used == 0) break;  // it needs more bytes than there are
        data += used;
        size -= used;
        taken += used;
    }
    return taken;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    while (size > 0) {
        http::Parser parser;
        http::apply_limits(parser, limits);
        parser.eager(false);  // the header first, as the server reads it
        http::Exchange exchange;
        boost::system::error_code error;
        auto refused = [&](const http::Refusal& refusal) { (void)http::to_wire(refusal, exchange); };
        if (feed(parser, data, size, error, true) == 0 && !error) break;
        if (error) {
            if (auto refusal = http::refusal_for(error, limits)) refused(*refusal);
            break;
        }
        if (!parser.is_header_done()) break;
        const auto& header = parser.get();
        exchange = {header.version(), header.keep_alive(), header.method() == boost::beast::http::verb::head};
        if (auto refusal = http::check_header(parser, limits)) {
            refused(*refusal);
            break;
        }
        Request request = http::request_head(header);
        (void)http::log_line(request.method, request.path, 200, {});
        parser.eager(true);
        feed(parser, data, size, error, false);
        if (size == 0 && !error && !parser.is_done()) parser.put_eof(error);
        if (error) {
            if (auto refusal = http::refusal_for(error, limits)) refused(*refusal);
            break;
        }
        if (!parser.is_done()) break;
        request.body = std::move(parser.release().body());
        // The body back as the answer: to_wire must take whatever a client sent.
        (void)http::to_wire(Response{200, {{"content-type", "application/json"}}, std::move(request.body)}, exchange);
    }
    return 0;
}
