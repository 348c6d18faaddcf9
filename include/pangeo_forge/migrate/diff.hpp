#pragma once
// The difference between two live databases, A and B (staging and production), as
// autogenerate writes it: the operations that turn A's schema into B's, each difference in
// words, and the SQL script of those operations for A's dialect. The engine's own tables
// are left out of both.
//
// A and B may be of different backends. Reflection normalises the type names, but what one
// backend stores differently from the other (a type it has no name for) shows as a
// difference like any other: comparing across backends is allowed, and may list such noise.
//
// Errors: diff_sql() throws MigrationError when an operation does not fit A's schema
// (schemas with clashing names); reading a database throws DatabaseError.
// Thread safety: diff() takes one connection from each Database for its call; the rest
// are pure functions.

#include <string>

#include <nlohmann/json.hpp>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/autogenerate.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::migrate {

struct DatabaseDiff {
    db::Backend from_backend = db::Backend::sqlite;  // A's: the script is written for it
    schema::Schema from;                             // A's tables
    // compare(declared = B's schema, live = A's): upgrade holds the operations from A to B,
    // differences the lines, seen from A ("is in the database" means: in A).
    Comparison comparison;

    bool empty() const { return comparison.empty(); }
};

// Reflects `from` (A) and `to` (B) and compares them.
DatabaseDiff diff(db::Database& from, db::Database& to);

// The SQL script of the operations for A's dialect, in one transaction, framed as the
// offline scripts are (SQLite: foreign keys off around it). An empty diff gives a script
// with no statement but its header.
std::string diff_sql(const DatabaseDiff& diff);

// {"equal", "upgrade": [operations as a revision file's "upgrade" holds them],
//  "downgrade": [the same for B back to A], "differences", "notes", "destructive"}
nlohmann::json diff_json(const DatabaseDiff& diff);

}  // namespace pangeo_forge::migrate
