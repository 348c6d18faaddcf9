// The stand-in GitHub (github_standin.hpp): a synchronous Beast server, one thread per
// connection (libcurl keeps its connections alive, so a test opens few), routing each call
// to the State, which holds what GitHub would: installations, tokens, repositories' files,
// check runs, pull requests.

#include "support/github_standin.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <nettle/asn1.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <nettle/sha1.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "github/pem.hpp"
#include "support/base64.hpp"
#include "support/sha256.hpp"
#include "support/text.hpp"
#include "pangeo_forge/model/timestamp.hpp"

namespace pangeo_forge::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace beast_http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using nlohmann::json;
using SystemClock = std::chrono::system_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Answer {
    int status = 200;
    json body;
    Headers headers;
};

Answer message(int status, const std::string& text) {
    return {status, {{"message", text}, {"documentation_url", "https://docs.github.com/rest"}}, {}};
}

Answer not_found() { return message(404, "Not Found"); }
Answer bad_credentials() { return message(401, "Bad credentials"); }

std::int64_t epoch_seconds(SystemClock::time_point when) {
    return std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count();
}

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// A git blob's id, as GitHub gives a file's "sha".
std::string blob_sha(const std::string& content) {
    const std::string blob = "blob " + std::to_string(content.size()) + '\0' + content;
    sha1_ctx context;
    sha1_init(&context);
    sha1_update(&context, blob.size(), reinterpret_cast<const uint8_t*>(blob.data()));
    std::string digest(SHA1_DIGEST_SIZE, '\0');
    sha1_digest(&context, SHA1_DIGEST_SIZE, reinterpret_cast<uint8_t*>(digest.data()));
    return hex(digest);
}

std::string random_text(std::size_t length) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    thread_local std::mt19937_64 random{std::random_device{}()};
    std::string out;
    for (std::size_t i = 0; i < length; ++i) out += alphabet[random() % 62];
    return out;
}

std::vector<std::string> segments_of(const std::string& path) {
    std::vector<std::string> out;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        auto decoded = pangeo_forge::detail::percent_decoded(path.substr(start, end - start), false,
                                                             pangeo_forge::detail::MalformedEscape::keep);
        out.push_back(decoded.value_or(""));
        start = end + 1;
    }
    while (!out.empty() && out.back().empty()) out.pop_back();
    return out;
}

std::map<std::string, std::string> query_of(const std::string& query) {
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start < query.size()) {
        auto end = query.find('&', start);
        if (end == std::string::npos) end = query.size();
        const std::string pair = query.substr(start, end - start);
        auto equals = pair.find('=');
        auto decode = [](const std::string& text) {
            return pangeo_forge::detail::percent_decoded(text, true, pangeo_forge::detail::MalformedEscape::keep).value_or("");
        };
        if (equals == std::string::npos) {
            out[decode(pair)] = "";
        } else {
            out[decode(pair.substr(0, equals))] = decode(pair.substr(equals + 1));
        }
        start = end + 1;
    }
    return out;
}

std::int64_t number_or(const std::string& text, std::int64_t fallback) {
    if (text.empty() || text.size() > 15 || text.find_first_not_of("0123456789") != std::string::npos) return fallback;
    return std::stoll(text);
}

// The RSA public key of a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY" (PKCS#1).
void read_public_key(const std::string& pem, rsa_public_key& key) {
    auto fail = [] { throw std::runtime_error("GithubStandin: the app's public key is not an RSA public key in PEM"); };
    if (auto der = github::detail::pem_der(pem, "RSA PUBLIC KEY")) {
        if (!rsa_keypair_from_der(&key, nullptr, 0, der->size(), reinterpret_cast<const uint8_t*>(der->data()))) fail();
        return;
    }
    auto der = github::detail::pem_der(pem, "PUBLIC KEY");
    if (!der) fail();
    asn1_der_iterator i;
    if (asn1_der_iterator_first(&i, der->size(), reinterpret_cast<const uint8_t*>(der->data())) !=
            ASN1_ITERATOR_CONSTRUCTED ||
        i.type != ASN1_SEQUENCE || asn1_der_decode_constructed_last(&i) != ASN1_ITERATOR_CONSTRUCTED ||
        i.type != ASN1_SEQUENCE || asn1_der_iterator_next(&i) != ASN1_ITERATOR_PRIMITIVE || i.type != ASN1_BITSTRING ||
        asn1_der_decode_bitstring_last(&i) != ASN1_ITERATOR_CONSTRUCTED || !rsa_public_key_from_der_iterator(&key, 0, &i)) {
        fail();
    }
}

}  // namespace

