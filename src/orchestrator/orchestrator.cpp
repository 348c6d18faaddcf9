#include "pangeo_forge/orchestrator/orchestrator.hpp"

#include <algorithm>
#include <cctype>
#include <climits>

#include <date/date.h>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "orchestrator/storage.hpp"
#include "support/json_reader.hpp"
#include "support/text.hpp"

namespace pangeo_forge::orchestrator {
namespace {

using namespace storage;


// ORDER BY and the page's bounds, after checking the page as FastAPI checks a query.
template <class Model>
std::string page_clause(const Page& page, const db::Dialect& dialect) {
    static const auto columns = column_names<Model>();
    detail::ErrorList errors;
    if (page.offset < 0) {
        errors.add({"query", "offset"}, detail::Problem{"ensure this value is greater than or equal to 0",
                                                         "value_error.number.not_ge", {{"limit_value", 0}}});
    }
    if (page.limit < 1 || page.limit > 100) {
        errors.add({"query", "limit"}, detail::Problem{"ensure this value is between 1 and 100",
                                                        "value_error.number.not_le", {{"limit_value", 100}}});
    }
    if (std::find(columns.begin(), columns.end(), page.order_by) == columns.end()) {
        errors.add({"query", "order_by"},
                   detail::Problem{"order_by must be a column of " + std::string(Table<Model>::name) + ": " +
                                       detail::joined(columns),
                                   "value_error.order_by", {}});
    }
    errors.throw_if_any();
    // NULLs last going up and first going down, as PostgreSQL orders them, on both backends.
    // The bounds are parameters, so that one kept statement serves every page.
    return " ORDER BY " + dialect.quote(page.order_by) +
           (page.sort == SortOrder::desc ? " DESC NULLS FIRST" : " ASC NULLS LAST") + ", id LIMIT :limit OFFSET :offset";
}

template <class Model>
std::vector<Model> read_page(Connection& connection, const Page& page) {
    return read_all<Model>(connection,
                           "SELECT " + select_list<Model>() + " FROM " + Table<Model>::name +
                               page_clause<Model>(page, connection.dialect()),
                           {std::int64_t{page.limit}, std::int64_t{page.offset}});
}


std::vector<model::RecipeRun> runs_where(Connection& connection, const std::string& column, std::int64_t id) {
    return read_all<model::RecipeRun>(
        connection, "SELECT " + select_list<model::RecipeRun>() + " FROM reciperun WHERE " + column + " = :id ORDER BY id",
        {id});
}

bool exists(Connection& connection, const char* table, std::int64_t id) {
    return fits_an_id(id) && count(connection, std::string("SELECT COUNT(*) FROM ") + table + " WHERE id = :id", {id}) > 0;
}

// A recipe run's references, checked before the database would refuse them less kindly.
void check_references(Connection& connection, const model::RecipeRunBase& run) {
    detail::ErrorList errors;
    if (!exists(connection, "bakery", run.bakery_id)) {
        errors.add({"body", "bakery_id"}, detail::Problem{"there is no bakery " + std::to_string(run.bakery_id) +
                                                               ": create it first, or send the id of one",
                                                           "value_error.foreign_key", {}});
    }
    if (!exists(connection, "feedstock", run.feedstock_id)) {
        errors.add({"body", "feedstock_id"},
                   detail::Problem{"there is no feedstock " + std::to_string(run.feedstock_id) +
                                       ": create it first, or send the id of one",
                                   "value_error.foreign_key", {}});
    }
    errors.throw_if_any();
}

// Writes a run in a transaction of its own. The database's foreign keys guard its
// references; only when the write fails are they looked up, to say which one is missing
// (a lookup before every write would cost two queries on the hot path).
// `write_run(written)` calls `written()` to run the write statement itself.
template <class Write>
void writing_run(Connection& connection, const model::RecipeRunBase& run, Write write_run) {
    bool writing = false;
    try {
        db::Transaction transaction(connection, db::Transaction::Mode::immediate);
        write_run([&] { writing = true; });
        transaction.commit();
    } catch (const DatabaseError&) {
        if (writing) check_references(connection, run);  // throws ValidationError naming the field
        throw;
    }
}


// A bakery or feedstock in use by runs cannot go.
void refuse_if_used(Connection& connection, const char* what, const char* column, std::int64_t id) {
    auto runs = count(connection, std::string("SELECT COUNT(*) FROM reciperun WHERE ") + column + " = :id", {id});
    if (runs > 0) {
        throw Conflict(std::string(what) + " " + std::to_string(id) + " is used by " + std::to_string(runs) +
                       (runs == 1 ? " recipe run" : " recipe runs") + ": delete or move those first");
    }
}

// Bakery names are unique: say which bakery has the name, before the database refuses it.
void refuse_duplicate_name(Connection& connection, const std::string& name, std::int64_t own_id) {
    auto holder = db::query_one(connection, "SELECT id FROM bakery WHERE name = :name AND id <> :id",
                                {ColumnType::integer}, {name, own_id});
    if (holder) {
        throw Conflict("a bakery named '" + name + "' exists already (id " + std::to_string(holder->integer(0)) +
                       "): bakery names are unique");
    }
}

}  // namespace

Orchestrator::Orchestrator(db::Database& database, const migrate::RevisionGraph& migrations, DispatchPolicy policy)
    : database_(database), policy_(policy) {
    if (policy.max_attempts < 1) {
        throw ConfigError("max_attempts is " + std::to_string(policy.max_attempts) +
                          ": a run needs at least 1 attempt (the default is " + std::to_string(default_max_attempts) + ")");
    }
    migrate::require_head(database, migrations);
}

// --- create -----------------------------------------------------------------------------

model::Bakery Orchestrator::create(const model::BakeryCreate& bakery) {
    auto lease = database_.acquire();
    model::Bakery created{bakery};
    try {
        db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
        refuse_duplicate_name(*lease, bakery.name, 0);
        created.id = insert_row<model::Bakery>(*lease, created);
        transaction.commit();
    } catch (const DatabaseError&) {
        refuse_duplicate_name(*lease, bakery.name, 0);  // a concurrent request took the name first
        throw;
    }
    return created;
}

model::Feedstock Orchestrator::create(const model::FeedstockCreate& feedstock) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    model::Feedstock created{feedstock};
    created.id = insert_row<model::Feedstock>(*lease, created);
    transaction.commit();
    return created;
}

