#define BOOST_TEST_MODULE dispatch
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "support/migrations.hpp"
#include "support/query.hpp"
#include "support/scratch_database.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::model;
using namespace pangeo_forge::orchestrator;
using nlohmann::json;

using test::bundled;
using test::upgraded_to_head;

namespace {

// A database at head with two bakeries and a feedstock, and an orchestrator over it.
struct Fixture {
    explicit Fixture(const test::ScratchDatabase& scratch, DispatchPolicy policy = {}, std::size_t connections = 4)
        : pool(scratch.url(), db::PoolOptions{connections}),
          at_head(upgraded_to_head(pool)),
          orchestrator(pool, bundled(), policy) {
        bakery = orchestrator.create(decode<BakeryCreate>(json{{"region", "us-central1"}, {"name", "ldeo"}, {"description", "d"}})).id;
        other_bakery = orchestrator.create(decode<BakeryCreate>(json{{"region", "eu"}, {"name", "other"}, {"description", "d"}})).id;
        feedstock = orchestrator.create(decode<FeedstockCreate>(json{{"spec", "pangeo-forge/gpcp-feedstock"}})).id;
    }

    // A queued run started `day` days into 2021.
    std::int64_t queue(int day, std::int64_t in_bakery = 0) {
        char started[32];
        std::snprintf(started, sizeof started, "2021-01-%02dT00:00:00Z", day);
        return orchestrator
            .create(decode<RecipeRunCreate>(json{{"recipe_id", "gpcp"}, {"bakery_id", in_bakery ? in_bakery : bakery},
                                                 {"feedstock_id", feedstock}, {"head_sha", "abc123"}, {"version", "1.0"},
                                                 {"started_at", started}}))
            .id;
    }

    std::optional<Claim> claim(const std::string& worker = "w1", std::string bakery_name = "ldeo") {
        return orchestrator.claim(ClaimRequest{bakery_name, worker, std::chrono::seconds(60)});
    }

    // Moves a run's lease (and any job deadline) into the past, as if time went by.
    void let_lease_run_out(std::int64_t run) {
        auto lease = pool.acquire();
        db::run(*lease, "UPDATE dispatch SET lease_expires_at = '2000-01-01 00:00:00.000000' WHERE recipe_run_id = :id "
                        "AND lease_expires_at IS NOT NULL", {run});
        db::run(*lease, "UPDATE dispatch SET job_deadline = '2000-01-01 00:00:00.000000' WHERE recipe_run_id = :id "
                        "AND job_deadline IS NOT NULL", {run});
    }

    RecipeRun run(std::int64_t id) { return orchestrator.recipe_run(id).recipe_run; }

    db::Database pool;
    bool at_head;
    Orchestrator orchestrator;
    std::int64_t bakery = 0, other_bakery = 0, feedstock = 0;
};

Report success(std::int64_t attempt, std::string url = "s3://bucket/gpcp.zarr") {
    Report report;
    report.attempt = attempt;
    report.outcome = Outcome::success;
    report.dataset_public_url = std::move(url);
    report.dataset_type = DatasetType::zarr;
    return report;
}

Report outcome(std::optional<std::int64_t> attempt, Outcome what) {
    Report report;
    report.attempt = attempt;
    report.outcome = what;
    return report;
}

std::vector<std::string> problem_fields(const std::function<void()>& action) {
    try {
        action();
    } catch (const ValidationError& error) {
        std::vector<std::string> fields;
        for (const auto& problem : error.errors()) fields.push_back(problem.loc.back());
        return fields;
    }
    return {};
}

template <class Exception>
std::string message_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Exception& error) {
        return error.what();
    }
    return "(nothing thrown)";
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