// --- what GitHub holds, and its answers ------------------------------------------------

struct GithubStandin::State {
    std::int64_t app_id = 0;
    rsa_public_key key;
    std::string url;

    mutable std::mutex mutex;
    std::vector<GithubCall> calls;
    struct Script {
        std::string method;
        std::string path;
        int status;
        json body;
        int remaining;
        Headers headers;
    };
    std::deque<Script> scripts;

    std::chrono::seconds token_lifetime{3600};
    struct Token {
        std::int64_t installation;
        SystemClock::time_point expires_at;
        bool revoked = false;
    };
    std::map<std::string, Token> tokens;
    int issued = 0;
    std::map<std::string, std::int64_t> installations;  // owner, lower case -> id
    std::map<std::string, std::int64_t> repository_ids;
    std::set<std::string> created_repositories;
    std::map<std::string, std::map<std::string, std::string>> files;  // repo -> path -> content
    std::map<std::pair<std::string, std::int64_t>, json> pulls;
    std::map<std::pair<std::string, std::int64_t>, std::vector<std::string>> pull_files;
    std::map<std::string, std::set<std::string>> branches;  // repo -> branches made through the API
    std::map<std::string, std::vector<json>> check_runs;    // repo -> its check runs
    json deliveries = json::array();
    std::int64_t next_id = 1000;

    State() { rsa_public_key_init(&key); }
    ~State() { rsa_public_key_clear(&key); }

    // --- credentials -----------------------------------------------------------------

    std::int64_t installation_of(const std::string& owner) {
        const std::string key_name = pangeo_forge::detail::lowercase(owner);
        auto found = installations.find(key_name);
        if (found != installations.end()) return found->second;
        const auto id = static_cast<std::int64_t>(installations.size()) + 1;
        installations[key_name] = id;
        return id;
    }

    // Nothing when the JWT holds; else GitHub's 401.
    std::optional<Answer> jwt_refusal(const std::string& authorization) const {
        const std::string prefix = "Bearer ";
        if (authorization.compare(0, prefix.size(), prefix) != 0) return message(401, "A JSON web token could not be decoded");
        const std::string jwt = authorization.substr(prefix.size());
        auto first_dot = jwt.find('.');
        auto second_dot = first_dot == std::string::npos ? std::string::npos : jwt.find('.', first_dot + 1);
        if (second_dot == std::string::npos) return message(401, "A JSON web token could not be decoded");
        auto header = pangeo_forge::detail::base64url_decoded(jwt.substr(0, first_dot));
        auto claims = pangeo_forge::detail::base64url_decoded(jwt.substr(first_dot + 1, second_dot - first_dot - 1));
        auto signature = pangeo_forge::detail::base64url_decoded(jwt.substr(second_dot + 1));
        if (!header || !claims || !signature) return message(401, "A JSON web token could not be decoded");
        json header_json = json::parse(*header, nullptr, false);
        json claims_json = json::parse(*claims, nullptr, false);
        if (!header_json.is_object() || header_json.value("alg", "") != "RS256" || !claims_json.is_object()) {
            return message(401, "A JSON web token could not be decoded");
        }
        const std::string digest = pangeo_forge::detail::sha256_digest(jwt.substr(0, second_dot));
        mpz_t value;
        mpz_init(value);
        nettle_mpz_set_str_256_u(value, signature->size(), reinterpret_cast<const uint8_t*>(signature->data()));
        const bool verified = signature->size() == key.size &&
                              rsa_sha256_verify_digest(&key, reinterpret_cast<const uint8_t*>(digest.data()), value);
        mpz_clear(value);
        if (!verified) return message(401, "A JSON web token could not be decoded");
        const auto& iss = claims_json["iss"];
        const bool issuer = (iss.is_string() && iss.get<std::string>() == std::to_string(app_id)) ||
                            (iss.is_number_integer() && iss.get<std::int64_t>() == app_id);
        if (!issuer) return message(401, "'Issuer' claim ('iss') must be an Integer");
        const std::int64_t now = epoch_seconds(SystemClock::now());
        const auto& exp = claims_json["exp"];
        const auto& iat = claims_json["iat"];
        if (!exp.is_number_integer() || exp.get<std::int64_t>() <= now || exp.get<std::int64_t>() > now + 600) {
            return message(401, "'Expiration time' claim ('exp') must be a numeric value representing the future time at "
                                "which the assertion expires, no more than 10 minutes ahead");
        }
        if (!iat.is_number_integer() || iat.get<std::int64_t>() > now + 60) {
            return message(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion "
                                "was issued");
        }
        return std::nullopt;
    }

