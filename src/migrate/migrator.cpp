#include "pangeo_forge/migrate/migrator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <thread>

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

// The steps of a revision that an earlier run applied and recorded, and the schema the
// revision started from, so that the rest renders as it would have then.
schema::Table steps_table_schema() {
    schema::Table table;
    table.name = steps_table;
    table.columns = {column("revision", varchar(32)), column("direction", varchar(16)),
                     column("steps_done", {schema::TypeKind::integer, {}}),
                     column("schema_before", {schema::TypeKind::text, {}}), column("checksum", varchar(64))};
    table.primary_key = {schema::primary_key_name(steps_table), {"revision"}};
    return table;
}

std::vector<Statement> engine_tables_statements(const Dialect& dialect) {
    std::vector<Statement> statements;
    for (const auto& table : {version_table_schema(), record_table_schema(), steps_table_schema()}) {
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

// Only when one is missing: creating them takes the write lock, which on SQLite another
// writer may hold as the run starts.
void create_engine_tables(Connection& connection) {
    const auto present = db::table_names(connection);
    if (std::all_of(engine_tables().begin(), engine_tables().end(), [&](const std::string& table) {
            return std::find(present.begin(), present.end(), table) != present.end();
        })) {
        return;
    }
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

// --- a revision's steps, and those an earlier run applied --------------------------------

std::string direction_name(Direction direction) { return direction == Direction::upgrade ? "upgrade" : "downgrade"; }

// What an earlier run of a revision applied and recorded (steps_table's row).
struct Recorded {
    std::string revision;
    Direction direction = Direction::upgrade;
    std::size_t steps_done = 0;
    schema::Schema schema_before;
    // The revision file's checksum when its steps were rendered: the steps done are counted
    // in that file's steps, which an edited file may number differently.
    std::string checksum;
};

std::optional<Recorded> read_recorded(Connection& connection) {
    auto row = db::query_one(connection,
                             "SELECT revision, direction, steps_done, schema_before, checksum FROM " +
                                 connection.dialect().quote(steps_table) + " ORDER BY revision",
                             {ColumnType::text, ColumnType::text, ColumnType::integer, ColumnType::text,
                              ColumnType::text});
    if (!row) return std::nullopt;
    Recorded recorded{row->text(0), row->text(1) == "downgrade" ? Direction::downgrade : Direction::upgrade,
                      static_cast<std::size_t>(row->integer(2)), {}, row->is_null(4) ? "" : row->text(4)};
    try {
        recorded.schema_before = schema::schema_from_json(nlohmann::json::parse(row->text(3)));
    } catch (const std::exception& error) {
        throw MigrationError("the record of revision " + recorded.revision + "'s applied steps in " + steps_table +
                             " is unreadable (" + error.what() + "): finish or undo its steps by hand, then "
                             "`pangeo-forge db stamp` the revision the database matches, which deletes the record");
    }
    return recorded;
}

// Replaces the record of `revision`'s applied steps: `steps_done` of them, from `before`.
std::vector<Statement> record_steps(const Revision& revision, Direction direction, std::size_t steps_done,
                                    const schema::Schema& before, const Dialect& dialect) {
    nlohmann::json schema_json;
    schema::to_json(schema_json, before);
    const std::string table = dialect.quote(steps_table);
    return {{"DELETE FROM " + table + " WHERE revision = :id", {revision.id}},
            {"INSERT INTO " + table + " (revision, direction, steps_done, schema_before, checksum) VALUES "
             "(:id, :direction, :steps_done, :schema_before, :checksum)",
             {revision.id, direction_name(direction), static_cast<std::int64_t>(steps_done), schema_json.dump(),
              revision.checksum}}};
}

Statement forget_steps(const std::string& id, const Dialect& dialect) {
    return {"DELETE FROM " + dialect.quote(steps_table) + " WHERE revision = :id", {id}};
}

// The command that runs the rest of revision `id`'s steps.
std::string finishing_command(Direction direction, const std::string& id) {
    return "`pangeo-forge db " + direction_name(direction) + " " + id + (direction == Direction::upgrade ? "" : "-1") +
           "`";
}

// A rest that can never succeed as written (a unique index on duplicate rows the data needs)
// must not hold the database forever: stamp clears the record.
const char* const way_out = "; should the rest never succeed as written, finish or undo its steps by hand and "
                            "`pangeo-forge db stamp` the revision the database then matches, which clears the record";

// The steps that run together: in one transaction, or one step alone outside any.
struct Phase {
    std::size_t first = 0;  // steps [first, end)
    std::size_t end = 0;
    Isolation isolation = Isolation::in_transaction;
};

std::vector<Phase> phases_of(const std::vector<Step>& steps) {
    std::vector<Phase> phases;
    for (std::size_t i = 0; i < steps.size(); ++i) {
        const Isolation isolation = steps[i].isolation;
        bool joins = isolation == Isolation::in_transaction && !phases.empty() &&
                     phases.back().isolation == Isolation::in_transaction;
        if (joins) {
            phases.back().end = i + 1;
        } else {
            phases.push_back({i, i + 1, isolation});
        }
    }
    return phases;
}

// What became of the database when revision `id` failed with `recorded` of its `count`
// steps applied and recorded before.
std::string state_after_failure(Direction direction, const std::string& id, std::size_t recorded, std::size_t count,
                                const std::vector<std::string>& heads) {
    if (recorded == 0) return "Nothing of it was applied: the database stays at " + heads_text(heads) + ".";
    return "Its steps 1 to " + std::to_string(recorded) + " of " + std::to_string(count) +
           " are applied and recorded; the database stays at " + heads_text(heads) + " until the rest is: " +
           finishing_command(direction, id) + " resumes at step " + std::to_string(recorded + 1) + way_out + ".";
}

// The database's own message, without the full stop that the sentence after it would double.
std::string reason(std::string why) {
    while (!why.empty() && (why.back() == '.' || why.back() == ' ')) why.pop_back();
    return why;
}

std::string failure_message(const Revision& revision, Direction direction, std::size_t index, std::size_t count,
                            std::size_t recorded, const std::string& step, const std::string& why,
                            const std::vector<std::string>& heads) {
    return "revision " + revision.id + " (" + revision.message + ") failed in " + direction_name(direction) + " step " +
           std::to_string(index + 1) + " of " + std::to_string(count) + ", " + step + ": " + reason(why) + ". " +
           state_after_failure(direction, revision.id, recorded, count, heads);
}

// A lock wait ran out in one step of a revision: the revision is tried again.
class StepLockTimeout : public LockTimeoutError {
public:
    StepLockTimeout(const std::string& message, std::string step) : LockTimeoutError(message), step_(std::move(step)) {}
    const std::string& step() const { return step_; }

private:
    std::string step_;
};

// The revision's failure, from the database's: a lock wait that ran out stays one, so that
// the revision is tried again; `step` says where, for the retry's progress line.
[[noreturn]] void fail_revision(const Error& error, std::string message, std::string step) {
    if (dynamic_cast<const LockTimeoutError*>(&error)) throw StepLockTimeout(message, std::move(step));
    throw MigrationError(message);
}

// --- where a plan runs: a database, or an offline script ------------------------------

// The runtime hands a target each revision between begin() and commit(); the target
// either runs the statements or writes them down. A revision whose steps run in several
// transactions (online rewrites) goes through end_steps() / open_transaction() /
// leave_transaction() between them.
class Target {
public:
    virtual ~Target() = default;
    virtual const Dialect& dialect() const = 0;
    // Opens the revision's transaction and returns the heads it starts from.
    virtual std::vector<std::string> begin() = 0;
    // What an earlier run left of a revision, read in begin()'s transaction.
    virtual std::optional<Recorded> recorded() = 0;
    // The schema the revision starts from.
    virtual schema::Schema schema() = 0;
    virtual void run(const Statement& statement) = 0;
    // Ends the steps of a phase: records them with `record` (in the phase's transaction, or
    // in one of its own after a phase outside any) and commits.
    virtual void end_steps(const std::vector<Statement>& record, bool in_transaction) = 0;
    virtual void open_transaction() = 0;
    // Ends begin()'s transaction, in which nothing was written, before a step outside one.
    virtual void leave_transaction() = 0;
    // Drops the index `name` if a failed concurrent build left it INVALID.
    virtual void drop_invalid_index(const std::string& name) = 0;
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
        open_transaction();
        heads_ = select_heads(connection_);  // again, inside the lock; run_plan created the table
        check_known(graph_, heads_);
        return heads_;
    }

    std::optional<Recorded> recorded() override { return read_recorded(connection_); }

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

    void end_steps(const std::vector<Statement>& record, bool in_transaction) override {
        if (!in_transaction) open_transaction();
        for (const auto& statement : record) run(statement);
        transaction_->commit();
        transaction_.reset();
        // The schema between two steps is no revision's: the next run reads it afresh.
        left_.reset();
    }

    void open_transaction() override { transaction_.emplace(connection_, db::Transaction::Mode::immediate); }
    void leave_transaction() override { transaction_.reset(); }

    void drop_invalid_index(const std::string& name) override {
        if (db::invalid_index_exists(connection_, name)) connection_.execute(drop_index_concurrently_sql(name, dialect()));
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

    // Rolls back whatever a failed try left open, before the revision is tried again.
    void abandon() { transaction_.reset(); }

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
    // BEGIN is written with the transaction's first statement, after the line that announces it.
    std::vector<std::string> begin() override {
        open_transaction();
        return heads_;
    }
    // A script starts every revision afresh.
    std::optional<Recorded> recorded() override { return std::nullopt; }
    schema::Schema schema() override { return schema_; }
    void run(const Statement& statement) override {
        if (in_transaction_ && !begun_) {
            script_ += "BEGIN;\n\n";
            begun_ = true;
        }
        // Statements without parameters (DDL, raw SQL) go as they are, as they do to a database.
        script_ += (statement.parameters.empty() ? statement.sql
                                                 : dialect_.inline_parameters(statement.sql, statement.parameters)) +
                   ";\n\n";
    }
    // A script cannot resume: the steps are not recorded, only committed.
    void end_steps(const std::vector<Statement>&, bool) override { close_transaction(); }
    void open_transaction() override {
        in_transaction_ = true;
        begun_ = false;
    }
    void leave_transaction() override { close_transaction(); }
    void drop_invalid_index(const std::string& name) override {
        script_ += "-- If an earlier attempt at the next statement failed, it left the index INVALID: drop it first\n-- " +
                   drop_index_concurrently_sql(name, dialect_) + ";\n\n";
    }
    void commit(const std::set<std::string>&, const std::vector<std::string>& heads,
                const schema::Schema& after) override {
        if (!begun_) script_ += "BEGIN;\n\n";
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
    void close_transaction() {
        if (begun_) script_ += "COMMIT;\n\n";
        in_transaction_ = false;
        begun_ = false;
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

// The tables whose rows the revision's operations may have changed, for the foreign-key
// check before it commits; `raw_sql` says whether it ran any.
std::set<std::string> touched_tables(const std::vector<Operation>& operations, const schema::Schema& before,
                                     bool& raw_sql) {
    std::set<std::string> touched, created;
    raw_sql = false;
    for (const auto& operation : operations) {
        touched.insert(table_of(operation));
        if (const auto* rename = std::get_if<RenameTable>(&operation)) touched.insert(rename->new_name);
        if (const auto* create = std::get_if<CreateTable>(&operation)) created.insert(create->table.name);
        // Raw SQL may have changed any table's rows.
        if (std::holds_alternative<Execute>(operation)) {
            raw_sql = true;
            for (const auto& table : before.tables) touched.insert(table.name);
        }
    }
    touched.erase("");
    // A table the revision created has no row to check, raw SQL aside.
    if (!raw_sql) {
        for (const auto& name : created) touched.erase(name);
    }
    return touched;
}

// The one loop of the engine: runs revision `id` on `target`, its steps in one transaction
// with its version-table and record changes, or, when online rewrites split it, in
// phases each recorded as it ends (the last with the version table), resuming after the
// phases an earlier run recorded. Returns nothing when the target already holds the
// revision (or, going down, no longer does): another run got there first.
std::optional<StepReport> run_revision(Target& target, const RevisionGraph& graph, const std::string& id,
                                       Direction direction, const RenderOptions& render_options,
                                       const std::function<void(const std::string&)>& announce = {}) {
    auto start = Clock::now();
    std::vector<std::string> heads;
    try {
        heads = target.begin();
    } catch (const LockTimeoutError& error) {
        fail_revision(error, "revision " + id + " (" + graph.get(id).message + ") could not begin its transaction: " +
                                 reason(error.what()) + ". Nothing of it was applied.",
                      "its start");
    }
    const auto below = graph.ancestry(heads);  // what the target holds, heads and all beneath them
    bool applied = below.count(id) != 0;
    if (direction == Direction::upgrade ? applied : std::find(heads.begin(), heads.end(), id) == heads.end()) {
        target.skip();
        return std::nullopt;
    }
    auto recorded = target.recorded();
    if (recorded && (recorded->revision != id || recorded->direction != direction)) {
        throw MigrationError("cannot " + direction_name(direction) + " revision " + id + ": " +
                             describe(PartlyApplied{recorded->revision, recorded->direction, recorded->steps_done}));
    }
    const Revision& revision = graph.get(id);
    if (recorded && recorded->checksum != revision.checksum) {
        throw MigrationError("cannot " + direction_name(direction) + " the rest of revision " + id + ": its file " +
                             (revision.path.empty() ? std::string() : revision.path.string() + " ") +
                             "changed after a run " + (direction == Direction::upgrade ? "applied" : "undid") + " " +
                             std::to_string(recorded->steps_done) + " of its steps, counted in the file as it was. "
                             "Put the file back as it was, finish with " + finishing_command(direction, id) +
                             " and make the change in a new revision" + way_out);
    }
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
    const schema::Schema before = recorded ? recorded->schema_before : target.schema();
    schema::Schema schema = before;
    std::vector<Step> steps;
    try {
        steps = render(operations, schema, target.dialect(), render_options);
    } catch (const MigrationError& error) {
        throw MigrationError(failure_message(revision, direction, 0, operations.size(), 0, "planning", error.what(), heads));
    }
    const auto phases = phases_of(steps);
    const std::size_t done = recorded ? recorded->steps_done : 0;
    bool in_transaction = true;  // begin()'s
    std::size_t recorded_steps = done;
    bool has_record = recorded.has_value();  // a row in the steps table, which the last commit deletes
    // Step i of `phase` failed: what the database holds now, and whether a retry may help.
    auto fail = [&](const Phase& phase, std::size_t i, const DatabaseError& error, const std::string& doing = "") {
        fail_revision(error,
                      failure_message(revision, direction, i, steps.size(), phase.first, steps[i].description + doing,
                                      error.what(), heads),
                      "step " + std::to_string(i + 1) + " of " + std::to_string(steps.size()) + ", " +
                          steps[i].description);
    };
    for (const auto& phase : phases) {
        if (phase.end <= done) continue;  // an earlier run applied and recorded it
        const bool outside = phase.isolation == Isolation::no_transaction;
        if (outside && !has_record) {
            // Recorded before it runs: the server finishes a CREATE INDEX CONCURRENTLY whose
            // client died, and the next run must render the revision from the schema it started
            // from, not from one that already holds the index ("exists already" for good).
            try {
                target.end_steps(record_steps(revision, direction, phase.first, before, target.dialect()),
                                 in_transaction);
            } catch (const DatabaseError& error) {
                fail(phase, phase.first, error, " (recording the steps)");
            }
            in_transaction = false;
            has_record = true;
        }
        if (outside && in_transaction) target.leave_transaction();
        if (!outside && !in_transaction) target.open_transaction();
        in_transaction = !outside;
        const bool last = &phase == &phases.back() && !outside;  // commits below, with the version table
        for (std::size_t i = phase.first; i < phase.end; ++i) {
            try {
                if (!steps[i].invalid_index.empty()) target.drop_invalid_index(steps[i].invalid_index);
                for (const auto& statement : steps[i].statements) target.run({statement, {}});
            } catch (const DatabaseError& error) {
                if (outside && phase.first == 0) {
                    // The server said the first step failed: nothing of the revision stands (an
                    // INVALID index is no schema, and is dropped before the next try), so it
                    // holds back no other revision. Without a connection the record stays.
                    try {
                        target.end_steps({forget_steps(id, target.dialect())}, false);
                    } catch (const Error&) {
                    }
                }
                fail(phase, i, error);
            }
        }
        if (&phase == &phases.back() && !outside) break;  // the last transaction commits with the version table
        try {
            target.end_steps(record_steps(revision, direction, phase.end, before, target.dialect()), in_transaction);
        } catch (const DatabaseError& error) {
            // Not recorded: a step outside a transaction may stand (the rerun's IF [NOT] EXISTS
            // finds it), one inside rolled back; either way the record ends before this phase.
            fail(phase, phase.end - 1, error, " (recording the steps)");
        }
        in_transaction = false;
        recorded_steps = phase.end;
        has_record = true;
    }
    try {
        if (!in_transaction) target.open_transaction();
        const double duration_ms = target.elapsed_ms(start);
        for (const auto& statement : version_change(heads, after, target.dialect())) target.run(statement);
        for (const auto& statement : record_change(revision, direction, duration_ms, target.applied_at(), target.dialect())) {
            target.run(statement);
        }
        if (has_record) target.run(forget_steps(id, target.dialect()));
        bool raw_sql = false;
        target.commit(touched_tables(operations, before, raw_sql), after, schema);
        if (raw_sql) target.forget_schema();
    } catch (const Error& error) {
        fail_revision(error,
                      "revision " + revision.id + " (" + revision.message + ") failed before it committed: " +
                          reason(error.what()) + ". " +
                          state_after_failure(direction, id, recorded_steps, steps.size(), heads),
                      "its commit");
    }
    return StepReport{direction, heads, after, id, revision.down_revisions, revision.message, Clock::now() - start};
}

// The wait before retry `retry` (1 for the first): doubling from retry_delay up to
// max_retry_delay, times a random factor in [0.5, 1.5).
std::chrono::milliseconds backoff(const LiveOptions& options, int retry) {
    static thread_local std::mt19937 random{std::random_device{}()};
    double base = static_cast<double>(options.retry_delay.count()) * std::pow(2.0, std::min(retry - 1, 30));
    base = std::min(base, static_cast<double>(options.max_retry_delay.count()));
    return std::chrono::milliseconds(
        static_cast<long long>(base * std::uniform_real_distribution<double>(0.5, 1.5)(random)));
}

// run_revision, tried again after a back-off each time a lock wait runs out, up to
// options.lock_retries times.
std::optional<StepReport> run_with_retries(DatabaseTarget& target, const RevisionGraph& graph, const std::string& id,
                                           Direction direction, const LiveOptions& options,
                                           const std::function<void(const RetryReport&)>& on_retry) {
    for (int retry = 1;; ++retry) {
        try {
            return run_revision(target, graph, id, direction, RenderOptions{options.online});
        } catch (const StepLockTimeout& error) {
            target.abandon();
            if (retry > options.lock_retries) {
                throw MigrationError(std::string(error.what()) + " It gave up after " + std::to_string(retry) +
                                     (retry == 1 ? " try" : " tries") + " waiting for a lock that another session "
                                     "holds: find it in pg_stat_activity and pg_locks (on SQLite, the process writing "
                                     "to the file), or allow longer waits with --lock-timeout or more with --lock-retries");
            }
            const Revision& revision = graph.get(id);
            RetryReport report{direction, id, revision.down_revisions, error.step(), retry, options.lock_retries,
                               backoff(options, retry)};
            if (on_retry) on_retry(report);
            std::this_thread::sleep_for(report.delay);
        }
    }
}

// The revisions to apply (undo) to move a database at `heads` to `target`.
std::vector<std::string> plan_to(const RevisionGraph& graph, const std::string& target, Direction direction,
                                 const std::vector<std::string>& heads) {
    return direction == Direction::upgrade ? graph.upgrade_plan_to(target, heads)
                                           : graph.downgrade_plan_to(target, heads);
}

std::vector<StepReport> run_plan(db::Database& database, const RevisionGraph& graph, const std::string& target,
                                 Direction direction, const LiveOptions& options, const Progress& progress,
                                 const std::function<void(const RetryReport&)>& on_retry) {
    auto lease = database.acquire();
    db::MigrationRunLock lock(*lease);
    db::MigrationWaitLimits limits(*lease, options.lock_timeout, options.statement_timeout);
    create_engine_tables(*lease);
    auto heads = read_heads(*lease);
    check_known(graph, heads);
    auto plan = plan_to(graph, target, direction, heads);
    DatabaseTarget database_target(*lease, graph);
    std::vector<StepReport> reports;
    for (const auto& id : plan) {
        if (auto report = run_with_retries(database_target, graph, id, direction, options, on_retry)) {
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
                        const Dialect& dialect, Direction direction, const LiveOptions& options) {
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
    for (const auto& statement : dialect.wait_limit_statements(options.lock_timeout, options.statement_timeout)) {
        script.write(statement + ";\n\n");
    }
    for (const auto& statement : engine_tables_statements(dialect)) script.run(statement);
    for (const auto& id : plan) {
        run_revision(script, graph, id, direction, RenderOptions{options.online},
                     [&](const std::string& line) { script.write("-- Running " + line + "\n\n"); });
    }
    for (const auto& statement : dialect.migration_script_epilogue()) script.write(statement + ";\n");
    return script.script();
}

}  // namespace

const std::vector<std::string>& engine_tables() {
    static const std::vector<std::string> tables{version_table, record_table, steps_table};
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

std::string describe(const PartlyApplied& partly) {
    return "revision " + partly.revision + " is partly " + (partly.direction == Direction::upgrade ? "applied" : "undone") +
           ": a run stopped after " + std::to_string(partly.steps_done) + " of its steps. Finish it first with " +
           finishing_command(partly.direction, partly.revision) + way_out;
}

std::string describe(const RetryReport& retry) {
    char delay[32];
    std::snprintf(delay, sizeof delay, "%.1f s", static_cast<double>(retry.delay.count()) / 1000);
    return "Lock wait timed out in " + step_line(retry.direction, retry.down_revisions, retry.revision) + " (" +
           retry.step + "); retry " + std::to_string(retry.retry) + " of " + std::to_string(retry.retries) + " in " +
           delay;
}

Migrator::Migrator(db::Database& database, RevisionGraph graph, LiveOptions options)
    : database_(database), graph_(std::move(graph)), options_(options) {}

std::optional<PartlyApplied> Migrator::partly_applied() {
    auto lease = database_.acquire();
    if (!db::has_table(*lease, steps_table)) return std::nullopt;
    auto recorded = read_recorded(*lease);
    if (!recorded) return std::nullopt;
    return PartlyApplied{recorded->revision, recorded->direction, recorded->steps_done};
}

std::vector<StepReport> Migrator::run(const std::string& target, Direction direction, const Progress& progress) {
    return run_plan(database_, graph_, target, direction, options_, progress, on_retry_);
}

std::vector<std::string> Migrator::current() {
    auto lease = database_.acquire();
    return read_heads(*lease);
}

std::vector<StepReport> Migrator::upgrade(const std::string& target, const Progress& progress) {
    return run(target, Direction::upgrade, progress);
}

std::vector<StepReport> Migrator::downgrade(const std::string& target, const Progress& progress) {
    return run(target, Direction::downgrade, progress);
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
    db::run(*lease, "DELETE FROM " + lease->dialect().quote(steps_table));
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
                                const Dialect& dialect, const LiveOptions& options) {
    return offline_sql(graph, from, to, dialect, Direction::upgrade, options);
}

std::string offline_downgrade_sql(const RevisionGraph& graph, const std::string& from, const std::string& to,
                                  const Dialect& dialect, const LiveOptions& options) {
    return offline_sql(graph, from, to, dialect, Direction::downgrade, options);
}

}  // namespace pangeo_forge::migrate
