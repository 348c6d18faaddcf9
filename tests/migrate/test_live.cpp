// Migrating a database in use: a transaction that holds a table keeps the migration's
// ALTER waiting, and every query that comes after the ALTER queues behind it. The engine's
// lock timeout ends the wait, rolls the revision back and tries again after a back-off,
// so that a writer meanwhile never waits longer than the lock timeout; an index on a table
// with rows is built concurrently, and an INVALID index left by a failed build is dropped
// before the next try. PostgreSQL has the queue; on SQLite the busy timeout plays the same
// role for a writer that holds the file.

#define BOOST_TEST_MODULE live
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <thread>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/live_load.hpp"
#include "support/migrations.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::test;
using migrate::LiveOptions;
using migrate::Migrator;
using migrate::RetryReport;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

const std::string head = "a453b710a63a";
constexpr int seeded_runs = 200'000;


bool postgres(const ScratchDatabase& database) { return database.backend() == db::Backend::postgresql; }

// Whether index `name` is there, and valid (PostgreSQL's catalog).
std::string index_state(db::Connection& connection, const std::string& name) {
    auto rows = query_rows(connection,
                           "SELECT CASE WHEN ix.indisvalid THEN 'valid' ELSE 'invalid' END FROM pg_index ix "
                           "JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace "
                           "WHERE n.nspname = current_schema() AND i.relname = '" + name + "'");
    return rows.empty() ? "absent" : rows.front();
}

