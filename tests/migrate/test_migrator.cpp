#define BOOST_TEST_MODULE migrator
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "support/query.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using test::query_rows;
using test::query_value;
using test::run_script;
using Ids = std::vector<std::string>;

using test::bundled;
using test::MigrationsCopy;

namespace {

const std::string head = "a453b710a63a";       // add github app records
const std::string alembic_head = "0499cef6b57a";  // where the Python service's history ends
const std::size_t revisions = 8;


schema::Schema application_schema(db::Database& database) {
    auto lease = database.acquire();
    return schema::canonical(db::reflect(*lease, engine_tables()));
}

Ids tables(db::Database& database) {
    auto lease = database.acquire();
    return db::table_names(*lease);
}

// A bakery, a feedstock and three recipe runs, written at head.
void insert_sample_rows(db::Connection& connection) {
    connection.execute("INSERT INTO bakery (region, name, description) VALUES ('us-central1', 'ldeo', 'test bakery')");
    connection.execute("INSERT INTO feedstock (spec, provider) VALUES ('pangeo-forge/noaa-oisst-feedstock', 'github')");
    for (int i = 1; i <= 3; ++i) {
        std::string n = std::to_string(i);
        connection.execute(
            "INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, status, "
            "is_test, dataset_type, dataset_public_url) VALUES ('recipe-" + n + "', 1, 1, 'sha" + n + "', '1." + n +
            "', '2021-01-0" + n + " 00:00:00', 'completed', " + (i == 2 ? "TRUE" : "FALSE") + ", 'zarr', 'https://x/" +
            n + "')");
    }
}

// The columns every revision from 6197f9c7aff6 up has, as text.
Ids run_rows(db::Database& database) {
    auto lease = database.acquire();
    return query_rows(*lease, "SELECT id, recipe_id, bakery_id, feedstock_id, head_sha, version, status "
                              "FROM reciperun ORDER BY id");
}


// A revision on top of head whose third operation fails in the database.
const char* failing_revision = R"json({
  "revision": "f00dfeed0001", "down_revision": "a453b710a63a", "message": "planted failure",
  "upgrade": [
    {"op": "create_table", "table": {"name": "scratch", "columns": [{"name": "id", "type": "integer", "nullable": false}],
                                     "primary_key": {"name": "scratch_pkey", "columns": ["id"]}}},
    {"op": "add_column", "table": "bakery", "column": {"name": "colour", "type": "varchar"}},
    {"op": "execute", "sql": "INSERT INTO no_such_table (id) VALUES (1)"}
  ],
  "downgrade": []
})json";

// A revision on top of head whose unique constraint the sample rows break (their statuses
// repeat). On PostgreSQL its first step, the new column, commits and is recorded before the
// concurrent build of the unique index fails; on SQLite the whole revision is one transaction.
const char* duplicate_unique_revision = R"json({
  "revision": "f00dfeed0002", "down_revision": "a453b710a63a", "message": "unique run status",
  "upgrade": [
    {"op": "add_column", "table": "bakery", "column": {"name": "colour", "type": "varchar"}},
    {"op": "create_unique_constraint", "table": "reciperun",
     "constraint": {"name": "uq_reciperun_status", "columns": ["status"]}}
  ],
  "downgrade": [
    {"op": "drop_constraint", "table": "reciperun", "name": "uq_reciperun_status", "type": "unique"},
    {"op": "drop_column", "table": "bakery", "column": "colour"}
  ]
})json";

bool mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }


}  // namespace

PANGEO_FORGE_DATABASE_TEST(offline_scripts_applied_by_hand_move_the_database_like_online_runs) {
    db::Database pool(database.url());
    auto dialect = pool.dialect();
    run_script(*pool.acquire(), offline_upgrade_sql(bundled(), "base", "head", dialect));
    Migrator migrator(pool, bundled());
    BOOST_TEST(migrator.current() == Ids{head});
    BOOST_TEST((application_schema(pool) == schema::canonical(model::schema())));
    insert_sample_rows(*pool.acquire());
    run_script(*pool.acquire(), offline_downgrade_sql(bundled(), "head", "6197f9c7aff6", dialect));
    BOOST_TEST(migrator.current() == Ids{"6197f9c7aff6"});
    BOOST_TEST(run_rows(pool).size() == 3u);
}

