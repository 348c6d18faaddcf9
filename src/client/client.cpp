// The remote orchestrator: each operation is one route of the API, sent with libcurl and
// its answer turned back into the model's values and the library's exceptions.
//
// Connections: the transport of client/http.hpp keeps a few libcurl easy handles between
// requests, each with the connection it last used, so that successive requests (from one
// thread or several) reuse open keep-alive connections instead of connecting again. The
// retry policy (what may be sent again, and when) is this file's.

#include "pangeo_forge/client/client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "pangeo_forge/version.hpp"
#include "client/answer.hpp"
#include "client/http.hpp"
#include "support/text.hpp"

namespace pangeo_forge::client {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

using http::connection_broke;
using http::Exchange;
using http::is_safe;
using http::never_connected;
using http::reason;

// What one answer may hold in memory: far beyond any page of the API (100 rows), and a
// bound on what a wrong or hostile server can make a client keep.
constexpr std::size_t max_answer_bytes = 64 * 1024 * 1024;

// The server as messages show it: without the user and password of a URL that has them.
std::string shown(const std::string& server) {
    auto authority = server.find("://") + 3;
    auto at = server.find('@', authority);
    auto slash = server.find('/', authority);
    if (at == std::string::npos || (slash != std::string::npos && at > slash)) return server;
    return server.substr(0, authority) + "***" + server.substr(at);
}

// "http://host:port[/prefix]" without its trailing slashes; ConfigError for anything else.
std::string normalized_server(std::string server) {
    const std::string advice = ": write it as http://host:port or https://host[/prefix]";
    auto scheme_end = server.find("://");
    std::string scheme = scheme_end == std::string::npos ? "" : detail::lowercase(server.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") {
        throw ConfigError("the server '" + (scheme_end == std::string::npos ? server : shown(server)) +
                          "' is not an http:// or https:// URL" + advice);
    }
    for (char c : server) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
            throw ConfigError("the server '" + shown(server) + "' holds a space or a control character" + advice);
        }
    }
    if (server.find_first_of("?#") != std::string::npos) {
        throw ConfigError("the server '" + shown(server) + "' has a query or a fragment" + advice);
    }
    auto authority = scheme_end + 3;
    if (authority >= server.size() || server[authority] == '/') {
        throw ConfigError("the server '" + server + "' names no host" + advice);
    }
    while (server.size() > authority && server.back() == '/') server.pop_back();
    return server;
}


// The server's 503 for a database that is not at head: waiting does not change it.
bool is_migration_answer(int status, const std::string& detail) {
    return status == 503 && detail.find("pangeo-forge db upgrade") != std::string::npos;
}

std::string sort_text(orchestrator::SortOrder sort) { return sort == orchestrator::SortOrder::asc ? "asc" : "desc"; }

std::string filter_text(orchestrator::DatasetFilter filter) {
    switch (filter) {
        case orchestrator::DatasetFilter::production: return "production";
        case orchestrator::DatasetFilter::test: return "test";
        case orchestrator::DatasetFilter::all: break;
    }
    return "all";
}

std::string page_query(const orchestrator::Page& page) {
    return "?offset=" + std::to_string(page.offset) + "&limit=" + std::to_string(page.limit) +
           "&order_by=" + detail::percent_encoded(page.order_by) + "&sort=" + sort_text(page.sort);
}

std::string id_path(const char* collection, std::int64_t id, const char* rest = "") {
    return std::string("/") + collection + "/" + std::to_string(id) + rest;
}

}  // namespace

struct Client::Impl {
    std::string server;
    std::string api_key;
    ClientOptions options;
    std::unique_ptr<http::Transport> transport;  // made once the server and options are checked

    // The target as a message names it: the method and the path, without the server.
    static std::string what(const std::string& method, const std::string& target) { return method + " " + target; }

    // One exchange, no retry. Returns libcurl's code; `exchange` holds what came.
    CURLcode send_once(const std::string& method, const std::string& target, const std::string& body,
                       Exchange& exchange) {
        std::vector<std::string> headers{"Accept: application/json"};
        if (http::sends_body(method, body)) headers.emplace_back("Content-Type: application/json");
        if (!api_key.empty()) headers.push_back("X-API-Key: " + api_key);
        return transport->send(method, server + target, headers, body, exchange);
    }

    std::chrono::milliseconds backoff(int retry, std::optional<std::chrono::milliseconds> asked) const {
        return http::backoff(retry, asked, options.first_backoff, options.max_backoff);
    }

