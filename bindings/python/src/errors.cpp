// The library's exception family, as Python exceptions of the same names. Each also
// derives from the built-in exception a Python caller would reach for: ValidationError
// is a ValueError, NotFound a LookupError, ConnectionError the built-in ConnectionError.

#include "bindings.hpp"

#include "conversions.hpp"
#include "pangeo_forge/client/client.hpp"
#include "pangeo_forge/error.hpp"

namespace pangeo_forge::python {
namespace {

// Created once with the module and held for its life.
struct ExceptionTypes {
    py::handle error, validation, not_found, conflict, migration, config, database, connection, http;
};

ExceptionTypes& types() {
    static ExceptionTypes held;
    return held;
}

py::handle new_exception(py::module_& module, const char* name, py::tuple bases, const char* doc) {
    std::string qualified = std::string("pangeo_forge.") + name;
    PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
    if (type == nullptr) throw py::error_already_set();
    module.add_object(name, py::handle(type));  // steals nothing: add_object takes a new reference
    return type;
}

void raise(py::handle type, const Error& error) { PyErr_SetString(type.ptr(), error.what()); }

void translate(std::exception_ptr thrown) {
    auto& t = types();
    try {
        std::rethrow_exception(thrown);
    } catch (const ValidationError& error) {
        py::object exception = py::reinterpret_borrow<py::object>(t.validation)(error.what());
        // FastAPI's shape: [{"loc": [...], "msg": ..., "type": ...}, ...]
        exception.attr("errors") = from_json_value(error.detail()["detail"]);
        PyErr_SetObject(t.validation.ptr(), exception.ptr());
    } catch (const NotFound& error) {
        raise(t.not_found, error);
    } catch (const Conflict& error) {
        raise(t.conflict, error);
    } catch (const MigrationError& error) {
        raise(t.migration, error);
    } catch (const ConfigError& error) {
        raise(t.config, error);
    } catch (const DatabaseError& error) {
        raise(t.database, error);
    } catch (const client::ConnectionError& error) {
        raise(t.connection, error);
    } catch (const client::HttpError& error) {
        py::object exception = py::reinterpret_borrow<py::object>(t.http)(error.what());
        exception.attr("status") = error.status();
        PyErr_SetObject(t.http.ptr(), exception.ptr());
    } catch (const Error& error) {
        raise(t.error, error);
    }
}

}  // namespace

void bind_errors(py::module_& module) {
    auto& t = types();
    py::handle exception(PyExc_Exception);
    t.error = new_exception(module, "Error", py::make_tuple(exception), "Every failure pangeo_forge reports.");
    auto with = [&](PyObject* builtin) { return py::make_tuple(t.error, py::handle(builtin)); };
    t.validation = new_exception(module, "ValidationError", with(PyExc_ValueError),
                                 "Input that does not validate. .errors lists every problem in FastAPI's shape: "
                                 "{'loc': [...], 'msg': ..., 'type': ...}.");
    t.not_found = new_exception(module, "NotFound", with(PyExc_LookupError),
                                "The row or revision asked for does not exist.");
    t.conflict = new_exception(module, "Conflict", py::make_tuple(t.error),
                               "The request contradicts what the database holds (a taken name, a row in use).");
    t.migration = new_exception(module, "MigrationError", py::make_tuple(t.error),
                                "A migration could not be loaded, planned or applied.");
    t.config = new_exception(module, "ConfigError", py::make_tuple(t.error),
                             "The configuration (DATABASE_URL, options) is unusable.");
    t.database = new_exception(module, "DatabaseError", py::make_tuple(t.error),
                               "The database refused or failed a statement, or could not be reached.");
    t.connection = new_exception(module, "ConnectionError", with(PyExc_ConnectionError),
                                 "The remote Client could not reach the server, or the connection broke before "
                                 "an answer came; the message names the server.");
    t.http = new_exception(module, "HttpError", py::make_tuple(t.error),
                           "The server answered a status the operation has no exception for (401 and 403 for a "
                           "missing or wrong API key, 500); .status is that status.");
    py::register_exception_translator(translate);
}

}  // namespace pangeo_forge::python
