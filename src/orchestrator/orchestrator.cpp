#include "pangeo_forge/orchestrator/orchestrator.hpp"

#include <algorithm>
#include <climits>

#include <date/date.h>

#include "db/soci_access.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/json_reader.hpp"
#include "support/text.hpp"

namespace pangeo_forge::orchestrator {
namespace {

using db::Connection;
using model::Timestamp;

// --- values in the database ---------------------------------------------------------

// SQLAlchemy's storage form, which both SQLite (as text) and PostgreSQL read.
std::string database_timestamp(Timestamp value) {
    auto seconds = date::floor<std::chrono::seconds>(value);
    std::string micros = std::to_string((value - seconds).count());
    return date::format("%Y-%m-%d %H:%M:%S", seconds) + "." + std::string(6 - micros.size(), '0') + micros;
}

Timestamp timestamp_from_database(const std::string& text, const std::string& where) {
    if (auto value = model::parse_timestamp(text)) return *value;
    throw DatabaseError(where + " holds the timestamp '" + text + "', which pangeo_forge cannot read");
}

template <class Enum>
Enum enum_from_database(const std::string& text, const std::string& where) {
    if (auto value = model::parse_enum<Enum>(text)) return *value;
    throw DatabaseError(where + " holds '" + text + "', which is not one of " +
                        detail::joined(std::vector<std::string>(model::enum_names<Enum>().begin(),
                                                                model::enum_names<Enum>().end())));
}

// A nullable text column read with its indicator.
struct NullableText {
    std::string value;
    soci::indicator indicator = soci::i_ok;

    bool null() const { return indicator == soci::i_null; }
    std::optional<std::string> get() const { return null() ? std::nullopt : std::optional<std::string>(value); }
};

// --- reading rows: each reader binds its into() targets and builds the model --------

// Each reader's column list takes a table alias ("r."), for joins.
struct BakeryReader {
    static std::string columns(const std::string& t = "") {
        return t + "id, " + t + "region, " + t + "name, " + t + "description";
    }
    long long id = 0;
    std::string region, name, description;

    void bind(soci::statement& statement) {
        statement.exchange(soci::into(id));
        statement.exchange(soci::into(region));
        statement.exchange(soci::into(name));
        statement.exchange(soci::into(description));
    }
    model::Bakery value() const {
        model::Bakery bakery;
        bakery.id = id;
        bakery.region = region;
        bakery.name = name;
        bakery.description = description;
        return bakery;
    }
};

struct FeedstockReader {
    static std::string columns(const std::string& t = "") { return t + "id, " + t + "spec, " + t + "provider"; }
    long long id = 0;
    std::string spec, provider;

    void bind(soci::statement& statement) {
        statement.exchange(soci::into(id));
        statement.exchange(soci::into(spec));
        statement.exchange(soci::into(provider));
    }
    model::Feedstock value() const {
        model::Feedstock feedstock;
        feedstock.id = id;
        feedstock.spec = spec;
        feedstock.provider = enum_from_database<model::RepoProvider>(provider, "feedstock " + std::to_string(id));
        return feedstock;
    }
};

struct RecipeRunReader {
    // Timestamps as text and is_test as 0/1, so that both backends hand over the same.
    static std::string columns(const std::string& t = "") {
        return t + "id, " + t + "recipe_id, " + t + "bakery_id, " + t + "feedstock_id, " + t + "head_sha, " + t +
               "version, CAST(" + t + "started_at AS VARCHAR), CAST(" + t + "completed_at AS VARCHAR), " + t +
               "conclusion, " + t + "status, " + t + "message, CASE WHEN " + t + "is_test THEN 1 ELSE 0 END, " + t +
               "dataset_type, " + t + "dataset_public_url";
    }
    long long id = 0, bakery_id = 0, feedstock_id = 0;
    std::string recipe_id, head_sha, version, started_at, status;
    NullableText completed_at, conclusion, message, dataset_type, dataset_public_url;
    int is_test = 0;

