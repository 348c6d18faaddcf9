#include "pangeo_forge/db/reflect.hpp"

#include <algorithm>
#include <cctype>

#include "db/backend.hpp"
#include "pangeo_forge/error.hpp"
#include "support/text.hpp"

namespace pangeo_forge::db {

std::string sql_type_name(const schema::Type& type, std::string_view timestamp, std::string_view floating) {
    using schema::TypeKind;
    switch (type.kind) {
        case TypeKind::integer: return "INTEGER";
        case TypeKind::big_integer: return "BIGINT";
        case TypeKind::varchar: return type.length ? "VARCHAR(" + std::to_string(*type.length) + ")" : "VARCHAR";
        case TypeKind::text: return "TEXT";
        case TypeKind::boolean: return "BOOLEAN";
        case TypeKind::timestamp: return std::string(timestamp);
        case TypeKind::floating: return std::string(floating);
        case TypeKind::other: return type.declared;
    }
    throw Error("unknown column type");
}

DeclaredType split_declared_type(const std::string& declared) {
    std::string name = detail::lowercase(declared);
    std::optional<int> length;
    if (auto open = name.find('('); open != std::string::npos) {
        auto close = name.find(')', open);
        std::string digits = name.substr(open + 1, close - open - 1);
        if (!digits.empty() && digits.size() < 10 && std::all_of(digits.begin(), digits.end(), ::isdigit)) {
            length = std::stoi(digits);
        }
        name = name.substr(0, open);
    }
    while (!name.empty() && name.back() == ' ') name.pop_back();
    return {name, length};
}

std::optional<std::string> normalised_default(std::optional<std::string> value, const schema::Type& type) {
    if (!value) return std::nullopt;
    std::string text = *value;
    // PostgreSQL: 'abc'::character varying -> 'abc'
    if (!text.empty() && text.front() == '\'') {
        auto cast = text.rfind("'::");
        if (cast != std::string::npos) text = text.substr(0, cast + 1);
    }
    if (type.kind == schema::TypeKind::boolean) {
        std::string lower = detail::lowercase(text);
        if (lower == "0" || lower == "'0'" || lower == "false" || lower == "'f'") return std::string("false");
        if (lower == "1" || lower == "'1'" || lower == "true" || lower == "'t'") return std::string("true");
    }
    return text;
}

std::vector<std::string> table_names(Connection& connection, const std::vector<std::string>& skip) {
    std::vector<std::string> names;
    for (auto& name : unit_of(connection.backend()).table_names(connection)) {
        if (std::find(skip.begin(), skip.end(), name) == skip.end()) names.push_back(std::move(name));
    }
    return names;
}

bool has_table(Connection& connection, const std::string& name) {
    auto names = table_names(connection);
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::optional<schema::Table> reflect_table(Connection& connection, const std::string& name) {
    if (!has_table(connection, name)) return std::nullopt;
    auto schema = unit_of(connection.backend()).reflect(connection, {name});
    if (schema.tables.empty()) return std::nullopt;
    return std::move(schema.tables.front());
}

schema::Schema reflect(Connection& connection, const std::vector<std::string>& skip) {
    auto names = table_names(connection, skip);
    if (names.empty()) return {};
    return unit_of(connection.backend()).reflect(connection, names);
}

}  // namespace pangeo_forge::db
