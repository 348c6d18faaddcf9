#pragma once
// `pangeo-forge worker`: a bakery's worker against a running server, until SIGINT or SIGTERM
// (or, with --once, until the bakery has no queued run).

#include <memory>
#include <string>
#include <vector>

#include "pangeo_forge/orchestrator/dispatch.hpp"

namespace CLI {
class App;
}

namespace pangeo_forge::cli {

// Adds the verb and its options to `app`.
void add_worker_command(CLI::App& app);

// A client::Client of `server` (loaded from the client library at run time), as a Queue;
// `api_key` empty: the first of PANGEO_FORGE_API_KEY. ConfigError without a key (claims
// and reports are writes) or without the library.
std::shared_ptr<orchestrator::Queue> open_remote_queue(const std::string& server, const std::string& api_key);

}  // namespace pangeo_forge::cli
