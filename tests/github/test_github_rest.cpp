// The GitHub REST client (github/rest.hpp) against the stand-in GitHub: the app's JWT, its
// keys, installation tokens and their renewal, the retry policy, pages, and messages that
// hold no secret.

#define BOOST_TEST_MODULE github_rest
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/github/rest.hpp"
#include "support/base64.hpp"
#include "support/github_standin.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using pangeo_forge::ConfigError;
using pangeo_forge::client::ConnectionError;
using pangeo_forge::github::GitHubError;
using pangeo_forge::github::Rest;
using pangeo_forge::github::RestOptions;
using pangeo_forge::testing::GithubStandin;
using SystemClock = std::chrono::system_clock;

constexpr std::int64_t app_id = 4242;
const std::string repo = "pangeo-forge/staged-recipes";

std::string data_file(const std::string& name) {
    std::ifstream in(std::string(PANGEO_FORGE_GITHUB_TEST_DATA) + "/" + name);
    BOOST_REQUIRE_MESSAGE(in, "cannot read the test key " << name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

const std::string& private_key() {
    static const std::string key = data_file("app-private-key.pem");
    return key;
}

// Quick back-off: the tests wait for GitHub's asked waits, not for the default 500 ms.
RestOptions quick_options() {
    RestOptions options;
    options.first_backoff = 10ms;
    options.max_backoff = 3000ms;
    options.connect_timeout = 2000ms;
    options.request_timeout = 10000ms;
    return options;
}

template <class Exception, class Call>
Exception thrown(Call call) {
    try {
        call();
    } catch (const Exception& error) {
        return error;
    }
    BOOST_FAIL("the call did not throw");
    throw std::logic_error("unreachable");
}

// What no message may hold: the key's lines, any token or JWT the stand-in saw.
void check_no_secret(const std::string& message, const GithubStandin& github) {
    std::istringstream lines(private_key());
    for (std::string line; std::getline(lines, line);) {
        if (line.size() > 20 && line.find("-----") == std::string::npos) {
            BOOST_TEST(message.find(line) == std::string::npos, "a line of the key in: " << message);
        }
    }
    for (const auto& call : github.calls()) {
        const auto space = call.authorization.find(' ');
        if (space == std::string::npos) continue;
        const std::string secret = call.authorization.substr(space + 1);
        BOOST_TEST(message.find(secret) == std::string::npos, "a credential in: " << message);
        BOOST_TEST(message.find(secret.substr(0, 16)) == std::string::npos, "part of a credential in: " << message);
    }
}

struct StandinFixture {
    GithubStandin github{app_id, data_file("app-public-key.pem")};
};

}  // namespace

BOOST_AUTO_TEST_SUITE(jwt)

BOOST_AUTO_TEST_CASE(the_jwt_has_githubs_claims_and_its_header_names_rs256) {
    const auto now = SystemClock::time_point(std::chrono::seconds(1700000000));
    const std::string token = pangeo_forge::github::app_jwt(app_id, private_key(), now);
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    BOOST_REQUIRE(second != std::string::npos);
    BOOST_TEST(token.find('=') == std::string::npos);  // base64url without padding
    const json header = json::parse(*pangeo_forge::detail::base64url_decoded(token.substr(0, first)));
    const json claims = json::parse(*pangeo_forge::detail::base64url_decoded(token.substr(first + 1, second - first - 1)));
    BOOST_TEST(header == json({{"alg", "RS256"}, {"typ", "JWT"}}));
    BOOST_TEST(claims["iat"] == 1700000000 - 60);
    BOOST_TEST(claims["exp"] == 1700000000 - 60 + 600);
    BOOST_TEST(claims["iss"] == std::to_string(app_id));
    BOOST_TEST(pangeo_forge::detail::base64url_decoded(token.substr(second + 1))->size() == 256u);  // 2048 bits
}

BOOST_FIXTURE_TEST_CASE(the_jwt_verifies_with_the_apps_public_key, StandinFixture) {
    github.set_deliveries(json::array({{{"id", 7}, {"event", "pull_request"}}}));
    Rest rest(github.url(), app_id, private_key(), quick_options());
    BOOST_TEST(rest.app_get("/app/hook/deliveries") == json::array({{{"id", 7}, {"event", "pull_request"}}}));
    BOOST_TEST(rest.app_get("/app/hook/deliveries/7")["event"] == "pull_request");
}

BOOST_FIXTURE_TEST_CASE(a_jwt_of_another_key_or_app_is_refused, StandinFixture) {
    Rest other_app(github.url(), app_id + 1, private_key(), quick_options());
    BOOST_TEST(thrown<GitHubError>([&] { other_app.app_get("/app/hook/deliveries"); }).status() == 401);
    // Signed an hour ago: expired.
    RestOptions late = quick_options();
    late.now = [] { return SystemClock::now() - 1h; };
    Rest stale(github.url(), app_id, private_key(), late);
    BOOST_TEST(thrown<GitHubError>([&] { stale.app_get("/app/hook/deliveries"); }).status() == 401);
}

BOOST_AUTO_TEST_CASE(pkcs8_and_pkcs1_keys_sign_alike) {
    const auto now = SystemClock::now();
    // RSASSA-PKCS1-v1_5 is deterministic: the same key signs the same bytes the same way.
    BOOST_TEST(pangeo_forge::github::app_jwt(app_id, data_file("app-private-key-pkcs8.pem"), now) ==
               pangeo_forge::github::app_jwt(app_id, private_key(), now));
}

BOOST_FIXTURE_TEST_CASE(a_rest_client_with_a_pkcs8_key_works, StandinFixture) {
    Rest rest(github.url(), app_id, data_file("app-private-key-pkcs8.pem"), quick_options());
    BOOST_TEST(rest.get(repo, "/repos/" + repo)["full_name"] == repo);
}

BOOST_AUTO_TEST_CASE(a_bad_key_is_a_config_error_that_does_not_quote_it) {
    const std::string key = private_key();
    const std::string body_line = key.substr(key.find('\n') + 1, 64);
    const std::string truncated = key.substr(0, key.size() / 2) + "\n-----END RSA PRIVATE KEY-----\n";
    const std::string damaged = "-----BEGIN RSA PRIVATE KEY-----\n" + body_line + "\n-----END RSA PRIVATE KEY-----\n";
    const std::vector<std::string> bad_keys = {
        "",
        "not a key at all " + body_line,
        truncated,
        damaged,
        data_file("app-public-key.pem"),
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + body_line + "\n-----END ENCRYPTED PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\n" + body_line + "\n-----END PRIVATE KEY-----\n",
    };
    for (const auto& bad : bad_keys) {
        auto error = thrown<ConfigError>([&] { pangeo_forge::github::app_jwt(app_id, bad, SystemClock::now()); });
        const std::string message = error.what();
        BOOST_TEST(message.find("private key") != std::string::npos, message);
        BOOST_TEST(message.find(body_line.substr(0, 24)) == std::string::npos, message);
        BOOST_CHECK_THROW(Rest("http://127.0.0.1:9", app_id, bad), ConfigError);
    }
}

BOOST_AUTO_TEST_CASE(an_api_url_that_is_no_http_url_or_holds_a_password_is_refused) {
    BOOST_CHECK_THROW(Rest("api.github.com", app_id, private_key()), ConfigError);
    BOOST_CHECK_THROW(Rest("https://api.github.com/?x=1", app_id, private_key()), ConfigError);
    auto error = thrown<ConfigError>([] { Rest("https://me:hunter2@api.github.com", app_id, private_key()); });
    BOOST_TEST(std::string(error.what()).find("hunter2") == std::string::npos, error.what());
    BOOST_CHECK_THROW(Rest("https://api.github.com", 0, private_key()), ConfigError);
    Rest("https://api.github.com/", app_id, private_key());  // nothing is sent until a call
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(tokens, StandinFixture)

BOOST_AUTO_TEST_CASE(one_token_serves_many_calls) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    for (int i = 0; i < 5; ++i) BOOST_TEST(rest.get(repo, "/repos/" + repo)["default_branch"] == "main");
    rest.post(repo, "/repos/" + repo + "/check-runs", {{"name", "synchronize"}, {"head_sha", "abc"}});
    BOOST_TEST(rest.tokens_issued() == 1);
    BOOST_TEST(github.tokens_issued() == 1);
    BOOST_TEST(github.calls_to("GET", "/repos/" + repo + "/installation").size() == 1u);
    const auto installation_calls = github.calls_to("GET", "/repos/" + repo + "/installation");
    BOOST_TEST(installation_calls.front().authorization.rfind("Bearer ", 0) == 0u);
    // Every call carries the installation's token, the same one.
    const auto calls = github.calls_to("GET", "/repos/" + repo);
    BOOST_TEST(calls.back().authorization == github.calls_to("POST", "/repos/" + repo + "/check-runs").front().authorization);
}

BOOST_AUTO_TEST_CASE(each_owners_installation_has_its_own_token) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    rest.get("owner-a/one", "/repos/owner-a/one");
    rest.get("owner-b/two", "/repos/owner-b/two");
    rest.get("owner-a/three", "/repos/owner-a/three");
    BOOST_TEST(rest.tokens_issued() == 2);
}

