// Migrating a PostgreSQL table in use, as the release step of a deployment does while the
// previous release serves traffic. reciperun holds ROWS runs; another session holds a
// transaction open on it for HOLD seconds (BEGIN; SELECT count(*) FROM reciperun;
// pg_sleep); a writer inserts a run every 50 ms. Two revisions run against it, each on a
// fresh schema: one adds a column, one creates an index. Each runs with the engine's
// defaults (lock timeout 2 s with retries, online rewrites) and with that safety off (no
// lock timeout, every operation as written: what Alembic does), in the same run.
// Prints, for each, the migration's total time and the writer's longest wait.
//
//   build/bench/bench_live_migration [POSTGRES_URL] [ROWS] [HOLD_SECONDS]
// POSTGRES_URL defaults to PANGEO_FORGE_TEST_POSTGRES_URL; its role needs CREATE on the
// database (a schema per case is created and dropped).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/migrate/revision.hpp"
#include "support/live_load.hpp"
#include "support/migrations.hpp"

using namespace pangeo_forge;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A schema of its own on the server, dropped afterwards.
class Schema {
public:
    Schema(const std::string& server_url) : server_(server_url), name_("bench_live_" + migrate::new_revision_id()) {
        db::Database(server_).acquire()->execute("CREATE SCHEMA " + name_);
    }
    ~Schema() {
        try {
            db::Database(server_).acquire()->execute("DROP SCHEMA " + name_ + " CASCADE");
        } catch (const std::exception& error) {
            std::cerr << "could not drop schema " << name_ << ": " << error.what() << "\n";
        }
    }
    std::string url() const {
        return server_ + (server_.find('?') == std::string::npos ? "?" : "&") + "options=-c%20search_path%3D" + name_;
    }

private:
    std::string server_;
    std::string name_;
};

struct Outcome {
    double migration_s = 0;
    long long writer_longest_ms = 0;
    int inserts = 0;
    int retries = 0;
};

Outcome run_case(const std::string& server, int rows, milliseconds hold, const char* revision, bool safe) {
    Schema schema(server);
    db::Database pool(schema.url());
    test::seed_runs(pool, rows);
    test::MigrationsCopy migrations;
    migrations.write("1ace_bench.json", revision);
    migrate::LiveOptions options;
    if (!safe) {
        options.lock_timeout = milliseconds(0);
        options.online = false;
    }
    migrate::Migrator migrator(pool, migrations.graph(), options);
    Outcome outcome;
    migrator.on_retry([&](const migrate::RetryReport&) { ++outcome.retries; });
    auto holder = test::hold_reciperun(schema.url(), hold);
    test::Writer writer(schema.url());
    std::this_thread::sleep_for(milliseconds(200));  // the writer is going before the migration starts
    auto start = Clock::now();
    migrator.upgrade("head");
    outcome.migration_s = std::chrono::duration<double>(Clock::now() - start).count();
    holder.join();
    std::this_thread::sleep_for(milliseconds(200));
    writer.stop();
    outcome.writer_longest_ms = writer.longest_wait().count();
    outcome.inserts = writer.inserts();
    return outcome;
}

}  // namespace

int main(int argc, char** argv) {
    const char* configured = std::getenv("PANGEO_FORGE_TEST_POSTGRES_URL");
    std::string server = argc > 1 ? argv[1] : configured != nullptr ? configured : "";
    if (server.empty()) {
        std::cerr << "usage: bench_live_migration POSTGRES_URL [ROWS] [HOLD_SECONDS] "
                     "(or set PANGEO_FORGE_TEST_POSTGRES_URL)\n";
        return 2;
    }
    const int rows = argc > 2 ? std::atoi(argv[2]) : 200'000;
    const milliseconds hold(argc > 3 ? std::atoi(argv[3]) * 1000 : 10'000);
    std::printf("reciperun with %d runs, a transaction holding it for %.0f s, a writer every 50 ms\n\n", rows,
                static_cast<double>(hold.count()) / 1000);
    std::printf("%-14s %-34s %12s %16s %9s %8s\n", "revision", "mode", "migration s", "writer longest", "inserts",
                "retries");
    try {
        for (const auto& [name, revision] :
             {std::pair{"add_column", test::add_column_revision}, std::pair{"create_index", test::index_revision}}) {
            for (bool safe : {true, false}) {
                auto outcome = run_case(server, rows, hold, revision, safe);
                std::printf("%-14s %-34s %12.2f %13lld ms %9d %8d\n", name,
                            safe ? "defaults (2 s lock timeout, online)" : "safety off (as Alembic)",
                            outcome.migration_s, outcome.writer_longest_ms, outcome.inserts, outcome.retries);
                std::fflush(stdout);
            }
        }
    } catch (const std::exception& error) {
        std::cerr << "error: " << error.what() << "\n";
        return 1;
    }
    return 0;
}