PANGEO_FORGE_DATABASE_TEST(upgrade_from_empty_reaches_the_declared_schema) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    BOOST_TEST(migrator.current().empty());
    auto steps = migrator.upgrade("head");
    BOOST_TEST(steps.size() == revisions);
    BOOST_TEST(migrator.current() == Ids{head});
    BOOST_TEST(migrator.at_head());
    BOOST_TEST((application_schema(pool) == schema::canonical(model::schema())));
    BOOST_TEST(migrator.upgrade("head").empty());  // nothing left to do
}

PANGEO_FORGE_DATABASE_TEST(downgrade_to_base_leaves_only_the_engine_tables) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    migrator.upgrade("head");
    BOOST_TEST(migrator.downgrade("base").size() == revisions);
    BOOST_TEST(migrator.current().empty());
    BOOST_TEST(tables(pool) == (Ids{"alembic_version", "pangeo_forge_migration_steps", "pangeo_forge_migrations"}), boost::test_tools::per_element());
    BOOST_TEST(migrator.applied().empty());
}

PANGEO_FORGE_DATABASE_TEST(each_step_down_and_up_keeps_the_rows) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    migrator.upgrade("head");
    insert_sample_rows(*pool.acquire());
    const auto rows = run_rows(pool);
    BOOST_REQUIRE_EQUAL(rows.size(), 3u);

    for (const char* target : {"70bcddc9fffa", "b0ec74f6d899", "6197f9c7aff6"}) {
        migrator.downgrade(target);
        BOOST_TEST(migrator.current() == Ids{target});
        BOOST_TEST(run_rows(pool) == rows, boost::test_tools::per_element());
    }
    for (const char* target : {"b0ec74f6d899", "70bcddc9fffa", "0499cef6b57a", "3b96e7fb9cbd", "b51d1daaff02", "a453b710a63a"}) {
        migrator.upgrade(target);
        BOOST_TEST(migrator.current() == Ids{target});
        BOOST_TEST(run_rows(pool) == rows, boost::test_tools::per_element());
    }
    auto lease = pool.acquire();
    BOOST_TEST(query_value(*lease, "SELECT COUNT(*) FROM bakery") == "1");
    // is_test and the dataset fields were dropped on the way down: back, is_test is false everywhere.
    BOOST_TEST(query_rows(*lease, "SELECT CASE WHEN is_test THEN 1 ELSE 0 END, dataset_type FROM reciperun") ==
                   (Ids{"0|NULL", "0|NULL", "0|NULL"}),
               boost::test_tools::per_element());
    BOOST_TEST((application_schema(pool) == schema::canonical(model::schema())));
}

PANGEO_FORGE_DATABASE_TEST(adding_is_test_backfills_false_on_existing_rows) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    migrator.upgrade("b0ec74f6d899");
    auto lease = pool.acquire();
    lease->execute("INSERT INTO bakery (region, name, description) VALUES ('r', 'n', 'd')");
    lease->execute("INSERT INTO feedstock (spec, provider) VALUES ('s', 'github')");
    lease->execute("INSERT INTO reciperun (recipe_id, bakery_id, feedstock_id, head_sha, version, started_at, status) "
                   "VALUES ('r', 1, 1, 'sha', '1.0', '2021-01-01 00:00:00', 'queued')");
    migrator.upgrade("70bcddc9fffa");
    BOOST_TEST(query_value(*lease, "SELECT CASE WHEN is_test THEN 'true' ELSE 'false' END FROM reciperun") == "false");
    // The backfill left no default behind: the column is as the declared schema has it.
    auto run = *db::reflect_table(*lease, "reciperun");
    BOOST_TEST(!run.find_column("is_test")->server_default.has_value());
    BOOST_TEST(!run.find_column("is_test")->nullable);
}

