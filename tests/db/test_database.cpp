#define BOOST_TEST_MODULE database
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"
#include "support/tcp_proxy.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::db;

namespace {

void create_item_table(Connection& connection) {
    connection.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, label VARCHAR NOT NULL)");
}

long long count_rows(Connection& connection, const std::string& table) {
    return query_one(connection, "SELECT COUNT(*) FROM " + connection.dialect().quote(table), {ColumnType::integer})
        ->integer(0);
}

std::string single_text(Connection& connection, const std::string& sql) {
    return query_one(connection, sql, {ColumnType::text})->text(0);
}

void insert_item(Connection& connection, int id, const std::string& label) {
    run(connection, "INSERT INTO item (id, label) VALUES (:id, :label)", {std::int64_t{id}, label});
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(connects_and_reports_the_server_version) {
    Database pool(database.url());
    BOOST_TEST(pool.open_connections() == 1u);  // the constructor connected once
    auto version = pool.acquire()->server_version();
    BOOST_TEST(version.rfind(pool.backend() == Backend::sqlite ? "SQLite 3." : "PostgreSQL ", 0) == 0u, version);
}

PANGEO_FORGE_DATABASE_TEST(connection_settings_are_applied) {
    Database pool(database.url());
    auto connection = pool.acquire();
    if (pool.backend() == Backend::sqlite) {
        BOOST_TEST(single_text(*connection, "PRAGMA journal_mode") == "wal");
        BOOST_TEST(single_text(*connection, "PRAGMA foreign_keys") == "1");
        BOOST_TEST(single_text(*connection, "PRAGMA synchronous") == "1");  // NORMAL
        BOOST_TEST(single_text(*connection, "PRAGMA busy_timeout") == "5000");
    } else {
        BOOST_TEST(single_text(*connection, "SHOW application_name") == "pangeo_forge");
        BOOST_TEST(single_text(*connection, "SHOW search_path").rfind("test_", 0) == 0u);
    }
}

PANGEO_FORGE_DATABASE_TEST(url_options_override_the_sqlite_defaults) {
    if (database.backend() != Backend::sqlite) {
        Database pool(database.url() + "&application_name=forge-api");
        BOOST_TEST(single_text(*pool.acquire(), "SHOW application_name") == "forge-api");
        return;
    }
    Database pool(database.url() + "?synchronous=full&timeout=1.5");
    auto connection = pool.acquire();
    BOOST_TEST(single_text(*connection, "PRAGMA synchronous") == "2");  // FULL
    BOOST_TEST(single_text(*connection, "PRAGMA busy_timeout") == "1500");
}

// SQLite only, by nature: PostgreSQL has no journal mode.
BOOST_AUTO_TEST_SUITE(keep_journal_mode_leaves_a_file_as_it_journals_and_gives_a_new_file_wal)
BOOST_AUTO_TEST_CASE(sqlite) {
    test::ScratchDatabase database(Backend::sqlite);
    const PoolOptions keeping = PoolOptions{1}.keeping_journal_mode();
    {
        // A file as a plain pysqlite connection (Alembic's) leaves it: rollback journal.
        Database made(database.url() + "?journal_mode=delete");
        made.acquire()->execute("CREATE TABLE item (id INTEGER PRIMARY KEY)");
    }
    {
        Database kept(database.url(), keeping);
        auto connection = kept.acquire();
        BOOST_TEST(single_text(*connection, "PRAGMA journal_mode") == "delete");
        // NORMAL may corrupt a rollback-journal file on a power failure: SQLite's FULL stays.
        BOOST_TEST(single_text(*connection, "PRAGMA synchronous") == "2");
        connection->execute("INSERT INTO item (id) VALUES (1)");
    }
    BOOST_TEST(single_text(*Database(database.url(), keeping).acquire(), "PRAGMA journal_mode") == "delete");
    {
        // The URL still decides when it names a mode.
        Database switched(database.url() + "?journal_mode=wal", keeping);
        auto connection = switched.acquire();
        BOOST_TEST(single_text(*connection, "PRAGMA journal_mode") == "wal");
        BOOST_TEST(single_text(*connection, "PRAGMA synchronous") == "1");  // NORMAL
    }
    BOOST_TEST(single_text(*Database(database.url(), keeping).acquire(), "PRAGMA journal_mode") == "wal");

    // A file that holds nothing yet is new: WAL, as the service would give it.
    Database fresh("sqlite:///" + database.folder() + "/fresh.db", keeping);
    BOOST_TEST(single_text(*fresh.acquire(), "PRAGMA journal_mode") == "wal");
    BOOST_TEST(single_text(*fresh.acquire(), "PRAGMA synchronous") == "1");
}
BOOST_AUTO_TEST_SUITE_END()

PANGEO_FORGE_DATABASE_TEST(foreign_keys_are_enforced) {
    Database pool(database.url());
    auto connection = pool.acquire();
    connection->execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
    connection->execute("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id))");
    std::string message = test::error_message([&] { connection->execute("INSERT INTO child (id, parent_id) VALUES (1, 42)"); });
    BOOST_TEST(message.find("FOREIGN KEY") + message.find("foreign key") != 2 * std::string::npos, message);
    BOOST_TEST(count_rows(*connection, "child") == 0);
}

PANGEO_FORGE_DATABASE_TEST(transaction_rolls_back_unless_committed) {
    Database pool(database.url());
    auto connection = pool.acquire();
    create_item_table(*connection);
    {
        Transaction transaction(*connection);
        insert_item(*connection, 1, "dropped");
    }
    BOOST_TEST(count_rows(*connection, "item") == 0);
    {
        Transaction transaction(*connection, Transaction::Mode::immediate);
        insert_item(*connection, 2, "kept");
        transaction.commit();
    }
    BOOST_TEST(count_rows(*pool.acquire(), "item") == 1);
}

PANGEO_FORGE_DATABASE_TEST(a_transaction_left_open_is_rolled_back_when_the_connection_returns) {
    Database pool(database.url(), PoolOptions{1});
    {
        auto connection = pool.acquire();
        create_item_table(*connection);
        connection->execute("BEGIN");
        insert_item(*connection, 1, "abandoned");
    }
    auto connection = pool.acquire();  // the same connection, pool size 1
    BOOST_TEST(count_rows(*connection, "item") == 0);
    Transaction transaction(*connection);  // and it is free to begin anew
    transaction.commit();
}

PANGEO_FORGE_DATABASE_TEST(failed_statements_name_the_statement) {
    Database pool(database.url());
    std::string message = test::error_message([&] { pool.acquire()->execute("SELEC 1"); });
    BOOST_TEST(message.find("statement failed (SELEC 1)") != std::string::npos, message);
    BOOST_TEST(message.find("syntax error") != std::string::npos, message);
}

PANGEO_FORGE_DATABASE_TEST(execute_runs_every_statement_of_its_text) {
    Database pool(database.url());
    auto connection = pool.acquire();
    create_item_table(*connection);
    connection->execute("INSERT INTO item (id, label) VALUES (1, 'a'); INSERT INTO item (id, label) VALUES (2, 'b')");
    BOOST_TEST(count_rows(*connection, "item") == 2);
}

PANGEO_FORGE_DATABASE_TEST(pool_serves_eight_threads) {
    PoolOptions options;
    options.size = 4;
    Database pool(database.url(), options);
    create_item_table(*pool.acquire());

    constexpr int threads = 8;
    constexpr int rows_per_thread = 25;
    std::atomic<int> failures{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            try {
                for (int i = 0; i < rows_per_thread; ++i) {
                    auto connection = pool.acquire();
                    Transaction transaction(*connection, Transaction::Mode::immediate);
                    insert_item(*connection, t * 1000 + i, "thread " + std::to_string(t));
                    transaction.commit();
                }
            } catch (const std::exception& error) {
                BOOST_TEST_MESSAGE("worker " << t << ": " << error.what());
                ++failures;
            }
        });
    }
    for (auto& worker : workers) worker.join();
    BOOST_TEST(failures.load() == 0);
    BOOST_TEST(count_rows(*pool.acquire(), "item") == threads * rows_per_thread);
    BOOST_TEST(pool.open_connections() <= 4u);
    BOOST_TEST(pool.open_connections() >= 1u);
}

