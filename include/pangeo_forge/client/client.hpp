#pragma once
// The orchestrator's operations over HTTP, against a running `pangeo-forge serve`: the same
// method names, the same model values, the same exceptions as orchestrator::Orchestrator
// in-process (a 422 arrives as ValidationError with the server's field errors, 404 as
// NotFound, 409 as Conflict, 503 from a database not at head as MigrationError). It is
// also a dispatch Queue, so a worker runs the same against a server as in-process.
//
// Outbound HTTP is libcurl's (TLS, proxies from the environment as curl takes them:
// http_proxy, https_proxy, no_proxy). Connections are kept alive and reused.
//
// Retries: a request that fails to connect, or that the server answers 503 (overloaded or
// stopping), is tried again with exponential back-off and jitter, up to options.retries
// times. A write is retried only when the server cannot have applied it: the connection
// was never made, or the server answered 503 before handling it. A write whose answer was
// lost (the connection broke after the request was sent) is not retried: ConnectionError
// says so, and the caller decides (the dispatch routes are fenced by attempt, so a worker
// may send them again).
//
// Thread safety: one Client may be used from many threads at once.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/bakery.hpp"
#include "pangeo_forge/model/feedstock.hpp"
#include "pangeo_forge/model/recipe_run.hpp"
#include "pangeo_forge/model/relations.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"

namespace pangeo_forge::client {

// The server could not be reached, or the connection broke before an answer came, after
// the retries the request was allowed. The message names the server and libcurl's reason.
class ConnectionError : public Error {
public:
    using Error::Error;
};

// The server answered a status the operation has no exception for (401 and 403 for a
// missing or wrong API key, 500, an unexpected 4xx). The message carries the server's detail.
class HttpError : public Error {
public:
    HttpError(int status, const std::string& message) : Error(message), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

struct ClientOptions {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds request_timeout{30000};   // the whole exchange
    int retries = 4;                                     // tries after the first
    std::chrono::milliseconds first_backoff{200};        // doubled per retry, with jitter
    std::chrono::milliseconds max_backoff{5000};
};

// One exchange, as `pangeo-forge api --server` prints it.
struct HttpResponse {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
    std::string body;
};

class Client : public orchestrator::Queue {
public:
    // `server`: "http://host:port" or "https://...", with or without a trailing slash or a
    // path prefix. ConfigError for anything else, for an API key with a line break in it,
    // and for options out of range. `api_key` empty: reads only (no X-API-Key is sent).
    explicit Client(std::string server, std::string api_key = {}, ClientOptions options = {});
    ~Client() override;
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    const std::string& server() const;

    // Any route: `target` is a path with its query ("/bakeries/?limit=5"). Retries as above;
    // every status is returned, none thrown. ConnectionError when no answer came; HttpError
    // for an answer beyond 64 MiB (no route sends one: the bound keeps a wrong server from
    // filling the client's memory).
    HttpResponse request(const std::string& method, const std::string& target, const std::string& body = {});

    // --- the orchestrator's operations, as orchestrator.hpp documents them ---
    model::Bakery create(const model::BakeryCreate& bakery);
    model::Feedstock create(const model::FeedstockCreate& feedstock);
    model::RecipeRun create(const model::RecipeRunCreate& run);

    std::vector<model::Bakery> bakeries(const orchestrator::Page& page = {});
    std::vector<model::Feedstock> feedstocks(const orchestrator::Page& page = {});
    std::vector<model::RecipeRun> recipe_runs(const orchestrator::Page& page = {});

    model::BakeryWithRecipeRuns bakery(std::int64_t id);
    model::FeedstockWithRecipeRuns feedstock(std::int64_t id);
    model::RecipeRunWithRelations recipe_run(std::int64_t id);

    model::Bakery update(std::int64_t id, const model::BakeryUpdate& update);
    model::Feedstock update(std::int64_t id, const model::FeedstockUpdate& update);
    model::RecipeRun update(std::int64_t id, const model::RecipeRunUpdate& update);

    void delete_bakery(std::int64_t id);
    void delete_feedstock(std::int64_t id);
    void delete_recipe_run(std::int64_t id);

    std::vector<orchestrator::Dataset> datasets(std::int64_t feedstock_id,
                                                orchestrator::DatasetFilter filter = orchestrator::DatasetFilter::all);

    std::int64_t count_bakeries();
    std::int64_t count_feedstocks();
    std::int64_t count_recipe_runs();
    std::int64_t count_datasets(bool exclude_test_runs = false);

    // --- the dispatch queue ---
    std::optional<orchestrator::Claim> claim(const orchestrator::ClaimRequest& request) override;
    orchestrator::Heartbeat heartbeat(std::int64_t recipe_run_id, const orchestrator::HeartbeatRequest& request) override;
    model::RecipeRun complete(std::int64_t recipe_run_id, const orchestrator::Report& report) override;

    struct Impl;  // src/client/client.cpp

private:
    std::unique_ptr<Impl> impl_;
};

// The client's functions for a program that loads pangeo_forge_client with dlopen rather
// than linking it (the `pangeo-forge` command does, so that its other verbs do not load
// libcurl and the TLS libraries it brings): dlsym(handle, client_functions_symbol) gives
// the function that returns them.
struct ClientFunctions {
    Client* (*open)(const std::string& server, const std::string& api_key, const ClientOptions& options);  // throws as the constructor
    void (*close)(Client* client);                                                                        // deletes it
    HttpResponse (*request)(Client& client, const std::string& method, const std::string& target,
                            const std::string& body);
};
inline constexpr const char* client_functions_symbol = "pangeo_forge_client_functions";

}  // namespace pangeo_forge::client

extern "C" const pangeo_forge::client::ClientFunctions* pangeo_forge_client_functions();
