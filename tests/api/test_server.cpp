#define BOOST_TEST_MODULE server
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <thread>

#include "pangeo_forge/api/server.hpp"
#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/http_client.hpp"
#include "support/migrations.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace std::chrono_literals;
using nlohmann::json;

using test::bundled;
using test::HttpClient;
using test::RawConnection;
using test::upgraded_to_head;

namespace {

// Small limits and short deadlines, so that a test reaches them quickly.
api::ServeOptions test_options() {
    api::ServeOptions options;
    options.port = 0;
    options.threads = 4;
    options.max_body_bytes = 64 * 1024;
    options.max_header_bytes = 4 * 1024;
    options.max_header_fields = 20;
    options.header_timeout = 500ms;
    options.body_timeout = 500ms;
    options.idle_timeout = 500ms;
    options.stop_grace = 5s;
    return options;
}

// A real server on a free port of 127.0.0.1, serving in a thread of its own.
struct LiveServer {
    explicit LiveServer(const test::ScratchDatabase& scratch, api::ServeOptions options = test_options())
        : pool(scratch.url(), pool_options()), at_head(upgraded_to_head(pool)), orchestrator(pool, bundled()),
          router(orchestrator, api::ApiKeys({"key"})), server(router, with_log(std::move(options))),
          thread([this] { server.run(); }), client(server.port()) {}
    ~LiveServer() {
        log_blocked = false;  // a test that failed while it blocked the log must not hang here
        server.stop();
        thread.join();
    }
    static db::PoolOptions pool_options() {
        db::PoolOptions options;
        options.size = 4;
        return options;
    }
    api::ServeOptions with_log(api::ServeOptions options) {
        options.log = [this](const std::string& line) {
            while (log_blocked) std::this_thread::sleep_for(1ms);
            std::lock_guard lock(log_mutex);
            log.push_back(line);
        };
        return options;
    }
    // The access log's lines so far: they are written by a thread of the server's own.
    std::vector<std::string> log_lines(std::size_t at_least) {
        for (int waited = 0; waited < 2000; ++waited) {
            {
                std::lock_guard lock(log_mutex);
                if (log.size() >= at_least) return log;
            }
            std::this_thread::sleep_for(1ms);
        }
        std::lock_guard lock(log_mutex);
        return log;
    }
    std::size_t bakeries() { return json::parse(client.get("/stats/bakeries").body)["count"]; }

