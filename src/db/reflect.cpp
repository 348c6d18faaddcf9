#include "pangeo_forge/db/reflect.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "db/soci_access.hpp"
#include "support/text.hpp"

namespace pangeo_forge::db {
namespace {

using schema::Type;
using schema::TypeKind;

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

// A declared SQL type, as either dialect spells it, as a neutral type.
Type normalised_type(const std::string& declared) {
    std::string name = detail::lowercase(declared);
    std::optional<int> length;
    if (auto open = name.find('('); open != std::string::npos) {
        auto close = name.find(')', open);
        std::string digits = name.substr(open + 1, close - open - 1);
        if (!digits.empty() && std::all_of(digits.begin(), digits.end(), ::isdigit)) length = std::stoi(digits);
        name = name.substr(0, open);
    }
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name == "integer" || name == "int" || name == "int4" || name == "smallint") return {TypeKind::integer, {}};
    if (name == "bigint" || name == "int8") return {TypeKind::big_integer, {}};
    if (name == "varchar" || name == "character varying" || name == "nvarchar") return {TypeKind::varchar, length};
    if (name == "text" || name == "clob") return {TypeKind::text, {}};
    if (name == "boolean" || name == "bool") return {TypeKind::boolean, {}};
    if (name == "datetime" || name == "timestamp" || name == "timestamp without time zone") {
        return {TypeKind::timestamp, {}};
    }
    if (name == "float" || name == "real" || name == "double" || name == "double precision" || name == "float8") {
        return {TypeKind::floating, {}};
    }
    // Not one of ours: kept by name, so that the table can still be rebuilt as it was.
    return Type::named(declared);
}

// A server default as the neutral literal the schema values hold.
std::optional<std::string> normalised_default(std::optional<std::string> value, const Type& type) {
    if (!value) return std::nullopt;
    std::string text = *value;
    // PostgreSQL: 'abc'::character varying -> 'abc'
    if (!text.empty() && text.front() == '\'') {
        auto cast = text.rfind("'::");
        if (cast != std::string::npos) text = text.substr(0, cast + 1);
    }
    if (type.kind == TypeKind::boolean) {
        std::string lower = detail::lowercase(text);
        if (lower == "0" || lower == "'0'" || lower == "false" || lower == "'f'") return std::string("false");
        if (lower == "1" || lower == "'1'" || lower == "true" || lower == "'t'") return std::string("true");
    }
    return text;
}

std::optional<std::string> optional_text(const std::string& value, soci::indicator indicator) {
    return indicator == soci::i_null ? std::nullopt : std::optional<std::string>(value);
}

// --- SQLite -----------------------------------------------------------------------

void read_sqlite_columns(soci::session& session, schema::Table& table) {
    std::string name, declared, default_value;
    int not_null = 0, pk_position = 0;
    soci::indicator default_indicator = soci::i_ok;
    soci::statement columns = (session.prepare << "SELECT name, type, \"notnull\", dflt_value, pk "
                                                  "FROM pragma_table_info(:t) ORDER BY cid",
                               soci::use(table.name), soci::into(name), soci::into(declared), soci::into(not_null),
                               soci::into(default_value, default_indicator), soci::into(pk_position));
    columns.execute();
    std::vector<std::pair<int, std::string>> key;
    while (columns.fetch()) {
        schema::Column column;
        column.name = name;
        column.type = normalised_type(declared);
        column.nullable = not_null == 0 && pk_position == 0;
        column.server_default = normalised_default(optional_text(default_value, default_indicator), column.type);
        if (pk_position > 0) key.emplace_back(pk_position, name);
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

void read_sqlite_foreign_keys(soci::session& session, schema::Table& table) {
    int id = 0, previous = -1;
    std::string referred, from, to;
    soci::statement keys = (session.prepare << "SELECT id, \"table\", \"from\", \"to\" "
                                               "FROM pragma_foreign_key_list(:t) ORDER BY id, seq",
                            soci::use(table.name), soci::into(id), soci::into(referred), soci::into(from),
                            soci::into(to));
    keys.execute();
    while (keys.fetch()) {
        if (id != previous) table.foreign_keys.push_back(schema::ForeignKey{"", {}, referred, {}});
        previous = id;
        table.foreign_keys.back().columns.push_back(from);
        table.foreign_keys.back().referred_columns.push_back(to);
    }
    for (auto& key : table.foreign_keys) key.name = schema::foreign_key_name(table.name, key.columns);
}

std::vector<std::string> sqlite_index_columns(soci::session& session, const std::string& index) {
    std::vector<std::string> columns;
    std::string column;
    soci::statement query = (session.prepare << "SELECT name FROM pragma_index_info(:i) ORDER BY seqno",
                             soci::use(index), soci::into(column));
    query.execute();
    while (query.fetch()) columns.push_back(column);
    return columns;
}

void read_sqlite_indexes(soci::session& session, schema::Table& table) {
    std::string name, origin;
    int unique = 0;
    std::vector<std::tuple<std::string, bool, std::string>> found;
    soci::statement list = (session.prepare << "SELECT name, \"unique\", origin FROM pragma_index_list(:t) "
                                               "ORDER BY name",
                            soci::use(table.name), soci::into(name), soci::into(unique), soci::into(origin));
    list.execute();
    while (list.fetch()) found.emplace_back(name, unique != 0, origin);
    for (const auto& [index_name, is_unique, index_origin] : found) {
        auto columns = sqlite_index_columns(session, index_name);
        if (index_origin == "c") {
            table.indexes.push_back(schema::Index{index_name, columns, is_unique});
        } else if (index_origin == "u") {
            table.unique_constraints.push_back(
                schema::UniqueConstraint{schema::unique_constraint_name(table.name, columns), columns});
        }
    }
}

// --- PostgreSQL -------------------------------------------------------------------

// Column lists come back joined with the unit separator, which no name contains.
constexpr const char* column_list_sql =
    "(SELECT string_agg(a.attname::text, chr(31) ORDER BY k.ord) FROM unnest(%KEYS%) WITH ORDINALITY k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = %REL% AND a.attnum = k.attnum)";

std::string column_list(const std::string& keys, const std::string& relation) {
    std::string sql = column_list_sql;
    sql.replace(sql.find("%KEYS%"), 6, keys);
    sql.replace(sql.find("%REL%"), 5, relation);
    return sql;
}

// PostgreSQL is read in three catalog queries for the whole schema, rows grouped by
// table: one query per table would cost a round trip per table, 600 for 200 tables.
using TableMap = std::map<std::string, schema::Table>;

// pg_catalog rather than information_schema: its views cost half a second for 200 tables.
void read_postgres_columns(soci::session& session, TableMap& tables) {
    std::string table, name, type, default_value, identity;
    int not_null = 0;
    soci::indicator default_indicator = soci::i_ok;
    soci::statement columns =
        (session.prepare << "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), "
                            "a.attnotnull::int, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text "
                            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                            "JOIN pg_namespace n ON n.oid = c.relnamespace "
                            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
                            "AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
         soci::into(table), soci::into(name), soci::into(type), soci::into(not_null),
         soci::into(default_value, default_indicator), soci::into(identity));
    columns.execute();
    while (columns.fetch()) {
        schema::Column column;
        column.name = name;
        column.type = normalised_type(type);
        column.nullable = not_null == 0;
        auto server_default = optional_text(default_value, default_indicator);
        column.autoincrement = !identity.empty() || (server_default && server_default->rfind("nextval(", 0) == 0);
        if (!column.autoincrement) column.server_default = normalised_default(server_default, column.type);
        auto& entry = tables[table];
        entry.name = table;
        entry.columns.push_back(std::move(column));
    }
}

void read_postgres_constraints(soci::session& session, TableMap& tables) {
    std::string table, name, kind, columns, referred_table, referred_columns;
    soci::statement constraints =
        (session.prepare << "SELECT t.relname::text, c.conname, c.contype::text, " +
                                column_list("c.conkey", "c.conrelid") + ", COALESCE(rt.relname::text, ''), COALESCE(" +
                                column_list("c.confkey", "c.confrelid") +
                                ", '') FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                                "LEFT JOIN pg_class rt ON rt.oid = c.confrelid "
                                "WHERE n.nspname = current_schema() AND c.contype IN ('p', 'f', 'u') "
                                "ORDER BY t.relname, c.conname",
         soci::into(table), soci::into(name), soci::into(kind), soci::into(columns), soci::into(referred_table),
         soci::into(referred_columns));
    constraints.execute();
    while (constraints.fetch()) {
        auto found = tables.find(table);
        if (found == tables.end()) continue;
        auto names = split(columns, '\x1f');
        if (kind == "p") {
            found->second.primary_key = schema::PrimaryKey{name, names};
        } else if (kind == "f") {
            found->second.foreign_keys.push_back(
                schema::ForeignKey{name, names, referred_table, split(referred_columns, '\x1f')});
        } else {
            found->second.unique_constraints.push_back(schema::UniqueConstraint{name, names});
        }
    }
}

void read_postgres_indexes(soci::session& session, TableMap& tables) {
    std::string table, name, columns;
    int unique = 0;
    soci::statement indexes =
        (session.prepare << "SELECT t.relname::text, i.relname, ix.indisunique::int, " +
                                column_list("ix.indkey::int2[]", "t.oid") +
                                " FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid "
                                "JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                                "WHERE n.nspname = current_schema() AND NOT EXISTS "
                                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid "
                                "AND c.contype IN ('p', 'u')) ORDER BY t.relname, i.relname",
         soci::into(table), soci::into(name), soci::into(unique), soci::into(columns));
    indexes.execute();
    while (indexes.fetch()) {
        auto found = tables.find(table);
        if (found != tables.end()) found->second.indexes.push_back(schema::Index{name, split(columns, '\x1f'), unique != 0});
    }
}

TableMap reflect_postgres(soci::session& session) {
    TableMap tables;
    read_postgres_columns(session, tables);
    read_postgres_constraints(session, tables);
    read_postgres_indexes(session, tables);
    return tables;
}

}  // namespace

std::vector<std::string> table_names(Connection& connection, const std::vector<std::string>& skip) {
    return translating_errors(connection, "cannot list the tables", [&] {
        std::vector<std::string> names;
        std::string name;
        soci::session& session = soci_session(connection);
        std::string sql = connection.backend() == Backend::sqlite
                              ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                                "ORDER BY name"
                              : "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY c.relname";
        soci::statement query = (session.prepare << sql, soci::into(name));
        query.execute();
        while (query.fetch()) {
            if (std::find(skip.begin(), skip.end(), name) == skip.end()) names.push_back(name);
        }
        return names;
    });
}

namespace {

schema::Table reflect_sqlite_table(Connection& connection, const std::string& name) {
    return translating_errors(connection, "cannot reflect table " + name, [&] {
        schema::Table table;
        table.name = name;
        soci::session& session = soci_session(connection);
        read_sqlite_columns(session, table);
        read_sqlite_foreign_keys(session, table);
        read_sqlite_indexes(session, table);
        return table;
    });
}

TableMap reflect_postgres_tables(Connection& connection) {
    return translating_errors(connection, "cannot reflect the schema",
                              [&] { return reflect_postgres(soci_session(connection)); });
}

}  // namespace

std::optional<schema::Table> reflect_table(Connection& connection, const std::string& name) {
    if (connection.backend() == Backend::postgresql) {
        auto tables = reflect_postgres_tables(connection);
        auto found = tables.find(name);
        if (found == tables.end()) return std::nullopt;
        return found->second;
    }
    auto names = table_names(connection);
    if (std::find(names.begin(), names.end(), name) == names.end()) return std::nullopt;
    return reflect_sqlite_table(connection, name);
}

schema::Schema reflect(Connection& connection, const std::vector<std::string>& skip) {
    schema::Schema schema;
    auto skipped = [&](const std::string& name) { return std::find(skip.begin(), skip.end(), name) != skip.end(); };
    if (connection.backend() == Backend::postgresql) {
        for (auto& [name, table] : reflect_postgres_tables(connection)) {
            if (!skipped(name)) schema.tables.push_back(std::move(table));
        }
        return schema;
    }
    for (const auto& name : table_names(connection, skip)) schema.tables.push_back(reflect_sqlite_table(connection, name));
    return schema;
}

}  // namespace pangeo_forge::db
