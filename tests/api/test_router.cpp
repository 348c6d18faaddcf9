#define BOOST_TEST_MODULE router
#include <boost/test/unit_test.hpp>

#include <functional>

#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::api;
using nlohmann::json;

using test::bundled;
using test::upgraded_to_head;

namespace {

const std::string key = "s3cret-key";



// A database at head behind a router whose one key is `key`.
struct Api {
    explicit Api(const test::ScratchDatabase& scratch) : Api(scratch.url()) {}
    Api(const std::string& url, db::PoolOptions options = {})
        : pool(url, options), at_head(upgraded_to_head(pool)), orchestrator(pool, bundled()),
          router(orchestrator, ApiKeys({key, "another-key"})) {}

    Response call(const std::string& method, const std::string& target, const json& body = nullptr,
                  std::map<std::string, std::string> headers = {{"x-api-key", key}}) const {
        Request request{method, target, {}, std::move(headers), body.is_null() ? "" : body.dump()};
        if (auto question = target.find('?'); question != std::string::npos) {
            request.path = target.substr(0, question);
            request.query = parse_query_string(target.substr(question + 1));
        }
        return router.handle(request);
    }
    json ok(const std::string& method, const std::string& target, const json& body = nullptr) const {
        auto response = call(method, target, body);
        BOOST_TEST_REQUIRE(response.status == 200, method << " " << target << ": " << response.body);
        return json::parse(response.body);
    }

