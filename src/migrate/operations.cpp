#include "pangeo_forge/migrate/operations.hpp"

#include <algorithm>

#include "pangeo_forge/error.hpp"
#include "schema/schema_readers.hpp"
#include "support/overloaded.hpp"

namespace pangeo_forge::migrate {
namespace {

using detail::ObjectReader;
using nlohmann::json;
using Names = std::vector<std::string>;
using detail::Overloaded;

std::string_view kind_name(ConstraintKind kind) { return kind == ConstraintKind::foreign_key ? "foreignkey" : "unique"; }

// --- reading ----------------------------------------------------------------------

std::string text(ObjectReader& in, std::string_view name) { return in.required<std::string>(name).value_or(""); }

Operation read_create_table(ObjectReader& in) {
    return CreateTable{in.object("table", schema::read_table).value_or(schema::Table{})};
}

Operation read_add_column(ObjectReader& in) {
    AddColumn op{text(in, "table"), in.object("column", schema::read_column).value_or(schema::Column{}), {}};
    op.backfill = in.nullable<std::string>("backfill");
    return op;
}

// "online": false turns the engine's online rewrite off for one operation.
bool read_online(ObjectReader& in) { return in.with_default<bool>("online", true); }

// The kinds that have an online rewrite, and so an `online` field (ddl.hpp, online_rewrite()).
bool takes_online(const Operation& operation) {
    return std::holds_alternative<CreateIndex>(operation) || std::holds_alternative<DropIndex>(operation) ||
           std::holds_alternative<CreateForeignKey>(operation) ||
           std::holds_alternative<CreateUniqueConstraint>(operation) || std::holds_alternative<AlterColumn>(operation);
}

Operation read_alter_column(ObjectReader& in) {
    AlterColumn op{text(in, "table"), text(in, "column"), {}, {}, {}};
    op.nullable = in.nullable<bool>("nullable");
    op.type = in.nullable<schema::Type>("type");
    op.server_default = in.sent_nullable<std::string>("server_default");
    op.online = read_online(in);
    return op;
}

Operation read_drop_constraint(ObjectReader& in) {
    DropConstraint op{text(in, "table"), text(in, "name"), ConstraintKind::foreign_key};
    std::string kind = in.with_default<std::string>("type", "foreignkey");
    if (kind == "unique") {
        op.kind = ConstraintKind::unique;
    } else if (kind != "foreignkey") {
        in.errors().add(detail::child_loc(in.loc(), "type"),
                        detail::Problem{"unknown constraint type; use foreignkey or unique", "value_error.const", {}});
    }
    return op;
}

Operation read_execute(ObjectReader& in) {
    return Execute{text(in, "sql"), in.nullable<std::string>("sqlite"), in.nullable<std::string>("postgresql")};
}

using Reader = Operation (*)(ObjectReader&);

struct OperationKind {
    std::string_view name;
    Reader read;
};

const OperationKind operation_kinds[] = {
    {"create_table", read_create_table},
    {"drop_table", [](ObjectReader& in) -> Operation { return DropTable{text(in, "table")}; }},
    {"add_column", read_add_column},
    {"drop_column", [](ObjectReader& in) -> Operation { return DropColumn{text(in, "table"), text(in, "column")}; }},
    {"alter_column", read_alter_column},
    {"create_foreign_key",
     [](ObjectReader& in) -> Operation {
         CreateForeignKey op{text(in, "table"),
                             in.object("foreign_key", schema::read_foreign_key).value_or(schema::ForeignKey{})};
         schema::name_by_convention(op.table, op.foreign_key);
         op.online = read_online(in);
         return op;
     }},
    {"create_unique_constraint",
     [](ObjectReader& in) -> Operation {
         CreateUniqueConstraint op{text(in, "table"),
                                   in.object("constraint", schema::read_unique).value_or(schema::UniqueConstraint{})};
         schema::name_by_convention(op.table, op.constraint);
         op.online = read_online(in);
         return op;
     }},
    {"drop_constraint", read_drop_constraint},
    {"create_index",
     [](ObjectReader& in) -> Operation {
         CreateIndex op{text(in, "table"), in.object("index", schema::read_index).value_or(schema::Index{})};
         schema::name_by_convention(op.table, op.index);
         op.online = read_online(in);
         return op;
     }},
    {"drop_index",
     [](ObjectReader& in) -> Operation { return DropIndex{text(in, "table"), text(in, "name"), read_online(in)}; }},
    {"rename_table",
     [](ObjectReader& in) -> Operation { return RenameTable{text(in, "table"), text(in, "new_name")}; }},
    {"rename_column",
     [](ObjectReader& in) -> Operation {
         return RenameColumn{text(in, "table"), text(in, "column"), text(in, "new_name")};
     }},
    {"execute", read_execute},
};

// --- checking what was read -------------------------------------------------------
// What the JSON's shape cannot say: names are not empty, and a table being created has its
// constraints on its own columns. Caught here, the error names the revision file, the
// operation and the field; at upgrade, the database would say neither.

bool uses(const Names& names, const std::string& column);

class OperationCheck {
public:
    OperationCheck(detail::ErrorList& errors, detail::Loc loc) : errors_(errors), loc_(std::move(loc)) {}

