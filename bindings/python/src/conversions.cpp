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

// ISO 8601 text for the library's parser, which converts offsets to UTC and refuses what
// falls outside the years 1 to 9999 there. A naive datetime (or one whose tzinfo gives no
// offset) is taken as UTC, as the API takes a timestamp without a zone.
std::string iso_text(py::handle value) {
    PyObject* dt = value.ptr();
    PyObject* zone = PyDateTime_DATE_GET_TZINFO(dt);
    if (zone != Py_None && zone != PyDateTime_TimeZone_UTC && !value.attr("utcoffset")().is_none()) {
        return py::str(value.attr("isoformat")());  // with its offset, "+05:00"
    }
    char text[40];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", PyDateTime_GET_YEAR(dt),
                  PyDateTime_GET_MONTH(dt), PyDateTime_GET_DAY(dt), PyDateTime_DATE_GET_HOUR(dt),
                  PyDateTime_DATE_GET_MINUTE(dt), PyDateTime_DATE_GET_SECOND(dt),
                  PyDateTime_DATE_GET_MICROSECOND(dt));
    return text;
}

// Request bodies are small documents; anything deeper is a mistake, or a cycle.
constexpr int deepest_nesting = 64;

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

// A Python str enum whose members are `spellings`, added to the module as `name`.
py::handle str_enum(py::module_& module, const char* name, const std::vector<std::string>& spellings,
                    const char* doc) {
    py::list members;
    for (const auto& spelling : spellings) members.append(py::make_tuple(spelling, spelling));
    py::object str_type = py::module_::import("builtins").attr("str");
    py::object cls = py::module_::import("enum").attr("Enum")(name, members, py::arg("module") = "pangeo_forge",
                                                              py::arg("type") = str_type);
    cls.attr("__doc__") = doc;
    // str(member) and f"{member}" give the spelling, as in JSON and the database.
    cls.attr("__str__") = str_type.attr("__str__");
    cls.attr("__format__") = str_type.attr("__format__");
    module.attr(name) = cls;
    return cls.release();
}

template <class Enum>
void define_enum(py::module_& module, const char* name, const char* doc) {
    std::vector<std::string> spellings;
    for (auto spelling : model::enum_names<Enum>()) spellings.emplace_back(spelling);
    enum_class<Enum>() = str_enum(module, name, spellings, doc);
}

template <class Enum>
py::object member_of(Enum value) {
    return enum_class<Enum>()(py::str(std::string(model::to_string(value))));
}

}  // namespace

std::string utf8_text(py::handle text) {
    Py_ssize_t size = 0;
    const char* bytes = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
    if (bytes == nullptr) throw py::error_already_set();  // UnicodeEncodeError, a ValueError
    return std::string(bytes, static_cast<std::size_t>(size));
}

nlohmann::json to_json_value(py::handle value, const std::string& where, int depth) {
    if (depth > deepest_nesting) {
        throw py::value_error(where + ": nested more than " + std::to_string(deepest_nesting) +
                              " levels deep (does it contain itself?)");
    }
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
    if (PyUnicode_Check(value.ptr())) return utf8_text(value);
    if (is_datetime(value)) return iso_text(value);
    if (PyList_Check(value.ptr()) || PyTuple_Check(value.ptr())) {
        auto array = nlohmann::json::array();
        std::size_t index = 0;
        for (auto item : value) array.push_back(to_json_value(item, where + "[" + std::to_string(index++) + "]", depth + 1));
        return array;
    }
    if (PyDict_Check(value.ptr())) {
        auto object = nlohmann::json::object();
        for (auto [key, item] : py::reinterpret_borrow<py::dict>(value)) {
            if (!PyUnicode_Check(key.ptr())) refuse(key, where + " key", "str");
            auto name = key.cast<std::string>();
            object[name] = to_json_value(item, where.empty() ? name : where + "." + name, depth + 1);
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

void define_outcome_enum(py::module_& module) {
    std::vector<std::string> spellings;
    for (auto outcome : {orchestrator::Outcome::success, orchestrator::Outcome::failure,
                         orchestrator::Outcome::submitted, orchestrator::Outcome::released}) {
        spellings.emplace_back(orchestrator::to_string(outcome));
    }
    enum_class<orchestrator::Outcome>() =
        str_enum(module, "Outcome", spellings, "How a worker's recipe run ended, as its report says.");
}

py::object enum_member(orchestrator::Outcome value) {
    return enum_class<orchestrator::Outcome>()(py::str(std::string(orchestrator::to_string(value))));
}

}  // namespace pangeo_forge::python
