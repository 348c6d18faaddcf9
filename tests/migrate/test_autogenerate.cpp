#define BOOST_TEST_MODULE autogenerate
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/autogenerate.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "support/query.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using Ids = std::vector<std::string>;
using test::mentions;

using test::bundled;

namespace {

// Operations as sorted JSON texts: equal when the same operations, in whatever order.
std::vector<std::string> as_set(const std::vector<Operation>& operations) {
    std::vector<std::string> texts;
    for (const auto& operation : operations) texts.push_back(to_json(operation).dump());
    std::sort(texts.begin(), texts.end());
    return texts;
}

// The schema the bundled revisions build up to and including the k-th (1-based).
schema::Schema schema_after(const RevisionGraph& graph, std::size_t k) {
    schema::Schema schema;
    auto order = graph.topological_order();
    for (std::size_t i = 0; i < k; ++i) {
        for (const auto& operation : graph.get(order[i]).upgrade) apply(operation, schema);
    }
    return schema;
}

// A folder holding the first `count` bundled revision files.
class PartialMigrations {
public:
    PartialMigrations(const RevisionGraph& graph, std::size_t count) {
        folder_ = std::filesystem::temp_directory_path() / ("pangeo_forge_partial_" + new_revision_id());
        std::filesystem::create_directories(folder_);
        auto order = graph.topological_order();
        for (std::size_t i = 0; i < count; ++i) {
            const auto& path = graph.get(order[i]).path;
            std::filesystem::copy_file(path, folder_ / path.filename());
        }
    }
    ~PartialMigrations() { std::filesystem::remove_all(folder_); }
    RevisionGraph graph() const { return RevisionGraph::load(folder_); }

private:
    std::filesystem::path folder_;
};

std::string all_of(const std::vector<std::string>& lines) {
    std::string text;
    for (const auto& line : lines) text += line + "\n";
    return text;
}

// Runs operations on the database by hand, outside any revision (foreign keys off on
// SQLite, as a rebuild needs).
void alter_by_hand(db::Database& pool, const std::vector<Operation>& operations) {
    auto lease = pool.acquire();
    bool sqlite = lease->backend() == db::Backend::sqlite;
    if (sqlite) lease->execute("PRAGMA foreign_keys = OFF");
    auto schema = db::reflect(*lease, engine_tables());
    {
        db::Transaction transaction(*lease);
        for (const auto& step : render(operations, schema, lease->dialect(), RenderOptions{false})) {
            for (const auto& statement : step.statements) lease->execute(statement);
        }
        transaction.commit();
    }
    if (sqlite) lease->execute("PRAGMA foreign_keys = ON");
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(the_real_history_is_the_oracle) {
    auto history = bundled();
    auto order = history.topological_order();
    for (std::size_t k = 1; k <= order.size(); ++k) {
        BOOST_TEST_CONTEXT("revision " << k << ", " << order[k - 1]) {
            test::ScratchDatabase fresh(database.backend());
            db::Database pool(fresh.url());
            PartialMigrations migrations(history, k - 1);
            Migrator(pool, migrations.graph()).upgrade("heads");
            auto declared = schema_after(history, k);

            auto generated = autogenerate(pool, migrations.graph(), declared, "generated");
            BOOST_REQUIRE(generated.revision.has_value());
            const Revision& real = history.get(order[k - 1]);
            BOOST_TEST(as_set(generated.revision->upgrade) == as_set(real.upgrade), boost::test_tools::per_element());
            BOOST_TEST(as_set(generated.revision->downgrade) == as_set(real.downgrade),
                       boost::test_tools::per_element());

            auto graph = migrations.graph();  // now with the generated file
            Migrator(pool, graph).upgrade("head");
            BOOST_TEST(check(pool, graph, declared).empty(), all_of(check(pool, graph, declared)));
            Migrator(pool, graph).downgrade("-1");  // and its downgrade runs too
            BOOST_TEST(compare_database(pool, schema_after(history, k - 1)).empty());
        }
    }
}

PANGEO_FORGE_DATABASE_TEST(a_database_at_head_passes_check) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    auto before = check(pool, migrator.graph(), model::schema());
    BOOST_TEST(mentions(before, "has no migration applied"), all_of(before));
    migrator.upgrade("head");
    BOOST_TEST(check(pool, migrator.graph(), model::schema()).empty(),
               all_of(check(pool, migrator.graph(), model::schema())));
}

PANGEO_FORGE_DATABASE_TEST(hand_made_changes_show_up_in_check) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    migrator.upgrade("head");
    pool.acquire()->execute("ALTER TABLE reciperun DROP COLUMN message");
    pool.acquire()->execute("CREATE INDEX ix_bakery_region ON bakery (region)");
    alter_by_hand(pool, {DropConstraint{"reciperun", "reciperun_feedstock_id_fkey", ConstraintKind::foreign_key}});
    auto declared = model::schema();
    declared.tables[0].find_column("region");  // bakery
    for (auto& column : declared.tables[0].columns) {
        if (column.name == "region") column.server_default = "'us-central1'";
    }

