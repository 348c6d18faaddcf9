#pragma once
// The GitHub App: webhooks from feedstock repositories and staged-recipes become recipe
// runs, and the runs' results go back to GitHub (check runs, comments, reactions,
// deployments). The web server only records: a delivery is verified (signature first),
// stored with its payload and answered 202; a small pool of the App's threads then does
// the slow part (the expand-meta command, GitHub's API) and workers run the runs
// (DISPATCH.md). Nothing is lost to a restart or to GitHub being away: a delivery stays
// "pending" in github_delivery until handled, a run's result stays unreported in
// github_report until GitHub took it, and a sweep on the App's timer takes both up again.
//
// Routes (handle()): POST /github/hooks/; GET /github/hooks/deliveries,
// /github/hooks/deliveries/{id}?response_only=true, /feedstocks/{id}/deliveries,
// /feedstocks/{id}/commits/{sha}/check-runs (GitHub's answers passed through).
//
// Thread safety: handle() may be called from many threads at once. The Orchestrator and
// the Database must outlive the App; its destructor stops its threads, letting the tasks
// in flight finish (a task cut short stays pending and is taken up on the next start).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/github/rest.hpp"
#include "pangeo_forge/github/settings.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"

namespace pangeo_forge::github {

struct AppOptions {
    std::size_t task_threads = 2;      // deliveries handled at once (each may run expand-meta)
    std::size_t queue_capacity = 64;   // deliveries waiting for a thread; more stay pending for the sweep
    std::chrono::milliseconds sweep_interval{5000};  // pending deliveries and unreported runs taken up again
    std::chrono::milliseconds expand_meta_timeout{std::chrono::minutes(10)};
    std::string dashboard_url = "https://pangeo-forge.org/dashboard";  // links in check runs and comments
    std::string environment = "production";  // the deployments' environment
    RestOptions rest;
};

class App {
public:
    App(orchestrator::Orchestrator& orchestrator, db::Database& database, AppSettings settings,
        AppOptions options = {}, api::Log log = {});
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    // Never throws: errors become their status and {"detail": ...}.
    api::Response handle(const api::Request& request);

    // Handles every pending delivery and reports every ended run on the calling thread,
    // then returns (tests and the command line; the App's own threads do it on their own).
    void drain();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// For a program that loads pangeo_forge_github with dlopen (the `pangeo-forge serve`
// command does: a server without the app does not load libcurl): dlsym(handle,
// app_functions_symbol) gives the function that returns these.
struct AppFunctions {
    App* (*open)(orchestrator::Orchestrator& orchestrator, db::Database& database, const AppSettings& settings,
                 const AppOptions& options, const api::Log& log);  // throws as the constructor
    void (*close)(App* app);
    api::Response (*handle)(App& app, const api::Request& request);
};
inline constexpr const char* app_functions_symbol = "pangeo_forge_github_app_functions";

}  // namespace pangeo_forge::github

extern "C" const pangeo_forge::github::AppFunctions* pangeo_forge_github_app_functions();
