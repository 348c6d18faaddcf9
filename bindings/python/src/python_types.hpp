#pragma once
// The C++ objects behind Python classes that have no single library class.

#include <atomic>
#include <memory>
#include <optional>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/command.hpp"
#include "pangeo_forge/migrate/migrator.hpp"

namespace pangeo_forge::python {

// Migrations: a revision graph, and optionally the database it migrates. The graph is
// replaced whole when a revision file is written; calls on other threads (GIL released)
// keep the graph they started with.
class Migrations {
public:
    Migrations(db::Database* database, migrate::RevisionGraph graph)
        : database(database), graph_(std::make_shared<const migrate::RevisionGraph>(std::move(graph))) {}

    static Migrations open(db::Database* database, const std::optional<std::filesystem::path>& folder) {
        return {database, migrate::load_migrations(folder.value_or(std::filesystem::path()))};
    }

    std::shared_ptr<const migrate::RevisionGraph> graph() const { return std::atomic_load(&graph_); }

    db::Database& require_database() const {
        if (database == nullptr) {
            throw ConfigError("these Migrations have no database: pass one, Migrations(database)");
        }
        return *database;
    }

    migrate::Migrator migrator() const { return migrate::Migrator(require_database(), *graph()); }

    // What the library's commands work on: this graph, and the database (borrowed).
    migrate::command::Context context() const { return migrate::command::Context(graph(), database); }

    // After a revision file was written: the graph as the folder now has it.
    void reload() {
        std::atomic_store(&graph_, std::make_shared<const migrate::RevisionGraph>(
                                       migrate::RevisionGraph::load(graph()->folder())));
    }

    db::Database* database = nullptr;  // kept alive by the Python object (keep_alive)

private:
    std::shared_ptr<const migrate::RevisionGraph> graph_;
};

}  // namespace pangeo_forge::python
