#include "pangeo_forge/schema/schema.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "support/text.hpp"

namespace pangeo_forge::schema {
namespace {

using detail::joined;

struct TypeName {
    TypeKind kind;
    std::string_view name;
};

constexpr TypeName type_names[] = {
    {TypeKind::integer, "integer"},   {TypeKind::big_integer, "bigint"},
    {TypeKind::varchar, "varchar"},   {TypeKind::text, "text"},
    {TypeKind::boolean, "boolean"},   {TypeKind::timestamp, "timestamp"},
    {TypeKind::floating, "float"},
};

template <class Item>
const Item* find_named(const std::vector<Item>& items, std::string_view name) {
    auto it = std::find_if(items.begin(), items.end(), [&](const Item& item) { return item.name == name; });
    return it == items.end() ? nullptr : &*it;
}

}  // namespace

std::string to_string(const Type& type) {
    if (type.kind == TypeKind::other) return type.declared;
    for (const auto& entry : type_names) {
        if (entry.kind != type.kind) continue;
        std::string out(entry.name);
        if (type.length) out += "(" + std::to_string(*type.length) + ")";
        return out;
    }
    return "unknown";
}

std::optional<Type> parse_type(std::string_view text) {
    std::optional<int> length;
    auto open = text.find('(');
    std::string_view base = text.substr(0, open);
    if (open != std::string_view::npos) {
        if (text.back() != ')') return std::nullopt;
        std::string_view digits = text.substr(open + 1, text.size() - open - 2);
        if (digits.empty() || digits.size() > 9 ||
            !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return std::nullopt;
        }
        length = std::stoi(std::string(digits));
    }
    for (const auto& entry : type_names) {
        if (entry.name != base) continue;
        if (length && entry.kind != TypeKind::varchar) return std::nullopt;
        return Type{entry.kind, length};
    }
    return std::nullopt;
}

bool Column::operator==(const Column& other) const {
    return name == other.name && type == other.type && nullable == other.nullable &&
           server_default == other.server_default && autoincrement == other.autoincrement;
}

bool PrimaryKey::operator==(const PrimaryKey& other) const {
    return name == other.name && columns == other.columns;
}

bool ForeignKey::operator==(const ForeignKey& other) const {
    return name == other.name && columns == other.columns && referred_table == other.referred_table &&
           referred_columns == other.referred_columns;
}

bool Index::operator==(const Index& other) const {
    return name == other.name && columns == other.columns && unique == other.unique;
}

bool UniqueConstraint::operator==(const UniqueConstraint& other) const {
    return name == other.name && columns == other.columns;
}

bool Table::operator==(const Table& other) const {
    return name == other.name && columns == other.columns && primary_key == other.primary_key &&
           foreign_keys == other.foreign_keys && indexes == other.indexes &&
           unique_constraints == other.unique_constraints;
}

const Column* Table::find_column(std::string_view column_name) const {
    return find_named(columns, column_name);
}

const Table* Schema::find_table(std::string_view table_name) const {
    return find_named(tables, table_name);
}

std::string primary_key_name(std::string_view table) {
    return std::string(table) + "_pkey";
}

std::string foreign_key_name(std::string_view table, const std::vector<std::string>& columns) {
    return std::string(table) + "_" + joined(columns, "_") + "_fkey";
}

std::string unique_constraint_name(std::string_view table, const std::vector<std::string>& columns) {
    return std::string(table) + "_" + joined(columns, "_") + "_key";
}

std::string index_name(std::string_view table, const std::vector<std::string>& columns) {
    return "ix_" + std::string(table) + "_" + joined(columns, "_");
}

Schema canonical(Schema schema) {
    auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
    std::sort(schema.tables.begin(), schema.tables.end(), by_name);
    for (auto& table : schema.tables) {
        std::sort(table.columns.begin(), table.columns.end(), by_name);
        std::sort(table.foreign_keys.begin(), table.foreign_keys.end(), by_name);
        std::sort(table.indexes.begin(), table.indexes.end(), by_name);
        std::sort(table.unique_constraints.begin(), table.unique_constraints.end(), by_name);
    }
    return schema;
}

std::string describe(const Schema& schema) {
    std::ostringstream out;
    for (const auto& table : schema.tables) {
        out << table.name << "\n";
        std::size_t width = 0;
        for (const auto& column : table.columns) width = std::max(width, column.name.size());
        for (const auto& column : table.columns) {
            out << "  " << std::left << std::setw(static_cast<int>(width) + 2) << column.name
                << std::setw(13) << to_string(column.type) << (column.nullable ? "null" : "not null");
            std::vector<std::string> notes;
            const auto& pk = table.primary_key.columns;
            if (std::find(pk.begin(), pk.end(), column.name) != pk.end()) notes.push_back("primary key");
            if (column.autoincrement) notes.push_back("auto-increment");
            if (column.server_default) notes.push_back("default " + *column.server_default);
            for (const auto& fk : table.foreign_keys) {
                if (fk.columns.size() == 1 && fk.columns[0] == column.name) {
                    notes.push_back("-> " + fk.referred_table + "." + joined(fk.referred_columns, ",") + " (" +
                                    fk.name + ")");
                }
            }
            if (!notes.empty()) out << (column.nullable ? "      " : "  ") << joined(notes, ", ");
            out << "\n";
        }
        for (const auto& index : table.indexes) {
            out << "  index " << index.name << " (" << joined(index.columns, ", ") << ")"
                << (index.unique ? " unique" : "") << "\n";
        }
        for (const auto& unique : table.unique_constraints) {
            out << "  unique " << unique.name << " (" << joined(unique.columns, ", ") << ")\n";
        }
    }
    return out.str();
}

}  // namespace pangeo_forge::schema
