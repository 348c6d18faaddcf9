#include "pangeo_forge/api/server.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "pangeo_forge/error.hpp"
#include "support/text.hpp"

namespace pangeo_forge::api {
namespace {

Request to_request(const httplib::Request& in) {
    Request request;
    request.method = in.method;
    request.path = in.path;
    for (const auto& [name, value] : in.params) request.query[name] = value;
    for (const auto& [name, value] : in.headers) request.headers[detail::lowercase(name)] = value;
    request.body = in.body;
    return request;
}

std::string log_line(const httplib::Request& request, int status, std::chrono::steady_clock::duration took) {
    char milliseconds[32];
    std::snprintf(milliseconds, sizeof milliseconds, "%.1f ms",
                  std::chrono::duration<double, std::milli>(took).count());
    return request.method + " " + request.target + " " + std::to_string(status) + " " + milliseconds;
}

}  // namespace

struct Server::Impl {
    const Router& router;
    ServeOptions options;
    httplib::Server http;
    int port = 0;

    void answer(const httplib::Request& in, httplib::Response& out) {
        auto start = std::chrono::steady_clock::now();
        Response response = router.handle(to_request(in));
        out.status = response.status;
        std::string content_type = "application/json";
        for (const auto& [name, value] : response.headers) {
            if (name == "content-type") {
                content_type = value;
            } else {
                out.set_header(name, value);
            }
        }
        out.set_content(response.body, content_type);
        if (options.log) options.log(log_line(in, response.status, std::chrono::steady_clock::now() - start));
    }
};

Server::Server(const Router& router, ServeOptions options) : impl_(new Impl{router, std::move(options), {}, 0}) {
    auto& http = impl_->http;
    const std::size_t threads = std::max<std::size_t>(1, impl_->options.threads);
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_payload_max_length(impl_->options.max_body_bytes);
    // Without it, Nagle and delayed ACKs hold each small response back ~40 ms.
    http.set_tcp_nodelay(true);
    auto handler = [impl = impl_.get()](const httplib::Request& in, httplib::Response& out) { impl->answer(in, out); };
    const char* everything = R"(/.*)";
    http.Get(everything, handler);
    http.Post(everything, handler);
    http.Patch(everything, handler);
    http.Delete(everything, handler);
    http.Put(everything, handler);
    http.Options(everything, handler);
    // A body over the limit never reaches the router: answer in the API's own shape.
    http.set_error_handler([](const httplib::Request&, httplib::Response& out) {
        if (out.status == 413) out.set_content(R"({"detail":"Request Entity Too Large"})", "application/json");
    });
    impl_->port = impl_->options.port == 0 ? http.bind_to_any_port(impl_->options.host)
                                          : (http.bind_to_port(impl_->options.host, impl_->options.port)
                                                 ? impl_->options.port
                                                 : -1);
    if (impl_->port < 0) {
        throw ConfigError("cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) +
                          ": the address is in use or not this machine's; choose another --host or --port");
    }
}

Server::~Server() { stop(); }

int Server::port() const { return impl_->port; }

void Server::run() { impl_->http.listen_after_bind(); }

bool Server::running() const { return impl_->http.is_running(); }

void Server::stop() { impl_->http.stop(); }

}  // namespace pangeo_forge::api

extern "C" const pangeo_forge::api::ServerFunctions* pangeo_forge_http_server_functions() {
    using pangeo_forge::api::Server;
    static const pangeo_forge::api::ServerFunctions functions{
        [](const pangeo_forge::api::Router& router, const pangeo_forge::api::ServeOptions& options) {
            return new Server(router, options);
        },
        [](Server* server) { delete server; },
        [](const Server& server) { return server.port(); },
        [](Server& server) { server.run(); },
        [](Server& server) { server.stop(); },
        [](const Server& server) { return server.running(); },
    };
    return &functions;
}
