#pragma once
// Conversions between Python values and the library's: JSON values (what model forms are
// decoded from), timestamps (aware datetime.datetime in UTC), and the model's enums
// (Python str enums whose members compare equal to their spelling).

#include <pybind11/pybind11.h>

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/model/timestamp.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"

namespace pangeo_forge::python {

namespace py = pybind11;

// None, bool, int, float, str (str enums included), datetime (as ISO 8601, naive taken as
// UTC), list, tuple and dict with str keys. `where` names the value in a TypeError.
// A cycle or nesting deeper than 64 levels is a ValueError.
nlohmann::json to_json_value(py::handle value, const std::string& where, int depth = 0);

// The UTF-8 bytes of a str; a lone surrogate is a UnicodeEncodeError (a ValueError).
std::string utf8_text(py::handle text);
py::object from_json_value(const nlohmann::json& value);

py::object to_datetime(model::Timestamp value);
// Throws TypeError for anything but a datetime.datetime, naming `where`.
model::Timestamp from_datetime(py::handle value, const std::string& where);

// The Python enum class for each model enum, made once when the module loads.
void define_enums(py::module_& module);
py::object enum_member(model::RecipeRunStatus value);
py::object enum_member(model::RecipeRunConclusion value);
py::object enum_member(model::DatasetType value);
py::object enum_member(model::RepoProvider value);
// The dispatch queue's Outcome, as the Python str enum Outcome.
void define_outcome_enum(py::module_& module);
py::object enum_member(orchestrator::Outcome value);

// The value of a model field, as Python sees it.
inline py::object to_python(const std::string& value) { return py::str(value); }
inline py::object to_python(std::int64_t value) { return py::int_(value); }
inline py::object to_python(bool value) { return py::bool_(value); }
inline py::object to_python(model::Timestamp value) { return to_datetime(value); }
template <class Enum, class = std::enable_if_t<std::is_enum_v<Enum>>>
py::object to_python(Enum value) {
    return enum_member(value);
}
template <class T>
py::object to_python(const std::optional<T>& value) {
    return value ? to_python(*value) : py::none();
}

}  // namespace pangeo_forge::python
