#pragma once
// A bakery's worker (library pangeo_forge::worker): it claims the bakery's queued recipe
// runs from a dispatch Queue (the remote client::Client of `pangeo-forge worker`, or an
// in-process Orchestrator), runs each (a command, or a function of the program that embeds
// the worker), keeps its lease alive with heartbeats while it runs, and reports how it
// ended. README, "The worker", describes the behaviour as an operator sees it.
//
// - Up to `concurrency` runs at once, each on a thread of its own with a heartbeat thread
//   beside it (every lease/3). A heartbeat that says "cancelled" stops the run and nothing
//   is reported; a Conflict (the lease ran out and the run went to another attempt) stops
//   it too, and is logged.
// - The queue being away (client::ConnectionError, an HTTP 5xx, a DatabaseError of an
//   in-process orchestrator) is waited out with exponential back-off; running commands go
//   on meanwhile, and a report that could not be sent is sent again (it is fenced by the
//   attempt, so sending it twice is safe) until it is answered. A claim sent again keeps
//   its token (ClaimRequest::token). Once the lease last granted has run out on the
//   worker's clock (counted from when its request was sent), the run is stopped as fenced
//   and nothing is reported: the server gives it to another attempt.
// - request_stop(): no more claims; running runs may finish for drain_grace, after which
//   they are stopped and given back (outcome "released"). A second request_stop() gives
//   them back at once.
//
// Errors: the constructor throws ConfigError naming the option that is wrong. run() throws
// what the queue says that waiting cannot fix (NotFound: no such bakery; client::HttpError
// 401/403: a wrong API key; ValidationError), after it has let its runs end as on a stop.
//
// Thread safety: run() once, on one thread. request_stop() from any thread or from a
// signal handler (it is async-signal-safe). The log callback is called from the worker's
// threads, one call at a time. The Queue must outlive the Worker.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"

namespace pangeo_forge::worker {

// Where a bakery's datasets go. The dataset of a run lives at `<root_path>/<sub-path>`,
// the sub-path being `<spec>/<recipe_id>` for a production run and
// `test/<spec>/recipe-run-<id>/<recipe_id>` for a test run; its public URL is
// `public_url_template` with `{path}` replaced by the sub-path.
struct StorageSettings {
    std::string root_path;            // e.g. "gs://bakery-bucket/datasets"; may be empty
    std::string public_url_template;  // e.g. "https://storage.googleapis.com/bakery-bucket/datasets/{path}"; may be empty

    bool operator==(const StorageSettings& other) const;
};

// The storage sub-path of a run (as above).
std::string dataset_sub_path(const model::RecipeRunWithRelations& run);
// The template filled with `sub_path`; nothing when the template is empty.
std::optional<std::string> dataset_public_url(const StorageSettings& storage, const std::string& sub_path);

// What an executor knows of the run it executes.
struct RunContext {
    orchestrator::Claim claim;  // the run with its bakery and feedstock, the attempt, the lease
    std::string dataset_path;   // root_path/sub-path (the sub-path alone when root_path is empty)
    std::optional<std::string> dataset_url;  // from the public-URL template

    const model::RecipeRun& recipe_run() const { return claim.run.recipe_run; }
    std::int64_t attempt() const { return claim.attempt; }
};

// Why a running run is being stopped.
enum class StopReason {
    none,
    cancelled,  // a client cancelled it: nothing is reported
    fenced,     // its lease went to another attempt (Conflict): nothing is reported
    released,   // the worker is stopping and gives it back: reported as "released"
};

std::string_view to_string(StopReason reason);

// Tells a function executor that it should stop; shared with the worker, which sets it.
class StopToken {
public:
    StopToken();
    bool stop_requested() const;
    StopReason reason() const;
    // Sleeps up to `timeout`, or less when a stop is requested; returns stop_requested().
    bool wait_for(std::chrono::milliseconds timeout) const;
    // Sets the reason if none was set yet (the first reason wins). Called by the worker.
    void request(StopReason reason) const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

// What a function executor returns. The worker fills what it is not told: a success gets
// RunContext::dataset_url and DatasetType::zarr.
struct ExecutorResult {
    orchestrator::Outcome outcome = orchestrator::Outcome::success;
    std::optional<std::string> trace;               // failure
    std::optional<std::string> job_name;            // submitted
    std::optional<std::string> job_id;              // submitted
    std::optional<std::string> dataset_public_url;  // success; default: RunContext::dataset_url
    std::optional<model::DatasetType> dataset_type;  // success; default: zarr

