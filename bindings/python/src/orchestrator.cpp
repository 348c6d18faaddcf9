// The orchestrator (CRUD with relations, datasets, stats) and the API router, for Python.
// A web framework hands its requests to Router.handle(); pangeo_forge.asgi wraps it as an
// ASGI application.

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "conversions.hpp"
#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/api/service.hpp"
#include "pangeo_forge/client/client.hpp"
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

std::string body_of(const py::object& body);

// The operations the in-process Orchestrator and the remote Client share, bound once for
// both: the same names, arguments, model classes and exceptions. `Target` is the C++ class
// (orchestrator::Orchestrator or client::Client), `target` finds it in the Python object.
template <class Holder, class Target>
class Operations {
public:
    Operations(py::class_<Holder>& cls, Target& (*target)(Holder&)) : cls_(cls), target_(target) {}

    template <class Result, class... Arguments, class... Extra>
    void forward(const char* name, Result (Target::*method)(Arguments...), const Extra&... extra) {
        cls_.def(
            name, [target = target_, method](Holder& h, Arguments... a) { return (target(h).*method)(a...); },
            extra..., release_gil());
    }

    template <class Row>
    void listing(const char* name, std::vector<Row> (Target::*list)(const orchestrator::Page&)) {
        cls_.def(
            name,
            [target = target_, list](Holder& h, std::int64_t offset, std::int64_t limit, std::string order_by,
                                     const std::string& sort) {
                auto page = page_of(offset, limit, std::move(order_by), sort);
                py::gil_scoped_release unlocked;
                return (target(h).*list)(page);
            },
            py::kw_only(), py::arg("offset") = 0, py::arg("limit") = 100, py::arg("order_by") = "id",
            py::arg("sort") = "asc", "A page of rows: limit 1 to 100, ordered by any column, sort 'asc' or 'desc'.");
    }

    void bind_all() {
        using namespace model;
        using T = Target;
        forward<Bakery, const BakeryCreate&>("create", &T::create, py::arg("bakery"),
                                             "Records a bakery; a name another bakery has is a Conflict.");
        forward<Feedstock, const FeedstockCreate&>("create", &T::create, py::arg("feedstock"));
        forward<RecipeRun, const RecipeRunCreate&>(
            "create", &T::create, py::arg("recipe_run"),
            "Records a recipe run, applying the lifecycle rules; an unknown bakery_id or feedstock_id is a "
            "ValidationError.");
        listing("bakeries", &T::bakeries);
        listing("feedstocks", &T::feedstocks);
        listing("recipe_runs", &T::recipe_runs);
        forward<BakeryWithRecipeRuns, std::int64_t>("bakery", &T::bakery, py::arg("id"),
                                                    "A bakery with its recipe runs; NotFound when there is none.");
        forward<FeedstockWithRecipeRuns, std::int64_t>("feedstock", &T::feedstock, py::arg("id"));
        forward<RecipeRunWithRelations, std::int64_t>("recipe_run", &T::recipe_run, py::arg("id"));
        forward<Bakery, std::int64_t, const BakeryUpdate&>("update", &T::update, py::arg("id"), py::arg("update"),
                                                           "Changes the fields the update holds; returns the row as stored.");
        forward<Feedstock, std::int64_t, const FeedstockUpdate&>("update", &T::update, py::arg("id"), py::arg("update"));
        forward<RecipeRun, std::int64_t, const RecipeRunUpdate&>("update", &T::update, py::arg("id"), py::arg("update"));
        forward<void, std::int64_t>("delete_bakery", &T::delete_bakery, py::arg("id"),
                                    "A bakery that recipe runs still use is a Conflict.");
        forward<void, std::int64_t>("delete_feedstock", &T::delete_feedstock, py::arg("id"));
        forward<void, std::int64_t>("delete_recipe_run", &T::delete_recipe_run, py::arg("id"));
        cls_.def(
            "datasets",
            [target = target_](Holder& h, std::int64_t feedstock_id, const std::string& which) {
                auto filter = orchestrator::parse_dataset_filter(which, {"which"});
                py::gil_scoped_release unlocked;
                return target(h).datasets(feedstock_id, filter);
            },
            py::arg("feedstock_id"), py::arg("which") = "all",
            "The completed, successful runs of a feedstock with a dataset URL: 'all', 'production' or 'test' ones.");
        forward<std::int64_t>("count_bakeries", &T::count_bakeries);
        forward<std::int64_t>("count_feedstocks", &T::count_feedstocks);
        forward<std::int64_t>("count_recipe_runs", &T::count_recipe_runs);
        forward<std::int64_t, bool>("count_datasets", &T::count_datasets, py::kw_only(),
                                    py::arg("exclude_test_runs") = false,
                                    "Runs with a dataset URL; with exclude_test_runs, only completed, successful, "
                                    "non-test ones.");
        forward<std::optional<orchestrator::Claim>, const orchestrator::ClaimRequest&>(
            "claim", &T::claim, py::arg("request"),
            "The bakery's oldest queued run, now in progress for request.worker; None when none is queued. "
            "NotFound: no bakery of that name.");
        forward<orchestrator::Heartbeat, std::int64_t, const orchestrator::HeartbeatRequest&>(
            "heartbeat", &T::heartbeat, py::arg("recipe_run_id"), py::arg("request"),
            "Extends the claim's lease, or says the run was cancelled; Conflict when the attempt is not the run's.");
        forward<RecipeRun, std::int64_t, const orchestrator::Report&>(
            "complete", &T::complete, py::arg("recipe_run_id"), py::arg("report"),
            "Records how the run ended (or its submitted job, or that it is given back); Conflict when fenced.");
    }

private:
    py::class_<Holder>& cls_;
    Target& (*target_)(Holder&);
};

