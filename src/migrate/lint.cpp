#include "pangeo_forge/migrate/lint.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/commands.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "support/overloaded.hpp"

namespace pangeo_forge::migrate {
namespace {

using db::Backend;
using db::Dialect;
using Names = std::vector<std::string>;
using detail::Overloaded;

const std::vector<LintRule> rules{
    {"adding-volatile-default", "add_column with a volatile server default rewrites the table under ACCESS EXCLUSIVE",
     true},
    {"changing-column-type", "alter_column type rewrites the table under ACCESS EXCLUSIVE (but for varchar widening)",
     true},
    {"index-not-concurrent",
     "create_index, drop_index or create_unique_constraint with \"online\": false blocks writes", true},
    {"not-null-without-check", "alter_column to NOT NULL with \"online\": false scans the table under ACCESS EXCLUSIVE",
     true},
    {"adding-foreign-key-constraint",
     "create_foreign_key with \"online\": false scans the table under SHARE ROW EXCLUSIVE", true},
    {"renaming-column", "a release still running beside the migration may use the old name", false},
    {"renaming-table", "a release still running beside the migration may use the old name", false},
    {"dropping-column", "a release still running beside the migration may still read the column", false},
    {"dropping-table", "a release still running beside the migration may still read the table", false},
    {"raw-sql", "execute: raw SQL, whose locks and effects lint cannot see", false},
};

// --- PostgreSQL's facts -----------------------------------------------------------------

// Functions a default may call and still be evaluated once for the rows already there
// (STABLE: PostgreSQL 11 and later store the value, and rewrite nothing).
const std::set<std::string> stable_functions{"now", "transaction_timestamp", "statement_timestamp"};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    return text;
}

// A default is volatile when it calls a function (a name followed by "(", outside quotes and
// not a type after "::") other than the stable ones: random(), clock_timestamp(),
// gen_random_uuid(), nextval(...), and any function lint does not know, which it cannot
// prove stable. Literals, casts of them and CURRENT_TIMESTAMP (no parentheses) are not.
bool is_volatile_default(const std::string& sql) {
    for (std::size_t i = 0; i < sql.size();) {
        char c = sql[i];
        if (c == '\'' || c == '"') {
            auto close = sql.find(c, i + 1);
            i = close == std::string::npos ? sql.size() : close + 1;
            continue;
        }
        if (!std::isalpha(static_cast<unsigned char>(c)) && c != '_') {
            ++i;
            continue;
        }
        std::size_t start = i;
        while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) || sql[i] == '_' || sql[i] == '.')) {
            ++i;
        }
        std::string name = lower(sql.substr(start, i - start));
        std::size_t next = i;
        while (next < sql.size() && std::isspace(static_cast<unsigned char>(sql[next]))) ++next;
        bool call = next < sql.size() && sql[next] == '(';
        bool cast_type = start >= 2 && sql.compare(start - 2, 2, "::") == 0;
        if (call && !cast_type && name != "cast" && stable_functions.count(name) == 0) return true;
    }
    return false;
}

// Does PostgreSQL rewrite the table to change a column from `from` to `to`? Not for the
// changes that keep every stored value as it is: a varchar made longer or unbounded, varchar
// to text, text to unbounded varchar.
bool type_change_rewrites(const schema::Type& from, const schema::Type& to) {
    using schema::TypeKind;
    if (from == to) return false;
    bool from_string = from.kind == TypeKind::varchar || from.kind == TypeKind::text;
    if (to.kind == TypeKind::text && from_string) return false;
    if (to.kind == TypeKind::varchar && from_string) {
        if (!to.length) return false;
        return from.kind == TypeKind::text || !from.length || *to.length < *from.length;
    }
    return true;
}

// --- one operation ------------------------------------------------------------------------

// What lint knows of the revision while it walks its operations.
struct Walk {
    schema::Schema schema;           // before the operation
    // The tables that hold rows, under their names now (follow_existing_tables()): what
    // online_rewrite() is given, as render() gives it.
    Names existing_tables;
};

