#include "pangeo_forge/db/dialect.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "db/backend.hpp"
#include "pangeo_forge/db/migration_run.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::db {

const BackendUnit& unit_of(Backend backend) {
    return backend == Backend::postgresql ? postgresql_unit() : sqlite_unit();
}

Dialect::Dialect(Backend backend) : backend_(backend), unit_(&unit_of(backend)) {}

std::string Dialect::quote(std::string_view identifier) const {
    if (identifier.empty()) throw Error("an SQL identifier cannot be empty: name the table, column or constraint");
    if (identifier.find('\0') != std::string_view::npos) {
        throw Error("an SQL identifier cannot contain a NUL character");
    }
    // Both dialects follow the SQL standard here: double quotes, embedded quotes doubled.
    std::string out = "\"";
    for (char c : identifier) {
        if (c == '"') out.push_back('"');
        out.push_back(c);
    }
    return out + "\"";
}

std::string Dialect::type_name(const schema::Type& type) const { return unit_->type_name(type); }

std::string Dialect::autoincrement_type_name(const schema::Type& type) const {
    return unit_->autoincrement_type_name(type);
}

std::string_view Dialect::boolean_literal(bool value) const { return unit_->boolean_literal(value); }

std::string Dialect::literal(const Value& value) const {
    if (const auto* integer = std::get_if<std::int64_t>(&value)) return std::to_string(*integer);
    if (const auto* real = std::get_if<double>(&value)) {
        if (!std::isfinite(*real)) throw Error("a real that is not finite cannot be written as an SQL literal");
        char text[32];
        std::snprintf(text, sizeof text, "%.17g", *real);
        return text;
    }
    if (const auto* text = std::get_if<std::string>(&value)) {
        if (text->find('\0') != std::string::npos) throw Error("text with a NUL character cannot be an SQL literal");
        std::string out = "'";
        for (char c : *text) {
            if (c == '\'') out.push_back('\'');
            out.push_back(c);
        }
        return out + "'";
    }
    return "NULL";
}

std::string Dialect::inline_parameters(std::string_view sql, const std::vector<Value>& parameters) const {
    std::string out;
    std::size_t next = 0;
    char quote = 0;  // inside '...' or "...", where a colon is text
    for (std::size_t i = 0; i < sql.size(); ++i) {
        char c = sql[i];
        if (quote == 0 && (c == '\'' || c == '"')) {
            quote = c;
        } else if (c == quote) {
            quote = 0;  // a doubled quote closes and reopens: the same state after both
        }
        // ":name" outside a literal or quoted identifier, and not PostgreSQL's "::" cast.
        bool parameter = quote == 0 && c == ':' && i + 1 < sql.size() && sql[i + 1] != ':' &&
                         (i == 0 || sql[i - 1] != ':') && (std::isalnum(static_cast<unsigned char>(sql[i + 1])) || sql[i + 1] == '_');
        if (!parameter) {
            out.push_back(c);
            continue;
        }
        if (next >= parameters.size()) throw Error("the statement has more parameters than values: " + std::string(sql));
        out += literal(parameters[next++]);
        while (i + 1 < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i + 1])) || sql[i + 1] == '_')) ++i;
    }
    if (next != parameters.size()) throw Error("the statement has fewer parameters than values: " + std::string(sql));
    return out;
}

bool Dialect::can_alter_in_place() const { return unit_->can_alter_in_place(); }
std::string_view Dialect::row_lock_clause() const { return unit_->row_lock_clause(); }
std::string_view Dialect::queue_lock_clause() const { return unit_->queue_lock_clause(); }
std::string_view Dialect::begin_statement(bool immediate) const { return unit_->begin_statement(immediate); }
std::string Dialect::utc_now_text_sql() const { return unit_->utc_now_text_sql(); }
std::vector<std::string> Dialect::migration_script_prologue() const { return unit_->migration_script_prologue(); }
std::vector<std::string> Dialect::migration_script_epilogue() const { return unit_->migration_script_epilogue(); }
std::vector<std::string> Dialect::wait_limit_statements(std::chrono::milliseconds lock_timeout,
                                                        std::chrono::milliseconds statement_timeout) const {
    return unit_->wait_limit_statements(lock_timeout, statement_timeout);
}

// --- a migration run's needs, from the backend's unit ------------------------------------

MigrationRunLock::MigrationRunLock(Connection& connection)
    : connection_(connection), token_(unit_of(connection.backend()).take_migration_lock(connection)) {}

MigrationRunLock::~MigrationRunLock() {
    try {
        unit_of(connection_.backend()).release_migration_lock(connection_, token_);
    } catch (...) {
        // The connection broke: the server released the lock with the session, and the
        // pool does not lend a broken connection again.
    }
}

MigrationWaitLimits::MigrationWaitLimits(Connection& connection, std::chrono::milliseconds lock_timeout,
                                         std::chrono::milliseconds statement_timeout)
    : connection_(connection),
      token_(unit_of(connection.backend()).take_wait_limits(connection, lock_timeout, statement_timeout)) {}

MigrationWaitLimits::~MigrationWaitLimits() {
    try {
        unit_of(connection_.backend()).release_wait_limits(connection_, token_);
    } catch (...) {
        // A broken connection is not lent again: nothing is left to put back.
    }
}

bool invalid_index_exists(Connection& connection, const std::string& name) {
    return unit_of(connection.backend()).invalid_index_exists(connection, name);
}

void check_foreign_keys(Connection& connection, const std::vector<std::string>& tables) {
    unit_of(connection.backend()).check_foreign_keys(connection, tables);
}

}  // namespace pangeo_forge::db
