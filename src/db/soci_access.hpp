#pragma once
// The library's own door to the SOCI session behind a Connection, and the translation
// of driver exceptions into the library's DatabaseError. Only src/ includes this.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <soci/soci.h>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::db {

// A statement prepared once per connection and kept with the variables it is bound to.
struct CachedStatement {
    virtual ~CachedStatement() = default;
};

struct Connection::Impl {
    Dialect dialect;
    soci::session session;
    std::string password;  // kept only to scrub it from driver messages
    // Declared after the session: destroyed before it.
    std::unordered_map<std::string, std::unique_ptr<CachedStatement>> statements;
};

// The statement cached under `key` on this connection, made by `make()` the first time.
template <class Statement, class Make>
Statement& cached_statement(Connection& connection, const std::string& key, Make make) {
    auto& slot = connection.impl().statements[key];
    if (!slot) slot = make();
    return static_cast<Statement&>(*slot);
}

// Ends a use of a kept statement. SQLite holds a read snapshot for a statement until it is
// reset, which would hide later commits from this connection.
void finish_use(Connection& connection, soci::statement& statement);

inline soci::session& soci_session(Connection& connection) { return connection.impl().session; }

// The driver's message with the password, should the driver ever echo it, masked.
std::string scrubbed_message(const soci::soci_error& error, const std::string& password);

// Runs `work`; a driver exception comes out as DatabaseError("<what>: <driver message>").
template <class Work>
decltype(auto) translating_errors(Connection& connection, std::string_view what, Work&& work) {
    try {
        return std::forward<Work>(work)();
    } catch (const soci::soci_error& error) {
        throw DatabaseError(std::string(what) + ": " + scrubbed_message(error, connection.impl().password));
    }
}

}  // namespace pangeo_forge::db
