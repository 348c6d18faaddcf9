#include "pangeo_forge/migrate/migrator.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>

#include "db/soci_access.hpp"
#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "pangeo_forge/model/timestamp.hpp"
#include "pangeo_forge/version.hpp"
#include "support/text.hpp"

namespace pangeo_forge::migrate {
namespace {

using detail::joined;

using Clock = std::chrono::steady_clock;
using Direction = StepReport::Direction;
using db::Backend;
using db::Connection;
using db::Dialect;

std::string heads_text(const std::vector<std::string>& heads) { return heads.empty() ? "base" : joined(heads); }

bool same_set(std::vector<std::string> a, std::vector<std::string> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
}

// --- the engine's tables ------------------------------------------------------------

// Exactly as Alembic creates it, so either tool reads what the other wrote.
std::string version_table_sql(const Dialect& dialect) {
    return "CREATE TABLE IF NOT EXISTS " + dialect.quote(version_table) + " (\n    " + dialect.quote("version_num") +
           " VARCHAR(32) NOT NULL,\n    CONSTRAINT " + dialect.quote("alembic_version_pkc") + " PRIMARY KEY (" +
           dialect.quote("version_num") + ")\n)";
}

std::string record_table_sql(const Dialect& dialect) {
    return "CREATE TABLE IF NOT EXISTS " + dialect.quote(record_table) + " (\n    " + dialect.quote("revision") +
           " VARCHAR(32) NOT NULL,\n    " + dialect.quote("checksum") + " VARCHAR(64) NOT NULL,\n    " +
           dialect.quote("applied_at") + " VARCHAR(32) NOT NULL,\n    " + dialect.quote("duration_ms") + " " +
           dialect.type_name(schema::Type{schema::TypeKind::floating, {}}) + " NOT NULL,\n    CONSTRAINT " +
           dialect.quote(std::string(record_table) + "_pkey") + " PRIMARY KEY (" + dialect.quote("revision") + ")\n)";
}

bool has_table(Connection& connection, const std::string& name) {
    auto names = db::table_names(connection);
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> read_heads(Connection& connection) {
    if (!has_table(connection, version_table)) return {};
    return db::translating_errors(connection, "cannot read the version table", [&] {
        std::vector<std::string> heads;
        std::string head;
        soci::statement query = (db::soci_session(connection).prepare
                                     << "SELECT version_num FROM " + connection.dialect().quote(version_table) +
                                            " ORDER BY version_num",
                                 soci::into(head));
        query.execute();
        while (query.fetch()) heads.push_back(head);
        return heads;
    });
}

// The version-table rows to change to go from `before` to `after`: an update where one
// head replaces another (as Alembic does), deletes and inserts otherwise.
struct VersionChange {
    std::vector<std::pair<std::string, std::string>> updates;  // from, to
    std::vector<std::string> deletes;
    std::vector<std::string> inserts;
};

VersionChange version_change(const std::vector<std::string>& before, const std::vector<std::string>& after) {
    VersionChange change;
    for (const auto& id : before) {
        if (std::find(after.begin(), after.end(), id) == after.end()) change.deletes.push_back(id);
    }
    for (const auto& id : after) {
        if (std::find(before.begin(), before.end(), id) == before.end()) change.inserts.push_back(id);
    }
    if (change.deletes.size() == 1 && change.inserts.size() == 1) {
        change.updates.emplace_back(change.deletes.front(), change.inserts.front());
        change.deletes.clear();
        change.inserts.clear();
    }
    return change;
}

void write_version_change(Connection& connection, const VersionChange& change) {
    const std::string table = connection.dialect().quote(version_table);
    soci::session& session = db::soci_session(connection);
    for (const auto& [from, to] : change.updates) {
        session << "UPDATE " + table + " SET version_num = :to WHERE version_num = :from", soci::use(to),
            soci::use(from);
    }
    for (const auto& id : change.deletes) session << "DELETE FROM " + table + " WHERE version_num = :id", soci::use(id);
    for (const auto& id : change.inserts) {
        session << "INSERT INTO " + table + " (version_num) VALUES (:id)", soci::use(id);
    }
}

// Revision ids are letters, digits and underscores (checked on load): safe as literals.
std::string version_change_sql(const VersionChange& change, const Dialect& dialect) {
    const std::string table = dialect.quote(version_table);
    std::string sql;
    for (const auto& [from, to] : change.updates) {
        sql += "UPDATE " + table + " SET version_num = '" + to + "' WHERE version_num = '" + from + "';\n\n";
    }
    for (const auto& id : change.deletes) sql += "DELETE FROM " + table + " WHERE version_num = '" + id + "';\n\n";
    for (const auto& id : change.inserts) sql += "INSERT INTO " + table + " (version_num) VALUES ('" + id + "');\n\n";
    return sql;
}

void write_record(Connection& connection, const Revision& revision, double duration_ms) {
    const std::string table = connection.dialect().quote(record_table);
    std::string applied_at =
        model::format_timestamp(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
    soci::session& session = db::soci_session(connection);
    session << "DELETE FROM " + table + " WHERE revision = :id", soci::use(revision.id);
    session << "INSERT INTO " + table + " (revision, checksum, applied_at, duration_ms) "
                                        "VALUES (:id, :checksum, :applied_at, :duration)",
        soci::use(revision.id), soci::use(revision.checksum), soci::use(applied_at), soci::use(duration_ms);
}

void delete_record(Connection& connection, const std::string& id) {
    db::soci_session(connection) << "DELETE FROM " + connection.dialect().quote(record_table) + " WHERE revision = :id",
        soci::use(id);
}

// SQLite checks foreign keys only when told: with enforcement off during a rebuild, this
// is where a revision that left a dangling reference is caught, before it commits. Only
// the tables the revision touched, and those that refer to them, are checked: a bad row
// elsewhere is not this revision's doing.
void check_foreign_keys(Connection& connection, const std::set<std::string>& touched, const schema::Schema& after) {
    std::set<std::string> tables;
    for (const auto& table : after.tables) {
        bool refers = std::any_of(table.foreign_keys.begin(), table.foreign_keys.end(),
                                  [&](const schema::ForeignKey& key) { return touched.count(key.referred_table); });
        if (touched.count(table.name) || refers) tables.insert(table.name);
    }
    db::translating_errors(connection, "cannot check the foreign keys", [&] {
        for (const auto& name : tables) {
            std::string table, parent;
            long long rowid = 0;
            soci::indicator rowid_indicator = soci::i_ok;
            soci::statement check = (db::soci_session(connection).prepare
                                         << "PRAGMA foreign_key_check(" + connection.dialect().quote(name) + ")",
                                     soci::into(table), soci::into(rowid, rowid_indicator), soci::into(parent));
            check.execute();
            if (check.fetch()) {
                throw MigrationError("it leaves a row of " + table +
                                     (rowid_indicator == soci::i_ok ? " (rowid " + std::to_string(rowid) + ")" : "") +
                                     " referring to a row of " + parent + " that does not exist");
            }
        }
    });
}

// Holds what a run needs for its whole length. PostgreSQL: an advisory lock, per schema,
// so that concurrent runs take turns. SQLite: foreign-key enforcement off (a table rebuild
// drops and re-creates tables that others refer to; each revision checks the keys before
// it commits) and a long busy timeout, so that a second run waits out a long first one.
class RunGuard {
public:
    explicit RunGuard(Connection& connection) : connection_(connection) {
        soci::session& session = db::soci_session(connection);
        db::translating_errors(connection, "cannot prepare the migration run", [&] {
            if (connection.backend() == Backend::postgresql) {
                // The key is taken once: a revision may change current_schema(), and the
                // unlock must name the lock that was taken.
                session << "SELECT hashtext('pangeo_forge migrate ' || current_schema())", soci::into(lock_key_);
                session << "SELECT pg_advisory_lock(:key)", soci::use(lock_key_);
                return;
            }
            session << "PRAGMA busy_timeout", soci::into(saved_busy_timeout_);
            try {
                session << "PRAGMA foreign_keys = OFF";
                session << "PRAGMA busy_timeout = 600000";
            } catch (...) {
                restore();
                throw;
            }
        });
    }

    ~RunGuard() {
        try {
            restore();
        } catch (...) {
            // The connection broke: the server released the lock with the session, and
            // the pool does not lend a broken connection again.
        }
    }

    RunGuard(const RunGuard&) = delete;
    RunGuard& operator=(const RunGuard&) = delete;

private:
    void restore() {
        soci::session& session = db::soci_session(connection_);
        if (connection_.backend() == Backend::postgresql) {
            session << "SELECT pg_advisory_unlock(:key)", soci::use(lock_key_);
        } else {
            session << "PRAGMA foreign_keys = ON";
            session << "PRAGMA busy_timeout = " + std::to_string(saved_busy_timeout_);
        }
    }

    Connection& connection_;
    int lock_key_ = 0;
    int saved_busy_timeout_ = 5000;
};

void ensure_engine_tables(Connection& connection) {
    db::Transaction transaction(connection, db::Transaction::Mode::immediate);
    connection.execute(version_table_sql(connection.dialect()));
    connection.execute(record_table_sql(connection.dialect()));
    transaction.commit();
}

void check_known(const RevisionGraph& graph, const std::vector<std::string>& heads) {
    for (const auto& head : heads) {
        if (!graph.contains(head)) {
            throw MigrationError("the database is at revision " + head + ", which is not among the migrations in " +
                                 graph.folder().string() +
                                 ": use the migrations that built this database, or overwrite the version table "
                                 "with `pangeo-forge db stamp --purge REVISION`");
        }
    }
}

std::string failure_message(const Revision& revision, Direction direction, std::size_t index, std::size_t count,
                            const std::string& step, const std::string& why, const std::vector<std::string>& heads) {
    return "revision " + revision.id + " (" + revision.message + ") failed in " +
           (direction == Direction::upgrade ? "upgrade" : "downgrade") + " step " + std::to_string(index + 1) +
           " of " + std::to_string(count) + ", " + step + ": " + why + ". Nothing of it was applied: the database "
           "stays at " + heads_text(heads) + ".";
}

// Runs one revision in its own transaction. Returns nothing when another run applied (or
// undid) it in the meantime.
std::optional<StepReport> run_revision(Connection& connection, const RevisionGraph& graph, const std::string& id,
                                       Direction direction) {
    auto start = Clock::now();
    db::Transaction transaction(connection, db::Transaction::Mode::immediate);
    auto heads = read_heads(connection);  // again, inside the lock
    check_known(graph, heads);
    const auto below = graph.ancestry(heads);  // what the database holds, heads and all beneath them
    bool applied = below.count(id) != 0;
    if (direction == Direction::upgrade ? applied
                                        : std::find(heads.begin(), heads.end(), id) == heads.end()) {
        return std::nullopt;
    }
    const Revision& revision = graph.get(id);
    if (direction == Direction::upgrade) {
        // Another run may have undone a parent since this one made its plan.
        for (const auto& parent : graph.ancestry({id})) {
            if (parent != id && !below.count(parent)) {
                throw MigrationError("revision " + id + " cannot be applied: " + parent +
                                     ", below it, is not applied (another run changed the database meanwhile); "
                                     "run the upgrade again");
            }
        }
    }
    const auto& operations = direction == Direction::upgrade ? revision.upgrade : revision.downgrade;
    std::vector<Step> steps;
    auto schema = db::reflect(connection, engine_tables());
    try {
        steps = render(operations, schema, connection.dialect());
    } catch (const MigrationError& error) {
        throw MigrationError(failure_message(revision, direction, 0, operations.size(), "planning", error.what(), heads));
    }
    for (std::size_t i = 0; i < steps.size(); ++i) {
        try {
            for (const auto& statement : steps[i].statements) connection.execute(statement);
        } catch (const DatabaseError& error) {
            throw MigrationError(
                failure_message(revision, direction, i, steps.size(), steps[i].description, error.what(), heads));
        }
    }
    auto after = direction == Direction::upgrade ? graph.heads_after_upgrade(heads, id)
                                                 : graph.heads_after_downgrade(heads, id);
    db::translating_errors(connection, "cannot update the version table", [&] {
        write_version_change(connection, version_change(heads, after));
        if (direction == Direction::upgrade) {
            write_record(connection, revision, std::chrono::duration<double, std::milli>(Clock::now() - start).count());
        } else {
            delete_record(connection, id);
        }
    });
    if (connection.backend() == Backend::sqlite) {
        std::set<std::string> touched;
        for (const auto& operation : operations) {
            touched.insert(table_of(operation));
            if (const auto* rename = std::get_if<RenameTable>(&operation)) touched.insert(rename->new_name);
        }
        try {
            check_foreign_keys(connection, touched, schema);
        } catch (const Error& error) {
            throw MigrationError("revision " + revision.id + " (" + revision.message + ") failed its foreign-key " +
                                 "check: " + error.what() + ". Nothing of it was applied: the database stays at " +
                                 heads_text(heads) + ".");
        }
    }
    transaction.commit();
    return StepReport{direction, heads, after, id, revision.message, Clock::now() - start};
}

template <class Plan>
std::vector<StepReport> run_plan(db::Database& database, const RevisionGraph& graph, const std::string& target,
                                 Direction direction, Plan plan_for, const Progress& progress) {
    auto lease = database.acquire();
    RunGuard guard(*lease);
    ensure_engine_tables(*lease);
    auto heads = read_heads(*lease);
    check_known(graph, heads);
    auto targets = graph.resolve_target(target, heads);
    std::vector<StepReport> reports;
    for (const auto& id : plan_for(heads, targets)) {
        if (auto report = run_revision(*lease, graph, id, direction)) {
            if (progress) progress(*report);
            reports.push_back(std::move(*report));
        }
    }
    return reports;
}

// The schema that the migrations up to `heads` build, for offline scripts.
schema::Schema schema_at(const RevisionGraph& graph, const std::vector<std::string>& heads, const Dialect& dialect) {
    schema::Schema schema;
    auto wanted = graph.ancestry(heads);
    for (const auto& id : graph.topological_order()) {
        if (wanted.count(id)) render(graph.get(id).upgrade, schema, dialect);
    }
    return schema;
}

std::string offline_sql(const RevisionGraph& graph, const std::string& from, const std::string& to,
                        const Dialect& dialect, Direction direction) {
    std::vector<std::string> heads = from == "base" ? std::vector<std::string>{} : graph.resolve_target(from, {});
    auto targets = graph.resolve_target(to, heads);
    auto plan = direction == Direction::upgrade ? graph.upgrade_plan(heads, targets)
                                                : graph.downgrade_plan(heads, targets);
    auto schema = schema_at(graph, heads, dialect);
    const bool sqlite = dialect.backend() == Backend::sqlite;
    std::string sql = "-- pangeo_forge migration script, " + std::string(dialect.name()) + ": " +
                      (direction == Direction::upgrade ? "upgrade " : "downgrade ") + heads_text(heads) + " -> " +
                      heads_text(targets) + "\n\n";
    if (sqlite) sql += "PRAGMA foreign_keys = OFF;\n\n";
    sql += version_table_sql(dialect) + ";\n\n";
    for (const auto& id : plan) {
        const Revision& revision = graph.get(id);
        auto after = direction == Direction::upgrade ? graph.heads_after_upgrade(heads, id)
                                                     : graph.heads_after_downgrade(heads, id);
        sql += "-- Running " + std::string(direction == Direction::upgrade ? "upgrade " : "downgrade ") +
               (direction == Direction::upgrade ? heads_text(heads) + " -> " + id : id + " -> " + heads_text(after)) +
               ", " + revision.message + "\n\nBEGIN;\n\n";
        const auto& operations = direction == Direction::upgrade ? revision.upgrade : revision.downgrade;
        for (const auto& step : render(operations, schema, dialect)) {
            for (const auto& statement : step.statements) sql += statement + ";\n\n";
        }
        sql += version_change_sql(version_change(heads, after), dialect);
        sql += "COMMIT;\n\n";
        heads = after;
    }
    if (sqlite) sql += "PRAGMA foreign_keys = ON;\n";
    return sql;
}

}  // namespace

const std::vector<std::string>& engine_tables() {
    static const std::vector<std::string> tables{version_table, record_table};
    return tables;
}

std::filesystem::path bundled_migrations() {
    if (const char* configured = std::getenv("PANGEO_FORGE_MIGRATIONS"); configured != nullptr && *configured) {
        return configured;
    }
    // The Python package ships the migrations in a folder beside this library.
    if (auto beside = library_directory() / "migrations"; std::filesystem::is_directory(beside)) return beside;
    if (std::filesystem::is_directory(PANGEO_FORGE_SOURCE_MIGRATIONS)) return PANGEO_FORGE_SOURCE_MIGRATIONS;
    return PANGEO_FORGE_BUNDLED_MIGRATIONS;
}

std::string describe(const StepReport& step) {
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.1f ms", step.duration.count());
    std::string move = step.direction == Direction::upgrade
                           ? "upgrade " + heads_text(step.heads_before) + " -> " + step.revision
                           : "downgrade " + step.revision + " -> " + heads_text(step.heads_after);
    return "Running " + move + ", " + step.message + " (" + duration + ")";
}

Migrator::Migrator(db::Database& database, RevisionGraph graph) : database_(database), graph_(std::move(graph)) {}

std::vector<std::string> Migrator::current() {
    auto lease = database_.acquire();
    return read_heads(*lease);
}

std::vector<StepReport> Migrator::upgrade(const std::string& target, const Progress& progress) {
    return run_plan(
        database_, graph_, target, Direction::upgrade,
        [&](const auto& heads, const auto& targets) { return graph_.upgrade_plan(heads, targets); }, progress);
}

std::vector<StepReport> Migrator::downgrade(const std::string& target, const Progress& progress) {
    return run_plan(
        database_, graph_, target, Direction::downgrade,
        [&](const auto& heads, const auto& targets) { return graph_.downgrade_plan(heads, targets); }, progress);
}

void Migrator::stamp(const std::string& target, bool purge) {
    auto lease = database_.acquire();
    RunGuard guard(*lease);
    ensure_engine_tables(*lease);
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    auto heads = read_heads(*lease);
    if (!purge) check_known(graph_, heads);
    auto targets = graph_.resolve_target(target, purge ? std::vector<std::string>{} : heads);
    db::translating_errors(*lease, "cannot write the version table", [&] {
        if (purge) {
            lease->execute("DELETE FROM " + lease->dialect().quote(version_table));
            heads.clear();
        }
        write_version_change(*lease, version_change(heads, targets));
    });
    transaction.commit();
}

std::vector<AppliedRecord> Migrator::applied() {
    auto lease = database_.acquire();
    if (!has_table(*lease, record_table)) return {};
    return db::translating_errors(*lease, "cannot read the migration record", [&] {
        std::vector<AppliedRecord> records;
        AppliedRecord record;
        soci::statement query = (db::soci_session(*lease).prepare
                                     << "SELECT revision, checksum, applied_at, duration_ms FROM " +
                                            lease->dialect().quote(record_table) + " ORDER BY applied_at, revision",
                                 soci::into(record.revision), soci::into(record.checksum),
                                 soci::into(record.applied_at), soci::into(record.duration_ms));
        query.execute();
        while (query.fetch()) records.push_back(record);
        return records;
    });
}

std::vector<std::string> Migrator::changed_files() {
    std::vector<std::string> warnings;
    for (const auto& record : applied()) {
        if (!graph_.contains(record.revision)) continue;
        const Revision& revision = graph_.get(record.revision);
        if (revision.checksum != record.checksum) {
            warnings.push_back("revision " + record.revision + " (" + revision.path.filename().string() +
                               ") changed after it was applied on " + record.applied_at +
                               ": the database holds what the earlier file did; put changes in a new revision");
        }
    }
    return warnings;
}

bool Migrator::at_head() { return same_set(current(), graph_.heads()); }

void require_head(db::Database& database, const RevisionGraph& graph) {
    auto lease = database.acquire();
    auto heads = read_heads(*lease);
    if (same_set(heads, graph.heads())) return;
    std::string where = "the database " + db::redacted(database.url());
    throw MigrationError(
        (heads.empty() ? where + " has no migration applied"
                       : where + " is at revision " + joined(heads) + ", not at the head " + joined(graph.heads())) +
        ": run `pangeo-forge db upgrade head` first");
}

std::string offline_upgrade_sql(const RevisionGraph& graph, const std::string& from, const std::string& to,
                                const Dialect& dialect) {
    return offline_sql(graph, from, to, dialect, Direction::upgrade);
}

std::string offline_downgrade_sql(const RevisionGraph& graph, const std::string& from, const std::string& to,
                                  const Dialect& dialect) {
    return offline_sql(graph, from, to, dialect, Direction::downgrade);
}

}  // namespace pangeo_forge::migrate
