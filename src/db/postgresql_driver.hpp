#pragma once
// The PostgreSQL driver, SOCI's backend and libpq behind it, loaded on first use. A
// program that only opens SQLite never loads libpq and the libraries it pulls in
// (Kerberos, LDAP, GnuTLS): they cost more start-up time than all the rest of a
// `pangeo-forge db` command (about 12 ms of a 50 ms run, measured with hyperfine).

#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>

namespace pangeo_forge::db {

struct PostgresqlDriver {
    const soci::backend_factory* factory = nullptr;
    decltype(&PQstatus) status = nullptr;
    decltype(&PQtransactionStatus) transaction_status = nullptr;
    decltype(&PQsetNoticeProcessor) set_notice_processor = nullptr;
    decltype(&PQsocket) socket = nullptr;
    // For statements run as text (Connection::execute), whose failures must keep their SQLSTATE.
    decltype(&PQexec) exec = nullptr;
    decltype(&PQresultStatus) result_status = nullptr;
    decltype(&PQresultErrorField) result_error_field = nullptr;
    decltype(&PQerrorMessage) error_message = nullptr;
    decltype(&PQclear) clear = nullptr;
};

// Loads the driver once (thread-safe); throws DatabaseError saying which package to
// install when it cannot.
const PostgresqlDriver& postgresql_driver();

// libpq's connection under a SOCI session opened with the PostgreSQL backend.
PGconn* native_connection(soci::session& session);

}  // namespace pangeo_forge::db
