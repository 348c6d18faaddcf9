// pangeo_forge.Worker: the library's worker for Python, over a bound Orchestrator or a
// server URL. run() releases the GIL for as long as it works; the executor callable and the
// log take it back for each call.

#include <pybind11/functional.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"
#include "pangeo_forge/worker/worker.hpp"
#ifdef PANGEO_FORGE_WORKER_VERB
#include "worker.hpp"  // apps/pangeo-forge: the client, loaded at run time
#endif

namespace pangeo_forge::python {
namespace {

using namespace std::chrono;

milliseconds milliseconds_of(double seconds) { return milliseconds(static_cast<milliseconds::rep>(seconds * 1000)); }

// The stop check handed to an executor: stop() is true once it should give up.
struct PyStopCheck {
    worker::StopToken token;
    bool operator()() const { return token.stop_requested(); }
};

// What an executor's return value means: None is a success; a dict names the outcome and
// its fields as a Report does.
worker::ExecutorResult result_of(const py::object& value) {
    worker::ExecutorResult result;
    if (value.is_none()) return result;
    if (!py::isinstance<py::dict>(value)) {
        throw ConfigError("a worker's executor returns None (success) or a dict such as "
                          "{'outcome': 'failure', 'trace': '...'}, not " +
                          std::string(py::str(py::type::of(value).attr("__name__"))));
    }
    auto fields = value.cast<py::dict>();
    auto text = [&](const char* key) -> std::optional<std::string> {
        if (!fields.contains(key) || fields[key].is_none()) return std::nullopt;
        return py::str(fields[key]).cast<std::string>();
    };
    if (auto outcome = text("outcome")) {
        auto parsed = orchestrator::parse_outcome(*outcome);
        if (!parsed) throw ConfigError("an executor's outcome is success, failure, submitted or released, not '" + *outcome + "'");
        result.outcome = *parsed;
    }
    result.trace = text("trace");
    result.job_name = text("job_name");
    result.job_id = text("job_id");
    result.dataset_public_url = text("dataset_public_url");
    if (auto type = text("dataset_type")) {
        result.dataset_type = model::parse_enum<model::DatasetType>(*type);
        if (!result.dataset_type) throw ConfigError("an executor's dataset_type is zarr, kerchunk or parquet, not '" + *type + "'");
    }
    return result;
}

// The Python Worker: the queue it drives (kept alive as long as the worker), and the worker.
struct PyWorker {
    py::object keep_alive;  // the bound Orchestrator's Python object
    std::shared_ptr<orchestrator::Queue> remote;
    std::unique_ptr<worker::Worker> worker;
};

std::unique_ptr<PyWorker> make_worker(py::object queue, const std::string& bakery, std::optional<std::vector<std::string>> command,
                                      py::object executor, const std::string& name, int concurrency, double lease,
                                      bool once, double poll, double drain_grace, double kill_grace, double job_deadline,
                                      const std::string& root_path, const std::string& public_url_template,
                                      py::object log, const std::string& api_key) {
    auto out = std::make_unique<PyWorker>();
    orchestrator::Queue* target = nullptr;
    if (py::isinstance<py::str>(queue)) {
#ifdef PANGEO_FORGE_WORKER_VERB
        out->remote = cli::open_remote_queue(queue.cast<std::string>(), api_key);
        target = out->remote.get();
#else
        (void)api_key;
        throw ConfigError("this build of pangeo_forge has no client library: give Worker an Orchestrator");
#endif
    } else {
        target = bound_orchestrator(queue);
        if (target == nullptr) throw ConfigError("Worker takes a server URL or a pangeo_forge.Orchestrator as its queue");
        out->keep_alive = queue;
    }

    worker::WorkerOptions options;
    options.bakery = bakery;
    options.name = name;
    options.concurrency = concurrency;
    options.lease = seconds(static_cast<seconds::rep>(lease));
    options.once = once;
    options.poll = milliseconds_of(poll);
    options.drain_grace = milliseconds_of(drain_grace);
    options.kill_grace = milliseconds_of(kill_grace);
    options.job_deadline = seconds(static_cast<seconds::rep>(job_deadline));
    options.storage = {root_path, public_url_template};
    if (command) options.command = *command;
    if (!executor.is_none()) {
        if (command) throw ConfigError("Worker takes command= or executor=, not both");
        // Held in a shared_ptr whose deleter takes the GIL: the worker's copies of the function
        // may be destroyed on its threads.
        auto function = std::shared_ptr<py::object>(new py::object(std::move(executor)), [](py::object* held) {
            py::gil_scoped_acquire locked;
            delete held;
        });
        options.function = [function](const worker::RunContext& context, const worker::StopToken& token) {
            py::gil_scoped_acquire locked;
            try {
                return result_of((*function)(py::cast(context.claim.run), context.attempt(), PyStopCheck{token}));
            } catch (py::error_already_set& error) {
                // The Python traceback is the failure's trace.
                auto traceback = py::module_::import("traceback");
                std::string trace;
                for (auto line : traceback.attr("format_exception")(error.type(), error.value(), error.trace())) {
                    trace += line.cast<std::string>();
                }
                worker::ExecutorResult failed;
                failed.outcome = orchestrator::Outcome::failure;
                failed.trace = trace;
                return failed;
            }
        };
    }
    if (!log.is_none()) {
        auto holder = std::shared_ptr<py::object>(new py::object(std::move(log)), [](py::object* held) {
            py::gil_scoped_acquire locked;
            delete held;
        });
        options.log = [holder](const std::string& line) {
            py::gil_scoped_acquire locked;
            try {
                (*holder)(line);
            } catch (const py::error_already_set&) {
                PyErr_Clear();  // a log that fails loses its line, not the run
            }
        };
    }
    out->worker = std::make_unique<worker::Worker>(*target, std::move(options));
    return out;
}

}  // namespace

void bind_worker(py::module_& module) {
    py::class_<PyStopCheck>(module, "StopCheck",
                            "Handed to a Worker's executor: true once the run should stop (cancelled, taken over "
                            "by another attempt, or given back as the worker stops).")
        .def("__call__", &PyStopCheck::operator())
        .def_property_readonly("reason", [](const PyStopCheck& s) { return std::string(worker::to_string(s.token.reason())); },
                               "'none', 'cancelled', 'fenced' or 'released'")
        .def(
            "wait",
            [](const PyStopCheck& s, double timeout) {
                py::gil_scoped_release unlocked;
                return s.token.wait_for(milliseconds_of(timeout));
            },
            py::arg("timeout"), "Sleeps up to timeout seconds, less when told to stop; returns whether to stop.");

    py::class_<worker::WorkerSummary>(module, "WorkerSummary", "What Worker.run() did, counted per run.")
        .def_readonly("claimed", &worker::WorkerSummary::claimed)
        .def_readonly("succeeded", &worker::WorkerSummary::succeeded)
        .def_readonly("failed", &worker::WorkerSummary::failed)
        .def_readonly("submitted", &worker::WorkerSummary::submitted)
        .def_readonly("released", &worker::WorkerSummary::released)
        .def_readonly("stopped", &worker::WorkerSummary::stopped)
        .def_readonly("unreported", &worker::WorkerSummary::unreported)
        .def("__repr__", [](const worker::WorkerSummary& s) {
            return "WorkerSummary(claimed=" + std::to_string(s.claimed) + ", succeeded=" + std::to_string(s.succeeded) +
                   ", failed=" + std::to_string(s.failed) + ", submitted=" + std::to_string(s.submitted) +
                   ", released=" + std::to_string(s.released) + ", stopped=" + std::to_string(s.stopped) +
                   ", unreported=" + std::to_string(s.unreported) + ")";
        });

    py::class_<PyWorker>(module, "Worker",
                         "A bakery's worker (README, \"The worker\"): claims the bakery's queued runs from an "
                         "Orchestrator or a server URL and runs each as a command or with executor(run, attempt, stop).")
        .def(py::init(&make_worker), py::arg("queue"), py::arg("bakery"), py::kw_only(), py::arg("command") = py::none(),
             py::arg("executor") = py::none(), py::arg("name") = "", py::arg("concurrency") = 1,
             py::arg("lease") = static_cast<double>(orchestrator::default_lease.count()), py::arg("once") = false,
             py::arg("poll") = 2.0, py::arg("drain_grace") = 30.0, py::arg("kill_grace") = 10.0,
             py::arg("job_deadline") = static_cast<double>(orchestrator::default_job_deadline.count()),
             py::arg("root_path") = "", py::arg("public_url_template") = "", py::arg("log") = py::none(),
             py::arg("api_key") = "")
        .def(
            "run",
            [](PyWorker& w) {
                py::gil_scoped_release unlocked;
                return w.worker->run();
            },
            "Claims and runs until request_stop() (or, once, until nothing is queued); returns a WorkerSummary.")
        .def(
            "request_stop", [](PyWorker& w) { w.worker->request_stop(); },
            "No more claims; running runs finish within drain_grace, then are given back. A second call gives them back now.")
        .def_property_readonly("name", [](const PyWorker& w) { return w.worker->name(); });
}

}  // namespace pangeo_forge::python
