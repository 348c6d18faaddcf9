#pragma once
// Reflection: what a live database holds, read back into schema values, with types
// normalised across dialects (VARCHAR, "character varying" -> varchar; DATETIME,
// "timestamp without time zone" -> timestamp; ...). PostgreSQL is read in the current
// schema (search_path).
//
// SQLite keeps no names for its foreign keys, unique constraints and primary keys; they
// are reflected under the naming convention's names (schema::foreign_key_name ...), the
// names the migration engine gives them.
//
// Thread safety: as the Connection's, one thread at a time on a connection.

#include <optional>
#include <string>
#include <vector>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::db {

// The tables of the database, by name, leaving out `skip`.
std::vector<std::string> table_names(Connection& connection, const std::vector<std::string>& skip = {});

bool has_table(Connection& connection, const std::string& name);

// One table, or std::nullopt when there is none of that name.
std::optional<schema::Table> reflect_table(Connection& connection, const std::string& name);

// Every table but those in `skip`, ordered by name.
schema::Schema reflect(Connection& connection, const std::vector<std::string>& skip = {});

}  // namespace pangeo_forge::db
