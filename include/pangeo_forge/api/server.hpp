#pragma once
// The HTTP/1.1 server over the Router: multi-threaded (cpp-httplib's thread pool), one
// pooled database connection per request in flight, a log line per request, a limit on
// request bodies, and a clean stop from another thread (the command stops it on SIGINT
// and SIGTERM). Lives in its own library, pangeo_forge_http, so that programs that do not
// serve do not load the HTTP and TLS libraries: link it (pangeo_forge::http), or load it
// at run time and reach the Server through server_functions (see the end of this file).

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "pangeo_forge/api/router.hpp"

namespace pangeo_forge::api {

struct ServeOptions {
    std::string host = "127.0.0.1";
    int port = 8000;  // 0: any free port (see Server::port())
    std::size_t threads = 8;
    std::size_t max_body_bytes = default_max_body_bytes;
    // One line per request: "GET /bakeries/ 200 1.2 ms". Empty: no log.
    std::function<void(const std::string&)> log;
};

class Server {
public:
    // Binds at once: throws ConfigError when the address cannot be bound.
    Server(const Router& router, ServeOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    int port() const;
    // Serves until stop(); returns then.
    void run();
    // Safe from any thread; requests in flight finish first. Before run() has started it
    // does nothing: wait for running().
    void stop();
    bool running() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The Server's functions for a program that loads pangeo_forge_http with dlopen rather
// than linking it (the `pangeo-forge` command does, to keep its other verbs' start-up
// fast): dlsym(handle, server_functions_symbol) gives the function that returns them.
struct ServerFunctions {
    Server* (*open)(const Router& router, const ServeOptions& options);  // throws as the constructor
    void (*close)(Server* server);                                        // deletes it
    int (*port)(const Server& server);
    void (*run)(Server& server);
    void (*stop)(Server& server);
    bool (*running)(const Server& server);
};
inline constexpr const char* server_functions_symbol = "pangeo_forge_http_server_functions";

}  // namespace pangeo_forge::api

extern "C" const pangeo_forge::api::ServerFunctions* pangeo_forge_http_server_functions();
