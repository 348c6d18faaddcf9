#define BOOST_TEST_MODULE openapi
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/api/router.hpp"
#include "pangeo_forge/model/fields.hpp"
#include "pangeo_forge/model/recipe_run.hpp"

using namespace pangeo_forge;
using nlohmann::json;

namespace {

const json& schemas() {
    static const json document = api::openapi_document();
    return document["components"]["schemas"];
}

std::string json_type(model::ValueKind kind) {
    switch (kind) {
        case model::ValueKind::integer: return "integer";
        case model::ValueKind::boolean: return "boolean";
        default: return "string";
    }
}

json names(const std::vector<std::string>& list) { return json(list); }

}  // namespace

BOOST_AUTO_TEST_CASE(every_field_of_every_model_is_in_its_schemas_with_its_type_and_nullability) {
    for (const auto& model : model::described_models()) {
        std::vector<std::string> forms = {model.stored() ? model.name + "Read" : model.name};
        if (model.stored()) {
            forms.push_back(model.name + "Create");
            forms.push_back(model.name + "Update");
        }
        for (const auto& form : forms) {
            BOOST_REQUIRE_MESSAGE(schemas().contains(form), form);
            const json& properties = schemas()[form]["properties"];
            BOOST_TEST(properties.size() == model.fields.size() + (form == model.name + "Read" ? 1 : 0), form);
            for (const auto& field : model.fields) {
                BOOST_REQUIRE_MESSAGE(properties.contains(field.name), form << "." << field.name);
                const json& property = properties[field.name];
                BOOST_TEST(property["type"] == json_type(field.kind), form << "." << field.name);
                BOOST_TEST(property.value("nullable", false) == field.nullable, form << "." << field.name);
                BOOST_TEST((property.value("format", "") == "date-time") == (field.kind == model::ValueKind::timestamp));
                if (field.kind == model::ValueKind::enumeration) {
                    BOOST_TEST(property["enum"] == json(field.enum_values), form << "." << field.name);
                }
                BOOST_TEST(property.value("default", json()) == field.default_value, form << "." << field.name);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(a_create_requires_what_it_may_not_leave_out_and_a_read_has_everything) {
    for (const auto& model : model::described_models()) {
        if (!model.stored()) continue;
        std::vector<std::string> create, read{"id"};
        for (const auto& field : model.fields) {
            if (!field.create_may_omit) create.push_back(field.name);
            read.push_back(field.name);
        }
        BOOST_TEST(schemas()[model.name + "Create"]["required"] == names(create), model.name);
        BOOST_TEST(schemas()[model.name + "Read"]["required"] == names(read), model.name);
        BOOST_TEST(!schemas()[model.name + "Update"].contains("required"), model.name);
    }
}

BOOST_AUTO_TEST_CASE(the_version_pattern_is_the_tables) {
    BOOST_TEST(schemas()["RecipeRunCreate"]["properties"]["version"]["pattern"] == model::major_minor.regex);
    BOOST_TEST(schemas()["RecipeRunUpdate"]["properties"]["version"]["pattern"] == model::major_minor.regex);
    // What clients read is not held to it: the GitHub App's test runs have an empty version.
    BOOST_TEST(!schemas()["RecipeRunRead"]["properties"]["version"].contains("pattern"));
    BOOST_TEST(schemas()["RecipeRunCreate"]["properties"]["status"]["default"] == "queued");
    BOOST_TEST(schemas()["RecipeRunCreate"]["properties"]["is_test"]["default"] == false);
}

BOOST_AUTO_TEST_CASE(a_dataset_lists_a_url_that_is_never_null) {
    const json& dataset = schemas()["Dataset"];
    BOOST_TEST(!dataset["properties"]["dataset_public_url"].contains("nullable"));
    BOOST_TEST(dataset["properties"]["dataset_type"]["nullable"] == true);
    BOOST_TEST(!dataset["properties"].contains("id"));
}

BOOST_AUTO_TEST_CASE(the_github_app_routes_are_described_without_an_api_key) {
    static const json document = api::openapi_document();
    const json& paths = document["paths"];
    const std::vector<std::pair<std::string, std::string>> routes{
        {"/github/hooks/", "post"}, {"/github/hooks/deliveries", "get"}, {"/github/hooks/deliveries/{id}", "get"},
        {"/feedstocks/{id}/deliveries", "get"}, {"/feedstocks/{id}/commits/{sha}/check-runs", "get"}};
    for (const auto& [path, method] : routes) {
        BOOST_REQUIRE_MESSAGE(paths.contains(path) && paths[path].contains(method), method << " " << path);
        const json& operation = paths[path][method];
        BOOST_TEST(!operation.contains("security"), path);
        BOOST_TEST(operation["responses"].contains("503"), path);
        BOOST_TEST(!operation["summary"].get<std::string>().empty(), path);
    }
    const json& hook = paths["/github/hooks/"]["post"];
    BOOST_TEST(hook["requestBody"]["content"].contains("application/json"));
    BOOST_TEST(hook["requestBody"]["content"].contains("application/x-www-form-urlencoded"));
    for (const char* status : {"202", "401", "501"}) BOOST_TEST(hook["responses"].contains(status), status);
    json headers = json::array();
    for (const auto& parameter : hook["parameters"]) headers.push_back(parameter["name"]);
    BOOST_TEST(headers == (json{"X-Hub-Signature-256", "X-GitHub-Event", "X-GitHub-Delivery"}));
    BOOST_TEST(paths["/github/hooks/deliveries/{id}"]["get"]["parameters"][1]["name"] == "response_only");
}