    std::atomic<bool> log_blocked{false};
    std::mutex log_mutex;
    std::vector<std::string> log;
    db::Database pool;
    bool at_head;
    orchestrator::Orchestrator orchestrator;
    api::Router router;
    api::Server server;
    std::thread thread;
    HttpClient client;
};

const test::HttpHeaders with_key{{"X-API-Key", "key"}};

std::string bakery_json(const std::string& name) {
    return json{{"region", "r"}, {"name", name}, {"description", "d"}}.dump();
}

std::string post_bakery_bytes(const std::string& name) {
    std::string body = bakery_json(name);
    return "POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nContent-Type: application/json\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// `body` in chunks of `chunk` bytes.
std::string chunked(const std::string& body, std::size_t chunk) {
    std::string out;
    char size[32];
    for (std::size_t at = 0; at < body.size(); at += chunk) {
        std::string part = body.substr(at, chunk);
        std::snprintf(size, sizeof size, "%zx\r\n", part.size());
        out += size + part + "\r\n";
    }
    return out + "0\r\n\r\n";
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(the_api_answers_over_a_real_socket) {
    LiveServer live(database);
    auto bakery = live.client.post("/bakeries/", R"({"region": "us-central1", "name": "ldeo", "description": "d"})", with_key);
    BOOST_TEST(bakery.status == 200);
    BOOST_TEST(json::parse(bakery.body)["id"] == 1);
    BOOST_TEST(bakery.header("Content-Type") == "application/json");

    auto read = live.client.get("/bakeries/1");
    BOOST_TEST(read.status == 200);
    BOOST_TEST(json::parse(read.body)["recipe_runs"] == json::array());
    BOOST_TEST(live.client.get("/bakeries/2").status == 404);
    BOOST_TEST(live.client.get("/bakeries/?limit=500").status == 422);
    BOOST_TEST(live.client.get("/stats/bakeries").body == R"({"count":1})");
    BOOST_TEST(live.client.get("/bakeries/1%00x").status == 422);

    BOOST_TEST(live.client.send("DELETE", "/bakeries/1", {{"X-API-Key", "nope"}}).status == 401);
    BOOST_TEST(live.client.send("DELETE", "/bakeries/1").status == 403);
    auto invalid = live.client.post("/feedstocks/", R"({"provider": 3})", with_key);
    BOOST_TEST(invalid.status == 422);
    BOOST_TEST(json::parse(invalid.body)["detail"].size() == 2u);

    auto cors = live.client.get("/", {{"Origin", "https://pangeo-forge.org"}});
    BOOST_TEST(cors.header("access-control-allow-origin") == "*");
    BOOST_TEST(live.client.send("DELETE", "/bakeries/1", with_key).status == 200);
    auto log = live.log_lines(1);
    BOOST_TEST(log.front().rfind("POST /bakeries/ 200 ", 0) == 0u, log.front());
}

PANGEO_FORGE_DATABASE_TEST(head_answers_carry_no_body) {
    LiveServer live(database);
    RawConnection raw(live.server.port());
    raw.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\nGET /stats/bakeries HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    auto both = raw.rest_until_closed(3s);
    BOOST_REQUIRE(both);
    auto second = both->find("HTTP/1.1 200 OK", 1);
    BOOST_REQUIRE(second != std::string::npos);
    // The HEAD answer ends with its header: the next bytes are the next answer.
    BOOST_TEST(both->substr(0, second).find("\r\n\r\n") == second - 4);
    BOOST_TEST(both->substr(second).find(R"({"count":0})") != std::string::npos);
}

PANGEO_FORGE_DATABASE_TEST(a_body_without_a_valid_key_is_refused_unread) {
    LiveServer live(database);
    // Only the header is sent: the answer comes without waiting for the body.
    RawConnection raw(live.server.port());
    raw.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nContent-Length: 60000\r\n\r\n");
    auto refused = raw.read_reply(2s);
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->status == 403);
    BOOST_TEST(refused->header("connection") == "close");
    RawConnection wrong(live.server.port());
    wrong.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: nope\r\nTransfer-Encoding: chunked\r\n\r\n");
    auto invalid = wrong.read_reply(2s);
    BOOST_REQUIRE(invalid);
    BOOST_TEST(invalid->status == 401);
    BOOST_TEST(live.bakeries() == 0u);
}

PANGEO_FORGE_DATABASE_TEST(a_chunked_body_s_trailer_fields_are_no_headers) {
    LiveServer live(database);
    std::string with_trailer = chunked(bakery_json("trailing"), 64);  // ends with "0\r\n\r\n"
    with_trailer.resize(with_trailer.size() - 2);
    RawConnection raw(live.server.port());
    raw.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nTransfer-Encoding: chunked\r\n\r\n" +
             with_trailer + "X-API-Key: nope\r\nContent-Encoding: gzip\r\n\r\n");
    auto reply = raw.read_reply();
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 200, reply->body);
    // A trailer field too long for the parser's buffer is refused, and the server goes on.
    RawConnection huge(live.server.port());
    huge.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nTransfer-Encoding: chunked\r\n\r\n" +
              with_trailer + "X-Long: " + std::string(66'000, 't') + "\r\n\r\n");
    auto refused = huge.read_reply();
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->status == 431);
    BOOST_TEST(live.bakeries() == 1u);
}

PANGEO_FORGE_DATABASE_TEST(a_transfer_coding_other_than_chunked_cannot_smuggle_a_request) {
    LiveServer live(database);
    BOOST_TEST(live.client.post("/bakeries/", bakery_json("kept"), with_key).status == 200);
    RawConnection raw(live.server.port());
    raw.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
             "DELETE /bakeries/1 HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nContent-Length: 0\r\n\r\n");
    auto refused = raw.read_reply();
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->status == 501);
    BOOST_TEST(raw.closed_within(3s));
    BOOST_TEST(live.client.get("/bakeries/1").status == 200);
}

