#define BOOST_TEST_MODULE worker_processes
#include <boost/test/unit_test.hpp>

// Real `pangeo-forge serve` and `pangeo-forge worker` processes on one database: runs
// executed once by many workers, a worker killed mid-run, failures, submitted jobs,
// cancellation, a server restarted under polling workers, SIGTERM.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/scratch_database.hpp"

extern char** environ;

using namespace pangeo_forge;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const char* const api_key = "worker-process-test-key";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds within = 30s) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return condition();
}

bool group_gone(pid_t group) { return kill(-group, 0) != 0 && errno == ESRCH; }

// A process of the pangeo-forge command, its output (both streams) in `log`.
struct Process : test::Process {
    Process(const std::vector<std::string>& args, std::string log_path)
        : test::Process(PANGEO_FORGE_COMMAND, args, std::move(log_path)) {}
};

// A folder for the logs and the commands' files; a server on the scratch database.
struct Setup {
    explicit Setup(test::ScratchDatabase& database) : url(database.url()) {
        setenv("PANGEO_FORGE_API_KEY", api_key, 1);
        folder = std::filesystem::temp_directory_path() /
                 ("pangeo_forge_worker_processes_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
        std::filesystem::create_directories(folder);
        Process upgrade({"db", "--url", url, "upgrade", "head"}, file("upgrade.log"));
        BOOST_REQUIRE_MESSAGE(upgrade.wait() == 0, test::file_text(file("upgrade.log")));
        start_server(0);
        http = std::make_unique<test::HttpClient>(port);
        bakery = post("/bakeries/", {{"region", "local"}, {"name", "ldeo"}, {"description", "d"}})["id"];
        feedstock = post("/feedstocks/", {{"spec", "pangeo-forge/gpcp-feedstock"}})["id"];
    }
    ~Setup() {
        for (auto group : groups_to_kill) kill(-group, SIGKILL);
        workers.clear();
        server.reset();
        std::filesystem::remove_all(folder);
    }

    std::string file(const std::string& name) const { return (folder / name).string(); }

    // `serve` on `at` (0: a free port, read from its first line).
    void start_server(int at) {
        server = std::make_unique<Process>(
            std::vector<std::string>{"serve", "--url", url, "--port", std::to_string(at), "--threads", "4"},
            file("server.log"));
        std::smatch match;
        static const std::regex serving("on http://127\\.0\\.0\\.1:([0-9]+)");
        auto seen = eventually([&] {
            auto text = test::file_text(file("server.log"));
            // The last "serving" line: a restart appends to the same log.
            std::string last;
            for (std::sregex_iterator it(text.begin(), text.end(), serving), end; it != end; ++it) last = (*it)[1];
            if (last.empty() || (at != 0 && std::stoi(last) != at) || (restarts > 0 && count_serving(text) <= restarts)) {
                return false;
            }
            port = std::stoi(last);
            return true;
        });
        BOOST_REQUIRE_MESSAGE(seen, "the server did not start:\n" << test::file_text(file("server.log")));
        ++restarts;
    }
    static int count_serving(const std::string& text) {
        int count = 0;
        for (auto at = text.find("serving "); at != std::string::npos; at = text.find("serving ", at + 1)) ++count;
        return count;
    }

    json post(const std::string& target, const json& body, int expected = 200) {
        auto reply = http->post(target, body.dump(), {{"x-api-key", api_key}, {"content-type", "application/json"}});
        BOOST_REQUIRE_MESSAGE(reply.status == expected, target << ": " << reply.status << " " << reply.body);
        return reply.body.empty() ? json() : json::parse(reply.body);
    }
    json patch(const std::string& target, const json& body) {
        auto reply = http->send("PATCH", target, {{"x-api-key", api_key}, {"content-type", "application/json"}}, body.dump());
        BOOST_REQUIRE_MESSAGE(reply.status == 200, target << ": " << reply.status << " " << reply.body);
        return json::parse(reply.body);
    }
    json run(std::int64_t id) {
        auto reply = http->get("/recipe_runs/" + std::to_string(id));
        BOOST_REQUIRE_MESSAGE(reply.status == 200, reply.body);
        return json::parse(reply.body);
    }
    bool completed(std::int64_t id) { return run(id)["status"] == "completed"; }

    std::int64_t queue(bool is_test = false) {
        return post("/recipe_runs/", {{"recipe_id", "gpcp"}, {"bakery_id", bakery}, {"feedstock_id", feedstock},
                                      {"head_sha", "abc123"}, {"version", "1.0"}, {"is_test", is_test},
                                      {"started_at", "2021-01-01T00:00:00Z"}})["id"];
    }

    // `pangeo-forge worker` for the bakery, with `extra` options, running `command`.
    Process& worker(const std::string& name, const std::vector<std::string>& extra, const std::vector<std::string>& command) {
        std::vector<std::string> args{"worker", "--server", "http://127.0.0.1:" + std::to_string(port), "--bakery", "ldeo",
                                      "--name", name, "--poll", "0.2"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.push_back("--");
        args.insert(args.end(), command.begin(), command.end());
        workers.push_back(std::make_unique<Process>(args, file(name + ".log")));
        return *workers.back();
    }

    // "<id> <attempt>" lines, as the commands below append them (O_APPEND: whole lines).
    std::map<std::int64_t, std::vector<int>> executions() {
        std::map<std::int64_t, std::vector<int>> out;
        std::istringstream lines(test::file_text(file("executions")));
        std::int64_t id = 0;
        int attempt = 0;
        while (lines >> id >> attempt) out[id].push_back(attempt);
        return out;
    }
    std::vector<std::string> recording(const std::string& then = "true") {
        return {"bash", "-c", "echo \"{recipe_run_id} {attempt}\" >> " + file("executions") + "; " + then};
    }

    std::string url;
    std::filesystem::path folder;
    std::unique_ptr<Process> server;
    std::vector<std::unique_ptr<Process>> workers;
    std::vector<pid_t> groups_to_kill;
    std::unique_ptr<test::HttpClient> http;
    int port = 0;
    int restarts = 0;
    std::int64_t bakery = 0, feedstock = 0;
    static inline int counter = 0;
};

std::string logs_of(Setup& setup) {
    std::string out = "--- server\n" + test::file_text(setup.file("server.log"));
    for (const auto& worker : setup.workers) out += "--- " + worker->log + "\n" + worker->output();
    return out;
}

}  // namespace

PANGEO_FORGE_DATABASE_TEST(many_workers_execute_every_run_exactly_once) {
    Setup setup(database);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 24; ++i) ids.push_back(setup.queue(i % 4 == 0));
    for (int i = 0; i < 4; ++i) setup.worker("w" + std::to_string(i), {"--concurrency", "2", "--once"}, setup.recording("sleep 0.1"));
    for (auto& worker : setup.workers) BOOST_TEST(worker->wait() == 0, logs_of(setup));
    auto executed = setup.executions();
    BOOST_TEST(executed.size() == ids.size(), logs_of(setup));
    for (auto id : ids) {
        BOOST_TEST(executed[id] == std::vector<int>{1}, "run " << id);
        auto run = setup.run(id);
        BOOST_TEST(run["conclusion"] == "success", run.dump());
    }
}

