// PostgreSQL's unit: its type names and their reflection from format_type(), in-place DDL,
// row locks, the advisory lock of a migration run, and its reflection from pg_catalog.

#include <algorithm>
#include <map>
#include <thread>

#include "db/backend.hpp"
#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::db {
namespace {

using schema::Type;
using schema::TypeKind;
using T = ColumnType;

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    if (text.empty()) return parts;
    std::size_t start = 0;
    for (std::size_t at = text.find(separator); at != std::string::npos; at = text.find(separator, start)) {
        parts.push_back(text.substr(start, at - start));
        start = at + 1;
    }
    parts.push_back(text.substr(start));
    return parts;
}

// Column lists come back joined with the unit separator, which no name contains.
std::string column_list(const std::string& keys, const std::string& relation) {
    return "(SELECT string_agg(a.attname::text, chr(31) ORDER BY k.ord) FROM unnest(" + keys +
           ") WITH ORDINALITY k(attnum, ord) JOIN pg_attribute a ON a.attrelid = " + relation +
           " AND a.attnum = k.attnum)";
}

// The schema is read in three catalog queries, rows grouped by table: one query per table
// would cost a round trip per table, 600 for 200 tables. pg_catalog rather than
// information_schema: its views cost half a second for 200 tables.
using TableMap = std::map<std::string, schema::Table>;

void read_columns(Connection& connection, TableMap& tables, const BackendUnit& unit) {
    for (auto& row : query(connection,
                           "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), "
                           "a.attnotnull::int, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text "
                           "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                           "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
                           "AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
                           {T::text, T::text, T::text, T::integer, T::text, T::text})) {
        schema::Column column;
        column.name = row.text(1);
        column.type = unit.type_from_name(row.text(2));
        column.nullable = row.integer(3) == 0;
        auto server_default = row.optional_text(4);
        column.autoincrement = !row.text(5).empty() || (server_default && server_default->rfind("nextval(", 0) == 0);
        if (!column.autoincrement) column.server_default = normalised_default(server_default, column.type);
        auto& table = tables[row.text(0)];
        table.name = row.text(0);
        table.columns.push_back(std::move(column));
    }
}

void read_constraints(Connection& connection, TableMap& tables) {
    for (auto& row : query(connection,
                           "SELECT t.relname::text, c.conname::text, c.contype::text, " +
                               column_list("c.conkey", "c.conrelid") + ", COALESCE(rt.relname::text, ''), COALESCE(" +
                               column_list("c.confkey", "c.confrelid") +
                               ", '') FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                               "JOIN pg_namespace n ON n.oid = t.relnamespace "
                               "LEFT JOIN pg_class rt ON rt.oid = c.confrelid "
                               "WHERE n.nspname = current_schema() AND c.contype IN ('p', 'f', 'u') "
                               "ORDER BY t.relname, c.conname",
                           {T::text, T::text, T::text, T::text, T::text, T::text})) {
        auto found = tables.find(row.text(0));
        if (found == tables.end()) continue;
        auto columns = split(row.text(3), '\x1f');
        const std::string& kind = row.text(2);
        if (kind == "p") {
            found->second.primary_key = schema::PrimaryKey{row.text(1), columns};
        } else if (kind == "f") {
            found->second.foreign_keys.push_back(
                schema::ForeignKey{row.text(1), columns, row.text(4), split(row.text(5), '\x1f')});
        } else {
            found->second.unique_constraints.push_back(schema::UniqueConstraint{row.text(1), columns});
        }
    }
}

// Only valid indexes: an INVALID one, which a failed concurrent build leaves, serves no query
// and is dropped before the build is tried again.
void read_indexes(Connection& connection, TableMap& tables) {
    for (auto& row : query(connection,
                           "SELECT t.relname::text, i.relname::text, ix.indisunique::int, " +
                               column_list("ix.indkey::int2[]", "t.oid") +
                               " FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid "
                               "JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                               "WHERE n.nspname = current_schema() AND ix.indisvalid AND NOT EXISTS "
                               "(SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid "
                               "AND c.contype IN ('p', 'u')) ORDER BY t.relname, i.relname",
                           {T::text, T::text, T::integer, T::text})) {
        auto found = tables.find(row.text(0));
        if (found != tables.end()) {
            found->second.indexes.push_back(schema::Index{row.text(1), split(row.text(3), '\x1f'), row.integer(2) != 0});
        }
    }
}

class Postgresql : public BackendUnit {
public:
    // SQLAlchemy's names, so a table we create matches one SQLAlchemy created.
    std::string type_name(const Type& type) const override {
        return sql_type_name(type, "TIMESTAMP WITHOUT TIME ZONE", "DOUBLE PRECISION");
    }

