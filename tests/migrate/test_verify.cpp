#define BOOST_TEST_MODULE verify
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

#include "pangeo_forge/db/reflect.hpp"
#include "pangeo_forge/migrate/command.hpp"
#include "pangeo_forge/migrate/verify.hpp"
#include "pangeo_forge/model/schema.hpp"
#include "support/migrations.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using Ids = std::vector<std::string>;
using Check = VerifyFailure::Check;
using test::mentions;
using test::MigrationsCopy;

namespace {

const std::string head = "a453b710a63a";  // add github app records


std::filesystem::path bundled_versions() { return bundled_migrations() / "versions"; }

// On top of head: an index whose downgrade forgets to drop it.
const char* forgetful_downgrade = R"json({
  "revision": "1c0ffee00001", "down_revision": "a453b710a63a", "message": "index bakery region",
  "upgrade": [{"op": "create_index", "table": "bakery",
               "index": {"name": "ix_bakery_region", "columns": ["region"], "unique": false}}],
  "downgrade": []
})json";

// On top of head: a revision whose second operation fails in the database.
const char* failing_upgrade = R"json({
  "revision": "1c0ffee00002", "down_revision": "a453b710a63a", "message": "planted failure",
  "upgrade": [{"op": "add_column", "table": "bakery", "column": {"name": "colour", "type": "varchar"}},
              {"op": "execute", "sql": "INSERT INTO no_such_table (id) VALUES (1)"}],
  "downgrade": [{"op": "drop_column", "table": "bakery", "column": "colour"}]
})json";

// A second revision on 3b96e7fb9cbd, beside b51d1daaff02: two heads.
const char* second_head = R"json({
  "revision": "1c0ffee00003", "down_revision": "3b96e7fb9cbd", "message": "a branch",
  "upgrade": [], "downgrade": []
})json";

Ids ids_of(const Verified& verified) {
    Ids ids;
    for (const auto& revision : verified.revisions) ids.push_back(revision.revision);
    return ids;
}

