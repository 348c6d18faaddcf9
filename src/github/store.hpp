#pragma once
// The App's rows: deliveries (github_delivery) and the reports it owes GitHub
// (github_report), and the lookups its flows make (a feedstock by spec, a bakery by name,
// the runs of a commit). Every write is one statement or one transaction, so that two
// threads (or two servers) handling the same delivery cannot both take it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/model/github.hpp"
#include "pangeo_forge/model/recipe_run.hpp"

namespace pangeo_forge::github::detail {

namespace outcome {
inline constexpr const char* pending = "pending";    // recorded, waiting for a thread
inline constexpr const char* handling = "handling";  // a thread has it
inline constexpr const char* done = "done";
inline constexpr const char* skipped = "skipped";
inline constexpr const char* failed = "failed";
}  // namespace outcome

enum class Recorded {
    fresh,      // a delivery id not seen before
    retried,    // seen, and its handling had failed: pending again (GitHub's "Redeliver")
    duplicate,  // seen and pending, handled or skipped: nothing to do
};

struct RecordedDelivery {
    Recorded recorded;
    model::GithubDelivery delivery;  // as stored after the call
};

// Stores `delivery` unless its delivery id is there already.
RecordedDelivery record_delivery(db::Database& database, const model::GithubDeliveryBase& delivery);

// Takes a pending delivery for the calling thread (outcome "handling", attempts + 1).
// Nothing when another took it first or it is no longer pending.
std::optional<model::GithubDelivery> take_delivery(db::Database& database, std::int64_t id);

// Its outcome and what was done; the payload is dropped (no longer needed).
void finish_delivery(db::Database& database, std::int64_t id, const std::string& outcome, const std::string& detail);

// The ids of pending deliveries, oldest first.
std::vector<std::int64_t> pending_deliveries(db::Database& database, std::int64_t limit);

// Deliveries left "handling" by a server that stopped: pending again. Returns how many.
std::int64_t release_abandoned_deliveries(db::Database& database);

// The delivery by GitHub's id, if recorded.
std::optional<model::GithubDelivery> delivery_by_guid(db::Database& database, const std::string& delivery_id);

// Notes that the App owes GitHub the result of a run (nothing if it is noted already).
void owe_report(db::Database& database, const model::GithubReportBase& report);

// A run that is completed and whose result GitHub has not taken yet, tried fewer than
// `max_attempts` times, oldest first.
std::vector<model::GithubReport> reports_due(db::Database& database, std::int64_t max_attempts, std::int64_t limit);

// Takes a due report for the calling thread: its attempts go from `seen` to seen + 1, unless
// another thread (or server) took it first, which makes this false. So a result is sent once
// however many sweeps run at the same moment.
bool take_report(db::Database& database, const model::GithubReport& report);
void mark_reported(db::Database& database, std::int64_t report_id);
void note_report_failure(db::Database& database, std::int64_t report_id, const std::string& error);
// The run is going again (/run): its next result is owed again, under a new report id (a
// sweep sending the last result marks the old one).
void reopen_report(db::Database& database, std::int64_t recipe_run_id);
std::optional<model::GithubReport> report_of(db::Database& database, std::int64_t recipe_run_id);

// The attempt of the run's last claim (dispatch.attempt), 0 when it was never claimed.
std::int64_t dispatch_attempt(db::Database& database, std::int64_t recipe_run_id);

// The ids of the feedstocks whose spec is `spec`, of the bakeries named `name`.
std::vector<std::int64_t> feedstocks_with_spec(db::Database& database, const std::string& spec);
std::vector<std::int64_t> bakeries_named(db::Database& database, const std::string& name);

// The runs of a feedstock at a commit for a recipe (test or production), oldest first.
std::vector<model::RecipeRun> runs_at_commit(db::Database& database, std::int64_t feedstock_id,
                                             const std::string& head_sha, const std::string& recipe_id, bool is_test);

}  // namespace pangeo_forge::github::detail
