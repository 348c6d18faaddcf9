#pragma once
// Database access: a pool of connections to one DATABASE_URL, shared by any number of
// threads. Each connection is used by one thread at a time: acquire() lends one and the
// returned handle gives it back when it goes out of scope. A Database must outlive the
// connections it lends.
//
// SQLite connections run with foreign_keys=ON, a busy timeout, and (for files) the WAL
// journal with synchronous=NORMAL unless the URL says otherwise (?synchronous=full,
// ?journal_mode=delete). With keep_journal_mode, a file keeps the journal mode it has
// (synchronous=NORMAL in WAL, SQLite's FULL otherwise); a new file gets WAL.
// PostgreSQL connections go through libpq with the URL in its keyword form.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "pangeo_forge/db/dialect.hpp"
#include "pangeo_forge/db/url.hpp"

namespace pangeo_forge::db {

struct PoolOptions {
    std::size_t size = 4;  // connections at most; an in-memory SQLite database has exactly one
    std::chrono::milliseconds acquire_timeout{30'000};  // how long acquire() waits for a free one
    std::chrono::milliseconds busy_timeout{5'000};      // SQLite: how long a statement waits for a lock
    // SQLite: leave a file's journal mode as it is unless the URL names one (the migration
    // commands: a migration must not change how the user's file journals).
    bool keep_journal_mode = false;

    // These options with keep_journal_mode set.
    PoolOptions keeping_journal_mode() const {
        PoolOptions options = *this;
        options.keep_journal_mode = true;
        return options;
    }
};

// One open connection. Statements run on it through db/statement.hpp; its driver session
// stays inside db/.
class Connection {
public:
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    const Dialect& dialect() const;
    Backend backend() const { return dialect().backend(); }

    // Runs one statement that takes no parameters and returns no rows (DDL, PRAGMA).
    void execute(std::string_view sql);
    // "SQLite 3.40.1", "PostgreSQL 15.8".
    std::string server_version();

private:
    friend struct ConnectionAccess;
    std::unique_ptr<Impl> impl_;
};

class Database;

// A connection on loan from a Database; gives it back on destruction.
class PooledConnection {
public:
    PooledConnection(PooledConnection&& other) noexcept;
    PooledConnection& operator=(PooledConnection&& other) noexcept;
    ~PooledConnection();

    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_.get(); }

private:
    friend class Database;
    PooledConnection(Database& owner, std::unique_ptr<Connection> connection);
    void give_back() noexcept;

    Database* owner_ = nullptr;
    std::unique_ptr<Connection> connection_;
};

class Database {
public:
    // Connects once at once, so a bad URL or an unreachable server fails here.
    // Throws ConfigError for an unusable URL, DatabaseError when the connection fails.
    explicit Database(DatabaseUrl url, PoolOptions options = {});
    explicit Database(std::string_view url, PoolOptions options = {});
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Lends a connection, opening one if the pool has room; waits for one to come back
    // otherwise. Throws DatabaseError after acquire_timeout.
    // A PostgreSQL connection that the server ended while it sat idle (a server restart) is
    // not lent: a new one takes its place, so no request fails for it. When the new one
    // cannot connect either (the server is down), this throws the DatabaseError of a failed
    // connection ("cannot connect to ..."), at once; the next call tries again.
    // A connection that broke while lent is closed when it comes back, not pooled.
    PooledConnection acquire();

    const DatabaseUrl& url() const;
    const Dialect& dialect() const;
    Backend backend() const { return dialect().backend(); }
    std::size_t capacity() const;
    std::size_t open_connections() const;

private:
    friend class PooledConnection;
    void give_back(std::unique_ptr<Connection> connection) noexcept;

    struct State;
    std::unique_ptr<State> state_;
};

// A transaction on one connection: rolled back on destruction unless committed.
class Transaction {
public:
    enum class Mode {
        deferred,   // the database takes locks as statements need them
        immediate,  // SQLite: take the write lock at BEGIN, so writers queue instead of failing
    };

    explicit Transaction(Connection& connection, Mode mode = Mode::deferred);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();
    void rollback();

private:
    Connection& connection_;
    bool open_ = true;
};

}  // namespace pangeo_forge::db