PANGEO_FORGE_DATABASE_TEST(request_targets_and_hosts_as_http_1_1_has_them) {
    LiveServer live(database);
    RawConnection absolute(live.server.port());
    absolute.send("GET http://api.example/stats/bakeries HTTP/1.1\r\nHost: api.example\r\n\r\n");
    auto read = absolute.read_reply();
    BOOST_REQUIRE(read);
    BOOST_TEST(read->body == R"({"count":0})");
    RawConnection hostless(live.server.port());
    hostless.send("GET / HTTP/1.1\r\n\r\n");
    auto refused = hostless.read_reply();
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->status == 400);
    BOOST_TEST(json::parse(refused->body)["detail"] == "an HTTP/1.1 request needs exactly one Host header field");
}

PANGEO_FORGE_DATABASE_TEST(the_access_log_is_escaped_cut_and_never_in_the_way) {
    LiveServer live(database);
    live.log_blocked = true;  // a log that does not take lines, as a full pipe would
    for (int i = 0; i < 3; ++i) BOOST_TEST(live.client.get("/").status == 200);
    BOOST_TEST(live.client.get("/" + std::string(1000, 'a')).status == 404);
    RawConnection raw(live.server.port());
    raw.send("GET /\xff\xfe HTTP/1.1\r\nHost: t\r\n\r\n");
    BOOST_REQUIRE(raw.read_reply());
    live.log_blocked = false;
    auto log = live.log_lines(5);
    BOOST_REQUIRE(log.size() == 5u);
    BOOST_TEST(log[3].rfind("GET /" + std::string(255, 'a') + "... 404 ", 0) == 0u, log[3]);
    BOOST_TEST(log[4].rfind("GET /%FF%FE 404 ", 0) == 0u, log[4]);
}

PANGEO_FORGE_DATABASE_TEST(bodies_over_the_limit_are_refused_before_the_router) {
    LiveServer live(database);
    std::string big = bakery_json(std::string(100 * 1024, 'x'));
    auto declared = live.client.post("/bakeries/", big, with_key);
    BOOST_TEST(declared.status == 413);
    BOOST_TEST(json::parse(declared.body)["detail"] == "the request body exceeds 64 KiB: send a smaller one");

    // Chunked: no length to check beforehand; the limit counts the bytes as they come.
    RawConnection raw(live.server.port());
    raw.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nTransfer-Encoding: chunked\r\n\r\n" +
             chunked(big, 4096));
    auto refused = raw.read_reply();
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->status == 413);
    BOOST_TEST(refused->header("connection") == "close");
    BOOST_TEST(raw.closed_within(3s));

    // Under the limit, chunked is fine.
    RawConnection small(live.server.port());
    small.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nTransfer-Encoding: chunked\r\n\r\n" +
               chunked(bakery_json("chunky"), 7));
    auto accepted = small.read_reply();
    BOOST_REQUIRE(accepted);
    BOOST_TEST(accepted->status == 200, accepted->body);
    BOOST_TEST(live.bakeries() == 1u);
}

PANGEO_FORGE_DATABASE_TEST(compressed_bodies_are_refused_unread) {
    LiveServer live(database);
    auto gzip = live.client.post("/bakeries/", std::string("\x1f\x8b\x08\x00", 4), {{"X-API-Key", "key"}, {"Content-Encoding", "gzip"}});
    BOOST_TEST(gzip.status == 415);
    BOOST_TEST(json::parse(gzip.body)["detail"].get<std::string>().find("Content-Encoding 'gzip'") != std::string::npos);
    auto identity = live.client.post("/bakeries/", bakery_json("plain"), {{"X-API-Key", "key"}, {"Content-Encoding", "identity"}});
    BOOST_TEST(identity.status == 200);
    BOOST_TEST(live.bakeries() == 1u);
}

PANGEO_FORGE_DATABASE_TEST(what_a_refusal_quotes_is_made_safe) {
    LiveServer live(database);
    RawConnection raw(live.server.port());
    raw.send("GET / HTTP/1.1\r\nHost: t\r\nContent-Encoding: \xff\xfe\r\n\r\n");
    auto reply = raw.read_reply();
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 415);
    BOOST_TEST(json::parse(reply->body)["detail"].get<std::string>().find("'%FF%FE'") != std::string::npos);
    BOOST_TEST(live.client.get("/").status == 200);  // and the server goes on
}

