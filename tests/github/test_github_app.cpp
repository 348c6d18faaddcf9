#define BOOST_TEST_MODULE github_app
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/github/app.hpp"
#include "pangeo_forge/github/signature.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "github/expand_meta.hpp"
#include "github/store.hpp"
#include "support/github_payloads.hpp"
#include "support/github_standin.hpp"
#include "support/migrations.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using nlohmann::json;
using testing::comment_payload;
using testing::pull_request_payload;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t app_id = 4242;
const std::string secret = "webhook secret for the tests";

std::string file_text(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

const fs::path test_data = PANGEO_FORGE_GITHUB_TEST_DATA;

// A folder of the fixture's own, whichever the backend.
fs::path own_folder() {
    static int made = 0;
    return fs::temp_directory_path() /
           ("pangeo-forge-github-" + std::to_string(::getpid()) + "-" + std::to_string(++made));
}

// A stand-in expand-meta: records its arguments and prints the lines it was given.
struct ExpandMeta {
    fs::path folder;
    ExpandMeta(const ExpandMeta&) = delete;
    ~ExpandMeta() {
        std::error_code ignored;
        fs::remove_all(folder, ignored);
    }
    explicit ExpandMeta(const fs::path& where) : folder(where) {
        fs::create_directories(folder);
        print({{{"status", "progress"}, {"message", "cloning"}},
               {{"status", "completed"},
                {"meta", {{"recipes", json::array({{{"id", "gpcp-daily"}}, {{"id", "gpcp-monthly"}}})},
                          {"bakery", {{"id", "pangeo-ldeo-nsf-earthcube"}}}}}}});
    }
    void print(const std::vector<json>& lines) const {
        std::ofstream out(folder / "lines.jsonl");
        for (const auto& line : lines) out << line.dump() << "\n";
    }
    void fail_with(const std::string& error) const {
        std::ofstream out(folder / "fail.txt");
        out << error;
    }
    std::string command() const {
        const std::string f = folder.string();
        return "printf '%s|%s|%s\\n' {repo} {ref} {feedstock_subdir} >> '" + f + "/args.txt'; "
               "if [ -f '" + f + "/fail.txt' ]; then cat '" + f + "/fail.txt' >&2; exit 3; fi; cat '" + f +
               "/lines.jsonl'";
    }
    std::vector<std::string> calls() const {
        std::vector<std::string> lines;
        std::ifstream in(folder / "args.txt");
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    }
};

api::Request hook(const std::string& event, const std::string& body, const std::string& delivery,
                  const std::string& content_type = "application/json") {
    api::Request request;
    request.method = "POST";
    request.path = "/github/hooks/";
    request.headers = {{"x-github-event", event},
                       {"x-hub-signature-256", github::signature_header(secret, body)},
                       {"content-type", content_type}};
    if (!delivery.empty()) request.headers["x-github-delivery"] = delivery;
    request.body = body;
    return request;
}

std::int64_t count(db::Database& database, const std::string& sql) {
    auto lease = database.acquire();
    return db::query_one(*lease, sql, {db::ColumnType::integer})->integer(0);
}

struct Fixture {
    explicit Fixture(test::ScratchDatabase& scratch, github::AppOptions options = quick())
        : expand_meta(own_folder()),
          standin(app_id, file_text(test_data / "app-public-key.pem")),
          pool(scratch.url(), db::PoolOptions{4}),
          at_head(test::upgraded_to_head(pool)),
          orchestrator(pool, test::bundled()) {
        settings.app_id = app_id;
        settings.private_key_pem = file_text(test_data / "app-private-key.pem");
        settings.webhook_secret = secret;
        settings.api_url = standin.url();
        settings.expand_meta_command = expand_meta.command();
        bakery = orchestrator.create(model::decode<model::BakeryCreate>(
                     json{{"region", "us-central1"}, {"name", "pangeo-ldeo-nsf-earthcube"}, {"description", "d"}}))
                     .id;
        feedstock =
            orchestrator.create(model::decode<model::FeedstockCreate>(json{{"spec", "pangeo-forge/gpcp-feedstock"}})).id;
        app = std::make_unique<github::App>(orchestrator, pool, settings, options);
    }

    // Deliveries wait for drain(): the tests decide when the App's work happens.
    static github::AppOptions quick() {
        github::AppOptions options;
        options.task_threads = 1;
        options.queue_capacity = 0;
        options.sweep_interval = std::chrono::hours(1);
        options.rest.first_backoff = std::chrono::milliseconds(5);
        options.rest.max_backoff = std::chrono::milliseconds(50);
        options.rest.retries = 2;
        return options;
    }

    api::Response send(const std::string& event, const json& payload, const std::string& delivery) {
        return app->handle(hook(event, payload.dump(), delivery));
    }

    std::vector<model::RecipeRun> runs() {
        return orchestrator.recipe_runs(orchestrator::Page{0, 100, "id", orchestrator::SortOrder::asc});
    }

    ExpandMeta expand_meta;
    testing::GithubStandin standin;
    github::AppSettings settings;
    db::Database pool;
    bool at_head;
    orchestrator::Orchestrator orchestrator;
    std::int64_t bakery = 0, feedstock = 0;
    std::unique_ptr<github::App> app;
};

json body_of(const api::Response& response) { return json::parse(response.body); }

}  // namespace