    [[noreturn]] void fail(const std::string& method, const std::string& target, CURLcode code,
                           const Exchange& exchange, int tries, Clock::time_point started) const {
        const std::string where = shown(server);
        if (exchange.too_large) {
            throw HttpError(exchange.response.status,
                            "the answer of " + where + " to " + what(method, target) + " exceeds " +
                                std::to_string(max_answer_bytes / (1024 * 1024)) +
                                " MiB, more than any route of the API sends: is " + where + " a pangeo-forge server?");
        }
        if (code == CURLE_URL_MALFORMAT) {
            throw ConfigError("'" + target + "' is not a path the client can send to " + where + " (" +
                              reason(code, exchange) + "): write it as /route/?name=value, percent-encoded");
        }
        auto seconds = std::chrono::duration<double>(Clock::now() - started).count();
        char spent[32];
        std::snprintf(spent, sizeof spent, "%.1f s", seconds);
        const std::string tried = tries == 1 ? std::string("tried once") : "tried " + std::to_string(tries) + " times in " + spent;
        if (never_connected(code, exchange.request_bytes)) {
            throw ConnectionError("cannot reach the server " + where + " for " + what(method, target) + " (" +
                                  reason(code, exchange) + "; " + tried +
                                  "): check that it is running and that the address is right");
        }
        if (code == CURLE_OPERATION_TIMEDOUT) {
            throw ConnectionError("the server " + where + " did not answer " + what(method, target) + " in time (" +
                                  reason(code, exchange) + "; " + tried + ")" +
                                  (is_safe(method) ? std::string()
                                                   : ": it may have applied it; read the state back before sending it again"));
        }
        if (!is_safe(method) && (connection_broke(code) || exchange.request_bytes > 0)) {
            throw ConnectionError("the connection to the server " + where + " broke during " + what(method, target) +
                                  " (" + reason(code, exchange) +
                                  "): the server may have applied it, so it was not sent again; read the state back "
                                  "before sending it again");
        }
        throw ConnectionError("no answer from the server " + where + " to " + what(method, target) + " (" +
                              reason(code, exchange) + "; " + tried + ")");
    }

    answer::Route route(const std::string& method, const std::string& target) const {
        return {shown(server), method, target};
    }

    HttpResponse request(const std::string& method_text, const std::string& target, const std::string& body) {
        const std::string method = detail::uppercase(method_text);
        if (method.empty() || !http::header_safe(method) || method.find(' ') != std::string::npos) {
            throw ConfigError("'" + method_text + "' is not an HTTP method: use GET, POST, PATCH or DELETE");
        }
        if (target.empty() || target.front() != '/') {
            throw ConfigError("'" + target + "' is not a path: it starts with a slash, e.g. /bakeries/");
        }
        const auto started = Clock::now();
        for (int tries = 1;; ++tries) {
            Exchange exchange;
            CURLcode code = send_once(method, target, body, exchange);
            const bool last = tries > options.retries;
            if (code == CURLE_OK) {
                // A 503 comes before the server handles the request: sent again, whatever the
                // method; but not the one of a database behind head, which waiting does not mend.
                if (exchange.response.status != 503 || last || is_migration_answer(503, exchange.response.body)) {
                    return std::move(exchange.response);
                }
                std::this_thread::sleep_for(backoff(tries - 1, answer::retry_after(exchange.response)));
                continue;
            }
            const bool again = !exchange.too_large &&
                               (never_connected(code, exchange.request_bytes) ||
                                (is_safe(method) && (connection_broke(code) || never_connected(code, 0))));
            if (!again || last) fail(method, target, code, exchange, tries, started);
            std::this_thread::sleep_for(backoff(tries - 1, std::nullopt));
        }
    }

    // Sends one call and returns the JSON of its 200; any other status thrown as the
    // orchestrator would throw it in-process.
    json call(const std::string& method, const std::string& target, const json* body = nullptr) {
        return answer::success(request(method, target, body ? body->dump() : std::string()), route(method, target));
    }

    template <class Form>
    Form one(const std::string& method, const std::string& target, const json& body = nullptr) {
        return answer::one<Form>(request(method, target, body.is_null() ? std::string() : body.dump()),
                                 route(method, target));
    }

    template <class Row>
    std::vector<Row> list(const std::string& target) {
        return answer::list<Row>(request("GET", target, std::string()), route("GET", target));
    }

    std::int64_t count(const std::string& target) {
        return answer::count(request("GET", target, std::string()), route("GET", target));
    }
};

// --- the reading of an answer (answer.hpp) -----------------------------------------------

namespace answer {
namespace {

std::string header(const HttpResponse& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
        if (key == name) return value;
    }
    return {};
}

}  // namespace

std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& response) {
    std::string value = header(response, "retry-after");
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        if (value.size() > 9) return std::chrono::milliseconds::max();
        return std::chrono::seconds(std::stol(value));
    }
    std::time_t when = curl_getdate(value.c_str(), nullptr);
    if (when < 0) return std::nullopt;
    // A date far ahead (curl reads years up to 2^31) is beyond what milliseconds hold.
    const std::time_t wait = std::max<std::time_t>(0, when - std::time(nullptr));
    if (wait > std::chrono::milliseconds::max().count() / 1000) return std::chrono::milliseconds::max();
    return std::chrono::seconds(wait);
}

