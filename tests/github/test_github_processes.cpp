#define BOOST_TEST_MODULE github_processes
#include <boost/test/unit_test.hpp>

// The GitHub App's whole path with real processes: a stand-in GitHub in this process, a real
// `pangeo-forge serve` configured by its environment (the App's settings, a stand-in
// expand-meta printing recorded lines, an API key), signed webhooks over HTTP, and real
// `pangeo-forge worker` processes running the runs the App made; then the results back at
// the stand-in GitHub (check run, comments). On both backends.

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include <nlohmann/json.hpp>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/github/settings.hpp"
#include "pangeo_forge/github/signature.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "support/github_payloads.hpp"
#include "support/github_standin.hpp"
#include "support/http_client.hpp"
#include "support/migrations.hpp"
#include "support/process.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t app_id = 4242;
const std::string secret = "webhook secret of the process tests";
const std::string api_key = "github-process-test-key";
const std::string bakery_name = "pangeo-ldeo-nsf-earthcube";
const std::string repo = "pangeo-forge/gpcp-feedstock";
const std::string url_template = "https://data.example.org/{path}";
const fs::path test_data = PANGEO_FORGE_GITHUB_TEST_DATA;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Polls `condition` until it holds or `within` passed (generous: CI machines are slow). Its
// result goes in a variable before an assertion whose message shows the logs: the message's
// operands may be evaluated before the condition's, which would show the logs of before.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

// The URL a worker with `url_template` announces for a test run's dataset.
std::string test_dataset_url(std::int64_t run_id, const std::string& recipe_id) {
    return "https://data.example.org/test/" + repo + "/recipe-run-" + std::to_string(run_id) + "/" + recipe_id;
}

// A real serve with the GitHub App, over a database at head holding the bakery and the
// feedstock; the stand-in GitHub and the stand-in expand-meta are this process's.
struct Setup {
    explicit Setup(test::ScratchDatabase& scratch)
        : folder(fs::temp_directory_path() /
                 ("pangeo_forge_github_processes_" + std::to_string(getpid()) + "_" + std::to_string(counter++))),
          standin(app_id, test::file_text((test_data / "app-public-key.pem").string())),
          pool(scratch.url(), db::PoolOptions{2}),
          at_head(test::upgraded_to_head(pool)) {
        fs::create_directories(folder);
        recipes({"gpcp-daily", "gpcp-monthly"});
        {
            orchestrator::Orchestrator recorder(pool, test::bundled());
            recorder.create(model::decode<model::BakeryCreate>(
                json{{"region", "us-central1"}, {"name", bakery_name}, {"description", "LDEO"}}));
            recorder.create(model::decode<model::FeedstockCreate>(json{{"spec", repo}}));
        }
        // serve reads them from its environment, which it inherits from this process.
        setenv(github::app_id_variable, std::to_string(app_id).c_str(), 1);
        setenv(github::private_key_file_variable, (test_data / "app-private-key.pem").c_str(), 1);
        setenv(github::webhook_secret_variable, secret.c_str(), 1);
        setenv(github::api_url_variable, standin.url().c_str(), 1);
        setenv(github::expand_meta_variable, expand_meta_command().c_str(), 1);
        unsetenv(github::config_file_variable);
        setenv("PANGEO_FORGE_API_KEY", api_key.c_str(), 1);

        server = std::make_unique<test::Process>(
            PANGEO_FORGE_COMMAND,
            std::vector<std::string>{"serve", "--url", scratch.url(), "--port", "0", "--threads", "4",
                                     "--github-sweep-interval", "0.2"},
            file("serve.log"));
        static const std::regex serving("on http://127\\.0\\.0\\.1:([0-9]+)\n");
        std::smatch match;
        const bool started = eventually([&] {
            const std::string log = server->output();
            if (!std::regex_search(log, match, serving) || !contains(log, "GitHub App ")) return false;
            port = std::stoi(match[1]);
            return true;
        });
        BOOST_REQUIRE_MESSAGE(started, "serve did not start:\n" << server->output());
        BOOST_REQUIRE_MESSAGE(contains(server->output(), "GitHub App " + std::to_string(app_id) +
                                                             ": webhooks at POST /github/hooks/ (GitHub API " +
                                                             standin.url() + ")"),
                              server->output());
        http = std::make_unique<test::HttpClient>(port);
    }