    bool operator==(const ExecutorResult& other) const;
};

// Runs one claimed run on the worker's thread for it. It should return soon after the token
// says stop (the worker cannot stop a thread; it waits for the function). An exception it
// throws is a failure, its message the trace.
using FunctionExecutor = std::function<ExecutorResult(const RunContext&, const StopToken&)>;

using Log = std::function<void(const std::string& line)>;

// The command a worker runs when it is given none: pangeo-forge-runner's bake of the run's
// feedstock at its commit, JSON lines on stdout, --prune for a test run.
std::vector<std::string> default_command();

// --- the command executor's pieces, exposed for tests and for programs that run commands alike

// Each argument with its placeholders replaced: {recipe_run_id} {recipe_id} {head_sha}
// {feedstock_spec} {is_test} {attempt} {repo} {prune} {dataset_path} {dataset_url}. An
// argument that is exactly "{prune}" disappears for a production run. A `{` that starts no
// placeholder is kept as it is.
std::vector<std::string> expand_arguments(const std::vector<std::string>& arguments, const RunContext& context);

// The variables added to the command's environment: PANGEO_FORGE_RECIPE_RUN_ID, _RECIPE_ID,
// _HEAD_SHA, _FEEDSTOCK_SPEC, _IS_TEST ("true"/"false"), _ATTEMPT, _DATASET_PATH and, when
// there is one, _DATASET_URL.
std::vector<std::pair<std::string, std::string>> run_environment(const RunContext& context);

// One line of the command's standard output (the runner's --json protocol).
struct OutputLine {
    enum class Kind {
        text,       // not a JSON object: plain log
        progress,   // a JSON object that is no "submitted" status
        submitted,  // {"status": "submitted", "job_name": ..., "job_id": ...}
    };
    Kind kind = Kind::text;
    nlohmann::json json;  // the object, for progress and submitted
    std::optional<std::string> job_name;
    std::optional<std::string> job_id;
};

OutputLine parse_output_line(std::string_view line);

// The last lines of a stream, bounded in lines and in bytes (a line longer than the byte
// bound keeps its end). Fed with chunks as they are read; a line is whole at its '\n'.
// text() is UTF-8: a byte that is not (another encoding, a character cut at the bound)
// reads as U+FFFD, within the same byte bound.
class OutputTail {
public:
    explicit OutputTail(std::size_t max_lines = 50, std::size_t max_bytes = 16 * 1024);
    void append(std::string_view chunk);
    // The kept lines, joined with '\n', the unfinished last line included.
    std::string text() const;
    bool empty() const;

private:
    void trim();

    std::size_t max_lines_;
    std::size_t max_bytes_;
    std::vector<std::string> lines_;  // the last one may be unfinished
    bool last_open_ = false;
    std::size_t bytes_ = 0;
};

struct WorkerOptions {
    std::string bakery;  // the bakery's name; required
    std::string name;    // recorded on claimed runs; empty: "<hostname>:<pid>:<4 random hex digits>"
    int concurrency = 1;  // runs at once, at least 1
    std::chrono::seconds lease = orchestrator::default_lease;  // heartbeat every lease/3
    bool once = false;  // stop (after the running runs end) when the bakery has no queued run
    std::chrono::milliseconds poll{2000};  // between claims when none is queued (+-20% jitter)
    std::chrono::milliseconds max_backoff{30000};  // the queue being away: waits double up to this
    std::chrono::milliseconds drain_grace{30000};  // after request_stop(): then running runs are released
    std::chrono::milliseconds kill_grace{10000};   // SIGTERM to a command's process group, SIGKILL after this
    std::chrono::seconds job_deadline = orchestrator::default_job_deadline;  // for submitted jobs
    StorageSettings storage;
    // The command, with placeholders (expand_arguments()). Empty: default_command().
    std::vector<std::string> command;
    // When set, runs are given to this function instead of a command.
    FunctionExecutor function;
    Log log;  // the worker's lines; nothing printed without it
};

// What a run() did, counted per run.
struct WorkerSummary {
    std::int64_t claimed = 0;
    std::int64_t succeeded = 0;
    std::int64_t failed = 0;
    std::int64_t submitted = 0;
    std::int64_t released = 0;
    std::int64_t stopped = 0;    // cancelled or fenced: nothing reported
    std::int64_t unreported = 0;  // the report could not be delivered before the worker ended

    bool operator==(const WorkerSummary& other) const;
};

// "<hostname>:<pid>:<4 random hex digits>" (the pid alone is 1 in many containers).
std::string default_worker_name();

class Worker {
public:
    // ConfigError for an option out of range (named), an empty bakery or command.
    Worker(orchestrator::Queue& queue, WorkerOptions options);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Claims and runs until stopped, or (once) until the bakery has no queued run, and
    // returns when every run it claimed has been reported (or given up on, when stopping,
    // as WorkerSummary::unreported counts and the log says).
    WorkerSummary run();
    // No more claims; see the top of this header. Async-signal-safe.
    void request_stop() noexcept;
    bool stop_requested() const noexcept;
    const std::string& name() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pangeo_forge::worker
