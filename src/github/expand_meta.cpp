// expand-meta through the worker's command executor: its own process group, no inherited
// descriptors, a bounded error tail, and SIGTERM then SIGKILL when it runs past its time.

#include "github/expand_meta.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "worker/command.hpp"

namespace pangeo_forge::github::detail {
namespace {

using nlohmann::json;

std::string shell_quoted(const std::string& value) {
    std::string quoted = "'";
    for (char c : value) {
        if (c == '\'') {
            quoted += "'\\''";
        } else {
            quoted += c;
        }
    }
    return quoted + "'";
}

void replace_all(std::string& text, const std::string& placeholder, const std::string& value) {
    for (auto at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + value.size())) {
        text.replace(at, placeholder.size(), value);
    }
}

// Stops the command when `timeout` passes, unless it ended first.
class Deadline {
public:
    Deadline(const worker::StopToken& stop, std::chrono::milliseconds timeout)
        : thread_([this, stop, timeout] {
              std::unique_lock lock(mutex_);
              if (!wake_.wait_for(lock, timeout, [this] { return ended_; })) {
                  passed_ = true;
                  stop.request(worker::StopReason::cancelled);
              }
          }) {}
    ~Deadline() {
        {
            std::lock_guard lock(mutex_);
            ended_ = true;
        }
        wake_.notify_all();
        thread_.join();
    }
    bool passed() {
        std::lock_guard lock(mutex_);
        return passed_;
    }

private:
    std::mutex mutex_;
    std::condition_variable wake_;
    bool ended_ = false;
    bool passed_ = false;
    std::thread thread_;
};

bool is_completed_line(const std::string& line) {
    json parsed = json::parse(line, nullptr, false);
    return parsed.is_object() && parsed.value("status", json()) == "completed";
}

}  // namespace

std::string expand_meta_command_line(const ExpandMetaCall& call) {
    std::string line = call.command_template;
    replace_all(line, "{repo}", shell_quoted(call.repo));
    replace_all(line, "{ref}", shell_quoted(call.ref));
    replace_all(line, "{feedstock_subdir}",
                call.feedstock_subdir.empty() ? std::string() : shell_quoted("--feedstock-subdir=" + call.feedstock_subdir));
    return line;
}

RecipeListing read_listing(const std::vector<std::string>& output_lines) {
    RecipeListing listing;
    const json* meta = nullptr;
    json completed;
    for (const auto& line : output_lines) {
        if (is_completed_line(line)) completed = json::parse(line);
    }
    if (completed.is_null()) {
        listing.error = "expand-meta printed no line with \"status\": \"completed\"";
        return listing;
    }
    if (!completed.contains("meta") || !completed["meta"].is_object()) {
        listing.error = "expand-meta's completed line has no \"meta\" object";
        return listing;
    }
    meta = &completed["meta"];
    const json recipes = meta->value("recipes", json());
    if (!recipes.is_array() || recipes.empty()) {
        listing.error = "the recipe's meta.yaml lists no recipes (meta.recipes is empty or missing)";
        return listing;
    }
    for (const auto& recipe : recipes) {
        if (!recipe.is_object() || !recipe.contains("id") || !recipe["id"].is_string() ||
            recipe["id"].get<std::string>().empty()) {
            listing.error = "a recipe in meta.recipes has no \"id\" string";
            return listing;
        }
        listing.recipe_ids.push_back(recipe["id"].get<std::string>());
    }
    const json bakery = meta->value("bakery", json());
    if (!bakery.is_object() || !bakery.contains("id") || !bakery["id"].is_string()) {
        listing.error = "the recipe's meta.yaml names no bakery (meta.bakery.id)";
        return listing;
    }
    listing.bakery = bakery["id"].get<std::string>();
    listing.ok = true;
    return listing;
}

RecipeListing list_recipes(const ExpandMetaCall& call, const std::function<void(const std::string&)>& log) {
    // Only the last "completed" line is kept: a command that prints without end for its
    // whole timeout must not fill the server's memory.
    std::string completed;
    worker::StopToken stop;
    worker::detail::CommandResult result;
    bool timed_out = false;
    {
        Deadline deadline(stop, call.timeout);
        result = worker::detail::run_command({"/bin/sh", "-c", expand_meta_command_line(call)}, {}, stop,
                                             worker::detail::CommandLimits{}, [&](const std::string& line) {
                                                 // Output lines come as they were (JSON re-dumped); the
                                                 // executor's own and stderr's are prefixed.
                                                 if (is_completed_line(line)) completed = line;
                                                 if (log) log("expand-meta: " + line);
                                             });
        timed_out = deadline.passed();
    }
    if (timed_out) {
        return {false, {}, {}, "expand-meta did not finish within " + std::to_string(call.timeout.count() / 1000) + " s"};
    }
    if (!result.succeeded()) {
        std::string error = "expand-meta " + result.ending();
        if (!result.error_tail.empty()) error += ":\n" + result.error_tail;
        return {false, {}, {}, error};
    }
    return read_listing(completed.empty() ? std::vector<std::string>{} : std::vector<std::string>{completed});
}

}  // namespace pangeo_forge::github::detail