    // Nothing when the installation token holds for `owner` (any owner when empty); else 401.
    std::optional<Answer> token_refusal(const std::string& authorization, const std::string& owner) {
        std::string token;
        for (const std::string prefix : {"Bearer ", "token "}) {
            if (authorization.compare(0, prefix.size(), prefix) == 0) token = authorization.substr(prefix.size());
        }
        auto found = tokens.find(token);
        if (found == tokens.end() || found->second.revoked || SystemClock::now() >= found->second.expires_at) {
            return bad_credentials();
        }
        // A token opens its installation's repositories only; GitHub hides the others.
        if (!owner.empty() && installation_of(owner) != found->second.installation) return not_found();
        return std::nullopt;
    }

    // --- routes ------------------------------------------------------------------------

    Answer route(const GithubCall& call) {
        const auto s = segments_of(call.path);
        const auto query = query_of(call.query);
        const std::string& method = call.method;
        if (!s.empty() && s[0] == "app") {
            if (auto refusal = jwt_refusal(call.authorization)) return *refusal;
            return app_route(method, s);
        }
        if (s.size() == 4 && s[0] == "repos" && s[3] == "installation" && method == "GET") {
            if (auto refusal = jwt_refusal(call.authorization)) return *refusal;
            return {200, {{"id", installation_of(s[1])}, {"app_id", app_id}, {"account", {{"login", s[1]}}}}, {}};
        }
        const std::string owner = s.size() >= 2 && (s[0] == "repos" || s[0] == "orgs") ? s[1] : std::string();
        if (auto refusal = token_refusal(call.authorization, owner)) return *refusal;
        if (s.size() == 3 && s[0] == "orgs" && s[2] == "repos" && method == "POST") return create_repository(s[1], call.body);
        if (s.size() < 3 || s[0] != "repos") return not_found();
        const std::string repo = s[1] + "/" + s[2];
        const std::vector<std::string> rest(s.begin() + 3, s.end());
        return repository_route(method, repo, rest, query, call.body);
    }

    Answer app_route(const std::string& method, const std::vector<std::string>& s) {
        if (method == "POST" && s.size() == 4 && s[1] == "installations" && s[3] == "access_tokens") {
            const std::int64_t installation = number_or(s[2], 0);
            bool known = false;
            for (const auto& [owner, id] : installations) known = known || id == installation;
            if (!known) return not_found();
            const std::string token = "ghs_" + random_text(36);
            const auto expires_at = std::chrono::time_point_cast<std::chrono::seconds>(SystemClock::now() + token_lifetime);
            tokens[token] = Token{installation, expires_at};
            ++issued;
            return {201,
                    {{"token", token},
                     {"expires_at", model::format_timestamp(expires_at)},
                     {"permissions", json::object()},
                     {"repository_selection", "all"}},
                    {}};
        }
        if (method == "GET" && s.size() == 3 && s[1] == "hook" && s[2] == "deliveries") return {200, deliveries, {}};
        if (method == "GET" && s.size() == 4 && s[1] == "hook" && s[2] == "deliveries") {
            for (const auto& delivery : deliveries) {
                const auto& id = delivery.is_object() ? delivery.value("id", json()) : json();
                if ((id.is_number_integer() && std::to_string(id.get<std::int64_t>()) == s[3]) ||
                    (id.is_string() && id.get<std::string>() == s[3])) {
                    return {200, delivery, {}};
                }
            }
        }
        return not_found();
    }