    db::Database pool;
    bool at_head;
    orchestrator::Orchestrator orchestrator;
    Router router;
};

const json bakery = {{"region", "us-central1"}, {"name", "pangeo-ldeo-nsf-earthcube"}, {"description", "great"}};
const json feedstock = {{"spec", "pangeo-forge/noaa-oisst-avhrr-only-feedstock"}};

json run_body(int bakery_id = 1, int feedstock_id = 1) {
    return {{"recipe_id", "noaa-oisst-avhrr-only"}, {"bakery_id", bakery_id}, {"feedstock_id", feedstock_id},
            {"head_sha", "035ee3e8"}, {"version", "1.0"}, {"started_at", "2021-01-01T00:00:00Z"}};
}

bool mentions_header(const Response& response, const std::string& name) {
    for (const auto& header : response.headers) {
        if (header.first == name) return true;
    }
    return false;
}

// The fields a 422 response names.
std::vector<std::string> fields_of(const Response& response) {
    BOOST_TEST_REQUIRE(response.status == 422, response.body);
    std::vector<std::string> fields;
    const json parsed = json::parse(response.body);  // kept: the loop below refers into it
    for (const auto& problem : parsed["detail"]) fields.push_back(problem["loc"].back());
    return fields;
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(root_says_ok) {
    Api api(database);
    BOOST_TEST(api.ok("GET", "/") == (json{{"status", "ok"}}));
}

PANGEO_FORGE_DATABASE_TEST(create_with_all_fields_and_with_defaults) {
    Api api(database);
    json created = api.ok("POST", "/bakeries/", bakery);
    BOOST_TEST(created["id"] == 1);
    BOOST_TEST(created["name"] == bakery["name"]);
    BOOST_TEST(api.ok("POST", "/feedstocks/", feedstock)["provider"] == "github");
    json full = run_body();
    full.update({{"message", "running"}, {"status", "in_progress"}, {"is_test", true}, {"dataset_type", "zarr"},
                 {"dataset_public_url", "https://x/a.zarr"}});
    json run = api.ok("POST", "/recipe_runs/", full);
    BOOST_TEST(run["status"] == "in_progress");
    BOOST_TEST(run["is_test"] == true);
    json defaults = api.ok("POST", "/recipe_runs/", run_body());
    BOOST_TEST(defaults["status"] == "queued");
    BOOST_TEST(defaults["is_test"] == false);
    BOOST_TEST(defaults["conclusion"].is_null());
}

PANGEO_FORGE_DATABASE_TEST(each_missing_required_field_and_each_bad_value_is_a_422) {
    Api api(database);
    for (const char* field : {"region", "name", "description"}) {
        json body = bakery;
        body.erase(field);
        BOOST_TEST(fields_of(api.call("POST", "/bakeries/", body)) == std::vector<std::string>{field});
    }
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    for (const auto& [field, value] : std::vector<std::pair<std::string, json>>{
             {"bakery_id", "one"}, {"status", "done"}, {"started_at", "yesterday"}, {"version", "v1"},
             {"is_test", "no"}, {"id", 7}, {"colour", "red"}, {"conclusion", "stale"}, {"bakery_id", 99}}) {
        json body = run_body();
        body[field] = value;
        BOOST_TEST(fields_of(api.call("POST", "/recipe_runs/", body)) == std::vector<std::string>{field}, field);
    }
    auto not_json = api.call("POST", "/bakeries/", nullptr);
    BOOST_TEST(not_json.status == 422);
    auto response = api.call("POST", "/feedstocks/", json{{"provider", "github"}});
    json problem = json::parse(response.body)["detail"][0];
    BOOST_TEST(problem == (json{{"loc", {"body", "spec"}}, {"msg", "field required"}, {"type", "value_error.missing"}}));
}

PANGEO_FORGE_DATABASE_TEST(read_a_range_and_one_with_relations) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    for (int i = 0; i < 3; ++i) api.ok("POST", "/recipe_runs/", run_body());
    BOOST_TEST(api.ok("GET", "/recipe_runs/").size() == 3u);
    json page = api.ok("GET", "/recipe_runs/?offset=1&limit=1&order_by=id&sort=desc");
    BOOST_REQUIRE_EQUAL(page.size(), 1u);
    BOOST_TEST(page[0]["id"] == 2);
    json run = api.ok("GET", "/recipe_runs/1");
    BOOST_TEST(run["bakery"]["name"] == bakery["name"]);
    BOOST_TEST(run["feedstock"]["spec"] == feedstock["spec"]);
    BOOST_TEST(api.ok("GET", "/bakeries/1")["recipe_runs"].size() == 3u);
    BOOST_TEST(api.ok("GET", "/feedstocks/1/")["recipe_runs"].size() == 3u);
}

PANGEO_FORGE_DATABASE_TEST(missing_ids_are_404_and_bad_ids_422) {
    Api api(database);
    auto missing = api.call("GET", "/bakeries/9");
    BOOST_TEST(missing.status == 404);
    BOOST_TEST(json::parse(missing.body) == (json{{"detail", "Bakery not found"}}));
    BOOST_TEST(api.call("DELETE", "/recipe_runs/9").status == 404);
    BOOST_TEST(api.call("PATCH", "/feedstocks/9", json::object()).status == 404);
    BOOST_TEST(fields_of(api.call("GET", "/bakeries/abc")) == std::vector<std::string>{"id"});
    BOOST_TEST(api.call("GET", "/nothing/").status == 404);
    BOOST_TEST(api.call("PUT", "/bakeries/").status == 405);
}

PANGEO_FORGE_DATABASE_TEST(partial_update_and_delete) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    json updated = api.ok("PATCH", "/bakeries/1", json{{"description", "moved"}});
    BOOST_TEST(updated["description"] == "moved");
    BOOST_TEST(updated["region"] == bakery["region"]);
    BOOST_TEST(fields_of(api.call("PATCH", "/bakeries/1", json{{"name", nullptr}})) == std::vector<std::string>{"name"});
    BOOST_TEST(api.ok("DELETE", "/bakeries/1") == (json{{"ok", true}}));
    BOOST_TEST(api.call("GET", "/bakeries/1").status == 404);
}

PANGEO_FORGE_DATABASE_TEST(writes_need_a_valid_key) {
    Api api(database);
    auto absent = api.call("POST", "/bakeries/", bakery, {});
    BOOST_TEST(absent.status == 403);
    BOOST_TEST(json::parse(absent.body) == (json{{"detail", "Not authenticated"}}));
    auto wrong = api.call("POST", "/bakeries/", bakery, {{"x-api-key", "guess"}});
    BOOST_TEST(wrong.status == 401);
    BOOST_TEST(json::parse(wrong.body) == (json{{"detail", "Invalid API Key"}}));
    BOOST_TEST(api.call("POST", "/bakeries/", bakery, {{"x-api-key", "another-key"}}).status == 200);
    BOOST_TEST(api.call("DELETE", "/bakeries/1", nullptr, {}).status == 403);
    BOOST_TEST(api.call("GET", "/bakeries/", nullptr, {}).status == 200);  // reads are open

    Router closed(api.orchestrator, ApiKeys{});  // no key configured: writes are refused, not open
    Request request{"POST", "/bakeries/", {}, {{"x-api-key", ""}}, bakery.dump()};
    BOOST_TEST(closed.handle(request).status == 403);
    request.headers["x-api-key"] = "anything";
    BOOST_TEST(closed.handle(request).status == 401);

    // Before a body is read, its headers settle the same answers, and touch no row.
    Request head{"POST", "/bakeries/", {}, {{"origin", "https://pangeo-forge.org"}}, ""};
    auto unread = api.router.answer_before_body(head);
    BOOST_REQUIRE(unread);
    BOOST_TEST(unread->status == 403);
    BOOST_TEST(unread->body == absent.body);
    BOOST_TEST(mentions_header(*unread, "access-control-allow-origin"));
    head.headers["x-api-key"] = "guess";
    BOOST_TEST(api.router.answer_before_body(head)->status == 401);
    head.headers["x-api-key"] = key;
    BOOST_TEST(!api.router.answer_before_body(head));
}

