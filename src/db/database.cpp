#include "pangeo_forge/db/database.hpp"

#include <poll.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <soci/sqlite3/soci-sqlite3.h>

#include "db/postgresql_driver.hpp"
#include "db/soci_access.hpp"

namespace pangeo_forge::db {
namespace {

// Runs one PRAGMA and returns the value it answers with. Changing the journal mode needs
// the file to itself for a moment, and SQLite answers "database is locked" at once rather
// than through the busy timeout: when another process is opening the same new file, wait
// for it as the busy timeout would.
std::string sqlite_pragma(soci::session& session, const std::string& pragma, std::chrono::milliseconds busy) {
    auto deadline = std::chrono::steady_clock::now() + busy;
    for (;;) {
        try {
            std::string value;
            session << pragma, soci::into(value);
            return value;
        } catch (const soci::soci_error& error) {
            bool locked = std::string(error.what()).find("locked") != std::string::npos;
            if (!locked || std::chrono::steady_clock::now() >= deadline) throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
}

// The journal mode a connection to a file runs with: the URL's when it names one; else,
// with keep_journal_mode, the file's own (a migration must not change how someone else's
// file journals; a file that holds nothing yet is new, and gets WAL as the service would
// give it at its first connection); else WAL, for many readers and one writer at a time.
std::string sqlite_journal_mode(soci::session& session, const DatabaseUrl& url, const PoolOptions& options,
                                std::chrono::milliseconds busy) {
    auto mode = url.query_value("journal_mode");
    if (!mode && options.keep_journal_mode) {
        int pages = 0;
        session << "PRAGMA page_count", soci::into(pages);
        if (pages > 0) return sqlite_pragma(session, "PRAGMA journal_mode", busy);
    }
    return sqlite_pragma(session, "PRAGMA journal_mode = " + mode.value_or("wal"), busy);
}

// SQLite reads its options from the URL. synchronous=NORMAL where the journal is WAL: in
// WAL mode it never corrupts the database and loses at most the last commits on a power
// failure (not on a crash), and a commit does not wait for the disk. A rollback journal
// (a file kept as it was) keeps SQLite's FULL: NORMAL there may corrupt the file on a
// power failure.
void configure_sqlite(soci::session& session, const DatabaseUrl& url, const PoolOptions& options) {
    auto busy = sqlite_busy_timeout(url).value_or(options.busy_timeout);
    session << "PRAGMA busy_timeout = " + std::to_string(busy.count());
    session << "PRAGMA foreign_keys = ON";
    std::string journal = url.is_sqlite_memory() ? "memory" : sqlite_journal_mode(session, url, options, busy);
    auto synchronous = url.query_value("synchronous");
    if (!synchronous && (journal == "wal" || url.is_sqlite_memory())) synchronous = "normal";
    if (synchronous) session << "PRAGMA synchronous = " + *synchronous;
}

// libpq prints NOTICE messages (such as "drop cascades to ...") on stderr by default;
// a library has no business writing to its host's stderr.
void silence_server_notices(soci::session& session) {
    postgresql_driver().set_notice_processor(native_connection(session), [](void*, const char*) {}, nullptr);
}

std::unique_ptr<Connection> connect(const DatabaseUrl& url, const PoolOptions& options) {
    // Built in place: a SOCI session can be neither copied nor moved.
    std::unique_ptr<Connection::Impl> impl(new Connection::Impl{Dialect(url.backend), {}, url.password, {}});
    try {
        if (url.backend == Backend::sqlite) {
            if (url.database.find('"') != std::string::npos) {
                throw ConfigError("the SQLite path in DATABASE_URL contains a '\"', which the driver cannot take: "
                                  "rename the file or its folder");
            }
            impl->session.open(soci::sqlite3, "db=\"" + (url.is_sqlite_memory() ? ":memory:" : url.database) + "\"");
            configure_sqlite(impl->session, url, options);
        } else {
            impl->session.open(*postgresql_driver().factory, libpq_conninfo(url));
            silence_server_notices(impl->session);
            // Timestamps read as text must not depend on the server's DateStyle.
            impl->session << "SET DateStyle = ISO, YMD";
        }
    } catch (const soci::soci_error& error) {
        std::string hint = url.backend == Backend::sqlite
                               ? "; check that its folder exists and is writable"
                               : "; check the host, port, user, password and database name";
        std::string message = scrubbed_message(error, url.password);
        const std::string soci_preamble = "Cannot establish connection to the database. ";
        if (message.rfind(soci_preamble, 0) == 0) message.erase(0, soci_preamble.size());
        throw DatabaseError("cannot connect to " + redacted(url) + ": " + message + hint);
    }
    return std::make_unique<Connection>(std::move(impl));
}

// True when a connection is inside a transaction that nobody finished.
bool in_open_transaction(soci::session& session, Backend backend) {
    if (backend == Backend::sqlite) {
        auto* backend_session = static_cast<soci::sqlite3_session_backend*>(session.get_backend());
        return sqlite_api::sqlite3_get_autocommit(backend_session->conn_) == 0;
    }
    return postgresql_driver().transaction_status(native_connection(session)) != PQTRANS_IDLE;
}

// What libpq already knows of the connection. (SOCI's is_connected() would ping the server:
// a round trip for every connection given back.) A connection that broke in use has
// failed a statement, and libpq then reports it as bad.
bool postgres_connection_ok(soci::session& session) {
    return postgresql_driver().status(native_connection(session)) == CONNECTION_OK;
}

// Whether the server still holds a connection that sat idle in the pool. A server that ends
// a connection (on a restart, pg_terminate_backend, idle_session_timeout) sends a FATAL
// message and closes it, and libpq notices only when it next reads: the next request on it
// would fail. Nothing else comes to an idle connection in the usual case (the library never
// LISTENs), so one with nothing to read is lent as it is: a poll() of well under a
// microsecond, where a query would cost a round trip on every lend. When something did come
// (a goodbye, whose close may still be on its way; or a ParameterStatus after the server
// reloaded its settings), a query asks the server.
// Left to chance: a server that closes the connection between this check and the request.
bool idle_postgres_connection_alive(soci::session& session) {
    const auto& driver = postgresql_driver();
    PGconn* connection = native_connection(session);
    if (driver.status(connection) != CONNECTION_OK) return false;
    pollfd socket{driver.socket(connection), POLLIN, 0};
    if (socket.fd < 0) return false;
    if (::poll(&socket, 1, 0) == 0) return true;
    try {
        session << "SELECT 1";
        return true;
    } catch (const soci::soci_error&) {
        return false;
    }
}

// Whether a connection from the idle list can be lent as it is.
bool still_connected(Connection& connection) noexcept {
    try {
        // A SQLite database is a file this process holds open: nothing can end the connection.
        if (connection.backend() != Backend::postgresql) return true;
        return idle_postgres_connection_alive(soci_session(connection));
    } catch (...) {
        return false;
    }
}

// A connection goes back to the pool in a clean state, or not at all.
bool make_reusable(Connection& connection) noexcept {
    try {
        soci::session& session = soci_session(connection);
        if (connection.backend() == Backend::postgresql && !postgres_connection_ok(session)) return false;
        if (in_open_transaction(session, connection.backend())) session << "ROLLBACK";
        ConnectionAccess::impl(connection).statements.finalise_retired();
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace

std::string scrubbed(std::string message, const std::string& password) {
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    for (auto& c : message) {
        if (c == '\n' || c == '\t') c = ' ';
    }
    // A password of one or two characters would mask ordinary letters; those are not echoed by libpq.
    if (password.size() >= 3) {
        for (auto at = message.find(password); at != std::string::npos; at = message.find(password, at)) {
            message.replace(at, password.size(), "***");
        }
    }
    return message;
}

std::string scrubbed_message(const soci::soci_error& error, const std::string& password) {
    return scrubbed(error.get_error_message(), password);
}

std::string statement_failure(std::string_view sql, std::string_view why) {
    constexpr std::size_t limit = 200;
    std::string shown(sql.substr(0, limit));
    if (sql.size() > limit) shown += "...";
    return "statement failed (" + shown + "): " + std::string(why);
}

namespace {

// SQLite's codes for a lock that another connection holds, once the busy timeout ran out.
bool sqlite_lock_wait_failed(int code) { return (code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED; }

// PostgreSQL's lock_not_available: lock_timeout ran out, or NOWAIT found the lock taken.
constexpr std::string_view postgres_lock_not_available = "55P03";

[[noreturn]] void throw_failure(std::string_view sql, std::string_view why, bool lock_wait_failed) {
    if (lock_wait_failed) throw LockTimeoutError(statement_failure(sql, why));
    throw DatabaseError(statement_failure(sql, why));
}

// Runs `sql` (one or more statements) through libpq, whose result keeps the SQLSTATE that
// SOCI's exceptions lose for the dynamically loaded backend.
void postgres_execute(Connection::Impl& impl, std::string_view sql) {
    const auto& driver = postgresql_driver();
    PGconn* connection = native_connection(impl.session);
    PGresult* result = driver.exec(connection, std::string(sql).c_str());
    ExecStatusType status = result != nullptr ? driver.result_status(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) {
        driver.clear(result);
        return;
    }
    const char* state = result != nullptr ? driver.result_error_field(result, PG_DIAG_SQLSTATE) : nullptr;
    bool lock_wait_failed = state != nullptr && state == postgres_lock_not_available;
    std::string why = scrubbed(driver.error_message(connection), impl.password);
    if (result != nullptr) driver.clear(result);
    throw_failure(sql, why, lock_wait_failed);
}

}  // namespace

void throw_statement_error(Connection& connection, std::string_view sql, const soci::soci_error& error) {
    const auto* sqlite_error = dynamic_cast<const soci::sqlite3_soci_error*>(&error);
    throw_failure(sql, scrubbed_message(error, ConnectionAccess::impl(connection).password),
                  sqlite_error != nullptr && sqlite_lock_wait_failed(sqlite_error->result()));
}

bool accepts_statements(Connection& connection) {
    if (connection.backend() != Backend::postgresql) return true;
    return postgresql_driver().transaction_status(native_connection(soci_session(connection))) != PQTRANS_INERROR;
}

void finish_use(Connection& connection, soci::statement& statement) {
    if (connection.backend() != Backend::sqlite) return;
    auto* backend = static_cast<soci::sqlite3_statement_backend*>(statement.get_backend());
    sqlite_api::sqlite3_reset(backend->stmt_);
}

// --- Connection ------------------------------------------------------------------

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

const Dialect& Connection::dialect() const { return impl_->dialect; }

void Connection::execute(std::string_view sql) {
    if (backend() == Backend::sqlite) {
        // sqlite3_exec runs every statement of the text; a SOCI statement would run the
        // first and drop the rest without a word.
        auto* handle = static_cast<soci::sqlite3_session_backend*>(impl_->session.get_backend())->conn_;
        char* message = nullptr;
        int code = sqlite_api::sqlite3_exec(handle, std::string(sql).c_str(), nullptr, nullptr, &message);
        if (code != SQLITE_OK) {
            std::string why = message != nullptr ? message : sqlite_api::sqlite3_errmsg(handle);
            sqlite_api::sqlite3_free(message);
            throw_failure(sql, why, sqlite_lock_wait_failed(code));
        }
        return;
    }
    postgres_execute(*impl_, sql);
    // A ROLLBACK (or any statement that ran) means the server takes DEALLOCATE again.
    if (impl_->statements.has_retired()) impl_->statements.finalise_retired();
}

std::string Connection::server_version() {
    return translating_errors(*this, "cannot read the server version", [&] {
        std::string version;
        if (backend() == Backend::sqlite) {
            impl_->session << "SELECT sqlite_version()", soci::into(version);
            return "SQLite " + version;
        }
        impl_->session << "SHOW server_version", soci::into(version);
        return "PostgreSQL " + version;
    });
}

// --- the pool --------------------------------------------------------------------

struct Database::State {
    DatabaseUrl url;
    PoolOptions options;
    Dialect dialect;
    std::size_t capacity;

    mutable std::mutex mutex;
    std::condition_variable returned;
    std::vector<std::unique_ptr<Connection>> idle;
    std::size_t open = 0;  // idle plus lent
};

Database::Database(DatabaseUrl url, PoolOptions options) {
    if (options.size == 0) throw ConfigError("the connection pool size must be at least 1");
    // Each connection to sqlite:// would open a database of its own: one connection, shared in turn.
    std::size_t capacity = url.is_sqlite_memory() ? 1 : options.size;
    Dialect dialect(url.backend);
    state_.reset(new State{std::move(url), options, dialect, capacity, {}, {}, {}, 0});
    acquire();  // fail here, not at the first request, when the database cannot be reached
}

Database::Database(std::string_view url, PoolOptions options) : Database(parse_database_url(url), options) {}

Database::~Database() = default;

PooledConnection Database::acquire() {
    std::unique_lock lock(state_->mutex);
    auto deadline = std::chrono::steady_clock::now() + state_->options.acquire_timeout;
    while (state_->idle.empty() && state_->open >= state_->capacity) {
        if (state_->returned.wait_until(lock, deadline) == std::cv_status::timeout && state_->idle.empty() &&
            state_->open >= state_->capacity) {
            throw DatabaseError("no database connection became free within " +
                                std::to_string(state_->options.acquire_timeout.count()) + " ms: all " +
                                std::to_string(state_->capacity) +
                                " of the pool are in use; raise the pool size or hold connections for less time");
        }
    }
    std::unique_ptr<Connection> connection;
    if (state_->idle.empty()) {
        ++state_->open;  // the place of the connection opened below
    } else {
        connection = std::move(state_->idle.back());
        state_->idle.pop_back();
    }
    lock.unlock();
    if (connection && still_connected(*connection)) return PooledConnection(*this, std::move(connection));
    // A connection the server ended while it was idle gives its place to a new one: one
    // attempt, so that when the server is down this fails at once, as connecting does.
    connection.reset();
    try {
        return PooledConnection(*this, connect(state_->url, state_->options));
    } catch (...) {
        lock.lock();
        --state_->open;
        state_->returned.notify_one();
        throw;
    }
}

void Database::give_back(std::unique_ptr<Connection> connection) noexcept {
    bool reusable = make_reusable(*connection);
    if (!reusable) connection.reset();  // closes it outside the lock
    std::lock_guard lock(state_->mutex);
    if (reusable) {
        state_->idle.push_back(std::move(connection));
    } else {
        --state_->open;
    }
    state_->returned.notify_one();
}

const DatabaseUrl& Database::url() const { return state_->url; }
const Dialect& Database::dialect() const { return state_->dialect; }
std::size_t Database::capacity() const { return state_->capacity; }

std::size_t Database::open_connections() const {
    std::lock_guard lock(state_->mutex);
    return state_->open;
}

// --- PooledConnection -------------------------------------------------------------

PooledConnection::PooledConnection(Database& owner, std::unique_ptr<Connection> connection)
    : owner_(&owner), connection_(std::move(connection)) {}

PooledConnection::PooledConnection(PooledConnection&& other) noexcept
    : owner_(other.owner_), connection_(std::move(other.connection_)) {
    other.owner_ = nullptr;
}

PooledConnection& PooledConnection::operator=(PooledConnection&& other) noexcept {
    if (this != &other) {
        give_back();
        owner_ = other.owner_;
        connection_ = std::move(other.connection_);
        other.owner_ = nullptr;
    }
    return *this;
}

PooledConnection::~PooledConnection() { give_back(); }

void PooledConnection::give_back() noexcept {
    if (owner_ != nullptr && connection_) owner_->give_back(std::move(connection_));
    owner_ = nullptr;
}

// --- Transaction ------------------------------------------------------------------

Transaction::Transaction(Connection& connection, Mode mode) : connection_(connection) {
    connection_.execute(connection.dialect().begin_statement(mode == Mode::immediate));
}

Transaction::~Transaction() {
    if (!open_) return;
    try {
        rollback();
    } catch (...) {
        // The connection goes back to the pool only after make_reusable() has checked it.
    }
}

void Transaction::commit() {
    connection_.execute("COMMIT");
    open_ = false;
}

void Transaction::rollback() {
    open_ = false;
    connection_.execute("ROLLBACK");
}

}  // namespace pangeo_forge::db
