// DATABASE_URL parsing: the input is a URL. It either parses or throws ConfigError
// (db/url.hpp); one that parses is then put through what the library does with a URL:
// its redacted form, libpq's keyword form and SQLite's busy timeout. The redacted form
// must not depend on the password: another password, the same text. The migration's lock
// settings are read from its query, and the text is read as a duration too: each gives a
// value in range or a ConfigError.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "expect.hpp"
#include "pangeo_forge/db/url.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/migrate/command.hpp"

using namespace pangeo_forge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::chrono::milliseconds duration{};
    if (fuzz::succeeds<ConfigError>([&] { duration = migrate::command::parse_duration(std::string(text), "fuzz"); })) {
        fuzz::require(duration.count() >= 0 && duration.count() <= 86'400'000, "a duration is at most a day");
    }
    migrate::LiveOptions options;
    if (fuzz::succeeds<ConfigError>([&] { options = migrate::command::live_options({}, std::string(text)); })) {
        fuzz::require(options.lock_timeout.count() >= 0 && options.lock_retries >= 0 && options.lock_retries <= 1000,
                      "the URL's lock settings are in range");
    }
    db::DatabaseUrl url;
    if (!fuzz::succeeds<ConfigError>([&] { url = db::parse_database_url(text); })) return 0;

    db::DatabaseUrl other_password = url;
    other_password.password = url.password.empty() ? "" : url.password + "x";
    fuzz::require(db::redacted(url) == db::redacted(other_password), "redacted() hides the password");
    if (url.backend == db::Backend::postgresql) {
        fuzz::require(!db::libpq_conninfo(url).empty(), "libpq_conninfo() is never empty");
    } else {
        // parse_database_url checked the timeout already: reading it again cannot fail.
        fuzz::require(fuzz::succeeds<ConfigError>([&] { db::sqlite_busy_timeout(url); }),
                      "a parsed URL's SQLite timeout reads");
    }
    return 0;
}