PANGEO_FORGE_DATABASE_TEST(pagination_bounds_and_order_by_injection_are_refused) {
    Api api(database);
    BOOST_TEST(fields_of(api.call("GET", "/bakeries/?limit=101")) == std::vector<std::string>{"limit"});
    BOOST_TEST(fields_of(api.call("GET", "/bakeries/?offset=-1")) == std::vector<std::string>{"offset"});
    BOOST_TEST(fields_of(api.call("GET", "/bakeries/?limit=ten")) == std::vector<std::string>{"limit"});
    BOOST_TEST(fields_of(api.call("GET", "/bakeries/?sort=sideways")) == std::vector<std::string>{"sort"});
    for (const char* attempt : {"name%3B%20DROP%20TABLE%20bakery", "id%20DESC", "(SELECT%201)"}) {
        BOOST_TEST(fields_of(api.call("GET", std::string("/bakeries/?order_by=") + attempt)) ==
                   std::vector<std::string>{"order_by"});
    }
    BOOST_TEST(api.ok("GET", "/stats/bakeries")["count"] == 0);  // the table is still there
}

PANGEO_FORGE_DATABASE_TEST(datasets_and_stats_routes) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    json done = run_body();
    done.update({{"conclusion", "success"}, {"dataset_type", "zarr"}, {"dataset_public_url", "https://x/a.zarr"}});
    api.ok("POST", "/recipe_runs/", done);
    done["is_test"] = true;
    api.ok("POST", "/recipe_runs/", done);
    api.ok("POST", "/recipe_runs/", run_body());
    BOOST_TEST(api.ok("GET", "/feedstocks/1/datasets").size() == 2u);
    json production = api.ok("GET", "/feedstocks/1/datasets?type=production");
    BOOST_TEST(production == (json::array({{{"recipe_id", "noaa-oisst-avhrr-only"}, {"feedstock_id", 1},
                                            {"dataset_type", "zarr"}, {"dataset_public_url", "https://x/a.zarr"},
                                            {"is_test", false}}})));
    BOOST_TEST(fields_of(api.call("GET", "/feedstocks/1/datasets?type=some")) == std::vector<std::string>{"type"});
    BOOST_TEST(api.ok("GET", "/stats/recipe_runs") == (json{{"count", 3}}));
    BOOST_TEST(api.ok("GET", "/stats/feedstocks") == (json{{"count", 1}}));
    BOOST_TEST(api.ok("GET", "/stats/datasets") == (json{{"count", 2}}));
    BOOST_TEST(api.ok("GET", "/stats/datasets?exclude_test_runs=true") == (json{{"count", 1}}));
}

PANGEO_FORGE_DATABASE_TEST(cors_headers_as_the_service_sends_them) {
    Api api(database);
    auto response = api.call("GET", "/stats/bakeries", nullptr, {{"origin", "https://pangeo-forge.org"}});
    BOOST_TEST((std::find(response.headers.begin(), response.headers.end(),
                          std::pair<std::string, std::string>{"access-control-allow-origin", "*"}) !=
                response.headers.end()));
    auto preflight = api.call("OPTIONS", "/bakeries/", nullptr,
                              {{"origin", "https://pangeo-forge.org"}, {"access-control-request-headers", "x-api-key"}});
    BOOST_TEST(preflight.status == 200);
    BOOST_TEST((std::find(preflight.headers.begin(), preflight.headers.end(),
                          std::pair<std::string, std::string>{"access-control-allow-headers", "x-api-key"}) !=
                preflight.headers.end()));
}

