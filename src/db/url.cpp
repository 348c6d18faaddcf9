#include "pangeo_forge/db/url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "pangeo_forge/error.hpp"
#include "support/text.hpp"

namespace pangeo_forge::db {
namespace {

constexpr const char* expected_forms =
    "use sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:// (in memory) "
    "or postgresql://user:password@host:port/dbname";

// The options a SQLite URL may carry, with the values each accepts.
struct SqliteOption {
    std::string_view key;
    std::vector<std::string_view> values;  // empty: any number of seconds
};

const std::vector<SqliteOption> sqlite_options = {
    {"synchronous", {"off", "normal", "full", "extra"}},
    // Not "off" or "memory": without a journal on disk a failed migration cannot roll back.
    {"journal_mode", {"wal", "delete", "truncate", "persist"}},
    {"timeout", {}},
};

// The option named `key`, or null. (Not a lambda over the loop's structured binding in
// check_sqlite_options: C++17 does not let a lambda capture one, and clang refuses it.)
const SqliteOption* sqlite_option(std::string_view key) {
    auto found = std::find_if(sqlite_options.begin(), sqlite_options.end(),
                              [key](const SqliteOption& option) { return option.key == key; });
    return found == sqlite_options.end() ? nullptr : &*found;
}

// Decodes %XX escapes (and '+' as a space in query strings). `part` names the piece of
// the URL for the error message, which never repeats the text itself: it may be a password.
std::string percent_decode(std::string_view text, std::string_view part, bool plus_is_space = false) {
    auto decoded = detail::percent_decoded(text, plus_is_space);
    if (!decoded) {
        throw ConfigError("DATABASE_URL has a malformed percent escape in its " + std::string(part) +
                          ": write a literal '%' as %25 and other characters as %XX");
    }
    return *decoded;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        std::string key = percent_decode(pair.substr(0, eq), "query string", true);
        std::string value =
            eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), "query string", true);
        if (key.empty()) throw ConfigError("DATABASE_URL has a query parameter without a name: write key=value");
        out.emplace_back(std::move(key), std::move(value));
    }
    return out;
}

// A day: more is a typo, and the milliseconds SQLite takes must fit an int.
constexpr double max_timeout_seconds = 86400;

constexpr std::string_view seconds_wanted = "a number of seconds from 0 to 86400, such as 2.5";

std::string invalid_option(const std::string& key, const std::string& value, std::string_view accepted) {
    return "DATABASE_URL's SQLite option " + key + "='" + value + "' is not valid: use " + std::string(accepted);
}

// Seconds as a plain decimal ("2.5", "30", "1e2"), from 0 to a day; nothing else: no sign,
// spaces, hex, nan or inf, and no value a double rounds to 0 or infinity (1e-400, 1e400).
// std::from_chars, unlike std::stod, neither throws nor reads the locale's decimal point.
std::optional<double> seconds_in(std::string_view text) {
    bool plain = !text.empty() && (std::isdigit(static_cast<unsigned char>(text.front())) != 0 || text.front() == '.') &&
                 text.find_first_not_of("0123456789.eE+-") == std::string_view::npos;
    if (!plain) return std::nullopt;
    double value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    if (!(value >= 0 && value <= max_timeout_seconds)) return std::nullopt;
    return value;
}

void check_sqlite_options(const DatabaseUrl& url) {
    for (const auto& [key, value] : url.query) {
        if (is_migration_key(key)) continue;  // the migration command checks its values
        const SqliteOption* option = sqlite_option(key);
        if (option == nullptr) {
            throw ConfigError("DATABASE_URL has the SQLite option '" + key +
                              "', which is not supported: use synchronous, journal_mode or timeout (or the migration "
                              "options lock_timeout, statement_timeout, lock_retries)");
        }
        if (option->values.empty()) {
            if (!seconds_in(value)) throw ConfigError(invalid_option(key, value, seconds_wanted));
            continue;
        }
        if (std::find(option->values.begin(), option->values.end(), detail::lowercase(value)) ==
            option->values.end()) {
            std::string accepted;
            for (auto v : option->values) accepted += (accepted.empty() ? "" : ", ") + std::string(v);
            throw ConfigError(invalid_option(key, value, "one of " + accepted));
        }
    }
}

DatabaseUrl parse_sqlite(std::string_view rest) {
    DatabaseUrl url;
    url.backend = Backend::sqlite;
    auto question = rest.find('?');
    std::string_view location = rest.substr(0, question);
    if (question != std::string_view::npos) url.query = parse_query(rest.substr(question + 1));
    if (!location.empty()) {
        if (location.front() != '/') {
            throw ConfigError("a SQLite DATABASE_URL takes no host: use sqlite:///relative/path.db or "
                              "sqlite:////absolute/path.db");
        }
        std::string path = percent_decode(location.substr(1), "path");
        if (path != ":memory:") url.database = std::move(path);
    }
    check_sqlite_options(url);
    return url;
}

int parse_port(std::string_view text) {
    bool digits = !text.empty() && text.size() <= 5 &&
                  std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
    int port = digits ? std::stoi(std::string(text)) : 0;
    if (port < 1 || port > 65535) {
        throw ConfigError("DATABASE_URL has the port '" + std::string(text) +
                          "', which is not a number from 1 to 65535: write host:5432");
    }
    return port;
}

// host, host:port, [v6], [v6]:port
void parse_host_port(std::string_view text, DatabaseUrl& url) {
    std::string_view host = text;
    std::optional<std::string_view> port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) {
            throw ConfigError("DATABASE_URL has an IPv6 host without its closing ']': write [::1]:5432");
        }
        host = text.substr(1, close - 1);
        std::string_view after = text.substr(close + 1);
        if (!after.empty() && after.front() != ':') {
            throw ConfigError("DATABASE_URL has text after its IPv6 host: write [::1]:5432");
        }
        if (!after.empty()) port = after.substr(1);
    } else if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    url.host = percent_decode(host, "host");
    if (port) url.port = parse_port(*port);
}

