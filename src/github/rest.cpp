// GitHub's REST API as the app (rest.hpp): the remote client's transport (client/http.hpp)
// with GitHub's headers, its retry policy (5xx, 429, rate limits) and the two ways the app
// authenticates: its JWT, and installation tokens kept per installation until shortly
// before they expire.
//
// Locks: `cache_mutex` guards the two caches and is held only to read or write them;
// `renewal_mutex` makes one thread at a time ask GitHub for an installation or a token
// (the others wait and then find it cached), so calls whose token is cached never wait on
// the network of another call.

#include "pangeo_forge/github/rest.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "client/answer.hpp"
#include "client/http.hpp"
#include "github/jwt.hpp"
#include "pangeo_forge/model/timestamp.hpp"
#include "pangeo_forge/version.hpp"
#include "support/text.hpp"

namespace pangeo_forge::github {
namespace {

using nlohmann::json;
using client::ConnectionError;
using client::HttpResponse;
namespace http = client::http;
using SystemClock = std::chrono::system_clock;

// Far beyond a page of 100 pull-request files with their patches, or a file of the
// contents API (1 MB at most, base64): a bound on what a wrong server can make us keep.
constexpr std::size_t max_answer_bytes = 32 * 1024 * 1024;

std::string header(const HttpResponse& response, const std::string& name) {
    for (const auto& [key, value] : response.headers) {
        if (key == name) return value;
    }
    return {};
}

// "https://api.github.com" or "http://127.0.0.1:PORT[/prefix]" without trailing slashes;
// ConfigError for anything else.
std::string normalized_api_url(std::string url) {
    const std::string advice = ": set it to https://api.github.com (or GitHub Enterprise's https://HOST/api/v3)";
    if (url.find('@') != std::string::npos) {
        // Not quoted: it may hold a password.
        throw ConfigError("the GitHub API URL holds a user or a password: the app authenticates with its key" + advice);
    }
    auto scheme_end = url.find("://");
    const std::string scheme = scheme_end == std::string::npos ? "" : pangeo_forge::detail::lowercase(url.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") throw ConfigError("the GitHub API URL '" + url + "' is not an http(s) URL" + advice);
    auto authority = scheme_end + 3;
    if (authority >= url.size() || url[authority] == '/' || !http::header_safe(url) ||
        url.find_first_of(" ?#") != std::string::npos) {
        throw ConfigError("the GitHub API URL '" + url + "' names no host, or has a space, a query or a fragment" + advice);
    }
    while (url.size() > authority && url.back() == '/') url.pop_back();
    return url;
}

void check_repo(const std::string& repo) {
    if (repo.find('/') == std::string::npos || !http::header_safe(repo) || repo.find_first_of(" ?#") != std::string::npos) {
        throw ConfigError("'" + repo + "' is not a repository: write it as owner/name");
    }
}

void check_path(const std::string& path) {
    if (path.empty() || path.front() != '/' || !http::header_safe(path) || path.find(' ') != std::string::npos) {
        throw ConfigError("'" + path + "' is not a path of GitHub's API: it starts with a slash and holds no space or "
                          "control character (percent-encode them), e.g. /repos/owner/name/check-runs");
    }
}

// GitHub's reason: its "message", and the messages of its "errors" (a 422's details).
std::string github_message(const HttpResponse& response) {
    json body = json::parse(response.body, nullptr, false);
    if (!body.is_object() || !body.contains("message") || !body["message"].is_string()) {
        return response.body.empty() ? "no message" : "\"" + response.body.substr(0, 200) + "\"";
    }
    std::string message = body["message"].get<std::string>();
    if (auto errors = body.find("errors"); errors != body.end() && errors->is_array()) {
        std::vector<std::string> details;
        for (const auto& error : *errors) {
            if (error.is_string()) details.push_back(error.get<std::string>());
            if (error.is_object() && error.contains("message") && error["message"].is_string()) {
                details.push_back(error["message"].get<std::string>());
            } else if (error.is_object() && error.contains("code") && error["code"].is_string()) {
                details.push_back(error.value("field", std::string("?")) + ": " + error["code"].get<std::string>());
            }
        }
        if (!details.empty()) message += " (" + pangeo_forge::detail::joined(details, "; ") + ")";
    }
    return message;
}

// The wait an answer asks for before the same call is sent again, or nothing when it is
// not to be sent again: 5xx and 429 (after any Retry-After), and the two rate limits, a
// 403 (or 429) with x-ratelimit-remaining: 0 (until x-ratelimit-reset, epoch seconds) or
// with a Retry-After (the secondary limit).
std::optional<std::chrono::milliseconds> retry_wait(const HttpResponse& response) {
    const int status = response.status;
    const auto asked = client::answer::retry_after(response);
    if (status != 403 && status != 429 && status < 500) return std::nullopt;
    std::chrono::milliseconds wait = asked.value_or(std::chrono::milliseconds(0));
    if ((status == 403 || status == 429) && header(response, "x-ratelimit-remaining") == "0") {
        const std::string reset = header(response, "x-ratelimit-reset");
        if (!reset.empty() && reset.size() < 15 && std::all_of(reset.begin(), reset.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            // GitHub's clock, not the options' one: this is a real wait.
            const auto now = std::chrono::duration_cast<std::chrono::seconds>(SystemClock::now().time_since_epoch());
            wait = std::max(wait, std::chrono::milliseconds(std::chrono::seconds(std::stoll(reset)) - now));
        }
        return std::max(wait, std::chrono::milliseconds(0));
    }
    if (status == 403 && !asked) return std::nullopt;  // refused: no permission, no limit
    return wait;
}

// The next page's URL from a Link header, or nothing when this is the last page.
std::optional<std::string> next_link(const std::string& link) {
    std::size_t start = 0;
    while ((start = link.find('<', start)) != std::string::npos) {
        auto end = link.find('>', start);
        if (end == std::string::npos) return std::nullopt;
        auto next_entry = link.find('<', end);
        const std::string params = link.substr(end + 1, next_entry == std::string::npos ? std::string::npos : next_entry - end - 1);
        if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos) {
            return link.substr(start + 1, end - start - 1);
        }
        start = end;
    }
    return std::nullopt;
}

// `path` with per_page=100 (GitHub's largest page) unless it names a page size already.
std::string with_page_size(const std::string& path) {
    if (path.find("per_page=") != std::string::npos) return path;
    return path + (path.find('?') == std::string::npos ? "?" : "&") + "per_page=100";
}

// The items of a page: a list, or the one list inside an object ({"total_count": N,
// "check_runs": [...]}).
std::optional<json> page_items(const json& page) {
    if (page.is_array()) return page;
    if (!page.is_object()) return std::nullopt;
    std::optional<json> found;
    for (const auto& [key, value] : page.items()) {
        if (!value.is_array()) continue;
        if (found) return std::nullopt;
        found = value;
    }
    return found;
}

std::string seconds_text(std::chrono::steady_clock::duration spent) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", std::chrono::duration<double>(spent).count());
    return text;
}

}  // namespace

struct Rest::Impl {
    std::string api_url;
    std::int64_t app_id = 0;
    std::unique_ptr<detail::AppSigner> signer;
    RestOptions options;
    std::unique_ptr<http::Transport> transport;

