#pragma once
// Typed statements: SQL with bound parameters in, rows of typed values out, on one
// Connection. Every SQL value the library sends goes through here as a parameter; the
// driver stays behind this header.
//
// A statement is prepared on its connection's first use of the SQL text and kept there for
// the next use (at most kept_statements_per_connection of them, the least recently used
// going first). After each use it is reset, so that a SQLite reader holds no snapshot; a
// statement that fails is discarded, with everything bound to it, and prepared afresh next
// time. Callers never see any of this.
//
// Parameters are written `:name` in the SQL and bound in the order they appear. Throws
// DatabaseError with the driver's message (any password masked). Thread safety: as the
// Connection's, one thread at a time.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace pangeo_forge::db {

class Connection;

// One value crossing the driver: NULL, an integer (a boolean as 0 or 1), a real, or text.
using Value = std::variant<std::monostate, std::int64_t, double, std::string>;

// What a column is read as. Timestamps travel as text, booleans as integers: the SQL
// casts them (CAST(x AS VARCHAR), CASE WHEN x THEN 1 ELSE 0 END), so that both backends
// hand over the same.
enum class ColumnType { integer, real, text };

inline constexpr std::size_t kept_statements_per_connection = 64;

// One row read by query(): a value per column, in the order of the SELECT.
class Row {
public:
    explicit Row(std::vector<Value> values) : values_(std::move(values)) {}

    std::size_t size() const { return values_.size(); }
    const Value& operator[](std::size_t column) const { return values_.at(column); }
    bool is_null(std::size_t column) const { return std::holds_alternative<std::monostate>(values_.at(column)); }

    // The column's value; throws DatabaseError when it is NULL or of another type.
    std::int64_t integer(std::size_t column) const;
    double real(std::size_t column) const;
    const std::string& text(std::size_t column) const;
    // Moves the text out of the row (for the last reader of it).
    std::string take_text(std::size_t column);

    std::optional<std::int64_t> optional_integer(std::size_t column) const;
    std::optional<std::string> optional_text(std::size_t column) const;

    bool operator==(const Row& other) const { return values_ == other.values_; }

private:
    std::vector<Value> values_;
};

// Runs `sql` with `parameters` and reads every row, each column as `columns` says.
std::vector<Row> query(Connection& connection, std::string_view sql, const std::vector<ColumnType>& columns,
                       std::vector<Value> parameters = {});

// The first row, or none.
std::optional<Row> query_one(Connection& connection, std::string_view sql, const std::vector<ColumnType>& columns,
                             std::vector<Value> parameters = {});

// Runs a statement that returns no rows; returns how many rows it changed.
std::int64_t run(Connection& connection, std::string_view sql, std::vector<Value> parameters = {});

// Every column of every row as text (NULL as no value), whatever its type: for tools and
// tests that look at a query they did not write. Not kept.
std::vector<std::vector<std::optional<std::string>>> query_as_text(Connection& connection, std::string_view sql);

}  // namespace pangeo_forge::db
