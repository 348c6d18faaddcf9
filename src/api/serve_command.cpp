// The `pangeo-forge serve` entry point, in the HTTP library: the command loads this
// library only when it serves (see apps/pangeo-forge), and calls pangeo_forge_serve().

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
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
    db::PoolOptions pool;
    pool.size = options.threads;
    db::Database database(url, pool);
    auto graph = migrate::RevisionGraph::load(migrations.empty() ? migrate::bundled_migrations()
                                                                 : std::filesystem::path(migrations));
    orchestrator::Orchestrator orchestrator(database, graph);
    api::Router router(orchestrator, api::ApiKeys::from_environment());
    api::Server server(router, options);

    // Blocked only now (a hanging connect above still stops on Ctrl-C), and before the
    // server's threads start in run(), so that they inherit the mask and only the watcher
    // receives the signals.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigset_t previous_mask;
    pthread_sigmask(SIG_BLOCK, &stop_signals, &previous_mask);
    // Announced once a signal stops it gracefully.
    std::cerr << "serving " << db::redacted(database.url()) << " on http://" << options.host << ":" << server.port()
              << std::endl;
    std::atomic<bool> ended{false};
    std::thread watcher([&] {
        int received = 0;
        sigwait(&stop_signals, &received);
        if (ended) return;
        std::cerr << "stopping (" << (received == SIGINT ? "SIGINT" : "SIGTERM") << ")" << std::endl;
        // A signal that came before the server started must still stop it.
        while (!server.running() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        server.stop();
    });
    server.run();
    ended = true;
    pthread_kill(watcher.native_handle(), SIGTERM);  // wakes the watcher if the server ended on its own
    watcher.join();
    // The caller may go on (python -m pangeo_forge, or a program embedding the command):
    // Ctrl-C must reach it again.
    pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
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