    void bind(soci::statement& statement) {
        statement.exchange(soci::into(id));
        statement.exchange(soci::into(recipe_id));
        statement.exchange(soci::into(bakery_id));
        statement.exchange(soci::into(feedstock_id));
        statement.exchange(soci::into(head_sha));
        statement.exchange(soci::into(version));
        statement.exchange(soci::into(started_at));
        statement.exchange(soci::into(completed_at.value, completed_at.indicator));
        statement.exchange(soci::into(conclusion.value, conclusion.indicator));
        statement.exchange(soci::into(status));
        statement.exchange(soci::into(message.value, message.indicator));
        statement.exchange(soci::into(is_test));
        statement.exchange(soci::into(dataset_type.value, dataset_type.indicator));
        statement.exchange(soci::into(dataset_public_url.value, dataset_public_url.indicator));
    }
    model::RecipeRun value() const {
        const std::string where = "recipe run " + std::to_string(id);
        model::RecipeRun run;
        run.id = id;
        run.recipe_id = recipe_id;
        run.bakery_id = bakery_id;
        run.feedstock_id = feedstock_id;
        run.head_sha = head_sha;
        run.version = version;
        run.started_at = timestamp_from_database(started_at, where);
        if (!completed_at.null()) run.completed_at = timestamp_from_database(completed_at.value, where);
        if (!conclusion.null()) run.conclusion = enum_from_database<model::RecipeRunConclusion>(conclusion.value, where);
        run.status = enum_from_database<model::RecipeRunStatus>(status, where);
        run.message = message.get();
        run.is_test = is_test != 0;
        if (!dataset_type.null()) run.dataset_type = enum_from_database<model::DatasetType>(dataset_type.value, where);
        run.dataset_public_url = dataset_public_url.get();
        return run;
    }
};

// A run with its bakery and its feedstock, from one joined row.
struct RunWithRelationsReader {
    RecipeRunReader run;
    BakeryReader bakery;
    FeedstockReader feedstock;

