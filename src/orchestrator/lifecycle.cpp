#include "pangeo_forge/orchestrator/orchestrator.hpp"

#include "support/json_reader.hpp"

namespace pangeo_forge::orchestrator {

using model::RecipeRunConclusion;
using model::RecipeRunStatus;

void apply_lifecycle(model::RecipeRunBase& run, bool conclusion_sent, bool completed_at_sent, model::Timestamp now) {
    detail::ErrorList errors;
    auto problem = [&](const char* field, std::string message, const char* type) {
        errors.add({"body", field}, detail::Problem{std::move(message), type, {}});
    };
    if (conclusion_sent && run.conclusion == RecipeRunConclusion::stale) {
        problem("conclusion", "the conclusion 'stale' is pangeo_forge's to set, not a client's", "value_error.conclusion");
    }
    // As with GitHub's check runs, sending a conclusion completes the run.
    if (conclusion_sent && run.conclusion) run.status = RecipeRunStatus::completed;
    if (run.status == RecipeRunStatus::completed && !run.conclusion) {
        problem("status", "a completed run needs a conclusion: send one with it (success, failure, ...)",
                "value_error.status");
    }
    if (run.status != RecipeRunStatus::completed && run.conclusion) {
        problem("status", "a run with a conclusion is completed: to reopen it, send \"conclusion\": null as well",
                "value_error.status");
    }
    if (run.status == RecipeRunStatus::completed && !run.completed_at) run.completed_at = now;
    // A reopened run is not complete: its old completion time goes, unless the client sent one.
    if (run.status != RecipeRunStatus::completed && !completed_at_sent) run.completed_at.reset();
    if (run.completed_at && *run.completed_at < run.started_at) {
        problem("completed_at", "completed_at is before started_at", "value_error.completed_at");
    }
    errors.throw_if_any();
}

}  // namespace pangeo_forge::orchestrator
