#pragma once
// The webhook payloads the App acts on, read into plain values, and the decisions that
// need nothing but the payload (skip this repository, is this a slash command). GitHub's
// field names as it sends them; a payload without a field the App needs is a
// PayloadError naming it (400), never a crash: the body is outside input.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/error.hpp"

namespace pangeo_forge::github::detail {

// A payload that lacks what the App needs; the message names the field ("pull_request.head.sha").
class PayloadError : public Error {
public:
    using Error::Error;
};

inline constexpr std::string_view staged_recipes = "staged-recipes";
inline constexpr std::string_view feedstock_suffix = "-feedstock";

struct PullRequestEvent {
    std::string action;            // opened, synchronize, closed, ...
    std::string repository;        // the base repository's full name, "owner/name"
    std::string repository_name;   // "name"
    std::string owner;             // "owner"
    std::string repository_url;    // the base repository's html_url
    std::int64_t number = 0;
    std::string title;
    std::string head_sha;
    bool merged = false;
    std::string merge_commit_sha;  // set when merged
    std::string base_ref;          // the branch merged into
};

struct IssueCommentEvent {
    std::string action;           // created, edited, deleted
    std::string repository;       // "owner/name"
    std::int64_t issue_number = 0;
    bool on_pull_request = false;  // the issue is a pull request
    std::int64_t comment_id = 0;
    std::string body;
};

// The completion callback: a form body action=completed&recipe_run_id=N&conclusion=...
struct DataflowEvent {
    std::string action;
    std::int64_t recipe_run_id = 0;
    std::string conclusion;  // success or failure
};

PullRequestEvent read_pull_request(const nlohmann::json& payload);
IssueCommentEvent read_issue_comment(const nlohmann::json& payload);
DataflowEvent read_dataflow(std::string_view form);

// The payload's JSON; PayloadError for a body that is not a JSON object.
nlohmann::json parse_payload(std::string_view body);

// Why the App leaves a pull request alone, or nothing when it acts on it.
std::optional<std::string> skip_reason(const PullRequestEvent& event);

// A comment's command: "/run recipe-id" -> {"/run", {"recipe-id"}}; nothing for a comment
// that does not start with '/'.
struct SlashCommand {
    std::string name;
    std::vector<std::string> arguments;
};
std::optional<SlashCommand> read_slash_command(std::string_view comment);

// A merged pull request's changed files, sorted by what the merge means.
// staged-recipes: every file under recipes/<name>/ for one name -> that name.
std::optional<std::string> single_recipe_directory(const std::vector<std::string>& files);
// A feedstock: every file under feedstock/.
bool all_under_feedstock(const std::vector<std::string>& files);

}  // namespace pangeo_forge::github::detail