model::RecipeRun Orchestrator::create(const model::RecipeRunCreate& run) {
    model::RecipeRun created{run};
    apply_lifecycle(created, run.conclusion.has_value(), run.completed_at.has_value(), now());
    auto lease = database_.acquire();
    writing_run(*lease, created, [&](auto written) {
        written();
        created.id = insert_row<model::RecipeRun>(*lease, created);
    });
    return created;
}

// --- read -------------------------------------------------------------------------------

std::vector<model::Bakery> Orchestrator::bakeries(const Page& page) {
    return read_page<model::Bakery>(*database_.acquire(), page);
}

std::vector<model::Feedstock> Orchestrator::feedstocks(const Page& page) {
    return read_page<model::Feedstock>(*database_.acquire(), page);
}

std::vector<model::RecipeRun> Orchestrator::recipe_runs(const Page& page) {
    return read_page<model::RecipeRun>(*database_.acquire(), page);
}

model::BakeryWithRecipeRuns Orchestrator::bakery(std::int64_t id) {
    auto lease = database_.acquire();
    auto bakery = read_one<model::Bakery>(*lease, id);
    return {bakery, runs_where(*lease, "bakery_id", id)};
}

model::FeedstockWithRecipeRuns Orchestrator::feedstock(std::int64_t id) {
    auto lease = database_.acquire();
    auto feedstock = read_one<model::Feedstock>(*lease, id);
    return {feedstock, runs_where(*lease, "feedstock_id", id)};
}

model::RecipeRunWithRelations Orchestrator::recipe_run(std::int64_t id) {
    if (!fits_an_id(id)) throw NotFound(Table<model::RecipeRun>::not_found());
    auto found = run_with_relations(*database_.acquire(), id);
    if (!found) throw NotFound(Table<model::RecipeRun>::not_found());
    return std::move(*found);
}

// --- update -----------------------------------------------------------------------------

model::Bakery Orchestrator::update(std::int64_t id, const model::BakeryUpdate& update) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    auto bakery = read_one<model::Bakery>(*lease, id, true);
    model::apply_update(bakery, update);
    if (update.name) refuse_duplicate_name(*lease, bakery.name, id);
    update_row(*lease, bakery);
    transaction.commit();
    return bakery;
}