    struct Token {
        std::string value;
        SystemClock::time_point expires_at;
    };
    std::mutex cache_mutex;
    std::map<std::string, std::int64_t> installations;  // repo, lower case -> installation id
    std::map<std::int64_t, Token> tokens;                // installation id -> token
    std::mutex renewal_mutex;
    std::atomic<std::int64_t> issued{0};

    // --- one call, with GitHub's retry policy ------------------------------------------

    std::vector<std::string> headers(const std::string& method, const std::string& body,
                                     const std::string& authorization) const {
        std::vector<std::string> lines{"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28",
                                       "Authorization: " + authorization};
        if (http::sends_body(method, body)) lines.emplace_back("Content-Type: application/json");
        return lines;
    }

    // Sends until an answer that is not to be retried comes, or the retries run out (the
    // last answer is returned, whatever its status). ConnectionError when no answer came.
    HttpResponse exchange(const std::string& method, const std::string& path, const std::string& body,
                          const std::string& authorization) {
        const auto lines = headers(method, body, authorization);
        const auto started = std::chrono::steady_clock::now();
        for (int tries = 1;; ++tries) {
            http::Exchange exchange;
            CURLcode code = transport->send(method, api_url + path, lines, body, exchange);
            const bool last = tries > options.retries;
            if (code == CURLE_OK) {
                auto wait = retry_wait(exchange.response);
                if (!wait || last) return std::move(exchange.response);
                std::this_thread::sleep_for(http::backoff(tries - 1, wait, options.first_backoff, options.max_backoff));
                continue;
            }
            if (!sent_again(method, code, exchange) || last) fail(method, path, code, exchange, tries, started);
            std::this_thread::sleep_for(http::backoff(tries - 1, std::nullopt, options.first_backoff, options.max_backoff));
        }
    }

