// The OpenAPI 3 document of the API: every route, its parameters, bodies and responses,
// and the schemas of the models, as FastAPI would describe the Python service. The
// models' schemas come from their field tables (model/fields.hpp).

#include "pangeo_forge/api/router.hpp"

#include <stdexcept>

#include "pangeo_forge/model/fields.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"
#include "pangeo_forge/version.hpp"

namespace pangeo_forge::api {
namespace {

using nlohmann::json;

json schema_ref(const std::string& schema) { return {{"$ref", "#/components/schemas/" + schema}}; }

const json string_type = {{"type", "string"}};
const json integer_type = {{"type", "integer"}};

enum class Form { create, read, update };

// A field's schema, from its model's field table: type (and format, enum names, pattern),
// nullable, default, description. A pattern binds what clients send, not what they read
// (model/field_codecs.hpp, Checks): the GitHub App's test runs have an empty version.
json field_schema(const model::FieldDescription& field, Form form) {
    json schema;
    switch (field.kind) {
        case model::ValueKind::text: schema = string_type; break;
        case model::ValueKind::integer: schema = integer_type; break;
        case model::ValueKind::boolean: schema = {{"type", "boolean"}}; break;
        case model::ValueKind::timestamp: schema = {{"type", "string"}, {"format", "date-time"}}; break;
        case model::ValueKind::enumeration: {
            json values = json::array();
            for (auto name : field.enum_values) values.push_back(std::string(name));
            schema = {{"type", "string"}, {"enum", values}};
            break;
        }
    }
    if (field.pattern && form != Form::read) schema["pattern"] = field.pattern->regex;
    if (field.nullable) schema["nullable"] = true;
    if (!field.default_value.is_null()) schema["default"] = field.default_value;
    if (!field.description.empty()) schema["description"] = field.description;
    return schema;
}

// A create requires what it may not leave out; a read (a stored row, with its id, or a
// projection) has every field; an update requires nothing.
json object_schema(const model::ModelDescription& model, Form form) {
    json properties = json::object();
    json required = json::array();
    if (form == Form::read && model.stored()) {
        properties["id"] = integer_type;
        required.push_back("id");
    }
    for (const auto& field : model.fields) {
        properties[field.name] = field_schema(field, form);
        if (form == Form::read || (form == Form::create && !field.create_may_omit)) required.push_back(field.name);
    }
    json schema = {{"type", "object"}, {"properties", properties}, {"additionalProperties", false}};
    if (!required.empty()) schema["required"] = required;
    return schema;
}

const model::ModelDescription& described(const std::string& name) {
    for (const auto& model : model::described_models()) {
        if (model.name == name) return model;
    }
    throw std::logic_error("no field table describes the model " + name);
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

void add_collection(json& paths, json& schemas, const std::string& path, const std::string& name, json relations) {
    const auto& model = described(name);
    schemas[name + "Create"] = object_schema(model, Form::create);
    schemas[name + "Read"] = object_schema(model, Form::read);
    schemas[name + "Update"] = object_schema(model, Form::update);
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

// The worker's routes (orchestrator/dispatch.hpp), their bodies and answers.
void add_queue(json& paths, json& schemas) {
    const json timestamp = {{"type", "string"}, {"format", "date-time"}};
    const json lease = {{"type", "integer"}, {"minimum", 1}, {"maximum", orchestrator::max_lease.count()},
                        {"default", orchestrator::default_lease.count()}};
    const json attempt = {{"type", "integer"}, {"minimum", 1}};
    auto object = [](json properties, json required) {
        return json{{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)},
                    {"additionalProperties", false}};
    };
    schemas["ClaimRequest"] = object({{"bakery", string_type}, {"worker", string_type}, {"lease_seconds", lease}},
                                     {"bakery", "worker"});
    schemas["Claim"] = object({{"recipe_run", schema_ref("RecipeRunReadWithRelations")},
                               {"attempt", attempt}, {"lease_expires_at", timestamp}},
                              {"recipe_run", "attempt", "lease_expires_at"});
    schemas["HeartbeatRequest"] = object({{"attempt", attempt}, {"lease_seconds", lease}}, {"attempt"});
    schemas["Heartbeat"] = object({{"cancelled", {{"type", "boolean"}}}, {"lease_expires_at", timestamp}},
                                  {"cancelled", "lease_expires_at"});
    json outcomes = json::array();
    for (auto outcome : {orchestrator::Outcome::success, orchestrator::Outcome::failure,
                         orchestrator::Outcome::submitted, orchestrator::Outcome::released}) {
        outcomes.push_back(std::string(orchestrator::to_string(outcome)));
    }
    const json nullable_string = {{"type", "string"}, {"nullable", true}};
    schemas["Report"] = object(
        {{"attempt", {{"type", "integer"}, {"minimum", 1}, {"nullable", true},
                      {"description", "the claim's attempt; only a submitted job's success or failure may leave it out"}}},
         {"outcome", {{"type", "string"}, {"enum", outcomes}}},
         {"dataset_public_url", nullable_string},
         {"dataset_type", field_schema(*described("RecipeRun").find_field("dataset_type"), Form::create)},
         {"trace", nullable_string},
         {"job_name", nullable_string},
         {"job_id", nullable_string},
         {"job_deadline_seconds", {{"type", "integer"}, {"minimum", 1}, {"maximum", orchestrator::max_job_deadline.count()},
                                   {"default", orchestrator::default_job_deadline.count()}}}},
        {"outcome"});

    json fenced = {{"401", detail_response}, {"403", detail_response}, {"404", detail_response},
                   {"409", detail_response}, {"422", validation_error_response}};
    json claimed = {{"200", response(schema_ref("Claim"))},
                    {"204", {{"description", "No run of the bakery is queued"}}},
                    {"401", detail_response}, {"403", detail_response},
                    {"404", detail_response}, {"422", validation_error_response}};
    paths["/recipe_runs/claim"] = {{"post", operation("Claim the oldest queued run of a bakery", claimed,
                                                      json::array(), schema_ref("ClaimRequest"), true)}};
    json beat = fenced;
    beat["200"] = response(schema_ref("Heartbeat"));
    paths["/recipe_runs/{id}/heartbeat"] = {{"post", operation("Extend a claimed run's lease", beat, {id_parameter},
                                                               schema_ref("HeartbeatRequest"), true)}};
    json completed = fenced;
    completed["200"] = response(schema_ref("RecipeRunRead"));
    paths["/recipe_runs/{id}/complete"] = {{"post", operation("Report how a claimed run ended", completed,
                                                              {id_parameter}, schema_ref("Report"), true)}};
}

// The GitHub App's routes (GITHUB_APP.md), served by the App the face loaded: 503 without
// it. No API key: the hook is authenticated by its signature, the others only read.
void add_github_app(json& paths) {
    auto header = [](const std::string& name, const std::string& description) {
        return json{{"name", name}, {"in", "header"}, {"required", true}, {"schema", string_type},
                    {"description", description}};
    };
    json hook = operation(
        "Receive a GitHub webhook delivery",
        {{"200", response({{"type", "object"}}, "A check_suite event, acknowledged")},
         {"202", response({{"type", "object"}}, "Accepted: recorded, handled in the background")},
         {"400", detail_response}, {"401", detail_response}, {"501", detail_response}, {"503", detail_response}},
        {header("X-Hub-Signature-256", "sha256= and the HMAC-SHA256 of the raw body with the webhook secret"),
         header("X-GitHub-Event", "pull_request, issue_comment, check_suite or dataflow"),
         header("X-GitHub-Delivery", "the delivery's id; a redelivery creates nothing twice")});
    hook["requestBody"] = {
        {"required", true},
        {"description", "The event's payload, as GitHub sent it; signed, so read as raw bytes"},
        {"content", {{"application/json", {{"schema", {{"type", "object"}}}}},
                     {"application/x-www-form-urlencoded", {{"schema", {{"type", "object"}}}}}}}};
    paths["/github/hooks/"] = {{"post", hook}};

    const json passed_through = {{"200", response({{"type", "array"}, {"items", {{"type", "object"}}}})},
                                 {"404", detail_response}, {"503", detail_response}};
    json one = passed_through;
    one["200"] = response({{"type", "object"}});
    paths["/github/hooks/deliveries"] = {
        {"get", operation("The app's recent webhook deliveries, as GitHub lists them", passed_through)}};
    paths["/github/hooks/deliveries/{id}"] = {
        {"get", operation("One webhook delivery, as GitHub gives it", one,
                          {id_parameter, query("response_only", {{"type", "boolean"}, {"default", false}})})}};
    paths["/feedstocks/{id}/deliveries"] = {
        {"get", operation("The webhook deliveries of a feedstock's repository, as GitHub lists them",
                          passed_through, {id_parameter})}};
    const json sha = {{"name", "sha"}, {"in", "path"}, {"required", true}, {"schema", string_type}};
    paths["/feedstocks/{id}/commits/{sha}/check-runs"] = {
        {"get", operation("The check runs of a commit of a feedstock's repository, as GitHub gives them", one,
                          {id_parameter, sha})}};
}

}  // namespace

nlohmann::json openapi_document() {
    json paths = json::object();
    json schemas = json::object();
    json runs = {{"recipe_runs", {{"type", "array"}, {"items", schema_ref("RecipeRunRead")}}}};
    add_collection(paths, schemas, "bakeries", "Bakery", runs);
    add_collection(paths, schemas, "feedstocks", "Feedstock", runs);
    add_collection(paths, schemas, "recipe_runs", "RecipeRun",
                   {{"bakery", schema_ref("BakeryRead")}, {"feedstock", schema_ref("FeedstockRead")}});

    schemas["Dataset"] = object_schema(described("Dataset"), Form::read);
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
    add_queue(paths, schemas);
    add_github_app(paths);
    paths["/openapi.json"] = {{"get", operation("This document", {{"200", response({{"type", "object"}})}})}};

    return {{"openapi", "3.0.2"},
            {"info", {{"title", "Pangeo Forge orchestrator"}, {"version", std::string(version())}}},
            {"paths", paths},
            {"components",
             {{"schemas", schemas},
              {"securitySchemes", {{"APIKeyHeader", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-API-Key"}}}}}}}};
}

}  // namespace pangeo_forge::api