BOOST_AUTO_TEST_CASE(a_token_that_expires_between_two_calls_is_renewed) {
    github.set_token_lifetime(20s);
    auto offset = std::make_shared<std::atomic<int>>(0);
    RestOptions options = quick_options();
    options.token_margin = 0s;
    options.now = [offset] { return SystemClock::now() + std::chrono::seconds(offset->load()); };
    Rest rest(github.url(), app_id, private_key(), options);
    rest.get(repo, "/repos/" + repo);
    rest.get(repo, "/repos/" + repo);
    BOOST_TEST(rest.tokens_issued() == 1);
    *offset = 30;  // past the token's expires_at
    rest.get(repo, "/repos/" + repo);
    BOOST_TEST(rest.tokens_issued() == 2);
    const auto calls = github.calls_to("GET", "/repos/" + repo);
    BOOST_TEST(calls.size() == 4u);  // the installation, then three calls, none refused
    BOOST_TEST(calls[1].authorization == calls[2].authorization);
    BOOST_TEST(calls[2].authorization != calls[3].authorization);
}

BOOST_AUTO_TEST_CASE(a_token_is_renewed_a_margin_before_it_expires) {
    github.set_token_lifetime(90s);
    RestOptions options = quick_options();
    options.token_margin = 60s;
    auto offset = std::make_shared<std::atomic<int>>(0);
    options.now = [offset] { return SystemClock::now() + std::chrono::seconds(offset->load()); };
    Rest rest(github.url(), app_id, private_key(), options);
    rest.get(repo, "/repos/" + repo);
    *offset = 20;
    rest.get(repo, "/repos/" + repo);
    BOOST_TEST(rest.tokens_issued() == 1);
    *offset = 40;  // 50 s left, less than the margin
    rest.get(repo, "/repos/" + repo);
    BOOST_TEST(rest.tokens_issued() == 2);
}

