#pragma once
// The parts of the Python module pangeo_forge._core, one function per part of the
// library. The module holds no logic of its own: every function is a call into the C++
// library, with the GIL released while the database works.

#include <pybind11/pybind11.h>

namespace pangeo_forge::orchestrator {
class Orchestrator;
}

namespace pangeo_forge::python {

namespace py = pybind11;

void bind_errors(py::module_& module);
void bind_models(py::module_& module);
void bind_database(py::module_& module);
void bind_migrations(py::module_& module);
void bind_orchestrator(py::module_& module);
void bind_api(py::module_& module);
void bind_command_line(py::module_& module);
void bind_worker(py::module_& module);

// The Orchestrator a Python pangeo_forge.Orchestrator wraps, or nullptr for anything else.
orchestrator::Orchestrator* bound_orchestrator(py::handle object);

}  // namespace pangeo_forge::python