    std::int64_t repository_id(const std::string& repo) {
        auto found = repository_ids.find(repo);
        if (found != repository_ids.end()) return found->second;
        const auto id = 500000 + static_cast<std::int64_t>(repository_ids.size());
        repository_ids[repo] = id;
        return id;
    }

    json repository(const std::string& repo) {
        const auto slash = repo.find('/');
        return {{"id", repository_id(repo)},
                {"name", repo.substr(slash + 1)},
                {"full_name", repo},
                {"owner", {{"login", repo.substr(0, slash)}}},
                {"default_branch", "main"},
                {"html_url", "https://github.com/" + repo}};
    }

    bool repository_exists(const std::string& repo) const {
        if (created_repositories.count(repo) || files.count(repo)) return true;
        for (const auto& [key, value] : pulls) {
            if (key.first == repo) return true;
        }
        return false;
    }

    Answer create_repository(const std::string& org, const json& body) {
        if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) {
            return message(422, "Repository creation failed.");
        }
        const std::string repo = org + "/" + body["name"].get<std::string>();
        if (repository_exists(repo)) {
            Answer answer = message(422, "Repository creation failed.");
            answer.body["errors"] = json::array({{{"resource", "Repository"},
                                                  {"code", "custom"},
                                                  {"field", "name"},
                                                  {"message", "name already exists on this account"}}});
            return answer;
        }
        created_repositories.insert(repo);
        return {201, repository(repo), {}};
    }

    Answer repository_route(const std::string& method, const std::string& repo, const std::vector<std::string>& s,
                            const std::map<std::string, std::string>& query, const json& body) {
        const std::size_t n = s.size();
        if (n == 0 && method == "GET") return {200, repository(repo), {}};
        if (n == 0) return not_found();
        const std::string& what = s[0];
        if (what == "check-runs") return check_run_route(method, repo, s, body);
        if (what == "commits" && n == 3 && s[2] == "check-runs" && method == "GET") {
            json runs = json::array();
            for (const auto& run : check_runs[repo]) {
                if (run.value("head_sha", "") == s[1]) runs.push_back(run);
            }
            return {200, {{"total_count", runs.size()}, {"check_runs", runs}}, {}};
        }
        if (what == "issues" && n == 3 && s[2] == "comments" && method == "POST") {
            const auto id = next_id++;
            return {201,
                    {{"id", id},
                     {"body", body.is_object() ? body.value("body", "") : ""},
                     {"html_url", "https://github.com/" + repo + "/pull/" + s[1] + "#issuecomment-" + std::to_string(id)}},
                    {}};
        }
        if (what == "issues" && n == 4 && s[1] == "comments" && s[3] == "reactions" && method == "POST") {
            return {201, {{"id", next_id++}, {"content", body.is_object() ? body.value("content", "") : ""}}, {}};
        }
        if (what == "deployments" && n == 1 && method == "POST") {
            json deployment = body.is_object() ? body : json::object();
            deployment["id"] = next_id++;
            return {201, deployment, {}};
        }
        if (what == "deployments" && n == 3 && s[2] == "statuses" && method == "POST") {
            json status = body.is_object() ? body : json::object();
            status["id"] = next_id++;
            return {201, status, {}};
        }
        if (what == "pulls") return pull_route(method, repo, s, query, body);
        if (what == "contents") return contents_route(method, repo, s, body);
        if (what == "git") return git_route(method, repo, s, body);
        return not_found();
    }

    Answer check_run_route(const std::string& method, const std::string& repo, const std::vector<std::string>& s,
                           const json& body) {
        if (s.size() == 1 && method == "POST") {
            if (!body.is_object() || !body.contains("name") || !body.contains("head_sha")) {
                return message(422, "Invalid request.\n\n\"name\" and \"head_sha\" are required.");
            }
            json run = body;
            run["id"] = next_id++;
            if (!run.contains("status")) run["status"] = "queued";
            run["html_url"] = "https://github.com/" + repo + "/runs/" + std::to_string(run["id"].get<std::int64_t>());
            check_runs[repo].push_back(run);
            return {201, run, {}};
        }
        if (s.size() == 2 && (method == "PATCH" || method == "GET")) {
            const std::int64_t id = number_or(s[1], -1);
            for (auto& run : check_runs[repo]) {
                if (run["id"] != id) continue;
                if (method == "PATCH" && body.is_object()) {
                    for (const auto& [key, value] : body.items()) run[key] = value;
                }
                return {200, run, {}};
            }
        }
        return not_found();
    }

    Answer pull_route(const std::string& method, const std::string& repo, const std::vector<std::string>& s,
                      const std::map<std::string, std::string>& query, const json& body) {
        if (s.size() == 1 && method == "POST") return open_pull_request(repo, body);
        if (s.size() < 2) return not_found();
        const auto key = std::make_pair(repo, number_or(s[1], -1));
        if (s.size() == 2 && method == "GET") {
            auto found = pulls.find(key);
            return found == pulls.end() ? not_found() : Answer{200, found->second, {}};
        }
        if (s.size() == 3 && s[2] == "files" && method == "GET") {
            auto found = pull_files.find(key);
            if (found == pull_files.end() && !pulls.count(key)) return not_found();
            static const std::vector<std::string> none;
            return files_page(repo, s[1], found == pull_files.end() ? none : found->second, query);
        }
        return not_found();
    }

    // One page of a pull request's files, with GitHub's Link header (absolute URLs).
    Answer files_page(const std::string& repo, const std::string& number, const std::vector<std::string>& names,
                      const std::map<std::string, std::string>& query) {
        auto at = [&query](const char* name, std::int64_t fallback) {
            auto found = query.find(name);
            return found == query.end() ? fallback : number_or(found->second, fallback);
        };
        const std::int64_t per_page = std::clamp<std::int64_t>(at("per_page", 30), 1, 100);
        const std::int64_t page = std::max<std::int64_t>(at("page", 1), 1);
        const auto total = static_cast<std::int64_t>(names.size());
        const std::int64_t last = std::max<std::int64_t>(1, (total + per_page - 1) / per_page);
        json items = json::array();
        for (std::int64_t i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i) {
            items.push_back({{"filename", names[i]}, {"status", "added"}, {"sha", blob_sha(names[i])}});
        }
        Answer answer{200, items, {}};
        const std::string base = url + "/repos/" + repo + "/pulls/" + number + "/files?per_page=" + std::to_string(per_page) + "&page=";
        std::vector<std::string> links;
        if (page < last) links.push_back("<" + base + std::to_string(page + 1) + ">; rel=\"next\"");
        if (page < last) links.push_back("<" + base + std::to_string(last) + ">; rel=\"last\"");
        if (page > 1) links.push_back("<" + base + "1>; rel=\"first\"");
        if (!links.empty()) answer.headers.emplace_back("Link", pangeo_forge::detail::joined(links, ", "));
        return answer;
    }

    Answer open_pull_request(const std::string& repo, const json& body) {
        if (!body.is_object() || !body.contains("head") || !body.contains("base") || !body.contains("title")) {
            return message(422, "Validation Failed");
        }
        std::int64_t number = 1;
        for (const auto& [key, value] : pulls) {
            if (key.first == repo) number = std::max(number, key.second + 1);
        }
        json pull = {{"number", number},
                     {"title", body["title"]},
                     {"body", body.value("body", "")},
                     {"state", "open"},
                     {"html_url", "https://github.com/" + repo + "/pull/" + std::to_string(number)},
                     {"head", {{"ref", body["head"]}}},
                     {"base", {{"ref", body["base"]}}}};
        pulls[{repo, number}] = pull;
        return {201, pull, {}};
    }

    static json file_entry(const std::string& path, const std::string& content) {
        const auto slash = path.rfind('/');
        return {{"type", "file"},
                {"name", slash == std::string::npos ? path : path.substr(slash + 1)},
                {"path", path},
                {"sha", blob_sha(content)},
                {"size", content.size()}};
    }

    json commit() { return {{"sha", blob_sha("commit " + std::to_string(next_id++))}}; }

    Answer contents_route(const std::string& method, const std::string& repo, const std::vector<std::string>& s,
                          const json& body) {
        std::vector<std::string> parts(s.begin() + 1, s.end());
        const std::string path = pangeo_forge::detail::joined(parts, "/");
        if (method == "GET" && !files.count(repo)) return not_found();
        auto& tree = files[repo];
        auto found = tree.find(path);
        if (method == "GET") {
            if (found != tree.end()) {
                json file = file_entry(path, found->second);
                file["content"] = pangeo_forge::detail::base64_encoded(found->second);
                file["encoding"] = "base64";
                return {200, file, {}};
            }
            return directory_listing(tree, path);
        }
        const std::string given_sha = body.is_object() ? body.value("sha", "") : "";
        const bool exists = found != tree.end();
        if (exists && given_sha.empty()) return message(422, "Invalid request.\n\n\"sha\" wasn't supplied.");
        if (exists && given_sha != blob_sha(found->second)) return message(409, path + " does not match " + given_sha);
        if (method == "PUT") {
            if (!body.is_object() || !body.contains("content") || !body["content"].is_string() || !body.contains("message")) {
                return message(422, "Invalid request.\n\n\"content\" and \"message\" are required.");
            }
            auto content = pangeo_forge::detail::base64_decoded(body["content"].get<std::string>());
            if (!content) return message(422, "content is not valid Base64");
            tree[path] = *content;
            return {exists ? 200 : 201, {{"content", file_entry(path, *content)}, {"commit", commit()}}, {}};
        }
        if (method == "DELETE") {
            if (!exists) return not_found();
            tree.erase(found);
            return {200, {{"content", nullptr}, {"commit", commit()}}, {}};
        }
        return not_found();
    }

    // The files and folders right under `folder` ("" for the root); 404 when none.
    Answer directory_listing(const std::map<std::string, std::string>& tree, const std::string& folder) {
        const std::string prefix = folder.empty() ? "" : folder + "/";
        json listing = json::array();
        std::set<std::string> folders;
        for (const auto& [path, content] : tree) {
            if (path.compare(0, prefix.size(), prefix) != 0) continue;
            const std::string rest = path.substr(prefix.size());
            const auto slash = rest.find('/');
            if (slash == std::string::npos) {
                listing.push_back(file_entry(path, content));
            } else if (folders.insert(rest.substr(0, slash)).second) {
                const std::string sub = prefix + rest.substr(0, slash);
                listing.push_back({{"type", "dir"}, {"name", rest.substr(0, slash)}, {"path", sub}, {"sha", blob_sha(sub)}});
            }
        }
        if (listing.empty()) return not_found();
        return {200, listing, {}};
    }

    Answer git_route(const std::string& method, const std::string& repo, const std::vector<std::string>& s,
                     const json& body) {
        // GET /git/ref/heads/{branch} (the branch may hold slashes).
        if (method == "GET" && s.size() >= 4 && s[1] == "ref" && s[2] == "heads") {
            std::vector<std::string> parts(s.begin() + 3, s.end());
            const std::string branch = pangeo_forge::detail::joined(parts, "/");
            if (branch != "main" && !branches[repo].count(branch)) return not_found();
            return {200,
                    {{"ref", "refs/heads/" + branch},
                     {"object", {{"sha", blob_sha(repo + ":" + branch)}, {"type", "commit"}}}},
                    {}};
        }
        if (method == "POST" && s.size() == 2 && s[1] == "refs") {
            if (!body.is_object() || !body.contains("ref") || !body["ref"].is_string() || !body.contains("sha")) {
                return message(422, "Invalid request.\n\n\"ref\" and \"sha\" are required.");
            }
            const std::string ref = body["ref"].get<std::string>();
            const std::string heads = "refs/heads/";
            if (ref.compare(0, heads.size(), heads) != 0) return message(422, "Reference name is not valid");
            const std::string branch = ref.substr(heads.size());
            if (branch == "main" || !branches[repo].insert(branch).second) return message(422, "Reference already exists");
            return {201, {{"ref", ref}, {"object", {{"sha", body["sha"]}, {"type", "commit"}}}}, {}};
        }
        return not_found();
    }

    // --- one call ------------------------------------------------------------------------

    Answer answer(GithubCall call) {
        std::lock_guard lock(mutex);
        calls.push_back(call);
        for (auto it = scripts.begin(); it != scripts.end(); ++it) {
            if (it->method != call.method || it->path != call.path) continue;
            Answer scripted{it->status, it->body, it->headers};
            if (--it->remaining <= 0) scripts.erase(it);
            return scripted;
        }
        return route(call);
    }
};

