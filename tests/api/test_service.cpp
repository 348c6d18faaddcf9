#define BOOST_TEST_MODULE service
#include <boost/test/unit_test.hpp>

#include <mutex>

#include "pangeo_forge/api/service.hpp"
#include "pangeo_forge/error.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::api;

namespace {

ServiceOptions options_for(const std::string& url) {
    ServiceOptions options;
    options.database_url = url;
    options.api_keys = std::vector<std::string>{"key"};
    return options;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(without_database)

BOOST_AUTO_TEST_CASE(a_target_query_joins_the_query_given_which_wins) {
    auto request = request_for("GET", "/bakeries/?limit=10&sort=desc", {{"sort", "asc"}}, {{"x-api-key", "k"}}, "{}");
    BOOST_TEST(request.path == "/bakeries/");
    BOOST_TEST((request.query == std::map<std::string, std::string>{{"limit", "10"}, {"sort", "asc"}}));
    BOOST_TEST(request.headers.at("x-api-key") == "k");
    BOOST_TEST(request.body == "{}");
    BOOST_TEST(request_for("GET", "/").query.empty());
}

BOOST_AUTO_TEST_SUITE_END()

PANGEO_FORGE_DATABASE_TEST(a_service_refuses_a_database_not_at_head) {
    BOOST_CHECK_EXCEPTION(Service(options_for(database.url())), MigrationError, [](const MigrationError& error) {
        return std::string(error.what()).find("pangeo-forge db upgrade head") != std::string::npos;
    });
}

PANGEO_FORGE_DATABASE_TEST(a_service_at_head_answers_with_its_keys) {
    {
        db::Database pool(database.url());
        test::upgraded_to_head(pool);
    }
    Service service(options_for(database.url()));
    BOOST_TEST(service.router().handle(request_for("GET", "/")).status == 200);
    auto create = request_for("POST", "/feedstocks/", {}, {{"x-api-key", "key"}}, R"({"spec": "a/b"})");
    BOOST_TEST(service.router().handle(create).status == 200);
    create.headers["x-api-key"] = "other";
    BOOST_TEST(service.router().handle(create).status == 401);
    BOOST_TEST(service.orchestrator().count_feedstocks() == 1);
}

PANGEO_FORGE_DATABASE_TEST(an_internal_error_goes_to_the_log_not_to_the_client) {
    db::Database pool(database.url());
    test::upgraded_to_head(pool);
    std::vector<std::string> lines;
    std::mutex mutex;
    Service service(pool, test::bundled(), ApiKeys(), [&](const std::string& line) {
        std::lock_guard lock(mutex);
        lines.push_back(line);
    });
    pool.acquire()->execute("DROP TABLE dispatch");  // these two refer to reciperun
    pool.acquire()->execute("DROP TABLE github_report");
    pool.acquire()->execute("DROP TABLE reciperun");
    auto response = service.router().handle(request_for("GET", "/recipe_runs/"));
    BOOST_TEST(response.status == 500);
    BOOST_TEST(response.body == R"({"detail":"Internal Server Error"})");
    BOOST_TEST_REQUIRE(lines.size() == 1u);
    BOOST_TEST(lines[0].rfind("error: GET /recipe_runs/: ", 0) == 0u);
}
