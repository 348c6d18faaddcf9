#define BOOST_TEST_MODULE fields
#include <boost/test/unit_test.hpp>

#include <regex>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/relations.hpp"
#include "pangeo_forge/model/schema.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::model;
using nlohmann::json;

namespace {

// A model of the test's own, to show what a table holds and what pick() refuses.
struct GadgetBase {
    std::string label;
    std::optional<std::int64_t> weight;
    std::string unlisted;
};

struct Gadget : GadgetBase {
    std::int64_t id = 0;
};

struct GadgetView {
    std::string label;
};

}  // namespace

namespace pangeo_forge::model {

template <>
struct FieldTable<Gadget> {
    using Base = GadgetBase;
    using Row = Gadget;
    static constexpr const char* name = "Gadget";
    static constexpr const char* table = "gadget";
    static const auto& fields() {
        static const auto list = std::make_tuple(field("label", &Base::label), field("weight", &Base::weight));
        return list;
    }
};

}  // namespace pangeo_forge::model

namespace {

template <class Model>
std::vector<std::string> visited_names() {
    std::vector<std::string> names;
    visit_fields<Model>([&](const auto& field) { names.emplace_back(field.name); });
    return names;
}

const ModelDescription& described(const std::string& name) {
    for (const auto& model : described_models()) {
        if (model.name == name) return model;
    }
    BOOST_FAIL("no model " << name);
    throw std::logic_error("unreachable");
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_column_type_and_its_nullability_come_from_the_members_cpp_type) {
    auto gadget = describe<Gadget>();
    BOOST_REQUIRE_EQUAL(gadget.fields.size(), 2u);
    BOOST_TEST((gadget.fields[0].column() == schema::Column{"label", schema::Type(schema::TypeKind::varchar), false, std::nullopt, false}));
    BOOST_TEST((gadget.fields[1].column() == schema::Column{"weight", schema::Type(schema::TypeKind::integer), true, std::nullopt, false}));
    BOOST_TEST(!gadget.fields[0].create_may_omit);
    BOOST_TEST(gadget.fields[1].create_may_omit);  // nullable: left out means null
    BOOST_TEST(!gadget.fields[0].updatable);
}

BOOST_AUTO_TEST_CASE(visiting_gives_the_fields_in_column_order_with_their_members) {
    BOOST_TEST(visited_names<RecipeRun>() ==
                   (std::vector<std::string>{"recipe_id", "bakery_id", "feedstock_id", "head_sha", "version",
                                             "started_at", "completed_at", "conclusion", "status", "message", "is_test",
                                             "dataset_type", "dataset_public_url"}),
               boost::test_tools::per_element());
    RecipeRun run;
    run.head_sha = "abc";
    std::string seen;
    visit_fields<RecipeRun>([&](const auto& field) {
        if constexpr (std::is_same_v<typename std::decay_t<decltype(field)>::value_type, std::string>) {
            if (std::string(field.name) == "head_sha") seen = run.*field.member;
        }
    });
    BOOST_TEST(seen == "abc");
}

BOOST_AUTO_TEST_CASE(every_field_is_a_column_of_its_table_with_the_same_type_and_nullability) {
    auto declared = model::schema();
    std::size_t stored = 0;
    for (const auto& model : described_tables()) {
        ++stored;
        const auto* table = declared.find_table(model.table);
        BOOST_REQUIRE_MESSAGE(table != nullptr, model.table);
        BOOST_REQUIRE_EQUAL(table->columns.size(), model.fields.size() + 1);  // and the id
        BOOST_TEST(table->columns[0].name == "id");
        for (std::size_t i = 0; i < model.fields.size(); ++i) {
            BOOST_TEST((table->columns[i + 1] == model.fields[i].column()), model.table << "." << model.fields[i].name);
        }
    }
    BOOST_TEST(stored == declared.tables.size());
}

BOOST_AUTO_TEST_CASE(table_level_facts_come_from_the_fields) {
    auto declared = model::schema();
    const auto& bakery = *declared.find_table("bakery");
    BOOST_REQUIRE_EQUAL(bakery.unique_constraints.size(), 1u);
    BOOST_TEST(bakery.unique_constraints[0].columns == std::vector<std::string>{"name"});
    BOOST_TEST(described("RecipeRun").find_field("bakery_id")->references == "bakery");
    BOOST_TEST(described("RecipeRun").find_field("feedstock_id")->references == "feedstock");
}

BOOST_AUTO_TEST_CASE(defaults_are_the_row_structs_member_initializers) {
    const auto& run = described("RecipeRun");
    BOOST_TEST(run.find_field("status")->default_value == json("queued"));
    BOOST_TEST(run.find_field("is_test")->default_value == json(false));
    BOOST_TEST(described("Feedstock").find_field("provider")->default_value == json("github"));
    std::vector<std::string> required;
    for (const auto& field : run.fields) {
        if (!field.create_may_omit) required.push_back(field.name);
    }
    BOOST_TEST(required == (std::vector<std::string>{"recipe_id", "bakery_id", "feedstock_id", "head_sha", "version",
                                                     "started_at"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_dataset_picks_its_fields_from_the_recipe_run) {
    const auto& run = described("RecipeRun");
    const auto& dataset = described("Dataset");
    BOOST_TEST(!dataset.stored());
    BOOST_TEST(dataset.fields.size() == 5u);
    for (const auto& field : dataset.fields) {
        const auto* source = run.find_field(field.name);
        BOOST_REQUIRE_MESSAGE(source != nullptr, field.name);
        BOOST_TEST((source->kind == field.kind), field.name);
    }
    // Only runs with a dataset are listed, so its url is never null.
    BOOST_TEST(run.find_field("dataset_public_url")->nullable);
    BOOST_TEST(!dataset.find_field("dataset_public_url")->nullable);
}

BOOST_AUTO_TEST_CASE(picking_a_member_the_table_lacks_is_a_logic_error) {
    BOOST_CHECK_THROW((pick<Gadget>(&GadgetBase::unlisted, &GadgetView::label)), std::logic_error);
    BOOST_TEST(std::string(pick<Gadget>(&GadgetBase::label, &GadgetView::label).name) == "label");
}

BOOST_AUTO_TEST_CASE(a_dataset_round_trips_through_json) {
    Dataset dataset{"noaa", 3, DatasetType::zarr, "https://example.org/noaa.zarr", true};
    json encoded = dataset;
    BOOST_TEST(encoded == (json{{"recipe_id", "noaa"},
                                {"feedstock_id", 3},
                                {"dataset_type", "zarr"},
                                {"dataset_public_url", "https://example.org/noaa.zarr"},
                                {"is_test", true}}));
    BOOST_TEST((decode<Dataset>(encoded) == dataset));
    encoded["dataset_public_url"] = nullptr;
    BOOST_CHECK_THROW(decode<Dataset>(encoded), ValidationError);
}

BOOST_AUTO_TEST_CASE(the_version_pattern_is_checked_from_the_table) {
    const auto* version = described("RecipeRun").find_field("version");
    BOOST_REQUIRE(version->pattern != nullptr);
    BOOST_TEST(std::string(version->pattern->regex) == major_minor.regex);
    try {
        decode<RecipeRunUpdate>(json{{"version", "1.0.0"}});
        BOOST_FAIL("1.0.0 accepted");
    } catch (const ValidationError& error) {
        BOOST_REQUIRE_EQUAL(error.errors().size(), 1u);
        BOOST_TEST(error.errors()[0].ctx["pattern"] == major_minor.regex);
        BOOST_TEST(error.errors()[0].msg.find(major_minor.hint) != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(the_version_check_agrees_with_the_published_regex) {
    const std::regex published(major_minor.regex);
    for (const char* value : {"1.0", "12.345", "0.0", "1", "1.", ".1", "1.0.0", "a.1", "1.a", "", " 1.0", "1.0 ",
                              "１.０", "1,0", "+1.0", "-1.0", "1..0"}) {
        BOOST_TEST(major_minor.accepts(value) == std::regex_match(value, published), value);
    }
}

BOOST_AUTO_TEST_CASE(a_version_of_a_million_digits_is_refused_not_a_crash) {
    // A recursive regex matcher overflows the stack on this; the check runs in linear time.
    std::string version(1'000'000, '1');
    BOOST_CHECK_THROW(decode<RecipeRunUpdate>(json{{"version", version}}), ValidationError);
    BOOST_TEST(decode<RecipeRunUpdate>(json{{"version", version + ".0"}}).version.value().size() == 1'000'002u);
}
