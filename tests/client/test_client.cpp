#define BOOST_TEST_MODULE client
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "pangeo_forge/api/server.hpp"
#include "client/answer.hpp"
#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/error.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"
#include "support/tcp_proxy.hpp"

using namespace pangeo_forge;
using namespace std::chrono_literals;
using client::Client;
using client::ClientOptions;
using client::ConnectionError;
using client::HttpError;
using nlohmann::json;

namespace {

const std::string key = "s3cret-key";

// Short waits, so that the retry tests take a second, not a minute.
ClientOptions quick(int retries = 6) {
    ClientOptions options;
    options.retries = retries;
    options.first_backoff = 50ms;
    options.max_backoff = 2000ms;
    options.connect_timeout = 2000ms;
    options.request_timeout = 10000ms;
    return options;
}

// A real server on a free port of 127.0.0.1 over a database at head, and the same
// orchestrator in-process, to compare what the client gets with what a caller gets there.
struct LiveServer {
    explicit LiveServer(const test::ScratchDatabase& scratch)
        : pool(scratch.url(), db::PoolOptions{4}), at_head(test::upgraded_to_head(pool)),
          orchestrator(pool, test::bundled()), router(orchestrator, api::ApiKeys({key})),
          server(router, options()), thread([this] { server.run(); }) {}
    ~LiveServer() {
        server.stop();
        thread.join();
    }
    static api::ServeOptions options() {
        api::ServeOptions options;
        options.port = 0;
        options.threads = 4;
        return options;
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()); }

    db::Database pool;
    bool at_head;
    orchestrator::Orchestrator orchestrator;
    api::Router router;
    api::Server server;
    std::thread thread;
};

model::BakeryCreate bakery_form(const std::string& name = "pangeo-ldeo-nsf-earthcube") {
    model::BakeryCreate bakery;
    bakery.region = "us-central1";
    bakery.name = name;
    bakery.description = "great";
    return bakery;
}

model::FeedstockCreate feedstock_form() {
    model::FeedstockCreate feedstock;
    feedstock.spec = "pangeo-forge/noaa-oisst-avhrr-only-feedstock";
    return feedstock;
}

model::RecipeRunCreate run_form(std::int64_t bakery_id = 1, std::int64_t feedstock_id = 1) {
    model::RecipeRunCreate run;
    run.recipe_id = "noaa-oisst-avhrr-only";
    run.bakery_id = bakery_id;
    run.feedstock_id = feedstock_id;
    run.head_sha = "035ee3e8";
    run.version = "1.0";
    run.started_at = model::Timestamp(std::chrono::seconds(1609459200));
    return run;
}

// The errors `call` throws as a ValidationError, or none.
template <class Call>
std::vector<FieldError> validation_errors(Call call) {
    try {
        call();
    } catch (const ValidationError& error) {
        return error.errors();
    }
    return {};
}