    ~Setup() {
        workers.clear();
        server.reset();
        for (const char* name : {github::app_id_variable, github::private_key_file_variable,
                                 github::webhook_secret_variable, github::api_url_variable,
                                 github::expand_meta_variable, "PANGEO_FORGE_API_KEY"}) {
            unsetenv(name);
        }
        std::error_code ignored;
        fs::remove_all(folder, ignored);
    }

    std::string file(const std::string& name) const { return (folder / name).string(); }

    // What the stand-in expand-meta prints from now on: a progress line, then the
    // completed one listing `ids` on the bakery.
    void recipes(const std::vector<std::string>& ids) const {
        json list = json::array();
        for (const auto& id : ids) list.push_back({{"id", id}});
        std::ofstream out(file("expand-meta.jsonl"));
        out << json{{"status", "progress"}, {"message", "cloning"}}.dump() << "\n"
            << json{{"status", "completed"}, {"meta", {{"recipes", list}, {"bakery", {{"id", bakery_name}}}}}}.dump()
            << "\n";
    }
    // Records "{repo}|{ref}|{feedstock_subdir}" per call, then prints the recorded lines.
    std::string expand_meta_command() const {
        return "printf '%s|%s|%s\\n' {repo} {ref} {feedstock_subdir} >> '" + file("expand-meta.calls") + "'; cat '" +
               file("expand-meta.jsonl") + "'";
    }
    std::vector<std::string> expand_meta_calls() const {
        std::vector<std::string> lines;
        std::ifstream in(file("expand-meta.calls"));
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    }

    // A webhook as GitHub delivers it: JSON, signed with the secret (or as `signature` says).
    test::HttpReply hook(const std::string& event, const std::string& body, const std::string& delivery,
                         const std::string& content_type = "application/json",
                         std::optional<std::string> signature = std::nullopt) {
        test::HttpHeaders headers{{"content-type", content_type},
                                  {"user-agent", "GitHub-Hookshot/a1b2c3d"},
                                  {"x-github-event", event},
                                  {"x-github-hook-id", "292430182"},
                                  {"x-github-hook-installation-target-id", std::to_string(app_id)},
                                  {"x-github-hook-installation-target-type", "integration"}};
        if (!delivery.empty()) headers["x-github-delivery"] = delivery;
        const std::string signed_as = signature ? *signature : github::signature_header(secret, body);
        if (!signed_as.empty()) headers["x-hub-signature-256"] = signed_as;
        return http->post("/github/hooks/", body, headers);
    }