PANGEO_FORGE_DATABASE_TEST(a_missing_or_wrong_signature_is_refused_and_writes_nothing) {
    Fixture f(database);
    auto payload = pull_request_payload("synchronize", "pangeo-forge/gpcp-feedstock", 7, "abc1234").dump();
    auto unsigned_request = hook("pull_request", payload, "d-1");
    unsigned_request.headers.erase("x-hub-signature-256");
    auto missing = f.app->handle(unsigned_request);
    BOOST_TEST(missing.status == 401);
    BOOST_TEST(body_of(missing)["detail"] == "Request does not include a GitHub hash signature header.");

    auto forged = hook("pull_request", payload, "d-2");
    forged.body[10] ^= 1;  // the body changed after signing
    auto invalid = f.app->handle(forged);
    BOOST_TEST(invalid.status == 401);
    BOOST_TEST(body_of(invalid)["detail"] == "Request hash signature invalid.");

    auto other_secret = hook("pull_request", payload, "d-3");
    other_secret.headers["x-hub-signature-256"] = github::signature_header("another secret", payload);
    BOOST_TEST(f.app->handle(other_secret).status == 401);

    f.app->drain();
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM github_delivery") == 0);
    BOOST_TEST(f.runs().empty());
    BOOST_TEST(f.standin.calls().empty());
}

PANGEO_FORGE_DATABASE_TEST(check_suite_is_acknowledged_and_other_events_are_not_implemented) {
    Fixture f(database);
    auto ok = f.send("check_suite", json{{"action", "requested"}}, "d-1");
    BOOST_TEST(ok.status == 202);
    BOOST_TEST(body_of(ok) == (json{{"status", "ok"}}));
    auto other = f.send("push", json{{"ref", "refs/heads/main"}}, "d-2");
    BOOST_TEST(other.status == 501);
    BOOST_TEST(body_of(other)["detail"] == "No handling implemented for this event type.");
    auto broken = f.app->handle(hook("pull_request", "{not json", "d-3"));
    BOOST_TEST(broken.status == 400);
    auto lacking = f.send("pull_request", json{{"action", "opened"}, {"pull_request", {{"number", 1}}}}, "d-4");
    BOOST_TEST(lacking.status == 400);
    BOOST_TEST(body_of(lacking)["detail"].get<std::string>().find("pull_request.base.repo.full_name") != std::string::npos);
}

PANGEO_FORGE_DATABASE_TEST(a_synchronize_event_creates_a_test_run_per_recipe_and_a_check_run) {
    Fixture f(database);
    auto answer = f.send("pull_request", pull_request_payload("synchronize", "pangeo-forge/gpcp-feedstock", 7, "abc1234"),
                         "delivery-1");
    BOOST_TEST(answer.status == 202);
    BOOST_TEST(body_of(answer)["status"] == "accepted");
    BOOST_TEST(f.runs().empty());  // the answer comes before the work
    f.app->drain();

    auto runs = f.runs();
    BOOST_REQUIRE(runs.size() == 2u);
    BOOST_TEST(runs[0].recipe_id == "gpcp-daily");
    BOOST_TEST(runs[1].recipe_id == "gpcp-monthly");
    for (const auto& run : runs) {
        BOOST_TEST(run.is_test);
        BOOST_TEST(run.head_sha == "abc1234");
        BOOST_TEST(run.version == "");
        BOOST_TEST((run.status == model::RecipeRunStatus::queued));
        BOOST_TEST((run.dataset_type == model::DatasetType::zarr));
        BOOST_TEST(run.bakery_id == f.bakery);
        BOOST_TEST(run.feedstock_id == f.feedstock);
    }
    BOOST_TEST(f.expand_meta.calls() ==
               std::vector<std::string>{"https://github.com/pangeo-forge/gpcp-feedstock|abc1234|"});
    auto created = f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/check-runs");
    BOOST_REQUIRE(created.size() == 1u);
    BOOST_TEST(created[0].body["name"] == "synchronize");
    BOOST_TEST(created[0].body["status"] == "in_progress");
    BOOST_TEST(created[0].body["head_sha"] == "abc1234");
    auto completed = f.standin.calls_to("PATCH", "/repos/pangeo-forge/gpcp-feedstock/check-runs/");
    BOOST_REQUIRE(completed.size() == 1u);
    BOOST_TEST(completed[0].body["conclusion"] == "success");
    BOOST_TEST(completed[0].body["output"]["summary"].get<std::string>().find("/recipe-run/" + std::to_string(runs[0].id)) !=
               std::string::npos);
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM github_delivery WHERE outcome = 'done'") == 1);
}