BOOST_AUTO_TEST_CASE(a_revoked_token_is_renewed_once_and_the_call_sent_again) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    rest.get(repo, "/repos/" + repo);
    github.expire_tokens();
    BOOST_TEST(rest.get(repo, "/repos/" + repo)["full_name"] == repo);
    BOOST_TEST(rest.tokens_issued() == 2);
    const auto calls = github.calls();
    // ... GET (refused), POST access_tokens, GET again.
    BOOST_REQUIRE(calls.size() >= 3u);
    BOOST_TEST(calls[calls.size() - 3].path == "/repos/" + repo);
    BOOST_TEST(calls[calls.size() - 2].method == "POST");
    BOOST_TEST(calls[calls.size() - 2].path.rfind("/app/installations/", 0) == 0u);
    BOOST_TEST(calls[calls.size() - 1].path == "/repos/" + repo);
}

BOOST_AUTO_TEST_CASE(a_second_401_is_an_error_not_a_loop) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    github.fail_next("GET", "/repos/" + repo, 401, 5);
    auto error = thrown<GitHubError>([&] { rest.get(repo, "/repos/" + repo); });
    BOOST_TEST(error.status() == 401);
    BOOST_TEST(github.calls_to("GET", "/repos/" + repo).size() == 3u);  // the installation, the call, once more
    check_no_secret(error.what(), github);
}

