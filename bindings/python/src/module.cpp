// pangeo_forge._core: the C++ library as a Python module. pangeo_forge/__init__.py
// re-exports it; see bindings.hpp for the parts.

#include <pybind11/stl.h>

#include <vector>

#include "bindings.hpp"
#include "command_line.hpp"
#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/version.hpp"

namespace pangeo_forge::python {

void bind_command_line(py::module_& module) {
    module.def(
        "main",
        [](const std::vector<std::string>& arguments) {
            std::vector<const char*> argv;
            for (const auto& argument : arguments) argv.push_back(argument.c_str());
            py::gil_scoped_release unlocked;  // `serve` runs until a signal stops it
            return cli::run(static_cast<int>(argv.size()), argv.data());
        },
        py::arg("argv"),
        "Runs the pangeo-forge command line (argv[0] is the program's name) and returns its exit status.");
}

}  // namespace pangeo_forge::python

PYBIND11_MODULE(_core, module) {
    using namespace pangeo_forge::python;
    module.doc() = "The pangeo_forge C++ library: data model, migrations, orchestrator and API router.";
    module.attr("__version__") = std::string(pangeo_forge::version());
    module.attr("MAX_BODY_BYTES") = pangeo_forge::api::default_max_body_bytes;
    bind_errors(module);
    bind_models(module);
    bind_database(module);
    bind_migrations(module);
    bind_orchestrator(module);
    bind_api(module);
    bind_command_line(module);
    bind_worker(module);
}
