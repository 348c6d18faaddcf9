#pragma once
// What a Connection holds behind its PIMPL: the SOCI session, the statements kept on it,
// and the translation of driver exceptions into the library's DatabaseError. Only the db/
// layer includes this header: the layers above speak typed statements (db/statement.hpp).

#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <soci/soci.h>

#include "pangeo_forge/db/database.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::db {

struct KeptStatement;

// The statements kept on one connection, by SQL text, the least recently used first out.
class KeptStatements {
public:
    KeptStatements();
    ~KeptStatements();
    KeptStatements(const KeptStatements&) = delete;
    KeptStatements& operator=(const KeptStatements&) = delete;

    // The statement kept for `sql`, or nullptr; a found one becomes the most recent.
    KeptStatement* find(const std::string& sql);
    KeptStatement& keep(const std::string& sql, std::unique_ptr<KeptStatement> statement);
    void discard(const std::string& sql);
    // Takes a failed statement out of use, to be finalised by finalise_retired(). On
    // PostgreSQL a statement that failed inside a transaction cannot be deallocated until
    // the transaction ends (the server refuses every command but ROLLBACK), and SOCI would
    // forget it on the server for good.
    void retire(const std::string& sql);
    bool has_retired() const { return !retired_.empty(); }
    void finalise_retired();
    void clear();
    std::size_t size() const { return by_sql_.size(); }

private:
    using Order = std::list<std::string>;
    struct Entry {
        std::unique_ptr<KeptStatement> statement;
        Order::iterator position;
    };
    Order recency_;  // most recent first
    std::unordered_map<std::string, Entry> by_sql_;
    std::vector<std::unique_ptr<KeptStatement>> retired_;
};

struct Connection::Impl {
    Dialect dialect;
    soci::session session;
    std::string password;  // kept only to scrub it from driver messages
    // Declared after the session: destroyed before it.
    KeptStatements statements;
};

// The one door from db/'s units to a Connection's insides.
struct ConnectionAccess {
    static Connection::Impl& impl(Connection& connection) { return *connection.impl_; }
};

inline soci::session& soci_session(Connection& connection) { return ConnectionAccess::impl(connection).session; }

// The driver's message on one line, with the password, should the driver ever echo it, masked.
std::string scrubbed(std::string message, const std::string& password);
std::string scrubbed_message(const soci::soci_error& error, const std::string& password);

// Runs `work`; a driver exception comes out as DatabaseError("<what>: <driver message>").
template <class Work>
decltype(auto) translating_errors(Connection& connection, std::string_view what, Work&& work) {
    try {
        return std::forward<Work>(work)();
    } catch (const soci::soci_error& error) {
        throw DatabaseError(std::string(what) + ": " + scrubbed_message(error, ConnectionAccess::impl(connection).password));
    }
}

// Whether the driver can run statements on the connection now: not inside a transaction
// that a failure aborted (PostgreSQL).
bool accepts_statements(Connection& connection);

// "statement failed (<the SQL, cut at 200 characters>): <why>".
std::string statement_failure(std::string_view sql, std::string_view why);

// Throws the failure of `sql` as DatabaseError, or as LockTimeoutError when the driver says
// the statement gave up waiting for a lock.
[[noreturn]] void throw_statement_error(Connection& connection, std::string_view sql, const soci::soci_error& error);

// Runs the statement `sql` with `work`; a driver exception comes out as DatabaseError
// naming the statement. The message is built only when it fails: statements run on every
// request, BEGIN and COMMIT included.
// A lock wait that ran out comes out as LockTimeoutError.
template <class Work>
decltype(auto) running_statement(Connection& connection, std::string_view sql, Work&& work) {
    try {
        return std::forward<Work>(work)();
    } catch (const soci::soci_error& error) {
        throw_statement_error(connection, sql, error);
    }
}

// Ends a use of a kept statement. SQLite holds a read snapshot for a statement until it is
// reset, which would hide later commits from this connection.
void finish_use(Connection& connection, soci::statement& statement);

}  // namespace pangeo_forge::db
