#pragma once
// A fresh, empty database for one test, on either backend, and the macro that runs a
// test body once per backend.
//
// SQLite: a file in a temporary folder of the test's own. PostgreSQL: a schema of the
// test's own on the server named by PANGEO_FORGE_TEST_POSTGRES_URL, selected through
// search_path, so tests never see each other's tables and can run in parallel.

#include <string>

#include <boost/test/tools/assertion_result.hpp>
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/db/url.hpp"

namespace pangeo_forge::test {

class ScratchDatabase {
public:
    explicit ScratchDatabase(db::Backend backend);
    ~ScratchDatabase();
    ScratchDatabase(const ScratchDatabase&) = delete;
    ScratchDatabase& operator=(const ScratchDatabase&) = delete;

    db::Backend backend() const { return backend_; }
    const std::string& url() const { return url_; }
    // SQLite: the folder that holds the database file.
    const std::string& folder() const { return folder_; }

    // PostgreSQL: url() with an application_name of this database's own, so that
    // terminate_own_connections() can end these connections and leave other tests' alone.
    std::string url_with_own_application_name() const;
    // PostgreSQL: ends the server process of every connection opened through
    // url_with_own_application_name(), as a server restart would, and returns once they are gone.
    void terminate_own_connections() const;

private:
    db::Backend backend_;
    std::string url_;
    std::string folder_;       // SQLite
    std::string schema_name_;  // PostgreSQL
};

// PANGEO_FORGE_TEST_POSTGRES_URL, or empty.
std::string postgres_server_url();

// Boost.Test precondition: PostgreSQL tests are skipped (and say so) without a server.
boost::test_tools::assertion_result postgres_configured(boost::unit_test::test_unit_id);

}  // namespace pangeo_forge::test

// Defines a test that runs its body against SQLite and against PostgreSQL, as the test
// cases NAME/sqlite and NAME/postgresql. The body sees `ScratchDatabase& database`.
#define PANGEO_FORGE_DATABASE_TEST(name)                                                                      \
    static void name##_body(pangeo_forge::test::ScratchDatabase& database);                                  \
    BOOST_AUTO_TEST_SUITE(name)                                                                               \
    BOOST_AUTO_TEST_CASE(sqlite) {                                                                            \
        pangeo_forge::test::ScratchDatabase database(pangeo_forge::db::Backend::sqlite);                      \
        name##_body(database);                                                                                \
    }                                                                                                         \
    BOOST_AUTO_TEST_CASE(postgresql, *boost::unit_test::precondition(pangeo_forge::test::postgres_configured)) { \
        pangeo_forge::test::ScratchDatabase database(pangeo_forge::db::Backend::postgresql);                  \
        name##_body(database);                                                                                \
    }                                                                                                         \
    BOOST_AUTO_TEST_SUITE_END()                                                                               \
    static void name##_body([[maybe_unused]] pangeo_forge::test::ScratchDatabase& database)
