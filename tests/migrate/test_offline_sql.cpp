#define BOOST_TEST_MODULE offline_sql
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "pangeo_forge/migrate/migrator.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::migrate;

using test::bundled;

namespace {

std::string expected(const std::string& name) {
    std::ifstream file(std::string(PANGEO_FORGE_EXPECTED_SQL) + "/" + name);
    BOOST_REQUIRE_MESSAGE(file, "missing expected script " << name);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}


// On a mismatch, the first line that differs says more than two whole scripts.
void check_same_script(const std::string& actual, const std::string& wanted) {
    std::istringstream a(actual), b(wanted);
    std::string line_a, line_b;
    for (int line = 1; std::getline(b, line_b); ++line) {
        std::getline(a, line_a);
        BOOST_REQUIRE_MESSAGE(line_a == line_b, "line " << line << ": got '" << line_a << "', expected '" << line_b << "'");
    }
    BOOST_TEST(actual == wanted);
}

}  // namespace

BOOST_AUTO_TEST_CASE(upgrade_script_matches_the_checked_in_sqlite_script) {
    check_same_script(offline_upgrade_sql(bundled(), "base", "head", db::Dialect(db::Backend::sqlite)),
                      expected("upgrade_base_head.sqlite.sql"));
}

BOOST_AUTO_TEST_CASE(upgrade_script_matches_the_checked_in_postgresql_script) {
    check_same_script(offline_upgrade_sql(bundled(), "base", "head", db::Dialect(db::Backend::postgresql)),
                      expected("upgrade_base_head.postgresql.sql"));
}

BOOST_AUTO_TEST_CASE(downgrade_scripts_match_the_checked_in_scripts) {
    check_same_script(offline_downgrade_sql(bundled(), "head", "base", db::Dialect(db::Backend::sqlite)),
                      expected("downgrade_head_base.sqlite.sql"));
    check_same_script(offline_downgrade_sql(bundled(), "head", "base", db::Dialect(db::Backend::postgresql)),
                      expected("downgrade_head_base.postgresql.sql"));
}

BOOST_AUTO_TEST_CASE(a_partial_range_starts_from_the_schema_its_start_built) {
    auto sql = offline_upgrade_sql(bundled(), "70bcddc9fffa", "head", db::Dialect(db::Backend::sqlite));
    BOOST_TEST(sql.find("upgrade 70bcddc9fffa -> 0499cef6b57a") != std::string::npos);
    BOOST_TEST(sql.find("\"is_test\" BOOLEAN NOT NULL") != std::string::npos);  // known from the earlier revisions
    BOOST_TEST(sql.find("81c7d27bde71,") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_upgrade_script_records_each_revision_as_an_online_upgrade_does) {
    auto graph = bundled();
    auto script = offline_upgrade_sql(graph, "base", "head", db::Dialect(db::Backend::sqlite));
    test::ScratchDatabase scratch(db::Backend::sqlite);
    db::Database database(scratch.url());
    database.acquire()->execute(script);
    migrate::Migrator migrator(database, graph);
    BOOST_TEST(migrator.at_head());
    auto records = migrator.applied();
    BOOST_TEST(records.size() == graph.topological_order().size());
    for (const auto& record : records) {
        BOOST_TEST(record.checksum == graph.get(record.revision).checksum);
        BOOST_TEST(record.applied_at.size() >= 20u, record.applied_at);
    }
    BOOST_TEST(migrator.changed_files().empty());
}