bool contains(const Names& names, const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

using Steps = std::vector<LockStep>;

LockStep step(LockMode lock, Names tables, TableWork work, std::string statement) {
    return {lock, std::move(tables), work, std::move(statement)};
}

// The steps of `operation` on PostgreSQL, as the engine runs it given `rewrite`.
Steps postgresql_steps(const Operation& operation, OnlineRewrite rewrite, const Walk& walk) {
    const auto exclusive = LockMode::access_exclusive;
    const auto none = TableWork::none;
    return std::visit(
        Overloaded{
            [&](const CreateTable& op) -> Steps {
                Steps steps{step(exclusive, {op.table.name}, none, "CREATE TABLE")};
                Names referred;
                for (const auto& key : op.table.foreign_keys) {
                    if (key.referred_table != op.table.name && !contains(referred, key.referred_table)) {
                        referred.push_back(key.referred_table);
                    }
                }
                if (!referred.empty()) {
                    steps.push_back(step(LockMode::share_row_exclusive, referred, none, "REFERENCES"));
                }
                return steps;
            },
            [&](const DropTable& op) -> Steps { return {step(exclusive, {op.table}, none, "DROP TABLE")}; },
            [&](const AddColumn& op) -> Steps {
                // A backfill is a default the rows there get, dropped once they have it.
                const auto& fill = op.column.server_default ? op.column.server_default : op.backfill;
                bool rewrites = fill && is_volatile_default(*fill);
                return {step(exclusive, {op.table}, rewrites ? TableWork::rewrite : none,
                             rewrites ? "ADD COLUMN with a volatile DEFAULT" : "ADD COLUMN")};
            },
            [&](const DropColumn& op) -> Steps { return {step(exclusive, {op.table}, none, "DROP COLUMN")}; },
            [&](const AlterColumn& op) -> Steps {
                Steps steps;
                if (op.type) {
                    const schema::Table* table = walk.schema.find_table(op.table);
                    const schema::Column* column = table == nullptr ? nullptr : table->find_column(op.column);
                    bool rewrites = column == nullptr || type_change_rewrites(column->type, *op.type);
                    steps.push_back(step(exclusive, {op.table}, rewrites ? TableWork::rewrite : none,
                                         "ALTER COLUMN TYPE " + schema::to_string(*op.type)));
                }
                if (op.server_default) {
                    const char* statement = *op.server_default ? "SET DEFAULT" : "DROP DEFAULT";
                    steps.push_back(step(exclusive, {op.table}, none, statement));
                }
                if (op.nullable == true) steps.push_back(step(exclusive, {op.table}, none, "DROP NOT NULL"));
                if (op.nullable == false && rewrite == OnlineRewrite::not_null_through_check) {
                    steps.push_back(step(exclusive, {op.table}, none, "ADD CHECK (IS NOT NULL) NOT VALID"));
                    steps.push_back(step(LockMode::share_update_exclusive, {op.table}, TableWork::scan,
                                         "VALIDATE CONSTRAINT"));
                    steps.push_back(step(exclusive, {op.table}, none, "SET NOT NULL"));
                } else if (op.nullable == false) {
                    steps.push_back(step(exclusive, {op.table}, TableWork::scan, "SET NOT NULL"));
                }
                return steps;
            },
            [&](const CreateForeignKey& op) -> Steps {
                Names tables{op.table};
                if (op.foreign_key.referred_table != op.table) tables.push_back(op.foreign_key.referred_table);
                if (rewrite == OnlineRewrite::not_valid_then_validate) {
                    return {step(LockMode::share_row_exclusive, tables, none, "ADD FOREIGN KEY NOT VALID"),
                            step(LockMode::share_update_exclusive, {op.table}, TableWork::scan, "VALIDATE CONSTRAINT")};
                }
                return {step(LockMode::share_row_exclusive, tables, TableWork::scan, "ADD FOREIGN KEY")};
            },
            [&](const CreateUniqueConstraint& op) -> Steps {
                if (rewrite == OnlineRewrite::unique_through_index) {
                    return {step(LockMode::share_update_exclusive, {op.table}, TableWork::scan,
                                 "CREATE UNIQUE INDEX CONCURRENTLY"),
                            step(exclusive, {op.table}, none, "ADD CONSTRAINT UNIQUE USING INDEX")};
                }
                return {step(exclusive, {op.table}, TableWork::scan, "ADD CONSTRAINT UNIQUE")};
            },
            [&](const DropConstraint& op) -> Steps { return {step(exclusive, {op.table}, none, "DROP CONSTRAINT")}; },
            [&](const CreateIndex& op) -> Steps {
                if (rewrite == OnlineRewrite::concurrent_index) {
                    return {step(LockMode::share_update_exclusive, {op.table}, TableWork::scan,
                                 "CREATE INDEX CONCURRENTLY")};
                }
                return {step(LockMode::share, {op.table}, TableWork::scan, "CREATE INDEX")};
            },
            [&](const DropIndex& op) -> Steps {
                if (rewrite == OnlineRewrite::concurrent_drop_index) {
                    return {step(LockMode::share_update_exclusive, {op.table}, none, "DROP INDEX CONCURRENTLY")};
                }
                return {step(exclusive, {op.table}, none, "DROP INDEX")};
            },
            [&](const RenameTable& op) -> Steps { return {step(exclusive, {op.table}, none, "RENAME TO")}; },
            [&](const RenameColumn& op) -> Steps { return {step(exclusive, {op.table}, none, "RENAME COLUMN")}; },
            [&](const Execute&) -> Steps { return {step(LockMode::unknown, {}, TableWork::unknown, "raw SQL")}; },
        },
        operation);
}

// On SQLite: does the engine rebuild the table? Rendered alone, the operation's statements
// say so (a rebuild fills a new table, `_pangeo_forge_new_<name>`). In place, only an index
// reads the rows.
Steps sqlite_steps(const Operation& operation, const Walk& walk) {
    if (std::holds_alternative<Execute>(operation)) {
        return {step(LockMode::unknown, {}, TableWork::unknown, "raw SQL")};
    }
    schema::Schema scratch = walk.schema;
    bool rebuilds = false;
    for (const auto& rendered : render({operation}, scratch, Dialect(Backend::sqlite))) {
        for (const auto& statement : rendered.statements) {
            if (statement.find("_pangeo_forge_new_") != std::string::npos) rebuilds = true;
        }
    }
    if (rebuilds) return {step(LockMode::database_write, {table_of(operation)}, TableWork::rebuild, "table rebuild")};
    bool index = std::holds_alternative<CreateIndex>(operation);
    return {step(LockMode::database_write, {table_of(operation)}, index ? TableWork::scan : TableWork::none,
                 index ? "CREATE INDEX" : "in place")};
}

// The rules that `operation` breaks; `rewrite` is the engine's, `steps` what lint found it does.
std::vector<LintFinding> findings_of(const Operation& operation, OnlineRewrite rewrite,
                                     const std::vector<LockStep>& steps, const Walk& walk, const Dialect& dialect) {
    std::vector<LintFinding> found;
    auto finding = [&](std::string rule, std::string message) { found.push_back({rule, message, std::nullopt}); };
    const bool on_postgresql = dialect.backend() == Backend::postgresql;
    const std::string table = table_of(operation);
    if (std::holds_alternative<Execute>(operation)) {
        finding("raw-sql", "raw SQL: lint cannot tell what it locks or rewrites; check it by hand and waive this");
        return found;
    }
    if (!contains(walk.existing_tables, table)) return found;  // created by this revision: empty
    auto does = [&](TableWork work) {
        return std::any_of(steps.begin(), steps.end(), [&](const LockStep& s) { return s.work == work; });
    };
    std::visit(
        Overloaded{
            [&](const AddColumn& op) {
                if (on_postgresql && does(TableWork::rewrite)) {
                    const auto& fill = op.column.server_default ? op.column.server_default : op.backfill;
                    finding("adding-volatile-default",
                            "the default " + *fill + " is volatile: every row of " + op.table +
                                " is rewritten under ACCESS EXCLUSIVE; add the column without it, set the default, "
                                "and backfill in batches");
                }
            },
            [&](const AlterColumn& op) {
                if (on_postgresql && op.type && does(TableWork::rewrite)) {
                    finding("changing-column-type", "changing " + op.table + "." + op.column + " to " +
                                                        schema::to_string(*op.type) +
                                                        " rewrites the table under ACCESS EXCLUSIVE; add a new "
                                                        "column, backfill it, and switch over instead");
                }
                if (on_postgresql && op.nullable == false && rewrite == OnlineRewrite::none) {
                    finding("not-null-without-check",
                            "SET NOT NULL scans " + op.table + " under ACCESS EXCLUSIVE: leave out \"online\": false "
                            "and the engine validates a CHECK first, without blocking");
                }
            },
            [&](const CreateForeignKey& op) {
                if (on_postgresql && rewrite == OnlineRewrite::none) {
                    finding("adding-foreign-key-constraint",
                            "the foreign key is validated at once, scanning " + op.table +
                                " under SHARE ROW EXCLUSIVE (writes wait): leave out \"online\": false and the engine "
                                "adds it NOT VALID and validates it on its own");
                }
            },
            [&](const CreateUniqueConstraint& op) {
                if (on_postgresql && rewrite == OnlineRewrite::none) {
                    finding("index-not-concurrent",
                            "the constraint's index is built under ACCESS EXCLUSIVE on " + op.table +
                                " (reads and writes wait): leave out \"online\": false and the engine builds it "
                                "concurrently");
                }
            },
            [&](const CreateIndex& op) {
                if (on_postgresql && rewrite == OnlineRewrite::none) {
                    finding("index-not-concurrent", "the index is built under SHARE on " + op.table +
                                                        " (writes wait): leave out \"online\": false and the engine "
                                                        "builds it CONCURRENTLY");
                }
            },
            [&](const DropIndex& op) {
                if (on_postgresql && rewrite == OnlineRewrite::none) {
                    finding("index-not-concurrent", "DROP INDEX takes ACCESS EXCLUSIVE on " + op.table +
                                                        ": leave out \"online\": false and the engine drops it "
                                                        "CONCURRENTLY");
                }
            },
            [&](const RenameColumn& op) {
                finding("renaming-column", "a release still running may use " + op.table + "." + op.column +
                                               ": add " + op.new_name + ", write both, then drop the old column "
                                               "in a later release");
            },
            [&](const RenameTable& op) {
                finding("renaming-table", "a release still running may use " + op.table + ": create " + op.new_name +
                                              " beside it and move over in steps, or waive this when no release "
                                              "reads it");
            },
            [&](const DropColumn& op) {
                finding("dropping-column", "a release still running may still read " + op.table + "." + op.column +
                                               ": stop using it in one release, drop it in the next");
            },
            [&](const DropTable& op) {
                finding("dropping-table", "a release still running may still read " + op.table +
                                              ": stop using it in one release, drop it in the next");
            },
            [&](const auto&) {},
        },
        operation);
    return found;
}

// After `operation`: the schema, and the tables that hold rows under their new names.
void advance(Walk& walk, const Operation& operation) {
    follow_existing_tables(operation, walk.existing_tables);
    apply(operation, walk.schema);
}

// Marks the findings the revision waives; returns the waivers that matched none.
std::vector<LintWaiver> apply_waivers(const Revision& revision, std::vector<LintedOperation>& operations) {
    std::vector<LintWaiver> unused;
    for (const auto& waiver : revision.lint_waivers) {
        bool used = false;
        for (auto& operation : operations) {
            if (operation.index != waiver.operation) continue;
            for (auto& finding : operation.findings) {
                if (finding.rule == waiver.rule) {
                    finding.waived = waiver.reason;
                    used = true;
                }
            }
        }
        if (!used) unused.push_back(waiver);
    }
    return unused;
}

// The schema the revisions `down_revisions` and `depends_on` build, and all below them.
schema::Schema schema_below(const RevisionGraph& graph, Names ids) {
    schema::Schema schema;
    auto wanted = graph.ancestry(ids);
    for (const auto& id : graph.topological_order()) {
        if (wanted.count(id) == 0) continue;
        for (const auto& operation : graph.get(id).upgrade) apply(operation, schema);
    }
    return schema;
}

Names below_of(const Revision& revision) {
    Names ids = revision.down_revisions;
    ids.insert(ids.end(), revision.depends_on.begin(), revision.depends_on.end());
    return ids;
}

// The revisions of `range`, oldest first.
Names revisions_in(const RevisionGraph& graph, const std::string& range) {
    if (!range.empty() && range.find(':') == std::string::npos) return {graph.resolve_revision(range)};
    Names ids = history_revisions(graph, range);
    std::reverse(ids.begin(), ids.end());
    return ids;
}

std::string_view work_code(TableWork work) {
    switch (work) {
        case TableWork::none: return "none";
        case TableWork::scan: return "scan";
        case TableWork::rewrite: return "rewrite";
        case TableWork::rebuild: return "rebuild";
        case TableWork::unknown: return "unknown";
    }
    return "unknown";
}

std::string joined(const Names& names) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
    return out;
}

