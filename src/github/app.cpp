// The GitHub App: the webhook entry (verify, record, answer), the threads that handle
// recorded deliveries, the sweep that takes up what was left (pending deliveries, results
// GitHub has not taken yet), and the read routes passed through to GitHub.

#include "pangeo_forge/github/app.hpp"

#include <date/date.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/github/signature.hpp"
#include "github/events.hpp"
#include "github/expand_meta.hpp"
#include "github/flows.hpp"
#include "github/store.hpp"
#include "orchestrator/storage.hpp"
#include "support/sha256.hpp"
#include "support/text.hpp"

namespace pangeo_forge::github {
namespace {

using nlohmann::json;
using detail::PayloadError;

using api::json_response;

api::Response detail_response(int status, const std::string& detail) { return json_response(status, {{"detail", detail}}); }

std::string header(const api::Request& request, const std::string& name) {
    auto found = request.headers.find(name);
    return found == request.headers.end() ? std::string() : found->second;
}

std::vector<std::string> segments_of(const std::string& path) {
    std::vector<std::string> segments;
    std::size_t start = 0;
    while (start < path.size()) {
        auto slash = path.find('/', start);
        if (slash != start) segments.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    return segments;
}

bool all_digits(const std::string& text, std::size_t max = 18) {
    return !text.empty() && text.size() <= max &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_commit_sha(const std::string& text) {
    return text.size() >= 4 && text.size() <= 64 &&
           std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// The events the App reads; check_suite is acknowledged, anything else 501.
bool handled_event(const std::string& event) {
    return event == "pull_request" || event == "issue_comment" || event == "dataflow";
}

// The read routes' options: one retry, and a wait a browser tolerates.
RestOptions reading(RestOptions options) {
    options.retries = std::min(options.retries, 1);
    options.request_timeout = std::min(options.request_timeout, std::chrono::milliseconds(10000));
    options.max_backoff = std::min(options.max_backoff, std::chrono::milliseconds(1000));
    return options;
}

}  // namespace

struct App::Impl {
    orchestrator::Orchestrator& orchestrator;
    db::Database& database;
    AppSettings settings;
    AppOptions options;
    api::Log log;
    Rest rest;
    // The read routes' own client: a server thread waits on each of their calls, so a
    // GitHub that is slow or away costs a reader seconds, not the flows' minutes of retries.
    Rest reader;
    detail::Flows flows;

    std::mutex mutex;
    std::condition_variable work_ready;   // a delivery is queued, or stopping
    std::condition_variable sweep_due;    // the sweep should run now, or stopping
    std::deque<std::int64_t> queue;       // ids of pending deliveries, for the threads
    std::set<std::int64_t> queued;        // the same, to queue each once
    bool sweep_asked = false;
    bool stopping = false;
    std::vector<std::thread> threads;

    Impl(orchestrator::Orchestrator& orchestrator_, db::Database& database_, AppSettings settings_,
         AppOptions options_, api::Log log_)
        : orchestrator(orchestrator_),
          database(database_),
          settings(std::move(settings_)),
          options(std::move(options_)),
          log(std::move(log_)),
          rest(settings.api_url, settings.app_id, settings.private_key_pem, options.rest),
          reader(settings.api_url, settings.app_id, settings.private_key_pem, reading(options.rest)),
          flows(orchestrator, database, rest, settings, options, [this](const std::string& line) { say(line); }) {}

    void say(const std::string& line) const {
        if (!log) return;
        try {
            log("github: " + line);
        } catch (...) {
            // A log that fails loses the line, nothing else.
        }
    }

    void start() {
        // A delivery still "handling" was cut short by a stop: this process is the one
        // that handles this database's deliveries, so it takes them up again.
        if (auto released = detail::release_abandoned_deliveries(database); released > 0) {
            say(std::to_string(released) + " deliveries cut short by the last stop are pending again");
        }
        for (std::size_t i = 0; i < std::max<std::size_t>(options.task_threads, 1); ++i) {
            threads.emplace_back([this] { work(); });
        }
        threads.emplace_back([this] { sweep_loop(); });
    }

    void stop() {
        {
            std::lock_guard lock(mutex);
            stopping = true;
        }
        work_ready.notify_all();
        sweep_due.notify_all();
        for (auto& thread : threads) thread.join();
        threads.clear();
    }

    // --- the webhook entry ------------------------------------------------------------------

    api::Response hook(const api::Request& request) {
        // The signature first: nothing is parsed, recorded or answered in detail before it.
        const std::string signature = header(request, "x-hub-signature-256");
        if (signature.empty()) return detail_response(401, "Request does not include a GitHub hash signature header.");
        if (!signature_valid(settings.webhook_secret, request.body, signature)) {
            return detail_response(401, "Request hash signature invalid.");
        }
        const std::string event = header(request, "x-github-event");
        if (event == "check_suite") return json_response(202, {{"status", "ok"}});
        if (!handled_event(event)) return detail_response(501, "No handling implemented for this event type.");
        // GitHub names each delivery; a callback that does not is named in dataflow().
        std::string guid = header(request, "x-github-delivery");
        if (guid.size() > 200) return detail_response(400, "X-GitHub-Delivery is longer than 200 characters");
        if (!std::all_of(guid.begin(), guid.end(), [](char c) { return c > ' ' && c < 127; })) {
            // Stored as the delivery's name: PostgreSQL refuses bytes that are not UTF-8.
            return detail_response(400, "X-GitHub-Delivery holds a blank, a control character or a byte that is not "
                                        "ASCII: GitHub sends a GUID");
        }
        try {
            if (event == "dataflow") return dataflow(guid, request.body);
            if (guid.empty()) guid = "sha256:" + pangeo_forge::detail::hex_text(pangeo_forge::detail::sha256_digest(request.body));
            json payload = detail::parse_payload(request.body);
            if (event == "pull_request") return pull_request(guid, payload, request.body);
            return issue_comment(guid, payload, request.body);
        } catch (const PayloadError& error) {
            return detail_response(400, error.what());
        }
    }

    model::GithubDeliveryBase delivery_row(const std::string& guid, const std::string& event, const std::string& action,
                                           const std::string& outcome, const std::string& detail,
                                           std::optional<std::string> payload) const {
        model::GithubDeliveryBase row;
        row.delivery_id = guid;
        row.event = event;
        row.action = action;
        row.received_at = orchestrator::storage::now();
        row.outcome = outcome;
        row.detail = detail;
        row.payload = std::move(payload);
        return row;
    }

    static api::Response duplicate(const detail::RecordedDelivery& recorded) {
        return json_response(200, {{"status", "duplicate"},
                                   {"message", "delivery " + recorded.delivery.delivery_id + " was received before (" +
                                                   recorded.delivery.outcome + "): nothing done again"}});
    }

    // Records a delivery the App will not act on, and says why.
    api::Response skip(const std::string& guid, const std::string& event, const std::string& action,
                       const std::string& reason) {
        auto recorded = detail::record_delivery(database, delivery_row(guid, event, action, detail::outcome::skipped,
                                                                        reason, std::nullopt));
        if (recorded.recorded == detail::Recorded::duplicate) return duplicate(recorded);
        say("delivery " + guid + " (" + event + " " + action + "): " + reason);
        return json_response(202, {{"status", "skip"}, {"message", reason}});
    }

    // Records a delivery for the threads, and answers at once.
    api::Response accept(const std::string& guid, const std::string& event, const std::string& action,
                         const std::string& what, const std::string& body) {
        auto recorded =
            detail::record_delivery(database, delivery_row(guid, event, action, detail::outcome::pending, what, body));
        if (recorded.recorded == detail::Recorded::duplicate) return duplicate(recorded);
        enqueue(recorded.delivery.id);
        return json_response(202, {{"status", "accepted"}, {"message", what}, {"delivery", guid}});
    }

    api::Response pull_request(const std::string& guid, const json& payload, const std::string& body) {
        auto event = detail::read_pull_request(payload);
        if (auto reason = detail::skip_reason(event)) return skip(guid, "pull_request", event.action, *reason);
        const std::string what = event.action == "closed"
                                     ? event.repository + "#" + std::to_string(event.number) + " merged at " +
                                           event.merge_commit_sha
                                     : event.repository + "#" + std::to_string(event.number) + " at " + event.head_sha;
        return accept(guid, "pull_request", event.action, what, body);
    }

    api::Response issue_comment(const std::string& guid, const json& payload, const std::string& body) {
        auto event = detail::read_issue_comment(payload);
        if (event.action != "created") {
            return skip(guid, "issue_comment", event.action, "comment action '" + event.action + "': skipping");
        }
        if (!event.on_pull_request) {
            return skip(guid, "issue_comment", event.action, "the comment is on an issue, not a pull request: skipping");
        }
        auto command = detail::read_slash_command(event.body);
        if (!command) return json_response(202, {{"status", "ok"}, {"message", "Comment is not a slash command."}});
        if (command->name != "/run") {
            return detail_response(400, "Command " + command->name + " is not one the app knows: write /run <recipe_id>");
        }
        if (command->arguments.size() != 1) {
            return detail_response(400, "Command /run takes one recipe id: write /run <recipe_id>");
        }
        return accept(guid, "issue_comment", event.action,
                      "/run " + command->arguments[0] + " on " + event.repository + "#" +
                          std::to_string(event.issue_number),
                      body);
    }

    // The completion callback: the run ends now, on this request; its report to GitHub
    // follows on the sweep, which is woken for it.
    api::Response dataflow(std::string guid, const std::string& body) {
        auto event = detail::read_dataflow(body);
        if (guid.empty()) {
            // Named by its body and the run's claim, so that the same callback sent twice is
            // one delivery, while the same words for the run's next attempt (after /run)
            // are a new one.
            guid = "sha256:" + pangeo_forge::detail::hex_text(pangeo_forge::detail::sha256_digest(body)) + "@attempt-" +
                   std::to_string(detail::dispatch_attempt(database, event.recipe_run_id));
        }
        if (event.action != "completed") {
            return skip(guid, "dataflow", event.action, "dataflow action '" + event.action + "': skipping");
        }
        auto recorded = detail::record_delivery(
            database, delivery_row(guid, "dataflow", event.action, detail::outcome::handling,
                                   "recipe run " + std::to_string(event.recipe_run_id) + " " + event.conclusion,
                                   std::nullopt));
        if (recorded.recorded == detail::Recorded::duplicate) return duplicate(recorded);
        const auto id = recorded.delivery.id;
        try {
            orchestrator::Report report;
            report.outcome = event.conclusion == "success" ? orchestrator::Outcome::success : orchestrator::Outcome::failure;
            if (report.outcome == orchestrator::Outcome::failure) report.trace = "the job's callback reported a failure";
            auto run = orchestrator.complete(event.recipe_run_id, report);
            detail::finish_delivery(database, id, detail::outcome::done,
                                    "recipe run " + std::to_string(run.id) + " completed: " + event.conclusion);
        } catch (const Error& error) {
            detail::finish_delivery(database, id, detail::outcome::failed, error.what());
            if (dynamic_cast<const NotFound*>(&error)) return detail_response(404, error.what());
            if (dynamic_cast<const Conflict*>(&error)) return detail_response(409, error.what());
            if (auto* invalid = dynamic_cast<const ValidationError*>(&error)) return json_response(422, invalid->detail());
            throw;
        }
        ask_for_sweep();
        return json_response(202, {{"status", "ok"},
                                   {"recipe_run_id", event.recipe_run_id},
                                   {"conclusion", event.conclusion}});
    }

    // --- the threads --------------------------------------------------------------------------

    // Queues a pending delivery for the threads, unless the queue is full: it then stays
    // pending in the table, and the sweep queues it when there is room.
    void enqueue(std::int64_t id) {
        {
            std::lock_guard lock(mutex);
            if (stopping || queued.count(id) || queue.size() >= options.queue_capacity) return;
            queue.push_back(id);
            queued.insert(id);
        }
        work_ready.notify_one();
    }

    void ask_for_sweep() {
        {
            std::lock_guard lock(mutex);
            sweep_asked = true;
        }
        sweep_due.notify_one();
    }

    void work() {
        for (;;) {
            std::int64_t id = 0;
            {
                std::unique_lock lock(mutex);
                work_ready.wait(lock, [this] { return stopping || !queue.empty(); });
                if (stopping) return;
                id = queue.front();
                queue.pop_front();
            }
            handle_delivery(id);
            {
                std::lock_guard lock(mutex);
                queued.erase(id);
            }
        }
    }

    void sweep_loop() {
        for (;;) {
            {
                std::unique_lock lock(mutex);
                sweep_due.wait_for(lock, options.sweep_interval, [this] { return stopping || sweep_asked; });
                if (stopping) return;
                sweep_asked = false;
            }
            sweep();
        }
    }

    // Queues the pending deliveries there is room for and reports the ended runs.
    void sweep() {
        try {
            for (auto id : detail::pending_deliveries(database, static_cast<std::int64_t>(options.queue_capacity))) {
                enqueue(id);
            }
            flows.report_due();
        } catch (const std::exception& error) {
            say(std::string("sweep failed, tried again in a moment: ") + error.what());
        }
    }

    // Handles one delivery if it is still pending and no one else took it.
    void handle_delivery(std::int64_t id) {
        std::optional<model::GithubDelivery> delivery;
        try {
            delivery = detail::take_delivery(database, id);
        } catch (const std::exception& error) {
            say(std::string("cannot take a delivery (it stays pending): ") + error.what());
            return;
        }
        if (!delivery) return;
        detail::Handled handled{detail::outcome::failed, "the delivery's payload is gone"};
        try {
            if (delivery->payload) handled = flows.handle(delivery->event, detail::parse_payload(*delivery->payload));
        } catch (const std::exception& error) {
            handled = {detail::outcome::failed, error.what()};
        }
        say("delivery " + delivery->delivery_id + " (" + delivery->event + " " + delivery->action + "): " +
            handled.outcome + ": " + handled.detail);
        try {
            detail::finish_delivery(database, id, handled.outcome, handled.detail);
        } catch (const std::exception& error) {
            say(std::string("cannot record the outcome of delivery ") + delivery->delivery_id + ": " + error.what());
        }
    }

    void drain() {
        for (auto id : detail::pending_deliveries(database, 1000)) handle_delivery(id);
        flows.report_due();
    }

    // --- the read routes ------------------------------------------------------------------------

    api::Response read(const api::Request& request, const std::vector<std::string>& segments) {
        // /github/hooks/deliveries[/{id}]
        if (segments.size() >= 3 && segments[0] == "github" && segments[1] == "hooks" && segments[2] == "deliveries") {
            if (segments.size() == 3) return json_response(200, reader.get_all("", "/app/hook/deliveries"));
            if (segments.size() == 4 && all_digits(segments[3])) {
                json delivery = reader.app_get("/app/hook/deliveries/" + segments[3]);
                auto only = request.query.find("response_only");
                bool response_only = only == request.query.end() || only->second != "false";
                return json_response(200, response_only ? delivery.value("response", json()) : delivery);
            }
        }
        if (segments.size() >= 3 && segments[0] == "feedstocks" && all_digits(segments[1])) {
            const std::string spec = orchestrator.feedstock(std::stoll(segments[1])).feedstock.spec;
            if (segments.size() == 3 && segments[2] == "deliveries") {
                auto repository_id = reader.get(spec, "/repos/" + spec).value("id", json());
                json mine = json::array();
                for (const auto& delivery : reader.get_all("", "/app/hook/deliveries")) {
                    if (delivery.value("repository_id", json()) == repository_id) mine.push_back(delivery);
                }
                return json_response(200, mine);
            }
            if (segments.size() == 5 && segments[2] == "commits" && is_commit_sha(segments[3]) &&
                segments[4] == "check-runs") {
                return json_response(200, reader.get(spec, "/repos/" + spec + "/commits/" + segments[3] + "/check-runs"));
            }
        }
        return detail_response(404, "Not Found");
    }

    api::Response handle(const api::Request& request) {
        const auto segments = segments_of(request.path);
        const std::string method = pangeo_forge::detail::uppercase(request.method);
        try {
            if (segments.size() == 2 && segments[0] == "github" && segments[1] == "hooks") {
                if (method != "POST") return detail_response(405, "Method Not Allowed");
                return hook(request);
            }
            if (method != "GET") return detail_response(405, "Method Not Allowed");
            return read(request, segments);
        } catch (const NotFound& error) {
            return detail_response(404, error.what());
        } catch (const GitHubError& error) {
            return detail_response(502, std::string("GitHub answered: ") + error.what());
        } catch (const client::ConnectionError& error) {
            return detail_response(502, std::string("GitHub cannot be reached: ") + error.what());
        } catch (const MigrationError& error) {
            return detail_response(503, error.what());
        } catch (const std::exception& error) {
            say("error: " + method + " " + request.path + ": " + error.what());
            return detail_response(500, "Internal Server Error");
        }
    }
};

App::App(orchestrator::Orchestrator& orchestrator, db::Database& database, AppSettings settings, AppOptions options,
         api::Log log)
    : impl_(std::make_unique<Impl>(orchestrator, database, std::move(settings), std::move(options), std::move(log))) {
    impl_->start();
}

App::~App() { impl_->stop(); }

api::Response App::handle(const api::Request& request) { return impl_->handle(request); }

void App::drain() { impl_->drain(); }

}  // namespace pangeo_forge::github

namespace {

pangeo_forge::github::App* open_app(pangeo_forge::orchestrator::Orchestrator& orchestrator,
                                    pangeo_forge::db::Database& database,
                                    const pangeo_forge::github::AppSettings& settings,
                                    const pangeo_forge::github::AppOptions& options,
                                    const pangeo_forge::api::Log& log) {
    return new pangeo_forge::github::App(orchestrator, database, settings, options, log);
}

void close_app(pangeo_forge::github::App* app) { delete app; }

pangeo_forge::api::Response handle_request(pangeo_forge::github::App& app, const pangeo_forge::api::Request& request) {
    return app.handle(request);
}

}  // namespace

extern "C" const pangeo_forge::github::AppFunctions* pangeo_forge_github_app_functions() {
    static const pangeo_forge::github::AppFunctions functions{open_app, close_app, handle_request};
    return &functions;
}