PANGEO_FORGE_DATABASE_TEST(oversized_headers_are_refused) {
    LiveServer live(database);
    auto long_header = live.client.get("/", {{"X-Padding", std::string(8 * 1024, 'p')}});
    BOOST_TEST(long_header.status == 431);
    test::HttpHeaders many;
    for (int i = 0; i < 30; ++i) many["X-Field-" + std::to_string(i)] = "v";
    auto too_many = live.client.get("/", many);
    BOOST_TEST(too_many.status == 431);
    BOOST_TEST(json::parse(too_many.body)["detail"] == "the request has more than 20 header fields: send fewer");
    // An endless header is cut at the limit, not buffered.
    RawConnection raw(live.server.port());
    raw.send("GET / HTTP/1.1\r\nX-Endless: ");
    for (int i = 0; i < 64 && raw.send(std::string(1024, 'e')); ++i) {}
    auto reply = raw.read_reply();
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 431);
}

PANGEO_FORGE_DATABASE_TEST(malformed_requests_get_a_400_that_says_why) {
    LiveServer live(database);
    RawConnection raw(live.server.port());
    raw.send("GET / HTTP/1.1\r\nContent-Length: twelve\r\n\r\n");
    auto reply = raw.read_reply();
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 400);
    BOOST_TEST(json::parse(reply->body)["detail"].get<std::string>().rfind("malformed HTTP request: ", 0) == 0u);
}

PANGEO_FORGE_DATABASE_TEST(pipelined_requests_are_answered_in_order) {
    LiveServer live(database);
    RawConnection raw(live.server.port());
    std::string four;
    for (const char* name : {"first", "second", "third", "fourth"}) four += post_bakery_bytes(name);
    four += "GET /stats/bakeries HTTP/1.1\r\nHost: t\r\n\r\n";
    raw.send(four);
    int id = 0;
    for (const char* name : {"first", "second", "third", "fourth"}) {
        auto reply = raw.read_reply();
        BOOST_REQUIRE(reply);
        BOOST_TEST(reply->status == 200);
        auto bakery = json::parse(reply->body);
        BOOST_TEST(bakery["name"] == name);
        BOOST_TEST(bakery["id"] == ++id);
    }
    auto stats = raw.read_reply();
    BOOST_REQUIRE(stats);
    BOOST_TEST(stats->body == R"({"count":4})");
}

PANGEO_FORGE_DATABASE_TEST(slow_clients_cost_a_socket_not_a_worker) {
    LiveServer live(database);
    // Twice as many slow clients as workers, each in the middle of a header.
    std::vector<std::unique_ptr<RawConnection>> slow;
    for (int i = 0; i < 8; ++i) {
        slow.push_back(std::make_unique<RawConnection>(live.server.port()));
        slow.back()->send("GET / HTTP/1.1\r\nX-Slow: ");
    }
    HttpClient other(live.server.port(), 2s);  // throws if not answered in time
    BOOST_TEST(other.get("/").status == 200);
    // Past the header deadline, each is told and let go.
    for (auto& client : slow) {
        auto reply = client->read_reply(5s);
        BOOST_REQUIRE(reply);
        BOOST_TEST(reply->status == 408);
    }
}

PANGEO_FORGE_DATABASE_TEST(idle_connections_end_after_the_idle_timeout) {
    LiveServer live(database);
    RawConnection raw(live.server.port());
    for (int i = 0; i < 2; ++i) {  // kept alive between requests
        raw.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        BOOST_REQUIRE(raw.read_reply());
    }
    BOOST_TEST(raw.closed_within(3s));
    // HTTP/1.0 closes after each answer unless asked not to.
    RawConnection old(live.server.port());
    old.send("GET / HTTP/1.0\r\n\r\n");
    auto reply = old.read_reply();
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 200);
    BOOST_TEST(old.closed_within(1s));
}

PANGEO_FORGE_DATABASE_TEST(a_body_too_slow_gets_a_408_that_names_the_deadline) {
    LiveServer live(database);
    RawConnection raw(live.server.port());
    raw.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nContent-Length: 100\r\n\r\n{");
    auto reply = raw.read_reply(5s);
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 408);
    BOOST_TEST(json::parse(reply->body)["detail"] == "the request's body did not arrive within 500 ms: send it at once");
}

