#define BOOST_TEST_MODULE serve_github
#include <boost/test/unit_test.hpp>

// A real `pangeo-forge serve` and the GitHub App's settings: without them the App's routes
// answer 503 naming what to set; a wrong one stops serve before it opens anything.

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "pangeo_forge/github/settings.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

using namespace pangeo_forge;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A folder with a database at head, and no GitHub setting in the environment the command inherits.
struct Folder {
    Folder() {
        for (const char* name : {github::app_id_variable, github::private_key_file_variable,
                                 github::webhook_secret_variable, github::api_url_variable,
                                 github::expand_meta_variable, github::config_file_variable}) {
            unsetenv(name);
        }
        path = std::filesystem::temp_directory_path() / ("pangeo_forge_serve_github_" + std::to_string(getpid()));
        std::filesystem::create_directories(path);
        url = "sqlite:///" + (path / "forge.db").string();
        test::Process upgrade(PANGEO_FORGE_COMMAND, {"db", "--url", url, "upgrade", "head"}, file("upgrade.log"));
        BOOST_REQUIRE_MESSAGE(upgrade.wait() == 0, upgrade.output());
    }
    ~Folder() {
        unsetenv(github::app_id_variable);
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    std::string file(const std::string& name) const { return (path / name).string(); }

    std::filesystem::path path;
    std::string url;
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(serve_without_settings_answers_503_naming_what_to_set, Folder) {
    test::Process server(PANGEO_FORGE_COMMAND, {"serve", "--url", url, "--port", "0", "--threads", "2"}, file("serve.log"));
    static const std::regex serving("on http://127\\.0\\.0\\.1:([0-9]+)\n");
    std::smatch match;
    std::string log;
    for (auto deadline = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < deadline;) {
        log = test::file_text(file("serve.log"));
        if (std::regex_search(log, match, serving) && contains(log, "GitHub App")) break;
        std::this_thread::sleep_for(50ms);
    }
    BOOST_REQUIRE_MESSAGE(std::regex_search(log, match, serving), "serve did not start:\n" << log);
    BOOST_TEST(contains(log, "GitHub App not configured (set PANGEO_FORGE_GITHUB_APP_ID, "
                             "PANGEO_FORGE_GITHUB_PRIVATE_KEY_FILE, PANGEO_FORGE_GITHUB_WEBHOOK_SECRET)"),
               log);

    test::HttpClient http(std::stoi(match[1]));
    for (const char* target : {"/github/hooks/", "/github/hooks"}) {
        auto reply = http.post(target, R"({"zen": "Keep it logically awesome."})",
                               {{"content-type", "application/json"}, {"x-github-event", "ping"}});
        BOOST_TEST(reply.status == 503, target << ": " << reply.body);
        const std::string detail = json::parse(reply.body)["detail"];
        BOOST_TEST(contains(detail, github::webhook_secret_variable), detail);
        BOOST_TEST(contains(detail, github::app_id_variable), detail);
    }
    BOOST_TEST(http.get("/github/hooks/deliveries").status == 503);
    BOOST_TEST(http.get("/stats/bakeries").status == 200);  // the rest of the API is there

    server.signal(SIGTERM);
    const int status = server.wait();
    BOOST_TEST(status == 0, server.output());
}

BOOST_FIXTURE_TEST_CASE(a_wrong_setting_stops_serve_with_its_message, Folder) {
    setenv(github::app_id_variable, "not-a-number", 1);
    test::Process server(PANGEO_FORGE_COMMAND, {"serve", "--url", url, "--port", "0"}, file("serve.log"));
    BOOST_TEST(server.wait() == 2);  // a malformed setting: the command's usage status
    const std::string log = test::file_text(file("serve.log"));
    BOOST_TEST(contains(log, "error: PANGEO_FORGE_GITHUB_APP_ID is not a positive number"), log);
    BOOST_TEST(!contains(log, "serving"), log);
}
