// JSON codecs of the schema values. Revision files carry tables in this form, so the
// reader is strict: unknown keys and wrong types are errors with a path to the value.

#include <fstream>

#include "schema/schema_readers.hpp"

namespace pangeo_forge::schema {

using detail::ErrorList;
using detail::Loc;
using detail::ObjectReader;
using detail::Problem;
using nlohmann::json;

namespace {

// Reads a list of objects with `read_item`, each at loc + [index].
template <class Item, class ReadItem>
std::vector<Item> read_list(ObjectReader& parent, std::string_view name, ReadItem read_item) {
    std::vector<Item> items;
    const json* list = parent.find(name);
    if (list == nullptr) return items;
    if (!list->is_array()) {
        parent.errors().add(detail::child_loc(parent.loc(), name),
                            Problem{"value is not a valid list", "type_error.list", {}});
        return items;
    }
    Loc list_loc = detail::child_loc(parent.loc(), name);
    for (std::size_t i = 0; i < list->size(); ++i) {
        ObjectReader reader((*list)[i], detail::child_loc(list_loc, std::to_string(i)), parent.errors());
        items.push_back(read_item(reader));
        reader.reject_unknown_fields();
    }
    return items;
}

using Names = std::vector<std::string>;

}  // namespace

void name_by_convention(Table& table) {
    if (table.primary_key.name.empty() && !table.primary_key.columns.empty()) {
        table.primary_key.name = primary_key_name(table.name);
    }
    for (auto& key : table.foreign_keys) name_by_convention(table.name, key);
    for (auto& index : table.indexes) name_by_convention(table.name, index);
    for (auto& unique : table.unique_constraints) name_by_convention(table.name, unique);
}

void name_by_convention(const std::string& table, ForeignKey& key) {
    if (key.name.empty()) key.name = foreign_key_name(table, key.columns);
}

void name_by_convention(const std::string& table, Index& index) {
    if (index.name.empty()) index.name = index_name(table, index.columns);
}

void name_by_convention(const std::string& table, UniqueConstraint& unique) {
    if (unique.name.empty()) unique.name = unique_constraint_name(table, unique.columns);
}

Column read_column(ObjectReader& in) {
    Column column;
    column.name = in.required<std::string>("name").value_or("");
    column.type = in.required<Type>("type").value_or(Type{});
    column.nullable = in.with_default<bool>("nullable", true);
    column.server_default = in.nullable<std::string>("server_default");
    column.autoincrement = in.with_default<bool>("autoincrement", false);
    return column;
}

PrimaryKey read_primary_key(ObjectReader& in) {
    return PrimaryKey{in.with_default<std::string>("name", ""), in.required<Names>("columns").value_or(Names{})};
}

ForeignKey read_foreign_key(ObjectReader& in) {
    ForeignKey key;
    key.name = in.with_default<std::string>("name", "");
    key.columns = in.required<Names>("columns").value_or(Names{});
    key.referred_table = in.required<std::string>("referred_table").value_or("");
    key.referred_columns = in.required<Names>("referred_columns").value_or(Names{});
    return key;
}

Index read_index(ObjectReader& in) {
    Index index;
    index.name = in.with_default<std::string>("name", "");
    index.columns = in.required<Names>("columns").value_or(Names{});
    index.unique = in.with_default<bool>("unique", false);
    return index;
}

UniqueConstraint read_unique(ObjectReader& in) {
    return UniqueConstraint{in.with_default<std::string>("name", ""),
                            in.required<Names>("columns").value_or(Names{})};
}

Table read_table(ObjectReader& in) {
    Table table;
    table.name = in.required<std::string>("name").value_or("");
    table.columns = read_list<Column>(in, "columns", read_column);
    if (const json* pk = in.find("primary_key"); pk != nullptr && !pk->is_null()) {
        table.primary_key = in.object("primary_key", read_primary_key).value_or(PrimaryKey{});
    }
    table.foreign_keys = read_list<ForeignKey>(in, "foreign_keys", read_foreign_key);
    table.indexes = read_list<Index>(in, "indexes", read_index);
    table.unique_constraints = read_list<UniqueConstraint>(in, "unique_constraints", read_unique);
    name_by_convention(table);
    return table;
}

namespace {

// Runs `read` over a top-level value and throws every problem it found.
template <class Value, class Read>
Value read_top_level(const json& in, Read read) {
    ErrorList errors;
    ObjectReader reader(in, Loc{}, errors);
    Value value = read(reader);
    reader.reject_unknown_fields();
    errors.throw_if_any();
    return value;
}

}  // namespace

void to_json(json& out, const Type& type) { out = to_string(type); }

void to_json(json& out, const Column& column) {
    out = {{"name", column.name}, {"type", column.type}, {"nullable", column.nullable}};
    if (column.server_default) out["server_default"] = *column.server_default;
    if (column.autoincrement) out["autoincrement"] = true;
}

void to_json(json& out, const PrimaryKey& key) { out = {{"name", key.name}, {"columns", key.columns}}; }

void to_json(json& out, const ForeignKey& key) {
    out = {{"name", key.name},
           {"columns", key.columns},
           {"referred_table", key.referred_table},
           {"referred_columns", key.referred_columns}};
}

void to_json(json& out, const Index& index) {
    out = {{"name", index.name}, {"columns", index.columns}, {"unique", index.unique}};
}

void to_json(json& out, const UniqueConstraint& constraint) {
    out = {{"name", constraint.name}, {"columns", constraint.columns}};
}

void to_json(json& out, const Table& table) {
    out = {{"name", table.name}, {"columns", table.columns}};
    if (!table.primary_key.columns.empty()) out["primary_key"] = table.primary_key;
    if (!table.foreign_keys.empty()) out["foreign_keys"] = table.foreign_keys;
    if (!table.indexes.empty()) out["indexes"] = table.indexes;
    if (!table.unique_constraints.empty()) out["unique_constraints"] = table.unique_constraints;
}

void to_json(json& out, const Schema& schema) { out = {{"tables", schema.tables}}; }

Column column_from_json(const json& in) { return read_top_level<Column>(in, read_column); }

Table table_from_json(const json& in) { return read_top_level<Table>(in, read_table); }

Schema schema_from_json(const json& in) {
    return read_top_level<Schema>(in, [](ObjectReader& reader) {
        return Schema{read_list<Table>(reader, "tables", read_table)};
    });
}

Schema load_schema(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) throw ConfigError("cannot read the schema file " + file.string());
    json document;
    try {
        document = json::parse(in);
    } catch (const json::parse_error& error) {
        throw ConfigError(file.string() + " is not JSON: " + error.what());
    }
    try {
        return schema_from_json(document);
    } catch (const ValidationError& error) {
        throw ConfigError(file.string() + " is not a valid schema: " + error.what());
    }
}

}  // namespace pangeo_forge::schema