PANGEO_FORGE_DATABASE_TEST(going_below_the_foreign_keys_with_runs_present_fails_cleanly_on_the_way_back) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    migrator.upgrade("head");
    insert_sample_rows(*pool.acquire());
    migrator.downgrade("81c7d27bde71");  // bakery and feedstock are gone, the runs stay
    BOOST_TEST(run_rows(pool).size() == 3u);
    std::string message = test::error_message([&] { migrator.upgrade("6197f9c7aff6"); });
    BOOST_TEST(message.find("revision 6197f9c7aff6 (add bakery and feedstock) failed") != std::string::npos, message);
    BOOST_TEST(message.find("stays at 81c7d27bde71") != std::string::npos, message);
    BOOST_TEST(migrator.current() == Ids{"81c7d27bde71"});
    BOOST_TEST(run_rows(pool).size() == 3u);
    if (pool.backend() == db::Backend::sqlite) {
        BOOST_TEST(tables(pool) == (Ids{"alembic_version", "pangeo_forge_migration_steps", "pangeo_forge_migrations",
                                        "reciperun"}),
                   boost::test_tools::per_element());
        BOOST_TEST(!migrator.partly_applied().has_value());
        return;
    }
    // Online on PostgreSQL: the new tables and the keys, NOT VALID, committed as the first
    // step; validating the keys, a step of its own, found the runs without a bakery. The
    // first step is recorded, and nothing else may run until the revision is finished.
    BOOST_TEST(message.find("steps 1 to 3 of 6 are applied and recorded") != std::string::npos, message);
    BOOST_TEST(message.find("resumes at step 4") != std::string::npos, message);
    auto partly = migrator.partly_applied();
    BOOST_TEST_REQUIRE(partly.has_value());
    BOOST_TEST(partly->revision == "6197f9c7aff6");
    BOOST_TEST(partly->steps_done == 3u);
    message = test::error_message([&] { migrator.downgrade("base"); });
    BOOST_TEST(message.find("revision 6197f9c7aff6 is partly applied") != std::string::npos, message);
    BOOST_TEST(message.find("`pangeo-forge db upgrade 6197f9c7aff6`") != std::string::npos, message);
    BOOST_TEST(migrator.current() == Ids{"81c7d27bde71"});
    // Once the runs have their bakery and feedstock, the upgrade resumes at the validation.
    auto lease = pool.acquire();
    lease->execute("INSERT INTO bakery (id, region, name, description) VALUES (1, 'r', 'b', 'd')");
    lease->execute("INSERT INTO feedstock (id, spec, provider) VALUES (1, 's', 'github')");
    migrator.upgrade("6197f9c7aff6");
    BOOST_TEST(migrator.current() == Ids{"6197f9c7aff6"});
    BOOST_TEST(!migrator.partly_applied().has_value());
    BOOST_TEST(run_rows(pool).size() == 3u);
}

PANGEO_FORGE_DATABASE_TEST(a_failing_revision_leaves_the_database_at_the_revision_before) {
    MigrationsCopy migrations;
    migrations.write("f00dfeed0001_planted_failure.json", failing_revision);
    db::Database pool(database.url());
    Migrator migrator(pool, migrations.graph());
    migrator.upgrade(head);
    auto before = application_schema(pool);

    std::string message = test::error_message([&] { migrator.upgrade("head"); });
    BOOST_TEST(message.find("revision f00dfeed0001 (planted failure) failed in upgrade step 3 of 3") !=
                   std::string::npos, message);
    BOOST_TEST(message.find("execute INSERT INTO no_such_table") != std::string::npos, message);
    BOOST_TEST(message.find("no_such_table") != std::string::npos, message);
    BOOST_TEST(message.find("stays at " + head) != std::string::npos, message);
    BOOST_TEST(migrator.current() == Ids{head});
    BOOST_TEST((application_schema(pool) == before));  // no scratch table, no colour column
    BOOST_TEST(migrator.applied().size() == revisions);
}