model::Feedstock Orchestrator::update(std::int64_t id, const model::FeedstockUpdate& update) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    auto feedstock = read_one<model::Feedstock>(*lease, id, true);
    model::apply_update(feedstock, update);
    update_row(*lease, feedstock);
    transaction.commit();
    return feedstock;
}

model::RecipeRun Orchestrator::update(std::int64_t id, const model::RecipeRunUpdate& update) {
    auto lease = database_.acquire();
    model::RecipeRun run;
    writing_run(*lease, run, [&](auto written) {
        run = read_one<model::RecipeRun>(*lease, id, true);
        model::apply_update(run, update);
        apply_lifecycle(run, update.conclusion.has_value() && update.conclusion->has_value(),
                        update.completed_at.has_value(), now());
        written();
        update_row(*lease, run);
    });
    return run;
}

// --- delete -----------------------------------------------------------------------------

void Orchestrator::delete_bakery(std::int64_t id) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    read_one<model::Bakery>(*lease, id);
    refuse_if_used(*lease, "bakery", "bakery_id", id);
    delete_row<model::Bakery>(*lease, id);
    transaction.commit();
}

void Orchestrator::delete_feedstock(std::int64_t id) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    read_one<model::Feedstock>(*lease, id);
    refuse_if_used(*lease, "feedstock", "feedstock_id", id);
    delete_row<model::Feedstock>(*lease, id);
    transaction.commit();
}

void Orchestrator::delete_recipe_run(std::int64_t id) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    read_one<model::RecipeRun>(*lease, id, true);  // the run's row first, as the queue locks it
    db::run(*lease, "DELETE FROM dispatch WHERE recipe_run_id = :id", {id});  // its dispatch state goes with it
    db::run(*lease, "DELETE FROM github_report WHERE recipe_run_id = :id", {id});  // and the GitHub App's report of it
    delete_row<model::RecipeRun>(*lease, id);
    transaction.commit();
}

// --- datasets and stats ---------------------------------------------------------------------

namespace {

constexpr const char* successful_datasets =
    "dataset_public_url IS NOT NULL AND status = 'completed' AND conclusion = 'success'";

}  // namespace

std::vector<Dataset> Orchestrator::datasets(std::int64_t feedstock_id, DatasetFilter filter) {
    auto lease = database_.acquire();
    read_one<model::Feedstock>(*lease, feedstock_id);
    std::string sql = "SELECT " + field_select_list<Dataset>() + " FROM reciperun WHERE feedstock_id = :f AND " +
                      successful_datasets;
    std::vector<Value> parameters{feedstock_id};
    if (filter != DatasetFilter::all) {
        sql += " AND is_test = :t";
        parameters.emplace_back(std::int64_t{filter == DatasetFilter::test ? 1 : 0});
    }
    static const auto types = field_column_types<Dataset>();
    std::vector<Dataset> datasets;
    for (auto& row : db::query(*lease, sql + " ORDER BY id", types, std::move(parameters))) {
        std::size_t first = 0;
        static const std::string label = "a recipe run of feedstock";
        read_fields(datasets.emplace_back(), row, first, RowName{label, feedstock_id});
    }
    return datasets;
}

std::int64_t Orchestrator::count_bakeries() { return count(*database_.acquire(), "SELECT COUNT(*) FROM bakery"); }

std::int64_t Orchestrator::count_feedstocks() { return count(*database_.acquire(), "SELECT COUNT(*) FROM feedstock"); }

std::int64_t Orchestrator::count_recipe_runs() { return count(*database_.acquire(), "SELECT COUNT(*) FROM reciperun"); }

std::int64_t Orchestrator::count_datasets(bool exclude_test_runs) {
    if (!exclude_test_runs) {
        return count(*database_.acquire(), "SELECT COUNT(*) FROM reciperun WHERE dataset_public_url IS NOT NULL");
    }
    return count(*database_.acquire(),
                 std::string("SELECT COUNT(*) FROM reciperun WHERE ") + successful_datasets + " AND is_test = :t",
                 {std::int64_t{0}});
}

SortOrder parse_sort_order(const std::string& text) {
    if (text == "asc") return SortOrder::asc;
    if (text == "desc") return SortOrder::desc;
    throw ValidationError({FieldError{{"query", "sort"},
                                      "value is not a valid enumeration member; permitted: 'asc', 'desc'",
                                      "type_error.enum", {{"enum_values", {"asc", "desc"}}}}});
}

}  // namespace pangeo_forge::orchestrator