    // The recipe runs, by id, through the API.
    std::vector<json> runs() {
        auto reply = http->get("/recipe_runs/?limit=100");
        BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
        std::vector<json> out;
        for (const auto& run : json::parse(reply.body)) out.push_back(run);
        std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a["id"] < b["id"]; });
        return out;
    }
    json run(std::int64_t id) {
        auto reply = http->get("/recipe_runs/" + std::to_string(id));
        BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
        return json::parse(reply.body);
    }

    std::int64_t count(const std::string& sql) {
        auto lease = pool.acquire();
        return db::query_one(*lease, sql, {db::ColumnType::integer})->integer(0);
    }

    // The check runs the App completed on `repo` with `conclusion`.
    std::vector<testing::GithubCall> completed_check_runs(const std::string& conclusion) const {
        std::vector<testing::GithubCall> out;
        for (auto& call : standin.calls_to("PATCH", "/repos/" + repo + "/check-runs/")) {
            if (call.body.value("status", "") == "completed" && call.body.value("conclusion", "") == conclusion) {
                out.push_back(call);
            }
        }
        return out;
    }
    std::vector<testing::GithubCall> comments(std::int64_t pull_request) const {
        return standin.calls_to("POST", "/repos/" + repo + "/issues/" + std::to_string(pull_request) + "/comments");
    }

    // A real worker of the bakery: it runs what is queued, then exits (--once).
    test::Process& worker(const std::string& name, const std::string& script) {
        workers.push_back(std::make_unique<test::Process>(
            PANGEO_FORGE_COMMAND,
            std::vector<std::string>{"worker", "--server", "http://127.0.0.1:" + std::to_string(port), "--bakery",
                                     bakery_name, "--api-key", api_key, "--name", name, "--poll", "0.2", "--once",
                                     "--public-url-template", url_template, "--", "sh", "-c", script},
            file(name + ".log")));
        return *workers.back();
    }

    std::string logs() const {
        std::string out = "--- serve\n" + server->output();
        for (const auto& worker : workers) out += "--- " + worker->log + "\n" + worker->output();
        out += "--- GitHub calls\n";
        for (const auto& call : standin.calls()) out += call.method + " " + call.path + " " + call.body.dump() + "\n";
        return out;
    }

    fs::path folder;
    testing::GithubStandin standin;
    db::Database pool;
    bool at_head;
    std::unique_ptr<test::Process> server;
    std::vector<std::unique_ptr<test::Process>> workers;
    std::unique_ptr<test::HttpClient> http;
    int port = 0;
    static inline int counter = 0;
};

}  // namespace

