#pragma once
// The HTTP API of the Python service, independent of any transport: a request (method,
// path, query, headers, body) in, a response (status, headers, JSON body) out, with the
// same routes, status codes and JSON shapes. A server, the command line and a Python web
// framework all hand their requests to the same Router.
//
// Thread safety: handle() may be called from many threads at once; a Router holds an
// Orchestrator& (and its keys), which must outlive it.

#include <functional>
#include <map>
#include <optional>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "pangeo_forge/orchestrator/orchestrator.hpp"

namespace pangeo_forge::api {

// The largest request body any face takes (413 beyond it): the HTTP server, the ASGI adapter.
inline constexpr std::size_t default_max_body_bytes = 1024 * 1024;

struct Request {
    std::string method;  // "GET", "POST", ...
    std::string path;    // "/bakeries/3", without the query string
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
};

struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;  // JSON
};

// A response of `body` as JSON (content type set; bytes that are not UTF-8, which an error
// may quote, replaced rather than thrown on).
Response json_response(int status, const nlohmann::json& body);

// The keys that open the write routes (POST, PATCH, DELETE), compared in constant time.
// With none configured, every write is refused.
// PANGEO_FORGE_API_KEY, split at its commas, each key trimmed of spaces. Unset or blank:
// none. Throws ConfigError for an empty key ("k1,,k2", " , ").
std::vector<std::string> configured_api_keys();

class ApiKeys {
public:
    explicit ApiKeys(std::vector<std::string> keys = {});
    // PANGEO_FORGE_API_KEY: one key, or several separated by commas.
    static ApiKeys from_environment();

    bool accepts(const std::string& key) const;
    bool empty() const { return digests_.empty(); }

private:
    std::vector<std::string> digests_;  // SHA-256 of each key: equal lengths, nothing to leak
};

// Where the library's lines for an operator go: the face decides (stderr, a logger). It
// may be called from any thread that handles a request, at the same time.
using Log = std::function<void(const std::string& line)>;

// What serves the GitHub App's routes (github/app.hpp): POST /github/hooks/ (with or
// without its trailing slash), GET /github/hooks/deliveries, GET
// /github/hooks/deliveries/{id}, GET /feedstocks/{id}/deliveries and GET
// /feedstocks/{id}/commits/{sha}/check-runs. The face that loaded the App gives it (the
// Router does not know the App's library); it gets the request as it came, raw body and
// headers, and no API key is asked for: the hook is authenticated by its signature, which
// the App checks, and the other routes only read. It may be called from many threads at once.
using Handler = std::function<Response(const Request&)>;

class Router {
public:
    // `log` receives one line per request that failed inside (a 500): its cause, which the
    // client never sees. Empty: the cause is dropped. `github_app` serves the App's routes;
    // without one they answer 503 with what to set (github/settings.hpp). The orchestrator
    // must outlive the router.
    Router(orchestrator::Orchestrator& orchestrator, ApiKeys keys, Log log = {}, Handler github_app = {});

    // Never throws: errors become their status and {"detail": ...} body.
    // Safe to call from several threads at once.
    Response handle(const Request& request) const;

    // For a request whose body is still to come: the answer its headers alone settle, so
    // that a server need not read the body. A request that reaches a write (create, update,
    // delete) without a valid API key gets handle()'s 403 or 401; anything else, nothing
    // (the body must be read). Never throws, touches no database.
    std::optional<Response> answer_before_body(const Request& head) const;

private:
    orchestrator::Orchestrator& orchestrator_;
    ApiKeys keys_;
    Log log_;
    Handler github_app_;
};

// The OpenAPI 3 document of every route and schema, served at GET /openapi.json.
nlohmann::json openapi_document();

// A request for `target`, a path that may carry its query string ("/bakeries/?limit=10"):
// the pairs of that query string join `query`, where a name already there keeps its value.
Request request_for(std::string method, const std::string& target, std::map<std::string, std::string> query = {},
                    std::map<std::string, std::string> headers = {}, std::string body = {});

// Splits "a=1&b=two%20words" into decoded pairs (the last of a repeated name wins).
std::map<std::string, std::string> parse_query_string(const std::string& query);

}  // namespace pangeo_forge::api
