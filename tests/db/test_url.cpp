#define BOOST_TEST_MODULE url
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include "pangeo_forge/db/url.hpp"
#include "pangeo_forge/error.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::db;

namespace {

// The ConfigError message for `url`, checked to mention `expected`.
void check_refused(const std::string& url, const std::string& expected) {
    try {
        parse_database_url(url);
        BOOST_ERROR("accepted " << url);
    } catch (const ConfigError& error) {
        BOOST_TEST(std::string(error.what()).find(expected) != std::string::npos,
                   "message for " << url << ": " << error.what());
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(sqlite_relative_absolute_and_memory) {
    auto relative = parse_database_url("sqlite:///rel.db");
    BOOST_TEST((relative.backend == Backend::sqlite));
    BOOST_TEST(relative.database == "rel.db");
    BOOST_TEST(parse_database_url("sqlite:////abs.db").database == "/abs.db");
    BOOST_TEST(parse_database_url("sqlite:////var/lib/pf/data.db").database == "/var/lib/pf/data.db");
    BOOST_TEST(parse_database_url("sqlite://").is_sqlite_memory());
    BOOST_TEST(parse_database_url("sqlite:///:memory:").is_sqlite_memory());
    BOOST_TEST(parse_database_url("sqlite+pysqlite:///x.db").database == "x.db");
}

BOOST_AUTO_TEST_CASE(postgresql_full_form) {
    auto url = parse_database_url("postgresql://alice:secret@db.example.org:6543/forge");
    BOOST_TEST((url.backend == Backend::postgresql));
    BOOST_TEST(url.username == "alice");
    BOOST_TEST(url.password == "secret");
    BOOST_TEST(url.host == "db.example.org");
    BOOST_TEST(url.port.value() == 6543);
    BOOST_TEST(url.database == "forge");
}

BOOST_AUTO_TEST_CASE(percent_encoded_password_is_decoded) {
    BOOST_TEST(parse_database_url("postgresql://u:p%40ss@h/db").password == "p@ss");
    BOOST_TEST(parse_database_url("postgresql://u:a%2Fb%3Ac%25@h/db").password == "a/b:c%");
}

BOOST_AUTO_TEST_CASE(passwords_may_hold_slashes_question_marks_and_colons) {
    auto url = parse_database_url("postgresql://alice:s3cr/et?x:y@db:5432/app?sslmode=require");
    BOOST_TEST(url.username == "alice");
    BOOST_TEST(url.password == "s3cr/et?x:y");
    BOOST_TEST(url.host == "db");
    BOOST_TEST(url.port.value() == 5432);
    BOOST_TEST(url.database == "app");
    BOOST_TEST(url.query_value("sslmode").value() == "require");
    auto short_one = parse_database_url("postgresql://alice:12/ab@db/app");
    BOOST_TEST(short_one.password == "12/ab");
    BOOST_TEST(redacted(short_one) == "postgresql://alice:***@db/app");
}

BOOST_AUTO_TEST_CASE(heroku_and_driver_schemes_are_postgresql) {
    auto heroku = parse_database_url("postgres://u:p@ec2-1-2-3-4.compute-1.amazonaws.com:5432/d8abc");
    BOOST_TEST((heroku.backend == Backend::postgresql));
    BOOST_TEST(heroku.database == "d8abc");
    auto driver = parse_database_url("postgresql+psycopg2://u@h/db");
    BOOST_TEST((driver.backend == Backend::postgresql));
    BOOST_TEST(driver.driver == "psycopg2");
    BOOST_TEST(!driver.port.has_value());
}

BOOST_AUTO_TEST_CASE(query_parameters_pass_through) {
    auto url = parse_database_url("postgresql://u:p@h:5432/db?sslmode=require&application_name=forge%20api");
    BOOST_TEST(url.query_value("sslmode").value() == "require");
    BOOST_TEST(url.query_value("application_name").value() == "forge api");
    std::string conninfo = libpq_conninfo(url);
    BOOST_TEST(conninfo.find("sslmode='require'") != std::string::npos);
    BOOST_TEST(conninfo.find("application_name='forge api'") != std::string::npos);
    BOOST_TEST(conninfo.find("pangeo_forge") == std::string::npos);  // the URL's own name wins
}

BOOST_AUTO_TEST_CASE(ipv6_hosts_and_sockets) {
    auto v6 = parse_database_url("postgresql://u@[::1]:5433/db");
    BOOST_TEST(v6.host == "::1");
    BOOST_TEST(v6.port.value() == 5433);
    BOOST_TEST(redacted(v6) == "postgresql://u@[::1]:5433/db");
    auto socket = parse_database_url("postgresql:///db?host=/var/run/postgresql");
    BOOST_TEST(socket.host.empty());
    BOOST_TEST(libpq_conninfo(socket).find("host='/var/run/postgresql'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(libpq_conninfo_quotes_and_escapes) {
    auto url = parse_database_url("postgresql://o%27brien:it%27s%5Cx@h:5432/db");
    BOOST_TEST(libpq_conninfo(url) ==
               "host='h' port='5432' dbname='db' user='o\\'brien' password='it\\'s\\\\x' "
               "application_name='pangeo_forge' connect_timeout='10'");
}

BOOST_AUTO_TEST_CASE(redacted_urls_never_show_the_password) {
    auto url = parse_database_url("postgresql://user:p%40ss@host/db?sslmode=require&password=other");
    std::string printable = redacted(url);
    BOOST_TEST(printable == "postgresql://user:***@host/db?sslmode=require&password=***");
    BOOST_TEST(printable.find("p@ss") == std::string::npos);
    BOOST_TEST(redacted(parse_database_url("sqlite:////abs.db")) == "sqlite:////abs.db");
    BOOST_TEST(redacted(parse_database_url("sqlite://")) == "sqlite://");
}

BOOST_AUTO_TEST_CASE(unsupported_schemes_are_named) {
    check_refused("mysql://u:p@h/db", "scheme 'mysql' is not supported");
    check_refused("oracle+cx://u@h/db", "scheme 'oracle+cx' is not supported");
    check_refused("just-a-path.db", "is not a database URL");
    check_refused("", "is not a database URL");
}

BOOST_AUTO_TEST_CASE(a_postgresql_url_needs_a_database_name) {
    check_refused("postgresql://u:secret@h:5432", "names no database");
    check_refused("postgresql://u:secret@h:5432/", "names no database");
    try {
        parse_database_url("postgresql://u:secret@h:5432/");
    } catch (const ConfigError& error) {
        BOOST_TEST(std::string(error.what()).find("secret") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(malformed_ports_are_refused) {
    check_refused("postgresql://u@h:abc/db", "port 'abc'");
    check_refused("postgresql://u@h:0/db", "port '0'");
    check_refused("postgresql://u@h:65536/db", "port '65536'");
    check_refused("postgresql://u@h:/db", "port ''");
    check_refused("postgresql://u@[::1/db", "closing ']'");
}

BOOST_AUTO_TEST_CASE(malformed_percent_escapes_are_refused_without_echoing_the_password) {
    try {
        parse_database_url("postgresql://u:hunter%zz2@h/db");
        BOOST_FAIL("accepted a malformed escape");
    } catch (const ConfigError& error) {
        std::string message = error.what();
        BOOST_TEST(message.find("password") != std::string::npos);
        BOOST_TEST(message.find("hunter") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(sqlite_takes_no_host_and_only_known_options) {
    check_refused("sqlite://somehost/x.db", "takes no host");
    check_refused("sqlite:///x.db?cache=shared", "option 'cache'");
    check_refused("sqlite:///x.db?synchronous=sometimes", "synchronous='sometimes' is not valid");
    check_refused("sqlite:///x.db?timeout=soon", "a number of seconds");
    check_refused("sqlite:///x.db?timeout=1e300", "from 0 to 86400");
    check_refused("sqlite:///x.db?journal_mode=off", "journal_mode='off' is not valid");
    auto url = parse_database_url("sqlite:///x.db?synchronous=FULL&timeout=2.5");
    BOOST_TEST(url.query_value("synchronous").value() == "FULL");
}

BOOST_AUTO_TEST_CASE(database_url_comes_from_the_environment_or_the_fallback) {
    ::setenv("DATABASE_URL", "postgresql://u@h/db", 1);
    BOOST_TEST(database_url_from_environment("sqlite://") == "postgresql://u@h/db");
    ::setenv("DATABASE_URL", "", 1);
    BOOST_TEST(database_url_from_environment("sqlite://") == "sqlite://");
    ::unsetenv("DATABASE_URL");
    BOOST_TEST(database_url_from_environment("sqlite:///pf.db") == "sqlite:///pf.db");
}

BOOST_AUTO_TEST_CASE(sqlite_timeouts_out_of_range_or_not_plain_numbers_are_refused) {
    // Each once aborted the program (std::stod threw out_of_range) or was read loosely.
    for (const char* value : {"1e-400", "1e400", "-1", "abc", "0x10", "nan", "inf", "%201", "1%20", "", "+1",
                              "99999999999999999999", "1e", ".", "86400.5"}) {
        check_refused(std::string("sqlite:///x.db?timeout=") + value, "a number of seconds from 0 to 86400");
    }
    check_refused("sqlite:///x.db?timeout=1e-400", "option timeout=");
    BOOST_TEST(sqlite_busy_timeout(parse_database_url("sqlite:///x.db?timeout=2.5")).value().count() == 2500);
    BOOST_TEST(sqlite_busy_timeout(parse_database_url("sqlite:///x.db?timeout=0")).value().count() == 0);
    BOOST_TEST(sqlite_busy_timeout(parse_database_url("sqlite:///x.db?timeout=86400")).value().count() == 86'400'000);
    BOOST_TEST(sqlite_busy_timeout(parse_database_url("sqlite:///x.db?timeout=1.5e1")).value().count() == 15'000);
    BOOST_TEST(!sqlite_busy_timeout(parse_database_url("sqlite:///x.db")).has_value());
}

BOOST_AUTO_TEST_CASE(a_url_built_by_hand_gets_its_timeout_checked_too) {
    DatabaseUrl url;
    url.database = "x.db";
    url.query = {{"timeout", "1e-400"}};
    try {
        sqlite_busy_timeout(url);
        BOOST_FAIL("accepted timeout=1e-400");
    } catch (const ConfigError& error) {
        BOOST_TEST(std::string(error.what()).find("timeout='1e-400'") != std::string::npos, error.what());
    }
}