PANGEO_FORGE_DATABASE_TEST(acquire_times_out_when_every_connection_is_lent) {
    PoolOptions options;
    options.size = 1;
    options.acquire_timeout = std::chrono::milliseconds(100);
    Database pool(database.url(), options);
    auto held = pool.acquire();
    std::string message = test::error_message([&] { pool.acquire(); });
    BOOST_TEST(message.find("no database connection became free within 100 ms") != std::string::npos, message);
}

PANGEO_FORGE_DATABASE_TEST(a_waiting_thread_gets_the_connection_given_back) {
    PoolOptions options;
    options.size = 1;
    Database pool(database.url(), options);
    auto held = std::make_unique<PooledConnection>(pool.acquire());
    std::thread releaser([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        held.reset();
    });
    auto connection = pool.acquire();  // blocks until the releaser gives it back
    releaser.join();
    BOOST_TEST(pool.open_connections() == 1u);
}

PANGEO_FORGE_DATABASE_TEST(unreachable_databases_fail_at_construction_with_a_clear_message) {
    std::string url;
    std::vector<std::string> expected;  // any of these: what the server says depends on its authentication
    if (database.backend() == Backend::sqlite) {
        url = "sqlite:///" + database.folder() + "/no/such/folder/x.db";
        expected = {"check that its folder exists"};
    } else {
        // A role that does not exist fails on a server with password authentication and on
        // one that trusts every local connection alike.
        auto parsed = parse_database_url(test::postgres_server_url());
        url = "postgresql://no_such_role_h7:wrong-password-h7@" + parsed.host + ":" +
              std::to_string(parsed.port.value_or(5432)) + "/" + parsed.database;
        expected = {"password authentication failed", "role \"no_such_role_h7\" does not exist"};
    }
    std::string message = test::error_message([&] { Database pool(url); });
    BOOST_TEST(message.find("cannot connect to ") == 0u, message);
    BOOST_TEST(std::any_of(expected.begin(), expected.end(),
                           [&](const std::string& text) { return message.find(text) != std::string::npos; }),
               message);
    BOOST_TEST(message.find("wrong-password-h7") == std::string::npos, message);
}

