#define BOOST_TEST_MODULE server
#include <boost/test/unit_test.hpp>

#include <httplib.h>

#include <thread>

#include "pangeo_forge/api/server.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using nlohmann::json;

using test::bundled;
using test::upgraded_to_head;

namespace {

// A real server on a free port of 127.0.0.1, serving in a thread of its own.
struct LiveServer {
    explicit LiveServer(const test::ScratchDatabase& scratch)
        : pool(scratch.url()), at_head(upgraded_to_head(pool)), orchestrator(pool, bundled()),
          router(orchestrator, api::ApiKeys({"key"})), server(router, options()), thread([this] { server.run(); }),
          client("127.0.0.1", server.port()) {}
    ~LiveServer() {
        server.stop();
        thread.join();
    }
    static api::ServeOptions options() {
        api::ServeOptions options;
        options.port = 0;
        options.threads = 4;
        options.max_body_bytes = 64 * 1024;
        return options;
    }

    db::Database pool;
    bool at_head;
    orchestrator::Orchestrator orchestrator;
    api::Router router;
    api::Server server;
    std::thread thread;
    httplib::Client client;
};

const httplib::Headers with_key{{"X-API-Key", "key"}};

}  // namespace

PANGEO_FORGE_DATABASE_TEST(the_api_answers_over_a_real_socket) {
    LiveServer live(database);
    auto bakery = live.client.Post("/bakeries/", with_key,
                                   R"({"region": "us-central1", "name": "ldeo", "description": "d"})",
                                   "application/json");
    BOOST_REQUIRE(bakery);
    BOOST_TEST(bakery->status == 200);
    BOOST_TEST(json::parse(bakery->body)["id"] == 1);
    BOOST_TEST(bakery->get_header_value("Content-Type") == "application/json");

    auto read = live.client.Get("/bakeries/1");
    BOOST_TEST(read->status == 200);
    BOOST_TEST(json::parse(read->body)["recipe_runs"] == json::array());
    BOOST_TEST(live.client.Get("/bakeries/2")->status == 404);
    BOOST_TEST(live.client.Get("/bakeries/?limit=500")->status == 422);
    BOOST_TEST(live.client.Get("/stats/bakeries")->body == R"({"count":1})");

    auto wrong = live.client.Delete("/bakeries/1", httplib::Headers{{"X-API-Key", "nope"}});
    BOOST_TEST(wrong->status == 401);
    BOOST_TEST(live.client.Delete("/bakeries/1")->status == 403);
    auto invalid = live.client.Post("/feedstocks/", with_key, R"({"provider": 3})", "application/json");
    BOOST_TEST(invalid->status == 422);
    BOOST_TEST(json::parse(invalid->body)["detail"].size() == 2u);

    auto cors = live.client.Get("/", httplib::Headers{{"Origin", "https://pangeo-forge.org"}});
    BOOST_TEST(cors->get_header_value("access-control-allow-origin") == "*");
    BOOST_TEST(live.client.Delete("/bakeries/1", with_key)->status == 200);
}

PANGEO_FORGE_DATABASE_TEST(bodies_over_the_limit_are_refused_before_the_router) {
    LiveServer live(database);
    auto response = live.client.Post("/bakeries/", with_key, std::string(100 * 1024, 'x'), "application/json");
    BOOST_REQUIRE(response);
    BOOST_TEST(response->status == 413);
    BOOST_TEST(live.client.Get("/stats/bakeries")->body == R"({"count":0})");
}

PANGEO_FORGE_DATABASE_TEST(concurrent_clients_each_get_their_answer) {
    LiveServer live(database);
    std::vector<std::thread> clients;
    std::atomic<int> created{0};
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&, t] {
            httplib::Client client("127.0.0.1", live.server.port());
            for (int i = 0; i < 10; ++i) {
                json body = {{"region", "r"}, {"name", "b" + std::to_string(t * 100 + i)}, {"description", "d"}};
                auto response = client.Post("/bakeries/", with_key, body.dump(), "application/json");
                if (response && response->status == 200) ++created;
            }
        });
    }
    for (auto& client : clients) client.join();
    BOOST_TEST(created.load() == 40);
    BOOST_TEST(live.client.Get("/stats/bakeries")->body == R"({"count":40})");
}
