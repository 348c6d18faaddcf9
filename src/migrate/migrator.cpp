#include "pangeo_forge/migrate/migrator.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <functional>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/db/migration_run.hpp"
#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "pangeo_forge/version.hpp"
#include "support/text.hpp"
#include "support/utc_time.hpp"

namespace pangeo_forge::migrate {
namespace {

using detail::joined;

using Clock = std::chrono::steady_clock;
using Direction = StepReport::Direction;
using db::ColumnType;
using db::Connection;
using db::Dialect;
using db::Value;

std::string heads_text(const std::vector<std::string>& heads) { return heads.empty() ? "base" : joined(heads); }

bool same_set(std::vector<std::string> a, std::vector<std::string> b) {
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    return a == b;
}

// --- the engine's tables, declared as schema values -----------------------------------

schema::Column column(std::string name, schema::Type type) { return {std::move(name), type, false, std::nullopt, false}; }

schema::Type varchar(int length) { return {schema::TypeKind::varchar, length}; }

// Exactly as Alembic creates it, so either tool reads what the other wrote.
schema::Table version_table_schema() {
    schema::Table table;
    table.name = version_table;
    table.columns = {column("version_num", varchar(32))};
    table.primary_key = {"alembic_version_pkc", {"version_num"}};
    return table;
}

schema::Table record_table_schema() {
    schema::Table table;
    table.name = record_table;
    table.columns = {column("revision", varchar(32)), column("checksum", varchar(64)),
                     column("applied_at", varchar(32)), column("duration_ms", {schema::TypeKind::floating, {}})};
    table.primary_key = {schema::primary_key_name(record_table), {"revision"}};
    return table;
}

// One statement with its parameters: run as such on a database, written with the values
// inlined into an offline script.
struct Statement {
    std::string sql;
    std::vector<Value> parameters;
};

std::vector<Statement> engine_tables_statements(const Dialect& dialect) {
    std::vector<Statement> statements;
    for (const auto& table : {version_table_schema(), record_table_schema()}) {
        for (auto& sql : create_table_statements(table, dialect, true)) statements.push_back({std::move(sql), {}});
    }
    return statements;
}

// The version-table rows to change to go from `before` to `after`: an update where one
// head replaces another (as Alembic does), deletes and inserts otherwise.
std::vector<Statement> version_change(const std::vector<std::string>& before, const std::vector<std::string>& after,
                                      const Dialect& dialect) {
    std::vector<std::string> deletes, inserts;
    for (const auto& id : before) {
        if (std::find(after.begin(), after.end(), id) == after.end()) deletes.push_back(id);
    }
    for (const auto& id : after) {
        if (std::find(before.begin(), before.end(), id) == before.end()) inserts.push_back(id);
    }
    const std::string table = dialect.quote(version_table);
    std::vector<Statement> statements;
    if (deletes.size() == 1 && inserts.size() == 1) {
        statements.push_back({"UPDATE " + table + " SET version_num = :to WHERE version_num = :from",
                              {inserts.front(), deletes.front()}});
        return statements;
    }
    for (const auto& id : deletes) statements.push_back({"DELETE FROM " + table + " WHERE version_num = :id", {id}});
    for (const auto& id : inserts) {
        statements.push_back({"INSERT INTO " + table + " (version_num) VALUES (:id)", {id}});
    }
    return statements;
}

// The record of a revision applied (its file's checksum, when, how long it took), or its
// removal when the revision is undone.
// `applied_at` is the time to record, or none for the database's clock when the statement
// runs (an offline script).
std::vector<Statement> record_change(const Revision& revision, Direction direction, double duration_ms,
                                     const std::optional<std::string>& applied_at, const Dialect& dialect) {
    const std::string table = dialect.quote(record_table);
    std::vector<Statement> statements{{"DELETE FROM " + table + " WHERE revision = :id", {revision.id}}};
    if (direction == Direction::upgrade) {
        Statement insert{"INSERT INTO " + table + " (revision, checksum, applied_at, duration_ms) VALUES (:id, :checksum, " +
                             (applied_at ? ":applied_at" : dialect.utc_now_text_sql()) + ", :duration)",
                         {revision.id, revision.checksum}};
        if (applied_at) insert.parameters.emplace_back(*applied_at);
        insert.parameters.emplace_back(duration_ms);
        statements.push_back(std::move(insert));
    }
    return statements;
}

void create_engine_tables(Connection& connection) {
    db::Transaction transaction(connection, db::Transaction::Mode::immediate);
    for (const auto& statement : engine_tables_statements(connection.dialect())) connection.execute(statement.sql);
    transaction.commit();
}

// The heads in the version table, which must exist.
std::vector<std::string> select_heads(Connection& connection) {
    std::vector<std::string> heads;
    for (auto& row : db::query(connection,
                               "SELECT version_num FROM " + connection.dialect().quote(version_table) +
                                   " ORDER BY version_num",
                               {ColumnType::text})) {
        heads.push_back(row.take_text(0));
    }
    return heads;
}

std::vector<std::string> read_heads(Connection& connection) {
    if (!db::has_table(connection, version_table)) return {};
    return select_heads(connection);
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

// --- where a plan runs: a database, or an offline script ------------------------------

// The runtime hands a target each revision between begin() and commit(); the target
// either runs the statements or writes them down.
class Target {
public:
    virtual ~Target() = default;
    virtual const Dialect& dialect() const = 0;
    // Opens the revision's transaction and returns the heads it starts from.
    virtual std::vector<std::string> begin() = 0;
    // The schema the revision starts from.
    virtual schema::Schema schema() = 0;
    virtual void run(const Statement& statement) = 0;
    // Closes the revision's transaction; `touched` are the tables its operations changed,
    // `heads` and `after` where they leave the target (what a script starts the next
    // revision from; a database reads them back).
    virtual void commit(const std::set<std::string>& touched, const std::vector<std::string>& heads,
                        const schema::Schema& after) = 0;
    // Leaves a revision that begin() opened and that turned out to have nothing to do.
    virtual void skip() = 0;
    // The revision ran raw SQL: the schema after it is not known from its operations.
    virtual void forget_schema() {}
    // How long the revision took to run, and when, for its record (no time: the database's
    // clock as the statement runs).
    virtual double elapsed_ms(Clock::time_point start) const = 0;
    virtual std::optional<std::string> applied_at() const = 0;
};

class DatabaseTarget : public Target {
public:
    DatabaseTarget(Connection& connection, const RevisionGraph& graph) : connection_(connection), graph_(graph) {}

    const Dialect& dialect() const override { return connection_.dialect(); }

    std::vector<std::string> begin() override {
        transaction_.emplace(connection_, db::Transaction::Mode::immediate);
        heads_ = select_heads(connection_);  // again, inside the lock; run_plan created the table
        check_known(graph_, heads_);
        return heads_;
    }

    // Reflected once per run: after that, the schema the previous revision left, as long as
    // the database is still where that revision left it. Another run that came between
    // moved the heads; raw SQL may have changed the schema unseen: both reflect again.
    schema::Schema schema() override {
        if (!left_ || left_->heads != heads_) left_ = Left{heads_, db::reflect(connection_, engine_tables())};
        return left_->schema;
    }

    void run(const Statement& statement) override {
        if (statement.parameters.empty()) {
            connection_.execute(statement.sql);
        } else {
            db::run(connection_, statement.sql, statement.parameters);
        }
    }

    void commit(const std::set<std::string>& touched, const std::vector<std::string>& heads,
                const schema::Schema& after) override {
        db::check_foreign_keys(connection_, tables_to_check(touched, after));
        transaction_->commit();
        transaction_.reset();
        left_ = Left{heads, after};
    }

    void forget_schema() override { left_.reset(); }

    void skip() override { transaction_.reset(); }

    double elapsed_ms(Clock::time_point start) const override {
        return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    }
    // This process's clock, to the microsecond: records of one run keep their order.
    std::optional<std::string> applied_at() const override { return detail::iso_utc_now(); }

private:
    // Only the tables the revision touched, and those that refer to them: a bad row
    // elsewhere is not this revision's doing.
    static std::vector<std::string> tables_to_check(const std::set<std::string>& touched, const schema::Schema& after) {
        std::vector<std::string> tables;
        for (const auto& table : after.tables) {
            bool refers = std::any_of(table.foreign_keys.begin(), table.foreign_keys.end(),
                                      [&](const schema::ForeignKey& key) { return touched.count(key.referred_table); });
            if (touched.count(table.name) || refers) tables.push_back(table.name);
        }
        return tables;
    }

    // Where the last revision this run committed left the database.
    struct Left {
        std::vector<std::string> heads;
        schema::Schema schema;
    };

    Connection& connection_;
    const RevisionGraph& graph_;
    std::optional<db::Transaction> transaction_;
    std::vector<std::string> heads_;  // those begin() read
    std::optional<Left> left_;
};

class ScriptTarget : public Target {
public:
    ScriptTarget(const Dialect& dialect, std::vector<std::string> heads, schema::Schema schema)
        : dialect_(dialect), heads_(std::move(heads)), schema_(std::move(schema)) {}

    const Dialect& dialect() const override { return dialect_; }
    // BEGIN is written with the revision's first statement, after the line that announces it.
    std::vector<std::string> begin() override {
        in_transaction_ = true;
        begun_ = false;
        return heads_;
    }
    schema::Schema schema() override { return schema_; }
    void run(const Statement& statement) override {
        open_transaction();
        // Statements without parameters (DDL, raw SQL) go as they are, as they do to a database.
        script_ += (statement.parameters.empty() ? statement.sql
                                                 : dialect_.inline_parameters(statement.sql, statement.parameters)) +
                   ";\n\n";
    }
    void commit(const std::set<std::string>&, const std::vector<std::string>& heads,
                const schema::Schema& after) override {
        open_transaction();
        script_ += "COMMIT;\n\n";
        in_transaction_ = false;
        heads_ = heads;
        schema_ = after;
    }
    void skip() override { in_transaction_ = false; }
    // Writing a script is not running it: its records say 0 ms.
    double elapsed_ms(Clock::time_point) const override { return 0; }
    std::optional<std::string> applied_at() const override { return std::nullopt; }

    void write(const std::string& text) { script_ += text; }
    const std::string& script() const { return script_; }

private:
    void open_transaction() {
        if (in_transaction_ && !begun_) script_ += "BEGIN;\n\n";
        begun_ = true;
    }

    Dialect dialect_;
    std::vector<std::string> heads_;
    schema::Schema schema_;
    std::string script_;
    bool in_transaction_ = false;
    bool begun_ = false;
};

std::string step_line(Direction direction, const std::vector<std::string>& down_revisions, const std::string& id) {
    return direction == Direction::upgrade ? "upgrade " + heads_text(down_revisions) + " -> " + id
                                           : "downgrade " + id + " -> " + heads_text(down_revisions);
}

// The one loop of the engine: runs revision `id` on `target` in a transaction of its own,
// with its version-table and record changes. Returns nothing when the target already
// holds the revision (or, going down, no longer does): another run got there first.
std::optional<StepReport> run_revision(Target& target, const RevisionGraph& graph, const std::string& id,
                                       Direction direction, const std::function<void(const std::string&)>& announce = {}) {
    auto start = Clock::now();
    auto heads = target.begin();
    const auto below = graph.ancestry(heads);  // what the target holds, heads and all beneath them
    bool applied = below.count(id) != 0;
    if (direction == Direction::upgrade ? applied : std::find(heads.begin(), heads.end(), id) == heads.end()) {
        target.skip();
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
    auto after = direction == Direction::upgrade ? graph.heads_after_upgrade(heads, id)
                                                 : graph.heads_after_downgrade(heads, id);
    if (announce) announce(step_line(direction, revision.down_revisions, id) + ", " + revision.message);
    const auto& operations = direction == Direction::upgrade ? revision.upgrade : revision.downgrade;
    auto schema = target.schema();
    std::vector<Step> steps;
    try {
        steps = render(operations, schema, target.dialect());
    } catch (const MigrationError& error) {
        throw MigrationError(failure_message(revision, direction, 0, operations.size(), "planning", error.what(), heads));
    }
    for (std::size_t i = 0; i < steps.size(); ++i) {
        try {
            for (const auto& statement : steps[i].statements) target.run({statement, {}});
        } catch (const DatabaseError& error) {
            throw MigrationError(
                failure_message(revision, direction, i, steps.size(), steps[i].description, error.what(), heads));
        }
    }
    try {
        const double duration_ms = target.elapsed_ms(start);
        for (const auto& statement : version_change(heads, after, target.dialect())) target.run(statement);
        for (const auto& statement : record_change(revision, direction, duration_ms, target.applied_at(), target.dialect())) {
            target.run(statement);
        }
        std::set<std::string> touched, created;
        bool raw_sql = false;
        for (const auto& operation : operations) {
            touched.insert(table_of(operation));
            if (const auto* rename = std::get_if<RenameTable>(&operation)) touched.insert(rename->new_name);
            if (const auto* create = std::get_if<CreateTable>(&operation)) created.insert(create->table.name);
            // Raw SQL may have changed any table's rows.
            if (std::holds_alternative<Execute>(operation)) {
                raw_sql = true;
                for (const auto& table : schema.tables) touched.insert(table.name);
            }
        }
        touched.erase("");
        // A table the revision created has no row to check, raw SQL aside.
        if (!raw_sql) {
            for (const auto& name : created) touched.erase(name);
        }
        target.commit(touched, after, schema);
        if (raw_sql) target.forget_schema();
    } catch (const Error& error) {
        throw MigrationError("revision " + revision.id + " (" + revision.message + ") failed before it committed: " +
                             error.what() + ". Nothing of it was applied: the database stays at " +
                             heads_text(heads) + ".");
    }
    return StepReport{direction, heads, after, id, revision.down_revisions, revision.message, Clock::now() - start};
}

// The revisions to apply (undo) to move a database at `heads` to `target`.
std::vector<std::string> plan_to(const RevisionGraph& graph, const std::string& target, Direction direction,
                                 const std::vector<std::string>& heads) {
    return direction == Direction::upgrade ? graph.upgrade_plan_to(target, heads)
                                           : graph.downgrade_plan_to(target, heads);
}

std::vector<StepReport> run_plan(db::Database& database, const RevisionGraph& graph, const std::string& target,
                                 Direction direction, const Progress& progress) {
    auto lease = database.acquire();
    db::MigrationRunLock lock(*lease);
    create_engine_tables(*lease);
    auto heads = read_heads(*lease);
    check_known(graph, heads);
    auto plan = plan_to(graph, target, direction, heads);
    DatabaseTarget database_target(*lease, graph);
    std::vector<StepReport> reports;
    for (const auto& id : plan) {
        if (auto report = run_revision(database_target, graph, id, direction)) {
            if (progress) progress(*report);
            reports.push_back(std::move(*report));
        }
    }
    return reports;
}

// An offline upgrade FROM:TO whose TO is below FROM would print an empty script: say so.
void check_goes_up(const RevisionGraph& graph, const std::string& from, const std::string& to,
                   const std::vector<std::string>& heads, const std::vector<std::string>& targets) {
    auto below_from = graph.ancestry(heads);
    bool down = (targets.empty() && !heads.empty()) ||
                std::any_of(targets.begin(), targets.end(), [&](const std::string& id) {
                    return below_from.count(id) && std::find(heads.begin(), heads.end(), id) == heads.end();
                });
    if (down) {
        throw MigrationError("the range " + from + ":" + to + " goes down: " + to + " is below " + from +
                             ". An upgrade script runs from the older revision to the newer (`upgrade " + to + ":" +
                             from + " --sql`); to undo, write `downgrade " + from + ":" + to + " --sql`");
    }
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
    if (direction == Direction::upgrade) check_goes_up(graph, from, to, heads, graph.resolve_target(to, heads));
    auto plan = plan_to(graph, to, direction, heads);
    auto end = heads;
    for (const auto& id : plan) {
        end = direction == Direction::upgrade ? graph.heads_after_upgrade(end, id) : graph.heads_after_downgrade(end, id);
    }
    ScriptTarget script(dialect, heads, schema_at(graph, heads, dialect));
    script.write("-- pangeo_forge migration script, " + std::string(dialect.name()) + ": " +
                 (direction == Direction::upgrade ? "upgrade " : "downgrade ") + heads_text(heads) + " -> " +
                 heads_text(end) + "\n\n");
    for (const auto& statement : dialect.migration_script_prologue()) script.write(statement + ";\n\n");
    for (const auto& statement : engine_tables_statements(dialect)) script.run(statement);
    for (const auto& id : plan) {
        run_revision(script, graph, id, direction,
                     [&](const std::string& line) { script.write("-- Running " + line + "\n\n"); });
    }
    for (const auto& statement : dialect.migration_script_epilogue()) script.write(statement + ";\n");
    return script.script();
}

}  // namespace

const std::vector<std::string>& engine_tables() {
    static const std::vector<std::string> tables{version_table, record_table};
    return tables;
}

MigrationsOrigin bundled_migrations_origin() {
    if (const char* configured = std::getenv("PANGEO_FORGE_MIGRATIONS"); configured != nullptr && *configured) {
        return MigrationsOrigin::environment;
    }
    // The Python package ships the migrations in a folder beside this library.
    if (std::filesystem::is_directory(library_directory() / "migrations")) return MigrationsOrigin::python_package;
    if (std::filesystem::is_directory(PANGEO_FORGE_SOURCE_MIGRATIONS)) return MigrationsOrigin::source_tree;
    return MigrationsOrigin::installed;
}

std::filesystem::path bundled_migrations() {
    switch (bundled_migrations_origin()) {
        case MigrationsOrigin::environment: return std::getenv("PANGEO_FORGE_MIGRATIONS");
        case MigrationsOrigin::python_package: return library_directory() / "migrations";
        case MigrationsOrigin::source_tree: return PANGEO_FORGE_SOURCE_MIGRATIONS;
        case MigrationsOrigin::installed: break;
    }
    return PANGEO_FORGE_BUNDLED_MIGRATIONS;
}

std::string describe(const StepReport& step) {
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.1f ms", step.duration.count());
    return "Running " + step_line(step.direction, step.down_revisions, step.revision) + ", " +
           step.message + " (" + duration + ")";
}

Migrator::Migrator(db::Database& database, RevisionGraph graph) : database_(database), graph_(std::move(graph)) {}

std::vector<std::string> Migrator::current() {
    auto lease = database_.acquire();
    return read_heads(*lease);
}

std::vector<StepReport> Migrator::upgrade(const std::string& target, const Progress& progress) {
    return run_plan(database_, graph_, target, Direction::upgrade, progress);
}

std::vector<StepReport> Migrator::downgrade(const std::string& target, const Progress& progress) {
    return run_plan(database_, graph_, target, Direction::downgrade, progress);
}

void Migrator::stamp(const std::string& target, bool purge) {
    auto lease = database_.acquire();
    db::MigrationRunLock lock(*lease);
    create_engine_tables(*lease);
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    auto heads = read_heads(*lease);
    if (!purge) check_known(graph_, heads);
    if (purge) {
        db::run(*lease, "DELETE FROM " + lease->dialect().quote(version_table));
        heads.clear();
    }
    auto after = graph_.heads_after_stamp_to(target, heads);
    for (const auto& statement : version_change(heads, after, lease->dialect())) {
        db::run(*lease, statement.sql, statement.parameters);
    }
    transaction.commit();
}

std::vector<AppliedRecord> Migrator::applied() {
    auto lease = database_.acquire();
    if (!db::has_table(*lease, record_table)) return {};
    std::vector<AppliedRecord> records;
    for (auto& row : db::query(*lease,
                               "SELECT revision, checksum, applied_at, duration_ms FROM " +
                                   lease->dialect().quote(record_table) + " ORDER BY applied_at, revision",
                               {ColumnType::text, ColumnType::text, ColumnType::text, ColumnType::real})) {
        records.push_back({row.take_text(0), row.take_text(1), row.take_text(2), row.real(3)});
    }
    return records;
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
