// The router, on an in-memory SQLite database at head. An input is a short session of
// requests, so that the fuzzer can create a bakery, then a run that uses it, then patch it:
//
//   POST /recipe_runs/?limit=3        a request line: method and target (query included)
//   origin: https://example.org       headers, one a line, up to an empty line
//                                     (the API key is added unless the input sends one)
//   {"recipe_id": "x", ...}           the body, up to the separator
//   ---                               a separator line, then the next request
//
// Router::handle never throws (api/router.hpp), and answers a client's mistake with a 4xx:
// a 500 means something failed inside, so it is a finding, as is a JSON response whose
// body is no JSON, or a row written that does not read back as the write returned it. Every input starts from an empty database at head, which keeps memory
// bounded over millions of inputs and makes each input replay alike.
//
// With PANGEO_FORGE_FUZZ_TRACE set, each request and its answer are printed: to see what an
// input does (fuzz_router -runs=0 INPUT) or write seeds that reach where they should.

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "expect.hpp"
#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/api/service.hpp"
#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/model/schema.hpp"

namespace {

using namespace pangeo_forge;

const std::string api_key = "fuzz-key";
constexpr std::string_view separator = "\n---\n";
// More requests than this add little that a shorter session does not reach, and slow each run.
constexpr std::size_t max_requests = 16;

// The line at `text`'s front, taken off it (without its '\n').
std::string_view take_line(std::string_view& text) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    return line;
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// One request of the session, as a transport would hand it over: header names in lower case.
api::Request request_from(std::string_view text) {
    std::string_view request_line = take_line(text);
    auto space = request_line.find(' ');
    std::string method(request_line.substr(0, space));
    std::string target(space == std::string_view::npos ? "/" : request_line.substr(space + 1));
    std::map<std::string, std::string> headers;
    while (!text.empty()) {
        std::string_view line = take_line(text);
        if (line.empty()) break;
        auto colon = line.find(':');
        std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        headers[lowercase(line.substr(0, colon))] = std::string(value);
    }
    headers.emplace("x-api-key", api_key);
    return api::request_for(std::move(method), target, {}, std::move(headers), std::string(text));
}

std::vector<std::string_view> requests_in(std::string_view text) {
    std::vector<std::string_view> requests;
    while (requests.size() < max_requests) {
        auto end = text.find(separator);
        requests.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text = text.substr(end + separator.size());
    }
    return requests;
}

bool upgraded_to_head(db::Database& database, const migrate::RevisionGraph& graph) {
    migrate::Migrator(database, graph).upgrade("head");
    return true;
}

// The database, at head, and the API over it, made once for the whole run.
struct Api {
    Api()
        : database("sqlite://"),
          graph(migrate::RevisionGraph::load(migrate::bundled_migrations())),
          at_head(upgraded_to_head(database, graph)),
          service(database, graph, api::ApiKeys({api_key}), [this](const std::string& line) { last_log_line = line; }) {}

    // Deletes every row of the model's tables; the version table stays at head. SQLite
    // gives the next row the id after the largest one there, so ids start at 1 again.
    void empty_tables() {
        auto connection = database.acquire();
        connection->execute("PRAGMA foreign_keys = OFF");
        for (const auto& table : model::schema().tables) {
            connection->execute("DELETE FROM " + connection->dialect().quote(table.name));
        }
        connection->execute("PRAGMA foreign_keys = ON");
    }

    db::Database database;
    migrate::RevisionGraph graph;
    bool at_head;
    std::string last_log_line;  // the cause of the last 500
    api::Service service;
};

// The collection a request's path names: "recipe_runs" of "/recipe_runs/3".
std::string collection_of(const std::string& path) {
    auto start = path.find_first_not_of('/');
    if (start == std::string::npos) return "";
    return path.substr(start, path.find('/', start) - start);
}

// What a write answers is what the database then holds: the row that a POST or PATCH
// returned, read back by its id, has the same values.
void check_read_back(const api::Router& router, const api::Request& write, const api::Response& response) {
    const std::string method = lowercase(write.method);  // the router takes any case
    if (response.status != 200 || (method != "post" && method != "patch")) return;
    auto written = nlohmann::json::parse(response.body);
    if (!written.is_object() || !written.contains("id")) return;
    auto read = router.handle(api::request_for("GET", "/" + collection_of(write.path) + "/" + written["id"].dump()));
    fuzz::require(read.status == 200, "a row just written reads back");
    auto stored = nlohmann::json::parse(read.body);
    for (const auto& [key, value] : written.items()) {
        fuzz::require(stored.contains(key) && stored[key] == value, "a row reads back as its write returned it");
    }
}

void check(const api::Response& response, const api::Request& request, const std::string& cause) {
    if (response.status == 500) {
        std::fprintf(stderr, "500 for %s %s: %s\n", request.method.c_str(), request.path.c_str(), cause.c_str());
        std::abort();
    }
    for (const auto& [name, value] : response.headers) {
        if (name == "content-type" && value == "application/json") {
            fuzz::require(nlohmann::json::accept(response.body), "a JSON response's body is JSON");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Api api;
    static const bool trace = std::getenv("PANGEO_FORGE_FUZZ_TRACE") != nullptr;
    api.empty_tables();
    for (std::string_view text : requests_in(std::string_view(reinterpret_cast<const char*>(data), size))) {
        api::Request request = request_from(text);
        api::Response response = api.service.router().handle(request);
        if (trace) {
            std::fprintf(stderr, "%s %s -> %d %.200s\n", request.method.c_str(), request.path.c_str(), response.status,
                         response.body.c_str());
        }
        check(response, request, api.last_log_line);
        check_read_back(api.service.router(), request, response);
    }
    return 0;
}