    // A failed exchange is sent again when GitHub cannot have applied it (the connection
    // was never made), or when it changes nothing (GET) and the connection broke or timed out.
    static bool sent_again(const std::string& method, CURLcode code, const http::Exchange& exchange) {
        if (exchange.too_large || code == CURLE_URL_MALFORMAT) return false;
        if (http::never_connected(code, exchange.request_bytes)) return true;
        return http::is_safe(method) &&
               (http::connection_broke(code) || http::never_connected(code, 0) || code == CURLE_OPERATION_TIMEDOUT);
    }

    [[noreturn]] void fail(const std::string& method, const std::string& path, CURLcode code,
                           const http::Exchange& exchange, int tries, std::chrono::steady_clock::time_point started) const {
        const std::string call = method + " " + path;
        const std::string why = http::reason(code, exchange);
        if (exchange.too_large) {
            throw GitHubError(exchange.response.status,
                              "GitHub's answer to " + call + " exceeds " + std::to_string(max_answer_bytes >> 20) +
                                  " MiB, more than any call of the app reads: is " + api_url + " GitHub's API?");
        }
        if (code == CURLE_URL_MALFORMAT) {
            throw ConfigError("'" + path + "' cannot be sent to " + api_url + " (" + why + "): percent-encode it");
        }
        const std::string tried =
            tries == 1 ? "tried once" : "tried " + std::to_string(tries) + " times in " + seconds_text(std::chrono::steady_clock::now() - started);
        if (!http::is_safe(method) && !http::never_connected(code, exchange.request_bytes)) {
            throw ConnectionError("the connection to GitHub at " + api_url + " broke during " + call + " (" + why + "; " +
                                  tried + "): GitHub may have applied it, so it was not sent again; read the state back "
                                  "before sending it again");
        }
        throw ConnectionError("cannot reach GitHub at " + api_url + " for " + call + " (" + why + "; " + tried +
                              "): check the network and PANGEO_FORGE_GITHUB_API_URL");
    }

    // The JSON of a 2xx answer (null for an empty body); GitHubError for any other status.
    json result(const HttpResponse& response, const std::string& method, const std::string& path) const {
        const std::string call = method + " " + path;
        if (response.status < 200 || response.status > 299) {
            std::string advice;
            if (response.status == 401) advice = ": check PANGEO_FORGE_GITHUB_APP_ID, the app's private key and this machine's clock";
            if (response.status == 403) advice = ": check the permissions the app asks for and those its installation granted";
            if (response.status == 404) advice = ": check the name, and that the app is installed on the repository";
            throw GitHubError(response.status, "GitHub answered " + std::to_string(response.status) + " to " + call + ": " +
                                                   github_message(response) + advice);
        }
        if (response.body.empty()) return nullptr;
        json body = json::parse(response.body, nullptr, false);
        if (body.is_discarded()) {
            throw GitHubError(response.status, "GitHub answered " + call + " with a body that is not JSON: is " + api_url +
                                                   " GitHub's API?");
        }
        return body;
    }

