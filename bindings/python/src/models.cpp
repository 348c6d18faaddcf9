// The data model as Python classes. A model object is immutable and always valid: it is
// made by keyword construction, from_dict() or from_json(), all of which go through the
// library's decoder (every problem reported at once, as ValidationError), and changed only
// by replace(), which decodes again. Attributes are Python values: str enums, and aware
// datetime.datetime in UTC for timestamps.

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "conversions.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/relations.hpp"
#include "pangeo_forge/orchestrator/orchestrator.hpp"

namespace pangeo_forge::python {
namespace {

using nlohmann::json;

template <class Form>
Form decode_json_text(const std::string& text) {
    json body;
    try {
        body = json::parse(text);
    } catch (const json::parse_error& error) {
        throw ValidationError({FieldError{{"body"}, std::string("the text is not valid JSON: ") + error.what(),
                                          "value_error.jsondecode", nullptr}});
    }
    return model::decode<Form>(body);
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
// and changed by replace().
template <class Form>
py::class_<Form> model_class(py::module_& module, const char* name, const char* doc) {
    auto cls = value_class<Form>(module, name, doc);
    cls.def(py::init([](py::kwargs fields) { return model::decode<Form>(to_json_value(fields, "")); }));
    cls.def_static(
        "from_dict", [](py::dict fields) { return model::decode<Form>(to_json_value(fields, "")); }, py::arg("data"),
        "Validates a dict of fields (as the JSON has them) into a model object.");
    cls.def_static("from_json", &decode_json_text<Form>, py::arg("text"), "Validates JSON text into a model object.");
    cls.def(
        "replace",
        [](const Form& value, py::kwargs changes) {
            json fields = value;
            fields.update(to_json_value(changes, ""));
            return model::decode<Form>(fields);
        },
        "A copy with the given fields changed, validated again.");
    return cls;
}

// Adds a read-only attribute per field; `row` picks the object that holds the fields
// (the value itself, or the row inside a read-with-relations form).
template <class Value, class Row>
struct FieldAdder {
    using RowType = Row;
    py::class_<Value>& cls;
    const Row& (*row)(const Value&);

    template <class Member, class Owner>  // Owner: Row or a base of it (BakeryBase)
    void operator()(const char* name, Member Owner::*member) const {
        static_assert(std::is_base_of_v<Owner, Row>);
        cls.def_property_readonly(name, [row = row, member](const Value& value) { return to_python(row(value).*member); });
    }
};

template <class Value>
const Value& itself(const Value& value) {
    return value;
}

template <class Add>
void bakery_fields(const Add& add) {
    using Row = typename Add::RowType;
    add("region", &Row::region);
    add("name", &Row::name);
    add("description", &Row::description);
}

template <class Add>
void feedstock_fields(const Add& add) {
    using Row = typename Add::RowType;
    add("spec", &Row::spec);
    add("provider", &Row::provider);
}

template <class Add>
void recipe_run_fields(const Add& add) {
    using Row = typename Add::RowType;
    add("recipe_id", &Row::recipe_id);
    add("bakery_id", &Row::bakery_id);
    add("feedstock_id", &Row::feedstock_id);
    add("head_sha", &Row::head_sha);
    add("version", &Row::version);
    add("started_at", &Row::started_at);
    add("completed_at", &Row::completed_at);
    add("conclusion", &Row::conclusion);
    add("status", &Row::status);
    add("message", &Row::message);
    add("is_test", &Row::is_test);
    add("dataset_type", &Row::dataset_type);
    add("dataset_public_url", &Row::dataset_public_url);
}

// The create form, the stored row (with its id) and the update form of one model.
template <class Create, class Row, class Update, class Fields>
void bind_model(py::module_& module, const char* name, const char* doc, Fields fields) {
    auto create = model_class<Create>(module, (std::string(name) + "Create").c_str(),
                                      (std::string("A ") + doc + " to record.").c_str());
    fields(FieldAdder<Create, Create>{create, &itself<Create>});
    auto row = model_class<Row>(module, name, (std::string("A recorded ") + doc + ".").c_str());
    FieldAdder<Row, Row> add_row{row, &itself<Row>};
    add_row("id", &Row::id);
    fields(add_row);
    auto update = model_class<Update>(
        module, (std::string(name) + "Update").c_str(),
        (std::string("A partial update of a ") + doc + ": only the fields given change (None sets null).").c_str());
    fields(FieldAdder<Update, Update>{update, &itself<Update>});
}

const model::Bakery& bakery_of(const model::BakeryWithRecipeRuns& value) { return value.bakery; }
const model::Feedstock& feedstock_of(const model::FeedstockWithRecipeRuns& value) { return value.feedstock; }
const model::RecipeRun& run_of(const model::RecipeRunWithRelations& value) { return value.recipe_run; }

// The read-with-relations forms: the row's own fields at the top level beside the
// relation, as in the JSON the API sends.
void bind_relations(py::module_& module) {
    auto bakery = model_class<model::BakeryWithRecipeRuns>(module, "BakeryWithRecipeRuns",
                                                           "A bakery with the recipe runs it ran.");
    FieldAdder<model::BakeryWithRecipeRuns, model::Bakery> add_bakery{bakery, &bakery_of};
    add_bakery("id", &model::Bakery::id);
    bakery_fields(add_bakery);
    bakery.def_property_readonly("recipe_runs", [](const model::BakeryWithRecipeRuns& v) { return v.recipe_runs; });

    auto feedstock = model_class<model::FeedstockWithRecipeRuns>(module, "FeedstockWithRecipeRuns",
                                                                 "A feedstock with the recipe runs of its recipes.");
    FieldAdder<model::FeedstockWithRecipeRuns, model::Feedstock> add_feedstock{feedstock, &feedstock_of};
    add_feedstock("id", &model::Feedstock::id);
    feedstock_fields(add_feedstock);
    feedstock.def_property_readonly("recipe_runs",
                                    [](const model::FeedstockWithRecipeRuns& v) { return v.recipe_runs; });

    auto run = model_class<model::RecipeRunWithRelations>(module, "RecipeRunWithRelations",
                                                          "A recipe run with its bakery and feedstock.");
    FieldAdder<model::RecipeRunWithRelations, model::RecipeRun> add_run{run, &run_of};
    add_run("id", &model::RecipeRun::id);
    recipe_run_fields(add_run);
    run.def_property_readonly("bakery", [](const model::RecipeRunWithRelations& v) { return v.bakery; });
    run.def_property_readonly("feedstock", [](const model::RecipeRunWithRelations& v) { return v.feedstock; });
}

void bind_dataset(py::module_& module) {
    using orchestrator::Dataset;
    auto dataset = value_class<Dataset>(module, "Dataset", "A recipe run's dataset, as a feedstock's datasets list it.");
    FieldAdder<Dataset, Dataset> add{dataset, &itself<Dataset>};
    add("recipe_id", &Dataset::recipe_id);
    add("feedstock_id", &Dataset::feedstock_id);
    add("dataset_type", &Dataset::dataset_type);
    add("dataset_public_url", &Dataset::dataset_public_url);
    add("is_test", &Dataset::is_test);
}

}  // namespace

void bind_models(py::module_& module) {
    define_enums(module);
    bind_model<model::BakeryCreate, model::Bakery, model::BakeryUpdate>(
        module, "Bakery", "bakery", [](const auto& add) { bakery_fields(add); });
    bind_model<model::FeedstockCreate, model::Feedstock, model::FeedstockUpdate>(
        module, "Feedstock", "feedstock", [](const auto& add) { feedstock_fields(add); });
    bind_model<model::RecipeRunCreate, model::RecipeRun, model::RecipeRunUpdate>(
        module, "RecipeRun", "recipe run", [](const auto& add) { recipe_run_fields(add); });
    bind_relations(module);
    bind_dataset(module);
}

}  // namespace pangeo_forge::python
