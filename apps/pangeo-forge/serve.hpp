#pragma once
// `pangeo-forge serve`: the HTTP API until SIGINT or SIGTERM, with its lines on stderr.

#include <string>

#include "pangeo_forge/api/server.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"

namespace pangeo_forge::cli {

struct ServeArguments {
    std::string url;
    std::string migrations;  // empty: the bundled migrations
    std::string host = "127.0.0.1";
    int port = 8000;  // 0: any free port
    int threads = 8;  // worker threads, and database connections
    int max_connections = static_cast<int>(api::ServeOptions{}.max_connections);  // open at once; a 503 past it
    int max_attempts = static_cast<int>(orchestrator::default_max_attempts);  // of a run whose lease runs out
    int sweep_seconds = 5;  // how often expired leases are taken back, claims or not
    // How often the GitHub App takes up pending deliveries and reports the runs that ended.
    double github_sweep_seconds = 5;
};

// Opens the API (api::Service), loads the HTTP library, keeps a LeaseSweeper running (so a
// dead worker's runs come back even when no worker claims), and serves until SIGINT or SIGTERM
// lets the requests in flight finish. With the GitHub App's settings
// (github::read_settings(); a wrong one throws ConfigError before anything opens) it loads
// the App's library and opens the App over the Service, which serves its routes and closes
// before the Service; without them those routes answer 503 naming what to set. Prints
// "serving URL on http://HOST:PORT" once listening, then "GitHub App ID: webhooks at POST
// /github/hooks/ (GitHub API URL)" or "GitHub App not configured (set ...)", a line per
// request and "stopping (SIGTERM)" on stderr. The signals are
// blocked while it serves and given back after, so a caller that goes on (python -m
// pangeo_forge, a program embedding the command) gets Ctrl-C again. Throws Error.
void serve(const ServeArguments& arguments);

}  // namespace pangeo_forge::cli