PANGEO_FORGE_DATABASE_TEST(a_claim_takes_the_oldest_queued_run_of_its_bakery) {
    Fixture f(database);
    auto newer = f.queue(5);
    auto older = f.queue(2);
    f.queue(1, f.other_bakery);  // older still, but another bakery's

    auto first = f.claim();
    BOOST_REQUIRE(first);
    BOOST_TEST(first->run.recipe_run.id == older);
    BOOST_TEST(first->attempt == 1);
    BOOST_TEST((first->run.recipe_run.status == RecipeRunStatus::in_progress));
    BOOST_TEST(first->run.bakery.name == "ldeo");
    BOOST_TEST(first->run.feedstock.spec == "pangeo-forge/gpcp-feedstock");
    BOOST_TEST((first->lease_expires_at > std::chrono::system_clock::now() + std::chrono::seconds(50)));
    BOOST_TEST((f.run(older).status == RecipeRunStatus::in_progress));

    auto second = f.claim();
    BOOST_REQUIRE(second);
    BOOST_TEST(second->run.recipe_run.id == newer);
    BOOST_TEST(!f.claim());  // nothing queued in ldeo any more
}

PANGEO_FORGE_DATABASE_TEST(a_claim_names_what_is_wrong_with_it) {
    Fixture f(database);
    BOOST_TEST(contains(message_of<NotFound>([&] { f.claim("w1", "no-such-bakery"); }), "no bakery named 'no-such-bakery'"));
    BOOST_TEST(problem_fields([&] { f.orchestrator.claim({"ldeo", "", std::chrono::seconds(60)}); }) ==
               std::vector<std::string>{"worker"});
    BOOST_TEST(problem_fields([&] { f.orchestrator.claim({"ldeo", "w", std::chrono::seconds(0)}); }) ==
               std::vector<std::string>{"lease_seconds"});
    BOOST_TEST(problem_fields([&] { f.orchestrator.claim({"ldeo", "w", std::chrono::hours(25)}); }) ==
               std::vector<std::string>{"lease_seconds"});
}

PANGEO_FORGE_DATABASE_TEST(concurrent_claimers_take_every_run_exactly_once) {
    const int runs = 60, claimers = 6;
    Fixture f(database, {}, claimers);
    for (int i = 0; i < runs; ++i) f.queue(1 + i % 28);
    std::mutex mutex;
    std::multiset<std::int64_t> taken;
    std::vector<std::thread> threads;
    for (int c = 0; c < claimers; ++c) {
        threads.emplace_back([&, c] {
            while (auto claim = f.claim("w" + std::to_string(c))) {
                f.orchestrator.complete(claim->run.recipe_run.id, success(claim->attempt));
                std::lock_guard<std::mutex> lock(mutex);
                taken.insert(claim->run.recipe_run.id);
            }
        });
    }
    for (auto& thread : threads) thread.join();
    BOOST_TEST(taken.size() == static_cast<std::size_t>(runs));
    BOOST_TEST(std::set<std::int64_t>(taken.begin(), taken.end()).size() == static_cast<std::size_t>(runs));
    BOOST_TEST(f.orchestrator.count_datasets() == runs);
}

PANGEO_FORGE_DATABASE_TEST(a_heartbeat_extends_the_lease_of_its_attempt_only) {
    Fixture f(database);
    auto id = f.queue(1);
    auto claim = f.claim();
    auto beat = f.orchestrator.heartbeat(id, {1, std::chrono::seconds(600)});
    BOOST_TEST(!beat.cancelled);
    BOOST_TEST((beat.lease_expires_at > claim->lease_expires_at + std::chrono::seconds(500)));
    BOOST_TEST(contains(message_of<Conflict>([&] { f.orchestrator.heartbeat(id, {2, std::chrono::seconds(60)}); }),
                        "is on attempt 1 (w1), not 2: that attempt was never claimed"));
    BOOST_TEST(problem_fields([&] { f.orchestrator.heartbeat(id, {0, std::chrono::seconds(60)}); }) ==
               std::vector<std::string>{"attempt"});
    BOOST_TEST(contains(message_of<NotFound>([&] { f.orchestrator.heartbeat(id + 100, {1, std::chrono::seconds(60)}); }),
                        "RecipeRun not found"));
    auto never = f.queue(3);
    BOOST_TEST(contains(message_of<Conflict>([&] { f.orchestrator.heartbeat(never, {1, std::chrono::seconds(60)}); }),
                        "was never claimed"));
}