    void operator()(const CreateTable& op) {
        const auto& table = op.table;
        name({"table", "name"}, table.name, "the table");
        if (table.columns.empty()) problem({"table", "columns"}, "the list is empty: a table has at least one column");
        Names columns;
        for (std::size_t i = 0; i < table.columns.size(); ++i) {
            const auto& column = table.columns[i].name;
            detail::Loc at{"table", "columns", std::to_string(i), "name"};
            name(at, column, "the column");
            if (!column.empty() && uses(columns, column)) {
                problem(at, "column '" + column + "' is listed twice in table " + table.name +
                                "; give each column its own name");
            }
            columns.push_back(column);
        }
        auto own_columns = [&](detail::Loc at, const Names& names) {
            for (std::size_t i = 0; i < names.size(); ++i) {
                if (!names[i].empty() && !uses(columns, names[i])) {
                    problem(with(at, std::to_string(i)), "'" + names[i] + "' is not a column of table " + table.name +
                                                             "; " + listed(columns));
                }
            }
        };
        if (!table.primary_key.columns.empty()) {
            column_names({"table", "primary_key", "columns"}, table.primary_key.columns);
            own_columns({"table", "primary_key", "columns"}, table.primary_key.columns);
        }
        for (std::size_t i = 0; i < table.foreign_keys.size(); ++i) {
            detail::Loc at{"table", "foreign_keys", std::to_string(i)};
            foreign_key(at, table.foreign_keys[i]);
            own_columns(with(at, "columns"), table.foreign_keys[i].columns);
            if (table.foreign_keys[i].referred_table == table.name) {
                own_columns(with(at, "referred_columns"), table.foreign_keys[i].referred_columns);
            }
        }
        for (std::size_t i = 0; i < table.indexes.size(); ++i) {
            detail::Loc at{"table", "indexes", std::to_string(i), "columns"};
            column_names(at, table.indexes[i].columns);
            own_columns(at, table.indexes[i].columns);
        }
        for (std::size_t i = 0; i < table.unique_constraints.size(); ++i) {
            detail::Loc at{"table", "unique_constraints", std::to_string(i), "columns"};
            column_names(at, table.unique_constraints[i].columns);
            own_columns(at, table.unique_constraints[i].columns);
        }
    }
    void operator()(const DropTable& op) { name({"table"}, op.table, "the table"); }
    void operator()(const AddColumn& op) {
        name({"table"}, op.table, "the table");
        name({"column", "name"}, op.column.name, "the column");
    }
    void operator()(const DropColumn& op) { table_and_column(op.table, op.column); }
    void operator()(const AlterColumn& op) { table_and_column(op.table, op.column); }
    void operator()(const CreateForeignKey& op) {
        name({"table"}, op.table, "the table");
        foreign_key({"foreign_key"}, op.foreign_key);
    }
    void operator()(const CreateUniqueConstraint& op) {
        name({"table"}, op.table, "the table");
        column_names({"constraint", "columns"}, op.constraint.columns);
    }
    void operator()(const DropConstraint& op) {
        name({"table"}, op.table, "the table");
        name({"name"}, op.name, "the constraint");
    }
    void operator()(const CreateIndex& op) {
        name({"table"}, op.table, "the table");
        column_names({"index", "columns"}, op.index.columns);
    }
    void operator()(const DropIndex& op) {
        name({"table"}, op.table, "the table");
        name({"name"}, op.name, "the index");
    }
    void operator()(const RenameTable& op) {
        name({"table"}, op.table, "the table");
        name({"new_name"}, op.new_name, "the table's new name");
    }
    void operator()(const RenameColumn& op) {
        table_and_column(op.table, op.column);
        name({"new_name"}, op.new_name, "the column's new name");
    }
    void operator()(const Execute&) {}  // raw SQL: its author's business

private:
    static detail::Loc with(detail::Loc loc, std::string part) {
        loc.push_back(std::move(part));
        return loc;
    }

