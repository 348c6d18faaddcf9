#include "pangeo_forge/orchestrator/orchestrator.hpp"

#include <algorithm>
#include <cctype>
#include <climits>

#include <date/date.h>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/json_reader.hpp"
#include "support/text.hpp"

namespace pangeo_forge::orchestrator {
namespace {

using db::ColumnType;
using db::Connection;
using db::Value;
using model::Timestamp;

// --- how a field's C++ type is stored -------------------------------------------------

// SQLAlchemy's storage form, which both SQLite (as text) and PostgreSQL read.
std::string database_timestamp(Timestamp value) {
    auto seconds = date::floor<std::chrono::seconds>(value);
    std::string micros = std::to_string((value - seconds).count());
    return date::format("%Y-%m-%d %H:%M:%S", seconds) + "." + std::string(6 - micros.size(), '0') + micros;
}

// Names a row in an error about a value that cannot be read ("recipe run 5"). Rows are read
// on every request: the text is made only when there is an error to report.
struct RowName {
    const std::string& label;
    std::int64_t number;
    std::string text() const { return label + " " + std::to_string(number); }
};

[[noreturn]] void unreadable(const RowName& where, const std::string& what) {
    throw DatabaseError(where.text() + " holds " + what + ", which pangeo_forge cannot read");
}

// Storage<T>: the column type a field of type T is read as, the expression that selects it
// (the same on both backends), and the conversions to a bound value and from a read one.
template <class T, class = void>
struct Storage;

template <>
struct Storage<std::string> {
    static constexpr ColumnType column = ColumnType::text;
    static std::string select(const std::string& column) { return column; }
    static Value value(const std::string& field) { return field; }
    static std::string read(db::Row& row, std::size_t i, const RowName&) { return row.take_text(i); }
};

template <>
struct Storage<std::int64_t> {
    static constexpr ColumnType column = ColumnType::integer;
    static std::string select(const std::string& column) { return column; }
    static Value value(std::int64_t field) { return field; }
    static std::int64_t read(db::Row& row, std::size_t i, const RowName&) { return row.integer(i); }
};

template <>
struct Storage<bool> {
    static constexpr ColumnType column = ColumnType::integer;
    static std::string select(const std::string& column) { return "CASE WHEN " + column + " THEN 1 ELSE 0 END"; }
    static Value value(bool field) { return std::int64_t{field ? 1 : 0}; }
    static bool read(db::Row& row, std::size_t i, const RowName&) { return row.integer(i) != 0; }
};

template <>
struct Storage<Timestamp> {
    static constexpr ColumnType column = ColumnType::text;
    static std::string select(const std::string& column) { return "CAST(" + column + " AS VARCHAR)"; }
    static Value value(Timestamp field) { return database_timestamp(field); }
    static Timestamp read(db::Row& row, std::size_t i, const RowName& where) {
        if (auto value = model::parse_timestamp(row.text(i))) return *value;
        unreadable(where, "the timestamp '" + row.text(i) + "'");
    }
};

template <class Enum>
struct Storage<Enum, std::enable_if_t<std::is_enum_v<Enum>>> {
    static constexpr ColumnType column = ColumnType::text;
    static std::string select(const std::string& column) { return column; }
    static Value value(Enum field) { return std::string(model::to_string(field)); }
    static Enum read(db::Row& row, std::size_t i, const RowName& where) {
        if (auto value = model::parse_enum<Enum>(row.text(i))) return *value;
        const auto& names = model::enum_names<Enum>();
        unreadable(where, "'" + row.text(i) + "' (not one of " +
                              detail::joined(std::vector<std::string>(names.begin(), names.end())) + ")");
    }
};

template <class T>
struct Storage<std::optional<T>> {
    static constexpr ColumnType column = Storage<T>::column;
    // NULL stays NULL: a boolean's CASE would turn it into 0.
    static std::string select(const std::string& column) {
        if constexpr (std::is_same_v<T, bool>) {
            return "CASE WHEN " + column + " IS NULL THEN NULL ELSE " + Storage<T>::select(column) + " END";
        }
        return Storage<T>::select(column);
    }
    static Value value(const std::optional<T>& field) { return field ? Storage<T>::value(*field) : Value{}; }
    static std::optional<T> read(db::Row& row, std::size_t i, const RowName& where) {
        if (row.is_null(i)) return std::nullopt;
        return Storage<T>::read(row, i, where);
    }
};

template <class Member>
using StorageOf = Storage<std::remove_cv_t<std::remove_reference_t<Member>>>;

// --- the tables, from the models' field tables --------------------------------------------

template <class Model>
struct Table {
    static constexpr const char* name = model::FieldTable<Model>::table;
    // "recipe run", for messages.
    static const std::string& label() {
        static const std::string words = [] {
            std::string words;
            for (const char* c = model::FieldTable<Model>::name; *c != 0; ++c) {
                if (std::isupper(static_cast<unsigned char>(*c)) && !words.empty()) words += ' ';
                words += static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
            }
            return words;
        }();
        return words;
    }
    // The Python service's 404 detail: "Bakery not found".
    static const std::string& not_found() {
        static const std::string detail = std::string(model::FieldTable<Model>::name) + " not found";
        return detail;
    }
};

// Calls visit(column name, member of the row) for every field but the id, in column order.
template <class Model, class Visit>
void visit_columns(Visit&& visit) {
    model::visit_fields<Model>([&](const auto& field) { visit(field.name, field.member); });
}

template <class Model>
std::vector<std::string> column_names() {
    std::vector<std::string> names{"id"};
    visit_columns<Model>([&](const char* name, auto) { names.push_back(name); });
    return names;
}

// The SELECT list of a model's fields (not its id), each prefixed with `alias` ("r.").
template <class Model>
std::string field_select_list(const std::string& alias = "") {
    std::string list;
    visit_columns<Model>([&](const char* name, auto member) {
        using Field = decltype(std::declval<Model&>().*member);
        list += (list.empty() ? "" : ", ") + StorageOf<Field>::select(alias + name);
    });
    return list;
}

// The SELECT list of a stored model: its id, then its fields.
template <class Model>
std::string select_list(const std::string& alias = "") {
    return alias + "id, " + field_select_list<Model>(alias);
}

template <class Model>
std::vector<ColumnType> field_column_types() {
    std::vector<ColumnType> types;
    visit_columns<Model>([&](const char*, auto member) {
        using Field = decltype(std::declval<Model&>().*member);
        types.push_back(StorageOf<Field>::column);
    });
    return types;
}

template <class Model>
std::vector<ColumnType> column_types() {
    std::vector<ColumnType> types{ColumnType::integer};
    auto fields = field_column_types<Model>();
    types.insert(types.end(), fields.begin(), fields.end());
    return types;
}

// Reads the fields of `model` from `row`, starting at column `first`, and moves `first`
// past them. `where` names the row in an error about a value that cannot be read.
template <class Model>
void read_fields(Model& model, db::Row& row, std::size_t& first, const RowName& where) {
    visit_columns<Model>([&](const char*, auto member) {
        using Field = decltype(model.*member);
        model.*member = StorageOf<Field>::read(row, first++, where);
    });
}

// Reads a stored model from `row`, starting at column `first` (its id).
template <class Model>
Model read_model(db::Row& row, std::size_t& first) {
    Model model;
    model.id = row.integer(first++);
    read_fields(model, row, first, RowName{Table<Model>::label(), model.id});
    return model;
}

template <class Model>
Model read_model(db::Row& row) {
    std::size_t first = 0;
    return read_model<Model>(row, first);
}

// The values of every field but the id, in column order.
template <class Model, class Base>
std::vector<Value> field_values(const Base& fields) {
    std::vector<Value> values;
    visit_columns<Model>([&](const char*, auto member) {
        using Field = decltype(fields.*member);
        values.push_back(StorageOf<Field>::value(fields.*member));
    });
    return values;
}

template <class Model>
std::vector<Model> read_all(Connection& connection, const std::string& sql, std::vector<Value> parameters = {}) {
    static const auto types = column_types<Model>();
    std::vector<Model> models;
    for (auto& row : db::query(connection, sql, types, std::move(parameters))) models.push_back(read_model<Model>(row));
    return models;
}

std::int64_t count(Connection& connection, const std::string& sql, std::vector<Value> parameters = {}) {
    return db::query_one(connection, sql, {ColumnType::integer}, std::move(parameters))->integer(0);
}

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

// The id columns are `integer`: a larger id names no row (and PostgreSQL would refuse to
// compare with it).
bool fits_an_id(std::int64_t id) { return id >= schema::integer_min && id <= schema::integer_max; }

// One row by id. `for_update` locks it until the transaction ends where the backend locks
// rows, so that concurrent partial updates do not write back each other's old values.
template <class Model>
Model read_one(Connection& connection, std::int64_t id, bool for_update = false) {
    if (!fits_an_id(id)) throw NotFound(Table<Model>::not_found());
    auto rows = read_all<Model>(connection,
                                "SELECT " + select_list<Model>() + " FROM " + Table<Model>::name + " WHERE id = :id" +
                                    (for_update ? std::string(connection.dialect().row_lock_clause()) : ""),
                                {id});
    if (rows.empty()) throw NotFound(Table<Model>::not_found());
    return std::move(rows.front());
}

template <class Model>
std::string insert_sql() {
    std::string columns, placeholders;
    int n = 0;
    visit_columns<Model>([&](const char* name, auto) {
        columns += (n ? ", " : "") + std::string(name);
        placeholders += (n ? ", :p" : ":p") + std::to_string(n);
        ++n;
    });
    return "INSERT INTO " + std::string(Table<Model>::name) + " (" + columns + ") VALUES (" + placeholders +
           ") RETURNING id";
}

template <class Model>
std::string update_sql() {
    std::string assignments;
    int n = 0;
    visit_columns<Model>([&](const char* name, auto) {
        assignments += (n ? ", " : "") + std::string(name) + " = :p" + std::to_string(n);
        ++n;
    });
    return "UPDATE " + std::string(Table<Model>::name) + " SET " + assignments + " WHERE id = :id";
}

// Inserts a row of every field but the id and returns the id the database gave it.
template <class Model, class Base>
std::int64_t insert_row(Connection& connection, const Base& fields) {
    static const std::string sql = insert_sql<Model>();
    return db::query_one(connection, sql, {ColumnType::integer}, field_values<Model>(fields))->integer(0);
}

template <class Model>
void update_row(Connection& connection, const Model& model) {
    static const std::string sql = update_sql<Model>();
    auto values = field_values<Model>(model);
    values.emplace_back(model.id);
    db::run(connection, sql, std::move(values));
}

template <class Model>
void delete_row(Connection& connection, std::int64_t id) {
    db::run(connection, "DELETE FROM " + std::string(Table<Model>::name) + " WHERE id = :id", {id});
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

Timestamp now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
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

// A run with its bakery and its feedstock, from one joined row.
std::optional<model::RecipeRunWithRelations> run_with_relations(Connection& connection, std::int64_t id) {
    static const std::string sql = "SELECT " + select_list<model::RecipeRun>("r.") + ", " +
                                   select_list<model::Bakery>("b.") + ", " + select_list<model::Feedstock>("f.") +
                                   " FROM reciperun r JOIN bakery b ON b.id = r.bakery_id "
                                   "JOIN feedstock f ON f.id = r.feedstock_id WHERE r.id = :id";
    static const auto types = [] {
        auto types = column_types<model::RecipeRun>();
        for (auto more : {column_types<model::Bakery>(), column_types<model::Feedstock>()}) {
            types.insert(types.end(), more.begin(), more.end());
        }
        return types;
    }();
    auto row = db::query_one(connection, sql, types, {id});
    if (!row) return std::nullopt;
    std::size_t first = 0;
    auto run = read_model<model::RecipeRun>(*row, first);
    auto bakery = read_model<model::Bakery>(*row, first);
    auto feedstock = read_model<model::Feedstock>(*row, first);
    return model::RecipeRunWithRelations{std::move(run), std::move(bakery), std::move(feedstock)};
}

}  // namespace

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
    read_one<model::RecipeRun>(*lease, id);
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