Ids tables_of(const std::string& url) {
    db::Database database(url);
    auto lease = database.acquire();
    return db::table_names(*lease);
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(the_bundled_history_goes_up_down_and_up_without_a_trace) {
    db::Database scratch(database.url());
    const RevisionGraph graph = test::bundled();
    Ids reported;
    auto verified = verify(scratch, graph, model::schema(),
                           [&](const RevisionVerified& revision) { reported.push_back(revision.revision); });
    BOOST_TEST(verified.ok(), (verified.failure ? verified.failure->summary : ""));
    BOOST_TEST(verified.heads == Ids{head});
    BOOST_TEST(ids_of(verified) == graph.topological_order());
    BOOST_TEST(reported == graph.topological_order());
    BOOST_TEST(verified.declared_schema_checked);
    BOOST_TEST(Migrator(scratch, graph).current() == Ids{head});
}

PANGEO_FORGE_DATABASE_TEST(a_downgrade_that_forgets_an_index_is_named_with_the_index) {
    MigrationsCopy folder(bundled_versions());
    folder.write("1c0ffee00001_index_bakery_region.json", forgetful_downgrade);
    db::Database scratch(database.url());
    auto verified = verify(scratch, folder.graph(), std::nullopt);
    BOOST_TEST_REQUIRE(!verified.ok());
    BOOST_TEST(verified.failure->revision == "1c0ffee00001");
    BOOST_TEST((verified.failure->check == Check::leaves_no_trace));
    BOOST_TEST(verified.failure->summary.find("revision 1c0ffee00001's downgrade leaves a trace") == 0);
    BOOST_TEST(mentions(verified.failure->details, "index ix_bakery_region on bakery is in the database"));
    BOOST_TEST(verified.revisions.size() == test::bundled().size());  // those below it passed
}

PANGEO_FORGE_DATABASE_TEST(a_revision_that_fails_to_apply_is_named) {
    MigrationsCopy folder(bundled_versions());
    folder.write("1c0ffee00002_planted_failure.json", failing_upgrade);
    db::Database scratch(database.url());
    auto verified = verify(scratch, folder.graph(), std::nullopt);
    BOOST_TEST_REQUIRE(!verified.ok());
    BOOST_TEST((verified.failure->check == Check::upgrade));
    BOOST_TEST(verified.failure->revision == "1c0ffee00002");
    BOOST_TEST(verified.failure->summary == "revision 1c0ffee00002 failed to apply");
    BOOST_TEST(mentions(verified.failure->details, "no_such_table"));
}

PANGEO_FORGE_DATABASE_TEST(a_history_of_two_heads_is_refused_before_anything_runs) {
    MigrationsCopy folder(bundled_versions());
    folder.write("1c0ffee00003_a_branch.json", second_head);
    db::Database scratch(database.url());
    auto verified = verify(scratch, folder.graph(), std::nullopt);
    BOOST_TEST_REQUIRE(!verified.ok());
    BOOST_TEST((verified.failure->check == Check::one_head));
    BOOST_TEST(verified.failure->summary.find("the history has 2 heads (") == 0);
    BOOST_TEST(verified.failure->summary.find("db merge heads") != std::string::npos);
    BOOST_TEST(verified.revisions.empty());
    BOOST_TEST(tables_of(database.url()).empty());
}

PANGEO_FORGE_DATABASE_TEST(a_schema_other_than_the_declared_one_at_head_is_a_finding) {
    db::Database scratch(database.url());
    schema::Schema declared = model::schema();
    declared.tables.pop_back();
    auto verified = verify(scratch, test::bundled(), declared);
    BOOST_TEST_REQUIRE(!verified.ok());
    BOOST_TEST((verified.failure->check == Check::declared_schema));
    BOOST_TEST(verified.failure->revision.empty());
    BOOST_TEST(mentions(verified.failure->details, "is in the database but not declared"));
    BOOST_TEST(verified.revisions.size() == test::bundled().size());
}

PANGEO_FORGE_DATABASE_TEST(branches_merged_into_one_head_go_up_down_and_up_one_revision_at_a_time) {
    // Its revisions on one branch are undone while the other branch is applied.
    const RevisionGraph graph = RevisionGraph::load(PANGEO_FORGE_BRANCHED_TREE);
    db::Database scratch(database.url());
    auto verified = verify(scratch, graph, std::nullopt);
    BOOST_TEST(verified.ok(), (verified.failure ? verified.failure->summary : ""));
    BOOST_TEST(ids_of(verified) == graph.topological_order());
    BOOST_TEST(!verified.declared_schema_checked);  // none given
    BOOST_TEST(Migrator(scratch, graph).current() == Ids{"dddd00000001"});
}

PANGEO_FORGE_DATABASE_TEST(the_command_verifies_beside_the_users_database_and_leaves_it_alone) {
    command::Config config;
    config.database_url = database.url();
    config.url_origin = command::UrlOrigin::option;
    command::Context context(config);
    auto run = command::verify(context, model::schema());
    BOOST_TEST(run.verified.ok(), (run.verified.failure ? run.verified.failure->summary : ""));
    auto json = command::verify_run_json(run);
    BOOST_TEST(json["ok"].get<bool>());
    BOOST_TEST(json["failure"].is_null());
    BOOST_TEST(json["revisions"].size() == test::bundled().size());
    if (database.backend() == db::Backend::sqlite) {
        BOOST_TEST(run.scratch == "a temporary SQLite file");
        // Not even created: the scratch file is elsewhere.
        BOOST_TEST(!std::filesystem::exists(database.folder() + "/test.db"));
        return;
    }
    BOOST_TEST(run.scratch.find("the temporary schema pangeo_forge_verify_") == 0);
    BOOST_TEST(tables_of(database.url()).empty());
    const std::string schema_name = run.scratch.substr(std::string("the temporary schema ").size(), 32);
    db::Database server(test::postgres_server_url());
    auto left = test::query_value(*server.acquire(), "SELECT COUNT(*) FROM pg_namespace WHERE nspname = '" +
                                                         schema_name + "'");
    BOOST_TEST(left == "0");
}

PANGEO_FORGE_DATABASE_TEST(a_failed_verification_removes_its_scratch_database_too) {
    MigrationsCopy folder(bundled_versions());
    folder.write("1c0ffee00001_index_bakery_region.json", forgetful_downgrade);
    command::Config config;
    config.database_url = database.url();
    config.migrations = folder.folder();
    command::Context context(config);
    auto run = command::verify(context, std::nullopt);
    BOOST_TEST(!run.verified.ok());
    BOOST_TEST(command::verify_run_json(run)["failure"]["revision"] == "1c0ffee00001");
    if (database.backend() == db::Backend::sqlite) return;
    const std::string schema_name = run.scratch.substr(std::string("the temporary schema ").size(), 32);
    db::Database server(test::postgres_server_url());
    auto left = test::query_value(*server.acquire(), "SELECT COUNT(*) FROM pg_namespace WHERE nspname = '" +
                                                         schema_name + "'");
    BOOST_TEST(left == "0");
}