template <class Call>
std::string message_of(Call call) {
    try {
        call();
    } catch (const std::exception& error) {
        return error.what();
    }
    return "(nothing thrown)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

PANGEO_FORGE_DATABASE_TEST(create_read_update_delete_each_collection) {
    LiveServer live(database);
    Client forge(live.url(), key);
    BOOST_TEST(forge.server() == live.url());
    auto bakery = forge.create(bakery_form());
    BOOST_TEST(bakery.id == 1);
    BOOST_TEST(bakery.name == "pangeo-ldeo-nsf-earthcube");
    auto feedstock = forge.create(feedstock_form());
    BOOST_TEST(model::to_string(feedstock.provider) == "github");
    auto run = forge.create(run_form());
    BOOST_TEST(model::to_string(run.status) == "queued");
    BOOST_TEST(!run.conclusion);

    // What the client reads is what the orchestrator reads in-process.
    BOOST_TEST((forge.bakery(1) == live.orchestrator.bakery(1)));
    BOOST_TEST((forge.feedstock(1) == live.orchestrator.feedstock(1)));
    BOOST_TEST((forge.recipe_run(1) == live.orchestrator.recipe_run(1)));
    BOOST_TEST(forge.recipe_run(1).bakery.name == bakery.name);
    BOOST_TEST(forge.bakery(1).recipe_runs.size() == 1u);

    model::BakeryUpdate moved;
    moved.description = "moved";
    auto updated = forge.update(1, moved);
    BOOST_TEST(updated.description == "moved");
    BOOST_TEST(updated.region == "us-central1");
    model::FeedstockUpdate renamed;
    renamed.spec = "pangeo-forge/other-feedstock";
    BOOST_TEST(forge.update(1, renamed).spec == "pangeo-forge/other-feedstock");
    model::RecipeRunUpdate done;
    done.conclusion = model::RecipeRunConclusion::success;
    auto completed = forge.update(1, done);
    BOOST_TEST(model::to_string(completed.status) == "completed");
    BOOST_TEST(completed.completed_at.has_value());

    forge.delete_recipe_run(1);
    forge.delete_feedstock(1);
    forge.delete_bakery(1);
    BOOST_TEST(forge.count_bakeries() == 0);
    BOOST_TEST(forge.count_feedstocks() == 0);
    BOOST_TEST(forge.count_recipe_runs() == 0);
}

PANGEO_FORGE_DATABASE_TEST(pages_are_sent_as_the_query_the_router_reads) {
    LiveServer live(database);
    Client forge(live.url(), key);
    forge.create(bakery_form());
    forge.create(feedstock_form());
    for (int i = 0; i < 3; ++i) forge.create(run_form());
    BOOST_TEST(forge.recipe_runs().size() == 3u);
    orchestrator::Page page;
    page.offset = 1;
    page.limit = 1;
    page.sort = orchestrator::SortOrder::desc;
    auto one = forge.recipe_runs(page);
    BOOST_REQUIRE_EQUAL(one.size(), 1u);
    BOOST_TEST(one[0].id == 2);
    BOOST_TEST((forge.recipe_runs(page) == live.orchestrator.recipe_runs(page)));
    page = {};
    page.order_by = "name";
    BOOST_TEST(forge.bakeries(page).size() == 1u);
    BOOST_TEST(forge.feedstocks().size() == 1u);
}

PANGEO_FORGE_DATABASE_TEST(validation_errors_carry_the_same_locations_as_in_process) {
    LiveServer live(database);
    Client forge(live.url(), key);
    forge.create(bakery_form());
    forge.create(feedstock_form());

    // A form the orchestrator refuses: a bakery that does not exist.
    auto remote = validation_errors([&] { forge.create(run_form(99)); });
    BOOST_REQUIRE_EQUAL(remote.size(), 1u);
    BOOST_TEST((remote.front().loc == std::vector<std::string>{"body", "bakery_id"}));
    BOOST_TEST((remote == validation_errors([&] { live.orchestrator.create(run_form(99)); })));
    // A form the server's decoding refuses (the struct holds what the JSON form would not).
    auto bad_version = run_form();
    bad_version.version = "v1";
    remote = validation_errors([&] { forge.create(bad_version); });
    BOOST_REQUIRE_EQUAL(remote.size(), 1u);
    BOOST_TEST((remote.front().loc == std::vector<std::string>{"body", "version"}));
    BOOST_TEST((remote == validation_errors([&] { model::decode<model::RecipeRunCreate>(json(bad_version)); })));

    orchestrator::Page too_long;
    too_long.limit = 101;
    remote = validation_errors([&] { forge.bakeries(too_long); });
    BOOST_REQUIRE_EQUAL(remote.size(), 1u);
    BOOST_TEST((remote.front().loc == std::vector<std::string>{"query", "limit"}));
    BOOST_TEST((remote == validation_errors([&] { live.orchestrator.bakeries(too_long); })));

    orchestrator::Page injected;
    injected.order_by = "name; DROP TABLE bakery";
    remote = validation_errors([&] { forge.bakeries(injected); });
    BOOST_REQUIRE_EQUAL(remote.size(), 1u);
    BOOST_TEST((remote.front().loc == std::vector<std::string>{"query", "order_by"}));
    BOOST_TEST(forge.count_bakeries() == 1);  // the table is still there

    model::BakeryUpdate no_name;
    no_name.name = std::string("a\0b", 3);
    remote = validation_errors([&] { forge.update(1, no_name); });
    BOOST_REQUIRE_EQUAL(remote.size(), 1u);
    BOOST_TEST((remote.front().loc == std::vector<std::string>{"body", "name"}));

    model::RecipeRunUpdate stale;
    stale.conclusion = model::RecipeRunConclusion::stale;
    auto run = forge.create(run_form());  // not id 1 on PostgreSQL: the refused insert took a sequence value
    remote = validation_errors([&] { forge.update(run.id, stale); });
    BOOST_REQUIRE_EQUAL(remote.size(), 1u);
    BOOST_TEST((remote == validation_errors([&] { live.orchestrator.update(run.id, stale); })));
}

PANGEO_FORGE_DATABASE_TEST(missing_rows_are_not_found_and_conflicts_are_conflicts) {
    LiveServer live(database);
    Client forge(live.url(), key);
    BOOST_CHECK_THROW(forge.bakery(9), NotFound);
    BOOST_TEST(message_of([&] { forge.bakery(9); }) == "Bakery not found");
    BOOST_CHECK_THROW(forge.feedstock(9), NotFound);
    BOOST_CHECK_THROW(forge.recipe_run(9), NotFound);
    BOOST_CHECK_THROW(forge.update(9, model::FeedstockUpdate{}), NotFound);
    BOOST_CHECK_THROW(forge.delete_recipe_run(9), NotFound);
    BOOST_CHECK_THROW(forge.datasets(9), NotFound);

    forge.create(bakery_form("ldeo"));
    BOOST_CHECK_THROW(forge.create(bakery_form("ldeo")), Conflict);  // names are unique
    forge.create(feedstock_form());
    forge.create(run_form());
    BOOST_CHECK_THROW(forge.delete_bakery(1), Conflict);
    BOOST_TEST(contains(message_of([&] { forge.delete_feedstock(1); }), "used by 1 recipe run"));
    BOOST_TEST(forge.count_bakeries() == 1);
}

PANGEO_FORGE_DATABASE_TEST(datasets_and_stats) {
    LiveServer live(database);
    Client forge(live.url(), key);
    forge.create(bakery_form());
    forge.create(feedstock_form());
    auto done = run_form();
    done.conclusion = model::RecipeRunConclusion::success;
    done.dataset_type = model::DatasetType::zarr;
    done.dataset_public_url = "https://x/a.zarr";
    forge.create(done);
    done.is_test = true;
    forge.create(done);
    forge.create(run_form());
    BOOST_TEST(forge.datasets(1).size() == 2u);
    auto production = forge.datasets(1, orchestrator::DatasetFilter::production);
    BOOST_REQUIRE_EQUAL(production.size(), 1u);
    BOOST_TEST(!production[0].is_test);
    BOOST_TEST((production == live.orchestrator.datasets(1, orchestrator::DatasetFilter::production)));
    BOOST_TEST(forge.datasets(1, orchestrator::DatasetFilter::test).size() == 1u);
    BOOST_TEST(forge.count_recipe_runs() == 3);
    BOOST_TEST(forge.count_feedstocks() == 1);
    BOOST_TEST(forge.count_bakeries() == 1);
    BOOST_TEST(forge.count_datasets() == 2);
    BOOST_TEST(forge.count_datasets(true) == 1);
}

PANGEO_FORGE_DATABASE_TEST(writes_need_a_valid_key_and_messages_never_show_it) {
    LiveServer live(database);
    Client anonymous(live.url());
    BOOST_TEST(anonymous.count_bakeries() == 0);  // reads are open
    try {
        anonymous.create(bakery_form());
        BOOST_FAIL("a write without a key was accepted");
    } catch (const HttpError& error) {
        BOOST_TEST(error.status() == 403);
        BOOST_TEST(error.what() == "the server " + live.url() + " answered 403 to POST /bakeries/: Not authenticated");
    }
    Client wrong(live.url(), "guess-what");
    try {
        wrong.delete_bakery(1);
        BOOST_FAIL("a write with a wrong key was accepted");
    } catch (const HttpError& error) {
        BOOST_TEST(error.status() == 401);
        BOOST_TEST(contains(error.what(), "answered 401 to DELETE /bakeries/1: Invalid API Key"), error.what());
        BOOST_TEST(!contains(error.what(), "guess-what"));
    }
    BOOST_TEST(anonymous.count_bakeries() == 0);
}

PANGEO_FORGE_DATABASE_TEST(request_returns_every_status_and_the_headers) {
    LiveServer live(database);
    Client forge(live.url() + "/", key);  // a trailing slash is dropped
    BOOST_TEST(forge.server() == live.url());
    auto missing = forge.request("GET", "/nothing/");
    BOOST_TEST(missing.status == 404);
    BOOST_TEST(json::parse(missing.body) == (json{{"detail", "Not Found"}}));
    auto created = forge.request("post", "/bakeries/", json(bakery_form()).dump());
    BOOST_TEST(created.status == 200);
    bool typed = false;
    for (const auto& [name, value] : created.headers) typed |= name == "content-type" && value == "application/json";
    BOOST_TEST(typed);
    BOOST_TEST(forge.request("PUT", "/bakeries/").status == 405);
    BOOST_TEST(forge.request("GET", "/stats/bakeries").body == R"({"count":1})");
}

PANGEO_FORGE_DATABASE_TEST(one_client_serves_many_threads) {
    LiveServer live(database);
    Client forge(live.url(), key);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; ++i) {
                try {
                    forge.create(bakery_form("b" + std::to_string(t) + "-" + std::to_string(i)));
                    forge.count_bakeries();
                } catch (const std::exception&) {
                    ++failures;
                }
            }
        });
    }
    for (auto& thread : threads) thread.join();
    BOOST_TEST(failures == 0);
    BOOST_TEST(forge.count_bakeries() == 40);
}