    static std::string listed(const Names& names) {
        std::string out;
        for (const auto& name : names) {
            if (!name.empty()) out += (out.empty() ? "" : ", ") + name;
        }
        return out.empty() ? "it has none yet: add them to columns" : "name one of its columns (" + out + ")";
    }

    void problem(const detail::Loc& at, std::string message) {
        detail::Loc loc = loc_;
        loc.insert(loc.end(), at.begin(), at.end());
        errors_.add(std::move(loc), detail::Problem{std::move(message), "value_error.name", {}});
    }

    void name(const detail::Loc& at, const std::string& value, const std::string& what) {
        if (value.empty()) problem(at, "a name may not be empty: write " + what + "'s name");
    }

    void table_and_column(const std::string& table, const std::string& column) {
        name({"table"}, table, "the table");
        name({"column"}, column, "the column");
    }

    // A list of columns that a key, index or constraint covers: one at least, none empty.
    void column_names(const detail::Loc& at, const Names& names) {
        if (names.empty()) problem(at, "the list is empty: name at least one column");
        for (std::size_t i = 0; i < names.size(); ++i) name(with(at, std::to_string(i)), names[i], "the column");
    }

    void foreign_key(const detail::Loc& at, const schema::ForeignKey& key) {
        column_names(with(at, "columns"), key.columns);
        name(with(at, "referred_table"), key.referred_table, "the referred table");
        column_names(with(at, "referred_columns"), key.referred_columns);
        if (!key.columns.empty() && !key.referred_columns.empty() &&
            key.columns.size() != key.referred_columns.size()) {
            problem(with(at, "referred_columns"),
                    "names " + std::to_string(key.referred_columns.size()) + " columns for " +
                        std::to_string(key.columns.size()) +
                        " in columns: a foreign key refers to as many columns as it has");
        }
    }

