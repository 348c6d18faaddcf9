#include "pangeo_forge/api/router.hpp"

#include <charconv>

#include <algorithm>
#include <cstdlib>
#include <functional>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/github/settings.hpp"
#include "support/text.hpp"
#include "support/json_reader.hpp"
#include "support/sha256.hpp"

namespace pangeo_forge::api {
namespace {

using nlohmann::json;
using orchestrator::Page;

// An HTTP error that is not one of the library's own: 401, 403, 404, 405.
struct HttpError {
    int status;
    std::string detail;
};


std::vector<std::string> path_segments(const std::string& path) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        std::string segment = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
        if (!segment.empty()) segments.push_back(segment);
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return segments;
}

[[noreturn]] void invalid(std::vector<std::string> loc, std::string msg, std::string type, json ctx = {}) {
    throw ValidationError({FieldError{std::move(loc), std::move(msg), std::move(type), std::move(ctx)}});
}

// An integer in a query: an optional minus sign and digits, nothing else (no spaces, no
// '+', no NUL that a C parser would stop at).
std::int64_t integer_parameter(const std::string& text, std::vector<std::string> loc) {
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
        invalid(std::move(loc), "value is not a valid integer", "type_error.integer");
    }
    return value;
}

// An id in a path: digits only.
std::int64_t id_parameter(const std::string& text, std::vector<std::string> loc) {
    if (text.empty() || text.front() == '-') invalid(std::move(loc), "value is not a valid integer", "type_error.integer");
    return integer_parameter(text, std::move(loc));
}

std::string query_value(const Request& request, const std::string& name, const std::string& fallback) {
    auto it = request.query.find(name);
    return it == request.query.end() ? fallback : it->second;
}

Page page_of(const Request& request) {
    Page page;
    page.offset = integer_parameter(query_value(request, "offset", "0"), {"query", "offset"});
    page.limit = integer_parameter(query_value(request, "limit", "100"), {"query", "limit"});
    page.order_by = query_value(request, "order_by", "id");
    page.sort = orchestrator::parse_sort_order(query_value(request, "sort", "asc"));
    return page;
}

bool boolean_parameter(const std::string& text, std::vector<std::string> loc) {
    for (const char* yes : {"true", "1", "yes", "on"}) if (text == yes) return true;
    for (const char* no : {"false", "0", "no", "off"}) if (text == no) return false;
    invalid(std::move(loc), "value could not be parsed to a boolean", "type_error.bool");
}

json body_of(const Request& request) {
    try {
        return json::parse(request.body);
    } catch (const json::exception& error) {  // parse errors, and numbers beyond a double (1e400)
        invalid({"body"}, std::string("the body is not valid JSON: ") + error.what(), "value_error.jsondecode");
    }
}

template <class Rows>
json list_json(const Rows& rows) {
    json list = json::array();
    for (const auto& row : rows) list.push_back(row);
    return list;
}

// The five routes of one collection, as calls into the orchestrator.
struct Collection {
    std::function<json(const json&)> create;
    std::function<json(const Page&)> list;
    std::function<json(std::int64_t)> read;
    std::function<json(std::int64_t, const json&)> update;
    std::function<void(std::int64_t)> remove;
};

using Collections = std::map<std::string, Collection>;

Collections collections(orchestrator::Orchestrator& o) {
    using namespace model;
    return {
        {"bakeries",
         {[&o](const json& body) { return json(o.create(decode<BakeryCreate>(body))); },
          [&o](const Page& page) { return list_json(o.bakeries(page)); },
          [&o](std::int64_t id) { return json(o.bakery(id)); },
          [&o](std::int64_t id, const json& body) { return json(o.update(id, decode<BakeryUpdate>(body))); },
          [&o](std::int64_t id) { o.delete_bakery(id); }}},
        {"feedstocks",
         {[&o](const json& body) { return json(o.create(decode<FeedstockCreate>(body))); },
          [&o](const Page& page) { return list_json(o.feedstocks(page)); },
          [&o](std::int64_t id) { return json(o.feedstock(id)); },
          [&o](std::int64_t id, const json& body) { return json(o.update(id, decode<FeedstockUpdate>(body))); },
          [&o](std::int64_t id) { o.delete_feedstock(id); }}},
        {"recipe_runs",
         {[&o](const json& body) { return json(o.create(decode<RecipeRunCreate>(body))); },
          [&o](const Page& page) { return list_json(o.recipe_runs(page)); },
          [&o](std::int64_t id) { return json(o.recipe_run(id)); },
          [&o](std::int64_t id, const json& body) { return json(o.update(id, decode<RecipeRunUpdate>(body))); },
          [&o](std::int64_t id) { o.delete_recipe_run(id); }}},
    };
}