BOOST_AUTO_TEST_CASE(many_threads_share_one_token) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&] {
            try {
                for (int i = 0; i < 5; ++i) rest.get(repo, "/repos/" + repo);
            } catch (...) {
                ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    BOOST_TEST(failures == 0);
    BOOST_TEST(rest.tokens_issued() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(retries, StandinFixture)

BOOST_AUTO_TEST_CASE(a_500_then_a_200_is_sent_again_and_succeeds) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    github.fail_next("POST", "/repos/" + repo + "/issues/3/comments", 502);
    BOOST_TEST(rest.post(repo, "/repos/" + repo + "/issues/3/comments", {{"body", "hello"}}).contains("id"));
    BOOST_TEST(github.calls_to("POST", "/repos/" + repo + "/issues/3/comments").size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_rate_limited_403_waits_for_the_reset) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    rest.get(repo, "/repos/" + repo);  // the token first: the wait below is the limit's alone
    const auto reset = std::chrono::duration_cast<std::chrono::seconds>(SystemClock::now().time_since_epoch()).count() + 2;
    github.fail_next("GET", "/repos/" + repo, 403, 1,
                     {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", std::to_string(reset)}});
    const auto started = std::chrono::steady_clock::now();
    BOOST_TEST(rest.get(repo, "/repos/" + repo)["full_name"] == repo);
    BOOST_TEST((std::chrono::steady_clock::now() - started >= 900ms));
    BOOST_TEST((SystemClock::now().time_since_epoch() >= std::chrono::seconds(reset - 1)));
}

BOOST_AUTO_TEST_CASE(a_429_waits_its_retry_after) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    rest.get(repo, "/repos/" + repo);
    github.fail_next("GET", "/repos/" + repo, 429, 1, {{"Retry-After", "1"}});
    const auto started = std::chrono::steady_clock::now();
    rest.get(repo, "/repos/" + repo);
    BOOST_TEST((std::chrono::steady_clock::now() - started >= 1000ms));
}

BOOST_AUTO_TEST_CASE(a_403_without_a_limit_is_an_error_at_once) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    github.fail_next("PATCH", "/repos/" + repo + "/check-runs/1", 403);
    auto error = thrown<GitHubError>([&] { rest.patch(repo, "/repos/" + repo + "/check-runs/1", {{"status", "completed"}}); });
    BOOST_TEST(error.status() == 403);
    BOOST_TEST(github.calls_to("PATCH", "/repos/" + repo + "/check-runs/1").size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_422_is_githubs_message_at_once) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    rest.post("pangeo-forge/x", "/orgs/pangeo-forge/repos", {{"name", "gpcp-feedstock"}});
    auto error = thrown<GitHubError>([&] { rest.post("pangeo-forge/x", "/orgs/pangeo-forge/repos", {{"name", "gpcp-feedstock"}}); });
    const std::string message = error.what();
    BOOST_TEST(error.status() == 422);
    BOOST_TEST(message.find("POST /orgs/pangeo-forge/repos") != std::string::npos, message);
    BOOST_TEST(message.find("Repository creation failed.") != std::string::npos, message);
    BOOST_TEST(message.find("name already exists on this account") != std::string::npos, message);
    BOOST_TEST(github.calls_to("POST", "/orgs/pangeo-forge/repos").size() == 2u);
    check_no_secret(message, github);
}

BOOST_AUTO_TEST_CASE(a_500_beyond_the_retries_is_an_error_naming_the_call) {
    RestOptions options = quick_options();
    options.retries = 2;
    Rest rest(github.url(), app_id, private_key(), options);
    github.fail_next("GET", "/repos/" + repo + "/pulls/9", 500, 3);
    auto error = thrown<GitHubError>([&] { rest.get(repo, "/repos/" + repo + "/pulls/9"); });
    const std::string message = error.what();
    BOOST_TEST(error.status() == 500);
    BOOST_TEST(message.find("GET /repos/" + repo + "/pulls/9") != std::string::npos, message);
    BOOST_TEST(message.find("scripted failure") != std::string::npos, message);
    BOOST_TEST(github.calls_to("GET", "/repos/" + repo + "/pulls/9").size() == 3u);
    check_no_secret(message, github);
}

BOOST_AUTO_TEST_CASE(the_token_exchange_is_retried_too) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    github.fail_next("POST", "/app/installations/1/access_tokens", 503);
    BOOST_TEST(rest.get(repo, "/repos/" + repo)["full_name"] == repo);
    BOOST_TEST(github.calls_to("POST", "/app/installations/1/access_tokens").size() == 2u);
    BOOST_TEST(rest.tokens_issued() == 1);
}

BOOST_AUTO_TEST_CASE(an_app_not_installed_says_so) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    github.fail_next("GET", "/repos/someone/else/installation", 404);
    auto error = thrown<GitHubError>([&] { rest.get("someone/else", "/repos/someone/else"); });
    BOOST_TEST(error.status() == 404);
    BOOST_TEST(std::string(error.what()).find("installed") != std::string::npos, error.what());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(an_unreachable_github_is_a_connection_error) {
    std::string url;
    {
        GithubStandin gone(app_id, data_file("app-public-key.pem"));
        url = gone.url();
    }  // its port is closed now
    RestOptions options = quick_options();
    options.retries = 1;
    Rest rest(url, app_id, private_key(), options);
    auto error = thrown<ConnectionError>([&] { rest.get(repo, "/repos/" + repo); });
    const std::string message = error.what();
    BOOST_TEST(message.find("cannot reach GitHub") != std::string::npos, message);
    BOOST_TEST(message.find("tried 2 times") != std::string::npos, message);
    BOOST_TEST(message.find("Bearer") == std::string::npos, message);
}

BOOST_FIXTURE_TEST_SUITE(pages, StandinFixture)

BOOST_AUTO_TEST_CASE(get_all_follows_the_link_header_through_every_page) {
    std::vector<std::string> names;
    for (int i = 0; i < 250; ++i) names.push_back("recipes/gpcp/file-" + std::to_string(i) + ".py");
    github.set_pull_request_files(repo, 12, names);
    Rest rest(github.url(), app_id, private_key(), quick_options());
    const json files = rest.get_all(repo, "/repos/" + repo + "/pulls/12/files");
    BOOST_REQUIRE(files.size() == 250u);
    for (std::size_t i = 0; i < names.size(); ++i) BOOST_TEST(files[i]["filename"] == names[i]);
    const auto calls = github.calls_to("GET", "/repos/" + repo + "/pulls/12/files");
    BOOST_REQUIRE(calls.size() == 3u);
    BOOST_TEST(calls[0].query == "per_page=100");
    BOOST_TEST(calls[2].query == "per_page=100&page=3");
}

BOOST_AUTO_TEST_CASE(get_all_stops_at_max_items) {
    std::vector<std::string> names(250, "recipes/x/meta.yaml");
    github.set_pull_request_files(repo, 13, names);
    Rest rest(github.url(), app_id, private_key(), quick_options());
    BOOST_TEST(rest.get_all(repo, "/repos/" + repo + "/pulls/13/files", 120).size() == 120u);
    BOOST_TEST(github.calls_to("GET", "/repos/" + repo + "/pulls/13/files").size() == 2u);
}

BOOST_AUTO_TEST_CASE(get_all_refuses_a_next_page_on_another_host) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    const std::string path = "/repos/" + repo + "/pulls/14/files";
    github.answer_next("GET", path, 200, json::array({{{"filename", "a.py"}}}), 1,
                       {{"Link", "<http://elsewhere.example" + path + "?page=2>; rel=\"next\""}});
    auto error = thrown<GitHubError>([&] { rest.get_all(repo, path); });
    BOOST_TEST(std::string(error.what()).find("not on " + github.url()) != std::string::npos, error.what());
    BOOST_TEST(github.calls_to("GET", path).size() == 1u);
    check_no_secret(error.what(), github);
}

