#pragma once
// The exception family of pangeo_forge. Every failure a caller can act on is one of
// these, and every message says what was wrong and what to do about it. Database
// driver exceptions never cross the library's boundary: they arrive as DatabaseError.

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pangeo_forge {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One problem with one field, in the shape FastAPI reports it:
// {"loc": ["body", "status"], "msg": "...", "type": "..."}.
struct FieldError {
    std::vector<std::string> loc;
    std::string msg;
    std::string type;
    nlohmann::json ctx;  // extra context (e.g. permitted enum values); null when none

    bool operator==(const FieldError& other) const;
};

nlohmann::json to_json(const FieldError& error);

// Input that does not validate. Holds every problem found, not only the first.
class ValidationError : public Error {
public:
    explicit ValidationError(std::vector<FieldError> errors);

    const std::vector<FieldError>& errors() const { return errors_; }
    // FastAPI's 422 body: {"detail": [ {loc, msg, type}, ... ]}.
    nlohmann::json detail() const;

private:
    std::vector<FieldError> errors_;
};

// The row or revision asked for does not exist.
class NotFound : public Error {
public:
    using Error::Error;
};

// The request contradicts what the database holds (a duplicate, a row still in use).
class Conflict : public Error {
public:
    using Error::Error;
};

// A migration could not be loaded, planned or applied.
class MigrationError : public Error {
public:
    using Error::Error;
};

// The configuration (DATABASE_URL, options) is unusable.
class ConfigError : public Error {
public:
    using Error::Error;
};

// The database refused or failed a statement, or could not be reached.
class DatabaseError : public Error {
public:
    using Error::Error;
};

// A statement gave up waiting for a lock that another session holds: PostgreSQL's
// lock_timeout ran out (SQLSTATE 55P03), or SQLite's busy timeout did (SQLITE_BUSY). The
// statement did nothing; the same work may succeed once the other session lets go.
class LockTimeoutError : public DatabaseError {
public:
    using DatabaseError::DatabaseError;
};

// The database could not be reached or opened (a connection refused, a server that does not
// answer, no SQLite file where one must exist): nothing was run. A DatabaseError, so that
// callers catching those still catch it; callers that must tell "not there" from "failed"
// (the command's exit status) catch this one first.
class UnreachableError : public DatabaseError {
public:
    using DatabaseError::DatabaseError;
};

}  // namespace pangeo_forge