json stats(orchestrator::Orchestrator& o, const std::string& what, const Request& request) {
    if (what == "recipe_runs") return {{"count", o.count_recipe_runs()}};
    if (what == "bakeries") return {{"count", o.count_bakeries()}};
    if (what == "feedstocks") return {{"count", o.count_feedstocks()}};
    if (what == "datasets") {
        bool exclude = boolean_parameter(query_value(request, "exclude_test_runs", "false"),
                                         {"query", "exclude_test_runs"});
        return {{"count", o.count_datasets(exclude)}};
    }
    throw HttpError{404, "Not Found"};
}

json datasets(orchestrator::Orchestrator& o, std::int64_t feedstock, const Request& request) {
    return list_json(o.datasets(feedstock, orchestrator::parse_dataset_filter(query_value(request, "type", "all"))));
}

[[noreturn]] void method_not_allowed() { throw HttpError{405, "Method Not Allowed"}; }

// FastAPI's APIKeyHeader: 403 without the header; the service's check: 401 for a wrong key.
void require_key(const ApiKeys& keys, const std::string& key) {
    if (key.empty()) throw HttpError{403, "Not authenticated"};
    if (!keys.accepts(key)) throw HttpError{401, "Invalid API Key"};
}

// The dispatch routes of a worker: POST /recipe_runs/claim and POST
// /recipe_runs/{id}/heartbeat|complete. Which one `segments` names, or nothing.
enum class QueueRoute { none, claim, heartbeat, complete };

QueueRoute queue_route(const std::vector<std::string>& segments) {
    if (segments.empty() || segments[0] != "recipe_runs") return QueueRoute::none;
    if (segments.size() == 2 && segments[1] == "claim") return QueueRoute::claim;
    if (segments.size() != 3) return QueueRoute::none;
    if (segments[2] == "heartbeat") return QueueRoute::heartbeat;
    if (segments[2] == "complete") return QueueRoute::complete;
    return QueueRoute::none;
}

// Whether a request reaches a write (a create, an update, a delete, a worker's claim or
// report), which needs an API key: the routes dispatch() takes to them. Checked before
// dispatch(), by handle() and answer_before_body() alike.
bool reaches_a_write(const Collections& all, const std::string& method, const std::vector<std::string>& segments) {
    if (queue_route(segments) != QueueRoute::none) return method == "POST";
    if (segments.empty() || segments.size() > 2 || all.count(segments[0]) == 0) return false;
    if (segments.size() == 1) return method == "POST";
    if (method != "PATCH" && method != "DELETE") return false;
    try {
        id_parameter(segments[1], {"path", "id"});
        return true;
    } catch (const ValidationError&) {
        return false;  // dispatch() answers the 422 first
    }
}

// The GitHub App's routes (Handler in router.hpp): the method each takes, or nothing for
// a path that is not one of them. Empty segments are dropped, so "/github/hooks" is the
// hook too, as GitHub is often given the URL without its trailing slash.
std::optional<std::string> app_route_method(const std::vector<std::string>& segments) {
    const auto size = segments.size();
    if (size >= 2 && segments[0] == "github" && segments[1] == "hooks") {
        if (size == 2) return "POST";
        if (segments[2] == "deliveries" && size <= 4) return "GET";
        return std::nullopt;
    }
    if (size < 3 || segments[0] != "feedstocks") return std::nullopt;
    if (size == 3 && segments[2] == "deliveries") return "GET";
    if (size == 5 && segments[2] == "commits" && segments[4] == "check-runs") return "GET";
    return std::nullopt;
}