PANGEO_FORGE_DATABASE_TEST(a_success_completes_the_run_with_its_dataset_once) {
    Fixture f(database);
    auto id = f.queue(1);
    auto claim = f.claim();
    auto done = f.orchestrator.complete(id, success(claim->attempt));
    BOOST_TEST((done.status == RecipeRunStatus::completed));
    BOOST_TEST((done.conclusion == RecipeRunConclusion::success));
    BOOST_TEST(done.dataset_public_url.value_or("") == "s3://bucket/gpcp.zarr");
    BOOST_TEST((done.dataset_type == DatasetType::zarr));
    BOOST_TEST(done.completed_at.has_value());
    BOOST_TEST((f.run(id) == done));
    BOOST_TEST(contains(message_of<Conflict>([&] { f.orchestrator.complete(id, success(claim->attempt)); }),
                        "completed already (success)"));
    BOOST_TEST(contains(message_of<Conflict>([&] { f.orchestrator.heartbeat(id, {1, std::chrono::seconds(60)}); }),
                        "completed already"));
}

PANGEO_FORGE_DATABASE_TEST(a_failure_keeps_the_trace_in_the_message) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim();
    Report failed = outcome(1, Outcome::failure);
    failed.trace = "Traceback (most recent call last):\n  KeyError: 'time'";
    auto done = f.orchestrator.complete(id, failed);
    BOOST_TEST((done.conclusion == RecipeRunConclusion::failure));
    BOOST_TEST(json::parse(done.message.value())["trace"] == failed.trace.value());
}

PANGEO_FORGE_DATABASE_TEST(a_submitted_job_holds_the_run_until_its_own_report) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim();
    Report submitted = outcome(1, Outcome::submitted);
    submitted.job_name = "a6170692d70726f64%31";
    submitted.job_id = "2026-11-26_08_00_00-123";
    auto running = f.orchestrator.complete(id, submitted);
    BOOST_TEST((running.status == RecipeRunStatus::in_progress));
    auto message = json::parse(running.message.value());
    BOOST_TEST(message["job_id"] == "2026-11-26_08_00_00-123");
    BOOST_TEST(message["job_name"] == "a6170692d70726f64%31");
    // The lease no longer applies: a heartbeat does not bring it back, and the sweep leaves
    // the run alone while its job runs.
    auto beat = f.orchestrator.heartbeat(id, {1, std::chrono::seconds(1)});
    BOOST_TEST((beat.lease_expires_at > std::chrono::system_clock::now() + std::chrono::hours(47)));
    BOOST_TEST(f.orchestrator.expire_leases() == 0);
    // The job's callback knows no attempt.
    Report job_done = success(1);
    job_done.attempt.reset();
    auto done = f.orchestrator.complete(id, job_done);
    BOOST_TEST((done.conclusion == RecipeRunConclusion::success));
    BOOST_TEST(done.dataset_public_url.value_or("") == "s3://bucket/gpcp.zarr");
}

PANGEO_FORGE_DATABASE_TEST(only_a_submitted_jobs_end_may_leave_out_the_attempt) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim();
    BOOST_TEST(problem_fields([&] { f.orchestrator.complete(id, outcome(std::nullopt, Outcome::success)); }) ==
               std::vector<std::string>{"attempt"});
    BOOST_TEST(problem_fields([&] { f.orchestrator.complete(id, outcome(1, Outcome::submitted)); }) ==
               std::vector<std::string>{"job_name"});
    Report submitted = outcome(1, Outcome::submitted);
    submitted.job_id = "j1";
    f.orchestrator.complete(id, submitted);
    auto done = f.orchestrator.complete(id, outcome(std::nullopt, Outcome::failure));
    BOOST_TEST((done.conclusion == RecipeRunConclusion::failure));
    BOOST_TEST(json::parse(done.message.value())["job_id"] == "j1");
}

