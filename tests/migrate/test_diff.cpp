#define BOOST_TEST_MODULE diff
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/command.hpp"
#include "pangeo_forge/migrate/ddl.hpp"
#include "pangeo_forge/migrate/diff.hpp"
#include "pangeo_forge/migrate/migrator.hpp"
#include "pangeo_forge/migrate/operations.hpp"
#include "support/migrations.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;
using test::error_message;
using test::mentions;
using test::run_script;

namespace {

// b51d1daaff02 (add dispatch) and a453b710a63a (add github app records) lie between them.
const std::string older = "3b96e7fb9cbd";

std::vector<std::string> descriptions(const std::vector<Operation>& operations) {
    std::vector<std::string> out;
    for (const auto& operation : operations) out.push_back(describe(operation));
    return out;
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(the_operations_between_two_revisions_turn_the_older_database_into_the_newer) {
    // A second database on the same backend: on PostgreSQL another schema on the server.
    test::ScratchDatabase newer_scratch(database.backend());
    db::Database a(database.url());
    db::Database b(newer_scratch.url());
    Migrator(a, test::bundled()).upgrade(older);
    Migrator(b, test::bundled()).upgrade("head");

    auto found = command::diff(database.url(), newer_scratch.url());
    BOOST_TEST(!found.empty());
    auto operations = descriptions(found.comparison.upgrade);
    BOOST_TEST(mentions(operations, "create_table dispatch"));          // b51d1daaff02
    BOOST_TEST(mentions(operations, "create_table github_delivery"));   // a453b710a63a
    BOOST_TEST(mentions(found.comparison.differences, "table github_delivery is declared but not in the database"));

    auto json = diff_json(found);
    BOOST_TEST(!json["equal"].get<bool>());
    BOOST_TEST(json["upgrade"].size() == found.comparison.upgrade.size());
    BOOST_TEST(json["upgrade"][0].contains("op"));

    auto script = diff_sql(found);
    BOOST_TEST(script.find("CREATE TABLE \"github_delivery\"") != std::string::npos);
    BOOST_TEST(script.find("BEGIN;") != std::string::npos);

    // The operations run on A give A B's schema.
    schema::Schema schema = found.from;
    for (const auto& step : render(found.comparison.upgrade, schema, a.dialect())) {
        for (const auto& statement : step.statements) a.acquire()->execute(statement);
    }
    BOOST_TEST(command::diff(database.url(), newer_scratch.url()).empty());
}

// The script as a database administrator's client runs it (psql -f): on PostgreSQL the
// indexes on tables that hold rows are built and dropped CONCURRENTLY, which no transaction
// block may hold.
PANGEO_FORGE_DATABASE_TEST(the_script_runs_as_written_both_ways) {
    for (const auto& [from, to] : {std::pair<std::string, std::string>{older, "head"}, {"head", older}}) {
        test::ScratchDatabase a_scratch(database.backend()), b_scratch(database.backend());
        db::Database a(a_scratch.url());
        db::Database b(b_scratch.url());
        Migrator(a, test::bundled()).upgrade(from);
        Migrator(b, test::bundled()).upgrade(to);
        auto found = command::diff(a_scratch.url(), b_scratch.url());
        BOOST_TEST_REQUIRE(!found.empty());
        auto script = diff_sql(found);
        if (database.backend() == db::Backend::postgresql) {
            BOOST_TEST(script.find("INDEX CONCURRENTLY") != std::string::npos, script);
        }
        BOOST_CHECK_NO_THROW(run_script(*a.acquire(), script));
        BOOST_TEST(command::diff(a_scratch.url(), b_scratch.url()).empty(), from + " -> " + to + ":\n" + script);
    }
}

PANGEO_FORGE_DATABASE_TEST(databases_at_the_same_revision_have_no_differences) {
    test::ScratchDatabase twin(database.backend());
    db::Database a(database.url());
    db::Database b(twin.url());
    Migrator(a, test::bundled()).upgrade("head");
    Migrator(b, test::bundled()).upgrade("head");
    auto found = command::diff(database.url(), twin.url());
    BOOST_TEST(found.empty());
    BOOST_TEST(found.comparison.upgrade.empty());
    BOOST_TEST(diff_json(found)["equal"].get<bool>());
    BOOST_TEST(diff_sql(found).find("BEGIN") == std::string::npos);
}

PANGEO_FORGE_DATABASE_TEST(a_bad_second_url_is_named) {
    db::Database a(database.url());
    Migrator(a, test::bundled()).upgrade("head");
    BOOST_CHECK_THROW(command::diff(database.url(), "mysql://u@h/db"), ConfigError);
    BOOST_TEST(error_message([&] { command::diff(database.url(), "mysql://u@h/db"); }).find("URL_B is unusable") == 0);
    BOOST_CHECK_THROW(command::diff(database.url(), "sqlite:////nonexistent/forge.db"), UnreachableError);
    BOOST_TEST(error_message([&] { command::diff(database.url(), "sqlite:////nonexistent/forge.db"); })
                   .find("URL_B: there is no SQLite database at /nonexistent/forge.db") == 0);
    BOOST_TEST(error_message([&] { command::diff("postgresql://u@127.0.0.1:1/none", database.url()); })
                   .find("URL_A: ") == 0);
}
