// SQLite's unit: its type names and their reflection from the declared types, what it
// cannot alter in place (the migration engine rebuilds the table instead), its locking
// for a migration run, and its reflection through the pragma table functions.

#include <algorithm>
#include <limits>
#include <tuple>

#include "db/backend.hpp"
#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::db {
namespace {

using schema::Type;
using schema::TypeKind;
using T = ColumnType;

void read_columns(Connection& connection, schema::Table& table, const BackendUnit& unit) {
    std::vector<std::pair<std::int64_t, std::string>> key;
    for (auto& row : query(connection,
                           "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(:t) ORDER BY cid",
                           {T::text, T::text, T::integer, T::text, T::integer}, {table.name})) {
        schema::Column column;
        column.name = row.text(0);
        column.type = unit.type_from_name(row.text(1));
        auto pk_position = row.integer(4);
        column.nullable = row.integer(2) == 0 && pk_position == 0;
        column.server_default = normalised_default(row.optional_text(3), column.type);
        if (pk_position > 0) key.emplace_back(pk_position, column.name);
        table.columns.push_back(std::move(column));
    }
    std::sort(key.begin(), key.end());
    for (const auto& [position, column] : key) table.primary_key.columns.push_back(column);
    if (!key.empty()) table.primary_key.name = schema::primary_key_name(table.name);
    // An INTEGER primary key of one column is SQLite's rowid: the database assigns it.
    if (key.size() == 1) {
        auto& column = *std::find_if(table.columns.begin(), table.columns.end(),
                                     [&](const schema::Column& c) { return c.name == key[0].second; });
        column.autoincrement = column.type.kind == TypeKind::integer;
    }
}

// SQLite keeps no names for foreign keys: they get the naming convention's.
void read_foreign_keys(Connection& connection, schema::Table& table) {
    std::int64_t previous = -1;
    for (auto& row : query(connection,
                           "SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(:t) ORDER BY id, seq",
                           {T::integer, T::text, T::text, T::text}, {table.name})) {
        if (row.integer(0) != previous) table.foreign_keys.push_back(schema::ForeignKey{"", {}, row.text(1), {}});
        previous = row.integer(0);
        table.foreign_keys.back().columns.push_back(row.text(2));
        table.foreign_keys.back().referred_columns.push_back(row.text(3));
    }
    for (auto& key : table.foreign_keys) key.name = schema::foreign_key_name(table.name, key.columns);
}

void read_indexes(Connection& connection, schema::Table& table) {
    auto found = query(connection, "SELECT name, \"unique\", origin FROM pragma_index_list(:t) ORDER BY name",
                       {T::text, T::integer, T::text}, {table.name});
    for (auto& index : found) {
        std::vector<std::string> columns;
        for (auto& row : query(connection, "SELECT name FROM pragma_index_info(:i) ORDER BY seqno", {T::text},
                               {index.text(0)})) {
            columns.push_back(row.take_text(0));
        }
        const std::string& origin = index.text(2);
        if (origin == "c") {
            table.indexes.push_back(schema::Index{index.text(0), columns, index.integer(1) != 0});
        } else if (origin == "u") {
            table.unique_constraints.push_back(
                schema::UniqueConstraint{schema::unique_constraint_name(table.name, columns), columns});
        }
    }
}

class Sqlite : public BackendUnit {
public:
    // SQLAlchemy's names, so a table we create matches one SQLAlchemy created.
    std::string type_name(const Type& type) const override { return sql_type_name(type, "DATETIME", "FLOAT"); }

    // SQLite keeps the declared type as written: SQLAlchemy's names, and ours.
    Type type_from_name(const std::string& declared) const override {
        auto [name, length] = split_declared_type(declared);
        if (name == "integer" || name == "int" || name == "smallint") return {TypeKind::integer, {}};
        if (name == "bigint" || name == "int8") return {TypeKind::big_integer, {}};
        if (name == "varchar" || name == "nvarchar" || name == "character varying") return {TypeKind::varchar, length};
        if (name == "text" || name == "clob") return {TypeKind::text, {}};
        if (name == "boolean" || name == "bool") return {TypeKind::boolean, {}};
        if (name == "datetime" || name == "timestamp") return {TypeKind::timestamp, {}};
        if (name == "float" || name == "real" || name == "double" || name == "double precision") {
            return {TypeKind::floating, {}};
        }
        // Not one of ours: kept by name, so that the table can still be rebuilt as it was.
        return Type::named(declared);
    }

