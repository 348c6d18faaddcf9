#pragma once
// What differs between SQLite and PostgreSQL at the SQL level: identifier quoting, type
// names, literals, which DDL each can do in place (the migration engine rebuilds a SQLite
// table where SQLite cannot alter it), row locks, and the frame of a migration script.
// Each answer comes from the backend's own unit (src/db/sqlite.cpp, postgresql.cpp).
// A Dialect is a small value: copy it freely, use it from any thread.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/db/url.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::db {

class BackendUnit;

class Dialect {
public:
    explicit Dialect(Backend backend);

    Backend backend() const { return backend_; }
    std::string_view name() const { return to_string(backend_); }

    // "name" with embedded quotes doubled. Throws Error for an empty name or one with NUL.
    std::string quote(std::string_view identifier) const;

    // The column type as this dialect spells it in DDL (SQLite: DATETIME for timestamp).
    std::string type_name(const schema::Type& type) const;
    // The type of an auto-increment column (PostgreSQL: SERIAL).
    std::string autoincrement_type_name(const schema::Type& type) const;

    // A boolean literal: TRUE/FALSE on PostgreSQL, 1/0 on SQLite.
    std::string_view boolean_literal(bool value) const;
    // A bound value written as a literal: text quoted with quotes doubled, NULL, numbers.
    std::string literal(const Value& value) const;
    // `sql` with its `:name` parameters replaced, in order, by `parameters` as literals:
    // what an offline script holds where a database is given parameters.
    std::string inline_parameters(std::string_view sql, const std::vector<Value>& parameters) const;

    // Can ALTER TABLE change a column's type or nullability, and add or drop a
    // constraint, without rebuilding the table? (PostgreSQL yes, SQLite no.)
    bool can_alter_in_place() const;

    // What a SELECT ends with to lock the rows it reads until the transaction ends
    // (" FOR UPDATE"); empty where the transaction's write lock already covers them (SQLite).
    std::string_view row_lock_clause() const;
    // What a SELECT that takes one row off a queue ends with: lock the row and pass over
    // rows that other transactions hold, so that concurrent takers get different rows
    // (" FOR UPDATE SKIP LOCKED"); empty where one write transaction at a time serializes
    // the takers (SQLite).
    std::string_view queue_lock_clause() const;
    // BEGIN; `immediate` asks for the write lock at once where the backend would take it later.
    std::string_view begin_statement(bool immediate) const;
    // An SQL expression for the current UTC time as ISO 8601 text.
    std::string utc_now_text_sql() const;
    // The statements around an offline migration script.
    std::vector<std::string> migration_script_prologue() const;
    // The statements that bound how long a migration's statements wait for locks:
    // PostgreSQL's lock_timeout and (when not zero) statement_timeout; SQLite's busy timeout,
    // as it has no statement timeout. A zero lock timeout waits as long as it takes.
    std::vector<std::string> wait_limit_statements(std::chrono::milliseconds lock_timeout,
                                                   std::chrono::milliseconds statement_timeout) const;
    std::vector<std::string> migration_script_epilogue() const;

    bool operator==(const Dialect& other) const { return backend_ == other.backend_; }

private:
    Backend backend_;
    const BackendUnit* unit_;
};

}  // namespace pangeo_forge::db
