#pragma once
// Running migrations against a live database, the way Alembic does and compatible with
// it: the version table is Alembic's alembic_version (one row per head), so a database
// that Alembic migrated is taken over as it stands and Alembic accepts ours.
//
// Each revision runs in a transaction of its own together with its version-table change:
// a revision that fails leaves the database at the revision before, untouched. A run holds
// a lock (PostgreSQL: an advisory lock for the whole run; SQLite: each revision's write
// transaction, in which the version table is read again), so two processes upgrading at
// once apply each revision exactly once. Beside the version table, the engine records each
// applied revision's file checksum, time and duration, and warns when an applied file has
// changed since.
//
// Thread safety: a Migrator may be used from several threads and processes at once (the run
// lock serialises runs); it holds a Database&, which must outlive it.

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/graph.hpp"

namespace pangeo_forge::migrate {

inline constexpr const char* version_table = "alembic_version";
inline constexpr const char* record_table = "pangeo_forge_migrations";

// The engine's own tables, which reflection of the application's schema leaves out.
const std::vector<std::string>& engine_tables();

// The migrations that ship with pangeo_forge: $PANGEO_FORGE_MIGRATIONS if set, else the
// source tree's migrations/ when it is there, else the installed share/pangeo_forge/migrations.
std::filesystem::path bundled_migrations();

// Which of those bundled_migrations() chose. The last two are installed copies, which
// new revisions must not be written into.
enum class MigrationsOrigin { environment, python_package, source_tree, installed };
MigrationsOrigin bundled_migrations_origin();

struct StepReport {
    enum class Direction { upgrade, downgrade };
    Direction direction = Direction::upgrade;
    std::vector<std::string> heads_before;
    std::vector<std::string> heads_after;
    std::string revision;
    std::vector<std::string> down_revisions;  // what the revision builds on (none: a base)
    std::string message;
    std::chrono::duration<double, std::milli> duration{};
};

// "Running upgrade 81c7d27bde71 -> 6197f9c7aff6, add bakery and feedstock (3.1 ms)",
// "Running downgrade 6197f9c7aff6 -> 81c7d27bde71, add bakery and feedstock (2.0 ms)":
// the revision and what it builds on ("base" for none; both parents of a merge), as
// Alembic prints them, whatever other branches the database holds.
std::string describe(const StepReport& step);

using Progress = std::function<void(const StepReport&)>;

struct AppliedRecord {
    std::string revision;
    std::string checksum;
    std::string applied_at;
    double duration_ms = 0;
};

class Migrator {
public:
    Migrator(db::Database& database, RevisionGraph graph);

    const RevisionGraph& graph() const { return graph_; }

    // The revisions the version table holds (none for a database never migrated).
    std::vector<std::string> current();

    std::vector<StepReport> upgrade(const std::string& target, const Progress& progress = {});
    std::vector<StepReport> downgrade(const std::string& target, const Progress& progress = {});

    // Writes the version table without running any migration: `target` replaces the heads on
    // its line and the other branches' heads stay, as Alembic's stamp does. Without `purge` it
    // refuses a database at a revision these migrations do not know; with it, it clears the
    // table first.
    void stamp(const std::string& target, bool purge = false);

    std::vector<AppliedRecord> applied();
    // One line per applied revision whose file changed after it was applied.
    std::vector<std::string> changed_files();

    // The database is at the head(s) of the migrations.
    bool at_head();

private:
    db::Database& database_;
    RevisionGraph graph_;
};

// The guard of code that needs the tables: throws MigrationError saying which revision the
// database is at and to run `pangeo-forge db upgrade head` unless it is at head.
void require_head(db::Database& database, const RevisionGraph& graph);

// Offline mode: the SQL script that moves a database from `from` ("base" or revision
// heads) to `to`, for `dialect`, without touching any database. The schema the script
// starts from is the one the migrations up to `from` build.
std::string offline_upgrade_sql(const RevisionGraph& graph, const std::string& from, const std::string& to,
                                const db::Dialect& dialect);
std::string offline_downgrade_sql(const RevisionGraph& graph, const std::string& from, const std::string& to,
                                  const db::Dialect& dialect);

}  // namespace pangeo_forge::migrate