PANGEO_FORGE_DATABASE_TEST(deleting_a_bakery_in_use_is_a_409) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    api.ok("POST", "/recipe_runs/", run_body());
    auto response = api.call("DELETE", "/bakeries/1");
    BOOST_TEST(response.status == 409);
    BOOST_TEST(json::parse(response.body)["detail"].get<std::string>().find("used by 1 recipe run") != std::string::npos);
}

PANGEO_FORGE_DATABASE_TEST(the_openapi_document_describes_every_route_and_resolves) {
    Api api(database);
    json document = api.ok("GET", "/openapi.json");
    BOOST_TEST(document["openapi"] == "3.0.2");
    for (const char* path : {"/", "/bakeries/", "/bakeries/{id}", "/feedstocks/", "/feedstocks/{id}",
                             "/feedstocks/{id}/datasets", "/recipe_runs/", "/recipe_runs/{id}", "/stats/recipe_runs",
                             "/stats/bakeries", "/stats/feedstocks", "/stats/datasets"}) {
        BOOST_TEST(document["paths"].contains(path), path);
    }
    BOOST_TEST(document["paths"]["/recipe_runs/{id}"].contains("patch"));
    BOOST_TEST(document["paths"]["/bakeries/"]["post"]["security"][0].contains("APIKeyHeader"));
    // Every $ref names a schema the document defines.
    std::function<void(const json&)> check_refs = [&](const json& node) {
        if (node.is_object()) {
            if (node.contains("$ref")) {
                std::string name = node["$ref"].get<std::string>().substr(std::string("#/components/schemas/").size());
                BOOST_TEST(document["components"]["schemas"].contains(name), name);
            }
            for (const auto& item : node.items()) check_refs(item.value());
        } else if (node.is_array()) {
            for (const auto& item : node) check_refs(item);
        }
    };
    check_refs(document);
    auto required = document["components"]["schemas"]["RecipeRunCreate"]["required"];
    BOOST_TEST(required.size() == 6u);
}

PANGEO_FORGE_DATABASE_TEST(odd_requests_get_clear_answers) {
    Api api(database);
    BOOST_TEST(api.call("GET", "/bakeries/9999999999").status == 404);  // beyond the id column, on both backends
    BOOST_TEST(api.call("POST", "/nowhere/", bakery, {}).status == 404);  // the route before the key
    BOOST_TEST(api.call("DELETE", "/bakeries/").status == 405);
    Request bad_bytes{"POST", "/bakeries/", {}, {{"x-api-key", key}}, "{\"name\": \"\xff\xfe\"}"};
    auto response = api.router.handle(bad_bytes);
    BOOST_TEST(response.status == 422, response.body);
    BOOST_CHECK_NO_THROW(json::parse(response.body));
    json run = run_body();
    run["bakery_id"] = 3000000000LL;
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    BOOST_TEST(fields_of(api.call("POST", "/recipe_runs/", run)) == std::vector<std::string>{"bakery_id"});
}

PANGEO_FORGE_DATABASE_TEST(nulls_sort_the_same_on_both_backends) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    json done = run_body();
    done["conclusion"] = "success";
    api.ok("POST", "/recipe_runs/", run_body());  // completed_at null
    api.ok("POST", "/recipe_runs/", done);
    BOOST_TEST(api.ok("GET", "/recipe_runs/?order_by=completed_at")[0]["id"] == 2);   // NULLs last going up
    BOOST_TEST(api.ok("GET", "/recipe_runs/?order_by=completed_at&sort=desc")[0]["id"] == 1);  // first going down
}

