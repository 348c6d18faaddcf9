// Revision 0499cef6b57a on SQLite with 1,000,000 recipe runs: a table rebuild (status
// becomes NOT NULL). pangeo_forge's upgrade (`db upgrade head` as the command runs it,
// through migrate::command) against the same rebuild written by hand as raw SQL in one
// transaction with the SQLite C API, foreign-key check included, on identical copies of
// one database, in the same run. Prints each median and the ratio.
//
// The database is as Alembic leaves it: a rollback journal (journal_mode=delete), which
// both sides keep, with SQLite's default synchronous=FULL, as a plain pysqlite connection
// has it. URL_OPTIONS go to pangeo_forge's URL only ("?journal_mode=wal" switches the
// file to WAL, as every connection did before the migration commands kept the mode).
//
//   build/bench/bench_rebuild [rows] [rounds] [URL_OPTIONS]

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <vector>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/command.hpp"
#include "pangeo_forge/migrate/migrator.hpp"

using namespace pangeo_forge;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The rebuild as a person would write it: the statements pangeo_forge's rebuild runs.
constexpr const char* raw_rebuild = R"sql(
BEGIN IMMEDIATE;
DROP TABLE apikey;
CREATE TABLE _new_reciperun (
    recipe_id VARCHAR NOT NULL, bakery_id INTEGER NOT NULL, feedstock_id INTEGER NOT NULL,
    head_sha VARCHAR NOT NULL, version VARCHAR NOT NULL, started_at DATETIME NOT NULL,
    completed_at DATETIME, conclusion VARCHAR, status VARCHAR NOT NULL, message VARCHAR,
    id INTEGER NOT NULL, is_test BOOLEAN NOT NULL, dataset_type VARCHAR, dataset_public_url VARCHAR,
    CONSTRAINT reciperun_pkey PRIMARY KEY (id),
    CONSTRAINT reciperun_bakery_id_fkey FOREIGN KEY (bakery_id) REFERENCES bakery (id),
    CONSTRAINT reciperun_feedstock_id_fkey FOREIGN KEY (feedstock_id) REFERENCES feedstock (id));
INSERT INTO _new_reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, completed_at,
    conclusion, status, message, id, is_test, dataset_type, dataset_public_url)
  SELECT recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, completed_at, conclusion, status,
    message, id, is_test, dataset_type, dataset_public_url FROM reciperun;
DROP TABLE reciperun;
ALTER TABLE _new_reciperun RENAME TO reciperun;
UPDATE alembic_version SET version_num = '0499cef6b57a' WHERE version_num = '70bcddc9fffa';
)sql";

void check(int code, sqlite3* db, const char* what) {
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW) {
        std::cerr << what << ": " << sqlite3_errmsg(db) << "\n";
        std::exit(1);
    }
}

double raw_seconds(const fs::path& path) {
    sqlite3* db = nullptr;
    check(sqlite3_open(path.c_str(), &db), db, "open");
    // The journal mode and synchronous as the file and SQLite have them.
    check(sqlite3_exec(db, "PRAGMA foreign_keys = OFF", nullptr, nullptr, nullptr), db, "pragmas");
    auto start = Clock::now();
    check(sqlite3_exec(db, raw_rebuild, nullptr, nullptr, nullptr), db, "rebuild");
    sqlite3_stmt* fk_check = nullptr;
    check(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &fk_check, nullptr), db, "fk check");
    if (sqlite3_step(fk_check) == SQLITE_ROW) {
        std::cerr << "foreign key violation\n";
        std::exit(1);
    }
    sqlite3_finalize(fk_check);
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    std::chrono::duration<double> elapsed = Clock::now() - start;
    sqlite3_close(db);
    return elapsed.count();
}

double ours_seconds(const fs::path& path, const std::string& url_options) {
    migrate::command::Context context(
        {"sqlite:///" + path.string() + url_options, migrate::command::UrlOrigin::option, {}});
    context.graph();
    context.database();  // connected before the clock starts, as the raw side is
    auto start = Clock::now();
    // The revision the hand-written SQL does, not head: later ones index the million rows.
    migrate::command::upgrade(context, "0499cef6b57a");
    std::chrono::duration<double> elapsed = Clock::now() - start;
    return elapsed.count();
}

// What the file journals with after a side ran, read on a connection of its own.
std::string journal_mode(const fs::path& path) {
    sqlite3* db = nullptr;
    check(sqlite3_open(path.c_str(), &db), db, "open");
    sqlite3_stmt* statement = nullptr;
    check(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr), db, "journal mode");
    check(sqlite3_step(statement), db, "journal mode");
    std::string mode = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return mode;
}

void prepare(const fs::path& path, int rows, const migrate::RevisionGraph& graph) {
    db::Database database("sqlite:///" + path.string() + "?journal_mode=delete&synchronous=off");
    migrate::Migrator(database, graph).upgrade("70bcddc9fffa");
    auto connection = database.acquire();
    connection->execute("INSERT INTO bakery (region, name, description) VALUES ('us-central1', 'ldeo', 'bakery')");
    connection->execute("INSERT INTO feedstock (spec, provider) VALUES ('pangeo-forge/x-feedstock', 'github')");
    connection->execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                        std::to_string(rows) +
                        ") INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, "
                        "completed_at, conclusion, status, message, is_test, dataset_type, dataset_public_url) "
                        "SELECT 'recipe-' || i, 1, 1, '035ee3e8d8d8c6a8a8e9dcbd4bb8e4d0f6f7f1aa', '1.0', "
                        "'2021-01-01 00:00:00', '2021-01-01 01:30:00', 'success', 'completed', 'done', 0, 'zarr', "
                        "'https://example.org/dataset-' || i || '.zarr' FROM n");
}

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int rows = argc > 1 ? std::atoi(argv[1]) : 1000000;
    int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
    std::string url_options = argc > 3 ? argv[3] : "";
    fs::path folder = fs::temp_directory_path() / "pangeo_forge_bench_rebuild";
    fs::remove_all(folder);
    fs::create_directories(folder);
    auto graph = migrate::RevisionGraph::load(migrate::bundled_migrations());
    prepare(folder / "template.db", rows, graph);

    std::vector<double> ours, raw;
    for (int round = 0; round < rounds; ++round) {
        for (const char* name : {"ours.db", "raw.db"}) {
            fs::remove(folder / name);
            for (const char* suffix : {"-wal", "-shm", "-journal"}) fs::remove(folder / (std::string(name) + suffix));
            fs::copy_file(folder / "template.db", folder / name);
        }
        // Alternate who goes first, so neither always meets a warmer or colder page cache.
        if (round % 2 == 0) {
            raw.push_back(raw_seconds(folder / "raw.db"));
            ours.push_back(ours_seconds(folder / "ours.db", url_options));
        } else {
            ours.push_back(ours_seconds(folder / "ours.db", url_options));
            raw.push_back(raw_seconds(folder / "raw.db"));
        }
    }
    std::cout << "journal mode after: raw SQL " << journal_mode(folder / "raw.db") << ", pangeo_forge "
              << journal_mode(folder / "ours.db") << "\n";
    fs::remove_all(folder);
    for (int round = 0; round < rounds; ++round) {
        std::cout << "round " << round + 1 << ": raw SQL " << raw[round] * 1000 << " ms, pangeo_forge "
                  << ours[round] * 1000 << " ms\n";
    }
    std::cout << "rebuild of " << rows << " recipe runs (median of " << rounds << "): raw SQL " << median(raw) * 1000
              << " ms, pangeo_forge " << median(ours) * 1000 << " ms, ratio " << median(ours) / median(raw) << "\n";
    return 0;
}