    // An INTEGER PRIMARY KEY is the rowid, which SQLite assigns.
    std::string autoincrement_type_name(const Type& type) const override { return type_name(type); }
    std::string_view boolean_literal(bool value) const override { return value ? "1" : "0"; }
    // No ALTER COLUMN, no ADD/DROP CONSTRAINT: the engine rebuilds the table.
    bool can_alter_in_place() const override { return false; }
    // A write transaction holds the whole database: rows need no lock of their own.
    std::string_view row_lock_clause() const override { return ""; }
    std::string_view queue_lock_clause() const override { return ""; }
    // IMMEDIATE takes the write lock at BEGIN, so that writers queue instead of failing.
    std::string_view begin_statement(bool immediate) const override { return immediate ? "BEGIN IMMEDIATE" : "BEGIN"; }
    std::string utc_now_text_sql() const override { return "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"; }
    // A rebuild drops and re-creates tables that others refer to.
    std::vector<std::string> migration_script_prologue() const override { return {"PRAGMA foreign_keys = OFF"}; }
    std::vector<std::string> migration_script_epilogue() const override { return {"PRAGMA foreign_keys = ON"}; }
    // The busy timeout is SQLite's one lock wait; "no limit" is the longest it takes.
    std::vector<std::string> wait_limit_statements(std::chrono::milliseconds lock_timeout,
                                                   std::chrono::milliseconds) const override {
        long long wait = lock_timeout.count() > 0 ? lock_timeout.count() : std::numeric_limits<int>::max();
        return {"PRAGMA busy_timeout = " + std::to_string(wait)};
    }

    std::vector<std::string> table_names(Connection& connection) const override {
        std::vector<std::string> names;
        for (auto& row : query(connection,
                               "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                               "ORDER BY name",
                               {T::text})) {
            names.push_back(row.take_text(0));
        }
        return names;
    }

    schema::Schema reflect(Connection& connection, const std::vector<std::string>& names) const override {
        schema::Schema schema;
        for (const auto& name : names.empty() ? table_names(connection) : names) {
            schema::Table table;
            table.name = name;
            read_columns(connection, table, *this);
            read_foreign_keys(connection, table);
            read_indexes(connection, table);
            schema.tables.push_back(std::move(table));
        }
        return schema;
    }

    // With enforcement off during a migration run, this is where a revision that left a
    // dangling reference is caught, before it commits.
    void check_foreign_keys(Connection& connection, const std::vector<std::string>& tables) const override {
        for (const auto& name : tables) {
            auto bad = query_one(connection, "PRAGMA foreign_key_check(" + connection.dialect().quote(name) + ")",
                                 {T::text, T::integer, T::text});
            if (bad) {
                throw DatabaseError("foreign-key check: a row of " + bad->text(0) +
                                    (bad->is_null(1) ? "" : " (rowid " + std::to_string(bad->integer(1)) + ")") +
                                    " refers to a row of " + bad->text(2) + " that does not exist");
            }
        }
    }

    // Foreign keys off for the run (a rebuild drops tables that others refer to; each
    // revision checks the keys before it commits) and a long busy timeout, for what runs
    // without MigrationWaitLimits (stamp); a migration run's limits replace it. The token is
    // the busy timeout to restore.
    long long take_migration_lock(Connection& connection) const override {
        long long saved = query_one(connection, "PRAGMA busy_timeout", {T::integer})->integer(0);
        try {
            connection.execute("PRAGMA foreign_keys = OFF");
            connection.execute("PRAGMA busy_timeout = 600000");
        } catch (...) {
            release_migration_lock(connection, saved);
            throw;
        }
        return saved;
    }

    void release_migration_lock(Connection& connection, long long saved_busy_timeout) const override {
        connection.execute("PRAGMA foreign_keys = ON");
        connection.execute("PRAGMA busy_timeout = " + std::to_string(saved_busy_timeout));
    }

    long long take_wait_limits(Connection& connection, std::chrono::milliseconds lock_timeout,
                               std::chrono::milliseconds statement_timeout) const override {
        long long saved = query_one(connection, "PRAGMA busy_timeout", {T::integer})->integer(0);
        for (const auto& statement : wait_limit_statements(lock_timeout, statement_timeout)) connection.execute(statement);
        return saved;
    }
    void release_wait_limits(Connection& connection, long long saved_busy_timeout) const override {
        connection.execute("PRAGMA busy_timeout = " + std::to_string(saved_busy_timeout));
    }

    bool invalid_index_exists(Connection&, const std::string&) const override { return false; }
};

}  // namespace

const BackendUnit& sqlite_unit() {
    static const Sqlite unit;
    return unit;
}

}  // namespace pangeo_forge::db
