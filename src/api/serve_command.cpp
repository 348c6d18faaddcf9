// The `pangeo-forge serve` entry point, in the HTTP library: the command loads this
// library only when it serves (see apps/pangeo-forge), and calls pangeo_forge_serve().

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <mutex>
#include <thread>

#include "pangeo_forge/api/server.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/migrator.hpp"

namespace {

using namespace pangeo_forge;

// Serves until SIGINT or SIGTERM, then lets the requests in flight finish.
void serve_until_signalled(const std::string& url, const std::string& migrations, api::ServeOptions options) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    // Blocked here, before any thread starts, so that every thread inherits the mask and
    // only the watcher below receives them.
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    db::PoolOptions pool;
    pool.size = options.threads;
    db::Database database(url, pool);
    auto graph = migrate::RevisionGraph::load(migrations.empty() ? migrate::bundled_migrations()
                                                                 : std::filesystem::path(migrations));
    orchestrator::Orchestrator orchestrator(database, graph);
    api::Router router(orchestrator, api::ApiKeys::from_environment());
    api::Server server(router, options);
    std::cerr << "serving " << db::redacted(database.url()) << " on http://" << options.host << ":" << server.port()
              << std::endl;

    std::thread watcher([&] {
        int received = 0;
        sigwait(&stop_signals, &received);
        std::cerr << "stopping (" << (received == SIGINT ? "SIGINT" : "SIGTERM") << ")" << std::endl;
        server.stop();
    });
    server.run();
    pthread_kill(watcher.native_handle(), SIGTERM);  // wakes the watcher if the server ended on its own
    watcher.join();
}

}  // namespace

extern "C" int pangeo_forge_serve(const char* url, const char* migrations, const char* host, int port, int threads) {
    try {
        api::ServeOptions options;
        options.host = host;
        options.port = port;
        options.threads = threads > 0 ? static_cast<std::size_t>(threads) : 8;
        options.log = [mutex = std::make_shared<std::mutex>()](const std::string& line) {
            std::lock_guard lock(*mutex);
            std::cerr << line << "\n";
        };
        serve_until_signalled(url, migrations, options);
        return 0;
    } catch (const Error& error) {
        std::cerr << "error: " << error.what() << "\n";
        return 1;
    }
}