    detail::ErrorList& errors_;
    detail::Loc loc_;
};

// --- applying to a schema ---------------------------------------------------------

[[noreturn]] void misfit(const Operation& op, const std::string& why) {
    throw MigrationError(describe(op) + ": " + why);
}

schema::Table& table_in(schema::Schema& schema, const Operation& op, const std::string& name) {
    for (auto& table : schema.tables) {
        if (table.name == name) return table;
    }
    misfit(op, "there is no table " + name);
}

template <class Item>
auto find_named(std::vector<Item>& items, const std::string& name) {
    return std::find_if(items.begin(), items.end(), [&](const Item& item) { return item.name == name; });
}

// `label` names the item in messages: "table apikey", "column bakery.name".
template <class Item>
void erase_named(std::vector<Item>& items, const std::string& name, const Operation& op, const std::string& label) {
    auto it = find_named(items, name);
    if (it == items.end()) misfit(op, "there is no " + label);
    items.erase(it);
}

template <class Item>
void add_unique_named(std::vector<Item>& items, Item item, const Operation& op, const std::string& label) {
    if (find_named(items, item.name) != items.end()) misfit(op, label + " exists already");
    items.push_back(std::move(item));
}

void rename_in(Names& names, const std::string& from, const std::string& to) {
    std::replace(names.begin(), names.end(), from, to);
}

bool uses(const Names& names, const std::string& column) {
    return std::find(names.begin(), names.end(), column) != names.end();
}

void drop_column_from(schema::Table& table, const DropColumn& op) {
    erase_named(table.columns, op.column, op, "column " + op.table + "." + op.column);
    // Indexes and constraints on the column go with it, as on either database.
    auto on_column = [&](const auto& item) { return uses(item.columns, op.column); };
    table.indexes.erase(std::remove_if(table.indexes.begin(), table.indexes.end(), on_column), table.indexes.end());
    table.unique_constraints.erase(
        std::remove_if(table.unique_constraints.begin(), table.unique_constraints.end(), on_column),
        table.unique_constraints.end());
    table.foreign_keys.erase(std::remove_if(table.foreign_keys.begin(), table.foreign_keys.end(), on_column),
                             table.foreign_keys.end());
}

void rename_column_in(schema::Schema& schema, const RenameColumn& op) {
    auto& table = table_in(schema, op, op.table);
    auto column = find_named(table.columns, op.column);
    if (column == table.columns.end()) misfit(op, "there is no column " + op.table + "." + op.column);
    if (find_named(table.columns, op.new_name) != table.columns.end()) {
        misfit(op, "column " + op.table + "." + op.new_name + " exists already");
    }
    column->name = op.new_name;
    rename_in(table.primary_key.columns, op.column, op.new_name);
    for (auto& fk : table.foreign_keys) rename_in(fk.columns, op.column, op.new_name);
    for (auto& index : table.indexes) rename_in(index.columns, op.column, op.new_name);
    for (auto& unique : table.unique_constraints) rename_in(unique.columns, op.column, op.new_name);
    for (auto& other : schema.tables) {
        for (auto& fk : other.foreign_keys) {
            if (fk.referred_table == op.table) rename_in(fk.referred_columns, op.column, op.new_name);
        }
    }
}

void rename_table_in(schema::Schema& schema, const RenameTable& op) {
    if (schema.find_table(op.new_name) != nullptr) misfit(op, "table " + op.new_name + " exists already");
    table_in(schema, op, op.table).name = op.new_name;
    for (auto& other : schema.tables) {
        for (auto& fk : other.foreign_keys) {
            if (fk.referred_table == op.table) fk.referred_table = op.new_name;
        }
    }
}

void alter_column_in(schema::Table& table, const AlterColumn& op) {
    auto column = find_named(table.columns, op.column);
    if (column == table.columns.end()) misfit(op, "there is no column " + op.table + "." + op.column);
    if (op.nullable) column->nullable = *op.nullable;
    if (op.type) column->type = *op.type;
    if (op.server_default) column->server_default = *op.server_default;
}

json table_json(const schema::Table& table) { return table; }

template <class Item>
const Item* find_named_in(const std::vector<Item>& items, const std::string& name) {
    auto it = std::find_if(items.begin(), items.end(), [&](const Item& item) { return item.name == name; });
    return it == items.end() ? nullptr : &*it;
}

}  // namespace

std::string describe(const Operation& operation) {
    return std::visit(
        Overloaded{
            [](const CreateTable& op) { return "create_table " + op.table.name; },
            [](const DropTable& op) { return "drop_table " + op.table; },
            [](const AddColumn& op) { return "add_column " + op.table + "." + op.column.name; },
            [](const DropColumn& op) { return "drop_column " + op.table + "." + op.column; },
            [](const AlterColumn& op) { return "alter_column " + op.table + "." + op.column; },
            [](const CreateForeignKey& op) { return "create_foreign_key " + op.foreign_key.name + " on " + op.table; },
            [](const CreateUniqueConstraint& op) {
                return "create_unique_constraint " + op.constraint.name + " on " + op.table;
            },
            [](const DropConstraint& op) { return "drop_constraint " + op.name + " on " + op.table; },
            [](const CreateIndex& op) { return "create_index " + op.index.name + " on " + op.table; },
            [](const DropIndex& op) { return "drop_index " + op.name + " on " + op.table; },
            [](const RenameTable& op) { return "rename_table " + op.table + " to " + op.new_name; },
            [](const RenameColumn& op) { return "rename_column " + op.table + "." + op.column + " to " + op.new_name; },
            [](const Execute& op) {
                std::string head = op.sql.substr(0, 60);
                return "execute " + head + (op.sql.size() > 60 ? "..." : "");
            },
        },
        operation);
}

std::string table_of(const Operation& operation) {
    return std::visit(Overloaded{
                          [](const CreateTable& op) { return op.table.name; },
                          [](const Execute&) { return std::string(); },
                          [](const auto& op) { return op.table; },
                      },
                      operation);
}

namespace {

// The field is written only where it differs from the default, so files stay as they were.
json with_online(json out, bool online) {
    if (!online) out["online"] = false;
    return out;
}

}  // namespace

json to_json(const Operation& operation) {
    return std::visit(
        Overloaded{
            [](const CreateTable& op) { return json{{"op", "create_table"}, {"table", table_json(op.table)}}; },
            [](const DropTable& op) { return json{{"op", "drop_table"}, {"table", op.table}}; },
            [](const AddColumn& op) {
                json out{{"op", "add_column"}, {"table", op.table}, {"column", op.column}};
                if (op.backfill) out["backfill"] = *op.backfill;
                return out;
            },
            [](const DropColumn& op) { return json{{"op", "drop_column"}, {"table", op.table}, {"column", op.column}}; },
            [](const AlterColumn& op) {
                json out{{"op", "alter_column"}, {"table", op.table}, {"column", op.column}};
                if (op.nullable) out["nullable"] = *op.nullable;
                if (op.type) out["type"] = *op.type;
                if (op.server_default) out["server_default"] = op.server_default->has_value()
                                                                    ? json(**op.server_default)
                                                                    : json(nullptr);
                return with_online(std::move(out), op.online);
            },
            [](const CreateForeignKey& op) {
                return with_online(
                    json{{"op", "create_foreign_key"}, {"table", op.table}, {"foreign_key", op.foreign_key}}, op.online);
            },
            [](const CreateUniqueConstraint& op) {
                return with_online(
                    json{{"op", "create_unique_constraint"}, {"table", op.table}, {"constraint", op.constraint}},
                    op.online);
            },
            [](const DropConstraint& op) {
                return json{{"op", "drop_constraint"}, {"table", op.table}, {"name", op.name},
                            {"type", kind_name(op.kind)}};
            },
            [](const CreateIndex& op) {
                return with_online(json{{"op", "create_index"}, {"table", op.table}, {"index", op.index}}, op.online);
            },
            [](const DropIndex& op) {
                return with_online(json{{"op", "drop_index"}, {"table", op.table}, {"name", op.name}}, op.online);
            },
            [](const RenameTable& op) {
                return json{{"op", "rename_table"}, {"table", op.table}, {"new_name", op.new_name}};
            },
            [](const RenameColumn& op) {
                return json{{"op", "rename_column"}, {"table", op.table}, {"column", op.column},
                            {"new_name", op.new_name}};
            },
            [](const Execute& op) {
                json out{{"op", "execute"}, {"sql", op.sql}};
                if (op.sqlite) out["sqlite"] = *op.sqlite;
                if (op.postgresql) out["postgresql"] = *op.postgresql;
                return out;
            },
        },
        operation);
}

Operation operation_from_json(const json& in, std::vector<std::string> loc) {
    detail::ErrorList errors;
    ObjectReader reader(in, loc, errors);
    std::optional<Operation> operation;
    if (auto kind = reader.required<std::string>("op")) {
        auto it = std::find_if(std::begin(operation_kinds), std::end(operation_kinds),
                               [&](const OperationKind& k) { return k.name == *kind; });
        if (it == std::end(operation_kinds)) {
            std::string known;
            for (const auto& k : operation_kinds) known += (known.empty() ? "" : ", ") + std::string(k.name);
            errors.add(detail::child_loc(loc, "op"),
                       detail::Problem{"unknown operation '" + *kind + "'; use one of " + known, "value_error.op", {}});
        } else {
            operation = it->read(reader);
            if (!takes_online(*operation)) {
                reader.forbid("online", "only create_index, drop_index, create_foreign_key, create_unique_constraint "
                                        "and alter_column take it: the operations the engine rewrites for a live "
                                        "PostgreSQL");
            }
        }
    }
    reader.reject_unknown_fields();
    // What was read is checked once it has the right shape: a field missing or of the wrong
    // type reads as an empty name, which would be reported twice.
    if (errors.empty()) std::visit(OperationCheck(errors, loc), *operation);
    errors.throw_if_any();
    return *operation;
}

void apply(const Operation& operation, schema::Schema& schema) {
    std::visit(
        Overloaded{
            [&](const CreateTable& op) {
                add_unique_named(schema.tables, op.table, operation, "table " + op.table.name);
            },
            [&](const DropTable& op) { erase_named(schema.tables, op.table, operation, "table " + op.table); },
            [&](const AddColumn& op) {
                add_unique_named(table_in(schema, operation, op.table).columns, op.column, operation,
                                 "column " + op.table + "." + op.column.name);
            },
            [&](const DropColumn& op) { drop_column_from(table_in(schema, operation, op.table), op); },
            [&](const AlterColumn& op) { alter_column_in(table_in(schema, operation, op.table), op); },
            [&](const CreateForeignKey& op) {
                add_unique_named(table_in(schema, operation, op.table).foreign_keys, op.foreign_key, operation,
                                 "foreign key " + op.foreign_key.name);
            },
            [&](const CreateUniqueConstraint& op) {
                add_unique_named(table_in(schema, operation, op.table).unique_constraints, op.constraint, operation,
                                 "unique constraint " + op.constraint.name);
            },
            [&](const DropConstraint& op) {
                auto& table = table_in(schema, operation, op.table);
                if (op.kind == ConstraintKind::foreign_key) {
                    erase_named(table.foreign_keys, op.name, operation, "foreign key " + op.name);
                } else {
                    erase_named(table.unique_constraints, op.name, operation, "unique constraint " + op.name);
                }
            },
            [&](const CreateIndex& op) {
                add_unique_named(table_in(schema, operation, op.table).indexes, op.index, operation,
                                 "index " + op.index.name);
            },
            [&](const DropIndex& op) {
                erase_named(table_in(schema, operation, op.table).indexes, op.name, operation, "index " + op.name);
            },
            [&](const RenameTable& op) { rename_table_in(schema, op); },
            [&](const RenameColumn& op) { rename_column_in(schema, op); },
            [&](const Execute&) {},  // raw SQL: its effect on the schema is its author's business
        },
        operation);
}

std::optional<std::string> neutral_backfill(const schema::Column& column) {
    if (column.nullable || column.server_default || column.autoincrement) return std::nullopt;
    switch (column.type.kind) {
        case schema::TypeKind::boolean: return std::string("false");
        case schema::TypeKind::integer:
        case schema::TypeKind::big_integer:
        case schema::TypeKind::floating: return std::string("0");
        case schema::TypeKind::varchar:
        case schema::TypeKind::text: return std::string("''");
        // A text literal both dialects take for a timestamp, as a default and in a rebuild's SELECT.
        case schema::TypeKind::timestamp: return std::string("'1970-01-01 00:00:00'");
        case schema::TypeKind::other: return std::nullopt;
    }
    return std::nullopt;
}

std::vector<Operation> inverse(const Operation& operation, const schema::Schema& before) {
    // Applying the operation to a copy checks that it fits `before`, with apply()'s
    // messages; after that every lookup below finds what it looks for.
    try {
        schema::Schema after = before;
        apply(operation, after);
    } catch (const MigrationError& error) {
        throw MigrationError(std::string("cannot invert ") + error.what());
    }
    auto table_before = [&](const std::string& name) -> const schema::Table& { return *before.find_table(name); };
    return std::visit(
        Overloaded{
            [](const CreateTable& op) -> std::vector<Operation> { return {DropTable{op.table.name}}; },
            [&](const DropTable& op) -> std::vector<Operation> { return {CreateTable{table_before(op.table)}}; },
            [](const AddColumn& op) -> std::vector<Operation> { return {DropColumn{op.table, op.column.name}}; },
            [&](const DropColumn& op) -> std::vector<Operation> {
                const auto& table = table_before(op.table);
                const auto& column = *table.find_column(op.column);
                std::vector<Operation> out{AddColumn{op.table, column, neutral_backfill(column)}};
                for (const auto& index : table.indexes) {
                    if (uses(index.columns, op.column)) out.push_back(CreateIndex{op.table, index});
                }
                for (const auto& unique : table.unique_constraints) {
                    if (uses(unique.columns, op.column)) out.push_back(CreateUniqueConstraint{op.table, unique});
                }
                for (const auto& key : table.foreign_keys) {
                    if (uses(key.columns, op.column)) out.push_back(CreateForeignKey{op.table, key});
                }
                return out;
            },
            [&](const AlterColumn& op) -> std::vector<Operation> {
                // Restores what the operation changes, and nothing else.
                const auto& column = *table_before(op.table).find_column(op.column);
                AlterColumn back{op.table, op.column, {}, {}, {}};
                if (op.nullable) back.nullable = column.nullable;
                if (op.type) back.type = column.type;
                if (op.server_default) back.server_default = column.server_default;
                return {back};
            },
            [](const CreateForeignKey& op) -> std::vector<Operation> {
                return {DropConstraint{op.table, op.foreign_key.name, ConstraintKind::foreign_key}};
            },
            [](const CreateUniqueConstraint& op) -> std::vector<Operation> {
                return {DropConstraint{op.table, op.constraint.name, ConstraintKind::unique}};
            },
            [&](const DropConstraint& op) -> std::vector<Operation> {
                const auto& table = table_before(op.table);
                if (op.kind == ConstraintKind::foreign_key) {
                    return {CreateForeignKey{op.table, *find_named_in(table.foreign_keys, op.name)}};
                }
                return {CreateUniqueConstraint{op.table, *find_named_in(table.unique_constraints, op.name)}};
            },
            [](const CreateIndex& op) -> std::vector<Operation> { return {DropIndex{op.table, op.index.name, op.online}}; },
            [&](const DropIndex& op) -> std::vector<Operation> {
                return {CreateIndex{op.table, *find_named_in(table_before(op.table).indexes, op.name), op.online}};
            },
            [](const RenameTable& op) -> std::vector<Operation> { return {RenameTable{op.new_name, op.table}}; },
            [](const RenameColumn& op) -> std::vector<Operation> {
                return {RenameColumn{op.table, op.new_name, op.column}};
            },
            [&](const Execute&) -> std::vector<Operation> {
                throw MigrationError("cannot invert " + describe(operation) +
                                     ": raw SQL has no inverse; write the downgrade's operations by hand");
            },
        },
        operation);
}

bool operator==(const CreateTable& a, const CreateTable& b) { return a.table == b.table; }
bool operator==(const DropTable& a, const DropTable& b) { return a.table == b.table; }
bool operator==(const AddColumn& a, const AddColumn& b) {
    return a.table == b.table && a.column == b.column && a.backfill == b.backfill;
}
bool operator==(const DropColumn& a, const DropColumn& b) { return a.table == b.table && a.column == b.column; }
bool operator==(const AlterColumn& a, const AlterColumn& b) {
    return a.table == b.table && a.column == b.column && a.nullable == b.nullable && a.type == b.type &&
           a.server_default == b.server_default && a.online == b.online;
}
bool operator==(const CreateForeignKey& a, const CreateForeignKey& b) {
    return a.table == b.table && a.foreign_key == b.foreign_key && a.online == b.online;
}
bool operator==(const CreateUniqueConstraint& a, const CreateUniqueConstraint& b) {
    return a.table == b.table && a.constraint == b.constraint && a.online == b.online;
}
bool operator==(const DropConstraint& a, const DropConstraint& b) {
    return a.table == b.table && a.name == b.name && a.kind == b.kind;
}
bool operator==(const CreateIndex& a, const CreateIndex& b) {
    return a.table == b.table && a.index == b.index && a.online == b.online;
}
bool operator==(const DropIndex& a, const DropIndex& b) {
    return a.table == b.table && a.name == b.name && a.online == b.online;
}
bool operator==(const RenameTable& a, const RenameTable& b) {
    return a.table == b.table && a.new_name == b.new_name;
}
bool operator==(const RenameColumn& a, const RenameColumn& b) {
    return a.table == b.table && a.column == b.column && a.new_name == b.new_name;
}
bool operator==(const Execute& a, const Execute& b) {
    return a.sql == b.sql && a.sqlite == b.sqlite && a.postgresql == b.postgresql;
}

}  // namespace pangeo_forge::migrate
