#pragma once
// Webhook payloads as GitHub sends them, with the fields the App reads and some it does not:
// for the GitHub App's tests, in-process (test_github_app) and over HTTP to a real `serve`
// (test_github_processes).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace pangeo_forge::testing {

// The "repository" object of a payload, for "owner/name".
nlohmann::json repository(const std::string& full_name);

// A pull_request event on `repo` (installation 1): `action` opened, synchronize, closed ...;
// a closed one is merged at `merge_sha` when `merged`.
nlohmann::json pull_request_payload(const std::string& action, const std::string& repo, std::int64_t number,
                                    const std::string& head_sha, const std::string& title = "Add a recipe",
                                    bool merged = false, const std::string& merge_sha = "");

// An issue_comment "created" on pull request `number` of `repo`.
nlohmann::json comment_payload(const std::string& repo, std::int64_t number, std::int64_t comment_id,
                               const std::string& body);

}  // namespace pangeo_forge::testing
