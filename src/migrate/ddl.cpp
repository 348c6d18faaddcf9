#include "pangeo_forge/migrate/ddl.hpp"

#include <algorithm>
#include <map>

#include "pangeo_forge/error.hpp"

namespace pangeo_forge::migrate {
namespace {

using db::Backend;
using db::Dialect;
using schema::Column;
using schema::Table;

std::string quoted_list(const std::vector<std::string>& names, const Dialect& dialect) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ", ") + dialect.quote(name);
    return out;
}

// A neutral default literal as the dialect writes it (booleans differ).
std::string literal(const std::string& value, const schema::Type& type, const Dialect& dialect) {
    if (type.kind == schema::TypeKind::boolean && (value == "true" || value == "false")) {
        return std::string(dialect.boolean_literal(value == "true"));
    }
    return value;
}

std::string column_definition(const Column& column, const Dialect& dialect) {
    std::string type = column.autoincrement ? dialect.autoincrement_type_name(column.type) : dialect.type_name(column.type);
    std::string out = dialect.quote(column.name) + " " + type;
    if (!column.nullable) out += " NOT NULL";
    if (column.server_default) out += " DEFAULT " + literal(*column.server_default, column.type, dialect);
    return out;
}

std::string foreign_key_clause(const schema::ForeignKey& key, const Dialect& dialect) {
    return "CONSTRAINT " + dialect.quote(key.name) + " FOREIGN KEY (" + quoted_list(key.columns, dialect) +
           ") REFERENCES " + dialect.quote(key.referred_table) + " (" + quoted_list(key.referred_columns, dialect) +
           ")";
}

std::string unique_clause(const schema::UniqueConstraint& unique, const Dialect& dialect) {
    return "CONSTRAINT " + dialect.quote(unique.name) + " UNIQUE (" + quoted_list(unique.columns, dialect) + ")";
}