    // --- the two identities ---------------------------------------------------------------

    std::string app_authorization() const { return "Bearer " + signer->jwt(app_id, options.now()); }

    json as_app(const std::string& method, const std::string& path, const json& body = nullptr) {
        check_path(path);
        const std::string text = body.is_null() ? std::string() : body.dump();
        return result(exchange(method, path, text, app_authorization()), method, path);
    }

    std::optional<std::int64_t> cached_installation(const std::string& key) {
        std::lock_guard lock(cache_mutex);
        auto found = installations.find(key);
        return found == installations.end() ? std::nullopt : std::optional(found->second);
    }

    std::optional<std::string> cached_token(std::int64_t installation) {
        std::lock_guard lock(cache_mutex);
        auto found = tokens.find(installation);
        if (found == tokens.end() || options.now() >= found->second.expires_at - options.token_margin) return std::nullopt;
        return found->second.value;
    }

    std::int64_t installation_of(const std::string& repo) {
        const std::string key = pangeo_forge::detail::lowercase(repo);
        if (auto cached = cached_installation(key)) return *cached;
        const std::string path = "/repos/" + repo + "/installation";
        json answer = as_app("GET", path);
        if (!answer.is_object() || !answer.contains("id") || !answer["id"].is_number_integer()) {
            throw GitHubError(200, "GitHub answered GET " + path + " without an installation id: is " + api_url +
                                       " GitHub's API?");
        }
        std::lock_guard lock(cache_mutex);
        return installations[key] = answer["id"].get<std::int64_t>();
    }

    Token issue_token(std::int64_t installation) {
        const std::string path = "/app/installations/" + std::to_string(installation) + "/access_tokens";
        json answer = as_app("POST", path);
        std::optional<model::Timestamp> expires;
        if (answer.is_object() && answer.contains("expires_at") && answer["expires_at"].is_string()) {
            expires = model::parse_timestamp(answer["expires_at"].get<std::string>());
        }
        if (!answer.is_object() || !answer.contains("token") || !answer["token"].is_string() || !expires ||
            !http::header_safe(answer["token"].get<std::string>())) {
            throw GitHubError(201, "GitHub answered POST " + path + " without a token and its expires_at: is " + api_url +
                                       " GitHub's API?");
        }
        ++issued;
        return {answer["token"].get<std::string>(), *expires};
    }

    // A token for the installation that covers `repo`: the cached one while it has more than
    // token_margin left, else a new one. `refused`: the token GitHub just refused, dropped
    // unless another thread has replaced it already.
    std::string token_for(const std::string& repo, const std::string& refused = {}) {
        const std::int64_t installation = installation_of(repo);
        if (!refused.empty()) {
            std::lock_guard lock(cache_mutex);
            auto found = tokens.find(installation);
            if (found != tokens.end() && found->second.value == refused) tokens.erase(found);
        }
        if (auto cached = cached_token(installation)) return *cached;
        std::lock_guard renewal(renewal_mutex);
        if (auto cached = cached_token(installation)) return *cached;  // renewed while this thread waited
        Token token = issue_token(installation);
        std::lock_guard lock(cache_mutex);
        tokens[installation] = token;
        return token.value;
    }

    // One call as the installation of `repo`: a 401 (the token revoked, or the clocks
    // disagree on its expiry) is sent once more with a new token.
    HttpResponse send_as_installation(const std::string& repo, const std::string& method, const std::string& path,
                                      const std::string& body) {
        std::string token = token_for(repo);
        HttpResponse response = exchange(method, path, body, "Bearer " + token);
        if (response.status == 401) {
            token = token_for(repo, token);
            response = exchange(method, path, body, "Bearer " + token);
        }
        return response;
    }

