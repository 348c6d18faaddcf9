#pragma once
// The HTTP/1.1 server over the Router, on Boost.Beast and Boost.Asio: io_threads (one by
// default) carry every connection, and the router runs on a pool of workers as
// large as the database pool, so a slow client costs a socket, never a worker. What it
// reads is bounded (header bytes and fields, body bytes after de-chunking, compressed
// bodies refused), each phase of a connection has a deadline, the number of connections
// has a cap, pipelined requests are answered in order, and stop() lets the requests in
// flight finish while refusing new ones. Lives in its own library, pangeo_forge_http, so
// that programs that do not serve do not load it: link it (pangeo_forge::http), or load it
// at run time and reach the Server through server_functions (see the end of this file).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "pangeo_forge/api/router.hpp"

namespace pangeo_forge::api {

struct ServeOptions {
    std::string host = "127.0.0.1";
    int port = 8000;  // 0: any free port (see Server::port())
    // The router's workers: as many requests handled at once, so the database pool's size.
    std::size_t threads = 8;
    std::size_t io_threads = 1;  // the threads reading and writing sockets
    // Past it, a 503 and the connection closed. The process's soft limit on open files is
    // raised to fit it (within the hard limit), else the Server refuses it: ConfigError.
    std::size_t max_connections = 1024;
    std::size_t max_body_bytes = default_max_body_bytes;  // 413 beyond, chunked included
    // The request line, and the header fields apart from it: 431 beyond. At most 60 KiB.
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_header_fields = 100;       // 431 beyond
    // A client must send a whole header within header_timeout of its first byte, a body
    // within body_timeout, and its next request within idle_timeout of the last answer
    // (keep-alive); it must take an answer within write_timeout. Else the connection ends
    // (with a 408 when a request was under way).
    std::chrono::milliseconds header_timeout{10'000};
    std::chrono::milliseconds body_timeout{30'000};
    std::chrono::milliseconds idle_timeout{15'000};
    std::chrono::milliseconds write_timeout{30'000};
    // How long stop() waits for the requests in flight before closing what is left.
    std::chrono::milliseconds stop_grace{10'000};
    // One line per request: "GET /bakeries/ 200 1.2 ms" (the target escaped and cut). Called
    // from a thread of the server's own through a bounded queue, so a slow log delays no
    // request (lines past the bound are dropped, then counted in a line). A log still
    // blocked a second after run() returns is left to that thread, which may call it later:
    // what it captures must outlive the Server then. Empty: no log.
    std::function<void(const std::string&)> log;
};

class Server {
public:
    // Binds at once: throws ConfigError when the address cannot be bound or an option is out
    // of range. The router must outlive the Server.
    Server(const Router& router, ServeOptions options);
    // Not while run() runs: stop() and wait for run() to return first.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    int port() const;
    // Serves until stop(); returns once the requests in flight are answered, or once
    // stop_grace has passed and the router has finished those it was handling (their
    // clients get no answer). Call it once. Every thread of the server starts here, with
    // the caller's signal mask.
    void run();
    // Safe from any thread, also before run() (which then returns at once): stops
    // accepting, closes idle connections, and lets requests in flight finish.
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