// The run carries the schema from one revision to the next; raw SQL changes it unseen, so
// the revision after it must see the table that the SQL made.
PANGEO_FORGE_DATABASE_TEST(a_revision_whose_rest_cannot_run_is_let_go_by_stamp) {
    MigrationsCopy migrations;
    migrations.write("f00dfeed0002_unique_run_status.json", duplicate_unique_revision);
    db::Database pool(database.url());
    Migrator migrator(pool, migrations.graph());
    migrator.upgrade(head);
    insert_sample_rows(*pool.acquire());
    std::string message = test::error_message([&] { migrator.upgrade("head"); });
    BOOST_TEST(migrator.current() == Ids{head});
    if (pool.backend() == db::Backend::postgresql) {
        // The command it names runs as written (with its target), and it says the way out.
        BOOST_TEST(mentions(message, "`pangeo-forge db upgrade f00dfeed0002` resumes at step 2"), message);
        BOOST_TEST(mentions(message, "`pangeo-forge db stamp`"), message);
        BOOST_TEST_REQUIRE(migrator.partly_applied().has_value());
        message = test::error_message([&] { migrator.downgrade("base"); });
        BOOST_TEST(mentions(message, "`pangeo-forge db stamp`"), message);
        // Undone by hand; the stamp says where the database stands.
        pool.acquire()->execute("ALTER TABLE bakery DROP COLUMN colour");
    }
    migrator.stamp(head);
    BOOST_TEST(!migrator.partly_applied().has_value());
    // Nothing holds the database any longer: once the rows allow it, the revision runs whole.
    pool.acquire()->execute("DELETE FROM reciperun WHERE id > 1");
    migrator.upgrade("head");
    BOOST_TEST(migrator.current() == Ids{"f00dfeed0002"});
    BOOST_TEST(db::reflect_table(*pool.acquire(), "bakery")->find_column("colour") != nullptr);
}

PANGEO_FORGE_DATABASE_TEST(a_revision_file_edited_after_part_of_it_ran_is_not_resumed_from_the_old_count) {
    MigrationsCopy migrations;
    migrations.write("f00dfeed0002_unique_run_status.json", duplicate_unique_revision);
    db::Database pool(database.url());
    Migrator(pool, migrations.graph()).upgrade(head);
    insert_sample_rows(*pool.acquire());
    test::error_message([&] { Migrator(pool, migrations.graph()).upgrade("head"); });
    pool.acquire()->execute("DELETE FROM reciperun WHERE id > 1");
    // The author renames the new column: resuming after "step 1" would skip the renamed one.
    std::string edited = duplicate_unique_revision;
    for (auto at = edited.find("colour"); at != std::string::npos; at = edited.find("colour")) {
        edited.replace(at, 6, "shade");
    }
    migrations.write("f00dfeed0002_unique_run_status.json", edited);
    Migrator edited_migrator(pool, migrations.graph());
    if (pool.backend() == db::Backend::sqlite) {
        // One transaction: nothing was kept of the first try, and the edited file runs whole.
        edited_migrator.upgrade("head");
        BOOST_TEST(db::reflect_table(*pool.acquire(), "bakery")->find_column("shade") != nullptr);
        return;
    }
    std::string message = test::error_message([&] { edited_migrator.upgrade("head"); });
    BOOST_TEST(mentions(message, "cannot upgrade the rest of revision f00dfeed0002"), message);
    BOOST_TEST(mentions(message, "changed after a run applied 1 of its steps"), message);
    BOOST_TEST(edited_migrator.current() == Ids{head});
    BOOST_TEST(db::reflect_table(*pool.acquire(), "bakery")->find_column("shade") == nullptr);
    // Put back as it was, the file finishes where the run stopped.
    migrations.write("f00dfeed0002_unique_run_status.json", duplicate_unique_revision);
    Migrator migrator(pool, migrations.graph());
    migrator.upgrade("head");
    BOOST_TEST(migrator.current() == Ids{"f00dfeed0002"});
    BOOST_TEST(db::reflect_table(*pool.acquire(), "bakery")->find_column("colour") != nullptr);
}

PANGEO_FORGE_DATABASE_TEST(a_revision_after_raw_sql_sees_what_the_sql_made_in_the_same_run) {
    MigrationsCopy migrations;
    migrations.write("f00dfeed0002_raw_table.json", R"json({
      "revision": "f00dfeed0002", "down_revision": "a453b710a63a", "message": "raw table",
      "upgrade": [{"op": "execute", "sql": "CREATE TABLE note (id INTEGER NOT NULL, CONSTRAINT note_pkey PRIMARY KEY (id))"}],
      "downgrade": [{"op": "execute", "sql": "DROP TABLE note"}]})json");
    migrations.write("f00dfeed0003_note_text.json", R"json({
      "revision": "f00dfeed0003", "down_revision": "f00dfeed0002", "message": "note text",
      "upgrade": [{"op": "add_column", "table": "note", "column": {"name": "text", "type": "varchar"}}],
      "downgrade": [{"op": "drop_column", "table": "note", "column": "text"}]})json");
    db::Database pool(database.url());
    Migrator migrator(pool, migrations.graph());
    BOOST_TEST(migrator.upgrade("heads").size() == revisions + 2);
    auto note = db::reflect_table(*pool.acquire(), "note");
    BOOST_TEST_REQUIRE(note.has_value());
    BOOST_TEST(note->find_column("text") != nullptr);
}