Orchestrator& orchestrator_of(PyOrchestrator& o) { return o.orchestrator(); }

void bind_orchestrator_class(py::module_& module) {
    py::class_<PyOrchestrator> cls(module, "Orchestrator",
                                   "Create, read, update and delete bakeries, feedstocks and recipe runs; "
                                   "datasets and stats; the dispatch queue. Safe to share between threads.");
    cls.def(py::init(&open_orchestrator), py::arg("database"), py::arg("migrations") = py::none(),
            py::keep_alive<1, 2>(),
            "Refuses (MigrationError) a database that is not at the head of the migrations "
            "(default: the bundled ones).");
    Operations<PyOrchestrator, Orchestrator> operations(cls, &orchestrator_of);
    operations.bind_all();
    operations.forward<std::int64_t>("expire_leases", &Orchestrator::expire_leases,
                                     "Takes back the runs whose lease ran out (queued again, or timed out after the "
                                     "last attempt) and the submitted jobs past their deadline; returns how many.");
}

client::Client& itself(client::Client& c) { return c; }

std::chrono::milliseconds milliseconds_of(double seconds, const char* name) {
    if (!(seconds > 0) || seconds > 86400) throw py::value_error(std::string(name) + ": give seconds above 0, at most 86400");
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

void bind_client_class(py::module_& module) {
    py::class_<client::Client> cls(module, "Client",
                                   "The Orchestrator's operations over HTTP against a running `pangeo-forge serve`: "
                                   "the same methods, model classes and exceptions, and ConnectionError or HttpError "
                                   "when the server cannot be reached or answers otherwise. Safe to share between "
                                   "threads; the GIL is released while it waits.");
    const client::ClientOptions defaults;
    cls.def(py::init([](std::string server, const std::optional<std::string>& api_key, int retries,
                        double connect_timeout, double request_timeout) {
                client::ClientOptions options;
                options.retries = retries;
                options.connect_timeout = milliseconds_of(connect_timeout, "connect_timeout");
                options.request_timeout = milliseconds_of(request_timeout, "request_timeout");
                return std::make_unique<client::Client>(std::move(server), api_key.value_or(""), options);
            }),
            py::arg("server"), py::arg("api_key") = py::none(), py::kw_only(), py::arg("retries") = defaults.retries,
            py::arg("connect_timeout") = defaults.connect_timeout.count() / 1000.0,
            py::arg("request_timeout") = defaults.request_timeout.count() / 1000.0,
            "server: http://host:port (a path prefix allowed). api_key: sent as X-API-Key, needed for writes. "
            "Timeouts in seconds; retries: tries after the first on a connection failure or a 503.");
    cls.def_property_readonly("server", &client::Client::server);
    cls.def(
        "request",
        [](client::Client& c, const std::string& method, const std::string& path, py::object body) {
            std::string text = body_of(body);
            py::gil_scoped_release unlocked;
            auto answer = c.request(method, path, text);
            return api::Response{answer.status, std::move(answer.headers), std::move(answer.body)};
        },
        py::arg("method"), py::arg("path"), py::arg("body") = py::none(),
        "Sends any route (path with its query string; body bytes, str, or a dict or list sent as JSON); returns "
        "the Response whatever its status.");
    Operations<client::Client, client::Client>(cls, &itself).bind_all();
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

void bind_orchestrator(py::module_& module) {
    bind_orchestrator_class(module);
    bind_client_class(module);
}

orchestrator::Orchestrator* bound_orchestrator(py::handle object) {
    if (!py::isinstance<PyOrchestrator>(object)) return nullptr;
    return &object.cast<PyOrchestrator&>().orchestrator();
}
void bind_api(py::module_& module) { bind_router(module); }

}  // namespace pangeo_forge::python