std::optional<std::vector<FieldError>> field_errors(const json& body) {
    if (!body.is_object() || !body.contains("detail") || !body["detail"].is_array()) return std::nullopt;
    std::vector<FieldError> errors;
    for (const auto& item : body["detail"]) {
        if (!item.is_object() || !item.contains("loc") || !item["loc"].is_array()) return std::nullopt;
        FieldError error;
        for (const auto& part : item["loc"]) error.loc.push_back(part.is_string() ? part.get<std::string>() : part.dump());
        // msg and type as their text whatever their JSON type (value() would throw json's own
        // type_error for a number), nothing when absent or null.
        auto text = [&item](const char* key) {
            auto found = item.find(key);
            if (found == item.end() || found->is_null()) return std::string();
            return found->is_string() ? found->get<std::string>() : found->dump();
        };
        error.msg = text("msg");
        error.type = text("type");
        if (item.contains("ctx")) error.ctx = item["ctx"];
        errors.push_back(std::move(error));
    }
    return errors;
}

json parsed(const HttpResponse& response, const Route& route) {
    json body = json::parse(response.body, nullptr, false);
    if (body.is_discarded()) {
        throw HttpError(response.status, "the server " + route.server + " answered " + route.method + " " +
                                             route.target + " with a body that is not JSON (" +
                                             std::to_string(response.status) + "): is it a pangeo-forge server?");
    }
    return body;
}

void throw_for(const HttpResponse& response, const Route& route) {
    json body = json::parse(response.body, nullptr, false);
    std::string detail;
    if (body.is_object() && body.contains("detail") && body["detail"].is_string()) {
        detail = body["detail"].get<std::string>();
    } else {
        detail = response.body.substr(0, 200);
    }
    const int status = response.status;
    if (status == 422) {
        if (auto errors = field_errors(body)) throw ValidationError(std::move(*errors));
    }
    if (status == 404) throw NotFound(detail);
    if (status == 409) throw Conflict(detail);
    // The server's one 503 with a reason of its own: the database is not at head.
    if (is_migration_answer(status, detail)) throw MigrationError(detail);
    throw HttpError(status, "the server " + route.server + " answered " + std::to_string(status) + " to " +
                                route.method + " " + route.target + ": " + detail);
}

json success(const HttpResponse& response, const Route& route) {
    if (response.status != 200) throw_for(response, route);
    return parsed(response, route);
}

std::int64_t count(const HttpResponse& response, const Route& route) {
    auto number = [](const json& value) -> std::int64_t {
        if (!value.is_object() || !value.contains("count") || !value["count"].is_number_integer()) {
            throw ValidationError(
                {FieldError{{"body", "count"}, "value is not a valid integer", "type_error.integer", {}}});
        }
        return value["count"].get<std::int64_t>();
    };
    return decoded(success(response, route), number, route);
}

std::optional<orchestrator::Claim> claim(const HttpResponse& response, const Route& route) {
    if (response.status == 204) return std::nullopt;  // nothing queued for the bakery
    return decoded(success(response, route), orchestrator::decode_claim, route);
}

orchestrator::Heartbeat heartbeat(const HttpResponse& response, const Route& route) {
    return decoded(success(response, route), orchestrator::decode_heartbeat, route);
}

}  // namespace answer

Client::Client(std::string server, std::string api_key, ClientOptions options) : impl_(new Impl) {
    http::initialise_libcurl();
    impl_->server = normalized_server(std::move(server));
    if (!http::header_safe(api_key)) {
        throw ConfigError("the API key holds a line break or another control character: give the key alone");
    }
    if (options.retries < 0 || options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0 ||
        options.first_backoff.count() < 0 || options.max_backoff < options.first_backoff) {
        throw ConfigError("ClientOptions: retries must be 0 or more, the timeouts above 0, and max_backoff at least "
                          "first_backoff");
    }
    impl_->api_key = std::move(api_key);
    impl_->options = options;
    impl_->transport = std::make_unique<http::Transport>(http::TransportOptions{
        options.connect_timeout, options.request_timeout, max_answer_bytes,
        "pangeo-forge/" + std::string(version()), shown(impl_->server)});
}

Client::~Client() = default;

const std::string& Client::server() const { return impl_->server; }

HttpResponse Client::request(const std::string& method, const std::string& target, const std::string& body) {
    return impl_->request(method, target, body);
}

// --- the orchestrator's operations ------------------------------------------------------