// `concurrently` (PostgreSQL) builds the index without blocking writes; IF NOT EXISTS lets
// a step that built it and then died before it was recorded run again.
std::string create_index_sql(const std::string& table, const schema::Index& index, const Dialect& dialect,
                             bool concurrently = false) {
    return std::string(index.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") +
           (concurrently ? "CONCURRENTLY IF NOT EXISTS " : "") + dialect.quote(index.name) + " ON " +
           dialect.quote(table) + " (" + quoted_list(index.columns, dialect) + ")";
}

std::string create_table_sql(const Table& table, const std::string& name, const Dialect& dialect,
                             bool if_not_exists = false) {
    std::vector<std::string> lines;
    for (const auto& column : table.columns) lines.push_back(column_definition(column, dialect));
    if (!table.primary_key.columns.empty()) {
        lines.push_back("CONSTRAINT " + dialect.quote(table.primary_key.name) + " PRIMARY KEY (" +
                        quoted_list(table.primary_key.columns, dialect) + ")");
    }
    for (const auto& unique : table.unique_constraints) lines.push_back(unique_clause(unique, dialect));
    for (const auto& key : table.foreign_keys) lines.push_back(foreign_key_clause(key, dialect));
    std::string sql = (if_not_exists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ") + dialect.quote(name) + " (";
    for (std::size_t i = 0; i < lines.size(); ++i) sql += (i ? ",\n    " : "\n    ") + lines[i];
    return sql + "\n)";
}

std::string alter_table(const std::string& table, const Dialect& dialect) {
    return "ALTER TABLE " + dialect.quote(table) + " ";
}

const Table& table_named(const schema::Schema& schema, const std::string& name) {
    const Table* table = schema.find_table(name);
    if (table == nullptr) throw MigrationError("there is no table " + name);
    return *table;
}

bool column_is_constrained(const Table& table, const std::string& column, const schema::Schema& schema) {
    auto uses = [&](const std::vector<std::string>& names) {
        return std::find(names.begin(), names.end(), column) != names.end();
    };
    if (uses(table.primary_key.columns)) return true;
    for (const auto& key : table.foreign_keys) if (uses(key.columns)) return true;
    for (const auto& index : table.indexes) if (uses(index.columns)) return true;
    for (const auto& unique : table.unique_constraints) if (uses(unique.columns)) return true;
    for (const auto& other : schema.tables) {
        for (const auto& key : other.foreign_keys) {
            if (key.referred_table == table.name && uses(key.referred_columns)) return true;
        }
    }
    return false;
}

// Does a dialect that cannot alter in place (SQLite) need a table rebuild for this
// operation, given the schema before it?
bool needs_rebuild(const Operation& operation, const schema::Schema& schema) {
    if (std::holds_alternative<AlterColumn>(operation) || std::holds_alternative<CreateForeignKey>(operation) ||
        std::holds_alternative<CreateUniqueConstraint>(operation) ||
        std::holds_alternative<DropConstraint>(operation)) {
        return true;
    }
    if (const auto* add = std::get_if<AddColumn>(&operation)) {
        // ALTER TABLE ADD COLUMN cannot add a NOT NULL column without a default, nor drop
        // the temporary default a backfill would need.
        return (!add->column.nullable || add->backfill) && !add->column.server_default;
    }
    if (const auto* drop = std::get_if<DropColumn>(&operation)) {
        return column_is_constrained(table_named(schema, drop->table), drop->column, schema);
    }
    return false;
}

// --- SQLite table rebuild -----------------------------------------------------------

// How each column of the rebuilt table is filled: the old column of the same name, a
// backfill value for a column the batch adds, or nothing (NULL, or the column default).
std::map<std::string, std::string> column_sources(const Table& before, const Table& after,
                                                  const std::vector<Operation>& batch, const Dialect& dialect) {
    std::map<std::string, std::string> sources;
    for (const auto& column : after.columns) {
        if (before.find_column(column.name) != nullptr) sources[column.name] = dialect.quote(column.name);
    }
    for (const auto& operation : batch) {
        if (const auto* add = std::get_if<AddColumn>(&operation); add != nullptr && add->backfill) {
            sources[add->column.name] = literal(*add->backfill, add->column.type, dialect);
        }
    }
    return sources;
}

std::vector<std::string> rebuild_statements(const Table& before, const Table& after,
                                            const std::vector<Operation>& batch, const Dialect& dialect) {
    const std::string temporary = "_pangeo_forge_new_" + after.name;
    std::vector<std::string> statements{create_table_sql(after, temporary, dialect)};
    auto sources = column_sources(before, after, batch, dialect);
    std::string targets;
    std::string values;
    for (const auto& column : after.columns) {
        auto source = sources.find(column.name);
        if (source == sources.end()) continue;
        targets += (targets.empty() ? "" : ", ") + dialect.quote(column.name);
        values += (values.empty() ? "" : ", ") + source->second;
    }
    if (!targets.empty()) {
        statements.push_back("INSERT INTO " + dialect.quote(temporary) + " (" + targets + ") SELECT " + values +
                             " FROM " + dialect.quote(before.name));
    }
    statements.push_back("DROP TABLE " + dialect.quote(before.name));
    statements.push_back(alter_table(temporary, dialect) + "RENAME TO " + dialect.quote(after.name));
    for (const auto& index : after.indexes) statements.push_back(create_index_sql(after.name, index, dialect));
    return statements;
}

// --- in place -----------------------------------------------------------------------

std::vector<std::string> alter_column_statements(const AlterColumn& op, const schema::Schema& before,
                                                 const Dialect& dialect) {
    std::vector<std::string> statements;
    std::string prefix = alter_table(op.table, dialect) + "ALTER COLUMN " + dialect.quote(op.column) + " ";
    if (op.type) {
        std::string type = dialect.type_name(*op.type);
        // An explicit cast (USING) only between kinds: within one kind, PostgreSQL's implicit
        // conversion refuses a value that does not fit, where a cast would cut it short.
        const Column* column = table_named(before, op.table).find_column(op.column);
        bool same_kind = column != nullptr && column->type.kind == op.type->kind;
        statements.push_back(prefix + "TYPE " + type +
                             (same_kind ? "" : " USING " + dialect.quote(op.column) + "::" + type));
    }
    if (op.nullable) statements.push_back(prefix + (*op.nullable ? "DROP NOT NULL" : "SET NOT NULL"));
    if (op.server_default) {
        statements.push_back(*op.server_default ? prefix + "SET DEFAULT " + **op.server_default
                                                : prefix + "DROP DEFAULT");
    }
    return statements;
}

std::vector<std::string> add_column_statements(const AddColumn& op, const Dialect& dialect) {
    Column column = op.column;
    const bool temporary_default = op.backfill && !column.server_default;
    if (temporary_default) column.server_default = op.backfill;
    std::vector<std::string> statements{alter_table(op.table, dialect) + "ADD COLUMN " +
                                        column_definition(column, dialect)};
    if (temporary_default) {
        statements.push_back(alter_table(op.table, dialect) + "ALTER COLUMN " + dialect.quote(column.name) +
                             " DROP DEFAULT");
    }
    return statements;
}

std::vector<std::string> in_place_statements(const Operation& operation, const schema::Schema& before,
                                             const Dialect& dialect) {
    struct Renderer {
        const schema::Schema& before;
        const Dialect& dialect;

        std::vector<std::string> operator()(const CreateTable& op) const {
            return create_table_statements(op.table, dialect);
        }
        std::vector<std::string> operator()(const DropTable& op) const {
            return {"DROP TABLE " + dialect.quote(op.table)};
        }
        std::vector<std::string> operator()(const AddColumn& op) const { return add_column_statements(op, dialect); }
        std::vector<std::string> operator()(const DropColumn& op) const {
            return {alter_table(op.table, dialect) + "DROP COLUMN " + dialect.quote(op.column)};
        }
        std::vector<std::string> operator()(const AlterColumn& op) const {
            return alter_column_statements(op, before, dialect);
        }
        std::vector<std::string> operator()(const CreateForeignKey& op) const {
            return {alter_table(op.table, dialect) + "ADD " + foreign_key_clause(op.foreign_key, dialect)};
        }
        std::vector<std::string> operator()(const CreateUniqueConstraint& op) const {
            return {alter_table(op.table, dialect) + "ADD " + unique_clause(op.constraint, dialect)};
        }
        std::vector<std::string> operator()(const DropConstraint& op) const {
            return {alter_table(op.table, dialect) + "DROP CONSTRAINT " + dialect.quote(op.name)};
        }
        std::vector<std::string> operator()(const CreateIndex& op) const {
            return {create_index_sql(op.table, op.index, dialect)};
        }
        std::vector<std::string> operator()(const DropIndex& op) const {
            return {"DROP INDEX " + dialect.quote(op.name)};
        }
        std::vector<std::string> operator()(const RenameTable& op) const {
            return {alter_table(op.table, dialect) + "RENAME TO " + dialect.quote(op.new_name)};
        }
        std::vector<std::string> operator()(const RenameColumn& op) const {
            return {alter_table(op.table, dialect) + "RENAME COLUMN " + dialect.quote(op.column) + " TO " +
                    dialect.quote(op.new_name)};
        }
        std::vector<std::string> operator()(const Execute& op) const {
            const auto& own = dialect.backend() == Backend::sqlite ? op.sqlite : op.postgresql;
            return {own.value_or(op.sql)};
        }
    };
    return std::visit(Renderer{before, dialect}, operation);
}

// --- online rewrites (PostgreSQL) ------------------------------------------------------

// The CHECK that stands in for NOT NULL while the table is scanned.
std::string not_null_check_name(const std::string& table, const std::string& column) {
    return "ck_" + table + "_" + column + "_not_null";
}

std::string validate_sql(const std::string& table, const std::string& constraint, const Dialect& dialect) {
    return alter_table(table, dialect) + "VALIDATE CONSTRAINT " + dialect.quote(constraint);
}

std::vector<Step> not_null_through_check(const AlterColumn& op, const schema::Schema& before, const Dialect& dialect) {
    const std::string check = dialect.quote(not_null_check_name(op.table, op.column));
    AlterColumn rest = op;  // what else the operation changes (type, default) runs as written
    rest.nullable.reset();
    std::vector<std::string> first = alter_column_statements(rest, before, dialect);
    first.push_back(alter_table(op.table, dialect) + "ADD CONSTRAINT " + check + " CHECK (" +
                    dialect.quote(op.column) + " IS NOT NULL) NOT VALID");
    const std::string description = describe(Operation{op});
    return {
        {description, std::move(first), Isolation::in_transaction, {}},
        {description + " (validate)", {validate_sql(op.table, not_null_check_name(op.table, op.column), dialect)},
         Isolation::own_transaction, {}},
        // PostgreSQL 12 and later take the validated CHECK as proof and skip the scan.
        {description + " (set not null)",
         {alter_table(op.table, dialect) + "ALTER COLUMN " + dialect.quote(op.column) + " SET NOT NULL",
          alter_table(op.table, dialect) + "DROP CONSTRAINT " + check},
         Isolation::in_transaction, {}},
    };
}

std::vector<Step> online_steps(const Operation& operation, OnlineRewrite rewrite, const schema::Schema& before,
                               const Dialect& dialect) {
    const std::string description = describe(operation);
    switch (rewrite) {
        case OnlineRewrite::concurrent_index: {
            const auto& op = std::get<CreateIndex>(operation);
            return {{description, {create_index_sql(op.table, op.index, dialect, true)}, Isolation::no_transaction,
                     op.index.name}};
        }
        case OnlineRewrite::concurrent_drop_index: {
            const auto& op = std::get<DropIndex>(operation);
            return {{description, {drop_index_concurrently_sql(op.name, dialect)}, Isolation::no_transaction, {}}};
        }
        case OnlineRewrite::not_valid_then_validate: {
            const auto& op = std::get<CreateForeignKey>(operation);
            return {{description, {alter_table(op.table, dialect) + "ADD " + foreign_key_clause(op.foreign_key, dialect) +
                                   " NOT VALID"},
                     Isolation::in_transaction, {}},
                    {description + " (validate)", {validate_sql(op.table, op.foreign_key.name, dialect)},
                     Isolation::own_transaction, {}}};
        }
        case OnlineRewrite::not_null_through_check:
            return not_null_through_check(std::get<AlterColumn>(operation), before, dialect);
        case OnlineRewrite::unique_through_index: {
            const auto& op = std::get<CreateUniqueConstraint>(operation);
            const schema::Index index{op.constraint.name, op.constraint.columns, true};
            return {{description + " (index)", {create_index_sql(op.table, index, dialect, true)},
                     Isolation::no_transaction, index.name},
                    {description, {alter_table(op.table, dialect) + "ADD CONSTRAINT " + dialect.quote(index.name) +
                                   " UNIQUE USING INDEX " + dialect.quote(index.name)},
                     Isolation::in_transaction, {}}};
        }
        case OnlineRewrite::none: break;
    }
    return {{description, in_place_statements(operation, before, dialect), Isolation::in_transaction, {}}};
}

std::vector<std::string> table_names(const schema::Schema& schema) {
    std::vector<std::string> names;
    for (const auto& table : schema.tables) names.push_back(table.name);
    return names;
}

}  // namespace

OnlineRewrite online_rewrite(const Operation& operation, const std::vector<std::string>& existing_tables,
                             const Dialect& dialect, const RenderOptions& options) {
    if (dialect.backend() != Backend::postgresql || !options.online) return OnlineRewrite::none;
    if (std::find(existing_tables.begin(), existing_tables.end(), table_of(operation)) == existing_tables.end()) {
        return OnlineRewrite::none;
    }
    if (const auto* op = std::get_if<CreateIndex>(&operation)) {
        return op->online ? OnlineRewrite::concurrent_index : OnlineRewrite::none;
    }
    if (const auto* op = std::get_if<DropIndex>(&operation)) {
        return op->online ? OnlineRewrite::concurrent_drop_index : OnlineRewrite::none;
    }
    if (const auto* op = std::get_if<CreateForeignKey>(&operation)) {
        return op->online ? OnlineRewrite::not_valid_then_validate : OnlineRewrite::none;
    }
    if (const auto* op = std::get_if<CreateUniqueConstraint>(&operation)) {
        return op->online ? OnlineRewrite::unique_through_index : OnlineRewrite::none;
    }
    if (const auto* op = std::get_if<AlterColumn>(&operation)) {
        return op->online && op->nullable == false ? OnlineRewrite::not_null_through_check : OnlineRewrite::none;
    }
    return OnlineRewrite::none;
}

void follow_existing_tables(const Operation& operation, std::vector<std::string>& existing_tables) {
    auto named = [&](const std::string& name) { return std::find(existing_tables.begin(), existing_tables.end(), name); };
    if (const auto* op = std::get_if<RenameTable>(&operation)) {
        if (auto found = named(op->table); found != existing_tables.end()) *found = op->new_name;
    } else if (const auto* op = std::get_if<DropTable>(&operation)) {
        if (auto found = named(op->table); found != existing_tables.end()) existing_tables.erase(found);
    }
}

std::string drop_index_concurrently_sql(const std::string& name, const Dialect& dialect) {
    return "DROP INDEX CONCURRENTLY IF EXISTS " + dialect.quote(name);
}

std::vector<std::string> create_table_statements(const Table& table, const Dialect& dialect, bool if_not_exists) {
    std::vector<std::string> statements{create_table_sql(table, table.name, dialect, if_not_exists)};
    for (const auto& index : table.indexes) statements.push_back(create_index_sql(table.name, index, dialect));
    return statements;
}

std::vector<Step> render(const std::vector<Operation>& operations, schema::Schema& schema, const Dialect& dialect,
                         const RenderOptions& options) {
    std::vector<std::string> existing_tables = table_names(schema);
    std::vector<Step> steps;
    for (std::size_t i = 0; i < operations.size();) {
        const Operation& operation = operations[i];
        if (!dialect.can_alter_in_place() && needs_rebuild(operation, schema)) {
            // Gather the following operations that rebuild the same table, and rebuild it once.
            const std::string table = table_of(operation);
            Table before = table_named(schema, table);
            std::vector<Operation> batch;
            Step step;
            while (i < operations.size() && table_of(operations[i]) == table &&
                   needs_rebuild(operations[i], schema)) {
                apply(operations[i], schema);
                step.description += (step.description.empty() ? "" : "; ") + describe(operations[i]);
                batch.push_back(operations[i++]);
            }
            step.statements = rebuild_statements(before, table_named(schema, table), batch, dialect);
            steps.push_back(std::move(step));
            continue;
        }
        auto rendered = online_steps(operation, online_rewrite(operation, existing_tables, dialect, options), schema,
                                     dialect);
        apply(operation, schema);
        follow_existing_tables(operation, existing_tables);
        for (auto& step : rendered) steps.push_back(std::move(step));
        ++i;
    }
    return steps;
}

}  // namespace pangeo_forge::migrate