PANGEO_FORGE_DATABASE_TEST(a_redelivery_of_the_same_delivery_creates_nothing_twice) {
    Fixture f(database);
    auto payload = pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234");
    BOOST_TEST(f.send("pull_request", payload, "guid-7").status == 202);
    auto again = f.send("pull_request", payload, "guid-7");  // before it was handled
    BOOST_TEST(again.status == 200);
    BOOST_TEST(body_of(again)["status"] == "duplicate");
    f.app->drain();
    auto after = f.send("pull_request", payload, "guid-7");  // after
    BOOST_TEST(body_of(after)["status"] == "duplicate");
    f.app->drain();
    BOOST_TEST(f.runs().size() == 2u);
    BOOST_TEST(f.expand_meta.calls().size() == 1u);
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM github_delivery") == 1);
}

PANGEO_FORGE_DATABASE_TEST(pull_requests_the_app_does_not_act_on_are_skipped_with_a_message) {
    Fixture f(database);
    struct Case {
        json payload;
        std::string says;
    };
    std::vector<Case> cases{
        {pull_request_payload("opened", "pangeo-forge/pangeo-forge-recipes", 1, "a1"), "neither a -feedstock repository"},
        {pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 2, "a2", "Cleanup: gpcp"), "starts with 'cleanup'"},
        {pull_request_payload("closed", "pangeo-forge/gpcp-feedstock", 3, "a3"), "closed without a merge"},
        {pull_request_payload("labeled", "pangeo-forge/gpcp-feedstock", 4, "a4"), "'labeled' is not one the app acts on"},
    };
    int n = 0;
    for (const auto& c : cases) {
        auto answer = f.send("pull_request", c.payload, "skip-" + std::to_string(++n));
        BOOST_TEST(answer.status == 202);
        BOOST_TEST(body_of(answer)["status"] == "skip");
        BOOST_TEST(body_of(answer)["message"].get<std::string>().find(c.says) != std::string::npos,
                   body_of(answer)["message"] << " says " << c.says);
    }
    f.app->drain();
    BOOST_TEST(f.runs().empty());
    BOOST_TEST(f.expand_meta.calls().empty());
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM github_delivery WHERE outcome = 'skipped'") == 4);
}

PANGEO_FORGE_DATABASE_TEST(the_check_run_fails_with_the_reason_when_no_run_can_be_made) {
    Fixture f(database);
    // A feedstock that is not in the database.
    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/unknown-feedstock", 1, "b1"), "d-1");
    f.app->drain();
    auto completed = f.standin.calls_to("PATCH", "/repos/pangeo-forge/unknown-feedstock/check-runs/");
    BOOST_REQUIRE(completed.size() == 1u);
    BOOST_TEST(completed[0].body["conclusion"] == "failure");
    BOOST_TEST(completed[0].body["output"]["summary"].get<std::string>().find("pangeo-forge/unknown-feedstock") !=
               std::string::npos);

    // expand-meta failing: its error output is the reason.
    f.expand_meta.fail_with("Error: meta.yaml not found in feedstock/");
    f.send("pull_request", pull_request_payload("synchronize", "pangeo-forge/gpcp-feedstock", 2, "b2"), "d-2");
    f.app->drain();
    completed = f.standin.calls_to("PATCH", "/repos/pangeo-forge/gpcp-feedstock/check-runs/");
    BOOST_REQUIRE(completed.size() == 1u);
    BOOST_TEST(completed[0].body["conclusion"] == "failure");
    BOOST_TEST(completed[0].body["output"]["summary"].get<std::string>().find("meta.yaml not found") != std::string::npos);
    BOOST_TEST(f.runs().empty());
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM github_delivery WHERE outcome = 'failed'") == 2);
}

