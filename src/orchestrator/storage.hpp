#pragma once
// How the orchestrator's models are stored: the column each field's C++ type is read as,
// the SELECT lists, INSERT and UPDATE statements made from the field tables, and the
// reads and writes of whole rows. Private to src/orchestrator (the CRUD and the queue).

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <date/date.h>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/relations.hpp"
#include "support/json_reader.hpp"
#include "support/text.hpp"

namespace pangeo_forge::orchestrator::storage {

using db::ColumnType;
using db::Connection;
using db::Value;
using model::Timestamp;

// --- how a field's C++ type is stored -------------------------------------------------

// SQLAlchemy's storage form, which both SQLite (as text) and PostgreSQL read.
inline std::string database_timestamp(Timestamp value) {
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

[[noreturn]] inline void unreadable(const RowName& where, const std::string& what) {
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

inline std::int64_t count(Connection& connection, const std::string& sql, std::vector<Value> parameters = {}) {
    return db::query_one(connection, sql, {ColumnType::integer}, std::move(parameters))->integer(0);
}

// The id columns are `integer`: a larger id names no row (and PostgreSQL would refuse to
// compare with it).
inline bool fits_an_id(std::int64_t id) { return id >= schema::integer_min && id <= schema::integer_max; }

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

// A run with its bakery and its feedstock, from one joined row.
inline std::optional<model::RecipeRunWithRelations> run_with_relations(Connection& connection, std::int64_t id) {
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

// Now, to the microsecond that the columns keep.
inline Timestamp now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace pangeo_forge::orchestrator::storage
