// The worker's loop (worker.hpp): claims on the calling thread, each claimed run on a
// thread of its own (the executor, then the report) with a heartbeat thread beside it.
//
// The run loop sleeps in poll() on one wake pipe: request_stop() writes a byte to it (a
// write() is async-signal-safe, a condition variable is not), and so does each run when it
// ends, so that a free slot is filled at once.

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/worker/worker.hpp"
#include "worker/command.hpp"

namespace pangeo_forge::worker {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using orchestrator::Outcome;

// How a failed call to the queue is taken.
enum class Failure {
    transient,  // the queue is away (network, server restarting, database away): wait and try again
    fenced,     // Conflict, NotFound: the run is not this attempt's any more
    refused,    // the request itself is wrong (ValidationError, 4xx): trying again cannot help
};

Failure classify(std::exception_ptr error, std::string& message) {
    try {
        std::rethrow_exception(error);
    } catch (const client::ConnectionError& e) {
        message = e.what();
        return Failure::transient;
    } catch (const client::HttpError& e) {
        message = e.what();
        // 429 and 5xx (a proxy in front of a restarting server answers 502) pass; a wrong
        // API key (401, 403) does not.
        return e.status() >= 500 || e.status() == 429 ? Failure::transient : Failure::refused;
    } catch (const DatabaseError& e) {
        message = e.what();
        return Failure::transient;
    } catch (const Conflict& e) {
        message = e.what();
        return Failure::fenced;
    } catch (const NotFound& e) {
        message = e.what();
        return Failure::fenced;
    } catch (const Error& e) {
        message = e.what();
        return Failure::refused;
    } catch (const std::exception& e) {
        // Anything else on the way (a garbled answer): the next try may get a good one.
        message = e.what();
        return Failure::transient;
    }
}

milliseconds jittered(milliseconds base, double spread) {
    thread_local std::mt19937 random{std::random_device{}()};
    std::uniform_real_distribution<double> factor(1.0 - spread, 1.0 + spread);
    return milliseconds(static_cast<milliseconds::rep>(static_cast<double>(base.count()) * factor(random)));
}

// Exponential back-off with jitter, from `first` doubling up to `max`.
class Backoff {
public:
    Backoff(milliseconds first, milliseconds max) : first_(std::min(first, max)), max_(max), next_(first_) {}
    milliseconds next() {
        auto wait = jittered(next_, 0.2);
        next_ = std::min(next_ * 2, max_);
        return wait;
    }
    void reset() { next_ = first_; }

private:
    milliseconds first_;
    milliseconds max_;
    milliseconds next_;
};

constexpr milliseconds first_backoff{500};

// 16 random bytes in hex: a claim's token (ClaimRequest::token).
std::string claim_token() {
    thread_local std::random_device device;
    static const char* hex = "0123456789abcdef";
    std::string token;
    for (int i = 0; i < 4; ++i) {
        auto word = static_cast<std::uint32_t>(device());
        for (int shift = 28; shift >= 0; shift -= 4) token += hex[(word >> shift) & 15];
    }
    return token;
}

std::string describe(const orchestrator::Claim& claim) {
    return "run " + std::to_string(claim.run.recipe_run.id) + " (attempt " + std::to_string(claim.attempt) + ")";
}

void check_options(const WorkerOptions& options) {
    auto refuse = [](const std::string& what) { throw ConfigError("worker options: " + what); };
    if (options.bakery.empty()) refuse("bakery is empty: name the bakery whose runs this worker runs");
    if (options.concurrency < 1) {
        refuse("concurrency is " + std::to_string(options.concurrency) + ": give 1 or more runs at once");
    }
    if (options.lease < std::chrono::seconds(1) || options.lease > orchestrator::max_lease) {
        refuse("lease is " + std::to_string(options.lease.count()) + " s: give 1 to " +
               std::to_string(orchestrator::max_lease.count()) + " seconds");
    }
    auto at_least = [&](const char* name, milliseconds value, milliseconds least) {
        if (value < least) {
            refuse(std::string(name) + " is " + std::to_string(value.count()) + " ms: give " +
                   std::to_string(least.count()) + " ms or more");
        }
    };
    at_least("poll", options.poll, milliseconds(1));
    at_least("max_backoff", options.max_backoff, milliseconds(1));
    at_least("drain_grace", options.drain_grace, milliseconds(0));
    at_least("kill_grace", options.kill_grace, milliseconds(0));
    if (options.job_deadline < std::chrono::seconds(1) || options.job_deadline > orchestrator::max_job_deadline) {
        refuse("job_deadline is " + std::to_string(options.job_deadline.count()) + " s: give 1 to " +
               std::to_string(orchestrator::max_job_deadline.count()) + " seconds");
    }
    if (!options.function && !options.command.empty() && options.command.front().empty()) {
        refuse("the command's program name is empty");
    }
}

}  // namespace

