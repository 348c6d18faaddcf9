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
// On a database in use (a live PostgreSQL while the previous release serves traffic), every
// statement of a run waits for a lock at most LiveOptions::lock_timeout: an ALTER TABLE that
// waits behind a long transaction holds up every query that comes after it, so it gives up
// instead, its revision is rolled back and tried again after a back-off. The online rewrites
// (ddl.hpp) split a revision into steps, some outside a transaction; each step that ends is
// recorded in the engine's steps table with the schema the revision started from (the first
// step outside a transaction is recorded before it starts, as the server may finish it after
// the run died), so a run that fails between them resumes where it stopped (and only an
// upgrade or downgrade of that same revision may run until it is finished, or a stamp says
// where the database stands). The version table changes with the last step.
//
// Thread safety: a Migrator may be used from several threads and processes at once (the run
// lock serialises runs); it holds a Database&, which must outlive it.

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/graph.hpp"

namespace pangeo_forge::migrate {

inline constexpr const char* version_table = "alembic_version";
inline constexpr const char* record_table = "pangeo_forge_migrations";
inline constexpr const char* steps_table = "pangeo_forge_migration_steps";

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

// How a run treats a database that others are using.
struct LiveOptions {
    // How long a statement may wait for a lock (PostgreSQL's lock_timeout, SQLite's busy
    // timeout) before its revision is rolled back and tried again; zero waits without limit.
    std::chrono::milliseconds lock_timeout{2000};
    // PostgreSQL's statement_timeout for the run's statements; zero sets none.
    std::chrono::milliseconds statement_timeout{0};
    // Tries after the first when a lock wait ran out. The back-off before retry n is
    // retry_delay * 2^(n-1), at most max_retry_delay, scaled by a random factor in [0.5, 1.5)
    // so that several waiting processes do not come back at once.
    int lock_retries = 10;
    std::chrono::milliseconds retry_delay{500};
    std::chrono::milliseconds max_retry_delay{30'000};
    // The online rewrites of ddl.hpp (PostgreSQL); off runs every operation as written.
    bool online = true;
};

// A revision rolled back because a lock wait ran out, about to be tried again.
struct RetryReport {
    StepReport::Direction direction = StepReport::Direction::upgrade;
    std::string revision;
    std::vector<std::string> down_revisions;
    std::string step;  // "step 1 of 2, add_column reciperun.colour"
    int retry = 0;     // 1 for the first retry
    int retries = 0;   // LiveOptions::lock_retries
    std::chrono::milliseconds delay{};
};

// "Lock wait timed out in upgrade 3b96e7fb9cbd -> b51d1daaff02 (step 2 of 2, create_index ...);
// retry 1 of 10 in 0.6 s".
std::string describe(const RetryReport& retry);

// A revision whose first steps are applied and recorded, and the rest not (a run stopped
// between the steps of an online rewrite).
struct PartlyApplied {
    std::string revision;
    StepReport::Direction direction = StepReport::Direction::upgrade;
    std::size_t steps_done = 0;
};

// "revision 6197f9c7aff6 is partly applied: a run stopped after 3 of its steps. Finish it
// first with `pangeo-forge db upgrade 6197f9c7aff6`".
std::string describe(const PartlyApplied& partly);

struct AppliedRecord {
    std::string revision;
    std::string checksum;
    std::string applied_at;
    double duration_ms = 0;
};

class Migrator {
public:
    Migrator(db::Database& database, RevisionGraph graph, LiveOptions options = {});

    const RevisionGraph& graph() const { return graph_; }
    const LiveOptions& options() const { return options_; }
    // Called before each retry, for a progress line.
    void on_retry(std::function<void(const RetryReport&)> notify) { on_retry_ = std::move(notify); }

    // The revision a stopped run left partly applied, if any.
    std::optional<PartlyApplied> partly_applied();

    // The revisions the version table holds (none for a database never migrated).
    std::vector<std::string> current();

    std::vector<StepReport> upgrade(const std::string& target, const Progress& progress = {});
    std::vector<StepReport> downgrade(const std::string& target, const Progress& progress = {});

    // Writes the version table without running any migration: `target` replaces the heads on
    // its line and the other branches' heads stay, as Alembic's stamp does. Without `purge` it
    // refuses a database at a revision these migrations do not know; with it, it clears the
    // table first. It also forgets a revision a run left partly applied: whoever stamps says
    // where the database stands, having finished or undone those steps by hand.
    void stamp(const std::string& target, bool purge = false);

    std::vector<AppliedRecord> applied();
    // One line per applied revision whose file changed after it was applied.
    std::vector<std::string> changed_files();

    // The database is at the head(s) of the migrations.
    bool at_head();

private:
    std::vector<StepReport> run(const std::string& target, StepReport::Direction direction, const Progress& progress);

    db::Database& database_;
    RevisionGraph graph_;
    LiveOptions options_;
    std::function<void(const RetryReport&)> on_retry_;
};

// The guard of code that needs the tables: throws MigrationError saying which revision the
// database is at and to run `pangeo-forge db upgrade head` unless it is at head.
void require_head(db::Database& database, const RevisionGraph& graph);

// Offline mode: the SQL script that moves a database from `from` ("base" or revision
// heads) to `to`, for `dialect`, without touching any database. The schema the script
// starts from is the one the migrations up to `from` build. The script sets the lock
// timeouts of `options` at its start and shows the online rewrites with their own
// transactions; it cannot retry, nor record the steps of a revision as they end.
std::string offline_upgrade_sql(const RevisionGraph& graph, const std::string& from, const std::string& to,
                                const db::Dialect& dialect, const LiveOptions& options = {});
std::string offline_downgrade_sql(const RevisionGraph& graph, const std::string& from, const std::string& to,
                                  const db::Dialect& dialect, const LiveOptions& options = {});

}  // namespace pangeo_forge::migrate
