#define BOOST_TEST_MODULE worker
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/db/statement.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "pangeo_forge/worker/worker.hpp"
#include "support/migrations.hpp"
#include "support/process.hpp"
#include "support/scratch_database.hpp"
#include "worker/command.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::model;
using namespace pangeo_forge::worker;
using namespace std::chrono_literals;
using orchestrator::Outcome;
using nlohmann::json;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A run as a claim would carry it, without a database.
RunContext context_of(std::int64_t id, bool is_test, std::int64_t attempt = 1) {
    RunContext context;
    auto& run = context.claim.run;
    run.recipe_run.id = id;
    run.recipe_run.recipe_id = "gpcp";
    run.recipe_run.head_sha = "abc123";
    run.recipe_run.is_test = is_test;
    run.feedstock.spec = "pangeo-forge/gpcp-feedstock";
    context.claim.attempt = attempt;
    context.dataset_path = "gs://bucket/" + dataset_sub_path(run);
    context.dataset_url = "https://data/" + dataset_sub_path(run);
    return context;
}

// Lines from the worker's threads.
struct Lines {
    std::mutex mutex;
    std::vector<std::string> lines;
    Log log() {
        return [this](const std::string& line) {
            std::lock_guard lock(mutex);
            lines.push_back(line);
        };
    }
    std::string all() {
        std::lock_guard lock(mutex);
        std::string out;
        for (const auto& line : lines) out += line + "\n";
        return out;
    }
};

// A folder of the test's own for the commands' files.
struct Folder {
    std::filesystem::path path;
    Folder() {
        path = std::filesystem::temp_directory_path() / ("pangeo_forge_worker_" + std::to_string(getpid()) + "_" +
                                                         std::to_string(counter()++));
        std::filesystem::create_directories(path);
    }
    ~Folder() { std::filesystem::remove_all(path); }
    std::string file(const std::string& name) const { return (path / name).string(); }
    static std::atomic<int>& counter() {
        static std::atomic<int> value{0};
        return value;
    }
};

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = 20s) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

bool group_gone(pid_t group) { return kill(-group, 0) != 0 && errno == ESRCH; }

// A database at head with a bakery and a feedstock, an orchestrator over it, and a worker's
// options for that bakery, quick to give up and to poll.
struct Fixture {
    explicit Fixture(const test::ScratchDatabase& scratch)
        : pool(scratch.url(), db::PoolOptions{8}), at_head(test::upgraded_to_head(pool)), forge(pool, test::bundled()) {
        bakery = forge.create(decode<BakeryCreate>(json{{"region", "us-central1"}, {"name", "ldeo"}, {"description", "d"}})).id;
        feedstock = forge.create(decode<FeedstockCreate>(json{{"spec", "pangeo-forge/gpcp-feedstock"}})).id;
        options.bakery = "ldeo";
        options.name = "test-worker";
        options.poll = 100ms;
        options.max_backoff = 200ms;
        options.kill_grace = 2s;
        options.storage.root_path = "gs://bucket/datasets";
        options.storage.public_url_template = "https://data.example/{path}";
        options.log = lines.log();
    }

    std::int64_t queue(bool is_test = false, std::string recipe = "gpcp") {
        return forge
            .create(decode<RecipeRunCreate>(json{{"recipe_id", recipe}, {"bakery_id", bakery}, {"feedstock_id", feedstock},
                                                 {"head_sha", "abc123"}, {"version", "1.0"}, {"is_test", is_test},
                                                 {"started_at", "2021-01-01T00:00:00Z"}}))
            .id;
    }

    RecipeRun run(std::int64_t id) { return forge.recipe_run(id).recipe_run; }

    // Moves a run's lease into the past and takes it back, as if the worker were gone.
    void let_lease_run_out(std::int64_t id) {
        auto lease = pool.acquire();
        db::run(*lease, "UPDATE dispatch SET lease_expires_at = '2000-01-01 00:00:00.000000' WHERE recipe_run_id = :id",
                {id});
        forge.expire_leases();
    }

    db::Database pool;
    bool at_head;
    orchestrator::Orchestrator forge;
    std::int64_t bakery = 0, feedstock = 0;
    Lines lines;
    WorkerOptions options;
};

// A worker running on a thread of its own; stopped and joined at the end.
struct Running {
    Running(orchestrator::Queue& queue, WorkerOptions options) : worker(queue, std::move(options)) {
        thread = std::thread([this] {
            try {
                summary = worker.run();
            } catch (const std::exception& e) {
                error = e.what();
            }
            ended = true;
        });
    }
    ~Running() {
        worker.request_stop();
        if (thread.joinable()) thread.join();
    }
    WorkerSummary stop() {
        worker.request_stop();
        thread.join();
        return summary;
    }
    Worker worker;
    std::thread thread;
    std::atomic<bool> ended{false};
    WorkerSummary summary;
    std::string error;
};