PANGEO_FORGE_DATABASE_TEST(a_run_of_a_killed_worker_comes_back_after_its_lease_for_a_second_attempt) {
    Setup setup(database);
    auto id = setup.queue();
    auto& doomed = setup.worker("doomed", {"--lease", "2"},
                                setup.recording("echo $$ > " + setup.file("doomed.pid") + "; exec sleep 1000"));
    BOOST_REQUIRE_MESSAGE(eventually([&] { return !test::file_text(setup.file("doomed.pid")).empty(); }), logs_of(setup));
    pid_t orphan_group = std::stoi(test::file_text(setup.file("doomed.pid")));
    setup.groups_to_kill.push_back(orphan_group);  // a worker killed -9 cannot stop its command
    doomed.signal(SIGKILL);
    BOOST_TEST(doomed.wait() == -1);
    setup.worker("heir", {"--lease", "2"}, setup.recording());
    BOOST_REQUIRE_MESSAGE(eventually([&] { return setup.completed(id); }), logs_of(setup));
    auto run = setup.run(id);
    BOOST_TEST(run["conclusion"] == "success", run.dump());
    BOOST_TEST(setup.executions()[id] == (std::vector<int>{1, 2}));
    // The dead worker's report arrives late: fenced.
    setup.post("/recipe_runs/" + std::to_string(id) + "/complete",
               {{"attempt", 1}, {"outcome", "failure"}, {"trace", "late"}}, 409);
    BOOST_TEST(setup.run(id)["conclusion"] == "success");
}

PANGEO_FORGE_DATABASE_TEST(a_failing_command_fails_its_run_with_its_error_output) {
    Setup setup(database);
    auto id = setup.queue();
    auto& worker = setup.worker("w", {"--once"}, {"bash", "-c", "echo 'it went wrong: no such variable' >&2; exit 4"});
    BOOST_TEST(worker.wait() == 0, logs_of(setup));
    auto run = setup.run(id);
    BOOST_TEST(run["conclusion"] == "failure", run.dump());
    auto trace = json::parse(run["message"].get<std::string>())["trace"].get<std::string>();
    BOOST_TEST(contains(trace, "it went wrong: no such variable"), trace);
    BOOST_TEST(contains(trace, "exited with status 4"), trace);
}

