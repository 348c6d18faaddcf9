#include "conversions.hpp"

#include <datetime.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include <date/date.h>

namespace pangeo_forge::python {
namespace {

[[noreturn]] void refuse(py::handle value, const std::string& where, const std::string& expected) {
    throw py::type_error(where + ": expected " + expected + ", got " +
                         py::str(py::type::handle_of(value).attr("__name__")).cast<std::string>());
}

void import_datetime_api() {
    if (PyDateTimeAPI == nullptr) {
        PyDateTime_IMPORT;
        if (PyDateTimeAPI == nullptr) throw py::error_already_set();
    }
}

// "2021-01-01T00:00:00.000000Z" for an aware datetime (converted to UTC) or a naive one
// (taken as UTC).
std::string iso_text(py::handle value) {
    py::object utc_value = py::reinterpret_borrow<py::object>(value);
    PyObject* zone = PyDateTime_DATE_GET_TZINFO(value.ptr());
    if (zone != Py_None && zone != PyDateTime_TimeZone_UTC) {
        utc_value = utc_value.attr("astimezone")(py::reinterpret_borrow<py::object>(PyDateTime_TimeZone_UTC));
    }
    PyObject* dt = utc_value.ptr();
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", PyDateTime_GET_YEAR(dt),
                  PyDateTime_GET_MONTH(dt), PyDateTime_GET_DAY(dt), PyDateTime_DATE_GET_HOUR(dt),
                  PyDateTime_DATE_GET_MINUTE(dt), PyDateTime_DATE_GET_SECOND(dt),
                  PyDateTime_DATE_GET_MICROSECOND(dt));
    return text;
}

bool is_datetime(py::handle value) {
    import_datetime_api();
    return PyDateTime_Check(value.ptr());
}

// The enum classes live as long as the module: held, never released.
template <class Enum>
py::handle& enum_class() {
    static py::handle cls;
    return cls;
}

template <class Enum>
void define_enum(py::module_& module, const char* name, const char* doc) {
    py::list members;
    for (auto spelling : model::enum_names<Enum>()) {
        members.append(py::make_tuple(std::string(spelling), std::string(spelling)));
    }
    py::object str_type = py::module_::import("builtins").attr("str");
    py::object cls = py::module_::import("enum").attr("Enum")(name, members, py::arg("module") = "pangeo_forge",
                                                              py::arg("type") = str_type);
    cls.attr("__doc__") = doc;
    // str(member) and f"{member}" give the spelling, as in JSON and the database.
    cls.attr("__str__") = str_type.attr("__str__");
    cls.attr("__format__") = str_type.attr("__format__");
    module.attr(name) = cls;
    enum_class<Enum>() = cls.release();
}

template <class Enum>
py::object member_of(Enum value) {
    return enum_class<Enum>()(py::str(std::string(model::to_string(value))));
}

}  // namespace

nlohmann::json to_json_value(py::handle value, const std::string& where) {
    if (value.is_none()) return nullptr;
    if (PyBool_Check(value.ptr())) return value.cast<bool>();
    if (PyLong_Check(value.ptr())) {
        int overflow = 0;
        long long number = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
        if (overflow != 0) {
            // Beyond 64 bits: passed on as a float, which every integer field refuses.
            double approximate = PyLong_AsDouble(value.ptr());
            if (PyErr_Occurred()) PyErr_Clear();
            return overflow > 0 ? std::abs(approximate) : -std::abs(approximate);
        }
        return static_cast<std::int64_t>(number);
    }
    if (PyFloat_Check(value.ptr())) return value.cast<double>();
    if (PyUnicode_Check(value.ptr())) return value.cast<std::string>();
    if (is_datetime(value)) return iso_text(value);
    if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
        auto array = nlohmann::json::array();
        std::size_t index = 0;
        for (auto item : value) array.push_back(to_json_value(item, where + "[" + std::to_string(index++) + "]"));
        return array;
    }
    if (PyDict_Check(value.ptr())) {
        auto object = nlohmann::json::object();
        for (auto [key, item] : py::reinterpret_borrow<py::dict>(value)) {
            if (!PyUnicode_Check(key.ptr())) refuse(key, where + " key", "str");
            auto name = key.cast<std::string>();
            object[name] = to_json_value(item, where.empty() ? name : where + "." + name);
        }
        return object;
    }
    refuse(value, where, "None, bool, int, float, str, datetime, list or dict");
}

py::object from_json_value(const nlohmann::json& value) {
    switch (value.type()) {
        case nlohmann::json::value_t::null: return py::none();
        case nlohmann::json::value_t::boolean: return py::bool_(value.get<bool>());
        case nlohmann::json::value_t::number_integer: return py::int_(value.get<std::int64_t>());
        case nlohmann::json::value_t::number_unsigned: return py::int_(value.get<std::uint64_t>());
        case nlohmann::json::value_t::number_float: return py::float_(value.get<double>());
        case nlohmann::json::value_t::string: return py::str(value.get_ref<const std::string&>());
        case nlohmann::json::value_t::array: {
            py::list list;
            for (const auto& item : value) list.append(from_json_value(item));
            return std::move(list);
        }
        case nlohmann::json::value_t::object: {
            py::dict dict;
            for (const auto& [key, item] : value.items()) dict[py::str(key)] = from_json_value(item);
            return std::move(dict);
        }
        default: return py::none();  // binary and discarded values do not occur in our documents
    }
}

py::object to_datetime(model::Timestamp value) {
    import_datetime_api();
    auto day = date::floor<date::days>(value);
    date::year_month_day ymd{day};
    date::hh_mm_ss<std::chrono::microseconds> time{value - day};
    PyObject* result = PyDateTimeAPI->DateTime_FromDateAndTime(
        static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
        static_cast<int>(static_cast<unsigned>(ymd.day())), static_cast<int>(time.hours().count()),
        static_cast<int>(time.minutes().count()), static_cast<int>(time.seconds().count()),
        static_cast<int>(time.subseconds().count()), PyDateTime_TimeZone_UTC, PyDateTimeAPI->DateTimeType);
    if (result == nullptr) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(result);
}

model::Timestamp from_datetime(py::handle value, const std::string& where) {
    if (!is_datetime(value)) refuse(value, where, "datetime.datetime");
    auto parsed = model::parse_timestamp(iso_text(value));
    if (!parsed) throw py::value_error(where + ": the datetime is outside the years 1 to 9999 in UTC");
    return *parsed;
}

void define_enums(py::module_& module) {
    define_enum<model::RecipeRunStatus>(module, "RecipeRunStatus", "A recipe run's status, as GitHub's check runs have it.");
    define_enum<model::RecipeRunConclusion>(module, "RecipeRunConclusion",
                                            "A recipe run's conclusion, as GitHub's check runs have it.");
    define_enum<model::DatasetType>(module, "DatasetType", "The format of a recipe run's dataset.");
    define_enum<model::RepoProvider>(module, "RepoProvider", "Where a feedstock's repository is hosted.");
}

py::object enum_member(model::RecipeRunStatus value) { return member_of(value); }
py::object enum_member(model::RecipeRunConclusion value) { return member_of(value); }
py::object enum_member(model::DatasetType value) { return member_of(value); }
py::object enum_member(model::RepoProvider value) { return member_of(value); }

}  // namespace pangeo_forge::python