PANGEO_FORGE_DATABASE_TEST(claim_heartbeat_and_complete_over_http) {
    LiveServer live(database);
    Client forge(live.url(), key);
    forge.create(bakery_form("ldeo"));
    forge.create(feedstock_form());
    forge.create(run_form());

    auto claim = forge.claim({"ldeo", "host:1", 60s});
    BOOST_REQUIRE(claim);
    BOOST_TEST(claim->run.recipe_run.id == 1);
    BOOST_TEST(claim->run.bakery.name == "ldeo");
    BOOST_TEST(model::to_string(claim->run.recipe_run.status) == "in_progress");
    BOOST_TEST(claim->attempt == 1);
    BOOST_TEST(!forge.claim({"ldeo", "host:2", 60s}));  // nothing else queued: 204
    BOOST_CHECK_THROW(forge.claim({"nobody", "host:1", 60s}), NotFound);
    auto refused = validation_errors([&] { forge.claim({"ldeo", "", 60s}); });
    BOOST_REQUIRE_EQUAL(refused.size(), 1u);
    BOOST_TEST((refused.front().loc == std::vector<std::string>{"body", "worker"}));

    auto beat = forge.heartbeat(1, {claim->attempt, 60s});
    BOOST_TEST(!beat.cancelled);
    BOOST_TEST((beat.lease_expires_at >= claim->lease_expires_at));
    BOOST_CHECK_THROW(forge.heartbeat(1, {claim->attempt + 1, 60s}), Conflict);  // fenced
    BOOST_CHECK_THROW(forge.heartbeat(9, {1, 60s}), NotFound);

    orchestrator::Report report;
    report.attempt = claim->attempt;
    report.dataset_public_url = "https://x/a.zarr";
    report.dataset_type = model::DatasetType::zarr;
    auto completed = forge.complete(1, report);
    BOOST_TEST(model::to_string(completed.status) == "completed");
    BOOST_TEST(completed.conclusion.has_value());
    BOOST_TEST(*completed.dataset_public_url == "https://x/a.zarr");
    BOOST_CHECK_THROW(forge.complete(1, report), Conflict);  // never completed twice
    BOOST_TEST(forge.count_datasets() == 1);

    // The client is a Queue, as the orchestrator is.
    orchestrator::Queue& queue = forge;
    BOOST_TEST(!queue.claim({"ldeo", "host:1", 60s}));
}

