#pragma once
// Operations turned into SQL for one dialect. PostgreSQL alters tables in place. SQLite
// cannot change a column's type, nullability or default, nor add or drop a constraint,
// in place: there an operation becomes a table rebuild (create the new table, copy the
// rows, drop the old one, rename the new one, re-create the indexes), and consecutive
// operations that each need a rebuild of the same table share one.
//
// Thread safety: pure functions of their arguments.

#include <string>
#include <vector>

#include "pangeo_forge/db/dialect.hpp"
#include "pangeo_forge/migrate/operations.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::migrate {

// The statements of one operation, or of a batch of operations rebuilt together.
struct Step {
    std::string description;  // "alter_column reciperun.status", or several joined with "; "
    std::vector<std::string> statements;
};

// Renders `operations` in order against `schema`, the database's schema before them,
// which is brought up to date as they go. Throws MigrationError (naming the operation)
// when an operation does not fit the schema.
std::vector<Step> render(const std::vector<Operation>& operations, schema::Schema& schema,
                         const db::Dialect& dialect);

// CREATE TABLE with every constraint named, then CREATE INDEX for each index;
// `if_not_exists` leaves a table already there as it is.
std::vector<std::string> create_table_statements(const schema::Table& table, const db::Dialect& dialect,
                                                 bool if_not_exists = false);

}  // namespace pangeo_forge::migrate
