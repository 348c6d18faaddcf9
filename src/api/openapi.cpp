// The OpenAPI 3 document of the API: every route, its parameters, bodies and responses,
// and the schemas of the models, as FastAPI would describe the Python service.

#include "pangeo_forge/api/router.hpp"

#include "pangeo_forge/model/enums.hpp"
#include "pangeo_forge/version.hpp"

namespace pangeo_forge::api {
namespace {

using nlohmann::json;

json schema_ref(const std::string& schema) { return {{"$ref", "#/components/schemas/" + schema}}; }

template <class Enum>
json enumeration() {
    json values = json::array();
    for (auto name : model::enum_names<Enum>()) values.push_back(std::string(name));
    return {{"type", "string"}, {"enum", values}};
}

json nullable(json schema) {
    schema["nullable"] = true;
    return schema;
}

struct Field {
    std::string name;
    json schema;
    bool required;  // in a create body (and so in a read form)
};

const json string_type = {{"type", "string"}};
const json integer_type = {{"type", "integer"}};
const json timestamp_type = {{"type", "string"}, {"format", "date-time"}};

std::vector<Field> bakery_fields() {
    return {{"region", string_type, true}, {"name", string_type, true}, {"description", string_type, true}};
}

std::vector<Field> feedstock_fields() {
    json provider = enumeration<model::RepoProvider>();
    provider["default"] = "github";
    return {{"spec", string_type, true}, {"provider", provider, false}};
}

std::vector<Field> recipe_run_fields() {
    json status = enumeration<model::RecipeRunStatus>();
    status["default"] = "queued";
    return {{"recipe_id", string_type, true},
            {"bakery_id", integer_type, true},
            {"feedstock_id", integer_type, true},
            {"head_sha", string_type, true},
            {"version", {{"type", "string"}, {"pattern", R"(^\d+\.\d+$)"}}, true},
            {"started_at", timestamp_type, true},
            {"completed_at", nullable(timestamp_type), false},
            {"conclusion", nullable(enumeration<model::RecipeRunConclusion>()), false},
            {"status", status, false},
            {"message", nullable(string_type), false},
            {"is_test", {{"type", "boolean"}, {"default", false}}, false},
            {"dataset_type", nullable(enumeration<model::DatasetType>()), false},
            {"dataset_public_url", nullable(string_type), false}};
}

enum class Form { create, read, update };

json object_schema(const std::vector<Field>& fields, Form form) {
    json properties = json::object();
    json required = json::array();
    if (form == Form::read) {
        properties["id"] = integer_type;
        required.push_back("id");
    }
    for (const auto& field : fields) {
        properties[field.name] = field.schema;
        if (form != Form::update && (field.required || form == Form::read)) required.push_back(field.name);
    }
    json schema = {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
    if (!required.empty()) schema["required"] = required;
    return schema;
}

json with_relations(const std::string& read, json relations) {
    return {{"allOf", {schema_ref(read), {{"type", "object"}, {"properties", relations}}}}};
}

json response(const json& schema, const std::string& description = "Successful Response") {
    return {{"description", description}, {"content", {{"application/json", {{"schema", schema}}}}}};
}

const json validation_error_response = response(schema_ref("HTTPValidationError"), "Validation Error");
const json detail_response = response({{"type", "object"}, {"properties", {{"detail", string_type}}}}, "Error");

json query(const std::string& name, json schema) {
    return {{"name", name}, {"in", "query"}, {"required", false}, {"schema", schema}};
}

const json id_parameter = {{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", integer_type}};

json operation(const std::string& summary, json responses, json parameters = json::array(), json body = nullptr,
               bool write = false) {
    json op = {{"summary", summary}, {"responses", responses}};
    if (!parameters.empty()) op["parameters"] = parameters;
    if (!body.is_null()) {
        op["requestBody"] = {{"required", true}, {"content", {{"application/json", {{"schema", body}}}}}};
    }
    if (write) op["security"] = {{{"APIKeyHeader", json::array()}}};
    return op;
}

void add_collection(json& paths, json& schemas, const std::string& path, const std::string& name,
                    const std::vector<Field>& fields, json relations) {
    schemas[name + "Create"] = object_schema(fields, Form::create);
    schemas[name + "Read"] = object_schema(fields, Form::read);
    schemas[name + "Update"] = object_schema(fields, Form::update);
    schemas[name + "ReadWithRelations"] = with_relations(name + "Read", std::move(relations));
    json page = {query("offset", {{"type", "integer"}, {"default", 0}, {"minimum", 0}}),
                 query("limit", {{"type", "integer"}, {"default", 100}, {"minimum", 1}, {"maximum", 100}}),
                 query("order_by", {{"type", "string"}, {"default", "id"}}),
                 query("sort", {{"type", "string"}, {"enum", {"asc", "desc"}}, {"default", "asc"}})};
    json errors = {{"401", detail_response}, {"403", detail_response}, {"422", validation_error_response}};
    json created = errors;
    created["200"] = response(schema_ref(name + "Read"));
    json list = {{"200", response({{"type", "array"}, {"items", schema_ref(name + "Read")}})},
                 {"422", validation_error_response}};
    paths["/" + path + "/"] = {{"get", operation("Read " + path, list, page)},
                               {"post", operation("Create a " + name, created, json::array(), schema_ref(name + "Create"), true)}};
    json one = {{"200", response(schema_ref(name + "ReadWithRelations"))}, {"404", detail_response},
                {"422", validation_error_response}};
    json updated = errors;
    updated["200"] = response(schema_ref(name + "Read"));
    updated["404"] = detail_response;
    json deleted = errors;
    deleted["200"] = response({{"type", "object"}, {"properties", {{"ok", {{"type", "boolean"}}}}}});
    deleted["404"] = detail_response;
    deleted["409"] = detail_response;
    paths["/" + path + "/{id}"] = {
        {"get", operation("Read a " + name + " with its relations", one, {id_parameter})},
        {"patch", operation("Update a " + name + " (only the fields sent)", updated, {id_parameter},
                            schema_ref(name + "Update"), true)},
        {"delete", operation("Delete a " + name, deleted, {id_parameter}, nullptr, true)}};
}

}  // namespace

nlohmann::json openapi_document() {
    json paths = json::object();
    json schemas = json::object();
    json runs = {{"recipe_runs", {{"type", "array"}, {"items", schema_ref("RecipeRunRead")}}}};
    add_collection(paths, schemas, "bakeries", "Bakery", bakery_fields(), runs);
    add_collection(paths, schemas, "feedstocks", "Feedstock", feedstock_fields(), runs);
    add_collection(paths, schemas, "recipe_runs", "RecipeRun", recipe_run_fields(),
                   {{"bakery", schema_ref("BakeryRead")}, {"feedstock", schema_ref("FeedstockRead")}});

    schemas["Dataset"] = {{"type", "object"},
                          {"properties",
                           {{"recipe_id", string_type},
                            {"feedstock_id", integer_type},
                            {"dataset_type", nullable(enumeration<model::DatasetType>())},
                            {"dataset_public_url", string_type},
                            {"is_test", {{"type", "boolean"}}}}}};
    schemas["Count"] = {{"type", "object"}, {"properties", {{"count", integer_type}}}};
    schemas["ValidationError"] = {
        {"type", "object"},
        {"required", {"loc", "msg", "type"}},
        {"properties",
         {{"loc", {{"type", "array"}, {"items", {{"oneOf", {string_type, integer_type}}}}}},
          {"msg", string_type},
          {"type", string_type}}}};
    schemas["HTTPValidationError"] = {
        {"type", "object"}, {"properties", {{"detail", {{"type", "array"}, {"items", schema_ref("ValidationError")}}}}}};

    paths["/"] = {{"get", operation("Health", {{"200", response({{"type", "object"}})}})}};
    paths["/feedstocks/{id}/datasets"] = {
        {"get", operation("The datasets of a feedstock's successful runs",
                          {{"200", response({{"type", "array"}, {"items", schema_ref("Dataset")}})},
                           {"404", detail_response}, {"422", validation_error_response}},
                          {id_parameter, query("type", {{"type", "string"},
                                                        {"enum", {"all", "production", "test"}},
                                                        {"default", "all"}})})}};
    for (const char* what : {"recipe_runs", "bakeries", "feedstocks"}) {
        paths[std::string("/stats/") + what] = {
            {"get", operation(std::string("Count the ") + what, {{"200", response(schema_ref("Count"))}})}};
    }
    paths["/stats/datasets"] = {
        {"get", operation("Count the runs with a dataset",
                          {{"200", response(schema_ref("Count"))}, {"422", validation_error_response}},
                          {query("exclude_test_runs", {{"type", "boolean"}, {"default", false}})})}};
    paths["/openapi.json"] = {{"get", operation("This document", {{"200", response({{"type", "object"}})}})}};

    return {{"openapi", "3.0.2"},
            {"info", {{"title", "Pangeo Forge orchestrator"}, {"version", std::string(version())}}},
            {"paths", paths},
            {"components",
             {{"schemas", schemas},
              {"securitySchemes", {{"APIKeyHeader", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-API-Key"}}}}}}}};
}

}  // namespace pangeo_forge::api