// --- retries -------------------------------------------------------------------------------

PANGEO_FORGE_DATABASE_TEST(a_read_succeeds_once_the_server_is_back) {
    LiveServer live(database);
    test::TcpProxy proxy("127.0.0.1", live.server.port());
    Client forge("http://127.0.0.1:" + std::to_string(proxy.port()), key, quick());
    BOOST_TEST(forge.count_bakeries() == 0);  // a kept-alive connection, which go_down() ends
    proxy.go_down();
    std::thread back([&] {
        std::this_thread::sleep_for(300ms);
        proxy.come_back();
    });
    auto started = std::chrono::steady_clock::now();
    BOOST_TEST(forge.count_bakeries() == 0);
    back.join();
    BOOST_TEST((std::chrono::steady_clock::now() - started >= 250ms));
}

PANGEO_FORGE_DATABASE_TEST(a_write_whose_connection_was_refused_is_sent_again_and_applied_once) {
    LiveServer live(database);
    test::TcpProxy proxy("127.0.0.1", live.server.port());
    Client forge("http://127.0.0.1:" + std::to_string(proxy.port()), key, quick());
    proxy.go_down();
    std::thread back([&] {
        std::this_thread::sleep_for(300ms);
        proxy.come_back();
    });
    auto bakery = forge.create(bakery_form());
    back.join();
    BOOST_TEST(bakery.id == 1);
    BOOST_TEST(live.orchestrator.count_bakeries() == 1);
}