PANGEO_FORGE_DATABASE_TEST(a_staged_recipes_pull_request_lists_the_recipe_of_its_directory) {
    Fixture f(database);
    f.orchestrator.create(model::decode<model::FeedstockCreate>(json{{"spec", "pangeo-forge/staged-recipes"}}));
    f.standin.set_pull_request_files("pangeo-forge/staged-recipes", 12,
                                     {"recipes/gpcp/meta.yaml", "recipes/gpcp/recipe.py"});
    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/staged-recipes", 12, "c1"), "d-1");
    f.app->drain();
    BOOST_TEST(f.expand_meta.calls() ==
               std::vector<std::string>{"https://github.com/pangeo-forge/staged-recipes|c1|--feedstock-subdir=recipes/gpcp"});
    BOOST_TEST(f.runs().size() == 2u);
}

PANGEO_FORGE_DATABASE_TEST(a_run_command_queues_the_test_run_again_with_reactions) {
    Fixture f(database);
    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f.app->drain();
    auto run = f.runs().front();
    // The run ran and failed.
    auto claim = f.orchestrator.claim(orchestrator::ClaimRequest{"pangeo-ldeo-nsf-earthcube", "w", std::chrono::seconds(60)});
    BOOST_REQUIRE(claim);
    orchestrator::Report failed;
    failed.attempt = claim->attempt;
    failed.outcome = orchestrator::Outcome::failure;
    failed.trace = "Traceback: KeyError 'precip'";
    f.orchestrator.complete(claim->run.recipe_run.id, failed);

    f.standin.set_pull_request("pangeo-forge/gpcp-feedstock", 7, {{"number", 7}, {"head", {{"sha", "abc1234"}}}});
    auto not_command = f.send("issue_comment", comment_payload("pangeo-forge/gpcp-feedstock", 7, 501, "Looks good!"), "c-0");
    BOOST_TEST(body_of(not_command)["message"] == "Comment is not a slash command.");
    auto unknown = f.send("issue_comment", comment_payload("pangeo-forge/gpcp-feedstock", 7, 502, "/deploy now"), "c-1");
    BOOST_TEST(unknown.status == 400);
    auto bare = f.send("issue_comment", comment_payload("pangeo-forge/gpcp-feedstock", 7, 503, "/run"), "c-2");
    BOOST_TEST(bare.status == 400);

    auto accepted = f.send("issue_comment",
                           comment_payload("pangeo-forge/gpcp-feedstock", 7, 504, "/run " + claim->run.recipe_run.recipe_id),
                           "c-3");
    BOOST_TEST(accepted.status == 202);
    f.app->drain();
    auto again = f.orchestrator.recipe_run(claim->run.recipe_run.id).recipe_run;
    BOOST_TEST((again.status == model::RecipeRunStatus::queued));
    BOOST_TEST(!again.conclusion);
    auto reactions = f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/issues/comments/504/reactions");
    BOOST_REQUIRE(reactions.size() == 2u);
    BOOST_TEST(reactions[0].body["content"] == "eyes");
    BOOST_TEST(reactions[1].body["content"] == "rocket");

    // A recipe with no run at that commit: confused.
    f.send("issue_comment", comment_payload("pangeo-forge/gpcp-feedstock", 7, 505, "/run no-such-recipe"), "c-4");
    f.app->drain();
    reactions = f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/issues/comments/505/reactions");
    BOOST_REQUIRE(reactions.size() == 2u);
    BOOST_TEST(reactions[1].body["content"] == "confused");
    (void)run;
}

