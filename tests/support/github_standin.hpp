#pragma once
// A stand-in GitHub for the tests: a small HTTP server on 127.0.0.1 that answers the REST
// calls the app makes, as GitHub shapes them, and checks the app's credentials as GitHub
// does: every JWT (the /app/... routes and GET /repos/{o}/{r}/installation) is verified
// with the app's public key (RS256, iss = the app id, exp not past and at most 10 minutes
// ahead, iat not more than 60 s ahead), every other call needs an installation token it
// issued, unexpired and for the installation of the repository (else 401 {"message":
// "Bad credentials"}). It records every call, and can be scripted (failures, token
// lifetimes, pull requests, files, deliveries).
//
// Repositories: every repository exists (GET /repos/{o}/{r} answers for any); one
// installation per owner (ids 1, 2, ... in the order owners are first asked for).
// Files live per repository, whatever the branch or ref.
//
// Throws std::runtime_error when it cannot listen or the public key is not an RSA public
// key in PEM ("PUBLIC KEY" or "RSA PUBLIC KEY"). Thread safety: every method may be called
// while the server answers; connections are served on threads of its own, which stop with
// the object.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pangeo_forge::testing {

struct GithubCall {
    std::string method;
    std::string path;           // without the query
    std::string query;          // without the '?'; empty when none
    nlohmann::json body;        // the JSON sent; null when none, a string when not JSON
    std::string authorization;  // the Authorization header as sent
};

class GithubStandin {
public:
    GithubStandin(std::int64_t app_id, std::string public_key_pem);  // listens at once, own thread(s)
    ~GithubStandin();
    GithubStandin(const GithubStandin&) = delete;
    GithubStandin& operator=(const GithubStandin&) = delete;

    std::string url() const;  // "http://127.0.0.1:PORT"

    // Every call, in order, with the access-token exchanges included.
    std::vector<GithubCall> calls() const;
    // The calls of `method` whose path starts with `path_prefix`.
    std::vector<GithubCall> calls_to(const std::string& method, const std::string& path_prefix) const;

    // The next `times` calls of `method` to exactly `path` (no query) answer `status` with
    // the body {"message": "scripted failure"} and `headers`, before any check of
    // credentials. Scripts for one method and path are used in the order given.
    void fail_next(const std::string& method, const std::string& path, int status, int times = 1,
                   std::vector<std::pair<std::string, std::string>> headers = {});
    // As fail_next, with any answer: the next `times` such calls answer `status`, `body`
    // and `headers` (a success GitHub would not send, a Link elsewhere, ...).
    void answer_next(const std::string& method, const std::string& path, int status, nlohmann::json body, int times = 1,
                     std::vector<std::pair<std::string, std::string>> headers = {});

    // The lifetime of the tokens issued from now on (their expires_at; default 1 h).
    void set_token_lifetime(std::chrono::seconds lifetime);
    // Every token issued so far is refused from now on (as when GitHub revoked them).
    void expire_tokens();
    int tokens_issued() const;

    // GET /repos/{repo}/pulls/{number} answers `pull_request` (given "number" if it has none).
    void set_pull_request(const std::string& repo, std::int64_t number, nlohmann::json pull_request);
    // GET /repos/{repo}/pulls/{number}/files: [{"filename", "status": "added"}], by pages.
    void set_pull_request_files(const std::string& repo, std::int64_t number, std::vector<std::string> filenames);
    // A file of the contents API, on every branch and ref.
    void set_file(const std::string& repo, const std::string& path, const std::string& content);
    // {path: content} of a repository: the files set, as PUT and DELETE through the API left them.
    nlohmann::json repository_files(const std::string& repo) const;
    // GET /app/hook/deliveries answers `deliveries` (a list); GET /app/hook/deliveries/{id}
    // the item whose "id" is {id}.
    void set_deliveries(nlohmann::json deliveries);

private:
    struct State;
    struct Server;
    std::shared_ptr<State> state_;
    std::unique_ptr<Server> server_;
};

}  // namespace pangeo_forge::testing