// A worker's claim, heartbeat or report: 204 when nothing is queued, the library's
// Conflict (409) when the attempt is fenced.
Response queue_dispatch(orchestrator::Orchestrator& o, QueueRoute route, const Request& request,
                        const std::string& method, const std::vector<std::string>& segments) {
    if (method != "POST") method_not_allowed();
    if (route == QueueRoute::claim) {
        auto claim = o.claim(orchestrator::decode_claim_request(body_of(request)));
        if (!claim) return Response{204, {}, ""};
        return json_response(200, *claim);
    }
    std::int64_t id = id_parameter(segments[1], {"path", "id"});
    if (route == QueueRoute::heartbeat) {
        return json_response(200, o.heartbeat(id, orchestrator::decode_heartbeat_request(body_of(request))));
    }
    return json_response(200, o.complete(id, orchestrator::decode_report(body_of(request))));
}

Response dispatch(orchestrator::Orchestrator& o, const Collections& all, const Request& request,
                  const std::string& method, const std::vector<std::string>& segments) {
    if (segments.empty()) {
        if (method != "GET") method_not_allowed();
        return json_response(200, {{"status", "ok"}});
    }
    if (segments.size() == 1 && segments[0] == "openapi.json") {
        if (method != "GET") method_not_allowed();
        return json_response(200, openapi_document());
    }
    if (segments[0] == "stats" && segments.size() == 2) {
        if (method != "GET") method_not_allowed();
        return json_response(200, stats(o, segments[1], request));
    }
    if (auto route = queue_route(segments); route != QueueRoute::none) {
        return queue_dispatch(o, route, request, method, segments);
    }
    auto found = all.find(segments[0]);
    if (found == all.end() || segments.size() > 3) throw HttpError{404, "Not Found"};
    const Collection& collection = found->second;
    if (segments.size() == 1) {
        if (method == "GET") return json_response(200, collection.list(page_of(request)));
        if (method == "POST") return json_response(200, collection.create(body_of(request)));
        method_not_allowed();
    }
    std::int64_t id = id_parameter(segments[1], {"path", "id"});
    if (segments.size() == 3) {
        if (segments[0] != "feedstocks" || segments[2] != "datasets") throw HttpError{404, "Not Found"};
        if (method != "GET") method_not_allowed();
        return json_response(200, datasets(o, id, request));
    }
    if (method == "GET") return json_response(200, collection.read(id));
    if (method == "PATCH") return json_response(200, collection.update(id, body_of(request)));
    if (method == "DELETE") {
        collection.remove(id);
        return json_response(200, {{"ok", true}});
    }
    method_not_allowed();
}

std::string header(const Request& request, const std::string& name) {
    auto it = request.headers.find(name);
    return it == request.headers.end() ? "" : it->second;
}

// CORS as the Python service answers it: any origin may read the API.
void add_cors(const Request& request, Response& response) {
    if (header(request, "origin").empty()) return;
    response.headers.emplace_back("access-control-allow-origin", "*");
}

Response preflight(const Request& request) {
    Response response{200, {{"content-type", "text/plain; charset=utf-8"}}, "OK"};
    response.headers.emplace_back("access-control-allow-origin", "*");
    response.headers.emplace_back("access-control-allow-methods", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT");
    std::string requested = header(request, "access-control-request-headers");
    if (!requested.empty()) response.headers.emplace_back("access-control-allow-headers", requested);
    response.headers.emplace_back("access-control-max-age", "600");
    return response;
}

Response error_response(const Request& request, const HttpError& error) {
    Response response = json_response(error.status, {{"detail", error.detail}});
    add_cors(request, response);
    return response;
}

// Lenient, as web frameworks are: a stray '%' stays as it is.
std::string url_decode(const std::string& text) {
    return *detail::percent_decoded(text, true, detail::MalformedEscape::keep);
}

}  // namespace

ApiKeys::ApiKeys(std::vector<std::string> keys) {
    for (const auto& key : keys) {
        if (!key.empty()) digests_.push_back(detail::sha256_digest(key));
    }
}

