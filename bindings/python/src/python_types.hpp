#pragma once
// The C++ objects behind Python classes that have no single library class.

#include <optional>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/migrator.hpp"

namespace pangeo_forge::python {

// Migrations: a revision graph, and optionally the database it migrates.
struct Migrations {
    db::Database* database = nullptr;  // kept alive by the Python object (keep_alive)
    migrate::RevisionGraph graph;

    static Migrations open(db::Database* database, const std::optional<std::filesystem::path>& folder) {
        return {database, migrate::RevisionGraph::load(folder ? *folder
                                                              : migrate::bundled_migrations())};
    }

    db::Database& require_database() const {
        if (database == nullptr) {
            throw ConfigError("these Migrations have no database: pass one, Migrations(database)");
        }
        return *database;
    }

    migrate::Migrator migrator() const { return migrate::Migrator(require_database(), graph); }

    // After a revision file was written: the graph as the folder now has it.
    void reload() { graph = migrate::RevisionGraph::load(graph.folder()); }
};

}  // namespace pangeo_forge::python