// "CREATE INDEX takes SHARE on reciperun, scans the table"
std::string step_text(const LockStep& step) {
    std::string out = step.statement + " takes " + std::string(to_string(step.lock));
    if (!step.tables.empty()) out += " on " + joined(step.tables);
    return out + ", " + std::string(to_string(step.work));
}

std::string finding_text(const LintFinding& finding) {
    return finding.rule + (finding.waived ? " (waived: " + *finding.waived + ")" : "") + ": " + finding.message;
}

std::string location(const LintedOperation& operation) {
    return "upgrade." + std::to_string(operation.index) + " " + operation.description;
}

}  // namespace

const std::vector<LintRule>& lint_rules() { return rules; }

bool is_lint_rule(std::string_view name) {
    return std::any_of(rules.begin(), rules.end(), [&](const LintRule& rule) { return rule.name == name; });
}

std::string_view to_string(LockMode mode) {
    switch (mode) {
        case LockMode::share_update_exclusive: return "SHARE UPDATE EXCLUSIVE";
        case LockMode::share: return "SHARE";
        case LockMode::share_row_exclusive: return "SHARE ROW EXCLUSIVE";
        case LockMode::access_exclusive: return "ACCESS EXCLUSIVE";
        case LockMode::database_write: return "the database write lock";
        case LockMode::unknown: return "unknown lock";
    }
    return "unknown lock";
}

