#include "pangeo_forge/db/statement.hpp"

#include "db/soci_access.hpp"

namespace pangeo_forge::db {

// --- Row ------------------------------------------------------------------------------

namespace {

const char* type_name(const Value& value) {
    switch (value.index()) {
        case 0: return "NULL";
        case 1: return "an integer";
        case 2: return "a real";
        default: return "text";
    }
}

template <class T>
const T& get(const std::vector<Value>& values, std::size_t column, const char* wanted) {
    const Value& value = values.at(column);
    if (const T* found = std::get_if<T>(&value)) return *found;
    throw DatabaseError("column " + std::to_string(column + 1) + " of the row holds " + type_name(value) +
                        " where " + wanted + " was expected");
}

}  // namespace

std::int64_t Row::integer(std::size_t column) const { return get<std::int64_t>(values_, column, "an integer"); }
double Row::real(std::size_t column) const { return get<double>(values_, column, "a real"); }
const std::string& Row::text(std::size_t column) const { return get<std::string>(values_, column, "text"); }

std::string Row::take_text(std::size_t column) {
    get<std::string>(values_, column, "text");
    return std::move(std::get<std::string>(values_[column]));
}

std::optional<std::int64_t> Row::optional_integer(std::size_t column) const {
    if (is_null(column)) return std::nullopt;
    return integer(column);
}

std::optional<std::string> Row::optional_text(std::size_t column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
}

// --- kept statements ----------------------------------------------------------------------

// Where one bound value lives while the statement is kept: SOCI holds the addresses of
// these members from the moment it binds them, so a slot never moves.
struct Slot {
    long long integer = 0;
    double real = 0;
    std::string text;
    soci::indicator indicator = soci::i_ok;
};

// The type a parameter is bound as: NULL goes as text, which both drivers take for any
// column type.
enum class ParameterType { integer, real, text };

ParameterType parameter_type(const Value& value) {
    if (std::holds_alternative<std::int64_t>(value)) return ParameterType::integer;
    if (std::holds_alternative<double>(value)) return ParameterType::real;
    return ParameterType::text;
}

std::vector<ParameterType> parameter_types(const std::vector<Value>& parameters) {
    std::vector<ParameterType> types;
    types.reserve(parameters.size());
    for (const auto& parameter : parameters) types.push_back(parameter_type(parameter));
    return types;
}

struct KeptStatement {
    KeptStatement(soci::session& session, const std::string& sql, std::vector<ColumnType> column_types,
                  std::vector<ParameterType> parameter_types)
        : columns(std::move(column_types)),
          parameters(std::move(parameter_types)),
          outputs(columns.size()),
          inputs(parameters.size()),
          statement(session) {
        for (std::size_t i = 0; i < columns.size(); ++i) {
            Slot& slot = outputs[i];
            switch (columns[i]) {
                case ColumnType::integer: statement.exchange(soci::into(slot.integer, slot.indicator)); break;
                case ColumnType::real: statement.exchange(soci::into(slot.real, slot.indicator)); break;
                case ColumnType::text: statement.exchange(soci::into(slot.text, slot.indicator)); break;
            }
        }
        for (std::size_t i = 0; i < parameters.size(); ++i) {
            Slot& slot = inputs[i];
            switch (parameters[i]) {
                case ParameterType::integer: statement.exchange(soci::use(slot.integer, slot.indicator)); break;
                case ParameterType::real: statement.exchange(soci::use(slot.real, slot.indicator)); break;
                case ParameterType::text: statement.exchange(soci::use(slot.text, slot.indicator)); break;
            }
        }
        statement.alloc();
        statement.prepare(sql);
        statement.define_and_bind();
    }

    bool fits(const std::vector<ColumnType>& wanted_columns, const std::vector<Value>& values) const {
        if (wanted_columns != columns || values.size() != parameters.size()) return false;
        for (std::size_t i = 0; i < values.size(); ++i) {
            // NULL binds to a slot of any type.
            if (!std::holds_alternative<std::monostate>(values[i]) && parameter_type(values[i]) != parameters[i]) {
                return false;
            }
        }
        return true;
    }

    // Into the bound slots; text is moved, as a run's message may be large.
    void set_parameters(std::vector<Value>& values) {
        for (std::size_t i = 0; i < values.size(); ++i) {
            Slot& slot = inputs[i];
            slot.indicator = soci::i_ok;
            if (auto* integer = std::get_if<std::int64_t>(&values[i])) {
                slot.integer = *integer;
            } else if (auto* real = std::get_if<double>(&values[i])) {
                slot.real = *real;
            } else if (auto* text = std::get_if<std::string>(&values[i])) {
                slot.text = std::move(*text);
            } else {
                slot.text.clear();
                slot.indicator = soci::i_null;
            }
        }
    }

    // Large texts are not kept between uses: a kept statement's memory stays small.
    void release_parameters() {
        constexpr std::size_t kept_capacity = 4096;
        for (auto& slot : inputs) {
            if (slot.text.capacity() > kept_capacity) std::string().swap(slot.text);
        }
    }

    Row row() {
        std::vector<Value> values;
        values.reserve(outputs.size());
        for (std::size_t i = 0; i < outputs.size(); ++i) {
            Slot& slot = outputs[i];
            if (slot.indicator == soci::i_null) {
                values.emplace_back(std::monostate{});
                continue;
            }
            switch (columns[i]) {
                case ColumnType::integer: values.emplace_back(static_cast<std::int64_t>(slot.integer)); break;
                case ColumnType::real: values.emplace_back(slot.real); break;
                case ColumnType::text: values.emplace_back(std::move(slot.text)); break;
            }
        }
        return Row(std::move(values));
    }