// --- the server ----------------------------------------------------------------------------

struct GithubStandin::Server {
    std::shared_ptr<State> state;
    net::io_context io;
    tcp::acceptor acceptor{io};
    std::atomic<bool> stopping{false};
    std::thread accept_thread;
    std::mutex mutex;
    std::list<std::thread> connections;
    std::set<int> open_sockets;  // those of live connections, for stop()

    explicit Server(std::shared_ptr<State> shared) : state(std::move(shared)) {
        error_code error;
        tcp::endpoint endpoint(net::ip::address_v4::loopback(), 0);
        acceptor.open(endpoint.protocol(), error);
        if (!error) acceptor.bind(endpoint, error);
        if (!error) acceptor.listen(net::socket_base::max_listen_connections, error);
        if (error) throw std::runtime_error("GithubStandin: cannot listen on 127.0.0.1: " + error.message());
        accept_thread = std::thread([this] { accept_loop(); });
    }

    int port() const { return acceptor.local_endpoint().port(); }

    void accept_loop() {
        for (;;) {
            tcp::socket socket(io);
            error_code error;
            acceptor.accept(socket, error);
            if (stopping) return;
            if (error) continue;
            std::lock_guard lock(mutex);
            open_sockets.insert(socket.native_handle());
            connections.emplace_back([this, connection = std::move(socket)]() mutable { serve(connection); });
        }
    }

