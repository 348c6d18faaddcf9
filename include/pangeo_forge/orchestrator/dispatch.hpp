#pragma once
// The dispatch queue: a bakery's workers claim its queued recipe runs, keep them alive with
// heartbeats and report how they ended. The lifecycle (README, "Dispatch"):
//
//   queued --claim--> in_progress (attempt n, lease) --heartbeat--> lease extended
//      ^                  |  \--report success/failure--> completed
//      |                  |  \--report submitted--> in_progress (job, job deadline)
//      |                  |  \--report released--> queued
//      +--lease runs out--+  (attempt < max_attempts; else completed / timed_out)
//
// Every heartbeat and report carries the attempt of its claim: a worker whose lease ran out
// and whose run was claimed again gets a Conflict and never overwrites the newer attempt.
//
// Queue is the interface both the in-process Orchestrator and the remote client::Client
// implement, so that a worker runs the same against either. Errors are the library's:
// ValidationError (a field of the request), NotFound (no such run or bakery), Conflict
// (fenced: the run is not this attempt's any more, or it has ended).
//
// Thread safety: plain values; a Queue's methods may be called from many threads.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/relations.hpp"

namespace pangeo_forge::orchestrator {

inline constexpr std::chrono::seconds default_lease{60};
inline constexpr std::chrono::seconds max_lease{24 * 3600};
inline constexpr std::int64_t default_max_attempts = 3;
inline constexpr std::chrono::seconds default_job_deadline{48 * 3600};
inline constexpr std::chrono::seconds max_job_deadline{30 * 24 * 3600};

// POST /recipe_runs/claim: {"bakery": NAME, "worker": NAME, "lease_seconds": 60, "token": T}.
struct ClaimRequest {
    std::string bakery;  // the bakery's name: a worker belongs to one bakery
    std::string worker;  // recorded on the run, e.g. "host:pid"; not empty
    std::chrono::seconds lease = default_lease;  // 1 s to max_lease
    // Unique per claim the worker means to make (e.g. random hex), at most 128 characters.
    // A claim sent again with the same token (its answer was lost, or the HTTP layer sent
    // it twice) gets the run that token claimed back, with a fresh lease, instead of
    // taking a second run. Empty: no such guard.
    std::string token{};

    bool operator==(const ClaimRequest& other) const;
};

// A claimed run: in_progress, with its bakery and feedstock, the attempt that fences every
// later heartbeat and report, and when the lease runs out unless a heartbeat extends it.
struct Claim {
    model::RecipeRunWithRelations run;
    std::int64_t attempt = 1;
    model::Timestamp lease_expires_at{};

    bool operator==(const Claim& other) const;
};

// POST /recipe_runs/{id}/heartbeat: {"attempt": N, "lease_seconds": 60}.
struct HeartbeatRequest {
    std::int64_t attempt = 1;
    std::chrono::seconds lease = default_lease;

    bool operator==(const HeartbeatRequest& other) const;
};

struct Heartbeat {
    // A client cancelled the run (conclusion "cancelled"): stop its command, report nothing.
    bool cancelled = false;
    model::Timestamp lease_expires_at{};  // unchanged when cancelled

    bool operator==(const Heartbeat& other) const;
};

enum class Outcome {
    success,    // completed / success, with the dataset's URL
    failure,    // completed / failure, with the trace
    submitted,  // a cloud job was started: in_progress until the job's own report or deadline
    released,   // the worker gives the run back (it is stopping): queued again at once
};

// POST /recipe_runs/{id}/complete: {"attempt": N, "outcome": "success", ...}.
struct Report {
    // The claim's attempt. Only the report of a submitted job's end may leave it out (the
    // job's callback may not know it); then the run must have a submitted job.
    std::optional<std::int64_t> attempt;
    Outcome outcome = Outcome::success;
    // success; or submitted: where the job will write it, kept in the run's message and
    // given to the run when the job's end is reported without one (the dataflow callback)
    std::optional<std::string> dataset_public_url;
    std::optional<model::DatasetType> dataset_type;  // success
    std::optional<std::string> trace;               // failure: the end of the command's error output
    std::optional<std::string> job_name;            // submitted
    std::optional<std::string> job_id;              // submitted
    std::chrono::seconds job_deadline = default_job_deadline;  // submitted: from now, 1 s to max_job_deadline

    bool operator==(const Report& other) const;
};

// The queue's operations, in-process (Orchestrator) or over HTTP (client::Client).
class Queue {
public:
    virtual ~Queue() = default;
    // The oldest queued run of the bakery (by started_at, then id), now in_progress for
    // request.worker; nothing when the bakery has no queued run. NotFound: no such bakery.
    virtual std::optional<Claim> claim(const ClaimRequest& request) = 0;
    // Extends the lease of run `recipe_run_id`, or says it was cancelled.
    virtual Heartbeat heartbeat(std::int64_t recipe_run_id, const HeartbeatRequest& request) = 0;
    // Records how the run ended (or that its job was submitted, or that it is given back)
    // and returns the run as it now is.
    virtual model::RecipeRun complete(std::int64_t recipe_run_id, const Report& report) = 0;
};

std::string_view to_string(Outcome outcome);
std::optional<Outcome> parse_outcome(std::string_view text);

// JSON as the routes take and answer them. decode_*() throw ValidationError naming each
// wrong field (locations under "body"), unknown fields included.
void to_json(nlohmann::json& out, const ClaimRequest& request);
void to_json(nlohmann::json& out, const Claim& claim);
void to_json(nlohmann::json& out, const HeartbeatRequest& request);
void to_json(nlohmann::json& out, const Heartbeat& heartbeat);
void to_json(nlohmann::json& out, const Report& report);
ClaimRequest decode_claim_request(const nlohmann::json& body);
Claim decode_claim(const nlohmann::json& body);
HeartbeatRequest decode_heartbeat_request(const nlohmann::json& body);
Heartbeat decode_heartbeat(const nlohmann::json& body);
Report decode_report(const nlohmann::json& body);

}  // namespace pangeo_forge::orchestrator
