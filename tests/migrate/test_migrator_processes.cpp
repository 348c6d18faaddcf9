#define BOOST_TEST_MODULE migrator_processes
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/query.hpp"
#include "support/migrations.hpp"
#include "support/process.hpp"
#include "support/scratch_database.hpp"

extern char** environ;

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using test::query_value;
using Ids = std::vector<std::string>;

using test::bundled;

namespace {

int exit_status(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int count_of(const std::string& text, const std::string& needle) {
    int count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
    return count;
}

std::uintmax_t size_or_zero(const std::filesystem::path& path) {
    std::error_code error;
    auto size = std::filesystem::file_size(path, error);
    return error ? 0 : size;
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(two_concurrent_upgrades_apply_each_revision_once) {
    auto folder = std::filesystem::temp_directory_path() / ("pangeo_forge_concurrent_" + new_revision_id());
    std::filesystem::create_directories(folder);
    std::vector<pid_t> runs;
    for (int i = 0; i < 2; ++i) {
        runs.push_back(test::spawn_program(PANGEO_FORGE_COMMAND, {"db", "--url", database.url(), "upgrade", "head"},
                                     (folder / ("run" + std::to_string(i) + ".log")).string()));
    }
    std::string output;
    for (int i = 0; i < 2; ++i) {
        int status = exit_status(runs[i]);
        std::string log = test::file_text((folder / ("run" + std::to_string(i) + ".log")).string());
        BOOST_TEST(status == 0, "run " << i << " failed:\n" << log);
        output += log;
    }
    std::filesystem::remove_all(folder);
    BOOST_TEST(count_of(output, "Running upgrade") == 8, output);
    for (const char* id : {"81c7d27bde71", "6197f9c7aff6", "b0ec74f6d899", "70bcddc9fffa", "0499cef6b57a", "3b96e7fb9cbd", "b51d1daaff02", "a453b710a63a"}) {
        BOOST_TEST(count_of(output, "-> " + std::string(id) + ",") == 1, id);
    }
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    BOOST_TEST(migrator.current() == Ids{"a453b710a63a"});
    BOOST_TEST(migrator.applied().size() == 8u);
}

// SQLite only, by nature: PostgreSQL has no journal mode. `pangeo-forge db upgrade` leaves
// a rollback-journal file (as Alembic makes them) in that mode; ?journal_mode=wal switches it.
BOOST_AUTO_TEST_SUITE(db_upgrade_keeps_the_journal_mode_of_the_file)
BOOST_AUTO_TEST_CASE(sqlite) {
    test::ScratchDatabase database(db::Backend::sqlite);
    db::Database(database.url() + "?journal_mode=delete").acquire()->execute("CREATE TABLE note (id INTEGER)");
    auto upgrade = [&](const std::string& url, const std::string& target) {
        test::Process run(PANGEO_FORGE_COMMAND, {"db", "--url", url, "upgrade", target},
                          database.folder() + "/upgrade.log");
        BOOST_TEST_REQUIRE(run.wait() == 0, run.output());
    };
    auto journal_mode = [&] {
        db::Database pool(database.url(), db::PoolOptions{1}.keeping_journal_mode());
        return query_value(*pool.acquire(), "PRAGMA journal_mode");
    };
    upgrade(database.url(), "70bcddc9fffa");
    BOOST_TEST(journal_mode() == "delete");
    BOOST_TEST(!std::filesystem::exists(database.folder() + "/test.db-wal"));
    upgrade(database.url() + "?journal_mode=wal", "head");
    BOOST_TEST(journal_mode() == "wal");
    db::Database pool(database.url());
    BOOST_TEST(Migrator(pool, bundled()).current() == Ids{"a453b710a63a"});
}
BOOST_AUTO_TEST_SUITE_END()

// SQLite only: a process killed while it rebuilds a large table leaves the database as
// it was before the revision, every row in place.
BOOST_AUTO_TEST_SUITE(a_process_killed_mid_rebuild_leaves_the_revision_before)
BOOST_AUTO_TEST_CASE(sqlite) {
    constexpr int rows = 500000;
    test::ScratchDatabase database(db::Backend::sqlite);
    {
        db::Database pool(database.url());
        Migrator(pool, bundled()).upgrade("70bcddc9fffa");
        auto lease = pool.acquire();
        lease->execute("INSERT INTO bakery (region, name, description) VALUES ('r', 'n', 'd')");
        lease->execute("INSERT INTO feedstock (spec, provider) VALUES ('s', 'github')");
        lease->execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                       std::to_string(rows) +
                       ") INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, "
                       "status, is_test) SELECT 'recipe-' || i, 1, 1, 'sha', '1.0', '2021-01-01 00:00:00', 'queued', 0 "
                       "FROM n");
        lease->execute("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    const std::filesystem::path wal = database.folder() + "/test.db-wal";

    pid_t child = fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        try {
            db::Database pool(database.url());
            Migrator(pool, bundled()).upgrade("head");
        } catch (...) {
            _exit(2);
        }
        _exit(0);
    }
    // Kill it once the rebuild's copy is spilling into the WAL: well inside the transaction.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (size_or_zero(wal) < 4u * 1024 * 1024 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    BOOST_TEST_REQUIRE(WIFSIGNALED(status), "the migration ended before it could be killed");

    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    BOOST_TEST(migrator.current() == Ids{"70bcddc9fffa"});
    auto lease = pool.acquire();
    BOOST_TEST(query_value(*lease, "SELECT COUNT(*) FROM reciperun") == std::to_string(rows));
    BOOST_TEST(query_value(*lease, "PRAGMA integrity_check") == "ok");
    BOOST_TEST(db::table_names(*lease) == (Ids{"alembic_version", "apikey", "bakery", "feedstock",
                                                "pangeo_forge_migrations", "reciperun"}),
               boost::test_tools::per_element());
    BOOST_TEST(db::reflect_table(*lease, "reciperun")->find_column("status")->nullable);

    migrator.upgrade("head");  // and the next run completes it
    BOOST_TEST(query_value(*lease, "SELECT COUNT(*) FROM reciperun") == std::to_string(rows));
    BOOST_TEST(!db::reflect_table(*lease, "reciperun")->find_column("status")->nullable);
}
BOOST_AUTO_TEST_SUITE_END()