    static std::string query() {
        return "SELECT " + RecipeRunReader::columns("r.") + ", " + BakeryReader::columns("b.") + ", " +
               FeedstockReader::columns("f.") +
               " FROM reciperun r JOIN bakery b ON b.id = r.bakery_id JOIN feedstock f ON f.id = r.feedstock_id "
               "WHERE r.id = :id";
    }
    void bind(soci::statement& statement) {
        run.bind(statement);
        bakery.bind(statement);
        feedstock.bind(statement);
    }
    model::RecipeRunWithRelations value() const { return {run.value(), bakery.value(), feedstock.value()}; }
};

// A query prepared once per connection, with its reader and parameters bound for good.
template <class Reader>
struct PreparedQuery : db::CachedStatement {
    PreparedQuery(soci::session& session, const std::string& sql, std::size_t parameter_count)
        : parameters(parameter_count), statement(session) {
        reader.bind(statement);
        for (auto& parameter : parameters) statement.exchange(soci::use(parameter));
        statement.alloc();
        statement.prepare(sql);
        statement.define_and_bind();
    }
    Reader reader;
    std::vector<long long> parameters;
    soci::statement statement;
};

// Runs `sql` (its parameters bound in order) and reads every row with a Reader. The
// statement is prepared on the connection's first use of `sql` and kept.
template <class Reader>
auto fetch_all(Connection& connection, const std::string& sql, const std::vector<long long>& parameters = {}) {
    return db::translating_errors(connection, "cannot read", [&] {
        auto& query = db::cached_statement<PreparedQuery<Reader>>(connection, sql, [&] {
            return std::make_unique<PreparedQuery<Reader>>(db::soci_session(connection), sql, parameters.size());
        });
        query.parameters = parameters;
        std::vector<decltype(query.reader.value())> rows;
        try {
            query.statement.execute(false);
            while (query.statement.fetch()) rows.push_back(query.reader.value());
        } catch (...) {
            db::finish_use(connection, query.statement);
            throw;
        }
        db::finish_use(connection, query.statement);
        return rows;
    });
}

long long count(Connection& connection, const std::string& sql, std::vector<long long> parameters = {}) {
    return db::translating_errors(connection, "cannot count", [&] {
        long long result = 0;
        soci::statement statement(db::soci_session(connection));
        statement.exchange(soci::into(result));
        for (auto& parameter : parameters) statement.exchange(soci::use(parameter));
        statement.alloc();
        statement.prepare(sql);
        statement.define_and_bind();
        statement.execute(true);
        return result;
    });
}

// --- the tables -----------------------------------------------------------------------

struct TableInfo {
    const char* table;
    const char* not_found;  // the Python service's 404 detail
    std::vector<std::string> columns;
};

const TableInfo bakeries_table{"bakery", "Bakery not found", {"id", "region", "name", "description"}};
const TableInfo feedstocks_table{"feedstock", "Feedstock not found", {"id", "spec", "provider"}};
const TableInfo runs_table{"reciperun", "RecipeRun not found",
                           {"id", "recipe_id", "bakery_id", "feedstock_id", "head_sha", "version", "started_at",
                            "completed_at", "conclusion", "status", "message", "is_test", "dataset_type",
                            "dataset_public_url"}};

// ORDER BY and the page's bounds, after checking the page as FastAPI checks a query.
std::string page_clause(const Page& page, const TableInfo& info, const db::Dialect& dialect) {
    detail::ErrorList errors;
    if (page.offset < 0) {
        errors.add({"query", "offset"}, detail::Problem{"ensure this value is greater than or equal to 0",
                                                         "value_error.number.not_ge", {{"limit_value", 0}}});
    }
    if (page.limit < 1 || page.limit > 100) {
        errors.add({"query", "limit"}, detail::Problem{"ensure this value is between 1 and 100",
                                                        "value_error.number.not_le", {{"limit_value", 100}}});
    }
    if (std::find(info.columns.begin(), info.columns.end(), page.order_by) == info.columns.end()) {
        errors.add({"query", "order_by"},
                   detail::Problem{"order_by must be a column of " + std::string(info.table) + ": " +
                                       detail::joined(info.columns),
                                   "value_error.order_by", {}});
    }
    errors.throw_if_any();
    // NULLs last going up and first going down, as PostgreSQL orders them, on both backends.
    return " ORDER BY " + dialect.quote(page.order_by) +
           (page.sort == SortOrder::desc ? " DESC NULLS FIRST" : " ASC NULLS LAST") + ", id LIMIT " + std::to_string(page.limit) + " OFFSET " + std::to_string(page.offset);
}

template <class Reader>
auto read_page(Connection& connection, const TableInfo& info, const Page& page) {
    return fetch_all<Reader>(connection, std::string("SELECT ") + Reader::columns() + " FROM " + info.table +
                                             page_clause(page, info, connection.dialect()));
}

// The id columns are 32-bit integers: a larger id names no row (and PostgreSQL would
// refuse to compare with it).
bool fits_an_id(std::int64_t id) { return id >= INT32_MIN && id <= INT32_MAX; }

// One row by id. `for_update` locks it on PostgreSQL until the transaction ends, so that
// concurrent partial updates do not write back each other's old values.
template <class Reader>
auto read_one(Connection& connection, const TableInfo& info, std::int64_t id, bool for_update = false) {
    if (!fits_an_id(id)) throw NotFound(info.not_found);
    bool lock = for_update && connection.backend() == db::Backend::postgresql;
    auto rows = fetch_all<Reader>(connection, std::string("SELECT ") + Reader::columns() + " FROM " + info.table +
                                                  " WHERE id = :id" + (lock ? " FOR UPDATE" : ""),
                                  {id});
    if (rows.empty()) throw NotFound(info.not_found);
    return rows.front();
}

std::vector<model::RecipeRun> runs_where(Connection& connection, const std::string& column, std::int64_t id) {
    return fetch_all<RecipeRunReader>(
        connection, std::string("SELECT ") + RecipeRunReader::columns() + " FROM reciperun WHERE " + column +
                        " = :id ORDER BY id",
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

// The values of a run's columns, bound in the order of `run_columns_written`.
struct RunValues {
    std::string recipe_id, head_sha, version, started_at, status;
    long long bakery_id = 0, feedstock_id = 0;
    NullableText completed_at, conclusion, message, dataset_type, dataset_public_url;
    int is_test = 0;

    explicit RunValues(const model::RecipeRunBase& run)
        : recipe_id(run.recipe_id), head_sha(run.head_sha), version(run.version),
          started_at(database_timestamp(run.started_at)), status(model::to_string(run.status)),
          bakery_id(run.bakery_id), feedstock_id(run.feedstock_id), is_test(run.is_test ? 1 : 0) {
        set(completed_at, run.completed_at ? std::optional<std::string>(database_timestamp(*run.completed_at))
                                           : std::nullopt);
        set(conclusion, run.conclusion ? std::optional<std::string>(model::to_string(*run.conclusion)) : std::nullopt);
        set(message, run.message);
        set(dataset_type,
            run.dataset_type ? std::optional<std::string>(model::to_string(*run.dataset_type)) : std::nullopt);
        set(dataset_public_url, run.dataset_public_url);
    }

    static void set(NullableText& field, const std::optional<std::string>& value) {
        field.value = value.value_or("");
        field.indicator = value ? soci::i_ok : soci::i_null;
    }

    void bind(soci::statement& statement) {
        statement.exchange(soci::use(recipe_id));
        statement.exchange(soci::use(bakery_id));
        statement.exchange(soci::use(feedstock_id));
        statement.exchange(soci::use(head_sha));
        statement.exchange(soci::use(version));
        statement.exchange(soci::use(started_at));
        statement.exchange(soci::use(completed_at.value, completed_at.indicator));
        statement.exchange(soci::use(conclusion.value, conclusion.indicator));
        statement.exchange(soci::use(status));
        statement.exchange(soci::use(message.value, message.indicator));
        statement.exchange(soci::use(is_test));
        statement.exchange(soci::use(dataset_type.value, dataset_type.indicator));
        statement.exchange(soci::use(dataset_public_url.value, dataset_public_url.indicator));
    }
};

constexpr const char* run_columns_written =
    "recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, completed_at, conclusion, status, message, "
    "is_test, dataset_type, dataset_public_url";

// Runs a write statement with `bind` adding its uses, and returns the id it RETURNs (if any).
template <class Bind>
long long write(Connection& connection, const std::string& sql, Bind bind, bool returns_id) {
    return db::translating_errors(connection, "cannot write", [&] {
        long long id = 0;
        soci::statement statement(db::soci_session(connection));
        if (returns_id) statement.exchange(soci::into(id));
        bind(statement);
        statement.alloc();
        statement.prepare(sql);
        statement.define_and_bind();
        statement.execute(true);
        return id;
    });
}

// The run INSERT, prepared once per connection: the hot path of every bakery's reports.
struct PreparedRunInsert : db::CachedStatement {
    PreparedRunInsert(soci::session& session, const std::string& sql)
        : values(model::RecipeRunBase{}), statement(session) {
        statement.exchange(soci::into(id));
        values.bind(statement);
        statement.alloc();
        statement.prepare(sql);
        statement.define_and_bind();
    }
    RunValues values;
    long long id = 0;
    soci::statement statement;
};

long long insert_run(Connection& connection, const model::RecipeRunBase& run) {
    static const std::string sql = std::string("INSERT INTO reciperun (") + run_columns_written +
                                   ") VALUES (:a, :b, :c, :d, :e, :f, :g, :h, :i, :j, :k, :l, :m) RETURNING id";
    return db::translating_errors(connection, "cannot write", [&] {
        auto& insert = db::cached_statement<PreparedRunInsert>(
            connection, sql, [&] { return std::make_unique<PreparedRunInsert>(db::soci_session(connection), sql); });
        insert.values = RunValues(run);  // into the bound variables, whose addresses stay
        try {
            insert.statement.execute(true);
        } catch (...) {
            db::finish_use(connection, insert.statement);
            throw;
        }
        db::finish_use(connection, insert.statement);
        return insert.id;
    });
}

Timestamp now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

// A bakery or feedstock in use by runs cannot go.
void refuse_if_used(Connection& connection, const char* what, const char* column, std::int64_t id) {
    long long runs = count(connection, std::string("SELECT COUNT(*) FROM reciperun WHERE ") + column + " = :id", {id});
    if (runs > 0) {
        throw Conflict(std::string(what) + " " + std::to_string(id) + " is used by " + std::to_string(runs) +
                       (runs == 1 ? " recipe run" : " recipe runs") + ": delete or move those first");
    }
}

// Bakery names are unique: say which bakery has the name, before the database refuses it.
void refuse_duplicate_name(Connection& connection, const std::string& name, std::int64_t own_id) {
    std::string wanted = name;
    long long id = own_id;
    long long holder = db::translating_errors(connection, "cannot read", [&] {
        long long found = 0;
        soci::indicator indicator = soci::i_null;
        db::soci_session(connection) << "SELECT id FROM bakery WHERE name = :name AND id <> :id",
            soci::use(wanted), soci::use(id), soci::into(found, indicator);
        return indicator == soci::i_ok ? found : 0;
    });
    if (holder != 0) {
        throw Conflict("a bakery named '" + name + "' exists already (id " + std::to_string(holder) +
                       "): bakery names are unique");
    }
}

void delete_row(Connection& connection, const TableInfo& info, std::int64_t id) {
    long long key = id;
    write(connection, std::string("DELETE FROM ") + info.table + " WHERE id = :id",
          [&](soci::statement& statement) { statement.exchange(soci::use(key)); }, false);
}

}  // namespace

bool Dataset::operator==(const Dataset& other) const {
    return recipe_id == other.recipe_id && feedstock_id == other.feedstock_id && dataset_type == other.dataset_type &&
           dataset_public_url == other.dataset_public_url && is_test == other.is_test;
}

void to_json(nlohmann::json& out, const Dataset& dataset) {
    out = {{"recipe_id", dataset.recipe_id},
           {"feedstock_id", dataset.feedstock_id},
           {"dataset_type", dataset.dataset_type ? nlohmann::json(std::string(model::to_string(*dataset.dataset_type)))
                                                 : nlohmann::json(nullptr)},
           {"dataset_public_url", dataset.dataset_public_url},
           {"is_test", dataset.is_test}};
}

Orchestrator::Orchestrator(db::Database& database, const migrate::RevisionGraph& migrations) : database_(database) {
    migrate::require_head(database, migrations);
}

// --- create -----------------------------------------------------------------------------

model::Bakery Orchestrator::create(const model::BakeryCreate& bakery) {
    auto lease = database_.acquire();
    model::Bakery created{bakery};
    try {
        db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
        refuse_duplicate_name(*lease, bakery.name, 0);
        created.id = write(*lease, "INSERT INTO bakery (region, name, description) VALUES (:r, :n, :d) RETURNING id",
                           [&](soci::statement& statement) {
                               statement.exchange(soci::use(created.region));
                               statement.exchange(soci::use(created.name));
                               statement.exchange(soci::use(created.description));
                           }, true);
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
    std::string provider(model::to_string(created.provider));
    created.id = write(*lease, "INSERT INTO feedstock (spec, provider) VALUES (:s, :p) RETURNING id",
                       [&](soci::statement& statement) {
                           statement.exchange(soci::use(created.spec));
                           statement.exchange(soci::use(provider));
                       }, true);
    transaction.commit();
    return created;
}

model::RecipeRun Orchestrator::create(const model::RecipeRunCreate& run) {
    model::RecipeRun created{run};
    apply_lifecycle(created, run.conclusion.has_value(), run.completed_at.has_value(), now());
    auto lease = database_.acquire();
    writing_run(*lease, created, [&](auto written) {
        written();
        created.id = insert_run(*lease, created);
    });
    return created;
}

// --- read -------------------------------------------------------------------------------

std::vector<model::Bakery> Orchestrator::bakeries(const Page& page) {
    return read_page<BakeryReader>(*database_.acquire(), bakeries_table, page);
}

std::vector<model::Feedstock> Orchestrator::feedstocks(const Page& page) {
    return read_page<FeedstockReader>(*database_.acquire(), feedstocks_table, page);
}

std::vector<model::RecipeRun> Orchestrator::recipe_runs(const Page& page) {
    return read_page<RecipeRunReader>(*database_.acquire(), runs_table, page);
}

model::BakeryWithRecipeRuns Orchestrator::bakery(std::int64_t id) {
    auto lease = database_.acquire();
    auto bakery = read_one<BakeryReader>(*lease, bakeries_table, id);
    return {bakery, runs_where(*lease, "bakery_id", id)};
}

model::FeedstockWithRecipeRuns Orchestrator::feedstock(std::int64_t id) {
    auto lease = database_.acquire();
    auto feedstock = read_one<FeedstockReader>(*lease, feedstocks_table, id);
    return {feedstock, runs_where(*lease, "feedstock_id", id)};
}

model::RecipeRunWithRelations Orchestrator::recipe_run(std::int64_t id) {
    if (!fits_an_id(id)) throw NotFound(runs_table.not_found);
    auto rows = fetch_all<RunWithRelationsReader>(*database_.acquire(), RunWithRelationsReader::query(), {id});
    if (rows.empty()) throw NotFound(runs_table.not_found);
    return rows.front();
}

// --- update -----------------------------------------------------------------------------

model::Bakery Orchestrator::update(std::int64_t id, const model::BakeryUpdate& update) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    auto bakery = read_one<BakeryReader>(*lease, bakeries_table, id, true);
    model::apply_update(bakery, update);
    if (update.name) refuse_duplicate_name(*lease, bakery.name, id);
    long long key = id;
    write(*lease, "UPDATE bakery SET region = :r, name = :n, description = :d WHERE id = :id",
          [&](soci::statement& statement) {
              statement.exchange(soci::use(bakery.region));
              statement.exchange(soci::use(bakery.name));
              statement.exchange(soci::use(bakery.description));
              statement.exchange(soci::use(key));
          }, false);
    transaction.commit();
    return bakery;
}

model::Feedstock Orchestrator::update(std::int64_t id, const model::FeedstockUpdate& update) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    auto feedstock = read_one<FeedstockReader>(*lease, feedstocks_table, id, true);
    model::apply_update(feedstock, update);
    std::string provider(model::to_string(feedstock.provider));
    long long key = id;
    write(*lease, "UPDATE feedstock SET spec = :s, provider = :p WHERE id = :id",
          [&](soci::statement& statement) {
              statement.exchange(soci::use(feedstock.spec));
              statement.exchange(soci::use(provider));
              statement.exchange(soci::use(key));
          }, false);
    transaction.commit();
    return feedstock;
}

model::RecipeRun Orchestrator::update(std::int64_t id, const model::RecipeRunUpdate& update) {
    auto lease = database_.acquire();
    model::RecipeRun run;
    writing_run(*lease, run, [&](auto written) {
        run = read_one<RecipeRunReader>(*lease, runs_table, id, true);
        model::apply_update(run, update);
        apply_lifecycle(run, update.conclusion.has_value() && update.conclusion->has_value(),
                        update.completed_at.has_value(), now());
        RunValues values(run);
        long long key = id;
        written();
        write(*lease,
              "UPDATE reciperun SET recipe_id = :a, bakery_id = :b, feedstock_id = :c, head_sha = :d, version = :e, "
              "started_at = :f, completed_at = :g, conclusion = :h, status = :i, message = :j, is_test = :k, "
              "dataset_type = :l, dataset_public_url = :m WHERE id = :id",
              [&](soci::statement& statement) {
                  values.bind(statement);
                  statement.exchange(soci::use(key));
              }, false);
    });
    return run;
}

// --- delete -----------------------------------------------------------------------------

void Orchestrator::delete_bakery(std::int64_t id) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    read_one<BakeryReader>(*lease, bakeries_table, id);
    refuse_if_used(*lease, "bakery", "bakery_id", id);
    delete_row(*lease, bakeries_table, id);
    transaction.commit();
}

void Orchestrator::delete_feedstock(std::int64_t id) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    read_one<FeedstockReader>(*lease, feedstocks_table, id);
    refuse_if_used(*lease, "feedstock", "feedstock_id", id);
    delete_row(*lease, feedstocks_table, id);
    transaction.commit();
}

