#pragma once
// GitHub's REST API as the app: calls signed with the app's JWT (RS256, iss = app id,
// iat = now - 60 s for clock drift, exp = iat + 10 min), and calls made with an
// installation's access token, found for a repository (GET /repos/{owner}/{repo}/installation),
// exchanged for the JWT (POST /app/installations/{id}/access_tokens) and reused until a
// minute before its expires_at. A call answered 401 with a cached token gets a new token
// and is sent once more (the token was revoked or the clocks disagree).
//
// Transport: the remote client's HTTP layer (libcurl, kept-alive connections). Retries:
// 5xx, 429, and 403 with x-ratelimit-remaining: 0 (or a Retry-After) are sent again with
// exponential back-off and jitter, waiting at least what Retry-After or x-ratelimit-reset
// asks (capped by max_backoff), up to `retries` times; as are connection failures (a
// write only when it cannot have reached GitHub; a GET also after a broken connection or a
// timeout).
//
// Errors: GitHubError (the status, and GitHub's "message" in the text) for any other
// status or one still failing after the retries; client::ConnectionError when GitHub
// cannot be reached; ConfigError for a private key that is not an RSA key in PEM (PKCS#1
// "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY"). No message holds a token, the JWT or the key.
//
// Thread safety: one Rest may be used from many threads at once.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "pangeo_forge/error.hpp"

namespace pangeo_forge::github {

class GitHubError : public Error {
public:
    GitHubError(int status, const std::string& message) : Error(message), status_(status) {}
    int status() const { return status_; }

private:
    int status_;
};

struct RestOptions {
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds request_timeout{30000};
    int retries = 4;                               // tries after the first
    std::chrono::milliseconds first_backoff{500};  // doubled per retry, with jitter
    std::chrono::milliseconds max_backoff{60000};  // also caps a Retry-After or a rate-limit reset
    std::chrono::seconds token_margin{60};         // a token is renewed this long before it expires
    // The clock the JWT and token expiry are read against (tests move it).
    std::function<std::chrono::system_clock::time_point()> now = [] { return std::chrono::system_clock::now(); };
};

// The app's JWT at `now`, signed with `private_key_pem`. ConfigError for a bad key.
std::string app_jwt(std::int64_t app_id, const std::string& private_key_pem, std::chrono::system_clock::time_point now);

class Rest {
public:
    // `api_url`: "https://api.github.com" or a stand-in's "http://127.0.0.1:PORT".
    Rest(std::string api_url, std::int64_t app_id, std::string private_key_pem, RestOptions options = {});
    ~Rest();
    Rest(const Rest&) = delete;
    Rest& operator=(const Rest&) = delete;

    // As the app itself (the JWT): the /app/... routes. `path` may carry a query.
    nlohmann::json app_get(const std::string& path);

    // As the installation that covers `repo` ("owner/name"); `path` is the whole path
    // ("/repos/owner/name/check-runs"), `body` null for none. The JSON of the answer (null
    // for 204).
    nlohmann::json get(const std::string& repo, const std::string& path);
    nlohmann::json post(const std::string& repo, const std::string& path, const nlohmann::json& body);
    nlohmann::json patch(const std::string& repo, const std::string& path, const nlohmann::json& body);
    nlohmann::json put(const std::string& repo, const std::string& path, const nlohmann::json& body);
    nlohmann::json del(const std::string& repo, const std::string& path, const nlohmann::json& body = nullptr);

    // Every page of a list (GET, following the Link header's rel="next", per_page=100),
    // concatenated; as the installation of `repo`, or as the app when `repo` is empty. At most
    // `max_items` items (GitHub caps a pull request's files at 3000).
    nlohmann::json get_all(const std::string& repo, const std::string& path, std::size_t max_items = 3000);

    // Installation tokens asked of GitHub so far (tests: one per expiry, not one per call).
    std::int64_t tokens_issued() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pangeo_forge::github
