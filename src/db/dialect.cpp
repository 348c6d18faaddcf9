#include "pangeo_forge/db/dialect.hpp"

#include "pangeo_forge/error.hpp"

namespace pangeo_forge::db {

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

std::string Dialect::type_name(const schema::Type& type) const {
    using schema::TypeKind;
    const bool postgres = backend_ == Backend::postgresql;
    switch (type.kind) {
        case TypeKind::integer: return "INTEGER";
        case TypeKind::big_integer: return "BIGINT";
        case TypeKind::varchar: return type.length ? "VARCHAR(" + std::to_string(*type.length) + ")" : "VARCHAR";
        case TypeKind::text: return "TEXT";
        case TypeKind::boolean: return "BOOLEAN";
        // SQLAlchemy's names, so a table we create matches one SQLAlchemy created.
        case TypeKind::timestamp: return postgres ? "TIMESTAMP WITHOUT TIME ZONE" : "DATETIME";
        case TypeKind::floating: return postgres ? "DOUBLE PRECISION" : "FLOAT";
        case TypeKind::other: return type.declared;
    }
    throw Error("unknown column type");
}

std::string_view Dialect::boolean_literal(bool value) const {
    if (backend_ == Backend::postgresql) return value ? "TRUE" : "FALSE";
    return value ? "1" : "0";
}

}  // namespace pangeo_forge::db
