#pragma once
// Operations turned into SQL for one dialect. PostgreSQL alters tables in place. SQLite
// cannot change a column's type, nullability or default, nor add or drop a constraint,
// in place: there an operation becomes a table rebuild (create the new table, copy the
// rows, drop the old one, rename the new one, re-create the indexes), and consecutive
// operations that each need a rebuild of the same table share one.
//
// Online rewrites (PostgreSQL): an ALTER TABLE waits for an ACCESS EXCLUSIVE lock behind
// every open transaction on the table, and every query that comes after it queues behind
// it. On a table that already holds rows (one that was there before the revision) the
// engine therefore writes some operations in a form that keeps the table readable and
// writable while it works; see online_rewrite(). Such a revision runs in several steps, some
// outside its transaction (migrator.hpp says how they are recorded).
//
// Thread safety: pure functions of their arguments.

#include <string>
#include <vector>

#include "pangeo_forge/db/dialect.hpp"
#include "pangeo_forge/migrate/operations.hpp"
#include "pangeo_forge/schema/schema.hpp"

namespace pangeo_forge::migrate {

// How a step's statements run with respect to the revision's transaction.
enum class Isolation {
    in_transaction,   // with the revision's other statements, in one transaction
    own_transaction,  // in a transaction of its own, so that the locks taken by the steps
                      // before it are not held while it scans the table (VALIDATE CONSTRAINT)
    no_transaction,   // outside any transaction (CREATE INDEX CONCURRENTLY refuses to run in one)
};

// The statements of one operation, or of a batch of operations rebuilt together.
struct Step {
    std::string description;  // "alter_column reciperun.status", or several joined with "; "
    std::vector<std::string> statements;
    Isolation isolation = Isolation::in_transaction;
    // A concurrent index build that fails leaves the index behind, INVALID: the index that
    // must be dropped (if it is there and invalid) before this step runs again.
    std::string invalid_index;
};

// What the engine writes on PostgreSQL instead of an operation's plain statement.
enum class OnlineRewrite {
    none,
    concurrent_index,         // create_index: CREATE INDEX CONCURRENTLY, outside the transaction
    concurrent_drop_index,    // drop_index: DROP INDEX CONCURRENTLY, outside the transaction
    not_valid_then_validate,  // create_foreign_key: added NOT VALID, then VALIDATE CONSTRAINT on its own
    not_null_through_check,   // alter_column to NOT NULL: a CHECK (col IS NOT NULL) NOT VALID,
                              // validated on its own, lets SET NOT NULL skip its scan
    unique_through_index,     // create_unique_constraint: a unique index built concurrently,
                              // then ADD CONSTRAINT ... UNIQUE USING INDEX
};

struct RenderOptions {
    bool online = true;  // the online rewrites, where the dialect has them
};

// The rewrite the engine applies to `operation`: only on PostgreSQL, with options.online and
// the operation's own `online` left true, and only on a table in `existing_tables` (the
// tables there before the revision began: a table the revision creates is empty, and plain
// DDL on it is quicker and locks nobody out).
OnlineRewrite online_rewrite(const Operation& operation, const std::vector<std::string>& existing_tables,
                             const db::Dialect& dialect, const RenderOptions& options = {});

// Follows online_rewrite()'s `existing_tables` through one operation of the revision: a
// renamed table keeps its rows under the new name, a dropped one is gone (and one created
// again under its name is empty). render() and lint keep the list with this.
void follow_existing_tables(const Operation& operation, std::vector<std::string>& existing_tables);

// Renders `operations` in order against `schema`, the database's schema before them,
// which is brought up to date as they go. Throws MigrationError (naming the operation)
// when an operation does not fit the schema.
std::vector<Step> render(const std::vector<Operation>& operations, schema::Schema& schema,
                         const db::Dialect& dialect, const RenderOptions& options = {});

// DROP INDEX CONCURRENTLY IF EXISTS: how a drop_index step drops an index without blocking
// writes, and how the engine drops the INVALID index a failed concurrent build left.
std::string drop_index_concurrently_sql(const std::string& name, const db::Dialect& dialect);

// CREATE TABLE with every constraint named, then CREATE INDEX for each index;
// `if_not_exists` leaves a table already there as it is.
std::vector<std::string> create_table_statements(const schema::Table& table, const db::Dialect& dialect,
                                                 bool if_not_exists = false);

}  // namespace pangeo_forge::migrate
