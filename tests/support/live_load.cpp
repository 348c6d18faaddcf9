#include "support/live_load.hpp"

#include <future>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/migrate/migrator.hpp"

namespace pangeo_forge::test {

const char* const add_column_revision = R"json({
  "revision": "1ace00000001", "down_revision": "a453b710a63a", "message": "add reciperun colour",
  "upgrade": [{"op": "add_column", "table": "reciperun", "column": {"name": "colour", "type": "varchar"}}],
  "downgrade": [{"op": "drop_column", "table": "reciperun", "column": "colour"}]
})json";

const char* const index_revision = R"json({
  "revision": "1ace00000002", "down_revision": "a453b710a63a", "message": "index reciperun recipe_id",
  "upgrade": [{"op": "create_index", "table": "reciperun",
               "index": {"name": "ix_reciperun_recipe_id", "columns": ["recipe_id"], "unique": false}}],
  "downgrade": [{"op": "drop_index", "table": "reciperun", "name": "ix_reciperun_recipe_id"}]
})json";

void seed_runs(db::Database& pool, int runs) {
    migrate::Migrator(pool, migrate::RevisionGraph::load(migrate::bundled_migrations())).upgrade("head");
    auto lease = pool.acquire();
    lease->execute("INSERT INTO bakery (region, name, description) VALUES ('us-central1', 'ldeo', 'test bakery')");
    lease->execute("INSERT INTO feedstock (spec, provider) VALUES ('pangeo-forge/noaa-oisst-feedstock', 'github')");
    const std::string columns = "INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, "
                                "started_at, status, is_test) ";
    const std::string values = "1, 1, 'sha', '1.0', '2021-01-01 00:00:00', 'completed', FALSE";
    if (lease->backend() == db::Backend::postgresql) {
        lease->execute(columns + "SELECT 'recipe-' || g, " + values + " FROM generate_series(1, " +
                       std::to_string(runs) + ") g");
    } else {
        lease->execute("WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < " +
                       std::to_string(runs) + ") " + columns + "SELECT 'recipe-' || n, " + values + " FROM g");
    }
}

std::thread hold_reciperun(const std::string& url, std::chrono::milliseconds hold) {
    std::promise<void> holding;
    auto held = holding.get_future();
    std::thread session([url, hold, holding = std::move(holding)]() mutable {
        db::Database pool(url);
        auto lease = pool.acquire();
        if (lease->backend() == db::Backend::postgresql) {
            lease->execute("BEGIN");
            db::query_one(*lease, "SELECT count(*) FROM reciperun", {db::ColumnType::integer});
            holding.set_value();
            lease->execute("SELECT pg_sleep(" + std::to_string(static_cast<double>(hold.count()) / 1000) + ")");
        } else {
            lease->execute("BEGIN IMMEDIATE");
            lease->execute("UPDATE bakery SET description = 'held'");
            holding.set_value();
            std::this_thread::sleep_for(hold);
        }
        lease->execute("COMMIT");
    });
    held.wait();
    return session;
}

Writer::Writer(const std::string& url) : thread_([this, url] { write(url); }) {}

Writer::~Writer() { stop(); }

void Writer::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
}

void Writer::write(const std::string& url) {
    db::Database pool(url);
    auto lease = pool.acquire();
    while (!stopping_) {
        auto start = std::chrono::steady_clock::now();
        lease->execute("INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, "
                       "status, is_test) VALUES ('written', 1, 1, 'sha', '1.0', '2021-01-01 00:00:00', 'queued', "
                       "FALSE)");
        auto waited =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
        if (waited > longest_ms_) longest_ms_ = waited;
        ++inserts_;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

}  // namespace pangeo_forge::test