PANGEO_FORGE_DATABASE_TEST(the_connection_cap_answers_503) {
    auto options = test_options();
    options.max_connections = 3;
    options.idle_timeout = 10s;
    LiveServer live(database, options);
    live.client.get("/");  // the client's own connection is one
    RawConnection second(live.server.port()), third(live.server.port());
    second.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    third.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    BOOST_REQUIRE(second.read_reply());
    BOOST_REQUIRE(third.read_reply());
    RawConnection fourth(live.server.port());
    auto refused = fourth.read_reply();
    BOOST_REQUIRE(refused);
    BOOST_TEST(refused->status == 503);
    BOOST_TEST(json::parse(refused->body)["detail"] == "the server has 3 connections open, its limit: retry later");
}

PANGEO_FORGE_DATABASE_TEST(a_client_that_expects_100_continue_gets_it) {
    LiveServer live(database);
    RawConnection raw(live.server.port());
    std::string body = bakery_json("patient");
    raw.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nExpect: 100-continue\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n");
    auto interim = raw.read_reply();
    BOOST_REQUIRE(interim);
    BOOST_TEST(interim->status == 100);
    raw.send(body);
    auto reply = raw.read_reply();
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 200);
}

PANGEO_FORGE_DATABASE_TEST(stop_finishes_requests_in_flight_and_refuses_new_ones) {
    LiveServer live(database);
    int port = live.server.port();
    RawConnection idle(port);
    idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    BOOST_REQUIRE(idle.read_reply());
    // In the middle of a request: its header read, its body not yet sent.
    std::string body = bakery_json("late");
    RawConnection in_flight(port);
    in_flight.send("POST /bakeries/ HTTP/1.1\r\nHost: t\r\nX-API-Key: key\r\nExpect: 100-continue\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n");
    BOOST_REQUIRE(in_flight.read_reply()->status == 100);

    live.server.stop();
    BOOST_TEST(idle.closed_within(2s));
    in_flight.send(body);
    auto reply = in_flight.read_reply();
    BOOST_REQUIRE(reply);
    BOOST_TEST(reply->status == 200);
    BOOST_TEST(reply->header("connection") == "close");
    live.thread.join();
    live.thread = std::thread([] {});  // joined again by the destructor
    BOOST_CHECK_THROW(RawConnection{port}, std::runtime_error);
    BOOST_TEST(test::query_value(*live.pool.acquire(), "SELECT count(*) FROM bakery") == "1");
    HttpClient after(port);
    BOOST_CHECK_THROW(after.get("/"), std::runtime_error);
}

// A router over SQLite at head, for a Server a test opens itself.
struct RouterAtHead {
    test::ScratchDatabase scratch{db::Backend::sqlite};
    db::Database pool{scratch.url()};
    bool at_head = upgraded_to_head(pool);
    orchestrator::Orchestrator orchestrator{pool, bundled()};
    api::Router router{orchestrator, api::ApiKeys({"key"})};
};

BOOST_AUTO_TEST_CASE(a_server_stopped_before_it_runs_returns_at_once) {
    RouterAtHead api;
    api::Server server(api.router, test_options());
    server.stop();
    server.run();
    BOOST_TEST(!server.running());
}

BOOST_AUTO_TEST_CASE(options_beyond_what_the_server_can_keep_are_refused) {
    RouterAtHead api;
    auto options = test_options();
    options.max_header_bytes = 64 * 1024;
    BOOST_CHECK_EXCEPTION(api::Server(api.router, std::move(options)).port(), ConfigError, [](const ConfigError& error) {
        return std::string(error.what()) == "max_header_bytes is 65536: give 1 to 61440 bytes";
    });
}

PANGEO_FORGE_DATABASE_TEST(concurrent_clients_each_get_their_answer) {
    auto options = test_options();
    options.io_threads = 2;
    options.idle_timeout = 10s;
    LiveServer live(database, options);
    std::vector<std::thread> clients;
    std::atomic<int> created{0};
    for (int t = 0; t < 4; ++t) {
        clients.emplace_back([&, t] {
            HttpClient client(live.server.port());
            for (int i = 0; i < 10; ++i) {
                if (client.post("/bakeries/", bakery_json("b" + std::to_string(t * 100 + i)), with_key).status == 200) {
                    ++created;
                }
            }
        });
    }
    for (auto& client : clients) client.join();
    BOOST_TEST(created.load() == 40);
    BOOST_TEST(live.bakeries() == 40u);
}