BOOST_AUTO_TEST_SUITE(in_memory_sqlite_shares_one_connection)
BOOST_AUTO_TEST_CASE(sqlite) {
    PoolOptions options;
    options.size = 8;
    Database pool("sqlite://", options);
    BOOST_TEST(pool.capacity() == 1u);
    create_item_table(*pool.acquire());
    insert_item(*pool.acquire(), 1, "seen by the next borrower");
    BOOST_TEST(count_rows(*pool.acquire(), "item") == 1);
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(pool_size_zero_is_a_configuration_error)
BOOST_AUTO_TEST_CASE(sqlite) {
    PoolOptions options;
    options.size = 0;
    BOOST_CHECK_THROW(Database("sqlite://", options), ConfigError);
}
BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(a_connection_the_server_closed_is_not_lent_again)
BOOST_AUTO_TEST_CASE(postgresql, *boost::unit_test::precondition(test::postgres_configured)) {
    test::ScratchDatabase database(Backend::postgresql);
    PoolOptions options;
    options.size = 2;
    Database pool(database.url(), options);
    {
        auto victim = pool.acquire();
        auto victim_pid = query_one(*victim, "SELECT pg_backend_pid()", {ColumnType::integer})->integer(0);
        {
            auto other = pool.acquire();
            query(*other, "SELECT pg_terminate_backend(:pid)", {ColumnType::text}, {victim_pid});
        }
        BOOST_CHECK_THROW(victim->server_version(), DatabaseError);
    }
    BOOST_TEST(pool.open_connections() == 1u);  // the broken one was closed, not pooled
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST(pool.acquire()->server_version().rfind("PostgreSQL", 0) == 0u);
    }
}
BOOST_AUTO_TEST_SUITE_END()