model::Bakery Client::create(const model::BakeryCreate& bakery) {
    return impl_->one<model::Bakery>("POST", "/bakeries/", json(bakery));
}

model::Feedstock Client::create(const model::FeedstockCreate& feedstock) {
    return impl_->one<model::Feedstock>("POST", "/feedstocks/", json(feedstock));
}

model::RecipeRun Client::create(const model::RecipeRunCreate& run) {
    return impl_->one<model::RecipeRun>("POST", "/recipe_runs/", json(run));
}

std::vector<model::Bakery> Client::bakeries(const orchestrator::Page& page) {
    return impl_->list<model::Bakery>("/bakeries/" + page_query(page));
}

std::vector<model::Feedstock> Client::feedstocks(const orchestrator::Page& page) {
    return impl_->list<model::Feedstock>("/feedstocks/" + page_query(page));
}

std::vector<model::RecipeRun> Client::recipe_runs(const orchestrator::Page& page) {
    return impl_->list<model::RecipeRun>("/recipe_runs/" + page_query(page));
}

model::BakeryWithRecipeRuns Client::bakery(std::int64_t id) {
    return impl_->one<model::BakeryWithRecipeRuns>("GET", id_path("bakeries", id));
}

model::FeedstockWithRecipeRuns Client::feedstock(std::int64_t id) {
    return impl_->one<model::FeedstockWithRecipeRuns>("GET", id_path("feedstocks", id));
}

model::RecipeRunWithRelations Client::recipe_run(std::int64_t id) {
    return impl_->one<model::RecipeRunWithRelations>("GET", id_path("recipe_runs", id));
}

model::Bakery Client::update(std::int64_t id, const model::BakeryUpdate& update) {
    return impl_->one<model::Bakery>("PATCH", id_path("bakeries", id), json(update));
}

model::Feedstock Client::update(std::int64_t id, const model::FeedstockUpdate& update) {
    return impl_->one<model::Feedstock>("PATCH", id_path("feedstocks", id), json(update));
}

model::RecipeRun Client::update(std::int64_t id, const model::RecipeRunUpdate& update) {
    return impl_->one<model::RecipeRun>("PATCH", id_path("recipe_runs", id), json(update));
}

void Client::delete_bakery(std::int64_t id) { impl_->call("DELETE", id_path("bakeries", id)); }
void Client::delete_feedstock(std::int64_t id) { impl_->call("DELETE", id_path("feedstocks", id)); }
void Client::delete_recipe_run(std::int64_t id) { impl_->call("DELETE", id_path("recipe_runs", id)); }

std::vector<orchestrator::Dataset> Client::datasets(std::int64_t feedstock_id, orchestrator::DatasetFilter filter) {
    return impl_->list<orchestrator::Dataset>(id_path("feedstocks", feedstock_id, "/datasets?type=") + filter_text(filter));
}

std::int64_t Client::count_bakeries() { return impl_->count("/stats/bakeries"); }
std::int64_t Client::count_feedstocks() { return impl_->count("/stats/feedstocks"); }
std::int64_t Client::count_recipe_runs() { return impl_->count("/stats/recipe_runs"); }
std::int64_t Client::count_datasets(bool exclude_test_runs) {
    return impl_->count(std::string("/stats/datasets?exclude_test_runs=") + (exclude_test_runs ? "true" : "false"));
}

// --- the dispatch queue -----------------------------------------------------------------

std::optional<orchestrator::Claim> Client::claim(const orchestrator::ClaimRequest& request) {
    const std::string target = "/recipe_runs/claim";
    return answer::claim(impl_->request("POST", target, json(request).dump()), impl_->route("POST", target));
}

orchestrator::Heartbeat Client::heartbeat(std::int64_t recipe_run_id, const orchestrator::HeartbeatRequest& request) {
    const std::string target = id_path("recipe_runs", recipe_run_id, "/heartbeat");
    return answer::heartbeat(impl_->request("POST", target, json(request).dump()), impl_->route("POST", target));
}

model::RecipeRun Client::complete(std::int64_t recipe_run_id, const orchestrator::Report& report) {
    return impl_->one<model::RecipeRun>("POST", id_path("recipe_runs", recipe_run_id, "/complete"), json(report));
}

}  // namespace pangeo_forge::client

namespace {

using namespace pangeo_forge::client;

Client* open_client(const std::string& server, const std::string& api_key, const ClientOptions& options) {
    return new Client(server, api_key, options);
}
void close_client(Client* client) { delete client; }
HttpResponse send_request(Client& client, const std::string& method, const std::string& target,
                          const std::string& body) {
    return client.request(method, target, body);
}

const ClientFunctions functions{open_client, close_client, send_request};

}  // namespace

extern "C" const ClientFunctions* pangeo_forge_client_functions() { return &functions; }