// A Queue that passes to another, failing some calls first as a lost server does.
struct FlakyQueue : orchestrator::Queue {
    explicit FlakyQueue(orchestrator::Queue& inner) : inner(inner) {}
    std::optional<orchestrator::Claim> claim(const orchestrator::ClaimRequest& request) override {
        {
            std::lock_guard lock(mutex);
            claim_tokens.push_back(request.token);
        }
        if (claim_failures > 0) {
            --claim_failures;
            throw client::ConnectionError("cannot reach http://127.0.0.1:1: Connection refused");
        }
        return inner.claim(request);
    }
    orchestrator::Heartbeat heartbeat(std::int64_t id, const orchestrator::HeartbeatRequest& request) override {
        if (heartbeats_fail) {
            ++failed_heartbeats;
            throw client::ConnectionError("cannot reach http://127.0.0.1:1: Connection refused");
        }
        return inner.heartbeat(id, request);
    }
    RecipeRun complete(std::int64_t id, const orchestrator::Report& report) override {
        ++complete_calls;
        if (complete_failures > 0) {
            --complete_failures;
            // The server applied it but the answer was lost: sending it again must be safe.
            if (apply_before_failing) inner.complete(id, report);
            throw client::ConnectionError("the connection to http://127.0.0.1:1 broke before an answer came");
        }
        return inner.complete(id, report);
    }
    orchestrator::Queue& inner;
    std::atomic<int> claim_failures{0};
    std::atomic<int> complete_failures{0};
    std::atomic<int> complete_calls{0};
    bool apply_before_failing = false;
    std::atomic<bool> heartbeats_fail{false};
    std::atomic<int> failed_heartbeats{0};
    std::mutex mutex;
    std::vector<std::string> claim_tokens;
    std::vector<std::string> tokens() {
        std::lock_guard lock(mutex);
        return claim_tokens;
    }
};

struct NoQueue : orchestrator::Queue {
    std::optional<orchestrator::Claim> claim(const orchestrator::ClaimRequest&) override { return std::nullopt; }
    orchestrator::Heartbeat heartbeat(std::int64_t, const orchestrator::HeartbeatRequest&) override { return {}; }
    RecipeRun complete(std::int64_t, const orchestrator::Report&) override { throw NotFound("no run"); }
};

std::vector<std::string> bash(const std::string& script) { return {"bash", "-c", script}; }

}  // namespace

// --- the pieces, no database ------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(pieces)