PANGEO_FORGE_DATABASE_TEST(a_database_built_by_alembic_is_recognised_at_head) {
    {
        db::Database pool(database.url());
        auto lease = pool.acquire();
        bool postgres = lease->backend() == db::Backend::postgresql;
        std::string serial = postgres ? "SERIAL" : "INTEGER";
        std::string timestamp = postgres ? "TIMESTAMP WITHOUT TIME ZONE" : "DATETIME";
        // As SQLAlchemy writes it: unnamed constraints, which PostgreSQL names by its defaults.
        lease->execute("CREATE TABLE bakery (region VARCHAR NOT NULL, name VARCHAR NOT NULL, description VARCHAR NOT "
                       "NULL, id " + serial + " NOT NULL, PRIMARY KEY (id))");
        lease->execute("CREATE TABLE feedstock (spec VARCHAR NOT NULL, provider VARCHAR NOT NULL, id " + serial +
                       " NOT NULL, PRIMARY KEY (id))");
        lease->execute("CREATE TABLE reciperun (recipe_id VARCHAR NOT NULL, bakery_id INTEGER NOT NULL, feedstock_id "
                       "INTEGER NOT NULL, head_sha VARCHAR NOT NULL, version VARCHAR NOT NULL, started_at " + timestamp +
                       " NOT NULL, completed_at " + timestamp + ", conclusion VARCHAR, status VARCHAR NOT NULL, message "
                       "VARCHAR, id " + serial + " NOT NULL, is_test BOOLEAN NOT NULL, dataset_type VARCHAR, "
                       "dataset_public_url VARCHAR, PRIMARY KEY (id), FOREIGN KEY(bakery_id) REFERENCES bakery (id), "
                       "FOREIGN KEY(feedstock_id) REFERENCES feedstock (id))");
        lease->execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                       "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))");
        lease->execute("INSERT INTO alembic_version (version_num) VALUES ('" + alembic_head + "')");
        insert_sample_rows(*lease);
    }
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    BOOST_TEST(migrator.current() == Ids{alembic_head});
    BOOST_TEST(!migrator.at_head());  // our history goes three steps further: unique bakery names, the run
                                      // queue, the GitHub App's records
    BOOST_TEST(migrator.upgrade("head").size() == 3u);
    BOOST_CHECK_NO_THROW(require_head(pool, migrator.graph()));
    BOOST_TEST((application_schema(pool) == schema::canonical(model::schema())));
    BOOST_TEST(migrator.upgrade("head").empty());
    // And our engine carries it on: down a step and back, rows intact.
    auto rows = run_rows(pool);
    migrator.downgrade("-1");
    migrator.upgrade("head");
    BOOST_TEST(run_rows(pool) == rows, boost::test_tools::per_element());
    BOOST_TEST(query_value(*pool.acquire(), "SELECT version_num FROM alembic_version") == head);
    // The production rows are the queue's: a run set back to queued is claimed like a new one.
    orchestrator::Orchestrator orchestrator(pool, migrator.graph());
    model::RecipeRunUpdate back;
    back.status = model::RecipeRunStatus::queued;
    back.conclusion = std::optional<model::RecipeRunConclusion>();
    orchestrator.update(2, back);
    auto claim = orchestrator.claim({"ldeo", "worker", std::chrono::seconds(60)});
    BOOST_TEST_REQUIRE(claim.has_value());
    BOOST_TEST(claim->run.recipe_run.recipe_id == "recipe-2");
    BOOST_TEST(claim->attempt == 1);
}

PANGEO_FORGE_DATABASE_TEST(tables_of_types_pangeo_forge_does_not_model_do_not_stop_migrations) {
    db::Database pool(database.url());
    bool postgres = pool.backend() == db::Backend::postgresql;
    pool.acquire()->execute(std::string("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount NUMERIC(10,2), doc ") +
                            (postgres ? "JSONB" : "JSON") + ")");
    Migrator migrator(pool, bundled());
    BOOST_TEST(migrator.upgrade("head").size() == revisions);
    auto ledger = *db::reflect_table(*pool.acquire(), "ledger");
    BOOST_TEST((ledger.find_column("amount")->type.kind == schema::TypeKind::other));
    BOOST_TEST(ledger.find_column("doc")->type.declared == (postgres ? "jsonb" : "JSON"));
}