PANGEO_FORGE_DATABASE_TEST(a_synchronize_reaches_a_completed_test_run_and_its_comment) {
    Fixture f(database);
    f.send("pull_request", pull_request_payload("synchronize", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f.app->drain();
    // A worker claims both runs: one succeeds, one fails.
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 2; ++i) {
        auto claim = f.orchestrator.claim(orchestrator::ClaimRequest{"pangeo-ldeo-nsf-earthcube", "w", std::chrono::seconds(60)});
        BOOST_REQUIRE(claim);
        orchestrator::Report report;
        report.attempt = claim->attempt;
        if (i == 0) {
            report.outcome = orchestrator::Outcome::success;
            report.dataset_public_url = "https://storage.example/test/gpcp-daily.zarr";
        } else {
            report.outcome = orchestrator::Outcome::failure;
            report.trace = "line 1\nValueError: no data";
        }
        f.orchestrator.complete(claim->run.recipe_run.id, report);
        ids.push_back(claim->run.recipe_run.id);
    }
    f.app->drain();
    auto comments = f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/issues/7/comments");
    BOOST_REQUIRE(comments.size() == 2u);
    const auto success = comments[0].body["body"].get<std::string>();
    BOOST_TEST(success.find("succeeded") != std::string::npos);
    BOOST_TEST(success.find("https://storage.example/test/gpcp-daily.zarr") != std::string::npos);
    const auto failure = comments[1].body["body"].get<std::string>();
    BOOST_TEST(failure.find("failure") != std::string::npos);
    BOOST_TEST(failure.find("ValueError: no data") != std::string::npos);
    // Reported once: a second sweep sends nothing more.
    f.app->drain();
    BOOST_TEST(f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/issues/7/comments").size() == 2u);
}

PANGEO_FORGE_DATABASE_TEST(a_merge_on_a_feedstock_makes_production_runs_whose_deployments_follow_the_callback) {
    Fixture f(database);
    f.standin.set_pull_request_files("pangeo-forge/gpcp-feedstock", 9, {"feedstock/recipe.py", "feedstock/meta.yaml"});
    f.send("pull_request", pull_request_payload("closed", "pangeo-forge/gpcp-feedstock", 9, "head9", "Update", true, "merge9"),
           "m-1");
    f.app->drain();
    auto runs = f.runs();
    BOOST_REQUIRE(runs.size() == 2u);
    for (const auto& run : runs) {
        BOOST_TEST(!run.is_test);
        BOOST_TEST(run.head_sha == "merge9");
        BOOST_TEST(json::parse(run.message.value_or("{}")).contains("deployment_id"));
    }
    auto deployments = f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/deployments");
    BOOST_REQUIRE(deployments.size() == 2u);
    BOOST_TEST(deployments[0].body["ref"] == "merge9");

    // The first run's job is submitted by a worker, then its callback says it succeeded.
    auto claim = f.orchestrator.claim(orchestrator::ClaimRequest{"pangeo-ldeo-nsf-earthcube", "w", std::chrono::seconds(60)});
    BOOST_REQUIRE(claim);
    orchestrator::Report submitted;
    submitted.attempt = claim->attempt;
    submitted.outcome = orchestrator::Outcome::submitted;
    submitted.job_name = "a6c6f";
    submitted.job_id = "2026-11-26_job";
    submitted.dataset_public_url = "https://storage.example/pangeo-forge/gpcp-feedstock/gpcp-daily.zarr";
    f.orchestrator.complete(claim->run.recipe_run.id, submitted);
    const std::string form = "action=completed&recipe_run_id=" + std::to_string(claim->run.recipe_run.id) +
                             "&conclusion=success";
    auto callback = f.app->handle(hook("dataflow", form, "", "application/x-www-form-urlencoded"));
    BOOST_TEST(callback.status == 202);
    auto done = f.orchestrator.recipe_run(claim->run.recipe_run.id).recipe_run;
    BOOST_TEST((done.status == model::RecipeRunStatus::completed));
    BOOST_TEST((done.conclusion == model::RecipeRunConclusion::success));
    BOOST_TEST(done.dataset_public_url.value_or("") == submitted.dataset_public_url.value());
    BOOST_TEST(json::parse(done.message.value_or("{}")).contains("deployment_id"));
    // The same callback again is the same delivery.
    BOOST_TEST(body_of(f.app->handle(hook("dataflow", form, "", "application/x-www-form-urlencoded")))["status"] ==
               "duplicate");
    f.app->drain();
    auto statuses = f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/deployments/");
    BOOST_REQUIRE_MESSAGE(statuses.size() == 1u,
                          statuses.size() << " statuses: " << (statuses.size() > 1 ? statuses[0].path + " " + statuses[0].body.dump() + " / " + statuses[1].path + " " + statuses[1].body.dump() : "") << "; run message "
                                          << f.orchestrator.recipe_run(claim->run.recipe_run.id).recipe_run.message.value_or(""));
    BOOST_TEST(statuses[0].body["state"] == "success");
    BOOST_TEST(statuses[0].body["environment_url"] == submitted.dataset_public_url.value());
}

PANGEO_FORGE_DATABASE_TEST(a_merge_on_staged_recipes_makes_the_feedstock_and_the_cleanup_pull_request) {
    Fixture f(database);
    f.standin.set_pull_request_files("pangeo-forge/staged-recipes", 20,
                                     {"recipes/noaa-oisst/meta.yaml", "recipes/noaa-oisst/recipe.py"});
    f.standin.set_file("pangeo-forge/staged-recipes", "recipes/noaa-oisst/meta.yaml", "title: NOAA OISST\n");
    f.standin.set_file("pangeo-forge/staged-recipes", "recipes/noaa-oisst/recipe.py", "recipe = None\n");
    f.send("pull_request",
           pull_request_payload("closed", "pangeo-forge/staged-recipes", 20, "h20", "Add noaa-oisst", true, "m20"), "s-1");
    f.app->drain();
    BOOST_TEST(f.standin.calls_to("POST", "/orgs/pangeo-forge/repos").size() == 1u);
    auto files = f.standin.repository_files("pangeo-forge/noaa-oisst-feedstock");
    BOOST_TEST(files.value("feedstock/meta.yaml", "") == "title: NOAA OISST\n");
    BOOST_TEST(files.value("feedstock/recipe.py", "") == "recipe = None\n");
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM feedstock WHERE spec = 'pangeo-forge/noaa-oisst-feedstock'") == 1);
    auto pulls = f.standin.calls_to("POST", "/repos/pangeo-forge/staged-recipes/pulls");
    BOOST_REQUIRE(pulls.size() == 1u);
    BOOST_TEST(pulls[0].body["title"].get<std::string>().rfind("Cleanup", 0) == 0);
    BOOST_TEST(f.standin.calls_to("DELETE", "/repos/pangeo-forge/staged-recipes/contents/recipes/noaa-oisst/").size() == 2u);
}

PANGEO_FORGE_DATABASE_TEST(github_answering_500_then_200_is_retried) {
    Fixture f(database);
    f.standin.fail_next("POST", "/repos/pangeo-forge/gpcp-feedstock/check-runs", 500, 1);
    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f.app->drain();
    BOOST_TEST(f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/check-runs").size() == 2u);
    BOOST_TEST(f.runs().size() == 2u);
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM github_delivery WHERE outcome = 'done'") == 1);
}

PANGEO_FORGE_DATABASE_TEST(a_token_that_expires_between_two_calls_is_renewed) {
    Fixture f(database);
    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f.app->drain();
    const int first = f.standin.tokens_issued();
    BOOST_TEST(first == 1);
    f.standin.expire_tokens();
    f.send("pull_request", pull_request_payload("synchronize", "pangeo-forge/gpcp-feedstock", 7, "def5678"), "d-2");
    f.app->drain();
    BOOST_TEST(f.standin.tokens_issued() == 2);
    BOOST_TEST(f.runs().size() == 4u);
}

PANGEO_FORGE_DATABASE_TEST(a_result_github_refuses_is_noted_on_the_run_and_sent_later) {
    Fixture f(database);
    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f.app->drain();
    auto claim = f.orchestrator.claim(orchestrator::ClaimRequest{"pangeo-ldeo-nsf-earthcube", "w", std::chrono::seconds(60)});
    BOOST_REQUIRE(claim);
    orchestrator::Report report;
    report.attempt = claim->attempt;
    report.outcome = orchestrator::Outcome::success;
    f.orchestrator.complete(claim->run.recipe_run.id, report);
    // GitHub fails every try of this sweep (the first and the two retries).
    f.standin.fail_next("POST", "/repos/pangeo-forge/gpcp-feedstock/issues/7/comments", 502, 3);
    f.app->drain();
    auto run = f.orchestrator.recipe_run(claim->run.recipe_run.id).recipe_run;
    auto message = json::parse(run.message.value_or("{}"));
    BOOST_TEST(message.contains("github_error"));
    BOOST_TEST(message["github_error"].get<std::string>().find("502") != std::string::npos);
    f.app->drain();  // GitHub is back
    BOOST_TEST(f.standin.calls_to("POST", "/repos/pangeo-forge/gpcp-feedstock/issues/7/comments").size() == 4u);
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM github_report WHERE reported_at IS NOT NULL") == 1);
}

PANGEO_FORGE_DATABASE_TEST(a_delivery_recorded_before_a_stop_is_handled_after_the_restart) {
    auto f = std::make_unique<Fixture>(database);
    f->send("pull_request", pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f->app.reset();  // stopped before any thread took it
    BOOST_TEST(f->runs().empty());
    auto options = Fixture::quick();
    options.queue_capacity = 8;
    options.sweep_interval = std::chrono::milliseconds(20);
    f->app = std::make_unique<github::App>(f->orchestrator, f->pool, f->settings, options);
    for (int i = 0; i < 500 && count(f->pool, "SELECT COUNT(*) FROM github_delivery WHERE outcome = 'done'") == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    BOOST_TEST(f->runs().size() == 2u);
}

namespace {

// A worker's claim of the next run, which it reports submitted (a cloud job that calls back).
std::int64_t claim_and_submit(Fixture& f, const std::string& job) {
    auto claim = f.orchestrator.claim(orchestrator::ClaimRequest{"pangeo-ldeo-nsf-earthcube", "w", std::chrono::seconds(60)});
    BOOST_REQUIRE(claim);
    orchestrator::Report submitted;
    submitted.attempt = claim->attempt;
    submitted.outcome = orchestrator::Outcome::submitted;
    submitted.job_name = job;
    f.orchestrator.complete(claim->run.recipe_run.id, submitted);
    return claim->run.recipe_run.id;
}

api::Request callback(std::int64_t recipe_run_id, const std::string& conclusion) {
    return hook("dataflow",
                "action=completed&recipe_run_id=" + std::to_string(recipe_run_id) + "&conclusion=" + conclusion, "",
                "application/x-www-form-urlencoded");
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(the_callback_of_a_run_queued_again_by_run_is_not_taken_for_a_duplicate) {
    Fixture f(database);
    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f.app->drain();
    const auto id = claim_and_submit(f, "job-1");
    BOOST_TEST(f.app->handle(callback(id, "failure")).status == 202);
    BOOST_TEST((f.orchestrator.recipe_run(id).recipe_run.status == model::RecipeRunStatus::completed));

    const auto recipe_id = f.orchestrator.recipe_run(id).recipe_run.recipe_id;
    f.standin.set_pull_request("pangeo-forge/gpcp-feedstock", 7, {{"number", 7}, {"head", {{"sha", "abc1234"}}}});
    f.send("issue_comment", comment_payload("pangeo-forge/gpcp-feedstock", 7, 601, "/run " + recipe_id), "c-1");
    f.app->drain();
    BOOST_REQUIRE((f.orchestrator.recipe_run(id).recipe_run.status == model::RecipeRunStatus::queued));

    // The same run's next job ends with the same words: a new completion, not the first one again.
    BOOST_TEST(claim_and_submit(f, "job-2") == id);
    auto again = f.app->handle(callback(id, "failure"));
    BOOST_TEST(again.status == 202, again.body);
    BOOST_TEST((f.orchestrator.recipe_run(id).recipe_run.status == model::RecipeRunStatus::completed));
    // Sent twice, that one is one delivery still.
    BOOST_TEST(body_of(f.app->handle(callback(id, "failure")))["status"] == "duplicate");
}

PANGEO_FORGE_DATABASE_TEST(a_result_sent_while_run_queues_the_run_again_leaves_the_next_result_owed) {
    Fixture f(database);
    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f.app->drain();
    // Ended through the queue, not the callback (which wakes the App's own sweep).
    auto claim = f.orchestrator.claim(orchestrator::ClaimRequest{"pangeo-ldeo-nsf-earthcube", "w", std::chrono::seconds(60)});
    BOOST_REQUIRE(claim);
    const auto id = claim->run.recipe_run.id;
    orchestrator::Report success;
    success.attempt = claim->attempt;
    f.orchestrator.complete(id, success);
    // A sweep takes the result and is sending it when /run queues the run again.
    auto due = github::detail::reports_due(f.pool, 20, 50);
    BOOST_REQUIRE(due.size() == 1u);
    BOOST_REQUIRE(github::detail::take_report(f.pool, due.front()));
    github::detail::reopen_report(f.pool, id);
    github::detail::mark_reported(f.pool, due.front().id);  // the first result went out
    auto owed = github::detail::report_of(f.pool, id);
    BOOST_REQUIRE(owed);
    BOOST_TEST(!owed->reported_at);  // the next one is still owed
    BOOST_TEST(owed->attempts == 0);
    BOOST_TEST(owed->pull_request.value_or(0) == 7);
}

PANGEO_FORGE_DATABASE_TEST(a_failed_callback_sent_again_is_handled_by_its_request_not_left_for_the_sweep) {
    Fixture f(database);
    model::GithubDeliveryBase row;
    row.delivery_id = "callback-1";
    row.event = "dataflow";
    row.action = "completed";
    row.received_at = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    row.outcome = github::detail::outcome::handling;
    auto first = github::detail::record_delivery(f.pool, row);
    github::detail::finish_delivery(f.pool, first.delivery.id, github::detail::outcome::failed, "run not submitted");
    auto again = github::detail::record_delivery(f.pool, row);
    BOOST_TEST((again.recorded == github::detail::Recorded::retried));
    BOOST_TEST(again.delivery.outcome == github::detail::outcome::handling);
    BOOST_TEST(github::detail::pending_deliveries(f.pool, 10).empty());
}

BOOST_AUTO_TEST_CASE(expand_meta_output_before_its_completed_line_is_not_kept) {
    // 2000 lines of 64 kB (128 MB) before the listing: read as they come, not kept.
    const std::string command =
        "awk 'BEGIN { s = \"x\"; while (length(s) < 60000) s = s s; "
        "for (i = 0; i < 2000; i++) print \"{\\\"status\\\": \\\"progress\\\", \\\"message\\\": \\\"\" s \"\\\"}\"; "
        "print \"{\\\"status\\\": \\\"completed\\\", \\\"meta\\\": {\\\"recipes\\\": [{\\\"id\\\": \\\"r\\\"}], "
        "\\\"bakery\\\": {\\\"id\\\": \\\"b\\\"}}}\" }'";
    rusage before{};
    getrusage(RUSAGE_SELF, &before);
    auto listing = github::detail::list_recipes({command, "repo", "ref", "", std::chrono::minutes(2)}, {});
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    BOOST_TEST(listing.ok, listing.error);
    BOOST_TEST(listing.recipe_ids == std::vector<std::string>{"r"});
    BOOST_TEST(after.ru_maxrss - before.ru_maxrss < 40 * 1024, "peak grew by " << (after.ru_maxrss - before.ru_maxrss) << " kB");
}

PANGEO_FORGE_DATABASE_TEST(bytes_a_database_cannot_store_in_a_signed_delivery_are_answered_400) {
    Fixture f(database);
    // Percent-decoded, a form's action may hold a NUL or bytes that are not UTF-8.
    for (const std::string form : {"action=a%00b&recipe_run_id=1&conclusion=success",
                                   "action=a%ffb&recipe_run_id=1&conclusion=success"}) {
        auto answer = f.app->handle(hook("dataflow", form, "", "application/x-www-form-urlencoded"));
        BOOST_TEST(answer.status == 400, form << ": " << answer.status << " " << answer.body);
    }
    // A delivery id is GitHub's GUID: printable ASCII.
    auto payload = pull_request_payload("labeled", "pangeo-forge/gpcp-feedstock", 4, "a4").dump();
    for (const std::string& id : {std::string("d\xe9\xff"), std::string("d\x01")}) {
        auto answer = f.app->handle(hook("pull_request", payload, id));
        BOOST_TEST(answer.status == 400, answer.status << " " << answer.body);
    }
    BOOST_TEST(count(f.pool, "SELECT COUNT(*) FROM github_delivery") == 0);
}

PANGEO_FORGE_DATABASE_TEST(the_read_routes_pass_github_answers_through) {
    Fixture f(database);
    const std::int64_t repository_id = 500000;  // the stand-in numbers repositories from 500000, as first asked
    f.standin.set_deliveries(json::array({{{"id", 11}, {"event", "pull_request"}, {"repository_id", repository_id}},
                                          {{"id", 12}, {"event", "issue_comment"}, {"repository_id", 5}}}));
    auto get = [&](const std::string& target) { return f.app->handle(api::request_for("GET", target)); };
    auto all = get("/github/hooks/deliveries");
    BOOST_TEST(all.status == 200);
    BOOST_TEST(body_of(all).size() == 2u);
    auto mine = get("/feedstocks/" + std::to_string(f.feedstock) + "/deliveries");
    BOOST_TEST(mine.status == 200, mine.body);
    BOOST_TEST(body_of(mine).size() == 1u, mine.body);

    f.send("pull_request", pull_request_payload("opened", "pangeo-forge/gpcp-feedstock", 7, "abc1234"), "d-1");
    f.app->drain();
    auto checks = get("/feedstocks/" + std::to_string(f.feedstock) + "/commits/abc1234/check-runs");
    BOOST_TEST(checks.status == 200, checks.body);
    BOOST_TEST(body_of(checks)["total_count"] == 1);
    BOOST_TEST(get("/feedstocks/999999/deliveries").status == 404);
    BOOST_TEST(get("/feedstocks/1/commits/../../x/check-runs").status == 404);

    f.standin.fail_next("GET", "/app/hook/deliveries", 500, 5);
    auto away = get("/github/hooks/deliveries");
    BOOST_TEST(away.status == 502);
    BOOST_TEST(body_of(away)["detail"].get<std::string>().find("GitHub") != std::string::npos);
}
