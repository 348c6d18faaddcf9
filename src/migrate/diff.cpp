#include "pangeo_forge/migrate/diff.hpp"

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/migrate/operations.hpp"

namespace pangeo_forge::migrate {
namespace {

schema::Schema application_schema(db::Database& database) {
    auto lease = database.acquire();
    return db::reflect(*lease, engine_tables());
}

nlohmann::json operations_json(const std::vector<Operation>& operations) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& operation : operations) out.push_back(to_json(operation));
    return out;
}

}  // namespace

DatabaseDiff diff(db::Database& from, db::Database& to) {
    DatabaseDiff result;
    result.from_backend = from.backend();
    result.from = application_schema(from);
    result.comparison = compare(application_schema(to), result.from);
    return result;
}

std::string diff_sql(const DatabaseDiff& diff) {
    const db::Dialect dialect(diff.from_backend);
    schema::Schema schema = diff.from;  // render() brings it up to date as it goes
    auto steps = render(diff.comparison.upgrade, schema, dialect);
    std::string script = "-- pangeo_forge diff script, " + std::string(dialect.name()) + ": " +
                         std::to_string(diff.comparison.upgrade.size()) + " operation(s) from A's schema to B's\n\n";
    if (steps.empty()) return script;
    for (const auto& statement : dialect.migration_script_prologue()) script += statement + ";\n\n";
    // Each step as the engine runs it (ddl.hpp's Isolation): CREATE and DROP INDEX CONCURRENTLY
    // refuse a transaction block, and a validation has a transaction of its own.
    bool open = false;
    auto close = [&] {
        if (open) script += "COMMIT;\n\n";
        open = false;
    };
    for (const auto& step : steps) {
        if (step.isolation != Isolation::in_transaction) close();
        if (step.isolation != Isolation::no_transaction && !open) {
            script += "BEGIN;\n\n";
            open = true;
        }
        script += "-- " + step.description + "\n\n";
        for (const auto& statement : step.statements) script += statement + ";\n\n";
        if (step.isolation == Isolation::own_transaction) close();
    }
    close();
    for (const auto& statement : dialect.migration_script_epilogue()) script += statement + ";\n";
    return script;
}

nlohmann::json diff_json(const DatabaseDiff& diff) {
    const auto& comparison = diff.comparison;
    return {{"equal", diff.empty()},
            {"upgrade", operations_json(comparison.upgrade)},
            {"downgrade", operations_json(comparison.downgrade)},
            {"differences", comparison.differences},
            {"notes", comparison.notes},
            {"destructive", comparison.destructive}};
}

}  // namespace pangeo_forge::migrate