std::string_view to_string(TableWork work) {
    switch (work) {
        case TableWork::none: return "metadata only";
        case TableWork::scan: return "scans the table";
        case TableWork::rewrite: return "rewrites the table";
        case TableWork::rebuild: return "copies every row into a new table";
        case TableWork::unknown: return "unknown work";
    }
    return "unknown work";
}

std::size_t LintReport::findings() const {
    std::size_t count = 0;
    for (const auto& revision : revisions) {
        for (const auto& operation : revision.operations) {
            for (const auto& finding : operation.findings) count += finding.waived ? 0 : 1;
        }
    }
    return count;
}

std::size_t LintReport::waived() const {
    std::size_t count = 0;
    for (const auto& revision : revisions) {
        for (const auto& operation : revision.operations) {
            for (const auto& finding : operation.findings) count += finding.waived ? 1 : 0;
        }
    }
    return count;
}

LintedRevision lint_revision(const Revision& revision, const schema::Schema& before, const Dialect& dialect) {
    Walk walk{before, {}};
    for (const auto& table : before.tables) walk.existing_tables.push_back(table.name);
    LintedRevision linted{revision.id, revision.message, revision.path.string(), {}, {}};
    for (std::size_t i = 0; i < revision.upgrade.size(); ++i) {
        const Operation& operation = revision.upgrade[i];
        LintedOperation out;
        out.index = i;
        out.description = describe(operation);
        const std::string table = table_of(operation);
        out.new_table = !table.empty() && !contains(walk.existing_tables, table);
        try {
            // The engine's decision, from the one place that makes it.
            const OnlineRewrite rewrite = online_rewrite(operation, walk.existing_tables, dialect);
            out.steps = dialect.backend() == Backend::postgresql ? postgresql_steps(operation, rewrite, walk)
                                                                 : sqlite_steps(operation, walk);
            out.findings = findings_of(operation, rewrite, out.steps, walk, dialect);
            advance(walk, operation);
        } catch (const MigrationError& error) {
            throw MigrationError("revision " + revision.id + " (" + revision.path.string() + "), upgrade." +
                                 std::to_string(i) + ": " + error.what());
        }
        linted.operations.push_back(std::move(out));
    }
    linted.unused_waivers = apply_waivers(revision, linted.operations);
    return linted;
}