    auto problems = check(pool, migrator.graph(), declared);
    BOOST_TEST(problems.size() == 4u, all_of(problems));
    BOOST_TEST(mentions(problems, "column reciperun.message is declared but not in the database"), all_of(problems));
    BOOST_TEST(mentions(problems, "index ix_bakery_region on bakery is in the database but not declared"));
    BOOST_TEST(mentions(problems, "foreign key reciperun_feedstock_id_fkey on reciperun is declared but not in the "
                                  "database"));
    BOOST_TEST(mentions(problems, "column bakery.region differs: default (database none, declared 'us-central1')"));
}

PANGEO_FORGE_DATABASE_TEST(nothing_to_do_writes_no_file_unless_asked) {
    db::Database pool(database.url());
    PartialMigrations migrations(bundled(), bundled().size());
    Migrator(pool, migrations.graph()).upgrade("head");
    auto nothing = autogenerate(pool, migrations.graph(), model::schema(), "no change");
    BOOST_TEST(nothing.comparison.empty());
    BOOST_TEST(!nothing.revision.has_value());
    BOOST_TEST(migrations.graph().size() == bundled().size());
    auto empty = autogenerate(pool, migrations.graph(), model::schema(), "no change", true);
    BOOST_REQUIRE(empty.revision.has_value());
    BOOST_TEST(empty.revision->upgrade.empty());
    BOOST_TEST(migrations.graph().heads() == Ids{empty.revision->id});
}

PANGEO_FORGE_DATABASE_TEST(autogenerate_refuses_a_database_not_at_head) {
    db::Database pool(database.url());
    Migrator(pool, bundled()).upgrade("70bcddc9fffa");
    std::string message = test::error_message([&] { autogenerate(pool, bundled(), model::schema(), "x"); });
    BOOST_TEST(message.find("not at the head") != std::string::npos, message);
}

// The downgrade is derived from the upgrade: a dropped column comes back with what the
// drop took along (here a unique constraint), NOT NULL columns backfilled so that the
// rows already there fit.
PANGEO_FORGE_DATABASE_TEST(the_derived_downgrade_brings_dropped_columns_back) {
    db::Database pool(database.url());
    PartialMigrations migrations(bundled(), bundled().size());
    Migrator(pool, migrations.graph()).upgrade("head");
    {
        auto lease = pool.acquire();
        lease->execute("INSERT INTO bakery (region, name, description) VALUES ('r', 'n', 'd')");
        lease->execute("INSERT INTO feedstock (spec, provider) VALUES ('s', 'github')");
        lease->execute("INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, "
                       "status, is_test) VALUES ('r', 1, 1, 'sha', '1.0', '2021-01-01 00:00:00', 'queued', FALSE)");
    }
    const auto head = model::schema();
    auto declared = head;
    auto drop_column = [](schema::Table& table, const std::string& name) {
        table.columns.erase(std::find_if(table.columns.begin(), table.columns.end(),
                                         [&](const schema::Column& column) { return column.name == name; }));
    };
    drop_column(declared.tables[0], "name");
    declared.tables[0].unique_constraints.clear();
    drop_column(declared.tables[2], "started_at");
    declared.tables[2].indexes.clear();  // the claim's index reads started_at

    auto generated = autogenerate(pool, migrations.graph(), declared, "drop columns");
    BOOST_REQUIRE(generated.revision.has_value());
    const auto& bakery = *head.find_table("bakery");
    const auto& run = *head.find_table("reciperun");
    std::vector<Operation> expected{
        AddColumn{"reciperun", *run.find_column("started_at"), std::string("'1970-01-01 00:00:00'")},
        AddColumn{"bakery", *bakery.find_column("name"), std::string("''")},
        CreateIndex{"reciperun", run.indexes[0]},
        CreateUniqueConstraint{"bakery", bakery.unique_constraints[0]},
    };
    BOOST_TEST((generated.revision->downgrade == expected));

    auto graph = migrations.graph();
    Migrator(pool, graph).upgrade("head");
    Migrator(pool, graph).downgrade("-1");
    BOOST_TEST(compare_database(pool, head).empty(), all_of(compare_database(pool, head).differences));
    auto lease = pool.acquire();
    BOOST_TEST(test::query_value(*lease, "SELECT COUNT(*) FROM reciperun WHERE started_at = '1970-01-01 00:00:00'") ==
               "1");
}