struct Worker::Impl {
    struct Task;

    Impl(orchestrator::Queue& queue, WorkerOptions options) : queue(queue), options(std::move(options)) {
        name = this->options.name.empty() ? default_worker_name() : this->options.name;
        if (!this->options.function && this->options.command.empty()) this->options.command = default_command();
        int ends[2];
        if (pipe2(ends, O_CLOEXEC | O_NONBLOCK) != 0) {
            throw Error(std::string("cannot make the worker's wake pipe: ") + std::strerror(errno));
        }
        wake_read = ends[0];
        wake_write = ends[1];
    }
    ~Impl() {
        ::close(wake_read);
        ::close(wake_write);
    }

    void log(const std::string& line) {
        if (!options.log) return;
        std::lock_guard lock(log_mutex);
        try {
            options.log(line);
        } catch (...) {
            // A log that fails must not take a run down with it.
        }
    }

    // Async-signal-safe: a write() that cannot block (a full pipe already wakes the loop).
    void wake() noexcept {
        char byte = 1;
        [[maybe_unused]] auto written = ::write(wake_write, &byte, 1);
    }

    // Sleeps up to `timeout`, less when woken; drains the wake-ups.
    void sleep(milliseconds timeout) {
        pollfd fd{wake_read, POLLIN, 0};
        int wait_ms = static_cast<int>(std::clamp<milliseconds::rep>(timeout.count(), 0, 60'000));
        if (poll(&fd, 1, wait_ms) > 0) {
            char bytes[64];
            while (::read(wake_read, bytes, sizeof bytes) > 0) {
            }
        }
    }

    WorkerSummary run();
    void start(orchestrator::Claim claim, Clock::time_point claim_sent_at);
    void reap();

    orchestrator::Queue& queue;
    WorkerOptions options;
    std::string name;
    int wake_read = -1;
    int wake_write = -1;
    std::atomic<int> stop_requests{0};
    std::mutex log_mutex;
    std::vector<std::shared_ptr<Task>> tasks;  // the run loop's thread only

    // When the worker stops and the drain grace and kill grace are over, reports that still
    // cannot be sent are given up (the run comes back to the queue when its lease runs out).
    std::atomic<bool> abandon_reports{false};

    std::atomic<std::int64_t> claimed{0}, succeeded{0}, failed{0}, submitted{0}, released{0}, stopped{0},
        unreported{0};
};

// One claimed run: the executor and the report on one thread, the heartbeats on another.
struct Worker::Impl::Task {
    Task(Impl& worker, RunContext context, Clock::time_point claim_sent_at)
        : worker(worker), context(std::move(context)), lease_deadline(claim_sent_at + worker.options.lease) {
        label = describe(this->context.claim);
    }

    void begin() {
        executor = std::thread([this] { execute_and_report(); });
        heartbeats = std::thread([this] { keep_alive(); });
    }

    void join() {
        if (executor.joinable()) executor.join();
        if (heartbeats.joinable()) heartbeats.join();
    }

    bool is_done() {
        std::lock_guard lock(mutex);
        return done;
    }

    void finish() {
        {
            std::lock_guard lock(mutex);
            done = true;
        }
        changed.notify_all();
        worker.wake();
    }

    void log(const std::string& line) { worker.log(label + ": " + line); }

    std::int64_t id() const { return context.recipe_run().id; }

    // --- heartbeats, every lease/3, until the run is reported ---
    void keep_alive() {
        const auto& options = worker.options;
        const milliseconds interval = std::chrono::duration_cast<milliseconds>(options.lease) / 3;
        Backoff backoff(first_backoff, options.max_backoff);
        auto next = Clock::now() + interval;
        orchestrator::HeartbeatRequest request{context.attempt(), options.lease};
        for (;;) {
            {
                std::unique_lock lock(mutex);
                if (changed.wait_until(lock, next, [this] { return done; })) return;
            }
            if (Clock::now() >= lease_deadline && !reporting) {
                // The server has given the run back to the queue (or will at any moment), and
                // another worker may run it: this one must not go on running it alongside.
                log("the lease ran out locally (no heartbeat was answered for " +
                    std::to_string(options.lease.count()) + " s): stopping it as fenced; nothing will be reported");
                stop.request(StopReason::fenced);
                return;
            }
            const auto sent_at = Clock::now();
            try {
                auto answer = worker.queue.heartbeat(id(), request);
                backoff.reset();
                next = Clock::now() + interval;
                if (!answer.cancelled) lease_deadline = sent_at + options.lease;
                if (answer.cancelled) {
                    log("cancelled: stopping it; nothing will be reported");
                    stop.request(StopReason::cancelled);
                    return;
                }
            } catch (...) {
                std::string message;
                switch (classify(std::current_exception(), message)) {
                    case Failure::transient:
                        // The lease may run out meanwhile: then the next answer is a Conflict.
                        log("heartbeat failed, trying again: " + message);
                        next = std::min(Clock::now() + std::min(backoff.next(), interval), lease_deadline);
                        break;
                    case Failure::fenced:
                    case Failure::refused:
                        // Once the report is on its way, its own answer says what happened.
                        if (!reporting) {
                            log("heartbeat refused, stopping it; nothing will be reported: " + message);
                            stop.request(StopReason::fenced);
                        }
                        return;
                }
            }
        }
    }

    // --- the executor, then the report ---
    void execute_and_report() {
        std::optional<orchestrator::Report> report;
        try {
            report = execute();
        } catch (const std::exception& e) {
            report = failure(std::string("the worker could not run it: ") + e.what());
        }
        reporting = true;
        if (report) deliver(*report);
        finish();
    }

    orchestrator::Report failure(std::string trace) {
        orchestrator::Report report;
        report.attempt = context.attempt();
        report.outcome = Outcome::failure;
        // The trace is bounded as the command's error tail is, whoever wrote it.
        OutputTail tail;
        tail.append(trace);
        report.trace = tail.text();
        return report;
    }

    // The report to send, or nothing (cancelled, fenced).
    std::optional<orchestrator::Report> execute() {
        ExecutorResult result;
        if (worker.options.function) {
            try {
                result = worker.options.function(context, stop);
            } catch (const std::exception& e) {
                result.outcome = Outcome::failure;
                result.trace = e.what();
            } catch (...) {
                result.outcome = Outcome::failure;
                result.trace = "the executor threw an exception that is no std::exception";
            }
            // A function asked to give its run back that still says it finished the work is
            // believed: it is done, and running it again would do it twice.
            if (stop.reason() == StopReason::released && result.outcome != Outcome::success &&
                result.outcome != Outcome::submitted) {
                result.outcome = Outcome::released;
            }
        } else {
            result = run_the_command();
        }
        switch (stop.reason()) {
            case StopReason::cancelled:
            case StopReason::fenced:
                worker.stopped++;
                log("stopped (" + std::string(to_string(stop.reason())) + ")");
                return std::nullopt;
            default:
                break;
        }
        orchestrator::Report report;
        report.attempt = context.attempt();
        report.outcome = result.outcome;
        switch (result.outcome) {
            case Outcome::success:
                report.dataset_public_url = result.dataset_public_url ? result.dataset_public_url : context.dataset_url;
                report.dataset_type = result.dataset_type.value_or(model::DatasetType::zarr);
                break;
            case Outcome::failure:
                return failure(result.trace.value_or("the executor reported a failure without a trace"));
            case Outcome::submitted:
                report.job_name = result.job_name;
                report.job_id = result.job_id;
                report.dataset_public_url = context.dataset_url;  // where the job writes: its callback need not know
                report.job_deadline = worker.options.job_deadline;
                break;
            case Outcome::released:
                break;
        }
        return report;
    }

    ExecutorResult run_the_command() {
        detail::CommandLimits limits;
        limits.kill_grace = worker.options.kill_grace;
        auto arguments = expand_arguments(worker.options.command, context);
        auto result = detail::run_command(arguments, run_environment(context), stop, limits,
                                          [this](const std::string& line) { log(line); });
        ExecutorResult out;
        if (result.stop_sent && stop.reason() == StopReason::released && result.submitted) {
            // Its cloud job was submitted: that job runs on and reports, whatever became of the
            // command. Given back, the run would be claimed again and a second job submitted.
            out.outcome = Outcome::submitted;
            out.job_name = result.submitted->job_name;
            out.job_id = result.submitted->job_id;
        } else if (result.stop_sent && stop.reason() == StopReason::released) {
            // Stopped by the worker, whatever its exit status says: not done.
            out.outcome = Outcome::released;
        } else if (!result.succeeded()) {
            out.outcome = Outcome::failure;
            out.trace = result.error_tail.empty() ? "the command " + result.ending()
                                                  : result.error_tail + "\n(the command " + result.ending() + ")";
        } else if (result.submitted && !result.submitted->job_name && !result.submitted->job_id) {
            // The queue takes no 'submitted' report without its job: reported so, it would be
            // refused and the run left to its lease, to be run again.
            out.outcome = Outcome::failure;
            out.trace = "the command said it submitted a job but named none (no job_name, no job_id): " +
                        result.submitted->json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        } else if (result.submitted) {
            out.outcome = Outcome::submitted;
            out.job_name = result.submitted->job_name;
            out.job_id = result.submitted->job_id;
        }
        return out;
    }

    void deliver(const orchestrator::Report& report) {
        const std::string outcome(orchestrator::to_string(report.outcome));
        Backoff backoff(first_backoff, worker.options.max_backoff);
        bool sent_before = false;
        for (;;) {
            try {
                auto run = worker.queue.complete(id(), report);
                log("reported " + outcome + " (now " + std::string(model::to_string(run.status)) + ")");
                count(report.outcome);
                return;
            } catch (...) {
                std::string message;
                auto failure = classify(std::current_exception(), message);
                if (failure == Failure::fenced) {
                    // Another attempt owns the run, or a client ended it: theirs is the word.
                    log("report of " + outcome + " refused (fenced): " + message +
                        (sent_before ? " (an earlier send whose answer was lost may have landed)" : ""));
                    worker.stopped++;
                    return;
                }
                if (failure == Failure::refused || worker.abandon_reports) {
                    log("report of " + outcome + " NOT delivered, the run will come back to the queue when its "
                        "lease runs out: " + message);
                    worker.unreported++;
                    return;
                }
                sent_before = true;
                auto wait = backoff.next();
                log("report of " + outcome + " failed, trying again in " + std::to_string(wait.count()) +
                    " ms: " + message);
                std::unique_lock lock(mutex);
                changed.wait_for(lock, wait, [this] { return worker.abandon_reports.load(); });
            }
        }
    }

    void count(Outcome outcome) {
        switch (outcome) {
            case Outcome::success: worker.succeeded++; break;
            case Outcome::failure: worker.failed++; break;
            case Outcome::submitted: worker.submitted++; break;
            case Outcome::released: worker.released++; break;
        }
    }

    Impl& worker;
    RunContext context;
    // The lease last granted, on the local clock: from when its request was sent (the server
    // counts from when it received it), so neither clock skew nor a slow answer lengthens it.
    Clock::time_point lease_deadline;
    std::string label;
    StopToken stop;
    std::mutex mutex;
    std::condition_variable changed;
    bool done = false;               // reported, or nothing to report: the heartbeats end
    std::atomic<bool> reporting{false};  // the executor has ended
    std::thread executor;
    std::thread heartbeats;
};

void Worker::Impl::start(orchestrator::Claim claim, Clock::time_point claim_sent_at) {
    RunContext context;
    auto sub_path = dataset_sub_path(claim.run);
    context.dataset_path = options.storage.root_path.empty() ? sub_path : options.storage.root_path + "/" + sub_path;
    context.dataset_url = dataset_public_url(options.storage, sub_path);
    context.claim = std::move(claim);
    auto task = std::make_shared<Task>(*this, std::move(context), claim_sent_at);
    claimed++;
    task->log("claimed");
    tasks.push_back(task);
    task->begin();
}

void Worker::Impl::reap() {
    for (auto it = tasks.begin(); it != tasks.end();) {
        if ((*it)->is_done()) {
            (*it)->join();
            it = tasks.erase(it);
        } else {
            ++it;
        }
    }
}

WorkerSummary Worker::Impl::run() {
    log("worker " + name + " of bakery " + options.bakery + ": " + std::to_string(options.concurrency) +
        " at once, lease " + std::to_string(options.lease.count()) + " s");
    orchestrator::ClaimRequest request{options.bakery, name, options.lease, {}};
    Backoff backoff(first_backoff, options.max_backoff);
    std::exception_ptr fatal;

    // Claim while there is room, until stopped (or, once, until nothing is queued).
    while (stop_requests.load() == 0) {
        reap();
        if (static_cast<int>(tasks.size()) >= options.concurrency) {
            sleep(milliseconds(1000));  // a run that ends wakes it
            continue;
        }
        std::optional<orchestrator::Claim> claim;
        // A new claim gets a new token; one sent again after its answer was lost keeps its
        // token, so that the server gives back the run it may have claimed for it.
        if (request.token.empty()) request.token = claim_token();
        const auto sent_at = Clock::now();
        try {
            claim = queue.claim(request);
            backoff.reset();
            request.token.clear();
        } catch (...) {
            std::string message;
            if (classify(std::current_exception(), message) != Failure::transient) {
                log("claim refused, stopping: " + message);
                fatal = std::current_exception();
                break;
            }
            auto wait = backoff.next();
            log("claim failed, trying again in " + std::to_string(wait.count()) + " ms: " + message);
            sleep(wait);
            continue;
        }
        if (claim) {
            start(std::move(*claim), sent_at);
            continue;
        }
        if (options.once) break;
        sleep(jittered(options.poll, 0.2));  // several workers polling do not keep in step
    }

    // Once: the runs end on their own, unless a stop comes meanwhile.
    if (options.once && !fatal) {
        while (!tasks.empty() && stop_requests.load() == 0) {
            sleep(milliseconds(1000));
            reap();
        }
    }

    // Stopping: the running runs get drain_grace to end; then they are given back.
    const bool stopping = stop_requests.load() > 0 || fatal;
    if (stopping && !tasks.empty()) {
        log("stopping: no more claims; " + std::to_string(tasks.size()) + " run(s) running, given back after " +
            std::to_string(options.drain_grace.count()) + " ms");
    }
    auto release_at = Clock::now() + options.drain_grace;
    std::optional<Clock::time_point> abandon_at;
    while (!tasks.empty()) {
        reap();
        if (tasks.empty()) break;
        auto now = Clock::now();
        if (!abandon_at && (now >= release_at || stop_requests.load() > 1)) {
            for (auto& task : tasks) {
                task->log("giving it back");
                task->stop.request(StopReason::released);
            }
            // A kill grace for the commands to go, then a back-off step for the reports.
            abandon_at = now + options.kill_grace + options.max_backoff;
        }
        if (abandon_at && now >= *abandon_at && !abandon_reports) {
            abandon_reports = true;
            for (auto& task : tasks) task->changed.notify_all();
        }
        auto until = abandon_at ? *abandon_at : release_at;
        sleep(std::max(milliseconds(10), std::min(milliseconds(1000), std::chrono::duration_cast<milliseconds>(until - now))));
    }

    WorkerSummary summary{claimed, succeeded, failed, submitted, released, stopped, unreported};
    log("worker " + name + " ends: " + std::to_string(summary.claimed) + " claimed, " +
        std::to_string(summary.succeeded) + " succeeded, " + std::to_string(summary.failed) + " failed, " +
        std::to_string(summary.submitted) + " submitted, " + std::to_string(summary.released) + " released, " +
        std::to_string(summary.stopped) + " stopped, " + std::to_string(summary.unreported) + " unreported");
    if (fatal) std::rethrow_exception(fatal);
    return summary;
}

Worker::Worker(orchestrator::Queue& queue, WorkerOptions options) {
    check_options(options);
    impl_ = std::make_unique<Impl>(queue, std::move(options));
}

Worker::~Worker() {
    if (!impl_) return;
    // run() returns only once its runs ended; this is for a run() left by an exception of
    // the log or of a thread that could not start.
    for (auto& task : impl_->tasks) task->stop.request(StopReason::released);
    impl_->abandon_reports = true;
    for (auto& task : impl_->tasks) {
        task->changed.notify_all();
        task->join();
    }
}

WorkerSummary Worker::run() { return impl_->run(); }

void Worker::request_stop() noexcept {
    impl_->stop_requests.fetch_add(1);
    impl_->wake();
}

bool Worker::stop_requested() const noexcept { return impl_->stop_requests.load() > 0; }

const std::string& Worker::name() const { return impl_->name; }

}  // namespace pangeo_forge::worker