PANGEO_FORGE_DATABASE_TEST(an_expired_lease_requeues_the_run_and_fences_the_old_attempt) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim("dead-worker");
    f.let_lease_run_out(id);
    BOOST_TEST(f.orchestrator.expire_leases() == 1);
    BOOST_TEST((f.run(id).status == RecipeRunStatus::queued));
    // Queued again: the old attempt may not speak for it.
    BOOST_TEST(contains(message_of<Conflict>([&] { f.orchestrator.complete(id, success(1)); }), "queued again"));

    auto again = f.claim("live-worker");
    BOOST_REQUIRE(again);
    BOOST_TEST(again->run.recipe_run.id == id);
    BOOST_TEST(again->attempt == 2);
    // The dead worker's late report is refused and changes nothing.
    auto refused = message_of<Conflict>([&] { f.orchestrator.complete(id, success(1, "s3://stale")); });
    BOOST_TEST(contains(refused, "is on attempt 2 (live-worker), not 1: it was claimed again since"), refused);
    BOOST_TEST(contains(refused, "live-worker"), refused);
    BOOST_TEST((f.run(id).status == RecipeRunStatus::in_progress));
    auto done = f.orchestrator.complete(id, success(2));
    BOOST_TEST(done.dataset_public_url.value_or("") == "s3://bucket/gpcp.zarr");
}

PANGEO_FORGE_DATABASE_TEST(a_run_times_out_after_its_last_attempt) {
    Fixture f(database, DispatchPolicy{2});
    auto id = f.queue(1);
    for (int attempt = 1; attempt <= 2; ++attempt) {
        auto claim = f.claim();
        BOOST_REQUIRE(claim);
        BOOST_TEST(claim->attempt == attempt);
        f.let_lease_run_out(id);
        BOOST_TEST(f.orchestrator.expire_leases() == 1);
    }
    auto run = f.run(id);
    BOOST_TEST((run.status == RecipeRunStatus::completed));
    BOOST_TEST((run.conclusion == RecipeRunConclusion::timed_out));
    BOOST_TEST(contains(run.message.value_or(""), "the lease ran out 2 times (of 2 allowed), last on attempt 2"),
               run.message.value_or(""));
    BOOST_TEST(!f.claim());
}

PANGEO_FORGE_DATABASE_TEST(a_job_past_its_deadline_times_out) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim();
    Report submitted = outcome(1, Outcome::submitted);
    submitted.job_id = "j1";
    f.orchestrator.complete(id, submitted);
    f.let_lease_run_out(id);
    BOOST_TEST(f.orchestrator.expire_leases() == 1);
    auto run = f.run(id);
    BOOST_TEST((run.conclusion == RecipeRunConclusion::timed_out));
    BOOST_TEST(contains(run.message.value_or(""), "did not complete by its deadline"));
}

PANGEO_FORGE_DATABASE_TEST(a_cancelled_run_tells_its_worker_at_the_next_heartbeat) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim();
    RecipeRunUpdate cancel;
    cancel.conclusion = std::optional<RecipeRunConclusion>(RecipeRunConclusion::cancelled);
    f.orchestrator.update(id, cancel);
    BOOST_TEST(f.orchestrator.heartbeat(id, {1, std::chrono::seconds(60)}).cancelled);
    BOOST_TEST(contains(message_of<Conflict>([&] { f.orchestrator.complete(id, success(1)); }), "was cancelled"));
    BOOST_TEST((f.run(id).conclusion == RecipeRunConclusion::cancelled));
    BOOST_TEST(f.orchestrator.expire_leases() == 0);
}

PANGEO_FORGE_DATABASE_TEST(a_released_run_is_queued_again_for_the_next_attempt) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim("stopping");
    auto released = f.orchestrator.complete(id, outcome(1, Outcome::released));
    BOOST_TEST((released.status == RecipeRunStatus::queued));
    auto again = f.claim("other");
    BOOST_REQUIRE(again);
    BOOST_TEST(again->attempt == 2);
}

PANGEO_FORGE_DATABASE_TEST(a_claimed_run_can_be_deleted) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim();
    f.orchestrator.delete_recipe_run(id);
    BOOST_TEST(f.orchestrator.count_recipe_runs() == 0);
    auto lease = f.pool.acquire();
    BOOST_TEST(test::query_value(*lease, "SELECT COUNT(*) FROM dispatch") == "0");
}

