// Inserting rows one transaction each: the pool and SOCI against the raw SQLite C API
// (and libpq, when PANGEO_FORGE_BENCH_POSTGRES_URL names a server), same table, same
// settings (WAL, synchronous=NORMAL), same run. Prints rows per second and the ratio.
//
//   build/bench/bench_insert [rows]

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <string>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/db/database.hpp"

using namespace pangeo_forge;

namespace {

std::string create_table(db::Backend backend) {
    return std::string("CREATE TABLE run (id ") + (backend == db::Backend::sqlite ? "INTEGER" : "SERIAL") +
           " PRIMARY KEY, recipe_id VARCHAR NOT NULL, head_sha VARCHAR NOT NULL, version VARCHAR NOT NULL, "
           "is_test BOOLEAN NOT NULL)";
}

double rows_per_second(int rows, const std::function<void(int)>& insert_one) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < rows; ++i) insert_one(i);
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    return rows / elapsed.count();
}

void check(int code, sqlite3* db) {
    if (code != SQLITE_OK && code != SQLITE_DONE && code != SQLITE_ROW) {
        std::cerr << "sqlite: " << sqlite3_errmsg(db) << "\n";
        std::exit(1);
    }
}

double raw_sqlite(const std::string& path, int rows) {
    sqlite3* db = nullptr;
    check(sqlite3_open(path.c_str(), &db), db);
    check(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", nullptr,
                       nullptr, nullptr),
          db);
    check(sqlite3_exec(db, create_table(db::Backend::sqlite).c_str(), nullptr, nullptr, nullptr), db);
    sqlite3_stmt* insert = nullptr;
    check(sqlite3_prepare_v2(db, "INSERT INTO run (recipe_id, head_sha, version, is_test) VALUES (?, ?, ?, ?)", -1,
                             &insert, nullptr),
          db);
    double rate = rows_per_second(rows, [&](int i) {
        std::string recipe = "recipe-" + std::to_string(i);
        check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db);
        sqlite3_bind_text(insert, 1, recipe.c_str(), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(insert, 2, "035ee3e8d8d8c6a8", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 3, "1.0", -1, SQLITE_STATIC);
        sqlite3_bind_int(insert, 4, 0);
        check(sqlite3_step(insert), db);
        sqlite3_reset(insert);
        check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
    });
    sqlite3_finalize(insert);
    sqlite3_close(db);
    return rate;
}

double raw_libpq(const std::string& url, int rows) {
    PGconn* conn = PQconnectdb(db::libpq_conninfo(db::parse_database_url(url)).c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::cerr << "libpq: " << PQerrorMessage(conn);
        std::exit(1);
    }
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
    PQclear(PQexec(conn, "DROP TABLE IF EXISTS run"));
    PQclear(PQexec(conn, create_table(db::Backend::postgresql).c_str()));
    PQclear(PQprepare(conn, "insert", "INSERT INTO run (recipe_id, head_sha, version, is_test) VALUES ($1, $2, $3, $4)",
                      4, nullptr));
    double rate = rows_per_second(rows, [&](int i) {
        std::string recipe = "recipe-" + std::to_string(i);
        const char* values[] = {recipe.c_str(), "035ee3e8d8d8c6a8", "1.0", "false"};
        PQclear(PQexec(conn, "BEGIN"));
        PGresult* result = PQexecPrepared(conn, "insert", 4, values, nullptr, nullptr, 0);
        if (PQresultStatus(result) != PGRES_COMMAND_OK) {
            std::cerr << "libpq: " << PQerrorMessage(conn);
            std::exit(1);
        }
        PQclear(result);
        PQclear(PQexec(conn, "COMMIT"));
    });
    PQclear(PQexec(conn, "DROP TABLE run"));
    PQfinish(conn);
    return rate;
}

// Through the library: a connection from the pool, a Transaction, a SOCI statement.
double pangeo_forge_pool(const std::string& url, int rows) {
    db::Database database(url);
    {
        auto connection = database.acquire();
        connection->execute("DROP TABLE IF EXISTS run");
        connection->execute(create_table(database.backend()));
    }
    double rate = rows_per_second(rows, [&](int i) {
        std::string recipe = "recipe-" + std::to_string(i);
        std::string head_sha = "035ee3e8d8d8c6a8";
        std::string version = "1.0";
        bool is_test = false;
        auto connection = database.acquire();
        db::Transaction transaction(*connection);
        db::run(*connection,
                "INSERT INTO run (recipe_id, head_sha, version, is_test) VALUES (:recipe, :sha, :version, :is_test)",
                {recipe, head_sha, version, std::int64_t{is_test ? 1 : 0}});
        transaction.commit();
    });
    database.acquire()->execute("DROP TABLE run");
    return rate;
}

void report(const std::string& backend, const std::string& baseline, double raw, double ours) {
    std::cout << backend << ": " << baseline << " " << static_cast<long>(raw) << " rows/s, pangeo_forge "
              << static_cast<long>(ours) << " rows/s, ratio " << ours / raw << "\n";
}

}  // namespace

int main(int argc, char** argv) {
    int rows = argc > 1 ? std::atoi(argv[1]) : 20000;
    auto folder = std::filesystem::temp_directory_path() / "pangeo_forge_bench";
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);

    double raw = raw_sqlite((folder / "raw.db").string(), rows);
    double ours = pangeo_forge_pool("sqlite:///" + (folder / "ours.db").string(), rows);
    report("sqlite", "raw C API", raw, ours);

    if (const char* url = std::getenv("PANGEO_FORGE_BENCH_POSTGRES_URL")) {
        int pg_rows = rows / 4;
        double raw_pg = raw_libpq(url, pg_rows);
        double ours_pg = pangeo_forge_pool(url, pg_rows);
        report("postgresql", "libpq", raw_pg, ours_pg);
    }
    std::filesystem::remove_all(folder);
    return 0;
}
