// The orchestrator (CRUD with relations, datasets, stats) and the API router, for Python.
// A web framework hands its requests to Router.handle(); pangeo_forge.asgi wraps it as an
// ASGI application.

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "conversions.hpp"
#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/api/service.hpp"
#include "pangeo_forge/error.hpp"
#include "python_types.hpp"
#include "support/text.hpp"

namespace pangeo_forge::python {
namespace {

using release_gil = py::call_guard<py::gil_scoped_release>;
using orchestrator::Orchestrator;

// The Python Orchestrator: the library's wiring of the API over the caller's database. Its
// own Router is not used: a Python Router is made apart, with the keys it is given.
struct PyOrchestrator {
    api::Service service;

    PyOrchestrator(db::Database& database, migrate::RevisionGraph graph) : service(database, std::move(graph)) {}
    Orchestrator& orchestrator() { return service.orchestrator(); }
};

std::unique_ptr<PyOrchestrator> open_orchestrator(db::Database& database, const Migrations* migrations) {
    auto graph = migrations ? *migrations->graph() : migrate::load_migrations();
    py::gil_scoped_release unlocked;  // checks the database is at head
    return std::make_unique<PyOrchestrator>(database, std::move(graph));
}

// The Router's log (the cause of a 500) goes to sys.stderr, where Python programs look. A
// stderr that cannot be written to loses the line: handle() must still answer.
api::Log python_stderr() {
    return [](const std::string& line) {
        py::gil_scoped_acquire locked;
        try {
            py::module_::import("sys").attr("stderr").attr("write")(line + "\n");
        } catch (const py::error_already_set&) {
            PyErr_Clear();
        }
    };
}

orchestrator::Page page_of(std::int64_t offset, std::int64_t limit, std::string order_by, const std::string& sort) {
    return {offset, limit, std::move(order_by), orchestrator::parse_sort_order(sort)};
}

template <class Row>
void add_listing(py::class_<PyOrchestrator>& cls, const char* name,
                 std::vector<Row> (Orchestrator::*list)(const orchestrator::Page&)) {
    cls.def(
        name,
        [list](PyOrchestrator& o, std::int64_t offset, std::int64_t limit, std::string order_by,
               const std::string& sort) {
            auto page = page_of(offset, limit, std::move(order_by), sort);
            py::gil_scoped_release unlocked;
            return (o.orchestrator().*list)(page);
        },
        py::kw_only(), py::arg("offset") = 0, py::arg("limit") = 100, py::arg("order_by") = "id",
        py::arg("sort") = "asc", "A page of rows: limit 1 to 100, ordered by any column, sort 'asc' or 'desc'.");
}

template <class Result, class Argument>
auto forwarding(Result (Orchestrator::*method)(Argument)) {
    return [method](PyOrchestrator& o, Argument argument) { return (o.orchestrator().*method)(argument); };
}

template <class Result, class Update>
auto forwarding_update(Result (Orchestrator::*method)(std::int64_t, const Update&)) {
    return [method](PyOrchestrator& o, std::int64_t id, const Update& update) {
        return (o.orchestrator().*method)(id, update);
    };
}

void bind_orchestrator_class(py::module_& module) {
    py::class_<PyOrchestrator> cls(module, "Orchestrator",
                                   "Create, read, update and delete bakeries, feedstocks and recipe runs; "
                                   "datasets and stats. Safe to share between threads.");
    cls.def(py::init(&open_orchestrator), py::arg("database"), py::arg("migrations") = py::none(),
            py::keep_alive<1, 2>(),
            "Refuses (MigrationError) a database that is not at the head of the migrations "
            "(default: the bundled ones).");
    using namespace model;
    cls.def("create", forwarding<Bakery, const BakeryCreate&>(&Orchestrator::create), py::arg("bakery"), release_gil(),
            "Records a bakery; a name another bakery has is a Conflict.");
    cls.def("create", forwarding<Feedstock, const FeedstockCreate&>(&Orchestrator::create), py::arg("feedstock"),
            release_gil());
    cls.def("create", forwarding<RecipeRun, const RecipeRunCreate&>(&Orchestrator::create), py::arg("recipe_run"),
            release_gil(),
            "Records a recipe run, applying the lifecycle rules; an unknown bakery_id or feedstock_id is a "
            "ValidationError.");
    add_listing(cls, "bakeries", &Orchestrator::bakeries);
    add_listing(cls, "feedstocks", &Orchestrator::feedstocks);
    add_listing(cls, "recipe_runs", &Orchestrator::recipe_runs);
    cls.def("bakery", forwarding<BakeryWithRecipeRuns, std::int64_t>(&Orchestrator::bakery), py::arg("id"),
            release_gil(), "A bakery with its recipe runs; NotFound when there is none.");
    cls.def("feedstock", forwarding<FeedstockWithRecipeRuns, std::int64_t>(&Orchestrator::feedstock), py::arg("id"),
            release_gil());
    cls.def("recipe_run", forwarding<RecipeRunWithRelations, std::int64_t>(&Orchestrator::recipe_run), py::arg("id"),
            release_gil());
    cls.def("update", forwarding_update<Bakery, BakeryUpdate>(&Orchestrator::update), py::arg("id"), py::arg("update"),
            release_gil(), "Changes the fields the update holds; returns the row as stored.");
    cls.def("update", forwarding_update<Feedstock, FeedstockUpdate>(&Orchestrator::update), py::arg("id"),
            py::arg("update"), release_gil());
    cls.def("update", forwarding_update<RecipeRun, RecipeRunUpdate>(&Orchestrator::update), py::arg("id"),
            py::arg("update"), release_gil());
    cls.def("delete_bakery", forwarding<void, std::int64_t>(&Orchestrator::delete_bakery), py::arg("id"), release_gil(),
            "A bakery that recipe runs still use is a Conflict.");
    cls.def("delete_feedstock", forwarding<void, std::int64_t>(&Orchestrator::delete_feedstock), py::arg("id"),
            release_gil());
    cls.def("delete_recipe_run", forwarding<void, std::int64_t>(&Orchestrator::delete_recipe_run), py::arg("id"),
            release_gil());
    cls.def(
        "datasets",
        [](PyOrchestrator& o, std::int64_t feedstock_id, const std::string& which) {
            auto filter = orchestrator::parse_dataset_filter(which, {"which"});
            py::gil_scoped_release unlocked;
            return o.orchestrator().datasets(feedstock_id, filter);
        },
        py::arg("feedstock_id"), py::arg("which") = "all",
        "The completed, successful runs of a feedstock with a dataset URL: 'all', 'production' or 'test' ones.");
    cls.def("count_bakeries", [](PyOrchestrator& o) { return o.orchestrator().count_bakeries(); }, release_gil());
    cls.def("count_feedstocks", [](PyOrchestrator& o) { return o.orchestrator().count_feedstocks(); }, release_gil());
    cls.def("count_recipe_runs", [](PyOrchestrator& o) { return o.orchestrator().count_recipe_runs(); }, release_gil());
    cls.def(
        "count_datasets",
        [](PyOrchestrator& o, bool exclude_test_runs) { return o.orchestrator().count_datasets(exclude_test_runs); },
        py::kw_only(), py::arg("exclude_test_runs") = false, release_gil(),
        "Runs with a dataset URL; with exclude_test_runs, only completed, successful, non-test ones.");
}

// The query of a request: a query string ("limit=10&sort=desc") or a mapping.
std::map<std::string, std::string> query_of(const py::object& query) {
    if (query.is_none()) return {};
    if (py::isinstance<py::str>(query)) return api::parse_query_string(query.cast<std::string>());
    std::map<std::string, std::string> pairs;
    for (auto [name, value] : query.cast<py::dict>()) pairs[py::str(name)] = py::str(value);
    return pairs;
}

// A header name or value: bytes as they came (ASGI hands bytes), or str as UTF-8.
std::string header_text(py::handle text) {
    if (PyBytes_Check(text.ptr())) return text.cast<std::string>();
    if (PyUnicode_Check(text.ptr())) return utf8_text(text);
    throw py::type_error("header names and values are str or bytes, not " +
                         std::string(py::str(py::type::handle_of(text).attr("__name__"))));
}

std::map<std::string, std::string> headers_of(const py::object& headers) {
    std::map<std::string, std::string> lowered;
    if (headers.is_none()) return lowered;
    for (auto [name, value] : headers.cast<py::dict>()) {
        lowered[detail::lowercase(header_text(name))] = header_text(value);
    }
    return lowered;
}

std::string body_of(const py::object& body) {
    if (body.is_none()) return {};
    if (py::isinstance<py::bytes>(body)) return body.cast<std::string>();
    if (py::isinstance<py::str>(body)) return utf8_text(body);
    return to_json_value(body, "body").dump();  // a dict or list: sent as JSON
}

void bind_router(py::module_& module) {
    py::class_<api::Response>(module, "Response", "What a route answered: status, headers and a JSON body.")
        .def_readonly("status", &api::Response::status)
        .def_readonly("headers", &api::Response::headers)
        .def_readonly("body", &api::Response::body)
        .def("json", [](const api::Response& r) { return from_json_value(nlohmann::json::parse(r.body)); },
             "The body, parsed.")
        .def("__repr__", [](const api::Response& r) { return "<Response " + std::to_string(r.status) + ">"; });

    py::class_<api::Router>(module, "Router",
                            "The HTTP API of the Pangeo Forge orchestrator without a transport: the same routes, "
                            "status codes and JSON as the Python service.")
        .def(py::init([](PyOrchestrator& o, const std::optional<std::vector<std::string>>& api_keys) {
                 return api::Router(o.orchestrator(),
                                    api_keys ? api::ApiKeys(*api_keys) : api::ApiKeys::from_environment(),
                                    python_stderr());
             }),
             py::arg("orchestrator"), py::arg("api_keys") = py::none(), py::keep_alive<1, 2>(),
             "api_keys: the keys that open the write routes (default: PANGEO_FORGE_API_KEY, comma-separated); "
             "with none, every write is refused.")
        .def(
            "handle",
            [](const api::Router& router, std::string method, std::string path, py::object query, py::object headers,
               py::object body) {
                auto request = api::request_for(std::move(method), path, query_of(query), headers_of(headers),
                                                body_of(body));
                py::gil_scoped_release unlocked;
                return router.handle(request);
            },
            py::arg("method"), py::arg("path"), py::kw_only(), py::arg("query") = py::none(),
            py::arg("headers") = py::none(), py::arg("body") = py::none(),
            "Answers one request. path may carry its query string; query is a string or a dict; body is bytes, "
            "str, or a dict or list sent as JSON. Never raises for a bad request: its status says.");
    module.def("openapi_document", [] { return from_json_value(api::openapi_document()); },
               "The OpenAPI 3 document of the API (GET /openapi.json).");
}

}  // namespace

void bind_orchestrator(py::module_& module) { bind_orchestrator_class(module); }

orchestrator::Orchestrator* bound_orchestrator(py::handle object) {
    if (!py::isinstance<PyOrchestrator>(object)) return nullptr;
    return &object.cast<PyOrchestrator&>().orchestrator();
}
void bind_api(py::module_& module) { bind_router(module); }

}  // namespace pangeo_forge::python