namespace {

Response raw_post(const Api& api, const std::string& path, const std::string& body) {
    return api.router.handle(Request{"POST", path, {}, {{"x-api-key", key}}, body});
}

// A run's body with `field` replaced by `value`, written as raw JSON text.
std::string run_with(const std::string& field, const std::string& value) {
    std::string text = run_body().dump();
    auto at = text.find("\"" + field + "\":");
    auto start = at + field.size() + 3;
    auto end = text.find_first_of(",}", start);
    return text.substr(0, start) + value + text.substr(end);
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(numbers_beyond_the_columns_are_422s_naming_the_field) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    // Beyond a double: the body is not JSON pangeo_forge can read (was a 500).
    auto too_big = raw_post(api, "/recipe_runs/", run_with("bakery_id", "1e400"));
    BOOST_TEST(too_big.status == 422, too_big.body);
    BOOST_TEST(json::parse(too_big.body)["detail"][0]["loc"] == json({"body"}));
    // Beyond a signed 64-bit integer: refused, not wrapped to -1.
    for (const char* value : {"18446744073709551615", "9223372036854775808", "4294967297", "2147483648", "-2147483649"}) {
        auto response = raw_post(api, "/recipe_runs/", run_with("bakery_id", value));
        BOOST_TEST(fields_of(response) == std::vector<std::string>{"bakery_id"}, value);
        BOOST_TEST(response.body.find("ensure this value is") != std::string::npos, response.body);
    }
    BOOST_TEST(api.ok("GET", "/recipe_runs/").empty());
}

PANGEO_FORGE_DATABASE_TEST(ids_in_paths_are_digits_only) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    for (const std::string& id : {std::string("1\0x", 3), std::string("+1"), std::string(" 1"), std::string("1 "),
                                 std::string("-1"), std::string("0x1"), std::string("99999999999999999999")}) {
        auto response = api.call("GET", "/bakeries/" + id);
        BOOST_TEST(response.status == 422, "'" << id << "': " << response.status << " " << response.body);
    }
    BOOST_TEST(api.call("GET", "/bakeries/1").status == 200);
}

PANGEO_FORGE_DATABASE_TEST(text_with_a_nul_character_is_a_422_on_both_backends) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    auto body = run_body();
    body["message"] = std::string("cut\0here", 8);
    BOOST_TEST(fields_of(api.call("POST", "/recipe_runs/", body)) == std::vector<std::string>{"message"});
    BOOST_TEST(fields_of(api.call("PATCH", "/bakeries/1", {{"name", std::string("a\0b", 3)}})) ==
               std::vector<std::string>{"name"});
    BOOST_TEST(api.ok("GET", "/bakeries/1")["name"] == bakery["name"]);
}

// A server restart ends every pooled connection; the requests sent after it do not fail
// for that (each used to fail one: 8 answers of 500 from a pool of 8).
BOOST_AUTO_TEST_SUITE(requests_after_a_server_restart_succeed)
BOOST_AUTO_TEST_CASE(postgresql, *boost::unit_test::precondition(test::postgres_configured)) {
    test::ScratchDatabase database(db::Backend::postgresql);
    constexpr std::size_t size = 8;
    Api api(database.url_with_own_application_name(), db::PoolOptions{size});
    {
        std::vector<db::PooledConnection> all;  // held together, so the pool opens every one
        for (std::size_t i = 0; i < size; ++i) all.push_back(api.pool.acquire());
    }

    database.terminate_own_connections();

    for (std::size_t i = 0; i < size; ++i) {
        auto response = api.call("GET", "/bakeries/");
        BOOST_TEST(response.status == 200, "request " << i << ": " << response.body);
    }
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(without_database)

BOOST_AUTO_TEST_CASE(api_keys_from_the_environment_are_trimmed_and_none_is_empty) {
    setenv("PANGEO_FORGE_API_KEY", " k1 , k2\t", 1);
    BOOST_TEST((configured_api_keys() == std::vector<std::string>{"k1", "k2"}));
    BOOST_TEST(ApiKeys::from_environment().accepts("k2"));
    for (const char* bad : {" , ", "k1,,k2", "k1,", ",k1"}) {
        setenv("PANGEO_FORGE_API_KEY", bad, 1);
        BOOST_CHECK_THROW(configured_api_keys(), ConfigError);
    }
    setenv("PANGEO_FORGE_API_KEY", "  ", 1);
    BOOST_TEST(configured_api_keys().empty());  // blank: not configured, writes refused
    unsetenv("PANGEO_FORGE_API_KEY");
}

BOOST_AUTO_TEST_SUITE_END()

// --- the worker's routes ------------------------------------------------------------------

PANGEO_FORGE_DATABASE_TEST(a_worker_claims_beats_and_reports_over_the_routes) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    api.ok("POST", "/feedstocks/", feedstock);
    const json claim_body = {{"bakery", bakery["name"]}, {"worker", "host:42"}, {"lease_seconds", 30}};
    auto nothing = api.call("POST", "/recipe_runs/claim", claim_body);
    BOOST_TEST(nothing.status == 204);
    BOOST_TEST(nothing.body.empty());

    json run = api.ok("POST", "/recipe_runs/", run_body());
    json claim = api.ok("POST", "/recipe_runs/claim", claim_body);
    BOOST_TEST(claim["attempt"] == 1);
    BOOST_TEST(claim["recipe_run"]["id"] == run["id"]);
    BOOST_TEST(claim["recipe_run"]["status"] == "in_progress");
    BOOST_TEST(claim["recipe_run"]["feedstock"]["spec"] == feedstock["spec"]);
    const std::string id = std::to_string(run["id"].get<int>());

    json beat = api.ok("POST", "/recipe_runs/" + id + "/heartbeat", {{"attempt", 1}});
    BOOST_TEST(beat["cancelled"] == false);
    auto fenced = api.call("POST", "/recipe_runs/" + id + "/heartbeat", {{"attempt", 2}});
    BOOST_TEST(fenced.status == 409, fenced.body);

    json done = api.ok("POST", "/recipe_runs/" + id + "/complete",
                       {{"attempt", 1}, {"outcome", "success"}, {"dataset_public_url", "https://data/x.zarr"}});
    BOOST_TEST(done["conclusion"] == "success");
    BOOST_TEST(done["dataset_public_url"] == "https://data/x.zarr");
    BOOST_TEST(api.call("POST", "/recipe_runs/" + id + "/complete", {{"attempt", 1}, {"outcome", "success"}}).status == 409);
}

