#include "support/scratch_database.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/db/statement.hpp"

namespace pangeo_forge::test {
namespace {

std::string unique_suffix() {
    static std::atomic<int> counter{0};
    static const auto seed = std::random_device{}();
    return std::to_string(::getpid()) + "_" + std::to_string(seed % 100000) + "_" + std::to_string(++counter);
}

std::string make_temporary_folder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "pangeo_forge_test_XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a temporary folder");
    return pattern;
}

// Adds a query parameter to a URL that may already have some.
std::string with_query(const std::string& url, const std::string& parameter) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + parameter;
}

void run_on_server(const std::string& statement) {
    db::Database server(postgres_server_url(), db::PoolOptions{1});
    server.acquire()->execute(statement);
}

}  // namespace

std::string postgres_server_url() {
    const char* url = std::getenv("PANGEO_FORGE_TEST_POSTGRES_URL");
    return url == nullptr ? "" : url;
}

boost::test_tools::assertion_result postgres_configured(boost::unit_test::test_unit_id) {
    // Under CTest a PostgreSQL test must run: the constructor below then fails loudly.
    bool required = std::getenv("PANGEO_FORGE_TEST_REQUIRE_POSTGRES") != nullptr;
    boost::test_tools::assertion_result result(required || !postgres_server_url().empty());
    result.message() << "PANGEO_FORGE_TEST_POSTGRES_URL is not set: no PostgreSQL server to test against";
    return result;
}

ScratchDatabase::ScratchDatabase(db::Backend backend) : backend_(backend) {
    if (backend == db::Backend::sqlite) {
        folder_ = make_temporary_folder();
        url_ = "sqlite:///" + folder_ + "/test.db";  // folder_ is absolute: four slashes in all
        return;
    }
    if (postgres_server_url().empty()) {
        throw std::runtime_error(
            "PANGEO_FORGE_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts a PostgreSQL "
            "server for the tests, or point the variable at a server of yours");
    }
    schema_name_ = "test_" + unique_suffix();
    run_on_server("CREATE SCHEMA " + schema_name_);
    url_ = with_query(postgres_server_url(), "options=-c%20search_path%3D" + schema_name_);
}

std::string ScratchDatabase::url_with_own_application_name() const {
    return with_query(url_, "application_name=" + schema_name_);
}

void ScratchDatabase::terminate_own_connections() const {
    db::Database server(postgres_server_url(), db::PoolOptions{1});
    auto connection = server.acquire();
    const std::string own = " FROM pg_stat_activity WHERE application_name = :name";
    db::query(*connection, "SELECT pg_terminate_backend(pid)" + own, {db::ColumnType::text}, {schema_name_});
    // Each process sends its goodbye and ends a moment after the signal: wait for them all.
    auto remaining = [&] {
        auto count = db::query_one(*connection, "SELECT COUNT(*)" + own, {db::ColumnType::integer}, {schema_name_});
        return count->integer(0);
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (remaining() != 0) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the connections did not end");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

ScratchDatabase::~ScratchDatabase() {
    try {
        if (backend_ == db::Backend::sqlite) {
            std::filesystem::remove_all(folder_);
        } else {
            run_on_server("DROP SCHEMA " + schema_name_ + " CASCADE");
        }
    } catch (const std::exception& error) {
        BOOST_TEST_MESSAGE("could not clean up the scratch database: " << error.what());
    }
}

}  // namespace pangeo_forge::test