std::vector<std::string> configured_api_keys() {
    const char* value = std::getenv("PANGEO_FORGE_API_KEY");
    std::vector<std::string> keys;
    std::string all = value == nullptr ? "" : value;
    if (detail::trimmed(all).empty()) return keys;  // not configured: writes are refused
    std::size_t start = 0;
    for (;;) {
        auto comma = all.find(',', start);
        std::string key = detail::trimmed(all.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (key.empty()) {
            throw ConfigError("PANGEO_FORGE_API_KEY holds an empty key (between commas, or only spaces): give each "
                              "key some characters, and separate keys with single commas");
        }
        keys.push_back(key);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return keys;
}

ApiKeys ApiKeys::from_environment() { return ApiKeys(configured_api_keys()); }

bool ApiKeys::accepts(const std::string& key) const {
    // Compare digests, every byte of every key: the time taken says nothing of the keys.
    std::string offered = detail::sha256_digest(key);
    bool accepted = false;
    for (const auto& digest : digests_) {
        unsigned char difference = 0;
        for (std::size_t i = 0; i < digest.size(); ++i) difference |= digest[i] ^ offered[i];
        accepted |= difference == 0;
    }
    return accepted;
}

Router::Router(orchestrator::Orchestrator& orchestrator, ApiKeys keys, Log log, Handler github_app)
    : orchestrator_(orchestrator), keys_(std::move(keys)), log_(std::move(log)), github_app_(std::move(github_app)) {}

std::optional<Response> Router::answer_before_body(const Request& head) const {
    const auto segments = path_segments(head.path);
    // The hook carries no API key: its signature, over the whole body, is checked by the App.
    if (app_route_method(segments)) return std::nullopt;
    if (!reaches_a_write(collections(orchestrator_), detail::uppercase(head.method), segments)) {
        return std::nullopt;
    }
    try {
        require_key(keys_, header(head, "x-api-key"));
        return std::nullopt;
    } catch (const HttpError& error) {
        return error_response(head, error);
    }
}

Response Router::handle(const Request& request) const {
    const std::string method = detail::uppercase(request.method);
    if (method == "OPTIONS") return preflight(request);
    Response response;
    try {
        // The routes and the path, made once for the key's check and for the dispatch.
        const auto all = collections(orchestrator_);
        const auto segments = path_segments(request.path);
        if (auto app_method = app_route_method(segments)) {
            if (method != *app_method) method_not_allowed();
            response = github_app_ ? github_app_(request)
                                   : json_response(503, {{"detail", github::not_configured_detail({})}});
        } else {
            if (reaches_a_write(all, method, segments)) require_key(keys_, header(request, "x-api-key"));
            response = dispatch(orchestrator_, all, request, method, segments);
        }
    } catch (const HttpError& error) {
        return error_response(request, error);
    } catch (const ValidationError& error) {
        response = json_response(422, error.detail());
    } catch (const NotFound& error) {
        response = json_response(404, {{"detail", error.what()}});
    } catch (const Conflict& error) {
        response = json_response(409, {{"detail", error.what()}});
    } catch (const MigrationError& error) {
        response = json_response(503, {{"detail", error.what()}});
    } catch (const std::exception& error) {
        // The cause goes to the operator's log, not to the client.
        response = json_response(500, {{"detail", "Internal Server Error"}});
        try {
            if (log_) log_("error: " + method + " " + request.path + ": " + error.what());
        } catch (...) {
            // A log that fails loses the line; handle() still answers, as it promises.
        }
    }
    add_cors(request, response);
    return response;
}

Response json_response(int status, const json& body) {
    // A parse error may quote bytes that are not UTF-8: replace them rather than throw.
    return Response{status, {{"content-type", "application/json"}}, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

Request request_for(std::string method, const std::string& target, std::map<std::string, std::string> query,
                    std::map<std::string, std::string> headers, std::string body) {
    Request request{std::move(method), target, std::move(query), std::move(headers), std::move(body)};
    if (auto question = target.find('?'); question != std::string::npos) {
        // insert() keeps a name `query` has already.
        auto in_target = parse_query_string(target.substr(question + 1));
        request.query.insert(in_target.begin(), in_target.end());
        request.path.resize(question);
    }
    return request;
}

std::map<std::string, std::string> parse_query_string(const std::string& query) {
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start < query.size()) {
        auto amp = query.find('&', start);
        std::string pair = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
        auto eq = pair.find('=');
        if (!pair.empty()) {
            out[url_decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
        }
        if (amp == std::string::npos) break;
        start = amp + 1;
    }
    return out;
}

}  // namespace pangeo_forge::api
