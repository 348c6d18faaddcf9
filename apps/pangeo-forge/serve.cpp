// `pangeo-forge serve`: the signal handling and the printing around the library's Server.

#include "serve.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "pangeo_forge/api/server.hpp"
#include "pangeo_forge/api/service.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/version.hpp"
#include "load.hpp"

namespace pangeo_forge::cli {
namespace {

// The lines of several request threads, whole.
api::Log stderr_log() {
    return [mutex = std::make_shared<std::mutex>()](const std::string& line) {
        std::lock_guard lock(*mutex);
        std::cerr << line << "\n";
    };
}

}  // namespace

void serve(const ServeArguments& arguments) {
    api::ServeOptions options;
    options.host = arguments.host;
    options.port = arguments.port;
    options.threads = arguments.threads > 0 ? static_cast<std::size_t>(arguments.threads) : 8;
    options.max_connections = static_cast<std::size_t>(arguments.max_connections);
    options.log = stderr_log();

    api::ServiceOptions service_options;
    service_options.database_url = arguments.url;
    service_options.migrations = arguments.migrations;
    service_options.connections = options.threads;
    service_options.log = options.log;
    service_options.dispatch.max_attempts = arguments.max_attempts;
    api::Service service(service_options);

    const api::ServerFunctions& http = http_library();
    std::unique_ptr<api::Server, void (*)(api::Server*)> server(http.open(service.router(), options), http.close);

    // Blocked only now (a hanging connect above still stops on Ctrl-C), and before the
    // server's threads start in run(), so that they inherit the mask and only the watcher
    // receives the signals.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigset_t previous_mask;
    pthread_sigmask(SIG_BLOCK, &stop_signals, &previous_mask);
    // After the mask, like the server's threads: a thread of its own that took SIGTERM
    // would end the process at once instead of stopping it gracefully.
    orchestrator::LeaseSweeper sweeper(service.orchestrator(), std::chrono::seconds(arguments.sweep_seconds), options.log);
    // Announced once a signal stops it gracefully.
    std::cerr << "serving " << db::redacted(service.database().url()) << " on http://" << options.host << ":"
              << http.port(*server) << std::endl;
    std::atomic<bool> ended{false};
    std::thread watcher([&] {
        int received = 0;
        sigwait(&stop_signals, &received);
        if (ended) return;
        std::cerr << "stopping (" << (received == SIGINT ? "SIGINT" : "SIGTERM") << ")" << std::endl;
        http.stop(*server);
    });
    http.run(*server);
    ended = true;
    pthread_kill(watcher.native_handle(), SIGTERM);  // wakes the watcher if the server ended on its own
    watcher.join();
    // The caller may go on (python -m pangeo_forge, or a program embedding the command):
    // Ctrl-C must reach it again.
    pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
}

}  // namespace pangeo_forge::cli