PANGEO_FORGE_DATABASE_TEST(the_worker_routes_need_a_key_a_post_and_a_valid_body) {
    Api api(database);
    api.ok("POST", "/bakeries/", bakery);
    const json claim_body = {{"bakery", bakery["name"]}, {"worker", "w"}};
    BOOST_TEST(api.call("POST", "/recipe_runs/claim", claim_body, {}).status == 403);
    BOOST_TEST(api.call("POST", "/recipe_runs/claim", claim_body, {{"x-api-key", "wrong"}}).status == 401);
    BOOST_TEST(api.call("POST", "/recipe_runs/1/heartbeat", {{"attempt", 1}}, {}).status == 403);
    BOOST_TEST(api.call("POST", "/recipe_runs/1/complete", {{"attempt", 1}}, {}).status == 403);
    BOOST_TEST(api.call("GET", "/recipe_runs/claim").status == 405);
    BOOST_TEST(api.call("GET", "/recipe_runs/1/heartbeat").status == 405);
    BOOST_TEST(fields_of(api.call("POST", "/recipe_runs/claim", {{"bakery", bakery["name"]}})) ==
               std::vector<std::string>{"worker"});
    BOOST_TEST(fields_of(api.call("POST", "/recipe_runs/x/heartbeat", {{"attempt", 1}})) ==
               std::vector<std::string>{"id"});
    auto unknown = api.call("POST", "/recipe_runs/claim", {{"bakery", "nope"}, {"worker", "w"}});
    BOOST_TEST(unknown.status == 404, unknown.body);
    BOOST_TEST(api.call("POST", "/recipe_runs/99/heartbeat", {{"attempt", 1}}).status == 404);
    auto before_body = api.router.answer_before_body(request_for("POST", "/recipe_runs/claim"));
    BOOST_TEST((before_body && before_body->status == 403));
}

// --- the GitHub App's routes ------------------------------------------------------------

