// `pangeo-forge serve`: the signal handling and the printing around the library's Server.

#include "serve.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <chrono>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include "pangeo_forge/api/server.hpp"
#include "pangeo_forge/api/service.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/github/app.hpp"
#include "pangeo_forge/github/settings.hpp"
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

// The GitHub App's routes, forwarded to what is in the slot: the App needs the Service's
// orchestrator and database, so it opens after the Router the Service built. Filled before
// the server runs, emptied before the App closes; the lock orders both with requests.
class AppSlot {
public:
    explicit AppSlot(std::vector<std::string> missing) : missing_(std::move(missing)) {}

    void fill(api::Handler handler) {
        std::lock_guard lock(mutex_);
        handler_ = std::move(handler);
    }

    api::Response handle(const api::Request& request) {
        api::Handler handler;
        {
            std::lock_guard lock(mutex_);
            handler = handler_;
        }
        if (handler) return handler(request);
        // Not the Router's own 503: this one names only the settings still missing.
        return {503, {{"content-type", "application/json"}},
                nlohmann::json{{"detail", github::not_configured_detail(missing_)}}.dump()};
    }

private:
    std::mutex mutex_;
    api::Handler handler_;
    const std::vector<std::string> missing_;
};

using AppHandle = std::unique_ptr<github::App, void (*)(github::App*)>;

// The App over the Service, or nothing without settings.
AppHandle open_github_app(const github::SettingsReading& reading, const github::AppFunctions* functions,
                          api::Service& service, const ServeArguments& arguments, const api::Log& log) {
    if (!reading.settings) return AppHandle(nullptr, [](github::App*) {});
    github::AppOptions options;
    options.sweep_interval = std::chrono::milliseconds(std::llround(arguments.github_sweep_seconds * 1000));
    return AppHandle(functions->open(service.orchestrator(), service.database(), *reading.settings, options, log),
                     functions->close);
}

// The operator's line on the App: where GitHub sends its webhooks, or what to set.
std::string github_app_line(const github::SettingsReading& reading) {
    if (!reading.settings) {
        std::string names;
        for (const auto& name : reading.missing) names += (names.empty() ? "" : ", ") + name;
        return "GitHub App not configured (set " + names + ")";
    }
    return "GitHub App " + std::to_string(reading.settings->app_id) + ": webhooks at POST /github/hooks/ (GitHub API " +
           reading.settings->api_url + ")";
}

// Gives the caller its signal mask back however serve ends: a caller that goes on (python
// -m pangeo_forge, a program embedding the command) must get Ctrl-C again.
struct MaskRestorer {
    sigset_t previous;
    ~MaskRestorer() { pthread_sigmask(SIG_SETMASK, &previous, nullptr); }
};

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
    // Read, and the App's library loaded, first: a wrong setting stops serve before it
    // opens anything. Without settings the library is not loaded at all (nor libcurl).
    const github::SettingsReading github_settings = github::read_settings();
    const github::AppFunctions* app_functions = github_settings.settings ? &github_library() : nullptr;
    auto app_slot = std::make_shared<AppSlot>(github_settings.missing);
    service_options.github_app = [app_slot](const api::Request& request) { return app_slot->handle(request); };
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
    MaskRestorer restore_mask;
    pthread_sigmask(SIG_BLOCK, &stop_signals, &restore_mask.previous);
    // After the mask, like the server's threads: a thread of its own that took SIGTERM
    // would end the process at once instead of stopping it gracefully.
    orchestrator::LeaseSweeper sweeper(service.orchestrator(), std::chrono::seconds(arguments.sweep_seconds), options.log);
    // After the mask too (the App has threads of its own), and declared after the Service:
    // the App closes first.
    AppHandle app = open_github_app(github_settings, app_functions, service, arguments, options.log);
    if (app) {
        app_slot->fill([app_functions, app = app.get()](const api::Request& request) {
            return app_functions->handle(*app, request);
        });
    }
    // Announced once a signal stops it gracefully.
    // "serving" first: callers wait for it as the first line.
    std::cerr << "serving " << db::redacted(service.database().url()) << " on http://" << options.host << ":"
              << http.port(*server) << "\n"
              << github_app_line(github_settings) << std::endl;
    std::atomic<bool> ended{false};
    std::thread watcher([&] {
        int received = 0;
        sigwait(&stop_signals, &received);
        if (ended) return;
        std::cerr << "stopping (" << (received == SIGINT ? "SIGINT" : "SIGTERM") << ")" << std::endl;
        http.stop(*server);
    });
    http.run(*server);
    app_slot->fill({});  // no request reaches the App once it begins to close
    ended = true;
    pthread_kill(watcher.native_handle(), SIGTERM);  // wakes the watcher if the server ended on its own
    watcher.join();
}

}  // namespace pangeo_forge::cli
