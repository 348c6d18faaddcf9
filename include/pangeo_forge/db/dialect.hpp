#pragma once
// What differs between SQLite and PostgreSQL at the SQL level: identifier quoting, type
// names, literals, and which DDL each can do in place (the migration engine rebuilds a
// SQLite table where SQLite cannot alter it).

#include <string>
#include <string_view>

#include "pangeo_forge/db/url.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::db {

class Dialect {
public:
    explicit Dialect(Backend backend) : backend_(backend) {}

    Backend backend() const { return backend_; }
    std::string_view name() const { return to_string(backend_); }

    // "name" with embedded quotes doubled. Throws Error for an empty name or one with NUL.
    std::string quote(std::string_view identifier) const;

    // The column type as this dialect spells it in DDL (SQLite: DATETIME for timestamp).
    std::string type_name(const schema::Type& type) const;

    // A boolean literal: TRUE/FALSE on PostgreSQL, 1/0 on SQLite.
    std::string_view boolean_literal(bool value) const;

    // Can ALTER TABLE change a column's type or nullability, and add or drop a
    // constraint, without rebuilding the table? (PostgreSQL yes, SQLite no.)
    bool can_alter_in_place() const { return backend_ == Backend::postgresql; }

    bool operator==(const Dialect& other) const { return backend_ == other.backend_; }

private:
    Backend backend_;
};

}  // namespace pangeo_forge::db