    // As format_type() spells them (and the short names, for types written by hand).
    Type type_from_name(const std::string& declared) const override {
        auto [name, length] = split_declared_type(declared);
        if (name == "integer" || name == "int" || name == "int4" || name == "smallint" || name == "int2") {
            return {TypeKind::integer, {}};
        }
        if (name == "bigint" || name == "int8") return {TypeKind::big_integer, {}};
        if (name == "character varying" || name == "varchar") return {TypeKind::varchar, length};
        if (name == "text") return {TypeKind::text, {}};
        if (name == "boolean" || name == "bool") return {TypeKind::boolean, {}};
        if (name == "timestamp without time zone" || name == "timestamp") return {TypeKind::timestamp, {}};
        if (name == "double precision" || name == "float8" || name == "real" || name == "float") {
            return {TypeKind::floating, {}};
        }
        // Not one of ours: kept by name, so that the table can still be created as it was.
        return Type::named(declared);
    }

    std::string autoincrement_type_name(const Type& type) const override {
        return type.kind == TypeKind::big_integer ? "BIGSERIAL" : "SERIAL";
    }
    std::string_view boolean_literal(bool value) const override { return value ? "TRUE" : "FALSE"; }
    bool can_alter_in_place() const override { return true; }
    std::string_view row_lock_clause() const override { return " FOR UPDATE"; }
    std::string_view queue_lock_clause() const override { return " FOR UPDATE SKIP LOCKED"; }
    std::string_view begin_statement(bool) const override { return "BEGIN"; }
    std::string utc_now_text_sql() const override {
        return "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
    }
    std::vector<std::string> migration_script_prologue() const override { return {}; }
    std::vector<std::string> migration_script_epilogue() const override { return {}; }
    // Zero is PostgreSQL's own "no limit" for both settings; a statement timeout is set only
    // when asked for, so that a role's own setting stands otherwise.
    std::vector<std::string> wait_limit_statements(std::chrono::milliseconds lock_timeout,
                                                   std::chrono::milliseconds statement_timeout) const override {
        std::vector<std::string> statements{"SET lock_timeout = '" + std::to_string(lock_timeout.count()) + "ms'"};
        if (statement_timeout.count() > 0) {
            statements.push_back("SET statement_timeout = '" + std::to_string(statement_timeout.count()) + "ms'");
        }
        return statements;
    }

    std::vector<std::string> table_names(Connection& connection) const override {
        std::vector<std::string> names;
        for (auto& row : query(connection,
                               "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                               "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname",
                               {T::text})) {
            names.push_back(row.take_text(0));
        }
        return names;
    }

    schema::Schema reflect(Connection& connection, const std::vector<std::string>& names) const override {
        TableMap tables;
        read_columns(connection, tables, *this);
        read_constraints(connection, tables);
        read_indexes(connection, tables);
        schema::Schema schema;
        for (auto& [name, table] : tables) {
            if (names.empty() || std::find(names.begin(), names.end(), name) != names.end()) {
                schema.tables.push_back(std::move(table));
            }
        }
        return schema;
    }

    // PostgreSQL checks every foreign key as the statement runs.
    void check_foreign_keys(Connection&, const std::vector<std::string>&) const override {}

    // An advisory lock per schema, so that concurrent runs take turns. The key is taken
    // once: a revision may change current_schema(), and the unlock must name the lock taken.
    // Tried every 50 ms rather than waited for in pg_advisory_lock(): a session waiting there
    // holds a snapshot, and a concurrent index build of the run that holds the lock waits
    // until every older snapshot is gone; the two would deadlock.
    long long take_migration_lock(Connection& connection) const override {
        auto key = query_one(connection, "SELECT hashtext('pangeo_forge migrate ' || current_schema())",
                             {T::integer})->integer(0);
        while (query_one(connection, "SELECT pg_try_advisory_lock(:key)::int", {T::integer}, {key})->integer(0) == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return key;
    }

    void release_migration_lock(Connection& connection, long long key) const override {
        query(connection, "SELECT pg_advisory_unlock(:key)", {T::text}, {std::int64_t{key}});
    }

    // Session settings, outside any transaction: they hold for the run's every transaction and
    // for the steps that run outside one. RESET gives back the connection's own values.
    long long take_wait_limits(Connection& connection, std::chrono::milliseconds lock_timeout,
                               std::chrono::milliseconds statement_timeout) const override {
        for (const auto& statement : wait_limit_statements(lock_timeout, statement_timeout)) connection.execute(statement);
        return 0;
    }
    void release_wait_limits(Connection& connection, long long) const override {
        connection.execute("RESET lock_timeout; RESET statement_timeout");
    }

    bool invalid_index_exists(Connection& connection, const std::string& name) const override {
        return query_one(connection,
                         "SELECT 1 FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
                         "JOIN pg_namespace n ON n.oid = i.relnamespace "
                         "WHERE n.nspname = current_schema() AND i.relname = :name AND NOT ix.indisvalid",
                         {T::integer}, {name})
            .has_value();
    }
};

}  // namespace

const BackendUnit& postgresql_unit() {
    static const Postgresql unit;
    return unit;
}

}  // namespace pangeo_forge::db
