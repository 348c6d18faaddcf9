#pragma once
// Lint of revision files: for each upgrade operation, the lock it takes and the work it does
// on its table as the engine will run it, and findings by rules in the manner of squawk
// (https://squawkhq.com/docs/rules): an operation that blocks a table holding rows for as
// long as it scans or rewrites it, or that a release still running beside the migration may
// trip over (a renamed or dropped column or table), or that cannot be checked (raw SQL).
//
// On PostgreSQL the lock and the work follow online_rewrite() (ddl.hpp): what the engine
// rewrites is decided there, and lint reports the rewritten form. On SQLite every write holds
// the database's write lock, and what matters is which operations rebuild their table.
// A table "holds rows" when it was there before the revision began (followed through a
// rename in the revision); a table the revision creates is empty, and draws no finding.
//
// A finding may be waived in the revision file, naming the rule, the upgrade operation and
// a reason (revision.hpp: LintWaiver). Downgrades are not linted: they are the inverses of
// the upgrades, every drop of which is the undoing of a create.
//
// Lint reads revision files only: it never connects to a database.
// Throws MigrationError for a history whose operations do not fit the schema they run on.
// Thread safety: pure functions of their arguments.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/db/dialect.hpp"
#include "pangeo_forge/migrate/graph.hpp"

namespace pangeo_forge::migrate {

struct LintRule {
    std::string_view name;     // "renaming-column": what a waiver names
    std::string_view summary;  // one line, for --help and the README
    bool postgresql_only;      // a rule about PostgreSQL's locks; the others apply on every dialect
};

// Every rule, in the order the README lists them.
const std::vector<LintRule>& lint_rules();
bool is_lint_rule(std::string_view name);

// The lock modes an operation takes, strongest last; on SQLite, the database's write lock.
enum class LockMode {
    share_update_exclusive,  // reads and writes go on (CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT)
    share,                   // reads go on, writes wait (CREATE INDEX)
    share_row_exclusive,     // reads go on, writes wait (ADD FOREIGN KEY)
    access_exclusive,        // everything waits, reads too (most ALTER TABLE)
    database_write,          // SQLite: one writer at a time, for the whole database
    unknown,                 // raw SQL
};
std::string_view to_string(LockMode mode);  // "ACCESS EXCLUSIVE", "the database write lock", ...

// What an operation does to the rows of its table while it holds the lock.
enum class TableWork {
    none,     // the catalog only: over once the lock is granted
    scan,     // reads every row (to build an index, or to check a constraint)
    rewrite,  // writes every row anew (PostgreSQL)
    rebuild,  // SQLite: copies every row into a new table
    unknown,  // raw SQL
};
std::string_view to_string(TableWork work);  // "metadata only", "scans the table", ...

// One statement (or group of them) of an operation as the engine runs it.
struct LockStep {
    LockMode lock = LockMode::access_exclusive;
    std::vector<std::string> tables;
    TableWork work = TableWork::none;
    std::string statement;  // what runs: "CREATE INDEX CONCURRENTLY", "VALIDATE CONSTRAINT"

    bool operator==(const LockStep& other) const {
        return lock == other.lock && tables == other.tables && work == other.work && statement == other.statement;
    }
};

struct LintFinding {
    std::string rule;
    std::string message;                // what happens, and what to write instead
    std::optional<std::string> waived;  // the waiver's reason, when the revision file waives it

    bool operator==(const LintFinding& other) const {
        return rule == other.rule && message == other.message && waived == other.waived;
    }
};

struct LintedOperation {
    std::size_t index = 0;        // in the revision's upgrade list, as a waiver names it
    std::string description;      // describe(): "add_column reciperun.is_test"
    bool new_table = false;       // on a table the revision creates: empty, nobody waits on it
    std::vector<LockStep> steps;  // in the order they run
    std::vector<LintFinding> findings;
};

struct LintedRevision {
    std::string id;
    std::string message;
    std::string path;
    std::vector<LintedOperation> operations;
    std::vector<LintWaiver> unused_waivers;  // waivers that match no finding: stale, or mistyped
};

struct LintReport {
    db::Backend dialect = db::Backend::postgresql;
    std::vector<LintedRevision> revisions;  // oldest first, as they would be applied

    std::size_t findings() const;  // not waived
    std::size_t waived() const;
    bool ok() const { return findings() == 0; }
};

// One revision's upgrade, given `before`, the schema the revision starts from.
LintedRevision lint_revision(const Revision& revision, const schema::Schema& before, const db::Dialect& dialect);
// One revision that builds on revisions of `graph` (it need not be in the graph itself: a
// revision just written); the schema before it is built from its ancestry in the graph.
LintedRevision lint_revision(const RevisionGraph& graph, const Revision& revision, const db::Dialect& dialect);

// The revisions `range` names, oldest first: empty for all; "A:B" as history() takes it
// (a range that counts from the database's current revision is the caller's to refuse); a
// single revision (an id, a unique prefix or a branch label) for that revision alone.
LintReport lint(const RevisionGraph& graph, const std::string& range, const db::Dialect& dialect);

// One block per revision (its id, message and file), one line per operation (its steps, each
// "CREATE INDEX takes SHARE on reciperun, scans the table"), one line per finding, waived ones
// marked; then a summary line.
std::vector<std::string> lint_lines(const LintReport& report);
// The findings alone, one line each ("upgrade.0 drop_table apikey: dropping-table: ..."),
// for a face that shows them after writing a revision.
std::vector<std::string> finding_lines(const LintedRevision& revision);

// {"dialect", "ok", "findings", "waived", "revisions": [{"revision", "message", "path",
//  "operations": [{"index", "operation", "new_table", "steps": [{"lock", "tables", "work",
//  "statement"}], "findings": [{"rule", "message", "waived", "reason"}]}],
//  "unused_waivers": [{"rule", "operation", "reason"}]}]}
nlohmann::json lint_json(const LintReport& report);

}  // namespace pangeo_forge::migrate
