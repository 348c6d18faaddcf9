// DATABASE_URL parsing: the input is a URL. It either parses or throws ConfigError
// (db/url.hpp); one that parses is then put through what the library does with a URL:
// its redacted form, libpq's keyword form and SQLite's busy timeout. The redacted form
// must not depend on the password: another password, the same text.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "expect.hpp"
#include "pangeo_forge/db/url.hpp"
#include "pangeo_forge/error.hpp"

using namespace pangeo_forge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
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