LintedRevision lint_revision(const RevisionGraph& graph, const Revision& revision, const Dialect& dialect) {
    return lint_revision(revision, schema_below(graph, below_of(revision)), dialect);
}

LintReport lint(const RevisionGraph& graph, const std::string& range, const Dialect& dialect) {
    LintReport report;
    report.dialect = dialect.backend();
    for (const auto& id : revisions_in(graph, range)) {
        report.revisions.push_back(lint_revision(graph, graph.get(id), dialect));
    }
    return report;
}

std::vector<std::string> finding_lines(const LintedRevision& revision) {
    std::vector<std::string> lines;
    for (const auto& operation : revision.operations) {
        for (const auto& finding : operation.findings) {
            lines.push_back(location(operation) + ": " + finding_text(finding));
        }
    }
    return lines;
}

std::vector<std::string> lint_lines(const LintReport& report) {
    std::vector<std::string> lines;
    std::size_t operations = 0;
    for (const auto& revision : report.revisions) {
        lines.push_back(revision.id + " " + revision.message + " (" + revision.path + ")");
        for (const auto& operation : revision.operations) {
            ++operations;
            std::string steps;
            for (const auto& step : operation.steps) steps += (steps.empty() ? "" : "; then ") + step_text(step);
            lines.push_back("  " + location(operation) + ": " + steps +
                            (operation.new_table ? " [new table: empty]" : ""));
            for (const auto& finding : operation.findings) lines.push_back("    " + finding_text(finding));
        }
        for (const auto& waiver : revision.unused_waivers) {
            lines.push_back("  note: the waiver of " + waiver.rule + " for upgrade." +
                            std::to_string(waiver.operation) + " matches no finding: remove it");
        }
    }
    auto count = [](std::size_t n, const std::string& what) {
        return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
    };
    lines.push_back(count(report.revisions.size(), "revision") + ", " + count(operations, "operation") + " on " +
                    std::string(db::to_string(report.dialect)) + ": " + count(report.findings(), "finding") +
                    " not waived, " + std::to_string(report.waived()) + " waived");
    return lines;
}

