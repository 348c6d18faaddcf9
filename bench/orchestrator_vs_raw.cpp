// The orchestrator against the raw SQLite C API, same run, same settings (WAL,
// synchronous=NORMAL): creating recipe runs one transaction each, and reading one run
// with its bakery and feedstock. Prints each rate and the ratio.
//
//   build/bench/bench_orchestrator [rows]
//   build/bench/bench_orchestrator rows --create-only   prints only the orchestrator's create
//                                                       rate (bench/python_create_runs.py runs it)

#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>

#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"

using namespace pangeo_forge;
namespace fs = std::filesystem;

namespace {

double per_second(int count, const std::function<void(int)>& action) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) action(i);
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    return count / elapsed.count();
}

void check(int code, sqlite3* db) {
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW) {
        std::cerr << "sqlite: " << sqlite3_errmsg(db) << "\n";
        std::exit(1);
    }
}

sqlite3_stmt* prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* statement = nullptr;
    check(sqlite3_prepare_v2(db, sql, -1, &statement, nullptr), db);
    return statement;
}

// A database at head with one bakery and one feedstock.
void prepare_database(const fs::path& path, const migrate::RevisionGraph& graph) {
    db::Database database("sqlite:///" + path.string());
    migrate::Migrator(database, graph).upgrade("head");
    orchestrator::Orchestrator o(database, graph);
    o.create(model::decode<model::BakeryCreate>({{"region", "us-central1"}, {"name", "ldeo"}, {"description", "d"}}));
    o.create(model::decode<model::FeedstockCreate>({{"spec", "pangeo-forge/x-feedstock"}}));
}

model::RecipeRunCreate a_run() {
    return model::decode<model::RecipeRunCreate>({{"recipe_id", "noaa-oisst"}, {"bakery_id", 1}, {"feedstock_id", 1},
                                                  {"head_sha", "035ee3e8d8d8c6a8"}, {"version", "1.0"},
                                                  {"started_at", "2021-01-01T00:00:00Z"}, {"message", "queued"}});
}

}  // namespace

int main(int argc, char** argv) {
    int rows = argc > 1 ? std::atoi(argv[1]) : 10000;
    bool create_only = argc > 2 && std::string(argv[2]) == "--create-only";
    fs::path folder = fs::temp_directory_path() / ("pangeo_forge_bench_orchestrator." + std::to_string(getpid()));
    fs::remove_all(folder);
    fs::create_directories(folder);
    auto graph = migrate::RevisionGraph::load(migrate::bundled_migrations());
    if (create_only) {
        prepare_database(folder / "ours.db", graph);
        db::Database database("sqlite:///" + (folder / "ours.db").string());
        orchestrator::Orchestrator o(database, graph);
        auto body = a_run();
        double rate = per_second(rows, [&](int) { o.create(body); });
        fs::remove_all(folder);
        std::cout << static_cast<long>(rate) << "\n";
        return 0;
    }
    prepare_database(folder / "raw.db", graph);
    prepare_database(folder / "ours.db", graph);

    // Raw: the same row, one transaction each, a prepared statement reused.
    sqlite3* raw = nullptr;
    check(sqlite3_open((folder / "raw.db").c_str(), &raw), raw);
    check(sqlite3_exec(raw, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
                       nullptr, nullptr, nullptr),
          raw);
    sqlite3_stmt* insert = prepare(
        raw, "INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, completed_at, "
             "conclusion, status, message, is_test, dataset_type, dataset_public_url) "
             "VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, 'queued', ?, 0, NULL, NULL) RETURNING id");
    double raw_create = per_second(rows, [&](int) {
        check(sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), raw);
        sqlite3_bind_text(insert, 1, "noaa-oisst", -1, SQLITE_STATIC);
        sqlite3_bind_int64(insert, 2, 1);
        sqlite3_bind_int64(insert, 3, 1);
        sqlite3_bind_text(insert, 4, "035ee3e8d8d8c6a8", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 5, "1.0", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 6, "2021-01-01 00:00:00.000000", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 7, "queued", -1, SQLITE_STATIC);
        check(sqlite3_step(insert), raw);
        sqlite3_reset(insert);
        check(sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr), raw);
    });
    // Raw: a run and its bakery and feedstock, three prepared queries.
    sqlite3_stmt* run = prepare(raw, "SELECT * FROM reciperun WHERE id = ?");
    sqlite3_stmt* bakery = prepare(raw, "SELECT * FROM bakery WHERE id = ?");
    sqlite3_stmt* feedstock = prepare(raw, "SELECT * FROM feedstock WHERE id = ?");
    double raw_read = per_second(rows, [&](int i) {
        for (auto* statement : {run, bakery, feedstock}) {
            sqlite3_bind_int64(statement, 1, statement == run ? i % rows + 1 : 1);
            check(sqlite3_step(statement), raw);
            for (int c = 0; c < sqlite3_column_count(statement); ++c) sqlite3_column_text(statement, c);
            sqlite3_reset(statement);
        }
    });
    for (auto* statement : {insert, run, bakery, feedstock}) sqlite3_finalize(statement);
    sqlite3_close(raw);

    db::Database database("sqlite:///" + (folder / "ours.db").string());
    orchestrator::Orchestrator o(database, graph);
    auto body = a_run();
    double ours_create = per_second(rows, [&](int) { o.create(body); });
    double ours_read = per_second(rows, [&](int i) { o.recipe_run(i % rows + 1); });

    fs::remove_all(folder);
    std::cout << "create a recipe run: raw C API " << static_cast<long>(raw_create) << "/s, orchestrator "
              << static_cast<long>(ours_create) << "/s, ratio " << ours_create / raw_create << "\n"
              << "read a run with relations: raw C API " << static_cast<long>(raw_read) << "/s, orchestrator "
              << static_cast<long>(ours_read) << "/s, ratio " << ours_read / raw_read << "\n";
    return 0;
}
