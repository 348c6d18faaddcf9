#pragma once
// Dialect-neutral schema values: what a table looks like, independent of any database.
// The declared schema (model::schema()), the schema reflected from a live database and
// the tables that migrations create are all these values, so they compare with ==.
//
// Thread safety: plain values and pure functions.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace pangeo_forge::schema {

// `other` is a type pangeo_forge does not model (jsonb, numeric, an enum...), met when
// reflecting a database: it keeps its declared name, so a table rebuild re-creates it as it was.
enum class TypeKind { integer, big_integer, varchar, text, boolean, timestamp, floating, other };

// What an `integer` column holds: 32 bits on both backends (INTEGER).
inline constexpr std::int64_t integer_min = -2147483648LL;
inline constexpr std::int64_t integer_max = 2147483647LL;

struct Type {
    Type() = default;
    Type(TypeKind kind, std::optional<int> length = std::nullopt) : kind(kind), length(length) {}
    // A type pangeo_forge does not model, by the database's name for it.
    static Type named(std::string declared) {
        Type type(TypeKind::other);
        type.declared = std::move(declared);
        return type;
    }

    TypeKind kind = TypeKind::varchar;
    std::optional<int> length;  // varchar(N); empty means unbounded
    std::string declared;       // the database's own name, for `other` only

    bool operator==(const Type& other) const {
        return kind == other.kind && length == other.length && declared == other.declared;
    }
    bool operator!=(const Type& other) const { return !(*this == other); }
};

// "integer", "bigint", "varchar", "varchar(32)", "text", "boolean", "timestamp", "float";
// an `other` type's declared name.
std::string to_string(const Type& type);
// The inverse of to_string; std::nullopt for anything else.
std::optional<Type> parse_type(std::string_view text);

struct Column {
    std::string name;
    Type type;
    bool nullable = true;
    // A neutral SQL literal the database fills in when an insert omits the column:
    // "false", "0", "'text'", "CURRENT_TIMESTAMP". Empty when there is none.
    std::optional<std::string> server_default;
    // An integer primary key whose values the database generates (PostgreSQL: SERIAL).
    bool autoincrement = false;

    bool operator==(const Column& other) const;
    bool operator!=(const Column& other) const { return !(*this == other); }
};

struct PrimaryKey {
    std::string name;
    std::vector<std::string> columns;

    bool operator==(const PrimaryKey& other) const;
};

struct ForeignKey {
    std::string name;
    std::vector<std::string> columns;
    std::string referred_table;
    std::vector<std::string> referred_columns;

    bool operator==(const ForeignKey& other) const;
};

struct Index {
    std::string name;
    std::vector<std::string> columns;
    bool unique = false;

    bool operator==(const Index& other) const;
};

struct UniqueConstraint {
    std::string name;
    std::vector<std::string> columns;

    bool operator==(const UniqueConstraint& other) const;
};

struct Table {
    std::string name;
    std::vector<Column> columns;
    PrimaryKey primary_key;
    std::vector<ForeignKey> foreign_keys;
    std::vector<Index> indexes;
    std::vector<UniqueConstraint> unique_constraints;

    const Column* find_column(std::string_view column_name) const;
    bool operator==(const Table& other) const;
    bool operator!=(const Table& other) const { return !(*this == other); }
};

struct Schema {
    std::vector<Table> tables;

    const Table* find_table(std::string_view table_name) const;
    bool operator==(const Schema& other) const { return tables == other.tables; }
    bool operator!=(const Schema& other) const { return !(*this == other); }
};

// The naming convention. Every constraint gets a name so that a later migration can
// drop it on any dialect; the names are PostgreSQL's own defaults, so they match the
// constraints of a database that Alembic built.
std::string primary_key_name(std::string_view table);
std::string foreign_key_name(std::string_view table, const std::vector<std::string>& columns);
std::string unique_constraint_name(std::string_view table, const std::vector<std::string>& columns);
std::string index_name(std::string_view table, const std::vector<std::string>& columns);

// The same schema in a canonical order: tables, columns, keys, indexes and constraints
// sorted by name. Two schemas that differ only in order have equal canonical forms (a
// table's column order depends on the history that built it, not on what it holds).
Schema canonical(Schema schema);

// A readable listing, one table per block, for people (the CLI and the examples).
std::string describe(const Schema& schema);

// JSON in and out. The readers throw ValidationError whose field paths lead to the
// offending value, e.g. ["tables", "2", "columns", "0", "type"].
void to_json(nlohmann::json& out, const Type& type);
void to_json(nlohmann::json& out, const Column& column);
void to_json(nlohmann::json& out, const PrimaryKey& key);
void to_json(nlohmann::json& out, const ForeignKey& key);
void to_json(nlohmann::json& out, const Index& index);
void to_json(nlohmann::json& out, const UniqueConstraint& constraint);
void to_json(nlohmann::json& out, const Table& table);
void to_json(nlohmann::json& out, const Schema& schema);

Column column_from_json(const nlohmann::json& in);
Table table_from_json(const nlohmann::json& in);
Schema schema_from_json(const nlohmann::json& in);

// A schema from a JSON file (as `pangeo-forge schema --json` writes). Throws ConfigError
// naming the file and what is wrong in it.
Schema load_schema(const std::filesystem::path& file);

}  // namespace pangeo_forge::schema
