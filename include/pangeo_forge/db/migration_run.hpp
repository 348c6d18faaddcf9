#pragma once
// What the migration engine needs of a backend while it runs revisions on a connection:
// a lock for the whole run, and a check of the foreign keys before a revision commits.
// Each backend does these its own way (db/'s backend units); the engine does not ask which.

#include <chrono>
#include <string>
#include <vector>

#include "pangeo_forge/db/database.hpp"

namespace pangeo_forge::db {

// Held for a migration run on one connection. PostgreSQL: an advisory lock per schema, so
// that concurrent runs take turns. SQLite: foreign-key enforcement off (a table rebuild
// drops and re-creates tables that others refer to) and a long busy timeout, which a
// migration run's MigrationWaitLimits replaces (each revision's write transaction is SQLite's
// run lock: a second run waits for it up to the lock timeout, and tries again as for any
// lock); given back as it was. Throws DatabaseError when it cannot be taken. The connection must outlive
// the lock.
class MigrationRunLock {
public:
    explicit MigrationRunLock(Connection& connection);
    ~MigrationRunLock();
    MigrationRunLock(const MigrationRunLock&) = delete;
    MigrationRunLock& operator=(const MigrationRunLock&) = delete;

private:
    Connection& connection_;
    long long token_;
};

// The migration's lock waits bounded on one connection (Dialect::wait_limit_statements) for as
// long as this lives, then put back as they were. Take it after the MigrationRunLock: a run
// waits for another run's lock as long as that run takes.
class MigrationWaitLimits {
public:
    MigrationWaitLimits(Connection& connection, std::chrono::milliseconds lock_timeout,
                        std::chrono::milliseconds statement_timeout);
    ~MigrationWaitLimits();
    MigrationWaitLimits(const MigrationWaitLimits&) = delete;
    MigrationWaitLimits& operator=(const MigrationWaitLimits&) = delete;

private:
    Connection& connection_;
    long long token_;
};

// Whether an index `name` is there and INVALID, as a concurrent build that failed leaves it
// (PostgreSQL; SQLite builds no index concurrently).
bool invalid_index_exists(Connection& connection, const std::string& name);

// Throws DatabaseError naming the first row of `tables` that refers to a missing row.
// Where the backend checks keys as each statement runs (PostgreSQL), there is nothing left
// to check.
void check_foreign_keys(Connection& connection, const std::vector<std::string>& tables);

}  // namespace pangeo_forge::db