    void serve(tcp::socket& socket) {
        beast::flat_buffer buffer;
        for (;;) {
            beast_http::request_parser<beast_http::string_body> parser;
            parser.body_limit(16 * 1024 * 1024);
            error_code error;
            beast_http::read(socket, buffer, parser, error);
            if (error) break;
            auto& request = parser.get();
            auto response = respond(request);
            beast_http::write(socket, response, error);
            if (error || !request.keep_alive()) break;
        }
        {
            std::lock_guard lock(mutex);
            open_sockets.erase(socket.native_handle());
        }
        error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        socket.close(ignored);
    }

    beast_http::response<beast_http::string_body> respond(const beast_http::request<beast_http::string_body>& request) {
        GithubCall call;
        call.method = std::string(request.method_string());
        const std::string target(request.target());
        const auto question = target.find('?');
        call.path = target.substr(0, question);
        call.query = question == std::string::npos ? std::string() : target.substr(question + 1);
        if (!request.body().empty()) {
            call.body = json::parse(request.body(), nullptr, false);
            if (call.body.is_discarded()) call.body = request.body();
        }
        call.authorization = std::string(request[beast_http::field::authorization]);
        Answer answer = state->answer(std::move(call));

        beast_http::response<beast_http::string_body> response{static_cast<beast_http::status>(answer.status),
                                                               request.version()};
        response.set(beast_http::field::content_type, "application/json; charset=utf-8");
        response.set("X-GitHub-Media-Type", "github.v3; format=json");
        for (const auto& [name, value] : answer.headers) response.set(name, value);
        if (answer.status != 204) response.body() = answer.body.dump();
        response.keep_alive(request.keep_alive());
        response.prepare_payload();
        return response;
    }

