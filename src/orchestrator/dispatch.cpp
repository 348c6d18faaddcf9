// The dispatch queue of the Orchestrator: claim, heartbeat, complete, and the sweep of
// expired leases. A run's state is its reciperun row (status, conclusion, message, the
// dataset) plus its dispatch row (worker, attempt, lease, job), written together in one
// transaction that holds both rows.

#include "orchestrator/report_rules.hpp"
#include "orchestrator/storage.hpp"
#include "pangeo_forge/model/dispatch.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"

namespace pangeo_forge::orchestrator {
namespace {

using namespace storage;
using model::Dispatch;
using model::RecipeRun;
using model::RecipeRunConclusion;
using model::RecipeRunStatus;

[[noreturn]] void invalid(const char* field, std::string message, const char* type) {
    throw ValidationError({FieldError{{"body", field}, std::move(message), type, {}}});
}

void check_lease(std::chrono::seconds lease) {
    if (lease.count() < 1 || lease > max_lease) {
        invalid("lease_seconds",
                "the lease is " + std::to_string(lease.count()) + " s: give 1 to " + std::to_string(max_lease.count()),
                lease.count() < 1 ? "value_error.number.not_ge" : "value_error.number.not_le");
    }
}

void check_attempt(std::int64_t attempt) {
    if (attempt < 1) {
        invalid("attempt", "the attempt is " + std::to_string(attempt) + ": send the attempt of the claim (1 or more)",
                "value_error.number.not_ge");
    }
}

// The transaction's view of one dispatched run: both rows, locked where the backend locks
// rows, until the transaction ends.
struct DispatchedRun {
    RecipeRun run;
    Dispatch dispatch;
};

DispatchedRun lock_dispatched(Connection& connection, std::int64_t id) {
    auto run = read_one<RecipeRun>(connection, id, true);
    static const std::string sql = "SELECT " + select_list<Dispatch>() + " FROM dispatch WHERE recipe_run_id = :id";
    auto rows = read_all<Dispatch>(connection, sql + std::string(connection.dialect().row_lock_clause()), {id});
    if (rows.empty()) {
        throw Conflict("recipe run " + std::to_string(id) +
                       " was never claimed: a worker reports only on a run it claimed (POST /recipe_runs/claim)");
    }
    return {std::move(run), std::move(rows.front())};
}

std::string run_name(const RecipeRun& run) { return "recipe run " + std::to_string(run.id); }

// The fencing rule: only the attempt that holds the run may speak for it. Throws Conflict
// telling the worker to stop; a run cancelled by a client is left to the caller.
void fence(const DispatchedRun& held, std::int64_t attempt) {
    const auto& run = held.run;
    if (held.dispatch.attempt != attempt) {
        throw Conflict(run_name(run) + " is on attempt " + std::to_string(held.dispatch.attempt) + " (" +
                       held.dispatch.worker + "), not " + std::to_string(attempt) +
                       (attempt < held.dispatch.attempt ? ": it was claimed again since; stop working on it"
                                                        : ": that attempt was never claimed"));
    }
    if (run.status == RecipeRunStatus::queued) {
        throw Conflict(run_name(run) + " is queued again (attempt " + std::to_string(attempt) +
                       "'s lease ran out, or it was released or set back to queued); stop working on it");
    }
}

bool cancelled(const RecipeRun& run) {
    return run.status == RecipeRunStatus::completed && run.conclusion == RecipeRunConclusion::cancelled;
}

[[noreturn]] void ended_already(const RecipeRun& run) {
    if (cancelled(run)) throw Conflict(run_name(run) + " was cancelled: stop working on it, there is nothing to report");
    throw Conflict(run_name(run) + " is completed already (" +
                   std::string(model::to_string(run.conclusion.value_or(RecipeRunConclusion::neutral))) +
                   "): a run is completed once");
}

// The keys of a run's message that the queue writes; the others (the GitHub App's
// deployment_id, github_error) are someone else's and kept.
constexpr const char* message_job_name = "job_name";
constexpr const char* message_job_id = "job_id";
constexpr const char* message_trace = "trace";
constexpr const char* message_dataset_url = "dataset_public_url";  // a submitted job's, until it ends

// What the run's message says of its job and of why it failed or timed out: JSON, as the
// Python service's callbacks wrote it, with the keys others wrote kept.
std::string run_message(const RecipeRun& run, const Dispatch& dispatch, const std::optional<std::string>& trace,
                        const std::optional<std::string>& dataset_url = std::nullopt) {
    nlohmann::json message = model::message_object(run);
    for (const char* key : {message_job_name, message_job_id, message_trace, message_dataset_url}) message.erase(key);
    if (dispatch.job_name) message[message_job_name] = *dispatch.job_name;
    if (dispatch.job_id) message[message_job_id] = *dispatch.job_id;
    if (trace) message[message_trace] = *trace;
    if (dataset_url) message[message_dataset_url] = *dataset_url;
    return message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The dataset URL a submitted report announced, kept in the run's message.
std::optional<std::string> announced_dataset_url(const RecipeRun& run) {
    auto message = model::message_object(run);
    auto found = message.find(message_dataset_url);
    if (found == message.end() || !found->is_string()) return std::nullopt;
    return found->get<std::string>();
}

void conclude(RecipeRun& run, RecipeRunConclusion conclusion, Timestamp at) {
    run.status = RecipeRunStatus::completed;
    run.conclusion = conclusion;
    run.completed_at = std::max(at, run.started_at);
}

bool has_job(const Dispatch& dispatch) { return dispatch.job_name || dispatch.job_id; }

void check_report(const Report& report) {
    if (report.attempt) check_attempt(*report.attempt);
    if (report_rules::lacks_its_job(report)) invalid("job_name", report_rules::missing_job, "value_error.missing");
    if (report.outcome == Outcome::submitted &&
        (report.job_deadline.count() < 1 || report.job_deadline > max_job_deadline)) {
        invalid("job_deadline_seconds",
                "the job deadline is " + std::to_string(report.job_deadline.count()) + " s: give 1 to " +
                    std::to_string(max_job_deadline.count()),
                report.job_deadline.count() < 1 ? "value_error.number.not_ge" : "value_error.number.not_le");
    }
}

// Applies a report to the held rows.
void apply_report(DispatchedRun& held, const Report& report, Timestamp at) {
    auto& run = held.run;
    auto& dispatch = held.dispatch;
    switch (report.outcome) {
        case Outcome::success:
            conclude(run, RecipeRunConclusion::success, at);
            if (report.dataset_public_url) {
                run.dataset_public_url = report.dataset_public_url;
            } else if (auto announced = announced_dataset_url(run)) {
                run.dataset_public_url = announced;  // a job's end reported by its callback
            }
            if (report.dataset_type) run.dataset_type = report.dataset_type;
            dispatch.lease_expires_at.reset();
            break;
        case Outcome::failure:
            conclude(run, RecipeRunConclusion::failure, at);
            run.message = run_message(run, dispatch, report.trace);
            dispatch.lease_expires_at.reset();
            break;
        case Outcome::submitted:
            dispatch.job_name = report.job_name;
            dispatch.job_id = report.job_id;
            dispatch.job_deadline = at + report.job_deadline;
            dispatch.lease_expires_at.reset();  // the job deadline stands in for the lease
            run.message = run_message(run, dispatch, std::nullopt, report.dataset_public_url);
            break;
        case Outcome::released:
            run.status = RecipeRunStatus::queued;
            dispatch.lease_expires_at.reset();
            break;
    }
}

// The run an earlier claim with the same token took, still in progress: its answer was
// lost, and the worker asks again. The lease starts anew; the attempt stays.
std::optional<std::int64_t> reclaim(Connection& connection, const ClaimRequest& request, Claim& claim) {
    static const std::string find =
        "SELECT d.recipe_run_id, d.attempt FROM dispatch d JOIN reciperun r ON r.id = d.recipe_run_id "
        "WHERE d.claim_token = :token AND r.status = :in_progress";
    auto held = db::query_one(connection, find + std::string(connection.dialect().row_lock_clause()),
                              {ColumnType::integer, ColumnType::integer},
                              {request.token, Storage<RecipeRunStatus>::value(RecipeRunStatus::in_progress)});
    if (!held) return std::nullopt;
    std::int64_t id = held->integer(0);
    claim.attempt = held->integer(1);
    db::run(connection, "UPDATE dispatch SET lease_expires_at = :lease WHERE recipe_run_id = :id",
            {Storage<Timestamp>::value(claim.lease_expires_at), id});
    return id;
}

std::int64_t milliseconds_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Takes back one run whose lease or job deadline passed, if it still has.
bool expire(Connection& connection, std::int64_t id, std::int64_t max_attempts, Timestamp at) {
    db::Transaction transaction(connection, db::Transaction::Mode::immediate);
    DispatchedRun held = lock_dispatched(connection, id);
    auto& run = held.run;
    auto& dispatch = held.dispatch;
    if (run.status != RecipeRunStatus::in_progress) return false;
    if (dispatch.job_deadline && *dispatch.job_deadline < at) {
        conclude(run, RecipeRunConclusion::timed_out, at);
        run.message = run_message(run, dispatch, "the job did not complete by its deadline, " +
                                                model::format_timestamp(*dispatch.job_deadline));
    } else if (!has_job(dispatch) && dispatch.lease_expires_at && *dispatch.lease_expires_at < at) {
        // Only leases that ran out count against max_attempts: a worker that released the
        // run (it was stopping) did not fail it.
        ++dispatch.lease_expiries;
        if (dispatch.lease_expiries < max_attempts) {
            run.status = RecipeRunStatus::queued;
        } else {
            conclude(run, RecipeRunConclusion::timed_out, at);
            run.message = run_message(run, dispatch, "the lease ran out " + std::to_string(dispatch.lease_expiries) +
                                                    " times (of " + std::to_string(max_attempts) +
                                                    " allowed), last on attempt " + std::to_string(dispatch.attempt) +
                                                    " (" + dispatch.worker + ")");
        }
        dispatch.lease_expires_at.reset();
    } else {
        return false;  // a heartbeat came first
    }
    update_row(connection, run);
    update_row(connection, dispatch);
    transaction.commit();
    return true;
}

// Takes the oldest queued run of the bakery, however many ask at once, and records the
// claim: attempt 1 for a run's first claim, the next for each claim after (a lease ran out,
// a release, a client set it back to queued). Nothing when none is queued; NotFound when
// there is no such bakery.
std::optional<std::int64_t> take_oldest(Connection& connection, const ClaimRequest& request, Claim& claim) {
    const std::string take =
        "UPDATE reciperun SET status = :in_progress WHERE id = (SELECT id FROM reciperun WHERE bakery_id = "
        "(SELECT id FROM bakery WHERE name = :bakery) AND status = :queued ORDER BY started_at, id LIMIT 1" +
        std::string(connection.dialect().queue_lock_clause()) + ") RETURNING id";
    auto taken = db::query_one(connection, take, {ColumnType::integer},
                               {Storage<RecipeRunStatus>::value(RecipeRunStatus::in_progress), request.bakery,
                                Storage<RecipeRunStatus>::value(RecipeRunStatus::queued)});
    if (!taken) {
        if (!db::query_one(connection, "SELECT id FROM bakery WHERE name = :name", {ColumnType::integer},
                           {request.bakery})) {
            throw NotFound("there is no bakery named '" + request.bakery + "': create it, or name one that exists");
        }
        return std::nullopt;
    }
    std::int64_t id = taken->integer(0);
    static const std::string record =
        "INSERT INTO dispatch (recipe_run_id, worker, attempt, claim_token, lease_expires_at, job_name, job_id, "
        "job_deadline, lease_expiries) VALUES (:id, :worker, 1, :token, :lease, NULL, NULL, NULL, 0) "
        "ON CONFLICT (recipe_run_id) DO UPDATE SET worker = excluded.worker, attempt = dispatch.attempt + 1, "
        "claim_token = excluded.claim_token, lease_expires_at = excluded.lease_expires_at, job_name = NULL, "
        "job_id = NULL, job_deadline = NULL RETURNING attempt";
    db::Value token = request.token.empty() ? db::Value{} : db::Value{request.token};
    claim.attempt = db::query_one(connection, record, {ColumnType::integer},
                                  {id, request.worker, token, Storage<Timestamp>::value(claim.lease_expires_at)})
                        ->integer(0);
    return id;
}

}  // namespace

std::optional<Claim> Orchestrator::claim(const ClaimRequest& request) {
    if (request.bakery.empty()) invalid("bakery", "name the bakery whose runs the worker runs", "value_error.missing");
    if (request.worker.empty()) invalid("worker", "name the worker (e.g. host:pid): it is recorded on the run", "value_error.missing");
    check_lease(request.lease);
    if (request.token.size() > 128) {
        invalid("token", "the token has " + std::to_string(request.token.size()) +
                             " characters: send at most 128 (16 random bytes in hex are plenty)",
                "value_error.any_str.max_length");
    }
    sweep_if_due();

    auto lease = database_.acquire();
    auto& connection = *lease;
    Timestamp at = now();
    Claim claim;
    claim.lease_expires_at = at + request.lease;
    {
        db::Transaction transaction(connection, db::Transaction::Mode::immediate);
        std::optional<std::int64_t> id;
        if (!request.token.empty()) id = reclaim(connection, request, claim);
        if (!id) id = take_oldest(connection, request, claim);
        if (!id) return std::nullopt;
        claim.run = *run_with_relations(connection, *id);
        transaction.commit();
    }
    return claim;
}

Heartbeat Orchestrator::heartbeat(std::int64_t recipe_run_id, const HeartbeatRequest& request) {
    check_attempt(request.attempt);
    check_lease(request.lease);
    auto lease = database_.acquire();
    auto& connection = *lease;
    db::Transaction transaction(connection, db::Transaction::Mode::immediate);
    DispatchedRun held = lock_dispatched(connection, recipe_run_id);
    fence(held, request.attempt);
    Heartbeat answer;
    if (cancelled(held.run)) {
        answer.cancelled = true;
        answer.lease_expires_at = held.dispatch.lease_expires_at.value_or(now());
        return answer;
    }
    if (held.run.status == RecipeRunStatus::completed) ended_already(held.run);
    if (has_job(held.dispatch)) {
        // The job's deadline holds the run now; a lease would let the sweep take it back.
        answer.lease_expires_at = held.dispatch.job_deadline.value_or(now());
        return answer;
    }
    answer.lease_expires_at = now() + request.lease;
    held.dispatch.lease_expires_at = answer.lease_expires_at;
    update_row(connection, held.dispatch);
    transaction.commit();
    return answer;
}

model::RecipeRun Orchestrator::complete(std::int64_t recipe_run_id, const Report& report) {
    check_report(report);
    auto lease = database_.acquire();
    auto& connection = *lease;
    db::Transaction transaction(connection, db::Transaction::Mode::immediate);
    DispatchedRun held = lock_dispatched(connection, recipe_run_id);
    if (report.attempt) {
        fence(held, *report.attempt);
    } else if (!has_job(held.dispatch) || report.outcome == Outcome::submitted || report.outcome == Outcome::released) {
        invalid("attempt",
                "send the attempt of the claim: only the success or failure of a submitted job may leave it out" +
                    std::string(has_job(held.dispatch) ? "" : ", and " + run_name(held.run) + " has no submitted job"),
                "value_error.missing");
    }
    if (held.run.status == RecipeRunStatus::completed) ended_already(held.run);
    if (held.run.status == RecipeRunStatus::queued) {
        throw Conflict(run_name(held.run) + " is queued again (its lease ran out): nothing to report until it is claimed");
    }
    apply_report(held, report, now());
    update_row(connection, held.run);
    update_row(connection, held.dispatch);
    transaction.commit();
    return held.run;
}

std::int64_t Orchestrator::expire_leases() {
    Timestamp at = now();
    std::vector<std::int64_t> candidates;
    {
        auto lease = database_.acquire();
        for (auto& row : db::query(*lease,
                                   "SELECT d.recipe_run_id FROM dispatch d JOIN reciperun r ON r.id = d.recipe_run_id "
                                   "WHERE r.status = :in_progress AND (d.lease_expires_at < :now OR d.job_deadline < :now2) "
                                   "ORDER BY d.recipe_run_id",
                                   {ColumnType::integer},
                                   {Storage<RecipeRunStatus>::value(RecipeRunStatus::in_progress), Storage<Timestamp>::value(at),
                                    Storage<Timestamp>::value(at)})) {
            candidates.push_back(row.integer(0));
        }
    }
    std::int64_t changed = 0;
    for (auto id : candidates) {
        auto lease = database_.acquire();
        try {
            if (expire(*lease, id, policy_.max_attempts, at)) ++changed;
        } catch (const NotFound&) {
            // the run was deleted meanwhile: nothing to take back
        }
    }
    return changed;
}

void Orchestrator::sweep_if_due() {
    auto now_ms = milliseconds_now();
    auto last = last_sweep_ms_.load();
    if (now_ms - last < policy_.sweep_interval.count()) return;
    // One claimer sweeps; the others go on to claim.
    if (last_sweep_ms_.compare_exchange_strong(last, now_ms)) expire_leases();
}

LeaseSweeper::LeaseSweeper(Orchestrator& orchestrator, std::chrono::milliseconds interval,
                           std::function<void(const std::string&)> on_error) {
    thread_ = std::thread([this, &orchestrator, interval, on_error = std::move(on_error)] {
        std::unique_lock<std::mutex> lock(mutex_);
        while (!wake_.wait_for(lock, interval, [this] { return stopping_; })) {
            lock.unlock();
            try {
                orchestrator.expire_leases();
            } catch (const std::exception& error) {
                if (on_error) on_error(std::string("the lease sweep failed (tried again in a moment): ") + error.what());
            }
            lock.lock();
        }
    });
}

LeaseSweeper::~LeaseSweeper() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

}  // namespace pangeo_forge::orchestrator
