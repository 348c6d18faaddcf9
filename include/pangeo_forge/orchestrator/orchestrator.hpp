#pragma once
// The orchestration logic of the Python service, over a database at head: create, read a
// page, read one with its relations, update what was sent, delete, for bakeries,
// feedstocks and recipe runs; the recipe-run lifecycle rules; the datasets of a feedstock
// and the stats counts. Errors are the library's: ValidationError (FastAPI's 422 shape,
// locations under "body" or "query"), NotFound, Conflict.
//
// It is also the dispatch queue (orchestrator/dispatch.hpp): claim, heartbeat, complete,
// and the sweep that takes back the runs whose lease ran out.
//
// Thread safety: one Orchestrator serves many threads at once (each call takes its own
// connection from the pool); it holds a Database&, which must outlive it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/migrate/graph.hpp"
#include "pangeo_forge/model/relations.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"

namespace pangeo_forge::orchestrator {

enum class SortOrder { asc, desc };

// "asc" or "desc"; anything else is a ValidationError on ["query", "sort"].
SortOrder parse_sort_order(const std::string& text);

// A page of a collection: GET /bakeries/?offset=0&limit=100&order_by=id&sort=asc.
struct Page {
    std::int64_t offset = 0;
    std::int64_t limit = 100;  // 1 to 100
    std::string order_by = "id";
    SortOrder sort = SortOrder::asc;
};

enum class DatasetFilter { all, production, test };

// "all", "production" or "test"; anything else is a ValidationError at `loc` (the API's
// ["query", "type"] by default) listing the three.
DatasetFilter parse_dataset_filter(const std::string& text,
                                   std::vector<std::string> loc = {"query", "type"});

// A recipe run's dataset, as GET /feedstocks/{id}/datasets lists it (model/recipe_run.hpp).
using Dataset = model::Dataset;

// How the queue treats runs whose worker went away.
struct DispatchPolicy {
    // A run whose lease ran out goes back to the queue until it has had this many
    // attempts; then it is completed / timed_out. At least 1.
    std::int64_t max_attempts = default_max_attempts;
    // claim() first takes back expired leases, at most this often (the sweep is a
    // write: doing it on every claim would cost every claim a statement).
    std::chrono::milliseconds sweep_interval{1000};
};

class Orchestrator : public Queue {
public:
    // Refuses (MigrationError) a database that is not at the head of `migrations`, and
    // (ConfigError) a policy with max_attempts below 1.
    Orchestrator(db::Database& database, const migrate::RevisionGraph& migrations, DispatchPolicy policy = {});

    // A name another bakery has is a Conflict: bakery names are unique.
    model::Bakery create(const model::BakeryCreate& bakery);
    model::Feedstock create(const model::FeedstockCreate& feedstock);
    // Applies the lifecycle rules; a bakery or feedstock that does not exist is a
    // ValidationError on its id field.
    model::RecipeRun create(const model::RecipeRunCreate& run);

    std::vector<model::Bakery> bakeries(const Page& page = {});
    std::vector<model::Feedstock> feedstocks(const Page& page = {});
    std::vector<model::RecipeRun> recipe_runs(const Page& page = {});

    // NotFound ("Bakery not found") when there is no such row.
    model::BakeryWithRecipeRuns bakery(std::int64_t id);
    model::FeedstockWithRecipeRuns feedstock(std::int64_t id);
    model::RecipeRunWithRelations recipe_run(std::int64_t id);

    model::Bakery update(std::int64_t id, const model::BakeryUpdate& update);
    model::Feedstock update(std::int64_t id, const model::FeedstockUpdate& update);
    model::RecipeRun update(std::int64_t id, const model::RecipeRunUpdate& update);

    // A bakery or feedstock that recipe runs still use is a Conflict.
    void delete_bakery(std::int64_t id);
    void delete_feedstock(std::int64_t id);
    void delete_recipe_run(std::int64_t id);

    // The completed, successful runs of a feedstock that have a dataset URL.
    std::vector<Dataset> datasets(std::int64_t feedstock_id, DatasetFilter filter = DatasetFilter::all);

    std::int64_t count_bakeries();
    std::int64_t count_feedstocks();
    std::int64_t count_recipe_runs();
    // Runs with a dataset URL; with exclude_test_runs, only completed, successful, non-test ones.
    std::int64_t count_datasets(bool exclude_test_runs = false);

    // --- the dispatch queue (dispatch.hpp) ---
    std::optional<Claim> claim(const ClaimRequest& request) override;
    Heartbeat heartbeat(std::int64_t recipe_run_id, const HeartbeatRequest& request) override;
    model::RecipeRun complete(std::int64_t recipe_run_id, const Report& report) override;
    // Takes back the runs whose lease ran out: queued again (their next claim is the next
    // attempt), or completed / timed_out after max_attempts; and times out the submitted
    // jobs past their deadline. Returns how many runs it changed. claim() calls it (at most
    // every sweep_interval); LeaseSweeper calls it on a timer.
    std::int64_t expire_leases();

private:
    void sweep_if_due();

    db::Database& database_;
    DispatchPolicy policy_;
    std::atomic<std::int64_t> last_sweep_ms_{0};
};

// Calls orchestrator.expire_leases() every `interval` on a thread of its own, from
// construction until destruction, so that runs of a dead worker come back even when no
// worker claims (`serve` keeps one). A sweep that throws (the database is away) is
// reported to `on_error` and tried again at the next tick.
class LeaseSweeper {
public:
    LeaseSweeper(Orchestrator& orchestrator, std::chrono::milliseconds interval,
                 std::function<void(const std::string&)> on_error = {});
    ~LeaseSweeper();
    LeaseSweeper(const LeaseSweeper&) = delete;
    LeaseSweeper& operator=(const LeaseSweeper&) = delete;

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

// The recipe-run rules the Python service left as TODO, applied to a run about to be
// written: a conclusion completes the run (as GitHub's check runs do); a completed run
// needs a conclusion; completed_at is set (to `now`) when a run completes without one,
// cleared when a run is reopened (unless sent), and is not before started_at; clients may
// not set the conclusion "stale". Throws ValidationError with the field's location under "body".
void apply_lifecycle(model::RecipeRunBase& run, bool conclusion_sent, bool completed_at_sent, model::Timestamp now);

}  // namespace pangeo_forge::orchestrator
