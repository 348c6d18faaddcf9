#include "pangeo_forge/migrate/autogenerate.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/commands.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "support/text.hpp"

namespace pangeo_forge::migrate {
namespace {

using detail::joined;
using schema::Column;
using schema::Table;
using schema::TypeKind;

// The order operations take in an upgrade; the downgrade is derived from it (finish()).
enum class Phase {
    drop_foreign_key,
    drop_index_or_unique,
    create_table,
    add_column,
    alter_column,
    drop_column,
    create_index_or_unique,
    create_foreign_key,
    drop_table,
};

struct Change {
    Phase phase;
    Operation upgrade;
};

// Collects the changes, the readable differences, the notes and the warnings.
class Differ {
public:
    void add(Phase phase, Operation upgrade, std::string difference) {
        changes_.push_back({phase, std::move(upgrade)});
        result_.differences.push_back(std::move(difference));
    }
    void note(std::string text) { result_.notes.push_back(std::move(text)); }
    void destructive(std::string text) { result_.destructive.push_back(std::move(text)); }
    void difference_only(std::string text) { result_.differences.push_back(std::move(text)); }

    // Orders the upgrade, and derives the downgrade from it: each operation's inverse taken
    // against the schema it runs on (`live` brought forward by the operations before it),
    // the inverses run in reverse order.
    Comparison finish(const schema::Schema& live) {
        std::stable_sort(changes_.begin(), changes_.end(),
                         [](const Change& a, const Change& b) { return a.phase < b.phase; });
        schema::Schema schema = live;
        std::vector<std::vector<Operation>> inverses;
        for (const auto& change : changes_) {
            result_.upgrade.push_back(change.upgrade);
            inverses.push_back(inverse(change.upgrade, schema));
            apply(change.upgrade, schema);
        }
        for (auto it = inverses.rbegin(); it != inverses.rend(); ++it) {
            result_.downgrade.insert(result_.downgrade.end(), it->begin(), it->end());
        }
        return std::move(result_);
    }

private:
    std::vector<Change> changes_;
    Comparison result_;
};

template <class Item>
const Item* find_named(const std::vector<Item>& items, const std::string& name) {
    auto it = std::find_if(items.begin(), items.end(), [&](const Item& item) { return item.name == name; });
    return it == items.end() ? nullptr : &*it;
}

std::string describe_default(const std::optional<std::string>& value) { return value ? *value : "none"; }

// Does changing `from` to `to` keep every value? (integer to bigint does; varchar(80) to varchar(20) may not.)
bool widens(const schema::Type& from, const schema::Type& to) {
    if (from == to || to.kind == TypeKind::text) return true;
    bool stringy = from.kind == TypeKind::varchar || from.kind == TypeKind::text;
    if (to.kind == TypeKind::varchar) {
        if (!to.length) return true;
        return from.kind == TypeKind::varchar && from.length && *from.length <= *to.length;
    }
    if (stringy) return false;
    if (to.kind == TypeKind::big_integer) return from.kind == TypeKind::integer;
    if (to.kind == TypeKind::floating) return from.kind == TypeKind::integer || from.kind == TypeKind::big_integer;
    return false;
}

std::string column_name(const Table& table, const Column& column) { return table.name + "." + column.name; }

void compare_column(Differ& differ, const Table& table, const Column& declared, const Column& live) {
    AlterColumn up{table.name, declared.name, {}, {}, {}};
    std::vector<std::string> what;
    if (declared.nullable != live.nullable) {
        up.nullable = declared.nullable;
        what.push_back(std::string("nullable (database ") + (live.nullable ? "yes" : "no") + ", declared " +
                       (declared.nullable ? "yes" : "no") + ")");
    }
    if (declared.type != live.type) {
        up.type = declared.type;
        what.push_back("type (database " + schema::to_string(live.type) + ", declared " +
                       schema::to_string(declared.type) + ")");
        if (!widens(live.type, declared.type)) {
            differ.destructive("alter_column " + column_name(table, declared) + " narrows " +
                               schema::to_string(live.type) + " to " + schema::to_string(declared.type) +
                               ": values that do not fit are refused or lost");
        }
    }
    if (declared.server_default != live.server_default) {
        up.server_default = declared.server_default;
        what.push_back("default (database " + describe_default(live.server_default) + ", declared " +
                       describe_default(declared.server_default) + ")");
    }
    if (!what.empty()) {
        differ.add(Phase::alter_column, up, "column " + column_name(table, declared) + " differs: " + joined(what));
    }
    if (declared.autoincrement != live.autoincrement) {
        differ.difference_only("column " + column_name(table, declared) + " is " +
                               (live.autoincrement ? "" : "not ") + "auto-increment in the database but " +
                               (declared.autoincrement ? "" : "not ") + "declared so");
        differ.note("column " + column_name(table, declared) +
                    ": auto-increment differs, which no operation changes; write it by hand (execute)");
    }
}

// Drops and adds of one kind of named item (foreign keys, indexes, unique constraints).
template <class Item, class MakeCreate, class MakeDrop>
void compare_named(Differ& differ, const Table& table, const std::vector<Item>& declared,
                   const std::vector<Item>& live, const std::string& what, Phase create_phase, Phase drop_phase,
                   MakeCreate create, MakeDrop drop) {
    for (const auto& item : live) {
        const Item* wanted = find_named(declared, item.name);
        if (wanted == nullptr || !(*wanted == item)) {
            differ.add(drop_phase, drop(item),
                       what + " " + item.name + " on " + table.name +
                           (wanted ? " differs from the declared one" : " is in the database but not declared"));
        }
    }
    for (const auto& item : declared) {
        const Item* existing = find_named(live, item.name);
        if (existing == nullptr || !(*existing == item)) {
            differ.add(create_phase, create(item),
                       what + " " + item.name + " on " + table.name +
                           (existing ? " will be re-created as declared" : " is declared but not in the database"));
        }
    }
}

void compare_table(Differ& differ, const Table& declared, const Table& live) {
    std::vector<const Column*> added;
    std::vector<const Column*> dropped;
    for (const auto& column : declared.columns) {
        const Column* existing = live.find_column(column.name);
        if (existing != nullptr) {
            compare_column(differ, declared, column, *existing);
            continue;
        }
        auto backfill = neutral_backfill(column);
        differ.add(Phase::add_column, AddColumn{declared.name, column, backfill},
                   "column " + column_name(declared, column) + " is declared but not in the database");
        if (backfill) {
            differ.note("column " + column_name(declared, column) + " is NOT NULL without a default: rows already in "
                        "the table get " + *backfill + " (the add_column's \"backfill\"); change it if they need "
                        "another value");
        } else if (!column.nullable && !column.server_default && !column.autoincrement) {
            differ.note("column " + column_name(declared, column) +
                        " is NOT NULL without a default: rows already in the table need a value; give the add_column "
                        "a \"backfill\"");
        }
        added.push_back(&column);
    }
    for (const auto& column : live.columns) {
        if (declared.find_column(column.name) != nullptr) continue;
        differ.add(Phase::drop_column, DropColumn{live.name, column.name},
                   "column " + column_name(live, column) + " is in the database but not declared");
        differ.destructive("drop_column " + column_name(live, column) + " deletes its values");
        dropped.push_back(&column);
    }
    for (const Column* gone : dropped) {
        for (const Column* fresh : added) {
            if (gone->type != fresh->type) continue;
            differ.note(declared.name + ": column " + gone->name + " is dropped and " + fresh->name + " added, both " +
                        schema::to_string(gone->type) + ". If it is a rename, replace the two operations with "
                        "{\"op\": \"rename_column\", \"table\": \"" + declared.name + "\", \"column\": \"" +
                        gone->name + "\", \"new_name\": \"" + fresh->name + "\"} (and its reverse in the downgrade) "
                        "so that no data is lost");
        }
    }
    if (!(declared.primary_key == live.primary_key)) {
        differ.difference_only("the primary key of " + declared.name + " differs (database " +
                               joined(live.primary_key.columns) + ", declared " + joined(declared.primary_key.columns) +
                               ")");
        differ.note("the primary key of " + declared.name + " differs, which no operation changes: write it by hand");
    }
    compare_named(differ, declared, declared.foreign_keys, live.foreign_keys, "foreign key", Phase::create_foreign_key,
                  Phase::drop_foreign_key,
                  [&](const schema::ForeignKey& key) -> Operation { return CreateForeignKey{declared.name, key}; },
                  [&](const schema::ForeignKey& key) -> Operation {
                      return DropConstraint{declared.name, key.name, ConstraintKind::foreign_key};
                  });
    compare_named(differ, declared, declared.indexes, live.indexes, "index", Phase::create_index_or_unique,
                  Phase::drop_index_or_unique,
                  [&](const schema::Index& index) -> Operation { return CreateIndex{declared.name, index}; },
                  [&](const schema::Index& index) -> Operation { return DropIndex{declared.name, index.name}; });
    compare_named(differ, declared, declared.unique_constraints, live.unique_constraints, "unique constraint",
                  Phase::create_index_or_unique, Phase::drop_index_or_unique,
                  [&](const schema::UniqueConstraint& unique) -> Operation {
                      return CreateUniqueConstraint{declared.name, unique};
                  },
                  [&](const schema::UniqueConstraint& unique) -> Operation {
                      return DropConstraint{declared.name, unique.name, ConstraintKind::unique};
                  });
}

// `tables` ordered so that each comes after the tables (among them) it refers to.
std::vector<const Table*> in_foreign_key_order(std::vector<const Table*> tables) {
    std::vector<const Table*> ordered;
    std::set<std::string> placed;
    while (!tables.empty()) {
        auto ready = std::find_if(tables.begin(), tables.end(), [&](const Table* table) {
            return std::all_of(table->foreign_keys.begin(), table->foreign_keys.end(), [&](const schema::ForeignKey& key) {
                bool pending = std::any_of(tables.begin(), tables.end(), [&](const Table* other) {
                    return other != table && other->name == key.referred_table;
                });
                return !pending || placed.count(key.referred_table);
            });
        });
        if (ready == tables.end()) ready = tables.begin();  // a cycle: keep the given order
        placed.insert((*ready)->name);
        ordered.push_back(*ready);
        tables.erase(ready);
    }
    return ordered;
}

}  // namespace

Comparison compare(const schema::Schema& declared, const schema::Schema& live) {
    Differ differ;
    std::vector<const Table*> created;
    for (const auto& table : declared.tables) {
        const Table* existing = live.find_table(table.name);
        if (existing != nullptr) {
            compare_table(differ, table, *existing);
        } else {
            created.push_back(&table);
        }
    }
    for (const Table* table : in_foreign_key_order(created)) {
        differ.add(Phase::create_table, CreateTable{*table},
                   "table " + table->name + " is declared but not in the database");
    }
    std::vector<const Table*> dropped;
    for (const auto& table : live.tables) {
        if (declared.find_table(table.name) == nullptr) dropped.push_back(&table);
    }
    auto order = in_foreign_key_order(dropped);
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        differ.add(Phase::drop_table, DropTable{(*it)->name},
                   "table " + (*it)->name + " is in the database but not declared");
        differ.destructive("drop_table " + (*it)->name + " deletes the table and its rows");
    }
    return differ.finish(live);
}

Comparison compare_database(db::Database& database, const schema::Schema& declared) {
    auto lease = database.acquire();
    return compare(declared, db::reflect(*lease, engine_tables()));
}

std::vector<std::string> check(db::Database& database, const RevisionGraph& graph, const schema::Schema& declared) {
    try {
        require_head(database, graph);
    } catch (const MigrationError& error) {
        return {error.what()};
    }
    return compare_database(database, declared).differences;
}

Autogenerated autogenerate(db::Database& database, const RevisionGraph& graph, const schema::Schema& declared,
                           const std::string& message, bool allow_empty) {
    require_head(database, graph);
    Autogenerated result{compare_database(database, declared), std::nullopt};
    if (result.comparison.upgrade.empty() && !allow_empty) return result;
    result.revision = create_revision(graph, message, result.comparison.upgrade, result.comparison.downgrade,
                                      result.comparison.notes);
    return result;
}

}  // namespace pangeo_forge::migrate