PANGEO_FORGE_DATABASE_TEST(stamp_writes_the_version_table_only) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    migrator.stamp("70bcddc9fffa");
    BOOST_TEST(migrator.current() == Ids{"70bcddc9fffa"});
    BOOST_TEST(tables(pool) == (Ids{"alembic_version", "pangeo_forge_migration_steps", "pangeo_forge_migrations"}), boost::test_tools::per_element());
    migrator.stamp("base");
    BOOST_TEST(migrator.current().empty());

    pool.acquire()->execute("INSERT INTO alembic_version (version_num) VALUES ('deadbeef0000')");
    std::string message = test::error_message([&] { migrator.stamp("head"); });
    BOOST_TEST(message.find("deadbeef0000, which is not among the migrations") != std::string::npos, message);
    BOOST_TEST(message.find("--purge") != std::string::npos, message);
    migrator.stamp("head", true);
    BOOST_TEST(migrator.current() == Ids{head});
}

PANGEO_FORGE_DATABASE_TEST(the_guard_refuses_a_database_not_at_head) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    std::string empty = test::error_message([&] { require_head(pool, migrator.graph()); });
    BOOST_TEST(empty.find("has no migration applied: run `pangeo-forge db upgrade head` first") != std::string::npos,
               empty);
    migrator.upgrade("b0ec74f6d899");
    std::string behind = test::error_message([&] { require_head(pool, migrator.graph()); });
    BOOST_TEST(behind.find("is at revision b0ec74f6d899, not at the head " + head) != std::string::npos, behind);
    migrator.upgrade("head");
    BOOST_CHECK_NO_THROW(require_head(pool, migrator.graph()));
}

PANGEO_FORGE_DATABASE_TEST(applied_revisions_are_recorded_and_changed_files_warned_about) {
    MigrationsCopy migrations;
    db::Database pool(database.url());
    {
        Migrator migrator(pool, migrations.graph());
        migrator.upgrade("head");
        auto records = migrator.applied();
        BOOST_REQUIRE_EQUAL(records.size(), revisions);
        for (const auto& record : records) {
            BOOST_TEST(record.checksum == migrator.graph().get(record.revision).checksum);
            BOOST_TEST(record.duration_ms >= 0.0);
            BOOST_TEST(record.applied_at.size() >= 20u);
        }
        BOOST_TEST(migrator.changed_files().empty());
    }
    std::ofstream(migrations.folder() / "b0ec74f6d899_add_api_keys.json", std::ios::app) << "\n";
    Migrator migrator(pool, migrations.graph());
    auto warnings = migrator.changed_files();
    BOOST_REQUIRE_EQUAL(warnings.size(), 1u);
    BOOST_TEST(warnings[0].find("revision b0ec74f6d899 (b0ec74f6d899_add_api_keys.json) changed after it was applied") !=
               std::string::npos, warnings[0]);
}

PANGEO_FORGE_DATABASE_TEST(relative_targets_move_step_by_step) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled());
    migrator.upgrade("+2");
    BOOST_TEST(migrator.current() == Ids{"6197f9c7aff6"});
    migrator.upgrade("+1");
    BOOST_TEST(migrator.current() == Ids{"b0ec74f6d899"});
    migrator.downgrade("-2");
    BOOST_TEST(migrator.current() == Ids{"81c7d27bde71"});
    migrator.upgrade("70bc");  // a unique prefix
    BOOST_TEST(migrator.current() == Ids{"70bcddc9fffa"});
}

// Two labelled branches and a merge (tests/migrate/branched): what Alembic does with them,
// alembic_parity.py checks command by command; these pin the engine's part.
PANGEO_FORGE_DATABASE_TEST(stamp_on_several_heads_keeps_the_other_branch) {
    db::Database pool(database.url());
    Migrator migrator(pool, RevisionGraph::load(PANGEO_FORGE_BRANCHED_TREE));
    migrator.upgrade("bbbb00000002");
    migrator.upgrade("cccc00000002");
    migrator.stamp("bbbb00000001");
    BOOST_TEST(migrator.current() == (Ids{"bbbb00000001", "cccc00000002"}), boost::test_tools::per_element());
    migrator.stamp("bbbb00000002");
    // The next upgrade applies the merge only: nothing is created twice.
    auto steps = migrator.upgrade("heads");
    BOOST_REQUIRE(steps.size() == 1u);
    BOOST_TEST(describe(steps.front()).find("Running upgrade bbbb00000002, cccc00000002 -> dddd00000001") == 0u);
}