    std::vector<ColumnType> columns;
    std::vector<ParameterType> parameters;
    std::vector<Slot> outputs;
    std::vector<Slot> inputs;
    soci::statement statement;
};

KeptStatements::KeptStatements() = default;
KeptStatements::~KeptStatements() = default;

KeptStatement* KeptStatements::find(const std::string& sql) {
    auto found = by_sql_.find(sql);
    if (found == by_sql_.end()) return nullptr;
    recency_.splice(recency_.begin(), recency_, found->second.position);
    return found->second.statement.get();
}

KeptStatement& KeptStatements::keep(const std::string& sql, std::unique_ptr<KeptStatement> statement) {
    discard(sql);
    if (by_sql_.size() >= kept_statements_per_connection) discard(recency_.back());
    recency_.push_front(sql);
    auto& entry = by_sql_[sql];
    entry.statement = std::move(statement);
    entry.position = recency_.begin();
    return *entry.statement;
}

void KeptStatements::discard(const std::string& sql) {
    auto found = by_sql_.find(sql);
    if (found == by_sql_.end()) return;
    recency_.erase(found->second.position);
    by_sql_.erase(found);  // finalises the driver's statement and frees what was bound to it
}

void KeptStatements::retire(const std::string& sql) {
    auto found = by_sql_.find(sql);
    if (found == by_sql_.end()) return;
    recency_.erase(found->second.position);
    retired_.push_back(std::move(found->second.statement));
    by_sql_.erase(found);
}

void KeptStatements::finalise_retired() { retired_.clear(); }

void KeptStatements::clear() {
    retired_.clear();
    by_sql_.clear();
    recency_.clear();
}

namespace {

// Runs `use` on the statement kept for `sql` (prepared now when none fits). The statement
// is reset after the use; when the use fails it is retired and finalised as soon as the
// connection takes statements again, so that nothing it bound (SOCI's PostgreSQL backend
// copies every text parameter into a buffer of its own, freed only by a use that completes
// or by the statement's end) outlives the failure.
template <class Use>
auto with_kept_statement(Connection& connection, std::string_view sql_text, const std::vector<ColumnType>& columns,
                         std::vector<Value>& parameters, Use use) {
    auto& impl = ConnectionAccess::impl(connection);
    const std::string sql(sql_text);
    return running_statement(connection, sql, [&] {
        if (impl.statements.has_retired() && accepts_statements(connection)) impl.statements.finalise_retired();
        KeptStatement* kept = impl.statements.find(sql);
        if (kept == nullptr || !kept->fits(columns, parameters)) {
            kept = &impl.statements.keep(
                sql, std::make_unique<KeptStatement>(impl.session, sql, columns, parameter_types(parameters)));
        }
        try {
            kept->set_parameters(parameters);
            auto result = use(*kept);
            finish_use(connection, kept->statement);
            kept->release_parameters();
            return result;
        } catch (...) {
            impl.statements.retire(sql);
            throw;
        }
    });
}

}  // namespace

std::vector<Row> query(Connection& connection, std::string_view sql, const std::vector<ColumnType>& columns,
                       std::vector<Value> parameters) {
    return with_kept_statement(connection, sql, columns, parameters, [](KeptStatement& kept) {
        std::vector<Row> rows;
        kept.statement.execute(false);
        while (kept.statement.fetch()) rows.push_back(kept.row());
        return rows;
    });
}

std::optional<Row> query_one(Connection& connection, std::string_view sql, const std::vector<ColumnType>& columns,
                             std::vector<Value> parameters) {
    auto rows = query(connection, sql, columns, std::move(parameters));
    if (rows.empty()) return std::nullopt;
    return std::move(rows.front());
}

std::int64_t run(Connection& connection, std::string_view sql, std::vector<Value> parameters) {
    return with_kept_statement(connection, sql, {}, parameters, [](KeptStatement& kept) {
        kept.statement.execute(true);
        return static_cast<std::int64_t>(kept.statement.get_affected_rows());
    });
}

std::vector<std::vector<std::optional<std::string>>> query_as_text(Connection& connection, std::string_view sql) {
    return running_statement(connection, sql, [&] {
        std::vector<std::vector<std::optional<std::string>>> rows;
        soci::rowset<soci::row> result = soci_session(connection).prepare << std::string(sql);
        for (const auto& row : result) {
            std::vector<std::optional<std::string>> values;
            for (std::size_t i = 0; i < row.size(); ++i) {
                if (row.get_indicator(i) == soci::i_null) {
                    values.emplace_back();
                    continue;
                }
                switch (row.get_properties(i).get_data_type()) {
                    case soci::dt_string: values.emplace_back(row.get<std::string>(i)); break;
                    case soci::dt_integer: values.emplace_back(std::to_string(row.get<int>(i))); break;
                    case soci::dt_long_long: values.emplace_back(std::to_string(row.get<long long>(i))); break;
                    case soci::dt_unsigned_long_long:
                        values.emplace_back(std::to_string(row.get<unsigned long long>(i)));
                        break;
                    case soci::dt_double: values.emplace_back(std::to_string(row.get<double>(i))); break;
                    default: values.emplace_back("?"); break;
                }
            }
            rows.push_back(std::move(values));
        }
        return rows;
    });
}

}  // namespace pangeo_forge::db