std::size_t step_records(db::Connection& connection) {
    return query_rows(connection, "SELECT revision FROM pangeo_forge_migration_steps").size();
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(a_revision_held_up_by_another_session_retries_until_it_lets_go) {
    db::Database pool(database.url());
    seed_runs(pool, postgres(database) ? seeded_runs : 1000);
    MigrationsCopy migrations;
    migrations.write("1ace00000001_add_reciperun_colour.json", add_column_revision);
    LiveOptions options;
    options.lock_timeout = milliseconds(postgres(database) ? 2000 : 500);
    Migrator migrator(pool, migrations.graph(), options);
    std::vector<RetryReport> retries;
    migrator.on_retry([&](const RetryReport& retry) { retries.push_back(retry); });

    auto holder = hold_reciperun(database.url(), milliseconds(postgres(database) ? 10'000 : 3'000));
    std::optional<Writer> writer;
    if (postgres(database)) writer.emplace(database.url());  // SQLite's writer would wait for the holder itself
    auto start = Clock::now();
    auto steps = migrator.upgrade("head");
    auto took = Clock::now() - start;
    if (writer) writer->stop();
    holder.join();

    BOOST_TEST_REQUIRE(steps.size() == 1u);
    BOOST_TEST(migrator.current() == std::vector<std::string>{"1ace00000001"});
    BOOST_TEST(db::reflect_table(*pool.acquire(), "reciperun")->find_column("colour") != nullptr);
    BOOST_TEST_REQUIRE(!retries.empty());
    BOOST_TEST(retries.front().revision == "1ace00000001");
    BOOST_TEST(retries.front().retry == 1);
    BOOST_TEST(migrate::describe(retries.front()).find("Lock wait timed out in upgrade a453b710a63a -> 1ace00000001") == 0u,
               migrate::describe(retries.front()));
    // It could not have finished before the other session let go.
    BOOST_TEST(std::chrono::duration_cast<milliseconds>(took).count() >= (postgres(database) ? 7'000 : 2'000));
    if (writer) {
        BOOST_TEST_MESSAGE("writer: " << writer->inserts() << " inserts, longest wait " << writer->longest_wait().count()
                                      << " ms; migration " << std::chrono::duration_cast<milliseconds>(took).count()
                                      << " ms, " << retries.size() << " retries");
        BOOST_TEST(writer->inserts() > 20);
        // Behind the waiting ALTER at most for the lock timeout, and a margin for the machine.
        BOOST_TEST(writer->longest_wait().count() < (options.lock_timeout + milliseconds(1000)).count());
    }
}

PANGEO_FORGE_DATABASE_TEST(a_revision_that_never_gets_its_lock_gives_up_and_changes_nothing) {
    db::Database pool(database.url());
    seed_runs(pool, 100);
    MigrationsCopy migrations;
    migrations.write("1ace00000001_add_reciperun_colour.json", add_column_revision);
    LiveOptions options;
    options.lock_timeout = milliseconds(300);
    options.lock_retries = 2;
    options.retry_delay = milliseconds(50);
    Migrator migrator(pool, migrations.graph(), options);
    int retries = 0;
    migrator.on_retry([&](const RetryReport&) { ++retries; });
    auto holder = hold_reciperun(database.url(), milliseconds(4'000));
    std::string message = error_message([&] { migrator.upgrade("head"); });
    holder.join();
    BOOST_TEST(retries == 2);
    // PostgreSQL's ALTER waits for the table; SQLite's BEGIN IMMEDIATE for the file.
    BOOST_TEST(message.find("revision 1ace00000001 (add reciperun colour)") == 0u, message);
    BOOST_TEST(message.find("Nothing of it was applied") != std::string::npos, message);
    BOOST_TEST(message.find("gave up after 3 tries waiting for a lock") != std::string::npos, message);
    BOOST_TEST(migrator.current() == std::vector<std::string>{head});
    BOOST_TEST(db::reflect_table(*pool.acquire(), "reciperun")->find_column("colour") == nullptr);
}

PANGEO_FORGE_DATABASE_TEST(an_index_on_a_table_in_use_is_built_without_blocking_its_writers) {
    db::Database pool(database.url());
    seed_runs(pool, postgres(database) ? seeded_runs : 1000);
    MigrationsCopy migrations;
    migrations.write("1ace00000002_index_reciperun_recipe_id.json", index_revision);
    Migrator migrator(pool, migrations.graph());
    std::vector<std::string> seen_on_retry;
    migrator.on_retry([&](const RetryReport&) {
        seen_on_retry.push_back(index_state(*pool.acquire(), "ix_reciperun_recipe_id"));
    });
    if (!postgres(database)) {
        // SQLite builds it in the revision's transaction: no step of its own to record.
        migrator.upgrade("head");
        BOOST_TEST(db::reflect_table(*pool.acquire(), "reciperun")->indexes.size() == 2u);
        BOOST_TEST(step_records(*pool.acquire()) == 0u);
        BOOST_TEST(seen_on_retry.empty());
        return;
    }
    // A long transaction is open as the build starts: the concurrent build waits for it to end,
    // its lock wait runs out, and the INVALID index it leaves is dropped before the next try.
    auto holder = hold_reciperun(database.url(), milliseconds(5'000));
    Writer writer(database.url());
    migrator.upgrade("head");
    writer.stop();
    holder.join();
    BOOST_TEST_MESSAGE("writer: " << writer.inserts() << " inserts, longest wait " << writer.longest_wait().count()
                                  << " ms; states on retry: " << seen_on_retry.size());
    BOOST_TEST(migrator.current() == std::vector<std::string>{"1ace00000002"});
    BOOST_TEST(index_state(*pool.acquire(), "ix_reciperun_recipe_id") == "valid");
    BOOST_TEST_REQUIRE(!seen_on_retry.empty());
    BOOST_TEST(seen_on_retry.front() == "invalid");
    BOOST_TEST(step_records(*pool.acquire()) == 0u);
    BOOST_TEST(writer.inserts() > 20);
    BOOST_TEST(writer.longest_wait().count() < 500);
}

PANGEO_FORGE_DATABASE_TEST(an_index_build_that_failed_is_dropped_and_built_again_by_the_next_run) {
    db::Database pool(database.url());
    seed_runs(pool, postgres(database) ? 20'000 : 100);
    MigrationsCopy migrations;
    migrations.write("1ace00000002_index_reciperun_recipe_id.json", index_revision);
    LiveOptions impatient;
    impatient.lock_timeout = milliseconds(300);
    impatient.lock_retries = 0;
    {
        auto holder = hold_reciperun(database.url(), milliseconds(2'000));
        std::string message = error_message([&] { Migrator(pool, migrations.graph(), impatient).upgrade("head"); });
        holder.join();
        BOOST_TEST(message.find("gave up after 1 try") != std::string::npos, message);
    }
    Migrator migrator(pool, migrations.graph());
    BOOST_TEST(migrator.current() == std::vector<std::string>{head});
    if (postgres(database)) BOOST_TEST(index_state(*pool.acquire(), "ix_reciperun_recipe_id") == "invalid");
    migrator.upgrade("head");
    BOOST_TEST(migrator.current() == std::vector<std::string>{"1ace00000002"});
    if (postgres(database)) BOOST_TEST(index_state(*pool.acquire(), "ix_reciperun_recipe_id") == "valid");
    BOOST_TEST(db::reflect_table(*pool.acquire(), "reciperun")->indexes.size() == 2u);
}

PANGEO_FORGE_DATABASE_TEST(without_the_online_rewrites_an_index_is_built_in_the_revisions_transaction) {
    db::Database pool(database.url());
    seed_runs(pool, 100);
    MigrationsCopy migrations;
    migrations.write("1ace00000002_index_reciperun_recipe_id.json", index_revision);
    LiveOptions plain;
    plain.online = false;
    auto sql = migrate::offline_upgrade_sql(migrations.graph(), head, "head", pool.dialect(), plain);
    BOOST_TEST(sql.find("CONCURRENTLY") == std::string::npos, sql);
    auto online = migrate::offline_upgrade_sql(migrations.graph(), head, "head", pool.dialect());
    BOOST_TEST((online.find("CREATE INDEX CONCURRENTLY") != std::string::npos) == postgres(database), online);
    Migrator(pool, migrations.graph(), plain).upgrade("head");
    BOOST_TEST(db::reflect_table(*pool.acquire(), "reciperun")->indexes.size() == 2u);
}

PANGEO_FORGE_DATABASE_TEST(the_connection_goes_back_to_the_pool_with_its_own_wait_limits) {
    db::Database pool(database.url(), db::PoolOptions{1});  // one connection: the run's, lent again
    seed_runs(pool, 10);
    auto wait_limits = [&] {
        auto lease = pool.acquire();
        if (!postgres(database)) return query_value(*lease, "PRAGMA busy_timeout");
        return query_value(*lease, "SHOW lock_timeout") + " " + query_value(*lease, "SHOW statement_timeout");
    };
    const std::string own = wait_limits();
    MigrationsCopy migrations;
    migrations.write("1ace00000001_add_reciperun_colour.json", add_column_revision);
    LiveOptions options;
    options.lock_timeout = milliseconds(300);
    options.statement_timeout = milliseconds(5000);
    options.lock_retries = 0;
    {
        auto holder = hold_reciperun(database.url(), milliseconds(1500));
        std::string message = error_message([&] { Migrator(pool, migrations.graph(), options).upgrade("head"); });
        holder.join();
        BOOST_TEST(message.find("gave up after 1 try") != std::string::npos, message);
    }
    BOOST_TEST(wait_limits() == own);
    Migrator(pool, migrations.graph(), options).upgrade("head");
    BOOST_TEST(wait_limits() == own);
}

// A concurrent index build ends but its record is never written (the process died, or the
// connection): the failure names the revision, and the next run renders the revision from the
// schema it started from (recorded before the build began), so the index the build left does
// not stop it for good.
PANGEO_FORGE_DATABASE_TEST(an_index_built_but_not_recorded_does_not_stop_the_next_run) {
    db::Database pool(database.url());
    seed_runs(pool, 100);
    MigrationsCopy migrations;
    migrations.write("1ace00000002_index_reciperun_recipe_id.json", index_revision);
    if (!postgres(database)) return;  // SQLite runs the revision in one transaction: no step is recorded
    pool.acquire()->execute(
        "CREATE FUNCTION refuse_steps() RETURNS trigger LANGUAGE plpgsql AS "
        "$$BEGIN IF NEW.steps_done > 0 THEN RAISE EXCEPTION 'steps table refused'; END IF; RETURN NEW; END$$");
    pool.acquire()->execute("CREATE TRIGGER refuse_steps BEFORE INSERT ON pangeo_forge_migration_steps "
                            "FOR EACH ROW EXECUTE FUNCTION refuse_steps()");
    Migrator migrator(pool, migrations.graph());
    std::string message = error_message([&] { migrator.upgrade("head"); });
    BOOST_TEST(message.find("revision 1ace00000002 (index reciperun recipe_id) failed in upgrade step 1 of 1") == 0u,
               message);
    BOOST_TEST(message.find("(recording the steps)") != std::string::npos, message);
    BOOST_TEST(message.find("steps table refused") != std::string::npos, message);
    BOOST_TEST(migrator.current() == std::vector<std::string>{head});
    BOOST_TEST(index_state(*pool.acquire(), "ix_reciperun_recipe_id") == "valid");  // built, not recorded
    pool.acquire()->execute("DROP TRIGGER refuse_steps ON pangeo_forge_migration_steps");
    migrator.upgrade("head");
    BOOST_TEST(migrator.current() == std::vector<std::string>{"1ace00000002"});
    BOOST_TEST(index_state(*pool.acquire(), "ix_reciperun_recipe_id") == "valid");
}