BOOST_AUTO_TEST_CASE(placeholders_are_replaced_in_each_argument) {
    auto production = context_of(7, false, 2);
    auto arguments = expand_arguments({"run", "{recipe_run_id}-{attempt}", "--repo={repo}", "{prune}", "{head_sha}",
                                       "{feedstock_spec}", "{recipe_id}", "{is_test}", "{dataset_path}", "{dataset_url}"},
                                      production);
    BOOST_TEST(arguments == (std::vector<std::string>{"run", "7-2", "--repo=https://github.com/pangeo-forge/gpcp-feedstock",
                                                      "abc123", "pangeo-forge/gpcp-feedstock", "gpcp", "false",
                                                      "gs://bucket/pangeo-forge/gpcp-feedstock/gpcp",
                                                      "https://data/pangeo-forge/gpcp-feedstock/gpcp"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(prune_alone_vanishes_for_production_and_is_a_flag_for_a_test_run) {
    std::vector<std::string> command{"bake", "{prune}", "x{prune}y"};
    BOOST_TEST(expand_arguments(command, context_of(1, false)) == (std::vector<std::string>{"bake", "xy"}),
               boost::test_tools::per_element());
    BOOST_TEST(expand_arguments(command, context_of(1, true)) == (std::vector<std::string>{"bake", "--prune", "x--pruney"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(braces_that_are_no_placeholder_are_kept) {
    auto arguments = expand_arguments({"${HOME}", "{\"a\": {recipe_run_id}}", "{nope}", "{", "}{"}, context_of(3, false));
    BOOST_TEST(arguments == (std::vector<std::string>{"${HOME}", "{\"a\": 3}", "{nope}", "{", "}{"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_environment_names_the_run) {
    auto variables = run_environment(context_of(12, true, 3));
    std::map<std::string, std::string> by_name(variables.begin(), variables.end());
    BOOST_TEST(by_name["PANGEO_FORGE_RECIPE_RUN_ID"] == "12");
    BOOST_TEST(by_name["PANGEO_FORGE_RECIPE_ID"] == "gpcp");
    BOOST_TEST(by_name["PANGEO_FORGE_HEAD_SHA"] == "abc123");
    BOOST_TEST(by_name["PANGEO_FORGE_FEEDSTOCK_SPEC"] == "pangeo-forge/gpcp-feedstock");
    BOOST_TEST(by_name["PANGEO_FORGE_IS_TEST"] == "true");
    BOOST_TEST(by_name["PANGEO_FORGE_ATTEMPT"] == "3");
    BOOST_TEST(by_name["PANGEO_FORGE_DATASET_PATH"] == "gs://bucket/test/pangeo-forge/gpcp-feedstock/recipe-run-12/gpcp");
    BOOST_TEST(run_environment(context_of(1, false))[4].second == "false");
}

BOOST_AUTO_TEST_CASE(sub_paths_and_public_urls_follow_the_upstream_layout) {
    auto production = context_of(5, false).claim.run;
    auto test_run = context_of(5, true).claim.run;
    BOOST_TEST(dataset_sub_path(production) == "pangeo-forge/gpcp-feedstock/gpcp");
    BOOST_TEST(dataset_sub_path(test_run) == "test/pangeo-forge/gpcp-feedstock/recipe-run-5/gpcp");
    StorageSettings storage{"gs://b", "https://storage.googleapis.com/b/{path}.zarr?{path}"};
    BOOST_TEST(*dataset_public_url(storage, "a/b") == "https://storage.googleapis.com/b/a/b.zarr?a/b");
    BOOST_TEST(!dataset_public_url(StorageSettings{"gs://b", ""}, "a/b"));
}

BOOST_AUTO_TEST_CASE(output_lines_are_the_runners_json_protocol) {
    auto submitted = parse_output_line(R"({"status": "submitted", "job_name": "a6c6f", "job_id": "2023-01-01_1"})");
    BOOST_TEST((submitted.kind == OutputLine::Kind::submitted));
    BOOST_TEST(*submitted.job_name == "a6c6f");
    BOOST_TEST(*submitted.job_id == "2023-01-01_1");
    auto numeric = parse_output_line(R"({"status": "submitted", "job_id": 42})");
    BOOST_TEST(*numeric.job_id == "42");
    BOOST_TEST(!numeric.job_name);
    auto progress = parse_output_line(R"({"status": "fetching", "message": "cloning"})");
    BOOST_TEST((progress.kind == OutputLine::Kind::progress));
    BOOST_TEST(progress.json["message"] == "cloning");
    BOOST_TEST((parse_output_line("Cloning into 'feedstock'...").kind == OutputLine::Kind::text));
    BOOST_TEST((parse_output_line("42").kind == OutputLine::Kind::text));
    BOOST_TEST((parse_output_line("{\"status\": \"submitted\"").kind == OutputLine::Kind::text));
    BOOST_TEST((parse_output_line("{\"status\": \"done\"}\r").kind == OutputLine::Kind::progress));
}

BOOST_AUTO_TEST_CASE(the_error_tail_keeps_the_last_lines_within_its_bounds) {
    OutputTail tail(3, 1024);
    tail.append("one\ntwo\nthr");
    tail.append("ee\nfour\nfi");
    BOOST_TEST(tail.text() == "three\nfour\nfi");
    OutputTail bytes(50, 10);
    bytes.append("aaaa\nbbbb\ncccc\n");
    BOOST_TEST(bytes.text().size() <= 10u);
    BOOST_TEST(contains(bytes.text(), "cccc"));
    OutputTail endless(50, 16);
    for (int i = 0; i < 10000; ++i) endless.append("0123456789");
    endless.append("END");
    BOOST_TEST(endless.text().size() == 16u);
    BOOST_TEST(endless.text().substr(13) == "END");
}

BOOST_AUTO_TEST_CASE(output_is_split_into_lines_cut_at_their_cap) {
    worker::detail::LineSplitter splitter(5);
    std::vector<std::pair<std::string, bool>> lines;
    auto each = [&](const std::string& line, bool cut) { lines.emplace_back(line, cut); };
    splitter.feed("ab", each);
    splitter.feed("c\n0123456789", each);
    splitter.feed("abc\n\n12345\nend", each);
    splitter.finish(each);
    std::vector<std::pair<std::string, bool>> expected{
        {"abc", false}, {"01234", true}, {"", false}, {"12345", false}, {"end", false}};
    BOOST_TEST((lines == expected));
    lines.clear();
    worker::detail::LineSplitter none(0);
    none.feed("x", each);
    none.finish(each);
    BOOST_TEST((lines == std::vector<std::pair<std::string, bool>>{{"", true}}));
}

// fuzz_worker_output: a tail cut inside a character, or of output that is no UTF-8, made a
// trace that nlohmann::json cannot dump, so the client could not send its report.
BOOST_AUTO_TEST_CASE(the_error_tail_is_utf8_within_its_bounds) {
    auto dumps = [](const std::string& text) {
        try {
            (void)json(text).dump();
            return true;
        } catch (const json::type_error&) {
            return false;
        }
    };
    OutputTail cut(50, 5);
    cut.append("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");  // three euro signs, 9 bytes
    BOOST_TEST(dumps(cut.text()));
    BOOST_TEST(cut.text().size() <= 5u);
    BOOST_TEST(cut.text().substr(cut.text().size() - 3) == "\xe2\x82\xac");
    OutputTail latin1(50, 1024);
    latin1.append("caf\xe9\nna\xef" "ve\n");
    BOOST_TEST(latin1.text() == "caf\xef\xbf\xbd\nna\xef\xbf\xbdve");
    OutputTail tight(50, 4);
    tight.append("\xff\xff\xff\xff");
    BOOST_TEST(dumps(tight.text()));
    BOOST_TEST(tight.text().size() <= 4u);
    OutputTail fine(50, 1024);
    fine.append("caf\xc3\xa9 \xf0\x9f\x8d\x9e\n");
    BOOST_TEST(fine.text() == "caf\xc3\xa9 \xf0\x9f\x8d\x9e");
}

BOOST_AUTO_TEST_CASE(the_default_command_is_the_runners_bake) {
    auto command = default_command();
    BOOST_TEST(command.front() == "pangeo-forge-runner");
    auto production = expand_arguments(command, context_of(1, false));
    BOOST_TEST(production == (std::vector<std::string>{"pangeo-forge-runner", "bake", "--repo",
                                                        "https://github.com/pangeo-forge/gpcp-feedstock", "--ref",
                                                        "abc123", "--json", "--Bake.recipe_id=gpcp"}),
               boost::test_tools::per_element());
    BOOST_TEST(expand_arguments(command, context_of(1, true)).back() == "--prune");
}

BOOST_AUTO_TEST_CASE(options_out_of_range_are_refused_by_name) {
    NoQueue queue;
    auto refused = [&](WorkerOptions options) -> std::string {
        try {
            Worker worker(queue, options);
        } catch (const ConfigError& e) {
            return e.what();
        }
        return "";
    };
    WorkerOptions options;
    options.bakery = "ldeo";
    BOOST_TEST(refused(options).empty());
    BOOST_TEST(contains(refused(WorkerOptions{}), "bakery"));
    auto none_at_once = options;
    none_at_once.concurrency = 0;
    BOOST_TEST(contains(refused(none_at_once), "concurrency is 0"));
    auto no_lease = options;
    no_lease.lease = 0s;
    BOOST_TEST(contains(refused(no_lease), "lease is 0 s"));
    auto deadline = options;
    deadline.job_deadline = std::chrono::hours(24 * 31);
    BOOST_TEST(contains(refused(deadline), "job_deadline is 2678400 s: give 1 to 2592000 seconds"), refused(deadline));
    // Each message gives the value that was sent.
    auto no_poll = options;
    no_poll.poll = 0ms;
    BOOST_TEST(contains(refused(no_poll), "poll is 0 ms: give 1 ms or more"), refused(no_poll));
    auto no_backoff = options;
    no_backoff.max_backoff = -3ms;
    BOOST_TEST(contains(refused(no_backoff), "max_backoff is -3 ms: give 1 ms or more"), refused(no_backoff));
    auto drain = options;
    drain.drain_grace = -1ms;
    BOOST_TEST(contains(refused(drain), "drain_grace is -1 ms: give 0 ms or more"), refused(drain));
    auto kill = options;
    kill.kill_grace = -2ms;
    BOOST_TEST(contains(refused(kill), "kill_grace is -2 ms: give 0 ms or more"), refused(kill));
}

BOOST_AUTO_TEST_CASE(a_worker_is_named_after_its_host_and_process) {
    NoQueue queue;
    WorkerOptions options;
    options.bakery = "ldeo";
    Worker worker(queue, options);
    BOOST_TEST(contains(worker.name(), ":" + std::to_string(getpid())));
    BOOST_TEST(worker.name().front() != ':');
    // PID 1 in every container: a few random characters tell the workers apart.
    BOOST_TEST(std::regex_match(worker.name(), std::regex(".+:" + std::to_string(getpid()) + ":[0-9a-f]{4}")),
               worker.name());
    std::set<std::string> names;
    for (int i = 0; i < 8; ++i) names.insert(default_worker_name());
    BOOST_TEST(names.size() > 1u);
}

BOOST_AUTO_TEST_CASE(once_with_nothing_queued_returns_at_once) {
    NoQueue queue;
    WorkerOptions options;
    options.bakery = "ldeo";
    options.once = true;
    Worker worker(queue, options);
    BOOST_TEST((worker.run() == WorkerSummary{}));
}

BOOST_AUTO_TEST_SUITE_END()

// --- against an in-process orchestrator, on both backends -----------------------------------

PANGEO_FORGE_DATABASE_TEST(a_command_that_succeeds_completes_its_run_with_the_dataset_url) {
    Fixture f(database);
    Folder folder;
    auto production = f.queue(false);
    auto test_run = f.queue(true);
    f.options.once = true;
    f.options.command = bash("echo \"$1 $2 $3 $PANGEO_FORGE_RECIPE_RUN_ID $PANGEO_FORGE_IS_TEST $PANGEO_FORGE_ATTEMPT\" >> " +
                             folder.file("runs") + "; echo '{\"status\": \"running\"}'; echo plain words");
    f.options.command.insert(f.options.command.end(), {"cmd", "{recipe_run_id}", "{attempt}", "{prune}"});
    auto summary = Worker(f.forge, f.options).run();
    BOOST_TEST(summary.claimed == 2);
    BOOST_TEST(summary.succeeded == 2);
    auto ran = test::file_text(folder.file("runs"));
    BOOST_TEST(contains(ran, std::to_string(production) + " 1  " + std::to_string(production) + " false 1\n"), ran);
    BOOST_TEST(contains(ran, std::to_string(test_run) + " 1 --prune " + std::to_string(test_run) + " true 1\n"), ran);
    auto done = f.run(production);
    BOOST_TEST((done.status == RecipeRunStatus::completed));
    BOOST_TEST((done.conclusion == RecipeRunConclusion::success));
    BOOST_TEST(*done.dataset_public_url == "https://data.example/pangeo-forge/gpcp-feedstock/gpcp");
    BOOST_TEST((done.dataset_type == DatasetType::zarr));
    BOOST_TEST(*f.run(test_run).dataset_public_url ==
               "https://data.example/test/pangeo-forge/gpcp-feedstock/recipe-run-" + std::to_string(test_run) + "/gpcp");
    auto log = f.lines.all();
    BOOST_TEST(contains(log, "{\"status\":\"running\"}"), log);
    BOOST_TEST(contains(log, ": plain words"), log);
}

PANGEO_FORGE_DATABASE_TEST(a_failing_command_fails_its_run_with_the_end_of_its_error_output) {
    Fixture f(database);
    auto id = f.queue();
    f.options.once = true;
    f.options.command = bash("for i in $(seq 1 200); do echo \"problem $i\" >&2; done; exit 3");
    auto summary = Worker(f.forge, f.options).run();
    BOOST_TEST(summary.failed == 1);
    auto run = f.run(id);
    BOOST_TEST((run.conclusion == RecipeRunConclusion::failure));
    auto trace = json::parse(*run.message)["trace"].get<std::string>();
    BOOST_TEST(contains(trace, "problem 200\n"), trace);
    BOOST_TEST(contains(trace, "exited with status 3"), trace);
    BOOST_TEST(!contains(trace, "problem 100\n"), trace);  // 50 lines kept
}

PANGEO_FORGE_DATABASE_TEST(a_command_that_cannot_start_fails_its_run) {
    Fixture f(database);
    auto id = f.queue();
    f.options.once = true;
    f.options.command = {"/no/such/program-of-pangeo-forge", "{recipe_id}"};
    Worker(f.forge, f.options).run();
    auto run = f.run(id);
    BOOST_TEST((run.conclusion == RecipeRunConclusion::failure));
    BOOST_TEST(contains(*run.message, "could not start"), *run.message);
    BOOST_TEST(contains(*run.message, "No such file or directory"), *run.message);
}

PANGEO_FORGE_DATABASE_TEST(a_submitted_job_leaves_the_run_in_progress_until_its_own_report) {
    Fixture f(database);
    auto id = f.queue();
    f.options.once = true;
    f.options.command = bash("echo '{\"status\": \"submitted\", \"job_name\": \"a6c6f\", \"job_id\": \"job-17\"}'");
    auto summary = Worker(f.forge, f.options).run();
    BOOST_TEST(summary.submitted == 1);
    auto run = f.run(id);
    BOOST_TEST((run.status == RecipeRunStatus::in_progress));
    BOOST_TEST(contains(*run.message, "job-17"));
    BOOST_TEST(contains(*run.message, "a6c6f"));
    orchestrator::Report done;
    done.outcome = Outcome::success;
    done.dataset_public_url = "https://data.example/x";
    done.dataset_type = DatasetType::zarr;
    BOOST_TEST((f.forge.complete(id, done).conclusion == RecipeRunConclusion::success));
}

// A 'submitted' line that names no job made a report the queue refuses: the run was left
// to its lease and run again. It is a failure that says why.
PANGEO_FORGE_DATABASE_TEST(a_submitted_line_that_names_no_job_is_a_failure) {
    Fixture f(database);
    auto id = f.queue();
    f.options.once = true;
    f.options.command = bash("echo '{\"status\": \"submitted\", \"job_id\": null}'");
    auto summary = Worker(f.forge, f.options).run();
    BOOST_TEST(summary.failed == 1);
    BOOST_TEST(summary.unreported == 0);
    auto run = f.run(id);
    BOOST_TEST((run.conclusion == RecipeRunConclusion::failure));
    BOOST_TEST(contains(*run.message, "named none"), *run.message);
}

PANGEO_FORGE_DATABASE_TEST(a_cancelled_run_has_its_process_group_stopped_and_nothing_reported) {
    Fixture f(database);
    Folder folder;
    auto id = f.queue();
    f.options.lease = 3s;  // a heartbeat a second
    // bash and a background child: the whole group must go.
    f.options.command = bash("echo $$ > " + folder.file("pid") + "; sleep 1000 & sleep 1000; wait");
    Running running(f.forge, f.options);
    BOOST_REQUIRE(eventually([&] { return !test::file_text(folder.file("pid")).empty(); }));
    pid_t group = std::stoi(test::file_text(folder.file("pid")));
    BOOST_TEST(!group_gone(group));
    RecipeRunUpdate cancel;
    cancel.conclusion = std::optional<RecipeRunConclusion>(RecipeRunConclusion::cancelled);
    f.forge.update(id, cancel);
    BOOST_TEST(eventually([&] { return group_gone(group); }, 10s));
    auto summary = running.stop();
    BOOST_TEST(summary.stopped == 1);
    BOOST_TEST(summary.succeeded + summary.failed + summary.released == 0);
    BOOST_TEST((f.run(id).conclusion == RecipeRunConclusion::cancelled));
    BOOST_TEST(contains(f.lines.all(), "cancelled"), f.lines.all());
}

PANGEO_FORGE_DATABASE_TEST(a_run_taken_over_by_another_attempt_is_stopped_and_not_reported) {
    Fixture f(database);
    auto id = f.queue();
    f.options.lease = 3s;
    std::atomic<bool> started{false};
    std::atomic<int> seen_reason{0};
    f.options.function = [&](const RunContext&, const StopToken& stop) {
        started = true;
        stop.wait_for(30s);
        seen_reason = static_cast<int>(stop.reason());
        return ExecutorResult{};  // a success it must not report
    };
    Running running(f.forge, f.options);
    BOOST_REQUIRE(eventually([&] { return started.load(); }));
    f.let_lease_run_out(id);  // as if this worker had lost the network
    auto other = f.forge.claim({"ldeo", "other-worker", 60s});
    BOOST_REQUIRE(other);
    BOOST_TEST(other->attempt == 2);
    BOOST_TEST(eventually([&] { return seen_reason.load() != 0; }, 10s));
    BOOST_TEST((static_cast<StopReason>(seen_reason.load()) == StopReason::fenced));
    auto summary = running.stop();
    BOOST_TEST(summary.stopped == 1);
    BOOST_TEST(summary.succeeded == 0);
    auto run = f.run(id);
    BOOST_TEST((run.status == RecipeRunStatus::in_progress));  // attempt 2's, untouched
    orchestrator::Report late;
    late.attempt = 1;
    late.outcome = Outcome::failure;
    late.trace = "late";
    BOOST_CHECK_THROW(f.forge.complete(id, late), Conflict);
}

PANGEO_FORGE_DATABASE_TEST(heartbeats_keep_a_long_run_on_its_first_attempt) {
    Fixture f(database);
    auto id = f.queue();
    f.options.lease = 1s;
    f.options.once = true;
    f.options.function = [&](const RunContext& context, const StopToken& stop) {
        for (int i = 0; i < 6; ++i) {
            stop.wait_for(500ms);
            f.forge.expire_leases();  // a sweeper that would take the run back without heartbeats
        }
        ExecutorResult result;
        result.dataset_public_url = "memory://" + std::to_string(context.attempt());
        return result;
    };
    auto summary = Worker(f.forge, f.options).run();
    BOOST_TEST(summary.succeeded == 1);
    BOOST_TEST(*f.run(id).dataset_public_url == "memory://1");
}

PANGEO_FORGE_DATABASE_TEST(a_stop_lets_running_commands_finish_within_the_drain_grace) {
    Fixture f(database);
    Folder folder;
    auto id = f.queue();
    f.options.drain_grace = 30s;
    f.options.command = bash("touch " + folder.file("started") + "; sleep 1; echo done > " + folder.file("finished"));
    Running running(f.forge, f.options);
    BOOST_REQUIRE(eventually([&] { return std::filesystem::exists(folder.file("started")); }));
    auto summary = running.stop();
    BOOST_TEST(summary.succeeded == 1);
    BOOST_TEST(test::file_text(folder.file("finished")) == "done\n");
    BOOST_TEST((f.run(id).conclusion == RecipeRunConclusion::success));
}

PANGEO_FORGE_DATABASE_TEST(past_the_drain_grace_a_running_command_is_stopped_and_its_run_released) {
    Fixture f(database);
    Folder folder;
    auto id = f.queue();
    f.options.drain_grace = 300ms;
    f.options.kill_grace = 1s;
    // It ignores SIGTERM: only the SIGKILL after the kill grace ends it.
    f.options.command = bash("trap '' TERM; echo $$ > " + folder.file("pid") + "; while true; do sleep 0.1; done");
    Running running(f.forge, f.options);
    BOOST_REQUIRE(eventually([&] { return !test::file_text(folder.file("pid")).empty(); }));
    pid_t group = std::stoi(test::file_text(folder.file("pid")));
    auto summary = running.stop();
    BOOST_TEST(summary.released == 1);
    BOOST_TEST(group_gone(group));
    auto run = f.run(id);
    BOOST_TEST((run.status == RecipeRunStatus::queued));
    auto next = f.forge.claim({"ldeo", "next", 60s});
    BOOST_REQUIRE(next);
    BOOST_TEST(next->attempt == 2);
}

PANGEO_FORGE_DATABASE_TEST(many_runs_on_several_slots_each_run_once) {
    Fixture f(database);
    std::set<std::int64_t> queued;
    for (int i = 0; i < 12; ++i) queued.insert(f.queue(i % 3 == 0));
    std::mutex mutex;
    std::multiset<std::int64_t> executed;
    std::atomic<int> at_once{0}, most_at_once{0};
    f.options.once = true;
    f.options.concurrency = 3;
    f.options.function = [&](const RunContext& context, const StopToken&) {
        int now = ++at_once;
        for (int seen = most_at_once; now > seen && !most_at_once.compare_exchange_weak(seen, now);) {
        }
        std::this_thread::sleep_for(50ms);
        {
            std::lock_guard lock(mutex);
            executed.insert(context.recipe_run().id);
        }
        --at_once;
        if (context.recipe_run().is_test) throw std::runtime_error("test runs fail here");
        return ExecutorResult{};
    };
    auto summary = Worker(f.forge, f.options).run();
    BOOST_TEST(summary.claimed == 12);
    BOOST_TEST(summary.succeeded == 8);
    BOOST_TEST(summary.failed == 4);
    BOOST_TEST(std::set<std::int64_t>(executed.begin(), executed.end()) == queued);
    BOOST_TEST(executed.size() == 12u);
    BOOST_TEST(most_at_once.load() <= 3);
    for (auto id : queued) {
        auto run = f.run(id);
        BOOST_TEST((run.status == RecipeRunStatus::completed));
        if (run.is_test) BOOST_TEST(contains(*run.message, "test runs fail here"));
    }
}

PANGEO_FORGE_DATABASE_TEST(a_lost_server_is_waited_out_and_a_lost_report_sent_again) {
    Fixture f(database);
    auto id = f.queue();
    FlakyQueue flaky(f.forge);
    flaky.claim_failures = 2;
    flaky.complete_failures = 1;
    flaky.apply_before_failing = true;  // the first report landed; its answer did not
    f.options.once = true;
    f.options.function = [](const RunContext&, const StopToken&) { return ExecutorResult{}; };
    auto summary = Worker(flaky, f.options).run();
    // The second send meets the run the first one completed: refused, and the run is as the
    // first report left it, once.
    BOOST_TEST(flaky.complete_calls.load() == 2);
    BOOST_TEST(summary.claimed == 1);
    BOOST_TEST(summary.stopped == 1);
    BOOST_TEST((f.run(id).conclusion == RecipeRunConclusion::success));
    auto log = f.lines.all();
    BOOST_TEST(contains(log, "claim failed, trying again"), log);
    BOOST_TEST(contains(log, "report of success failed, trying again"), log);
    BOOST_TEST(contains(log, "an earlier send whose answer was lost may have landed"), log);
}

PANGEO_FORGE_DATABASE_TEST(a_report_is_sent_again_until_the_server_answers) {
    Fixture f(database);
    auto id = f.queue();
    FlakyQueue flaky(f.forge);
    flaky.complete_failures = 3;
    f.options.once = true;
    f.options.function = [](const RunContext&, const StopToken&) {
        ExecutorResult result;
        result.outcome = Outcome::failure;
        result.trace = "it broke";
        return result;
    };
    auto summary = Worker(flaky, f.options).run();
    BOOST_TEST(summary.failed == 1);
    BOOST_TEST(flaky.complete_calls.load() == 4);
    BOOST_TEST(contains(*f.run(id).message, "it broke"));
}

PANGEO_FORGE_DATABASE_TEST(a_bakery_that_does_not_exist_ends_the_run_with_not_found) {
    Fixture f(database);
    f.options.bakery = "nobody";
    BOOST_CHECK_THROW(Worker(f.forge, f.options).run(), NotFound);
}

PANGEO_FORGE_DATABASE_TEST(a_cancelled_command_whose_children_are_orphans_of_the_worker_ends_promptly) {
    // As when the worker is PID 1 (a container's entrypoint): the command's orphans are the
    // worker's children, and a stopped command's group is gone only once they are reaped.
    Fixture f(database);
    Folder folder;
    auto id = f.queue();
    f.options.lease = 3s;  // a heartbeat a second
    f.options.kill_grace = 1s;
    f.options.command = bash("echo $$ > " + folder.file("pid") + "; (sleep 300 & echo $! > " + folder.file("orphan") +
                             "); sh -c 'sleep 300 & sleep 300 & wait'");
    Running running(f.forge, f.options);
    BOOST_REQUIRE(eventually([&] { return !test::file_text(folder.file("orphan")).empty(); }));
    pid_t group = std::stoi(test::file_text(folder.file("pid")));
    pid_t orphan = std::stoi(test::file_text(folder.file("orphan")));
    int subreaper = 0;
    prctl(PR_GET_CHILD_SUBREAPER, &subreaper);
    BOOST_TEST(subreaper == 1);
    std::string stat = test::file_text("/proc/" + std::to_string(orphan) + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string state;
    pid_t parent = 0;
    fields >> state >> parent;
    BOOST_TEST(parent == getpid(), "the orphan's parent is " << parent);
    RecipeRunUpdate cancel;
    cancel.conclusion = std::optional<RecipeRunConclusion>(RecipeRunConclusion::cancelled);
    f.forge.update(id, cancel);
    const bool ended = eventually([&] { return contains(f.lines.all(), "stopped (cancelled)"); }, 8s);
    BOOST_TEST(ended, f.lines.all());
    if (!ended) {
        kill(-group, SIGKILL);
        while (waitpid(-group, nullptr, WNOHANG) > 0) {
        }
    }
    BOOST_TEST(group_gone(group));
    BOOST_TEST(running.stop().stopped == 1);
}

PANGEO_FORGE_DATABASE_TEST(a_command_inherits_no_descriptor_but_its_standard_streams) {
    Fixture f(database);
    Folder folder;
    f.queue();
    // One the process left open on exec, as libcurl's sockets are.
    int leaked = ::open("/dev/null", O_RDONLY);
    BOOST_REQUIRE(leaked > 2);
    f.options.once = true;
    f.options.command = bash("ls /proc/self/fd > " + folder.file("fds"));
    auto summary = Worker(f.forge, f.options).run();
    ::close(leaked);
    BOOST_TEST(summary.succeeded == 1);
    std::istringstream listed(test::file_text(folder.file("fds")));
    std::set<int> fds;
    for (int fd; listed >> fd;) fds.insert(fd);
    // 0, 1, 2 and the one ls reads the folder with.
    BOOST_TEST(fds.size() == 4u, test::file_text(folder.file("fds")));
    BOOST_TEST((fds.count(0) + fds.count(1) + fds.count(2)) == 3u);
    BOOST_TEST(fds.count(leaked) == 0u);
}

PANGEO_FORGE_DATABASE_TEST(a_command_that_submitted_its_job_is_reported_submitted_when_the_worker_drains) {
    Fixture f(database);
    Folder folder;
    auto id = f.queue();
    f.options.drain_grace = 300ms;
    f.options.kill_grace = 1s;
    // The runner submitted the job, then waits on it: stopping it must not give the run back
    // (another claim would submit a second job).
    f.options.command = bash("echo '{\"status\": \"submitted\", \"job_name\": \"a6c6f\", \"job_id\": \"job-9\"}'; touch " +
                             folder.file("submitted") + "; sleep 300");
    Running running(f.forge, f.options);
    BOOST_REQUIRE(eventually([&] { return std::filesystem::exists(folder.file("submitted")); }));
    BOOST_REQUIRE(eventually([&] { return contains(f.lines.all(), "job-9"); }));
    auto summary = running.stop();
    BOOST_TEST(summary.submitted == 1);
    BOOST_TEST(summary.released == 0);
    auto run = f.run(id);
    BOOST_TEST((run.status == RecipeRunStatus::in_progress));
    BOOST_TEST(contains(run.message.value_or(""), "job-9"));
    BOOST_TEST(!f.forge.claim({"ldeo", "next", 60s, {}}));
}

PANGEO_FORGE_DATABASE_TEST(a_worker_that_cannot_renew_its_lease_stops_its_command_when_the_lease_runs_out) {
    Fixture f(database);
    Folder folder;
    auto id = f.queue();
    FlakyQueue flaky(f.forge);
    f.options.lease = 2s;
    f.options.kill_grace = 1s;
    f.options.command = bash("echo $$ > " + folder.file("pid") + "; sleep 300 & wait");
    Running running(flaky, f.options);
    BOOST_REQUIRE(eventually([&] { return !test::file_text(folder.file("pid")).empty(); }));
    pid_t group = std::stoi(test::file_text(folder.file("pid")));
    flaky.heartbeats_fail = true;  // the server is out of reach from now on
    auto lost_at = std::chrono::steady_clock::now();
    // The lease is 2 s from the last granted heartbeat: the command must be gone soon after.
    BOOST_TEST(eventually([&] { return group_gone(group); }, 6s), f.lines.all());
    BOOST_TEST((std::chrono::steady_clock::now() - lost_at < 5s));
    BOOST_TEST(flaky.failed_heartbeats.load() >= 1);
    // (It may claim the run again meanwhile, the server having taken it back: it is stopped
    // the same way, the heartbeats still failing.)
    auto summary = running.stop();
    BOOST_TEST(summary.stopped >= 1);
    BOOST_TEST(summary.succeeded + summary.failed + summary.released == 0);
    BOOST_TEST(flaky.complete_calls.load() == 0);
    BOOST_TEST(contains(f.lines.all(), "the lease ran out locally"), f.lines.all());
    BOOST_TEST((f.run(id).status != RecipeRunStatus::completed));  // the server's, to take back
}

PANGEO_FORGE_DATABASE_TEST(claims_carry_a_token_that_a_retried_claim_sends_again) {
    Fixture f(database);
    f.queue();
    FlakyQueue flaky(f.forge);
    flaky.claim_failures = 2;  // the answers of two sends were lost
    f.options.once = true;
    f.options.function = [](const RunContext&, const StopToken&) { return ExecutorResult{}; };
    auto summary = Worker(flaky, f.options).run();
    BOOST_TEST(summary.succeeded == 1);
    auto tokens = flaky.tokens();
    BOOST_REQUIRE(tokens.size() == 4u);  // 2 lost, the claim, the one that found nothing
    BOOST_TEST(std::regex_match(tokens[0], std::regex("[0-9a-f]{32}")), tokens[0]);
    BOOST_TEST(tokens[1] == tokens[0]);
    BOOST_TEST(tokens[2] == tokens[0]);
    BOOST_TEST(tokens[3] != tokens[0]);  // a new claim, a new token
    BOOST_TEST(std::regex_match(tokens[3], std::regex("[0-9a-f]{32}")), tokens[3]);
}