PANGEO_FORGE_DATABASE_TEST(stamp_label_at_base_clears_that_branch_and_keeps_the_other) {
    db::Database pool(database.url());
    Migrator migrator(pool, RevisionGraph::load(PANGEO_FORGE_BRANCHED_TREE));
    migrator.upgrade("bbbb00000001");
    migrator.upgrade("cccc00000002");
    migrator.stamp("alpha@base");
    BOOST_TEST(migrator.current() == Ids{"cccc00000002"});
    migrator.stamp("beta@base");
    BOOST_TEST(migrator.current().empty());
}

PANGEO_FORGE_DATABASE_TEST(steps_name_the_revision_they_build_on_not_the_other_heads) {
    db::Database pool(database.url());
    Migrator migrator(pool, RevisionGraph::load(PANGEO_FORGE_BRANCHED_TREE));
    migrator.upgrade("bbbb00000002");
    auto steps = migrator.upgrade("beta@+1");
    BOOST_REQUIRE(steps.size() == 1u);
    BOOST_TEST(steps.front().heads_before == Ids{"bbbb00000002"});
    BOOST_TEST(describe(steps.front()).find("Running upgrade aaaa00000002 -> cccc00000001, beta one") == 0u);
    steps = migrator.downgrade("beta@base");
    BOOST_TEST(steps.size() == 5u);
    BOOST_TEST(migrator.current().empty());
}

namespace {

// The bundled history with tests/migrate/bundled_branches on it: eeee00000001 (notes) and
// ffff00000001 (lookup) on 3b96e7fb9cbd, merged by 9999aaaa0001, beside the main line's
// b51d1daaff02 <- a453b710a63a.
RevisionGraph bundled_with_branches() {
    auto main_line = bundled();
    std::vector<Revision> revisions;
    for (const auto& id : main_line.topological_order()) revisions.push_back(main_line.get(id));
    for (const auto& entry : std::filesystem::directory_iterator(PANGEO_FORGE_BUNDLED_BRANCHES)) {
        revisions.push_back(load_revision_file(entry.path()));
    }
    return RevisionGraph(std::move(revisions));
}

}  // namespace

// Where Alembic 1.8.1 errs on this tree (alembic_parity.py leaves these commands out), the
// engine keeps the version table true to the tables.
PANGEO_FORGE_DATABASE_TEST(downgrading_below_a_branch_point_undoes_every_branch_above_it) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled_with_branches());
    migrator.upgrade("heads");
    BOOST_TEST(migrator.current() == (Ids{"9999aaaa0001", head}), boost::test_tools::per_element());
    // Alembic removes a453b710a63a and b51d1daaff02 from the version table without running
    // their downgrades: their tables stay, and the next upgrade fails on them.
    auto steps = migrator.downgrade("3b96e7fb9cbd");
    BOOST_TEST(steps.size() == 5u);
    BOOST_TEST(migrator.current() == Ids{"3b96e7fb9cbd"});
    auto left = tables(pool);
    BOOST_TEST(std::count(left.begin(), left.end(), "dispatch") == 0);
    BOOST_TEST(std::count(left.begin(), left.end(), "github_delivery") == 0);
    BOOST_TEST(migrator.upgrade("heads").size() == 5u);
}

PANGEO_FORGE_DATABASE_TEST(stamping_heads_records_every_head) {
    db::Database pool(database.url());
    Migrator migrator(pool, bundled_with_branches());
    migrator.upgrade("heads");
    migrator.stamp("ffff00000001");
    BOOST_TEST(migrator.current() == (Ids{head, "ffff00000001"}), boost::test_tools::per_element());
    // Alembic records 9999aaaa0001 alone here, dropping the main line's head.
    migrator.stamp("heads");
    BOOST_TEST(migrator.current() == (Ids{"9999aaaa0001", head}), boost::test_tools::per_element());
}
