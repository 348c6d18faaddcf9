// The App's flows, each a short sequence of GitHub calls around the orchestrator's writes.
// GitHub's routes as its REST documentation names them (check runs, issue comments,
// reactions, deployments, contents, git refs, pulls).

#include "github/flows.hpp"

#include <date/date.h>

#include <algorithm>

#include "github/expand_meta.hpp"
#include "github/store.hpp"
#include "orchestrator/storage.hpp"
#include "support/text.hpp"

namespace pangeo_forge::github::detail {
namespace {

using nlohmann::json;

std::string github_time(std::chrono::system_clock::time_point at) {
    return date::format("%Y-%m-%dT%H:%M:%SZ", date::floor<std::chrono::seconds>(at));
}

std::string short_sha(const std::string& sha) { return sha.substr(0, 7); }

// A file path as a URL path: each segment percent-encoded, the slashes kept.
std::string url_path(const std::string& path) { return pangeo_forge::detail::percent_encoded(path, "/"); }

// GitHub's 422 "already exists" (a repository, a ref, a file, a pull request) on a flow run again.
bool already_there(const GitHubError& error) { return error.status() == 422; }

std::string runs_list(const std::vector<model::RecipeRun>& runs) {
    std::string text;
    for (const auto& run : runs) text += (text.empty() ? "" : ", ") + std::to_string(run.id);
    return text;
}

std::string last_lines(const std::string& text, std::size_t lines) {
    std::size_t at = text.size();
    for (std::size_t n = 0; n <= lines && at != std::string::npos && at > 0; ++n) at = text.rfind('\n', at - 1);
    return at == std::string::npos || at == 0 ? text : text.substr(at + 1);
}

}  // namespace

Flows::Flows(orchestrator::Orchestrator& orchestrator, db::Database& database, Rest& rest, const AppSettings& settings,
             const AppOptions& options, std::function<void(const std::string&)> log)
    : orchestrator_(orchestrator),
      database_(database),
      rest_(rest),
      settings_(settings),
      options_(options),
      log_(std::move(log)) {}

Handled Flows::handle(const std::string& event, const json& payload) {
    if (event == "pull_request") {
        auto pull_request = read_pull_request(payload);
        if (auto reason = skip_reason(pull_request)) return {outcome::skipped, *reason};
        return pull_request.action == "closed" ? merged(pull_request) : synchronize(pull_request);
    }
    if (event == "issue_comment") return rerun(read_issue_comment(payload));
    return {outcome::skipped, "event " + event + " is not handled on the App's threads"};
}

std::string Flows::run_link(std::int64_t recipe_run_id) const {
    return options_.dashboard_url + "/recipe-run/" + std::to_string(recipe_run_id);
}

std::vector<std::string> Flows::changed_files(const std::string& repository, std::int64_t number) {
    std::vector<std::string> files;
    for (const auto& file :
         rest_.get_all(repository, "/repos/" + repository + "/pulls/" + std::to_string(number) + "/files")) {
        if (file.is_object() && file.contains("filename") && file["filename"].is_string()) {
            files.push_back(file["filename"].get<std::string>());
        }
    }
    return files;
}

std::vector<model::RecipeRun> Flows::create_runs(std::int64_t feedstock_id, std::int64_t bakery_id,
                                                 const std::vector<std::string>& recipe_ids, const std::string& sha,
                                                 bool is_test, const model::GithubReportBase& report) {
    std::vector<model::RecipeRun> runs;
    for (const auto& recipe_id : recipe_ids) {
        // A delivery handled again (a stop cut it short) finds the run it made before.
        auto existing = runs_at_commit(database_, feedstock_id, sha, recipe_id, is_test);
        model::RecipeRun run;
        if (!existing.empty()) {
            run = existing.back();
        } else {
            model::RecipeRunCreate create;
            create.recipe_id = recipe_id;
            create.bakery_id = bakery_id;
            create.feedstock_id = feedstock_id;
            create.head_sha = sha;
            create.version = "";
            create.started_at = orchestrator::storage::now();
            create.is_test = is_test;
            create.dataset_type = model::DatasetType::zarr;
            run = orchestrator_.create(create);
        }
        auto owed = report;
        owed.recipe_run_id = run.id;
        owe_report(database_, owed);
        runs.push_back(std::move(run));
    }
    return runs;
}

Handled Flows::synchronize(const PullRequestEvent& event) {
    const std::string checks = "/repos/" + event.repository + "/check-runs";
    json check_run = rest_.post(event.repository, checks,
                                {{"name", "synchronize"},
                                 {"head_sha", event.head_sha},
                                 {"status", "in_progress"},
                                 {"started_at", github_time(std::chrono::system_clock::now())},
                                 {"details_url", options_.dashboard_url},
                                 {"output", {{"title", "Listing the recipes at " + short_sha(event.head_sha)}, {"summary", ""}}}});
    const std::string check_run_path = checks + "/" + std::to_string(check_run.value("id", std::int64_t{0}));
    auto conclude = [&](const std::string& conclusion, const std::string& title, const std::string& summary) {
        rest_.patch(event.repository, check_run_path,
                    {{"status", "completed"},
                     {"conclusion", conclusion},
                     {"completed_at", github_time(std::chrono::system_clock::now())},
                     {"output", {{"title", title}, {"summary", summary}}}});
    };
    auto fail = [&](const std::string& title, const std::string& summary) {
        conclude("failure", title, summary);
        return Handled{outcome::failed, title + ": " + summary};
    };

    std::string subdir;
    if (event.repository_name == staged_recipes) {
        auto directory = single_recipe_directory(changed_files(event.repository, event.number));
        if (!directory) {
            return fail("The pull request is not one recipe",
                        "A pull request to staged-recipes adds one recipe: every changed file under recipes/<name>/, "
                        "for one name.");
        }
        subdir = "recipes/" + *directory;
    }
    auto listing = list_recipes({settings_.expand_meta_command, event.repository_url, event.head_sha, subdir,
                                 options_.expand_meta_timeout},
                                log_);
    if (!listing.ok) return fail("The recipes could not be listed", listing.error);

    auto feedstocks = feedstocks_with_spec(database_, event.repository);
    auto bakeries = bakeries_named(database_, listing.bakery);
    if (feedstocks.size() != 1 || bakeries.size() != 1) {
        auto count = [](std::size_t n) { return n == 0 ? std::string("none") : std::to_string(n); };
        return fail("Feedstock or bakery not in the database",
                    "A maintainer must record exactly one of each:\n- feedstock `" + event.repository + "`: " +
                        count(feedstocks.size()) + " found\n- bakery `" + listing.bakery + "`: " +
                        count(bakeries.size()) + " found");
    }
    model::GithubReportBase report;
    report.repository = event.repository;
    report.pull_request = event.number;
    auto runs = create_runs(feedstocks.front(), bakeries.front(), listing.recipe_ids, event.head_sha, true, report);
    std::string summary = "Test runs queued at commit `" + event.head_sha + "`:";
    for (const auto& run : runs) summary += "\n- `" + run.recipe_id + "`: " + run_link(run.id);
    try {
        conclude("success", "Test runs queued for the latest commit", summary);
    } catch (const Error& error) {
        for (const auto& run : runs) note_on_run(run.id, "github_error", std::string("check run: ") + error.what());
        throw;
    }
    return {outcome::done, std::to_string(runs.size()) + " test runs (" + runs_list(runs) + ")"};
}

Handled Flows::merged(const PullRequestEvent& event) {
    auto files = changed_files(event.repository, event.number);
    if (event.repository_name == staged_recipes) return merged_staged_recipe(event, files);
    if (!all_under_feedstock(files)) {
        return {outcome::skipped, "the merge changes files outside feedstock/: no production run"};
    }
    auto listing = list_recipes({settings_.expand_meta_command, event.repository_url, event.merge_commit_sha, "",
                                 options_.expand_meta_timeout},
                                log_);
    if (!listing.ok) return {outcome::failed, listing.error};
    auto feedstocks = feedstocks_with_spec(database_, event.repository);
    auto bakeries = bakeries_named(database_, listing.bakery);
    if (feedstocks.size() != 1 || bakeries.size() != 1) {
        return {outcome::failed, "need exactly one feedstock " + event.repository + " (found " +
                                     std::to_string(feedstocks.size()) + ") and one bakery " + listing.bakery +
                                     " (found " + std::to_string(bakeries.size()) + ") in the database"};
    }
    model::GithubReportBase report;
    report.repository = event.repository;
    auto runs = create_runs(feedstocks.front(), bakeries.front(), listing.recipe_ids, event.merge_commit_sha, false, report);
    std::string failures;
    for (const auto& run : runs) {
        auto owed = report_of(database_, run.id);
        if (owed && owed->deployment_id) continue;
        try {
            create_deployment(event.repository, run);
        } catch (const Error& error) {
            // The run goes ahead; its deployment is made when its result is reported.
            note_on_run(run.id, "github_error", std::string("deployment: ") + error.what());
            failures += std::string(failures.empty() ? "" : "; ") + error.what();
        }
    }
    return {outcome::done, std::to_string(runs.size()) + " production runs (" + runs_list(runs) + ")" +
                               (failures.empty() ? "" : ", deployments failed: " + failures)};
}

std::int64_t Flows::create_deployment(const std::string& repository, const model::RecipeRun& run) {
    json deployment = rest_.post(repository, "/repos/" + repository + "/deployments",
                                 {{"ref", run.head_sha},
                                  {"environment", options_.environment},
                                  {"description", "recipe " + run.recipe_id + ", run " + std::to_string(run.id)},
                                  {"auto_merge", false},
                                  {"required_contexts", json::array()},
                                  {"payload", {{"recipe_run_id", run.id}}}});
    auto id = deployment.value("id", std::int64_t{0});
    auto lease = database_.acquire();
    db::run(*lease, "UPDATE github_report SET deployment_id = :d WHERE recipe_run_id = :r", {id, run.id});
    note_on_run(run.id, "deployment_id", id);
    return id;
}

Handled Flows::merged_staged_recipe(const PullRequestEvent& event, const std::vector<std::string>& files) {
    auto name = single_recipe_directory(files);
    if (!name) return {outcome::skipped, "the merge changes files outside one recipes/<name>/: no feedstock made"};
    const std::string feedstock = event.owner + "/" + *name + std::string(feedstock_suffix);
    const std::string prefix = "recipes/" + *name + "/";

    try {
        rest_.post(event.repository, "/orgs/" + event.owner + "/repos",
                   {{"name", *name + std::string(feedstock_suffix)},
                    {"description", "Pangeo Forge feedstock for " + *name},
                    {"auto_init", false}});
    } catch (const GitHubError& error) {
        if (!already_there(error)) throw;
    }
    // The recipe's files, as merged, into the new repository's feedstock/.
    std::vector<std::pair<std::string, std::string>> moved;  // path in staged-recipes, its blob sha
    for (const auto& path : files) {
        json file;
        try {
            file = rest_.get(event.repository,
                             "/repos/" + event.repository + "/contents/" + url_path(path) + "?ref=" + event.merge_commit_sha);
        } catch (const GitHubError& error) {
            if (error.status() == 404) continue;  // the pull request removed it
            throw;
        }
        if (!file.is_object() || !file.contains("content")) continue;
        std::string content = file.value("content", std::string());
        content.erase(std::remove(content.begin(), content.end(), '\n'), content.end());
        try {
            rest_.put(feedstock, "/repos/" + feedstock + "/contents/feedstock/" + url_path(path.substr(prefix.size())),
                      {{"message", "Add " + path.substr(prefix.size()) + " from " + event.repository + "#" +
                                       std::to_string(event.number)},
                       {"content", content}});
        } catch (const GitHubError& error) {
            if (!already_there(error)) throw;
        }
        moved.emplace_back(path, file.value("sha", std::string()));
    }
    std::int64_t feedstock_id = 0;
    if (auto found = feedstocks_with_spec(database_, feedstock); !found.empty()) {
        feedstock_id = found.front();
    } else {
        model::FeedstockCreate create;
        create.spec = feedstock;
        feedstock_id = orchestrator_.create(create).id;
    }
    // The cleanup pull request: the recipe leaves staged-recipes, now that it has a home.
    const std::string base = event.base_ref.empty() ? "main" : event.base_ref;
    const std::string branch = "cleanup/" + *name;
    json head = rest_.get(event.repository, "/repos/" + event.repository + "/git/ref/heads/" + url_path(base));
    try {
        rest_.post(event.repository, "/repos/" + event.repository + "/git/refs",
                   {{"ref", "refs/heads/" + branch}, {"sha", head.value("object", json::object()).value("sha", "")}});
    } catch (const GitHubError& error) {
        if (!already_there(error)) throw;
    }
    for (const auto& [path, sha] : moved) {
        try {
            rest_.del(event.repository, "/repos/" + event.repository + "/contents/" + url_path(path),
                      {{"message", "Remove " + path + ": it moved to " + feedstock}, {"sha", sha}, {"branch", branch}});
        } catch (const GitHubError& error) {
            if (error.status() != 404 && error.status() != 422) throw;  // removed already
        }
    }
    std::string cleanup = "an open one";
    try {
        json pull = rest_.post(event.repository, "/repos/" + event.repository + "/pulls",
                               {{"title", "Cleanup: " + feedstock},
                                {"head", branch},
                                {"base", base},
                                {"body", "The recipe `" + *name + "` now lives in https://github.com/" + feedstock +
                                             ": this removes it from " + event.repository + "."}});
        cleanup = "#" + std::to_string(pull.value("number", std::int64_t{0}));
    } catch (const GitHubError& error) {
        if (!already_there(error)) throw;
    }
    return {outcome::done, "feedstock " + feedstock + " (id " + std::to_string(feedstock_id) + ") with " +
                               std::to_string(moved.size()) + " files; cleanup pull request " + cleanup};
}

Handled Flows::rerun(const IssueCommentEvent& event) {
    auto command = read_slash_command(event.body);
    if (!command || command->name != "/run" || command->arguments.size() != 1) {
        return {outcome::skipped, "not a /run <recipe_id> command"};
    }
    const std::string& recipe_id = command->arguments.front();
    const std::string reactions =
        "/repos/" + event.repository + "/issues/comments/" + std::to_string(event.comment_id) + "/reactions";
    auto react = [&](const char* content) { rest_.post(event.repository, reactions, {{"content", content}}); };
    react("eyes");
    auto failed = [&](const std::string& why) {
        react("confused");
        return Handled{outcome::failed, why};
    };
    try {
        json pull = rest_.get(event.repository,
                              "/repos/" + event.repository + "/pulls/" + std::to_string(event.issue_number));
        const std::string head_sha = pull.value("head", json::object()).value("sha", "");
        auto feedstocks = feedstocks_with_spec(database_, event.repository);
        if (feedstocks.size() != 1) return failed("the feedstock " + event.repository + " is not in the database");
        auto runs = runs_at_commit(database_, feedstocks.front(), head_sha, recipe_id, true);
        if (runs.empty()) {
            return failed("no test run of recipe " + recipe_id + " at " + head_sha + ": is the recipe id right?");
        }
        const auto& run = runs.back();
        if (run.status == model::RecipeRunStatus::in_progress) {
            return failed("test run " + std::to_string(run.id) + " of " + recipe_id + " is in progress");
        }
        model::RecipeRunUpdate update;
        update.status = model::RecipeRunStatus::queued;
        update.conclusion = std::optional<model::RecipeRunConclusion>();
        update.completed_at = std::optional<model::Timestamp>();
        update.dataset_public_url = std::optional<std::string>();
        orchestrator_.update(run.id, update);
        reopen_report(database_, run.id);
        react("rocket");
        return {outcome::done, "test run " + std::to_string(run.id) + " of " + recipe_id + " queued again"};
    } catch (const Error&) {
        try {
            react("confused");
        } catch (const Error&) {
            // GitHub is away: the delivery's outcome says what failed.
        }
        throw;
    }
}

void Flows::note_on_run(std::int64_t recipe_run_id, const std::string& key, const json& value) {
    try {
        auto run = orchestrator_.recipe_run(recipe_run_id).recipe_run;
        json message = model::message_object(run);
        message[key] = value;
        model::RecipeRunUpdate update;
        update.message = std::optional<std::string>(message.dump(-1, ' ', false, json::error_handler_t::replace));
        orchestrator_.update(recipe_run_id, update);
    } catch (const std::exception& error) {
        if (log_) log_("cannot note " + key + " on recipe run " + std::to_string(recipe_run_id) + ": " + error.what());
    }
}

void Flows::report_due() {
    std::lock_guard one_at_a_time(reporting_);
    for (const auto& owed : reports_due(database_, max_report_attempts, 50)) {
        if (!take_report(database_, owed)) continue;  // another sweep has it
        try {
            report(owed);
            mark_reported(database_, owed.id);
        } catch (const std::exception& error) {
            note_report_failure(database_, owed.id, error.what());
            const bool last = owed.attempts + 1 >= max_report_attempts;
            note_on_run(owed.recipe_run_id, "github_error",
                        std::string(last ? "the result was not reported to GitHub after " +
                                               std::to_string(max_report_attempts) + " tries: "
                                         : "reporting the result to GitHub: ") +
                            error.what());
            if (log_) log_("report of recipe run " + std::to_string(owed.recipe_run_id) + " failed: " + error.what());
        }
    }
}

void Flows::report(const model::GithubReport& owed) {
    const auto run = orchestrator_.recipe_run(owed.recipe_run_id).recipe_run;
    const std::string conclusion = run.conclusion ? std::string(model::to_string(*run.conclusion)) : "unknown";
    const bool success = run.conclusion == model::RecipeRunConclusion::success;
    if (owed.pull_request) {
        std::string body;
        if (success) {
            const std::string url = run.dataset_public_url.value_or("");
            body = ":tada: The test run of `" + run.recipe_id + "` at " + run.head_sha + " succeeded!\n\n" +
                   (url.empty() ? std::string("Its bakery gave no dataset URL.\n")
                                : "Its dataset: " + url + "\n\nTo open it:\n```python\nimport xarray as xr\n"
                                                          "ds = xr.open_dataset(\"" + url +
                                      "\", engine=\"zarr\", chunks={})\n```\n") +
                   "\nRecipe run: " + run_link(run.id);
        } else {
            body = ":confused: The test run of `" + run.recipe_id + "` at " + run.head_sha + " ended: " + conclusion +
                   ".\n";
            auto message = model::message_object(run);
            if (message.contains("trace") && message["trace"].is_string()) {
                body += "\n```\n" + last_lines(message["trace"].get<std::string>(), 30) + "\n```\n";
            }
            body += "\nRecipe run: " + run_link(run.id) + "\n\nTo run it again, comment `/run " + run.recipe_id + "`.";
        }
        rest_.post(owed.repository,
                   "/repos/" + owed.repository + "/issues/" + std::to_string(*owed.pull_request) + "/comments",
                   {{"body", body}});
        return;
    }
    const std::int64_t deployment = owed.deployment_id ? *owed.deployment_id : create_deployment(owed.repository, run);
    json status = {{"state", success ? "success" : conclusion == "failure" ? "failure" : "error"},
                   {"description", "recipe " + run.recipe_id + ": " + conclusion},
                   {"log_url", run_link(run.id)}};
    if (success && run.dataset_public_url) status["environment_url"] = *run.dataset_public_url;
    rest_.post(owed.repository, "/repos/" + owed.repository + "/deployments/" + std::to_string(deployment) + "/statuses",
               status);
}

}  // namespace pangeo_forge::github::detail
