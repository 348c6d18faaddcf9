#pragma once
// `pangeo-forge worker`: a bakery's worker against a running server, until SIGINT or SIGTERM
// (or, with --once, until the bakery has no queued run).

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace pangeo_forge::cli {

// Adds the verb and its options to `app`.
void add_worker_command(CLI::App& app);

}  // namespace pangeo_forge::cli