    // Wakes the blocked accept and reads (shutdown, not close: the descriptors stay theirs
    // to close), then waits for every thread.
    void stop() {
        stopping = true;
        ::shutdown(acceptor.native_handle(), SHUT_RDWR);
        accept_thread.join();
        {
            std::lock_guard lock(mutex);
            for (int socket : open_sockets) ::shutdown(socket, SHUT_RDWR);
        }
        for (auto& connection : connections) connection.join();
        error_code ignored;
        acceptor.close(ignored);
    }
};

GithubStandin::GithubStandin(std::int64_t app_id, std::string public_key_pem) : state_(std::make_shared<State>()) {
    state_->app_id = app_id;
    read_public_key(public_key_pem, state_->key);
    server_ = std::make_unique<Server>(state_);
    state_->url = "http://127.0.0.1:" + std::to_string(server_->port());
}

GithubStandin::~GithubStandin() { server_->stop(); }

std::string GithubStandin::url() const { return state_->url; }

std::vector<GithubCall> GithubStandin::calls() const {
    std::lock_guard lock(state_->mutex);
    return state_->calls;
}

std::vector<GithubCall> GithubStandin::calls_to(const std::string& method, const std::string& path_prefix) const {
    std::lock_guard lock(state_->mutex);
    std::vector<GithubCall> out;
    for (const auto& call : state_->calls) {
        if (call.method == method && call.path.compare(0, path_prefix.size(), path_prefix) == 0) out.push_back(call);
    }
    return out;
}

