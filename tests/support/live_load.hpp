#pragma once
// The load of a live database, for the tests and the benchmark of migrating one: recipe runs
// in bulk, another session holding the reciperun table, and a writer inserting a run every
// 50 ms that keeps the longest any insert waited. Needs no test framework.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "pangeo_forge/db/database.hpp"

namespace pangeo_forge::test {

// Revisions on top of the bundled head that work on reciperun: 1ace00000001 adds a column,
// 1ace00000002 creates an index.
extern const char* const add_column_revision;
extern const char* const index_revision;

// Upgrades the database to the bundled head and adds a bakery, a feedstock and `runs` recipe runs.
void seed_runs(db::Database& pool, int runs);

// Another session holding reciperun for `hold`: on PostgreSQL a transaction that read it and
// sleeps (a long report query, as the issue has it: BEGIN; SELECT ...; pg_sleep); on SQLite a
// write transaction (a writer holding the file). Returns once the session holds its lock;
// join the thread to wait for it to let go.
std::thread hold_reciperun(const std::string& url, std::chrono::milliseconds hold);

// Inserts a run every 50 ms on a connection of its own until stopped.
class Writer {
public:
    explicit Writer(const std::string& url);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void stop();
    std::chrono::milliseconds longest_wait() const { return std::chrono::milliseconds(longest_ms_.load()); }
    int inserts() const { return inserts_.load(); }

private:
    void write(const std::string& url);

    std::atomic<bool> stopping_{false};
    std::atomic<long long> longest_ms_{0};
    std::atomic<int> inserts_{0};
    std::thread thread_;
};

}  // namespace pangeo_forge::test
