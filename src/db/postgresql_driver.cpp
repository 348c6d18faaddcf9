#include "db/postgresql_driver.hpp"

#include <dlfcn.h>

#include <string>

#include "pangeo_forge/error.hpp"

namespace pangeo_forge::db {
namespace {

void* open_backend() {
    // The soname first; the file CMake found at build time if the loader's path misses it.
    for (const char* name : {"libsoci_postgresql.so.4.0", PANGEO_FORGE_SOCI_POSTGRESQL_PATH}) {
        if (void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)) return handle;
    }
    throw DatabaseError(std::string("cannot load the PostgreSQL driver (") + dlerror() +
                        "): install the package libsoci-postgresql4.0");
}

template <class Function>
Function symbol(void* handle, const char* name) {
    // dlsym on the backend's handle also searches what it loaded with it: libpq.
    void* address = dlsym(handle, name);
    if (address == nullptr) throw DatabaseError(std::string("the PostgreSQL driver lacks ") + name);
    return reinterpret_cast<Function>(address);
}

PostgresqlDriver load() {
    void* handle = open_backend();
    PostgresqlDriver driver;
    driver.factory = symbol<const soci::backend_factory* (*)()>(handle, "factory_postgresql")();
    driver.status = symbol<decltype(driver.status)>(handle, "PQstatus");
    driver.transaction_status = symbol<decltype(driver.transaction_status)>(handle, "PQtransactionStatus");
    driver.set_notice_processor = symbol<decltype(driver.set_notice_processor)>(handle, "PQsetNoticeProcessor");
    driver.socket = symbol<decltype(driver.socket)>(handle, "PQsocket");
    driver.exec = symbol<decltype(driver.exec)>(handle, "PQexec");
    driver.result_status = symbol<decltype(driver.result_status)>(handle, "PQresultStatus");
    driver.result_error_field = symbol<decltype(driver.result_error_field)>(handle, "PQresultErrorField");
    driver.error_message = symbol<decltype(driver.error_message)>(handle, "PQerrorMessage");
    driver.clear = symbol<decltype(driver.clear)>(handle, "PQclear");
    return driver;
}

}  // namespace

const PostgresqlDriver& postgresql_driver() {
    static const PostgresqlDriver driver = load();
    return driver;
}

PGconn* native_connection(soci::session& session) {
    return static_cast<soci::postgresql_session_backend*>(session.get_backend())->conn_;
}

}  // namespace pangeo_forge::db
