// Reading GitHub's payloads: each field the App needs is looked up by its path, and a
// missing or mistyped one is named in the error, so that a payload from another version
// of GitHub (or a forged one that passed no signature check) is answered 400, not 500.

#include "github/events.hpp"

#include <algorithm>
#include <set>

#include "pangeo_forge/api/router.hpp"
#include "support/text.hpp"

namespace pangeo_forge::github::detail {
namespace {

using nlohmann::json;

// The value at `path` ("pull_request.head.sha") of `payload`, or PayloadError.
const json& at(const json& payload, std::string_view path) {
    const json* node = &payload;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto dot = path.find('.', start);
        std::string key(path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
        if (!node->is_object() || !node->contains(key)) {
            throw PayloadError("the payload has no " + std::string(path) + ": is it a GitHub webhook of this event?");
        }
        node = &(*node)[key];
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return *node;
}

std::string text_at(const json& payload, std::string_view path) {
    const json& value = at(payload, path);
    if (!value.is_string()) throw PayloadError(std::string(path) + " is not a string in the payload");
    return value.get<std::string>();
}

std::int64_t integer_at(const json& payload, std::string_view path) {
    const json& value = at(payload, path);
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))) {
        throw PayloadError(std::string(path) + " is not an integer in the payload");
    }
    return value.get<std::int64_t>();
}

std::string optional_text_at(const json& payload, std::string_view path) {
    try {
        const json& value = at(payload, path);
        return value.is_string() ? value.get<std::string>() : std::string();
    } catch (const PayloadError&) {
        return {};
    }
}

// The owner of "owner/name"; PayloadError when it is not of that form.
std::pair<std::string, std::string> split_full_name(const std::string& full_name) {
    auto slash = full_name.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == full_name.size() ||
        full_name.find('/', slash + 1) != std::string::npos) {
        throw PayloadError("repository.full_name '" + full_name + "' is not of the form owner/name");
    }
    return {full_name.substr(0, slash), full_name.substr(slash + 1)};
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

json parse_payload(std::string_view body) {
    json payload = json::parse(body, nullptr, false);
    if (payload.is_discarded() || !payload.is_object()) {
        throw PayloadError("the webhook's body is not a JSON object: GitHub sends JSON (content type application/json)");
    }
    return payload;
}

PullRequestEvent read_pull_request(const json& payload) {
    PullRequestEvent event;
    event.action = text_at(payload, "action");
    event.repository = text_at(payload, "pull_request.base.repo.full_name");
    std::tie(event.owner, event.repository_name) = split_full_name(event.repository);
    event.repository_url = text_at(payload, "pull_request.base.repo.html_url");
    event.number = integer_at(payload, "pull_request.number");
    event.title = optional_text_at(payload, "pull_request.title");
    event.head_sha = text_at(payload, "pull_request.head.sha");
    event.base_ref = optional_text_at(payload, "pull_request.base.ref");
    const json& merged = at(payload, "pull_request").value("merged", json(false));
    event.merged = merged.is_boolean() && merged.get<bool>();
    if (event.merged) event.merge_commit_sha = text_at(payload, "pull_request.merge_commit_sha");
    return event;
}

IssueCommentEvent read_issue_comment(const json& payload) {
    IssueCommentEvent event;
    event.action = text_at(payload, "action");
    event.repository = text_at(payload, "repository.full_name");
    split_full_name(event.repository);
    event.issue_number = integer_at(payload, "issue.number");
    const json& issue = at(payload, "issue");
    event.on_pull_request = issue.contains("pull_request") && !issue["pull_request"].is_null();
    event.comment_id = integer_at(payload, "comment.id");
    event.body = text_at(payload, "comment.body");
    return event;
}

DataflowEvent read_dataflow(std::string_view form) {
    auto fields = api::parse_query_string(std::string(form));
    auto field = [&](const char* name) {
        auto found = fields.find(name);
        if (found == fields.end() || found->second.empty()) {
            throw PayloadError(std::string("the dataflow callback has no ") + name +
                               ": send action=completed&recipe_run_id=N&conclusion=success|failure");
        }
        return found->second;
    };
    DataflowEvent event;
    event.action = field("action");
    // A word: percent-decoded, it could hold a NUL or bytes that are not UTF-8, which the
    // delivery's row cannot store on PostgreSQL.
    if (event.action.size() > 64 || !std::all_of(event.action.begin(), event.action.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        })) {
        throw PayloadError("the dataflow callback's action is not a word: send action=completed");
    }
    const std::string id = field("recipe_run_id");
    if (id.size() > 18 || !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        throw PayloadError("the dataflow callback's recipe_run_id '" + id + "' is not a recipe run id");
    }
    event.recipe_run_id = std::stoll(id);
    event.conclusion = field("conclusion");
    if (event.conclusion != "success" && event.conclusion != "failure") {
        throw PayloadError("the dataflow callback's conclusion '" + event.conclusion +
                           "' is neither success nor failure");
    }
    return event;
}

std::optional<std::string> skip_reason(const PullRequestEvent& event) {
    if (event.repository_name != staged_recipes && !ends_with(event.repository_name, feedstock_suffix)) {
        return event.repository + " is neither a -feedstock repository nor staged-recipes: skipping";
    }
    if (starts_with(pangeo_forge::detail::lowercase(event.title), "cleanup")) {
        return "the pull request's title starts with 'cleanup': skipping";
    }
    if (event.action == "opened" || event.action == "synchronize") return std::nullopt;
    if (event.action == "closed") {
        if (!event.merged) return "the pull request was closed without a merge: skipping";
        return std::nullopt;
    }
    return "pull request action '" + event.action + "' is not one the app acts on: skipping";
}

std::optional<SlashCommand> read_slash_command(std::string_view comment) {
    auto first = comment.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || comment[first] != '/') return std::nullopt;
    // The command is the comment's first line; what follows is prose.
    auto line = comment.substr(first, comment.find('\n', first) == std::string_view::npos
                                          ? std::string_view::npos
                                          : comment.find('\n', first) - first);
    SlashCommand command;
    std::size_t at = 0;
    while (at < line.size()) {
        auto start = line.find_first_not_of(" \t\r", at);
        if (start == std::string_view::npos) break;
        auto end = line.find_first_of(" \t\r", start);
        std::string word(line.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (command.name.empty()) {
            command.name = std::move(word);
        } else {
            command.arguments.push_back(std::move(word));
        }
        at = end == std::string_view::npos ? line.size() : end;
    }
    return command;
}

std::optional<std::string> single_recipe_directory(const std::vector<std::string>& files) {
    std::set<std::string> directories;
    for (const auto& file : files) {
        // recipes/<name>/<at least one more part>
        if (!starts_with(file, "recipes/")) return std::nullopt;
        auto slash = file.find('/', 8);
        if (slash == std::string::npos || slash == 8 || slash + 1 == file.size()) return std::nullopt;
        directories.insert(file.substr(8, slash - 8));
    }
    if (directories.size() != 1) return std::nullopt;
    return *directories.begin();
}

bool all_under_feedstock(const std::vector<std::string>& files) {
    return !files.empty() && std::all_of(files.begin(), files.end(), [](const std::string& file) {
        return starts_with(file, "feedstock/") && file.size() > 10;
    });
}

}  // namespace pangeo_forge::github::detail