void Orchestrator::delete_recipe_run(std::int64_t id) {
    auto lease = database_.acquire();
    db::Transaction transaction(*lease, db::Transaction::Mode::immediate);
    read_one<RecipeRunReader>(*lease, runs_table, id);
    delete_row(*lease, runs_table, id);
    transaction.commit();
}

// --- datasets and stats ---------------------------------------------------------------------

namespace {

struct DatasetReader {
    std::string recipe_id, url;
    long long feedstock_id = 0;
    NullableText type;
    int is_test = 0;

    void bind(soci::statement& statement) {
        statement.exchange(soci::into(recipe_id));
        statement.exchange(soci::into(feedstock_id));
        statement.exchange(soci::into(type.value, type.indicator));
        statement.exchange(soci::into(url));
        statement.exchange(soci::into(is_test));
    }
    Dataset value() const {
        Dataset dataset{recipe_id, feedstock_id, std::nullopt, url, is_test != 0};
        if (!type.null()) dataset.dataset_type = enum_from_database<model::DatasetType>(type.value, "a recipe run");
        return dataset;
    }
};

constexpr const char* successful_datasets =
    "dataset_public_url IS NOT NULL AND status = 'completed' AND conclusion = 'success'";

}  // namespace

std::vector<Dataset> Orchestrator::datasets(std::int64_t feedstock_id, DatasetFilter filter) {
    auto lease = database_.acquire();
    read_one<FeedstockReader>(*lease, feedstocks_table, feedstock_id);
    std::string sql = std::string("SELECT recipe_id, feedstock_id, dataset_type, dataset_public_url, "
                                  "CASE WHEN is_test THEN 1 ELSE 0 END FROM reciperun WHERE feedstock_id = :f AND ") +
                      successful_datasets;
    std::vector<long long> parameters{feedstock_id};
    if (filter != DatasetFilter::all) {
        sql += " AND is_test = :t";
        parameters.push_back(filter == DatasetFilter::test ? 1 : 0);
    }
    return fetch_all<DatasetReader>(*lease, sql + " ORDER BY id", parameters);
}

