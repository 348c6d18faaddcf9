// `pangeo-forge worker`: the options, the signals and the printing around the library's
// Worker, which drives a client::Client (the remote Queue).

#include "worker.hpp"

#include "load.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>

#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/worker/worker.hpp"

namespace pangeo_forge::cli {
namespace {

struct WorkerArguments {
    std::string server;
    std::string api_key;
    std::string bakery;
    std::string name;
    int concurrency = 1;
    int lease = static_cast<int>(orchestrator::default_lease.count());
    bool once = false;
    double poll = 2;
    double drain_grace = 30;
    double kill_grace = 10;
    double job_deadline = static_cast<double>(orchestrator::default_job_deadline.count());
    std::string root_path;
    std::string public_url_template;
    std::vector<std::string> command;
};

std::chrono::milliseconds milliseconds_of(double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
}

// The worker's lines from its threads, whole, with the time.
worker::Log stderr_log() {
    return [mutex = std::make_shared<std::mutex>()](const std::string& line) {
        auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
        char stamp[32];
        std::tm utc{};
        gmtime_r(&now, &utc);
        std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
        std::lock_guard lock(*mutex);
        std::cerr << stamp << " " << line << std::endl;
    };
}

void run_worker(const WorkerArguments& arguments) {
    worker::WorkerOptions options;
    options.bakery = arguments.bakery;
    options.name = arguments.name;
    options.concurrency = arguments.concurrency;
    options.lease = std::chrono::seconds(arguments.lease);
    options.once = arguments.once;
    options.poll = milliseconds_of(arguments.poll);
    options.drain_grace = milliseconds_of(arguments.drain_grace);
    options.kill_grace = milliseconds_of(arguments.kill_grace);
    options.job_deadline = std::chrono::seconds(static_cast<std::int64_t>(std::llround(arguments.job_deadline)));
    options.storage.root_path = arguments.root_path;
    options.storage.public_url_template = arguments.public_url_template;
    options.command = arguments.command;
    options.log = stderr_log();

    auto remote = open_remote_queue(arguments.server, arguments.api_key);
    worker::Worker worker(*remote, options);

    // Blocked before the worker's threads start, so that they inherit the mask and only the
    // watcher takes the signals (commands get the default mask back: src/worker/command.cpp).
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigset_t previous_mask;
    pthread_sigmask(SIG_BLOCK, &stop_signals, &previous_mask);
    std::atomic<bool> ended{false};
    std::thread watcher([&] {
        for (int count = 1;; ++count) {
            int received = 0;
            sigwait(&stop_signals, &received);
            if (ended) return;
            std::cerr << (received == SIGINT ? "SIGINT" : "SIGTERM")
                      << (count == 1 ? ": stopping (no more claims; running runs finish, or are given back after the "
                                       "drain grace; a second signal gives them back now)"
                                     : ": giving the running runs back now")
                      << std::endl;
            worker.request_stop();
        }
    });
    std::exception_ptr failure;
    try {
        worker.run();
    } catch (...) {
        failure = std::current_exception();
    }
    ended = true;
    pthread_kill(watcher.native_handle(), SIGTERM);  // wakes the watcher
    watcher.join();
    pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);
    if (failure) std::rethrow_exception(failure);
}

}  // namespace

std::shared_ptr<orchestrator::Queue> open_remote_queue(const std::string& server, const std::string& api_key) {
    // As `api` does: PANGEO_FORGE_API_KEY may list several keys (the server's setting); a
    // worker offers the first.
    std::string key = api_key;
    if (key.empty()) {
        auto configured = api::configured_api_keys();
        if (!configured.empty()) key = configured.front();
    }
    if (key.empty()) {
        throw ConfigError("worker: no API key: give --api-key or set PANGEO_FORGE_API_KEY (claims and reports are writes)");
    }
    const auto& functions = client_library();
    return std::shared_ptr<client::Client>(functions.open(server, key, client::ClientOptions{}), functions.close);
}

void add_worker_command(CLI::App& app) {
    auto* verb = app.add_subcommand(
        "worker", "Run a bakery's queued recipe runs, claimed from --server (stops on SIGINT or SIGTERM)");
    auto arguments = std::make_shared<WorkerArguments>();
    verb->add_option("--server", arguments->server, "The orchestrator, http://host:port")
        ->envname("PANGEO_FORGE_SERVER")
        ->required();
    verb->add_option("--api-key", arguments->api_key, "X-API-Key (default: the first of PANGEO_FORGE_API_KEY)");
    verb->add_option("--bakery", arguments->bakery, "The bakery whose runs this worker runs (its name)")->required();
    verb->add_option("--name", arguments->name, "Recorded on claimed runs (default: hostname:pid:4 random hex digits)");
    verb->add_option("--concurrency", arguments->concurrency, "Runs at once")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    verb->add_option("--lease", arguments->lease, "Lease of a claimed run in seconds; a heartbeat every third of it")
        ->check(CLI::Range(1, static_cast<int>(orchestrator::max_lease.count())))
        ->capture_default_str();
    verb->add_flag("--once", arguments->once, "Stop once the bakery has no queued run (after the running ones end)");
    verb->add_option("--poll", arguments->poll, "Seconds between claims while nothing is queued")
        ->check(CLI::Range(0.01, 3600.0))
        ->capture_default_str();
    verb->add_option("--drain-grace", arguments->drain_grace,
                     "On SIGTERM, seconds that running runs may take to finish before they are given back")
        ->check(CLI::Range(0.0, 7.0 * 24 * 3600))
        ->capture_default_str();
    verb->add_option("--kill-grace", arguments->kill_grace,
                     "Seconds between SIGTERM and SIGKILL to a command's process group when it is stopped")
        ->check(CLI::Range(0.0, 3600.0))
        ->capture_default_str();
    verb->add_option("--job-deadline", arguments->job_deadline,
                     "Seconds a submitted job has to report before its run times out")
        ->check(CLI::Range(1.0, static_cast<double>(orchestrator::max_job_deadline.count())))
        ->capture_default_str();
    verb->add_option("--root-path", arguments->root_path, "Where the bakery's datasets go (e.g. gs://bucket/datasets)");
    verb->add_option("--public-url-template", arguments->public_url_template,
                     "The public URL of a dataset, {path} standing for its sub-path");
    verb->add_option("command", arguments->command,
                     "After --: the command to run per run, with placeholders such as {recipe_run_id} "
                     "(default: pangeo-forge-runner bake, README \"The worker\")");
    verb->callback([arguments] { run_worker(*arguments); });
}

}  // namespace pangeo_forge::cli