void GithubStandin::fail_next(const std::string& method, const std::string& path, int status, int times,
                              std::vector<std::pair<std::string, std::string>> headers) {
    answer_next(method, path, status, message(status, "scripted failure").body, times, std::move(headers));
}

void GithubStandin::answer_next(const std::string& method, const std::string& path, int status, nlohmann::json body,
                                int times, std::vector<std::pair<std::string, std::string>> headers) {
    if (times <= 0) return;
    std::lock_guard lock(state_->mutex);
    state_->scripts.push_back(State::Script{method, path, status, std::move(body), times, std::move(headers)});
}

void GithubStandin::set_token_lifetime(std::chrono::seconds lifetime) {
    std::lock_guard lock(state_->mutex);
    state_->token_lifetime = lifetime;
}

void GithubStandin::expire_tokens() {
    std::lock_guard lock(state_->mutex);
    for (auto& [value, token] : state_->tokens) token.revoked = true;
}

int GithubStandin::tokens_issued() const {
    std::lock_guard lock(state_->mutex);
    return state_->issued;
}

void GithubStandin::set_pull_request(const std::string& repo, std::int64_t number, nlohmann::json pull_request) {
    if (pull_request.is_object() && !pull_request.contains("number")) pull_request["number"] = number;
    std::lock_guard lock(state_->mutex);
    state_->pulls[{repo, number}] = std::move(pull_request);
}

void GithubStandin::set_pull_request_files(const std::string& repo, std::int64_t number, std::vector<std::string> filenames) {
    std::lock_guard lock(state_->mutex);
    state_->pull_files[{repo, number}] = std::move(filenames);
}

void GithubStandin::set_file(const std::string& repo, const std::string& path, const std::string& content) {
    std::lock_guard lock(state_->mutex);
    state_->files[repo][path] = content;
}

nlohmann::json GithubStandin::repository_files(const std::string& repo) const {
    std::lock_guard lock(state_->mutex);
    json out = json::object();
    auto found = state_->files.find(repo);
    if (found == state_->files.end()) return out;
    for (const auto& [path, content] : found->second) out[path] = content;
    return out;
}

void GithubStandin::set_deliveries(nlohmann::json deliveries) {
    std::lock_guard lock(state_->mutex);
    state_->deliveries = std::move(deliveries);
}

}  // namespace pangeo_forge::testing