    json as_installation(const std::string& repo, const std::string& method, const std::string& path, const json& body) {
        check_path(path);
        check_repo(repo);
        const std::string text = body.is_null() ? std::string() : body.dump();
        return result(send_as_installation(repo, method, path, text), method, path);
    }

    // --- lists ---------------------------------------------------------------------------

    // The path of a next-page URL on the same API; GitHubError for one elsewhere (the
    // token must not go to another host).
    std::string next_path(const std::string& url, const std::string& call) const {
        if (url.size() > api_url.size() && url.compare(0, api_url.size(), api_url) == 0 && url[api_url.size()] == '/') {
            return url.substr(api_url.size());
        }
        throw GitHubError(200, "GitHub's next page of " + call + " is not on " + api_url +
                                   ": the call was stopped there rather than send the app's credentials elsewhere");
    }

    json all_pages(const std::string& repo, const std::string& first_path, std::size_t max_items) {
        json items = json::array();
        std::string path = with_page_size(first_path);
        const std::string call = "GET " + first_path;
        for (;;) {
            check_path(path);
            HttpResponse response = repo.empty() ? exchange("GET", path, std::string(), app_authorization())
                                                 : send_as_installation(repo, "GET", path, std::string());
            json page = result(response, "GET", path);
            auto page_list = page_items(page);
            if (!page_list) throw GitHubError(response.status, "GitHub answered " + call + " with something that is not a list");
            for (auto& item : *page_list) {
                if (items.size() >= max_items) return items;
                items.push_back(std::move(item));
            }
            auto next = next_link(header(response, "link"));
            if (!next || items.size() >= max_items) return items;
            path = next_path(*next, call);
        }
    }
};

Rest::Rest(std::string api_url, std::int64_t app_id, std::string private_key_pem, RestOptions options)
    : impl_(std::make_unique<Impl>()) {
    if (app_id <= 0) throw ConfigError("the GitHub App id must be a positive number: set PANGEO_FORGE_GITHUB_APP_ID to the app's ID");
    if (options.retries < 0 || options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0 ||
        options.first_backoff.count() < 0 || options.max_backoff < options.first_backoff ||
        options.token_margin.count() < 0 || !options.now) {
        throw ConfigError("RestOptions: retries must be 0 or more, the timeouts above 0, max_backoff at least "
                          "first_backoff, token_margin 0 or more, and now a clock");
    }
    impl_->api_url = normalized_api_url(std::move(api_url));
    impl_->app_id = app_id;
    impl_->signer = std::make_unique<detail::AppSigner>(private_key_pem);
    impl_->options = std::move(options);
    impl_->transport = std::make_unique<http::Transport>(
        http::TransportOptions{impl_->options.connect_timeout, impl_->options.request_timeout, max_answer_bytes,
                               "pangeo-forge/" + std::string(version()), impl_->api_url});
}

Rest::~Rest() = default;

json Rest::app_get(const std::string& path) { return impl_->as_app("GET", path); }

json Rest::get(const std::string& repo, const std::string& path) { return impl_->as_installation(repo, "GET", path, nullptr); }

json Rest::post(const std::string& repo, const std::string& path, const json& body) {
    return impl_->as_installation(repo, "POST", path, body);
}

json Rest::patch(const std::string& repo, const std::string& path, const json& body) {
    return impl_->as_installation(repo, "PATCH", path, body);
}

json Rest::put(const std::string& repo, const std::string& path, const json& body) {
    return impl_->as_installation(repo, "PUT", path, body);
}

json Rest::del(const std::string& repo, const std::string& path, const json& body) {
    return impl_->as_installation(repo, "DELETE", path, body);
}

json Rest::get_all(const std::string& repo, const std::string& path, std::size_t max_items) {
    if (!repo.empty()) check_repo(repo);
    return impl_->all_pages(repo, path, max_items);
}

std::int64_t Rest::tokens_issued() const { return impl_->issued.load(); }

}  // namespace pangeo_forge::github