PANGEO_FORGE_DATABASE_TEST(a_submitted_job_stays_in_progress_until_its_completion_is_posted) {
    Setup setup(database);
    auto id = setup.queue();
    auto& worker = setup.worker(
        "w", {"--once"},
        {"bash", "-c", "echo '{\"status\": \"running\"}'; echo '{\"status\": \"submitted\", \"job_name\": \"a6c6f\", \"job_id\": \"job-{recipe_run_id}\"}'"});
    BOOST_TEST(worker.wait() == 0, logs_of(setup));
    auto run = setup.run(id);
    BOOST_TEST(run["status"] == "in_progress", run.dump());
    auto message = json::parse(run["message"].get<std::string>());
    BOOST_TEST(message["job_name"] == "a6c6f");
    BOOST_TEST(message["job_id"] == "job-" + std::to_string(id));
    auto done = setup.post("/recipe_runs/" + std::to_string(id) + "/complete",
                           {{"outcome", "success"}, {"dataset_public_url", "https://data.example/gpcp"}, {"dataset_type", "zarr"}});
    BOOST_TEST(done["status"] == "completed");
    BOOST_TEST(done["conclusion"] == "success");
}

PANGEO_FORGE_DATABASE_TEST(cancelling_a_run_stops_its_command_process_group) {
    Setup setup(database);
    auto id = setup.queue();
    auto& worker = setup.worker("w", {"--lease", "3"},
                                {"bash", "-c", "echo $$ > " + setup.file("pid") + "; sleep 1000 & sleep 1000; wait"});
    BOOST_REQUIRE_MESSAGE(eventually([&] { return !test::file_text(setup.file("pid")).empty(); }), logs_of(setup));
    pid_t group = std::stoi(test::file_text(setup.file("pid")));
    setup.groups_to_kill.push_back(group);
    BOOST_TEST(!group_gone(group));
    setup.patch("/recipe_runs/" + std::to_string(id), {{"conclusion", "cancelled"}});
    BOOST_TEST(eventually([&] { return group_gone(group); }, 15s), logs_of(setup));
    worker.signal(SIGTERM);
    BOOST_TEST(worker.wait() == 0, logs_of(setup));
    BOOST_TEST(setup.run(id)["conclusion"] == "cancelled");
    BOOST_TEST(contains(worker.output(), "cancelled"), worker.output());
}

PANGEO_FORGE_DATABASE_TEST(a_server_restarted_under_polling_workers_loses_nothing) {
    Setup setup(database);
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 6; ++i) ids.push_back(setup.queue());
    for (int i = 0; i < 2; ++i) setup.worker("w" + std::to_string(i), {"--lease", "15"}, setup.recording("sleep 0.7"));
    BOOST_REQUIRE(eventually([&] { return setup.executions().size() >= 2; }));
    const int port = setup.port;
    setup.server->signal(SIGKILL);
    setup.server->wait();
    std::this_thread::sleep_for(2s);  // runs end meanwhile: their reports must wait
    setup.start_server(port);
    for (int i = 0; i < 4; ++i) ids.push_back(setup.queue());
    BOOST_REQUIRE_MESSAGE(eventually([&] {
                              for (auto id : ids) {
                                  if (!setup.completed(id)) return false;
                              }
                              return true;
                          }, 60s),
                          logs_of(setup));
    auto executed = setup.executions();
    for (auto id : ids) {
        BOOST_TEST(executed[id] == std::vector<int>{1}, "run " << id << "\n" << logs_of(setup));
        BOOST_TEST(setup.run(id)["conclusion"] == "success");
    }
    for (auto& worker : setup.workers) {
        worker->signal(SIGTERM);
        BOOST_TEST(worker->wait() == 0);
    }
}

PANGEO_FORGE_DATABASE_TEST(sigterm_lets_the_running_command_finish_and_report_then_exits_0) {
    Setup setup(database);
    auto id = setup.queue();
    auto& worker = setup.worker("w", {"--drain-grace", "30"},
                                {"bash", "-c", "touch " + setup.file("started") + "; sleep 2; echo done > " + setup.file("finished")});
    BOOST_REQUIRE(eventually([&] { return std::filesystem::exists(setup.file("started")); }));
    worker.signal(SIGTERM);
    BOOST_TEST(worker.wait() == 0, logs_of(setup));
    BOOST_TEST(test::file_text(setup.file("finished")) == "done\n");
    BOOST_TEST(setup.run(id)["conclusion"] == "success");
    BOOST_TEST(contains(worker.output(), "SIGTERM: stopping"), worker.output());
}

PANGEO_FORGE_DATABASE_TEST(sigterm_past_the_drain_grace_gives_the_run_back) {
    Setup setup(database);
    auto id = setup.queue();
    auto& worker = setup.worker("w", {"--drain-grace", "0.5", "--kill-grace", "1"},
                                {"bash", "-c", "echo $$ > " + setup.file("pid") + "; sleep 1000"});
    BOOST_REQUIRE(eventually([&] { return !test::file_text(setup.file("pid")).empty(); }));
    pid_t group = std::stoi(test::file_text(setup.file("pid")));
    setup.groups_to_kill.push_back(group);
    worker.signal(SIGTERM);
    BOOST_TEST(worker.wait() == 0, logs_of(setup));
    BOOST_TEST(group_gone(group));
    BOOST_TEST(setup.run(id)["status"] == "queued");
}
