#pragma once
// The operations a revision file holds: dialect-neutral, each the inverse of another, so
// an upgrade and its downgrade are written in the same terms. In JSON an operation is an
// object whose "op" names its kind: {"op": "add_column", "table": "reciperun", ...}.
//
// `online`: on PostgreSQL the engine runs some operations on a table that already holds
// rows in a form that keeps the table readable and writable (ddl.hpp, online_rewrite()).
// An operation that takes the field may turn that off with "online": false, e.g. for a
// table that is known to be empty.
//
// Thread safety: plain values and pure functions.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::migrate {

struct CreateTable {
    schema::Table table;
};

struct DropTable {
    std::string table;
};

struct AddColumn {
    std::string table;
    schema::Column column;
    // The value that rows already in the table get, for a NOT NULL column without a
    // server default (a neutral SQL literal such as "false"). The column keeps no default.
    std::optional<std::string> backfill;
};

struct DropColumn {
    std::string table;
    std::string column;
};

// Changes what is given; a field left empty stays as it is.
struct AlterColumn {
    std::string table;
    std::string column;
    std::optional<bool> nullable;
    std::optional<schema::Type> type;
    std::optional<std::optional<std::string>> server_default;  // set, or drop with an empty inner value
    bool online = true;
};

struct CreateForeignKey {
    std::string table;
    schema::ForeignKey foreign_key;
    bool online = true;
};

struct CreateUniqueConstraint {
    std::string table;
    schema::UniqueConstraint constraint;
    bool online = true;
};

enum class ConstraintKind { foreign_key, unique };

struct DropConstraint {
    std::string table;
    std::string name;
    ConstraintKind kind = ConstraintKind::foreign_key;
};

struct CreateIndex {
    std::string table;
    schema::Index index;
    bool online = true;
};

struct DropIndex {
    std::string table;
    std::string name;
    bool online = true;
};

struct RenameTable {
    std::string table;
    std::string new_name;
};

struct RenameColumn {
    std::string table;
    std::string column;
    std::string new_name;
};

// Raw SQL: `sql` runs on every dialect unless the dialect has its own.
struct Execute {
    std::string sql;
    std::optional<std::string> sqlite;
    std::optional<std::string> postgresql;
};

using Operation = std::variant<CreateTable, DropTable, AddColumn, DropColumn, AlterColumn, CreateForeignKey,
                               CreateUniqueConstraint, DropConstraint, CreateIndex, DropIndex, RenameTable,
                               RenameColumn, Execute>;

// "add_column reciperun.is_test", for progress lines and error messages.
std::string describe(const Operation& operation);

// The table an operation works on (empty for execute).
std::string table_of(const Operation& operation);

nlohmann::json to_json(const Operation& operation);
// Throws ValidationError with paths below `loc` (e.g. ["upgrade", "2", "column"]).
Operation operation_from_json(const nlohmann::json& in, std::vector<std::string> loc = {});

// The schema after the operation: what the database holds once it ran. Throws
// MigrationError when the operation does not fit the schema (a table that is not there,
// a column that already is).
void apply(const Operation& operation, schema::Schema& schema);

// The operations that undo `operation`, given `before`, the schema it runs on: applied
// after it, they give `before` back (as canonical() compares: a re-added column comes last).
// Most kinds invert to one operation; drop_column inverts to the add_column and then the
// indexes, unique constraints and foreign keys of its table that used the column (which
// the drop took with it). What a drop deleted is not restored: a dropped table comes back
// empty, a dropped column with its server default or, when NOT NULL, neutral_backfill()'s
// value in every row (NULL otherwise); so re-creating a unique constraint or a foreign key
// over such a column fails once the table holds rows the backfill cannot satisfy (two
// rows with '' under a unique constraint): that downgrade needs writing by hand.
// Throws MigrationError naming the operation when it has no inverse (execute: raw SQL,
// whose downgrade is written by hand) or does not fit `before` (a table, column,
// constraint or index it names is not there, or one it creates already is).
std::vector<Operation> inverse(const Operation& operation, const schema::Schema& before);

// The value that rows already in a table get when `column` is added NOT NULL without a
// server default: a neutral zero of its type ("false", "0", "''", the Unix epoch for a
// timestamp). std::nullopt when the column needs none (nullable, with a server default,
// auto-increment) or its type has no neutral value (`other`).
std::optional<std::string> neutral_backfill(const schema::Column& column);

bool operator==(const CreateTable& a, const CreateTable& b);
bool operator==(const DropTable& a, const DropTable& b);
bool operator==(const AddColumn& a, const AddColumn& b);
bool operator==(const DropColumn& a, const DropColumn& b);
bool operator==(const AlterColumn& a, const AlterColumn& b);
bool operator==(const CreateForeignKey& a, const CreateForeignKey& b);
bool operator==(const CreateUniqueConstraint& a, const CreateUniqueConstraint& b);
bool operator==(const DropConstraint& a, const DropConstraint& b);
bool operator==(const CreateIndex& a, const CreateIndex& b);
bool operator==(const DropIndex& a, const DropIndex& b);
bool operator==(const RenameTable& a, const RenameTable& b);
bool operator==(const RenameColumn& a, const RenameColumn& b);
bool operator==(const Execute& a, const Execute& b);

}  // namespace pangeo_forge::migrate
