// The data model as Python classes. A model object is immutable and always valid: it is
// made by keyword construction, from_dict() or from_json(), all of which go through the
// library's decoder (every problem reported at once, as ValidationError), and changed only
// by replace(), which decodes again. Attributes are Python values: str enums, and aware
// datetime.datetime in UTC for timestamps. The attributes and constructor keywords come
// from the models' field tables (model/fields.hpp).

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "conversions.hpp"
#include "model_signatures.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/relations.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"

namespace pangeo_forge::python {
namespace {

using nlohmann::json;

template <class Form>
using Decode = Form (*)(const json&);

template <class Form>
Form decode_json_text(const std::string& text, Decode<Form> decode) {
    json body;
    try {
        body = json::parse(text);
    } catch (const json::parse_error& error) {
        throw ValidationError({FieldError{{"body"}, std::string("the text is not valid JSON: ") + error.what(),
                                          "value_error.jsondecode", nullptr}});
    }
    return decode(body);
}

// {name: attribute} for each field the JSON form has (only the fields sent, for an
// update); nested model objects become dicts too.
py::object plain(py::handle value) {
    if (py::hasattr(value, "to_dict")) return value.attr("to_dict")();
    if (PyList_Check(value.ptr())) {
        py::list list;
        for (auto item : value) list.append(plain(item));
        return std::move(list);
    }
    return py::reinterpret_borrow<py::object>(value);
}

template <class Form>
py::dict to_dict(py::object self) {
    py::dict dict;
    json fields = self.cast<const Form&>();
    for (const auto& [name, ignored] : fields.items()) dict[py::str(name)] = plain(self.attr(name.c_str()));
    return dict;
}

// What every value class shares: to_dict, to_json, equality and repr.
template <class Value>
py::class_<Value> value_class(py::module_& module, const char* name, const char* doc) {
    py::class_<Value> cls(module, name, doc);
    cls.def("to_dict", &to_dict<Value>, "The fields as a dict of Python values.");
    cls.def(
        "to_json", [](const Value& value) { return json(value).dump(); }, "The JSON text the API sends.");
    cls.def("__eq__", [](const Value& a, const Value& b) { return a == b; }, py::is_operator());
    cls.def("__eq__", [](const Value&, py::object) { return py::reinterpret_borrow<py::object>(Py_NotImplemented); });
    cls.attr("__hash__") = py::none();
    cls.def("__repr__", [type_name = std::string(name)](py::object self) {
        std::string text = type_name + "(";
        bool first = true;
        for (auto [key, value] : to_dict<Value>(self)) {
            text += (first ? "" : ", ") + std::string(py::str(key)) + "=" + std::string(py::repr(value));
            first = false;
        }
        return text + ")";
    });
    return cls;
}

// A model class: a value class made by keyword construction, from_dict() or from_json(),
// and changed by replace(), each through `decode` (the model's decoder by default).
template <class Form>
py::class_<Form> model_class(py::module_& module, const char* name, const char* doc,
                             Decode<Form> decode = &model::decode<Form>) {
    auto cls = value_class<Form>(module, name, doc);
    cls.def(py::init([decode](py::kwargs fields) { return decode(to_json_value(fields, "")); }));
    cls.def_static(
        "from_dict", [decode](py::dict fields) { return decode(to_json_value(fields, "")); }, py::arg("data"),
        "Validates a dict of fields (as the JSON has them) into a model object.");
    cls.def_static(
        "from_json", [decode](const std::string& text) { return decode_json_text<Form>(text, decode); },
        py::arg("text"), "Validates JSON text into a model object.");
    cls.def(
        "replace",
        [decode](const Form& value, py::kwargs changes) {
            json fields = value;
            fields.update(to_json_value(changes, ""));
            return decode(fields);
        },
        "A copy with the given fields changed, validated again.");
    return cls;
}

// A read-only attribute per field of Model's table, in column order; `row` picks the
// object that holds the fields (the value itself, or the row inside a read-with-relations
// form).
template <class Model, class Value, class Row>
void add_fields(py::class_<Value>& cls, const Row& (*row)(const Value&)) {
    model::visit_fields<Model>([&](const auto& field) {
        cls.def_property_readonly(field.name,
                                  [row, member = field.member](const Value& value) { return to_python(row(value).*member); });
    });
}

// The update form's attributes: None when the field was not sent (or was sent as null).
template <class Model, class Update>
void add_update_fields(py::class_<Update>& cls) {
    model::visit_fields<Model>([&](const auto& field) {
        cls.def_property_readonly(field.name,
                                  [member = field.update](const Update& value) { return to_python(value.*member); });
    });
}

template <class Value, class Row>
void add_id(py::class_<Value>& cls, const Row& (*row)(const Value&)) {
    cls.def_property_readonly("id", [row](const Value& value) { return row(value).id; });
}

template <class Value>
const Value& itself(const Value& value) {
    return value;
}

std::string with_keywords(const char* doc, const model::ModelDescription& model, PythonForm form) {
    return std::string(doc) + "\n\nKeywords: " + keywords(model, form, Spelling::doc);
}

// The create form, the stored row (with its id) and the update form of one model: their
// attributes and constructor keywords come from the model's field table.
template <class Model>
void bind_model(py::module_& module, const char* doc) {
    using Table = model::FieldTable<Model>;
    using Create = typename Table::Create;
    using Row = typename Table::Row;
    using Update = typename Table::Update;
    const auto described = model::describe<Model>();
    const std::string name = Table::name;
    auto create = model_class<Create>(
        module, (name + "Create").c_str(),
        with_keywords((std::string("A ") + doc + " to record.").c_str(), described, PythonForm::create).c_str());
    add_fields<Model>(create, &itself<Create>);
    auto row = model_class<Row>(
        module, name.c_str(),
        with_keywords((std::string("A recorded ") + doc + ".").c_str(), described, PythonForm::row).c_str());
    add_id(row, &itself<Row>);
    add_fields<Model>(row, &itself<Row>);
    auto update = model_class<Update>(
        module, (name + "Update").c_str(),
        with_keywords(
            (std::string("A partial update of a ") + doc + ": only the fields given change (None sets null).").c_str(),
            described, PythonForm::update)
            .c_str());
    add_update_fields<Model>(update);
}

const model::Bakery& bakery_of(const model::BakeryWithRecipeRuns& value) { return value.bakery; }
const model::Feedstock& feedstock_of(const model::FeedstockWithRecipeRuns& value) { return value.feedstock; }
const model::RecipeRun& run_of(const model::RecipeRunWithRelations& value) { return value.recipe_run; }

// The read-with-relations forms: the row's own fields at the top level beside the
// relation, as in the JSON the API sends.
void bind_relations(py::module_& module) {
    auto bakery = model_class<model::BakeryWithRecipeRuns>(module, "BakeryWithRecipeRuns",
                                                           "A bakery with the recipe runs it ran.");
    add_id(bakery, &bakery_of);
    add_fields<model::Bakery>(bakery, &bakery_of);
    bakery.def_property_readonly("recipe_runs", [](const model::BakeryWithRecipeRuns& v) { return v.recipe_runs; });

    auto feedstock = model_class<model::FeedstockWithRecipeRuns>(module, "FeedstockWithRecipeRuns",
                                                                 "A feedstock with the recipe runs of its recipes.");
    add_id(feedstock, &feedstock_of);
    add_fields<model::Feedstock>(feedstock, &feedstock_of);
    feedstock.def_property_readonly("recipe_runs",
                                    [](const model::FeedstockWithRecipeRuns& v) { return v.recipe_runs; });

    auto run = model_class<model::RecipeRunWithRelations>(module, "RecipeRunWithRelations",
                                                          "A recipe run with its bakery and feedstock.");
    add_id(run, &run_of);
    add_fields<model::RecipeRun>(run, &run_of);
    run.def_property_readonly("bakery", [](const model::RecipeRunWithRelations& v) { return v.bakery; });
    run.def_property_readonly("feedstock", [](const model::RecipeRunWithRelations& v) { return v.feedstock; });
}

void bind_dataset(py::module_& module) {
    using model::Dataset;
    auto dataset = value_class<Dataset>(module, "Dataset", "A recipe run's dataset, as a feedstock's datasets list it.");
    add_fields<Dataset>(dataset, &itself<Dataset>);
}

// The dispatch queue's values (orchestrator/dispatch.hpp), made and checked as the routes
// read them: keywords are the fields of their JSON (lease_seconds, job_deadline_seconds).
void bind_dispatch_values(py::module_& module) {
    namespace o = orchestrator;
    define_outcome_enum(module);
    model_class<o::ClaimRequest>(module, "ClaimRequest",
                                 "A worker's request for its bakery's oldest queued run.\n\n"
                                 "Keywords: bakery, worker, lease_seconds=60.",
                                 &o::decode_claim_request)
        .def_property_readonly("bakery", [](const o::ClaimRequest& v) { return v.bakery; })
        .def_property_readonly("worker", [](const o::ClaimRequest& v) { return v.worker; })
        .def_property_readonly("lease_seconds", [](const o::ClaimRequest& v) { return v.lease.count(); });
    model_class<o::Claim>(module, "Claim",
                          "A claimed run (in progress), the attempt that fences its heartbeats and report, and "
                          "when its lease runs out.",
                          &o::decode_claim)
        .def_property_readonly("recipe_run", [](const o::Claim& v) { return v.run; })
        .def_property_readonly("attempt", [](const o::Claim& v) { return v.attempt; })
        .def_property_readonly("lease_expires_at", [](const o::Claim& v) { return to_python(v.lease_expires_at); });
    model_class<o::HeartbeatRequest>(module, "HeartbeatRequest",
                                     "Extends a claim's lease.\n\nKeywords: attempt, lease_seconds=60.",
                                     &o::decode_heartbeat_request)
        .def_property_readonly("attempt", [](const o::HeartbeatRequest& v) { return v.attempt; })
        .def_property_readonly("lease_seconds", [](const o::HeartbeatRequest& v) { return v.lease.count(); });
    model_class<o::Heartbeat>(module, "Heartbeat",
                              "A heartbeat's answer: whether the run was cancelled, and the lease's new end.",
                              &o::decode_heartbeat)
        .def_property_readonly("cancelled", [](const o::Heartbeat& v) { return v.cancelled; })
        .def_property_readonly("lease_expires_at", [](const o::Heartbeat& v) { return to_python(v.lease_expires_at); });
    model_class<o::Report>(module, "Report",
                           "How a claimed run ended.\n\nKeywords: outcome ('success', 'failure', 'submitted' or "
                           "'released'), attempt, and by outcome: dataset_public_url and dataset_type (success), "
                           "trace (failure), job_name, job_id and job_deadline_seconds=172800 (submitted).",
                           &o::decode_report)
        .def_property_readonly("attempt", [](const o::Report& v) { return to_python(v.attempt); })
        .def_property_readonly("outcome", [](const o::Report& v) { return to_python(v.outcome); })
        .def_property_readonly("dataset_public_url", [](const o::Report& v) { return to_python(v.dataset_public_url); })
        .def_property_readonly("dataset_type", [](const o::Report& v) { return to_python(v.dataset_type); })
        .def_property_readonly("trace", [](const o::Report& v) { return to_python(v.trace); })
        .def_property_readonly("job_name", [](const o::Report& v) { return to_python(v.job_name); })
        .def_property_readonly("job_id", [](const o::Report& v) { return to_python(v.job_id); })
        .def_property_readonly("job_deadline_seconds", [](const o::Report& v) { return v.job_deadline.count(); });
}

}  // namespace

void bind_models(py::module_& module) {
    define_enums(module);
    bind_model<model::Bakery>(module, "bakery");
    bind_model<model::Feedstock>(module, "feedstock");
    bind_model<model::RecipeRun>(module, "recipe run");
    bind_relations(module);
    bind_dataset(module);
    bind_dispatch_values(module);
}

}  // namespace pangeo_forge::python
