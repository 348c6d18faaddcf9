#pragma once
// One unit per backend (sqlite.cpp, postgresql.cpp): what the backend calls its types and
// how it reports them back, what DDL it can do in place, how it locks, how it is
// reflected. Dialect and the db/ functions the other layers call ask the backend's unit;
// no layer tests the backend itself.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::db {

class BackendUnit {
public:
    virtual ~BackendUnit() = default;

    // --- SQL text ---
    virtual std::string type_name(const schema::Type& type) const = 0;
    // A column type as the backend reports it, back into a neutral type.
    virtual schema::Type type_from_name(const std::string& declared) const = 0;
    // The type of an auto-increment column of `type`.
    virtual std::string autoincrement_type_name(const schema::Type& type) const = 0;
    virtual std::string_view boolean_literal(bool value) const = 0;
    virtual bool can_alter_in_place() const = 0;
    virtual std::string_view row_lock_clause() const = 0;
    virtual std::string_view queue_lock_clause() const = 0;
    virtual std::string_view begin_statement(bool immediate) const = 0;
    virtual std::string utc_now_text_sql() const = 0;
    virtual std::vector<std::string> migration_script_prologue() const = 0;
    virtual std::vector<std::string> migration_script_epilogue() const = 0;
    virtual std::vector<std::string> wait_limit_statements(std::chrono::milliseconds lock_timeout,
                                                           std::chrono::milliseconds statement_timeout) const = 0;

    // --- on a connection ---
    virtual std::vector<std::string> table_names(Connection& connection) const = 0;
    // The tables named (all when `names` is empty), each as it is.
    virtual schema::Schema reflect(Connection& connection, const std::vector<std::string>& names) const = 0;
    virtual void check_foreign_keys(Connection& connection, const std::vector<std::string>& tables) const = 0;
    // Taken for a whole migration run, given back by release_migration_lock with what
    // take_migration_lock returned.
    virtual long long take_migration_lock(Connection& connection) const = 0;
    virtual void release_migration_lock(Connection& connection, long long token) const = 0;
    // Applies wait_limit_statements() for a run; release_wait_limits puts back what was.
    virtual long long take_wait_limits(Connection& connection, std::chrono::milliseconds lock_timeout,
                                       std::chrono::milliseconds statement_timeout) const = 0;
    virtual void release_wait_limits(Connection& connection, long long token) const = 0;
    virtual bool invalid_index_exists(Connection& connection, const std::string& name) const = 0;
};

const BackendUnit& sqlite_unit();
const BackendUnit& postgresql_unit();
const BackendUnit& unit_of(Backend backend);

// The SQL name of a type, which the backends spell alike but for timestamps and floats.
std::string sql_type_name(const schema::Type& type, std::string_view timestamp, std::string_view floating);

// Shared by the units' type_from_name: "varchar(32)" -> ("varchar", 32), lower case.
struct DeclaredType {
    std::string name;
    std::optional<int> length;
};
DeclaredType split_declared_type(const std::string& declared);

// A server default as the neutral literal the schema values hold ('abc'::character varying
// -> 'abc'; booleans as true/false).
std::optional<std::string> normalised_default(std::optional<std::string> value, const schema::Type& type);

}  // namespace pangeo_forge::db