PANGEO_FORGE_DATABASE_TEST(claims_sweep_expired_leases_when_due) {
    Fixture f(database, DispatchPolicy{3, std::chrono::milliseconds(0)});
    auto id = f.queue(1);
    f.claim("dead-worker");
    f.let_lease_run_out(id);
    auto again = f.claim("live-worker");  // sweeps first, then takes the run back
    BOOST_REQUIRE(again);
    BOOST_TEST(again->attempt == 2);
}

PANGEO_FORGE_DATABASE_TEST(the_lease_sweeper_takes_runs_back_on_its_own) {
    Fixture f(database);
    auto id = f.queue(1);
    f.claim();
    f.let_lease_run_out(id);
    {
        std::vector<std::string> errors;
        LeaseSweeper sweeper(f.orchestrator, std::chrono::milliseconds(20),
                             [&](const std::string& error) { errors.push_back(error); });
        for (int i = 0; i < 200 && f.run(id).status != RecipeRunStatus::queued; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        BOOST_TEST(errors.empty());
    }
    BOOST_TEST((f.run(id).status == RecipeRunStatus::queued));
}

BOOST_AUTO_TEST_CASE(a_policy_without_attempts_is_refused) {
    test::ScratchDatabase scratch(db::Backend::sqlite);
    db::Database pool(scratch.url());
    upgraded_to_head(pool);
    auto message = test::error_message([&] { Orchestrator(pool, bundled(), DispatchPolicy{0}); });
    BOOST_TEST(contains(message, "at least 1 attempt"), message);
}

PANGEO_FORGE_DATABASE_TEST(a_claim_sent_again_with_its_token_gets_the_same_run) {
    Fixture f(database);
    auto first_run = f.queue(1);
    auto second_run = f.queue(2);
    ClaimRequest request{"ldeo", "w1", std::chrono::seconds(60), "5f0c9a1e"};
    auto first = f.orchestrator.claim(request);
    BOOST_REQUIRE(first);
    request.lease = std::chrono::seconds(600);
    auto again = f.orchestrator.claim(request);  // the answer to the first was lost
    BOOST_REQUIRE(again);
    BOOST_TEST(again->run.recipe_run.id == first_run);
    BOOST_TEST(again->attempt == first->attempt);
    BOOST_TEST((again->lease_expires_at > first->lease_expires_at + std::chrono::seconds(500)));
    request.token = "another";
    auto next = f.orchestrator.claim(request);
    BOOST_REQUIRE(next);
    BOOST_TEST(next->run.recipe_run.id == second_run);
    // Once the run ended, its token claims nothing more.
    f.orchestrator.complete(first_run, success(1));
    request.token = "5f0c9a1e";
    BOOST_TEST(!f.orchestrator.claim(request));
    request.token = std::string(129, 'a');
    BOOST_TEST(problem_fields([&] { f.orchestrator.claim(request); }) == std::vector<std::string>{"token"});
}

PANGEO_FORGE_DATABASE_TEST(releases_do_not_count_against_the_attempts) {
    Fixture f(database, DispatchPolicy{2});
    auto id = f.queue(1);
    for (int attempt = 1; attempt <= 3; ++attempt) {
        auto claim = f.claim();
        BOOST_REQUIRE(claim);
        BOOST_TEST(claim->attempt == attempt);
        f.orchestrator.complete(id, outcome(attempt, Outcome::released));  // rolling restarts
    }
    f.claim();  // attempt 4
    f.let_lease_run_out(id);
    BOOST_TEST(f.orchestrator.expire_leases() == 1);
    BOOST_TEST((f.run(id).status == RecipeRunStatus::queued));  // the first lease that ran out
    f.claim();  // attempt 5
    f.let_lease_run_out(id);
    BOOST_TEST(f.orchestrator.expire_leases() == 1);
    BOOST_TEST((f.run(id).conclusion == RecipeRunConclusion::timed_out));
}