PANGEO_FORGE_DATABASE_TEST(a_server_that_stays_away_is_a_connection_error_naming_it) {
    LiveServer live(database);
    test::TcpProxy proxy("127.0.0.1", live.server.port());
    const std::string url = "http://127.0.0.1:" + std::to_string(proxy.port());
    Client forge(url, key, quick(2));
    proxy.go_down();
    std::string message = message_of([&] { forge.create(bakery_form()); });
    BOOST_TEST(contains(message, "cannot reach the server " + url + " for POST /bakeries/"), message);
    BOOST_TEST(contains(message, "tried 3 times"), message);
    BOOST_CHECK_THROW(forge.count_bakeries(), ConnectionError);
    BOOST_TEST(live.orchestrator.count_bakeries() == 0);
}

// --- a scripted server, for the answers a real one does not give on demand ----------------

namespace {

// Listens on 127.0.0.1 and answers each connection with the next of `answers`, read whole
// first; an empty answer closes the connection unanswered (the request was read: the
// server could have applied it). Counts the requests it read.
class ScriptedServer {
public:
    explicit ScriptedServer(std::vector<std::string> answers) : answers_(std::move(answers)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 16) != 0) {
            throw std::runtime_error("scripted server: cannot listen");
        }
        socklen_t length = sizeof address;
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~ScriptedServer() {
        stopping_ = true;
        thread_.join();
        ::close(listener_);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int requests() const { return requests_; }
    std::vector<std::chrono::steady_clock::time_point> arrivals() const {
        std::lock_guard lock(mutex_);
        return arrivals_;
    }

    static std::string answer(int status, const std::string& body, const std::string& extra_headers = "") {
        return "HTTP/1.1 " + std::to_string(status) + " Status\r\nContent-Type: application/json\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
    }

private:
    void run() {
        for (const auto& answer : answers_) {
            int connection = -1;
            while (connection < 0 && !stopping_) {
                pollfd watched{listener_, POLLIN, 0};
                if (::poll(&watched, 1, 50) > 0) connection = ::accept(listener_, nullptr, nullptr);
            }
            if (connection < 0) return;
            read_request(connection);
            {
                std::lock_guard lock(mutex_);
                arrivals_.push_back(std::chrono::steady_clock::now());
            }
            ++requests_;
            if (!answer.empty()) (void)::send(connection, answer.data(), answer.size(), MSG_NOSIGNAL);
            ::close(connection);
        }
    }
    static void read_request(int connection) {
        std::string received;
        char buffer[4096];
        for (;;) {
            auto end = received.find("\r\n\r\n");
            if (end != std::string::npos) {
                auto at = received.find("Content-Length: ");
                std::size_t length = at == std::string::npos ? 0 : std::stoul(received.substr(at + 16));
                if (received.size() >= end + 4 + length) return;
            }
            pollfd watched{connection, POLLIN, 0};
            if (::poll(&watched, 1, 5000) <= 0) return;
            ssize_t got = ::recv(connection, buffer, sizeof buffer, 0);
            if (got <= 0) return;
            received.append(buffer, static_cast<std::size_t>(got));
        }
    }

    std::vector<std::string> answers_;
    int listener_ = -1;
    int port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> requests_{0};
    mutable std::mutex mutex_;
    std::vector<std::chrono::steady_clock::time_point> arrivals_;
    std::thread thread_;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(without_database)

BOOST_AUTO_TEST_CASE(a_503_is_tried_again_after_its_retry_after) {
    ScriptedServer scripted({ScriptedServer::answer(503, R"({"detail":"busy"})", "Retry-After: 1\r\n"),
                             ScriptedServer::answer(200, R"({"count":7})")});
    Client forge(scripted.url(), "", quick());
    BOOST_TEST(forge.count_bakeries() == 7);
    auto arrivals = scripted.arrivals();
    BOOST_REQUIRE_EQUAL(arrivals.size(), 2u);
    BOOST_TEST((arrivals[1] - arrivals[0] >= 950ms));  // Retry-After's second, not the 50 ms back-off
}

BOOST_AUTO_TEST_CASE(a_write_answered_503_is_sent_again) {
    ScriptedServer scripted({ScriptedServer::answer(503, R"({"detail":"busy"})"),
                             ScriptedServer::answer(200, R"({"id":4,"region":"r","name":"n","description":"d"})")});
    Client forge(scripted.url(), key, quick());
    BOOST_TEST(forge.create(bakery_form()).id == 4);
    BOOST_TEST(scripted.requests() == 2);
}

BOOST_AUTO_TEST_CASE(a_503_that_lasts_is_an_http_error_and_a_migration_503_a_migration_error) {
    std::string busy = ScriptedServer::answer(503, R"({"detail":"the server has 1024 connections open"})");
    ScriptedServer scripted({busy, busy});
    Client forge(scripted.url(), "", quick(1));
    try {
        forge.count_bakeries();
        BOOST_FAIL("a lasting 503 was taken for an answer");
    } catch (const HttpError& error) {
        BOOST_TEST(error.status() == 503);
        BOOST_TEST(contains(error.what(), scripted.url()));
    }
    BOOST_TEST(scripted.requests() == 2);

    ScriptedServer behind({ScriptedServer::answer(
        503, json{{"detail", "the database sqlite:///x.db is at revision 3b96e7fb9cbd, not at the head b51d1daaff02: "
                             "run `pangeo-forge db upgrade head` first"}}.dump())});
    Client stale(behind.url(), "", quick(0));
    BOOST_CHECK_THROW(stale.recipe_runs(), MigrationError);
}

BOOST_AUTO_TEST_CASE(a_migration_503_is_not_tried_again) {
    // The database will not reach head while the client waits: the first answer is final.
    std::string behind_head = ScriptedServer::answer(
        503, json{{"detail", "the database sqlite:///x.db is at revision 3b96e7fb9cbd, not at the head b51d1daaff02: "
                             "run `pangeo-forge db upgrade head` first"}}.dump());
    ScriptedServer scripted({behind_head, ScriptedServer::answer(200, R"({"count":7})")});
    Client forge(scripted.url(), "", quick(3));
    BOOST_CHECK_THROW(forge.count_bakeries(), MigrationError);
    BOOST_TEST(scripted.requests() == 1);
}

// A write sent on a kept-alive connection that the server closed after reading it: libcurl
// sends it again on a new connection by itself, and that connection is refused. The first
// send may have been applied, so the refusal must not count as "never sent".
BOOST_AUTO_TEST_CASE(a_write_sent_before_a_refused_reconnection_is_not_sent_again) {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    BOOST_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    BOOST_REQUIRE(::listen(listener, 16) == 0);
    socklen_t length = sizeof address;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
    const std::string created = R"({"id":1,"region":"r","name":"n","description":"d"})";
    auto read_one = [](int connection) {
        std::string received;
        char buffer[4096];
        while (received.find("\r\n\r\n") == std::string::npos ||
               received.size() < received.find("\r\n\r\n") + 4 +
                                     std::stoul(received.substr(received.find("Content-Length: ") + 16))) {
            pollfd watched{connection, POLLIN, 0};
            if (::poll(&watched, 1, 5000) <= 0) return false;
            ssize_t got = ::recv(connection, buffer, sizeof buffer, 0);
            if (got <= 0) return false;
            received.append(buffer, static_cast<std::size_t>(got));
        }
        return true;
    };
    std::atomic<int> requests{0};
    std::thread server([&] {
        int connection = ::accept(listener, nullptr, nullptr);
        // The first write, answered on a connection kept alive.
        if (read_one(connection)) ++requests;
        std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                             std::to_string(created.size()) + "\r\n\r\n" + created;
        (void)::send(connection, answer.data(), answer.size(), MSG_NOSIGNAL);
        // The second, read (as if applied), then the server goes: no new connection is taken.
        if (read_one(connection)) ++requests;
        ::close(listener);
        ::close(connection);
        // Back a moment later, for a client that would send it again.
        std::this_thread::sleep_for(100ms);
        int again = ::socket(AF_INET, SOCK_STREAM, 0);
        ::setsockopt(again, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (::bind(again, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(again, 16) != 0) return;
        pollfd watched{again, POLLIN, 0};
        if (::poll(&watched, 1, 3000) > 0) {
            int late = ::accept(again, nullptr, nullptr);
            if (read_one(late)) ++requests;
            (void)::send(late, answer.data(), answer.size(), MSG_NOSIGNAL);
            ::close(late);
        }
        ::close(again);
    });
    ClientOptions options = quick(3);
    options.first_backoff = 400ms;  // at least 200 ms: the server is back by then
    Client forge(url, key, options);
    BOOST_TEST(forge.create(bakery_form()).id == 1);
    std::string message = message_of([&] { forge.create(bakery_form()); });
    server.join();
    BOOST_TEST(requests.load() == 2, "the write was sent " << requests.load() - 1 << " times");
    BOOST_TEST(contains(message, "may have applied it"), message);
}

BOOST_AUTO_TEST_CASE(a_read_whose_answer_was_lost_is_sent_again) {
    ScriptedServer scripted({"", ScriptedServer::answer(200, R"({"count":3})")});
    Client forge(scripted.url(), "", quick());
    BOOST_TEST(forge.count_recipe_runs() == 3);
    BOOST_TEST(scripted.requests() == 2);
}

BOOST_AUTO_TEST_CASE(a_write_whose_answer_was_lost_is_not_sent_again) {
    ScriptedServer scripted({"", ScriptedServer::answer(200, R"({"id":1,"region":"r","name":"n","description":"d"})")});
    Client forge(scripted.url(), key, quick());
    std::string message = message_of([&] { forge.create(bakery_form()); });
    BOOST_TEST(contains(message, "broke during POST /bakeries/"), message);
    BOOST_TEST(contains(message, "may have applied it"), message);
    BOOST_TEST(scripted.requests() == 1);
}

BOOST_AUTO_TEST_CASE(an_answer_that_is_not_the_api_s_is_an_http_error) {
    ScriptedServer scripted({ScriptedServer::answer(200, "<html>hello</html>"),
                             ScriptedServer::answer(200, R"({"id":"one"})"),
                             ScriptedServer::answer(500, R"({"detail":"Internal Server Error"})")});
    Client forge(scripted.url(), "", quick(0));
    BOOST_TEST(contains(message_of([&] { forge.count_bakeries(); }), "not JSON"));
    BOOST_TEST(contains(message_of([&] { forge.bakery(1); }), "cannot read"));
    try {
        forge.bakeries();
        BOOST_FAIL("a 500 was taken for an answer");
    } catch (const HttpError& error) {
        BOOST_TEST(error.status() == 500);
        BOOST_TEST(contains(error.what(), "answered 500 to GET /bakeries/?offset=0&limit=100&order_by=id&sort=asc: "
                                          "Internal Server Error"),
                   error.what());
    }
}

// A 422 item whose msg or type was no string threw nlohmann::json's type_error, outside the
// library's Error family, from every route (fuzz_client_answer's property).
BOOST_AUTO_TEST_CASE(a_422_whose_msg_is_no_string_keeps_its_field_errors) {
    const client::answer::Route route{"http://forge.test", "POST", "/bakeries/"};
    client::HttpResponse answer{422, {}, R"({"detail": [{"loc": ["body", 0, "name"], "msg": 5, "type": null},
                                                   {"loc": ["body"], "msg": "field required"}]})"};
    try {
        client::answer::one<model::Bakery>(answer, route);
        BOOST_FAIL("a 422 was taken for an answer");
    } catch (const ValidationError& error) {
        BOOST_REQUIRE_EQUAL(error.errors().size(), 2u);
        BOOST_TEST((error.errors()[0].loc == std::vector<std::string>{"body", "0", "name"}));
        BOOST_TEST(error.errors()[0].msg == "5");
        BOOST_TEST(error.errors()[0].type == "");
        BOOST_TEST(error.errors()[1].msg == "field required");
    }
}

// A Retry-After date in a far year overflowed the conversion to milliseconds (UBSan).
BOOST_AUTO_TEST_CASE(retry_after_is_seconds_or_a_date_however_far) {
    auto wait = [](const std::string& value) {
        return client::answer::retry_after(client::HttpResponse{503, {{"retry-after", value}}, ""});
    };
    BOOST_TEST(wait("5")->count() == 5000);
    BOOST_TEST((*wait("9999999999") == std::chrono::milliseconds::max()));
    BOOST_TEST((*wait("Sun, 06 Nov 2147483647 08:49:37 GMT") == std::chrono::milliseconds::max()));
    BOOST_TEST(wait("Wed, 21 Oct 2015 07:28:00 GMT")->count() == 0);
    BOOST_TEST(!wait("soon"));
    BOOST_TEST(!client::answer::retry_after(client::HttpResponse{503, {}, ""}));
}

BOOST_AUTO_TEST_CASE(servers_and_options_are_checked_when_the_client_is_made) {
    for (const char* bad : {"localhost:8000", "ftp://example.org", "http://", "http:///path", "http://a b",
                            "http://host/?q=1"}) {
        BOOST_CHECK_THROW(Client{bad}, ConfigError);
    }
    BOOST_TEST(Client("HTTPS://example.org/orchestrator//").server() == "HTTPS://example.org/orchestrator");
    BOOST_TEST(!contains(message_of([] { Client("ftp://user:pw@example.org"); }), "pw"));
    BOOST_CHECK_THROW((Client{"http://example.org", "key\r\nX-Other: 1"}), ConfigError);
    ClientOptions negative;
    negative.retries = -1;
    BOOST_CHECK_THROW((Client{"http://example.org", "", negative}), ConfigError);
    Client fine("http://127.0.0.1:1");
    BOOST_CHECK_THROW(fine.request("GET", "bakeries/"), ConfigError);
    BOOST_CHECK_THROW(fine.request("GE T", "/"), ConfigError);
}

BOOST_AUTO_TEST_CASE(the_functions_for_dlopen_open_send_and_close) {
    ScriptedServer scripted({ScriptedServer::answer(200, R"({"status":"ok"})")});
    const auto& functions = *pangeo_forge_client_functions();
    Client* opened = functions.open(scripted.url(), "", quick(0));
    auto response = functions.request(*opened, "GET", "/", "");
    functions.close(opened);
    BOOST_TEST(response.status == 200);
    BOOST_TEST(response.body == R"({"status":"ok"})");
}

BOOST_AUTO_TEST_SUITE_END()