nlohmann::json lint_json(const LintReport& report) {
    nlohmann::json revisions = nlohmann::json::array();
    for (const auto& revision : report.revisions) {
        nlohmann::json operations = nlohmann::json::array();
        for (const auto& operation : revision.operations) {
            nlohmann::json steps = nlohmann::json::array();
            for (const auto& step : operation.steps) {
                steps.push_back({{"lock", std::string(to_string(step.lock))},
                                 {"tables", step.tables},
                                 {"work", std::string(work_code(step.work))},
                                 {"statement", step.statement}});
            }
            nlohmann::json findings = nlohmann::json::array();
            for (const auto& finding : operation.findings) {
                findings.push_back({{"rule", finding.rule},
                                    {"message", finding.message},
                                    {"waived", finding.waived.has_value()},
                                    {"reason", finding.waived ? nlohmann::json(*finding.waived) : nlohmann::json()}});
            }
            operations.push_back({{"index", operation.index},
                                  {"operation", operation.description},
                                  {"new_table", operation.new_table},
                                  {"steps", steps},
                                  {"findings", findings}});
        }
        nlohmann::json unused = nlohmann::json::array();
        for (const auto& waiver : revision.unused_waivers) {
            unused.push_back({{"rule", waiver.rule}, {"operation", waiver.operation}, {"reason", waiver.reason}});
        }
        revisions.push_back({{"revision", revision.id},
                             {"message", revision.message},
                             {"path", revision.path},
                             {"operations", operations},
                             {"unused_waivers", unused}});
    }
    return {{"dialect", std::string(db::to_string(report.dialect))},
            {"ok", report.ok()},
            {"findings", report.findings()},
            {"waived", report.waived()},
            {"revisions", revisions}};
}

}  // namespace pangeo_forge::migrate
