#pragma once
// `pangeo-forge serve`: the HTTP API until SIGINT or SIGTERM, with its lines on stderr.

#include <string>

#include "pangeo_forge/api/server.hpp"

namespace pangeo_forge::cli {

struct ServeArguments {
    std::string url;
    std::string migrations;  // empty: the bundled migrations
    std::string host = "127.0.0.1";
    int port = 8000;  // 0: any free port
    int threads = 8;  // worker threads, and database connections
    int max_connections = static_cast<int>(api::ServeOptions{}.max_connections);  // open at once; a 503 past it
};

// Opens the API (api::Service), loads the HTTP library, and serves until SIGINT or SIGTERM
// lets the requests in flight finish. Prints "serving URL on http://HOST:PORT" once
// listening, a line per request and "stopping (SIGTERM)" on stderr. The signals are
// blocked while it serves and given back after, so a caller that goes on (python -m
// pangeo_forge, a program embedding the command) gets Ctrl-C again. Throws Error.
void serve(const ServeArguments& arguments);

}  // namespace pangeo_forge::cli