DatabaseUrl parse_postgresql(std::string_view rest, std::string driver) {
    DatabaseUrl url;
    url.backend = Backend::postgresql;
    url.driver = std::move(driver);
    // User info first, as SQLAlchemy reads it: a password may hold '/', '?' or ':' (but
    // not '@', which it must write as %40), so the first '@' ends it, wherever the
    // slashes are. A user name holds none of ':' and '/'.
    auto at = rest.find('@');
    auto user_end = rest.find_first_of(":/@");
    if (at != std::string_view::npos && rest[user_end] != '/') {
        std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto colon = userinfo.find(':');
        url.username = percent_decode(userinfo.substr(0, colon), "user name");
        if (colon != std::string_view::npos) url.password = percent_decode(userinfo.substr(colon + 1), "password");
    }
    auto question = rest.find('?');
    if (question != std::string_view::npos) url.query = parse_query(rest.substr(question + 1));
    std::string_view location = rest.substr(0, question);
    auto slash = location.find('/');
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : location.substr(slash + 1);
    parse_host_port(location.substr(0, slash), url);
    url.database = percent_decode(path, "database name");
    if (url.database.empty()) {
        throw ConfigError("DATABASE_URL " + redacted(url) +
                          " names no database: add it after the host, as in postgresql://user:password@host:5432/dbname");
    }
    return url;
}

// The value of a libpq keyword, quoted: 'it''s' is written 'it\'s'.
std::string libpq_quote(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\\' || c == '\'') out.push_back('\\');
        out.push_back(c);
    }
    return out + "'";
}

bool is_secret_key(std::string_view key) { return key.find("password") != std::string_view::npos; }

}  // namespace

std::string_view to_string(Backend backend) {
    return backend == Backend::sqlite ? "sqlite" : "postgresql";
}

std::optional<std::string> DatabaseUrl::query_value(std::string_view key) const {
    for (const auto& [name, value] : query) {
        if (name == key) return value;
    }
    return std::nullopt;
}

bool DatabaseUrl::operator==(const DatabaseUrl& other) const {
    return backend == other.backend && driver == other.driver && username == other.username &&
           password == other.password && host == other.host && port == other.port &&
           database == other.database && query == other.query;
}

DatabaseUrl parse_database_url(std::string_view text) {
    auto separator = text.find("://");
    if (separator == std::string_view::npos || separator == 0) {
        throw ConfigError("DATABASE_URL is not a database URL: " + std::string(expected_forms));
    }
    std::string scheme = detail::lowercase(text.substr(0, separator));
    std::string_view rest = text.substr(separator + 3);
    auto plus = scheme.find('+');
    std::string dialect = scheme.substr(0, plus);
    std::string driver = plus == std::string::npos ? "" : scheme.substr(plus + 1);

    if (dialect == "sqlite") return parse_sqlite(rest);
    if (dialect == "postgresql" || dialect == "postgres") return parse_postgresql(rest, driver);
    throw ConfigError("DATABASE_URL's scheme '" + scheme + "' is not supported: " + expected_forms);
}

bool is_migration_key(std::string_view key) {
    return key == "lock_timeout" || key == "statement_timeout" || key == "lock_retries";
}

std::optional<std::chrono::milliseconds> sqlite_busy_timeout(const DatabaseUrl& url) {
    auto text = url.query_value("timeout");
    if (!text) return std::nullopt;
    auto seconds = seconds_in(*text);
    if (!seconds) throw ConfigError(invalid_option("timeout", *text, seconds_wanted));
    return std::chrono::milliseconds(std::llround(*seconds * 1000));
}

std::string redacted(const DatabaseUrl& url) {
    std::string out;
    if (url.backend == Backend::sqlite) {
        out = url.is_sqlite_memory() ? "sqlite://" : "sqlite:///" + url.database;
    } else {
        out = "postgresql" + (url.driver.empty() ? "" : "+" + url.driver) + "://";
        if (!url.username.empty() || !url.password.empty()) {
            out += url.username + (url.password.empty() ? "" : ":***") + "@";
        }
        out += url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
        if (url.port) out += ":" + std::to_string(*url.port);
        out += "/" + url.database;
    }
    for (std::size_t i = 0; i < url.query.size(); ++i) {
        const auto& [key, value] = url.query[i];
        out += (i ? "&" : "?") + key + "=" + (is_secret_key(key) ? "***" : value);
    }
    return out;
}

std::string libpq_conninfo(const DatabaseUrl& url) {
    std::string out;
    auto add = [&out](std::string_view key, std::string_view value) {
        out += (out.empty() ? "" : " ") + std::string(key) + "=" + libpq_quote(value);
    };
    if (!url.host.empty()) add("host", url.host);
    if (url.port) add("port", std::to_string(*url.port));
    add("dbname", url.database);
    if (!url.username.empty()) add("user", url.username);
    if (!url.password.empty()) add("password", url.password);
    for (const auto& [key, value] : url.query) {
        if (!is_migration_key(key)) add(key, value);
    }
    if (!url.query_value("application_name")) add("application_name", "pangeo_forge");
    // Without a timeout, an unreachable host holds the caller for minutes of TCP retries.
    if (!url.query_value("connect_timeout")) add("connect_timeout", "10");
    return out;
}

std::string database_url_from_environment(std::string_view fallback) {
    const char* value = std::getenv("DATABASE_URL");
    return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

}  // namespace pangeo_forge::db