std::int64_t Orchestrator::count_bakeries() { return count(*database_.acquire(), "SELECT COUNT(*) FROM bakery"); }

std::int64_t Orchestrator::count_feedstocks() { return count(*database_.acquire(), "SELECT COUNT(*) FROM feedstock"); }

std::int64_t Orchestrator::count_recipe_runs() { return count(*database_.acquire(), "SELECT COUNT(*) FROM reciperun"); }

std::int64_t Orchestrator::count_datasets(bool exclude_test_runs) {
    if (!exclude_test_runs) {
        return count(*database_.acquire(), "SELECT COUNT(*) FROM reciperun WHERE dataset_public_url IS NOT NULL");
    }
    return count(*database_.acquire(),
                 std::string("SELECT COUNT(*) FROM reciperun WHERE ") + successful_datasets + " AND is_test = :t", {0});
}

SortOrder parse_sort_order(const std::string& text) {
    if (text == "asc") return SortOrder::asc;
    if (text == "desc") return SortOrder::desc;
    throw ValidationError({FieldError{{"query", "sort"},
                                      "value is not a valid enumeration member; permitted: 'asc', 'desc'",
                                      "type_error.enum", {{"enum_values", {"asc", "desc"}}}}});
}

}  // namespace pangeo_forge::orchestrator