// A server restart ends every connection of the pool while it sits idle; the pool finds
// each one broken when it lends it, and lends a new connection in its place.
BOOST_AUTO_TEST_SUITE(connections_the_server_closed_while_idle_are_replaced_before_they_are_lent)
BOOST_AUTO_TEST_CASE(postgresql, *boost::unit_test::precondition(test::postgres_configured)) {
    test::ScratchDatabase database(Backend::postgresql);
    constexpr std::size_t size = 4;
    Database pool(database.url_with_own_application_name(), PoolOptions{size});
    std::vector<std::int64_t> first_pids;
    {
        std::vector<PooledConnection> all;  // held together, so the pool opens every one
        for (std::size_t i = 0; i < size; ++i) all.push_back(pool.acquire());
        for (auto& connection : all) {
            first_pids.push_back(query_one(*connection, "SELECT pg_backend_pid()", {ColumnType::integer})->integer(0));
        }
    }
    BOOST_TEST_REQUIRE(pool.open_connections() == size);

    database.terminate_own_connections();

    std::vector<PooledConnection> all;
    for (std::size_t i = 0; i < size; ++i) {
        all.push_back(pool.acquire());
        std::int64_t pid = 0;
        std::string failure = test::error_message(
            [&] { pid = query_one(*all.back(), "SELECT pg_backend_pid()", {ColumnType::integer})->integer(0); });
        BOOST_TEST(failure.empty(), "connection " << i << ": " << failure);
        BOOST_TEST((std::find(first_pids.begin(), first_pids.end(), pid) == first_pids.end()), "connection " << i);
    }
    BOOST_TEST(pool.open_connections() == size);
}
BOOST_AUTO_TEST_SUITE_END()

// When the server is gone for good, each idle connection is found broken and one attempt
// to replace it fails: acquire() says what it could not reach, without waiting out the
// acquire timeout or trying again and again.
BOOST_AUTO_TEST_SUITE(when_the_server_is_down_acquire_fails_at_once_saying_so)
BOOST_AUTO_TEST_CASE(postgresql, *boost::unit_test::precondition(test::postgres_configured)) {
    test::ScratchDatabase database(Backend::postgresql);
    auto server = parse_database_url(test::postgres_server_url());
    test::TcpProxy proxy(server.host, server.port.value_or(5432));
    auto url = parse_database_url(database.url());
    url.host = "127.0.0.1";
    url.port = proxy.port();
    constexpr std::size_t size = 2;
    PoolOptions options{size};
    options.acquire_timeout = std::chrono::seconds(60);
    Database pool(url, options);
    {
        std::vector<PooledConnection> all;
        for (std::size_t i = 0; i < size; ++i) all.push_back(pool.acquire());
    }

    proxy.go_down();

    auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < size + 1; ++i) {
        std::string message = test::error_message([&] { pool.acquire(); });
        BOOST_TEST(message.find("cannot connect to postgresql://") == 0u, message);
        BOOST_TEST(message.find("check the host, port") != std::string::npos, message);
    }
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST(seconds < 10.0);
    BOOST_TEST(pool.open_connections() == 0u);  // the broken ones were closed, their places freed
}
BOOST_AUTO_TEST_SUITE_END()

// Something the server sends to an idle connection other than its end (here a notification;
// in production a setting reported after the server reloaded its configuration) does not
// cost the connection: the pool asks the server, and lends the same connection.
BOOST_AUTO_TEST_SUITE(a_connection_sent_a_message_while_idle_is_still_lent)
BOOST_AUTO_TEST_CASE(postgresql, *boost::unit_test::precondition(test::postgres_configured)) {
    test::ScratchDatabase database(Backend::postgresql);
    Database pool(database.url(), PoolOptions{1});
    const std::string channel = single_text(*pool.acquire(), "SHOW search_path");  // the test's own
    std::int64_t pid = 0;
    {
        auto connection = pool.acquire();
        pid = query_one(*connection, "SELECT pg_backend_pid()", {ColumnType::integer})->integer(0);
        connection->execute("LISTEN " + connection->dialect().quote(channel));
    }
    Database notifier(database.url(), PoolOptions{1});
    notifier.acquire()->execute("NOTIFY " + notifier.dialect().quote(channel));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // for it to reach the idle connection

    auto connection = pool.acquire();
    BOOST_TEST(query_one(*connection, "SELECT pg_backend_pid()", {ColumnType::integer})->integer(0) == pid);
}
BOOST_AUTO_TEST_SUITE_END()
