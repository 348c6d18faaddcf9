#include "support/github_payloads.hpp"

namespace pangeo_forge::testing {

using nlohmann::json;

json repository(const std::string& full_name) {
    return {{"id", 1000 + full_name.size()},
            {"name", full_name.substr(full_name.find('/') + 1)},
            {"full_name", full_name},
            {"html_url", "https://github.com/" + full_name},
            {"owner", {{"login", full_name.substr(0, full_name.find('/'))}}}};
}

json pull_request_payload(const std::string& action, const std::string& repo, std::int64_t number,
                          const std::string& head_sha, const std::string& title, bool merged,
                          const std::string& merge_sha) {
    json pull = {{"url", "https://api.github.com/repos/" + repo + "/pulls/" + std::to_string(number)},
                 {"number", number},
                 {"state", action == "closed" ? "closed" : "open"},
                 {"title", title},
                 {"user", {{"login", "contributor"}}},
                 {"labels", json::array()},
                 {"head", {{"ref", "add-recipe"}, {"sha", head_sha}, {"repo", repository("contributor/fork")}}},
                 {"base", {{"ref", "main"}, {"sha", "0000base"}, {"repo", repository(repo)}}},
                 {"merged", merged},
                 {"merge_commit_sha", merged ? json(merge_sha) : json(nullptr)}};
    return {{"action", action},
            {"number", number},
            {"pull_request", pull},
            {"repository", repository(repo)},
            {"installation", {{"id", 1}}},
            {"sender", {{"login", "contributor"}}}};
}

json comment_payload(const std::string& repo, std::int64_t number, std::int64_t comment_id, const std::string& body) {
    return {{"action", "created"},
            {"issue",
             {{"number", number},
              {"title", "Add a recipe"},
              {"pull_request", {{"url", "https://api.github.com/repos/" + repo + "/pulls/" + std::to_string(number)}}}}},
            {"comment",
             {{"id", comment_id},
              {"body", body},
              {"user", {{"login", "maintainer"}}},
              {"reactions", {{"url", "https://api.github.com/repos/" + repo + "/issues/comments/" +
                                         std::to_string(comment_id) + "/reactions"}}}}},
            {"repository", repository(repo)},
            {"installation", {{"id", 1}}}};
}

}  // namespace pangeo_forge::testing
