#pragma once
// DATABASE_URL, in SQLAlchemy's form, as the Python service reads it:
//   sqlite:///relative/path.db   sqlite:////absolute/path.db   sqlite:// (in memory)
//   postgresql://user:pass@host:port/db   postgresql+psycopg2://...   postgres://... (Heroku)
// Passwords may be percent-encoded; query parameters pass through to the driver.
//
// Thread safety: plain values and pure functions, safe from any thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pangeo_forge::db {

enum class Backend { sqlite, postgresql };

std::string_view to_string(Backend backend);

struct DatabaseUrl {
    Backend backend = Backend::sqlite;
    std::string driver;    // "psycopg2" of postgresql+psycopg2://; informative only
    std::string username;  // percent-decoded
    std::string password;  // percent-decoded; never printed
    std::string host;      // empty: libpq's default (the local socket)
    std::optional<int> port;
    // PostgreSQL: the database name. SQLite: the file path; empty for an in-memory database.
    std::string database;
    std::vector<std::pair<std::string, std::string>> query;  // decoded, in order

    bool is_sqlite_memory() const { return backend == Backend::sqlite && database.empty(); }
    // The value of a query parameter, if the URL has it.
    std::optional<std::string> query_value(std::string_view key) const;

    bool operator==(const DatabaseUrl& other) const;
};

// Throws ConfigError naming what is wrong: an unsupported scheme, a missing database
// name, a malformed port or percent escape, an unknown SQLite option or a value it does
// not take (a timeout that is no number of seconds from 0 to 86400).
DatabaseUrl parse_database_url(std::string_view url);

// Whether a URL query key is one the migration engine reads (lock_timeout,
// statement_timeout, lock_retries) rather than the driver: any URL may carry them, and
// libpq is never given them.
bool is_migration_key(std::string_view key);

// SQLite's busy timeout from the URL's timeout option (seconds, from 0 to 86400), or
// std::nullopt when the URL has none. Throws ConfigError naming the option when its value
// is no such number (parse_database_url refuses those already; a DatabaseUrl built by hand
// is checked here).
std::optional<std::chrono::milliseconds> sqlite_busy_timeout(const DatabaseUrl& url);

// The URL with the password replaced by ***: safe for messages and logs.
std::string redacted(const DatabaseUrl& url);

// libpq's keyword form (host='..' port='..' dbname='..' ...), values quoted and escaped.
// Adds application_name and connect_timeout unless the URL sets them.
std::string libpq_conninfo(const DatabaseUrl& url);

// What the command and the Python module connect to when DATABASE_URL is not set: a SQLite
// file in the working directory.
inline constexpr const char* default_database_url = "sqlite:///pangeo_forge.db";

// DATABASE_URL from the environment, or `fallback` when it is unset or empty.
std::string database_url_from_environment(std::string_view fallback);

}  // namespace pangeo_forge::db