PANGEO_FORGE_DATABASE_TEST(a_synchronize_webhook_becomes_test_runs_a_worker_runs_and_github_hears_the_results) {
    Setup setup(database);
    const std::string sha = "6dcb09b5b57875f334f61aebed695e2e4193db5e";
    auto answer = setup.hook("pull_request", testing::pull_request_payload("synchronize", repo, 7, sha).dump(),
                             "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    BOOST_TEST(answer.status == 202, answer.body);
    BOOST_TEST(json::parse(answer.body)["status"] == "accepted");

    const bool checked = eventually([&] { return !setup.completed_check_runs("success").empty(); });
    BOOST_REQUIRE_MESSAGE(checked, setup.logs());
    auto runs = setup.runs();
    BOOST_REQUIRE_MESSAGE(runs.size() == 2u, setup.logs());
    BOOST_TEST(runs[0]["recipe_id"] == "gpcp-daily");
    BOOST_TEST(runs[1]["recipe_id"] == "gpcp-monthly");
    for (const auto& run : runs) {
        BOOST_TEST(run["is_test"] == true, run.dump());
        BOOST_TEST(run["head_sha"] == sha, run.dump());
        BOOST_TEST(run["status"] == "queued", run.dump());
        BOOST_TEST(run["version"] == "", run.dump());
        BOOST_TEST(run["dataset_type"] == "zarr", run.dump());
    }
    BOOST_TEST(setup.expand_meta_calls() == std::vector<std::string>{"https://github.com/" + repo + "|" + sha + "|"});
    auto created = setup.standin.calls_to("POST", "/repos/" + repo + "/check-runs");
    BOOST_REQUIRE(created.size() == 1u);
    BOOST_TEST(created[0].body["name"] == "synchronize");
    BOOST_TEST(created[0].body["status"] == "in_progress");
    BOOST_TEST(created[0].body["head_sha"] == sha);
    const auto summary = setup.completed_check_runs("success")[0].body["output"]["summary"].get<std::string>();
    for (const auto& run : runs) {
        BOOST_TEST(contains(summary, "/recipe-run/" + std::to_string(run["id"].get<std::int64_t>())), summary);
    }
    BOOST_TEST(setup.comments(7).empty());  // nothing ran yet

    auto& worker = setup.worker("baker", "echo 'baking {recipe_id} of run {recipe_run_id}'");
    const int status = worker.wait();
    BOOST_REQUIRE_MESSAGE(status == 0, setup.logs());
    std::map<std::string, std::string> url_of;  // recipe id -> the dataset URL of its run
    for (const auto& listed : runs) {
        const std::int64_t id = listed["id"];
        auto run = setup.run(id);
        BOOST_TEST(run["status"] == "completed", run.dump());
        BOOST_TEST(run["conclusion"] == "success", run.dump());
        url_of[run["recipe_id"]] = test_dataset_url(id, run["recipe_id"]);
        BOOST_TEST(run["dataset_public_url"] == url_of[run["recipe_id"]], run.dump());
    }

    // serve's App sweep reports each ended run: a comment on the pull request with its dataset.
    const bool commented = eventually([&] { return setup.comments(7).size() >= 2u; });
    BOOST_REQUIRE_MESSAGE(commented, setup.logs());
    auto comments = setup.comments(7);
    BOOST_TEST(comments.size() == 2u, setup.logs());
    for (const auto& [recipe, url] : url_of) {
        const bool said = std::any_of(comments.begin(), comments.end(), [&](const testing::GithubCall& call) {
            const std::string body = call.body.value("body", "");
            return contains(body, "`" + recipe + "`") && contains(body, "succeeded") && contains(body, url);
        });
        BOOST_TEST(said, recipe << " at " << url << "\n" << setup.logs());
    }
    BOOST_TEST(setup.count("SELECT COUNT(*) FROM github_report WHERE reported_at IS NOT NULL") == 2);

    // serve stops gracefully with the App open.
    setup.server->signal(SIGTERM);
    const int stopped = setup.server->wait();
    BOOST_TEST(stopped == 0, setup.logs());
}

PANGEO_FORGE_DATABASE_TEST(a_submitted_job_ends_on_its_signed_dataflow_callback_and_github_hears_of_it) {
    Setup setup(database);
    setup.recipes({"gpcp-daily"});
    const std::string sha = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
    auto answer = setup.hook("pull_request", testing::pull_request_payload("opened", repo, 8, sha).dump(),
                             "0b1e8a40-cc79-11e3-8f2d-4c9367dc0958");
    BOOST_TEST(answer.status == 202, answer.body);
    const bool checked = eventually([&] { return !setup.completed_check_runs("success").empty(); });
    BOOST_REQUIRE_MESSAGE(checked, setup.logs());
    auto runs = setup.runs();
    BOOST_REQUIRE_MESSAGE(runs.size() == 1u, setup.logs());
    const std::int64_t id = runs[0]["id"];

    // The worker's command submits a job and exits 0: the run waits for the job's callback.
    auto& worker = setup.worker(
        "submitter",
        "echo '{\"status\": \"running\"}'; "
        "echo '{\"status\": \"submitted\", \"job_name\": \"a6c6f\", \"job_id\": \"2026-11-26_job-{recipe_run_id}\"}'");
    const int status = worker.wait();
    BOOST_REQUIRE_MESSAGE(status == 0, setup.logs());
    auto run = setup.run(id);
    BOOST_TEST(run["status"] == "in_progress", run.dump());
    auto message = json::parse(run["message"].get<std::string>());
    BOOST_TEST(message["job_name"] == "a6c6f", run.dump());
    BOOST_TEST(message["job_id"] == "2026-11-26_job-" + std::to_string(id), run.dump());

    // The job's end, as the callback sends it: a signed form, no delivery id.
    const std::string form = "action=completed&recipe_run_id=" + std::to_string(id) + "&conclusion=success";
    auto callback = setup.hook("dataflow", form, "", "application/x-www-form-urlencoded");
    BOOST_TEST(callback.status == 202, callback.body);
    BOOST_TEST(json::parse(callback.body)["conclusion"] == "success", callback.body);
    run = setup.run(id);
    BOOST_TEST(run["status"] == "completed", run.dump());
    BOOST_TEST(run["conclusion"] == "success", run.dump());
    BOOST_TEST(run["dataset_public_url"] == test_dataset_url(id, "gpcp-daily"), run.dump());
    // The same callback again is the same delivery: nothing done twice.
    auto again = setup.hook("dataflow", form, "", "application/x-www-form-urlencoded");
    BOOST_TEST(again.status == 200, again.body);
    BOOST_TEST(json::parse(again.body)["status"] == "duplicate", again.body);

    const bool reported = eventually([&] {
        return !setup.comments(8).empty() &&
               setup.count("SELECT COUNT(*) FROM github_report WHERE reported_at IS NOT NULL") == 1;
    });
    BOOST_REQUIRE_MESSAGE(reported, setup.logs());
    auto comments = setup.comments(8);
    BOOST_TEST(comments.size() == 1u, setup.logs());
    const std::string body = comments[0].body.value("body", "");
    BOOST_TEST(contains(body, "succeeded"), body);
    BOOST_TEST(contains(body, test_dataset_url(id, "gpcp-daily")), body);
}

PANGEO_FORGE_DATABASE_TEST(a_redelivered_webhook_creates_nothing_twice_and_a_bad_signature_writes_nothing) {
    Setup setup(database);
    const std::string payload = testing::pull_request_payload("synchronize", repo, 7, "abc1234").dump();

    // Refused before anything is read or written.
    auto forged = setup.hook("pull_request", payload, "d-forged", "application/json",
                             github::signature_header("another secret", payload));
    BOOST_TEST(forged.status == 401, forged.body);
    BOOST_TEST(json::parse(forged.body)["detail"] == "Request hash signature invalid.");
    auto unsigned_hook = setup.hook("pull_request", payload, "d-unsigned", "application/json", "");
    BOOST_TEST(unsigned_hook.status == 401, unsigned_hook.body);
    BOOST_TEST(json::parse(unsigned_hook.body)["detail"] == "Request does not include a GitHub hash signature header.");
    auto tampered_payload = payload;
    tampered_payload.replace(tampered_payload.find("abc1234"), 7, "abc1235");
    auto tampered = setup.hook("pull_request", tampered_payload, "d-tampered", "application/json",
                               github::signature_header(secret, payload));
    BOOST_TEST(tampered.status == 401, tampered.body);
    BOOST_TEST(setup.count("SELECT COUNT(*) FROM github_delivery") == 0);
    BOOST_TEST(setup.runs().empty());
    BOOST_TEST(setup.standin.calls().empty());
    BOOST_TEST(setup.expand_meta_calls().empty());

    // The same delivery three times: before it was handled and after.
    const std::string guid = "9f3c1d20-cc7a-11e3-9c1a-4c9367dc0958";
    BOOST_TEST(setup.hook("pull_request", payload, guid).status == 202);
    auto early = setup.hook("pull_request", payload, guid);
    BOOST_TEST(early.status == 200, early.body);
    BOOST_TEST(json::parse(early.body)["status"] == "duplicate", early.body);
    const bool checked = eventually([&] { return !setup.completed_check_runs("success").empty(); });
    BOOST_REQUIRE_MESSAGE(checked, setup.logs());
    auto late = setup.hook("pull_request", payload, guid);
    BOOST_TEST(late.status == 200, late.body);
    BOOST_TEST(json::parse(late.body)["status"] == "duplicate", late.body);

    // Another delivery after them, handled by the same threads and sweeps: by the time its
    // check run completes, a duplicate that had been handled again would show.
    BOOST_TEST(setup.hook("pull_request", testing::pull_request_payload("synchronize", repo, 7, "def5678").dump(),
                          "b7e1f0a2-cc7a-11e3-8d6e-4c9367dc0958")
                   .status == 202);
    const bool both_checked = eventually([&] { return setup.completed_check_runs("success").size() >= 2u; });
    BOOST_REQUIRE_MESSAGE(both_checked, setup.logs());

    BOOST_TEST(setup.runs().size() == 4u, setup.logs());  // two recipes at each of the two commits
    BOOST_TEST(setup.expand_meta_calls().size() == 2u);
    BOOST_TEST(setup.standin.calls_to("POST", "/repos/" + repo + "/check-runs").size() == 2u, setup.logs());
    BOOST_TEST(setup.completed_check_runs("success").size() == 2u, setup.logs());
    BOOST_TEST(setup.count("SELECT COUNT(*) FROM github_delivery") == 2);
    BOOST_TEST(setup.count("SELECT COUNT(*) FROM github_delivery WHERE outcome = 'done'") == 2);
}
