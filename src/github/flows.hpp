#pragma once
// What the App does for each delivery, on its own threads: a pull request's test runs
// (expand-meta, the check run), a /run command, a merge (production runs with their
// deployments, or a new feedstock repository from staged-recipes), and the results of
// ended runs reported back (a comment, a deployment status).
//
// Each flow may be cut short (a stop, GitHub away) and run again on the same delivery: it
// creates nothing twice (a run of the same recipe at the same commit is reused, GitHub's
// "already exists" answers are taken as done).

#include <functional>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/github/app.hpp"
#include "pangeo_forge/github/rest.hpp"
#include "pangeo_forge/github/settings.hpp"
#include "pangeo_forge/model/github.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "github/events.hpp"

namespace pangeo_forge::github::detail {

struct Handled {
    std::string outcome;  // store.hpp's outcome::done, skipped or failed
    std::string detail;
};

// After this many failed tries, a result is no longer sent (the run's message says why).
inline constexpr std::int64_t max_report_attempts = 20;

class Flows {
public:
    Flows(orchestrator::Orchestrator& orchestrator, db::Database& database, Rest& rest, const AppSettings& settings,
          const AppOptions& options, std::function<void(const std::string&)> log);

    // A recorded delivery's event and payload. Throws on a failure (the delivery then fails).
    Handled handle(const std::string& event, const nlohmann::json& payload);

    // Sends GitHub the results of ended runs it has not taken yet. Never throws for one
    // run's failure: it is noted on the report and on the run's message, and tried again.
    void report_due();

private:
    Handled synchronize(const PullRequestEvent& event);
    Handled merged(const PullRequestEvent& event);
    Handled merged_staged_recipe(const PullRequestEvent& event, const std::vector<std::string>& files);
    Handled rerun(const IssueCommentEvent& event);
    void report(const model::GithubReport& report);

    std::vector<std::string> changed_files(const std::string& repository, std::int64_t number);
    std::vector<model::RecipeRun> create_runs(std::int64_t feedstock_id, std::int64_t bakery_id,
                                              const std::vector<std::string>& recipe_ids, const std::string& sha,
                                              bool is_test, const model::GithubReportBase& report);
    std::int64_t create_deployment(const std::string& repository, const model::RecipeRun& run);
    void note_on_run(std::int64_t recipe_run_id, const std::string& key, const nlohmann::json& value);
    std::string run_link(std::int64_t recipe_run_id) const;

    orchestrator::Orchestrator& orchestrator_;
    db::Database& database_;
    Rest& rest_;
    const AppSettings& settings_;
    const AppOptions& options_;
    std::function<void(const std::string&)> log_;
    // One report_due at a time in this process (the sweep's thread, drain()): a report is
    // taken in the database too (take_report), but a sweep that reads it after another took
    // it and before that one marked it reported would take it again.
    std::mutex reporting_;
};

}  // namespace pangeo_forge::github::detail