BOOST_AUTO_TEST_CASE(get_all_reads_a_list_inside_an_object_and_as_the_app) {
    github.set_deliveries(json::array({{{"id", 1}}, {{"id", 2}}}));
    Rest rest(github.url(), app_id, private_key(), quick_options());
    BOOST_TEST(rest.get_all("", "/app/hook/deliveries").size() == 2u);
    rest.post(repo, "/repos/" + repo + "/check-runs", {{"name", "synchronize"}, {"head_sha", "abc"}});
    const json runs = rest.get_all(repo, "/repos/" + repo + "/commits/abc/check-runs");
    BOOST_REQUIRE(runs.size() == 1u);
    BOOST_TEST(runs[0]["name"] == "synchronize");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(standin, StandinFixture)

BOOST_AUTO_TEST_CASE(files_put_and_deleted_through_the_api_are_the_repositorys) {
    Rest rest(github.url(), app_id, private_key(), quick_options());
    github.set_file(repo, "recipes/gpcp/meta.yaml", "title: GPCP\n");
    const json file = rest.get(repo, "/repos/" + repo + "/contents/recipes/gpcp/meta.yaml?ref=abc");
    BOOST_TEST(*pangeo_forge::detail::base64_decoded(file["content"].get<std::string>()) == "title: GPCP\n");
    const json listing = rest.get(repo, "/repos/" + repo + "/contents/recipes?ref=abc");
    BOOST_REQUIRE(listing.is_array());
    BOOST_TEST(listing[0]["type"] == "dir");
    rest.put("pangeo-forge/gpcp-feedstock", "/repos/pangeo-forge/gpcp-feedstock/contents/feedstock/meta.yaml",
             {{"message", "add"}, {"content", pangeo_forge::detail::base64_encoded("title: GPCP\n")}});
    rest.del(repo, "/repos/" + repo + "/contents/recipes/gpcp/meta.yaml", {{"message", "rm"}, {"sha", file["sha"]}});
    BOOST_TEST(github.repository_files(repo) == json::object());
    BOOST_TEST(github.repository_files("pangeo-forge/gpcp-feedstock") == json({{"feedstock/meta.yaml", "title: GPCP\n"}}));
    auto missing = thrown<GitHubError>([&] { rest.get(repo, "/repos/" + repo + "/no-such-route"); });
    BOOST_TEST(missing.status() == 404);
}

BOOST_AUTO_TEST_SUITE_END()