namespace {

// Each route the App serves, as a request without an API key.
std::vector<Request> app_requests() {
    return {request_for("POST", "/github/hooks/", {}, {}, "{}"), request_for("POST", "/github/hooks", {}, {}, "{}"),
            request_for("GET", "/github/hooks/deliveries"), request_for("GET", "/github/hooks/deliveries/7?response_only=true"),
            request_for("GET", "/feedstocks/1/deliveries"), request_for("GET", "/feedstocks/1/commits/035ee3e8/check-runs")};
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(the_app_routes_answer_503_naming_what_to_set_without_the_app) {
    Api api(database);
    for (const auto& request : app_requests()) {
        auto response = api.router.handle(request);
        BOOST_TEST(response.status == 503, request.method << " " << request.path << ": " << response.body);
        const std::string detail = json::parse(response.body)["detail"];
        for (const char* name : {"PANGEO_FORGE_GITHUB_APP_ID", "PANGEO_FORGE_GITHUB_PRIVATE_KEY_FILE",
                                 "PANGEO_FORGE_GITHUB_WEBHOOK_SECRET"}) {
            BOOST_TEST(detail.find(name) != std::string::npos, detail);
        }
    }
    BOOST_TEST(api.call("GET", "/github/hooks/").status == 405);
    BOOST_TEST(api.call("POST", "/github/hooks/deliveries").status == 405);
    BOOST_TEST(api.call("GET", "/github/elsewhere").status == 404);
}

PANGEO_FORGE_DATABASE_TEST(the_app_handler_receives_the_request_as_it_came) {
    Api api(database);
    std::vector<Request> received;
    Router router(api.orchestrator, ApiKeys({key}), {}, [&](const Request& request) {
        received.push_back(request);
        return Response{202, {{"content-type", "application/json"}}, R"({"status": "accepted"})"};
    });
    // The completion callback is form-encoded, and signed as sent: not a byte may change.
    const std::string form = "action=completed&recipe_run_id=1&conclusion=success";
    Request hook = request_for("POST", "/github/hooks/", {},
                               {{"x-github-event", "dataflow"}, {"x-hub-signature-256", "sha256=00"},
                                {"content-type", "application/x-www-form-urlencoded"},
                                {"origin", "https://github.com"}},
                               form);
    auto response = router.handle(hook);
    BOOST_TEST(response.status == 202);
    BOOST_TEST(response.body == R"({"status": "accepted"})");
    BOOST_TEST(mentions_header(response, "access-control-allow-origin"));
    BOOST_REQUIRE_EQUAL(received.size(), 1u);
    BOOST_TEST(received[0].body == form);
    BOOST_TEST(received[0].path == "/github/hooks/");
    BOOST_TEST((received[0].headers == hook.headers));

    for (const auto& request : app_requests()) router.handle(request);
    BOOST_REQUIRE_EQUAL(received.size(), 1u + app_requests().size());
    BOOST_TEST(received[4].query.at("response_only") == "true");
    BOOST_TEST(received.back().path == "/feedstocks/1/commits/035ee3e8/check-runs");
    // The Router's own routes under /feedstocks stay its own.
    router.handle(request_for("GET", "/feedstocks/1/datasets"));
    BOOST_TEST(received.size() == 1u + app_requests().size());
}

PANGEO_FORGE_DATABASE_TEST(the_hook_needs_no_api_key_and_the_other_writes_still_do) {
    Api api(database);
    int calls = 0;
    Router open_to_github(api.orchestrator, ApiKeys{}, {}, [&](const Request&) {
        ++calls;
        return Response{202, {}, "{}"};
    });
    Request hook = request_for("POST", "/github/hooks/", {}, {{"x-github-event", "ping"}});
    BOOST_TEST(!open_to_github.answer_before_body(hook));
    BOOST_TEST(!api.router.answer_before_body(hook));
    hook.path = "/github/hooks";
    BOOST_TEST(!open_to_github.answer_before_body(hook));
    BOOST_TEST(open_to_github.handle(hook).status == 202);
    BOOST_TEST(calls == 1);

    auto write = request_for("POST", "/feedstocks/", {}, {}, feedstock.dump());
    BOOST_TEST(open_to_github.answer_before_body(write)->status == 403);
    BOOST_TEST(open_to_github.handle(write).status == 403);
    write.headers["x-api-key"] = "guess";
    BOOST_TEST(open_to_github.handle(write).status == 401);
    BOOST_TEST(api.call("DELETE", "/feedstocks/1", nullptr, {}).status == 403);
    BOOST_TEST(api.router.answer_before_body(request_for("POST", "/recipe_runs/claim"))->status == 403);
    BOOST_TEST(calls == 1);
}

PANGEO_FORGE_DATABASE_TEST(an_app_handler_that_throws_is_a_500_with_its_cause_in_the_log) {
    Api api(database);
    std::vector<std::string> lines;
    Router router(api.orchestrator, ApiKeys({key}), [&](const std::string& line) { lines.push_back(line); },
                  [](const Request&) -> Response { throw std::runtime_error("the app fell over"); });
    auto response = router.handle(request_for("GET", "/github/hooks/deliveries"));
    BOOST_TEST(response.status == 500);
    BOOST_TEST(response.body.find("fell over") == std::string::npos);
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    BOOST_TEST(lines[0].find("the app fell over") != std::string::npos);
}
