#pragma once
// The bundled migrations, for tests that need a database at head.

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/graph.hpp"

namespace pangeo_forge::test {

migrate::RevisionGraph bundled();

// Upgrades the database to the bundled head; returns true, to sit in a member initializer list.
bool upgraded_to_head(db::Database& database);

}  // namespace pangeo_forge::test
