// Model decoding: the input, parsed as JSON, is decoded into every form of every model and
// every body of the worker's routes (orchestrator/dispatch.hpp).
// A form either decodes or throws ValidationError (model/decode.hpp); one that decodes
// must survive its own JSON: decode(to_json(form)) == form. A string is also read as a
// timestamp, which must survive format_timestamp.

#include <cstddef>
#include <cstdint>
#include <string>

#include "expect.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/model/bakery.hpp"
#include "pangeo_forge/model/feedstock.hpp"
#include "pangeo_forge/model/recipe_run.hpp"
#include "pangeo_forge/model/relations.hpp"
#include "pangeo_forge/model/timestamp.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"

namespace {

using namespace pangeo_forge;
using nlohmann::json;

template <class Form>
void decode_and_round_trip(const json& body) {
    Form form;
    if (!fuzz::succeeds<ValidationError>([&] { form = model::decode<Form>(body); })) return;
    json written = form;
    Form again;
    fuzz::require(fuzz::succeeds<ValidationError>([&] { again = model::decode<Form>(written); }),
                  "a decoded form's own JSON decodes");
    fuzz::require(again == form, "decode(to_json(form)) == form");
}

// The same for a body of the worker's routes, decoded by its own function.
template <class Body>
void decode_and_round_trip(const json& body, Body (*decode)(const json&)) {
    Body value;
    if (!fuzz::succeeds<ValidationError>([&] { value = decode(body); })) return;
    json written = value;
    Body again;
    fuzz::require(fuzz::succeeds<ValidationError>([&] { again = decode(written); }), "a decoded body's own JSON decodes");
    fuzz::require(again == value, "decode(to_json(body)) == body");
}

template <class... Forms>
void decode_as(const json& body) {
    (decode_and_round_trip<Forms>(body), ...);
}

void timestamp_round_trip(const std::string& text) {
    auto parsed = model::parse_timestamp(text);
    if (!parsed) return;
    fuzz::require(model::parse_timestamp(model::format_timestamp(*parsed)) == parsed,
                  "parse_timestamp(format_timestamp(t)) == t");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // json::parse is nlohmann's, not the library's: input it refuses has nothing to decode.
    json body = json::parse(data, data + size, nullptr, false);
    if (body.is_discarded()) return 0;
    using namespace model;
    decode_as<BakeryCreate, Bakery, BakeryUpdate, FeedstockCreate, Feedstock, FeedstockUpdate, RecipeRunCreate,
              RecipeRun, RecipeRunUpdate, Dataset, BakeryWithRecipeRuns, FeedstockWithRecipeRuns,
              RecipeRunWithRelations>(body);
    using namespace orchestrator;
    decode_and_round_trip(body, decode_claim_request);
    decode_and_round_trip(body, decode_claim);
    decode_and_round_trip(body, decode_heartbeat_request);
    decode_and_round_trip(body, decode_heartbeat);
    decode_and_round_trip(body, decode_report);
    if (body.is_string()) timestamp_round_trip(body.get<std::string>());
    return 0;
}
