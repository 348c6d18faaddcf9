#define BOOST_TEST_MODULE dispatch_json
#include <boost/test/unit_test.hpp>

#include <functional>

#include "pangeo_forge/error.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"

using namespace pangeo_forge;
using namespace pangeo_forge::orchestrator;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const model::Timestamp noon{std::chrono::seconds(1609502400) + std::chrono::microseconds(250)};  // 2021-01-01T12:00:00.000250Z

model::RecipeRunWithRelations sample_run() {
    model::RecipeRunWithRelations out;
    out.bakery.id = 2;
    out.bakery.region = "us-central1";
    out.bakery.name = "ldeo";
    out.bakery.description = "d";
    out.feedstock.id = 3;
    out.feedstock.spec = "pangeo-forge/noaa-oisst-avhrr-only-feedstock";
    auto& run = out.recipe_run;
    run.id = 11;
    run.recipe_id = "noaa-oisst";
    run.bakery_id = 2;
    run.feedstock_id = 3;
    run.head_sha = "035ee3e8";
    run.version = "1.0";
    run.started_at = noon - 1h;
    run.status = model::RecipeRunStatus::in_progress;
    return out;
}

template <class Value, class Decode>
void check_round_trip(const Value& value, Decode decode) {
    json encoded = value;
    BOOST_TEST((decode(encoded) == value), encoded.dump());
    BOOST_TEST((decode(json::parse(encoded.dump())) == value));
}

// The location of every problem decode() finds in `body`, as "body.field" strings.
template <class Decode>
std::vector<std::string> problems(Decode decode, const json& body) {
    try {
        decode(body);
    } catch (const ValidationError& error) {
        std::vector<std::string> locs;
        for (const auto& problem : error.errors()) {
            std::string joined;
            for (const auto& part : problem.loc) joined += (joined.empty() ? "" : ".") + part;
            locs.push_back(joined);
        }
        return locs;
    }
    return {};
}

std::string first_message(const std::function<void()>& decode) {
    try {
        decode();
    } catch (const ValidationError& error) {
        return error.errors().front().msg;
    }
    return "";
}

using Locs = std::vector<std::string>;

}  // namespace

BOOST_AUTO_TEST_CASE(every_value_round_trips) {
    check_round_trip(ClaimRequest{"ldeo", "host:42", 90s}, decode_claim_request);
    check_round_trip(Claim{sample_run(), 2, noon}, decode_claim);
    check_round_trip(HeartbeatRequest{3, 20s}, decode_heartbeat_request);
    check_round_trip(Heartbeat{true, noon}, decode_heartbeat);

    Report success;
    success.attempt = 1;
    success.dataset_public_url = "https://x/a.zarr";
    success.dataset_type = model::DatasetType::zarr;
    check_round_trip(success, decode_report);
    Report failure;
    failure.attempt = 2;
    failure.outcome = Outcome::failure;
    failure.trace = "Traceback...\nValueError";
    check_round_trip(failure, decode_report);
    Report submitted;
    submitted.attempt = 1;
    submitted.outcome = Outcome::submitted;
    submitted.job_name = "a6c64";
    submitted.job_id = "2021-01-01_00_00_00-123";
    submitted.job_deadline = 3600s;
    check_round_trip(submitted, decode_report);
    Report released;
    released.attempt = 4;
    released.outcome = Outcome::released;
    check_round_trip(released, decode_report);
    Report job_end;  // a submitted job's callback may not know the attempt
    job_end.outcome = Outcome::failure;
    check_round_trip(job_end, decode_report);
}

BOOST_AUTO_TEST_CASE(the_json_shapes_are_those_the_routes_take) {
    BOOST_TEST(json(ClaimRequest{"ldeo", "w", 60s}) == (json{{"bakery", "ldeo"}, {"worker", "w"}, {"lease_seconds", 60}}));
    BOOST_TEST(json(HeartbeatRequest{2, 30s}) == (json{{"attempt", 2}, {"lease_seconds", 30}}));
    BOOST_TEST(json(Heartbeat{false, noon}) ==
               (json{{"cancelled", false}, {"lease_expires_at", "2021-01-01T12:00:00.000250Z"}}));
    json claim = Claim{sample_run(), 1, noon};
    BOOST_TEST(claim["recipe_run"]["bakery"]["name"] == "ldeo");
    BOOST_TEST(claim["attempt"] == 1);
    Report submitted;
    submitted.outcome = Outcome::submitted;
    submitted.job_id = "j";
    BOOST_TEST(json(submitted) == (json{{"outcome", "submitted"}, {"job_id", "j"}, {"job_deadline_seconds", 172800}}));
}

BOOST_AUTO_TEST_CASE(defaults_fill_what_is_left_out) {
    auto claim = decode_claim_request({{"bakery", "b"}, {"worker", "w"}});
    BOOST_TEST(claim.lease.count() == default_lease.count());
    auto heartbeat = decode_heartbeat_request({{"attempt", 1}});
    BOOST_TEST(heartbeat.lease.count() == default_lease.count());
    auto report = decode_report({{"outcome", "submitted"}, {"job_name", "j"}, {"attempt", nullptr}});
    BOOST_TEST(!report.attempt);
    BOOST_TEST(report.job_deadline.count() == default_job_deadline.count());
}

BOOST_AUTO_TEST_CASE(claim_request_errors_name_their_fields) {
    BOOST_TEST(problems(decode_claim_request, json::object()) == (Locs{"body.bakery", "body.worker"}));
    BOOST_TEST(problems(decode_claim_request, {{"bakery", ""}, {"worker", 3}}) == (Locs{"body.bakery", "body.worker"}));
    BOOST_TEST(problems(decode_claim_request, {{"bakery", "b"}, {"worker", "w"}, {"lease_seconds", 0}}) ==
               (Locs{"body.lease_seconds"}));
    BOOST_TEST(problems(decode_claim_request, {{"bakery", "b"}, {"worker", "w"}, {"lease_seconds", 86401}}) ==
               (Locs{"body.lease_seconds"}));
    BOOST_TEST(problems(decode_claim_request, {{"bakery", "b"}, {"worker", "w"}, {"lease_seconds", nullptr}}) ==
               (Locs{"body.lease_seconds"}));
    BOOST_TEST(problems(decode_claim_request, {{"bakery", "b"}, {"worker", "w"}, {"colour", "red"}}) ==
               (Locs{"body.colour"}));
    BOOST_TEST(problems(decode_claim_request, json::array()) == (Locs{"body"}));
    BOOST_TEST(first_message([] { decode_claim_request({{"bakery", "b"}, {"worker", "w"}, {"lease_seconds", 0}}); }) ==
               "ensure this value is greater than or equal to 1");
}

BOOST_AUTO_TEST_CASE(heartbeat_errors_name_their_fields) {
    BOOST_TEST(problems(decode_heartbeat_request, json::object()) == (Locs{"body.attempt"}));
    BOOST_TEST(problems(decode_heartbeat_request, {{"attempt", 0}}) == (Locs{"body.attempt"}));
    BOOST_TEST(problems(decode_heartbeat_request, {{"attempt", "1"}, {"lease_seconds", -5}}) ==
               (Locs{"body.attempt", "body.lease_seconds"}));
    BOOST_TEST(problems(decode_heartbeat, {{"cancelled", "no"}, {"lease_expires_at", "soon"}}) ==
               (Locs{"body.cancelled", "body.lease_expires_at"}));
}

BOOST_AUTO_TEST_CASE(claim_errors_reach_into_the_run) {
    json claim = Claim{sample_run(), 1, noon};
    claim["recipe_run"]["status"] = "done";
    claim["recipe_run"]["bakery"].erase("name");
    claim["attempt"] = -1;
    BOOST_TEST(problems(decode_claim, claim) ==
               (Locs{"body.recipe_run.status", "body.recipe_run.bakery.name", "body.attempt"}));
    BOOST_TEST(problems(decode_claim, {{"attempt", 1}, {"lease_expires_at", "2021-01-01T00:00:00Z"}}) ==
               (Locs{"body.recipe_run"}));
}

BOOST_AUTO_TEST_CASE(report_errors_name_their_fields_and_say_what_to_do) {
    BOOST_TEST(problems(decode_report, json::object()) == (Locs{"body.outcome"}));
    BOOST_TEST(problems(decode_report, {{"outcome", "done"}}) == (Locs{"body.outcome"}));
    BOOST_TEST(first_message([] { decode_report({{"outcome", "done"}}); }).find("'released'") != std::string::npos);
    BOOST_TEST(problems(decode_report, {{"outcome", "success"}, {"attempt", 0}}) == (Locs{"body.attempt"}));
    BOOST_TEST(problems(decode_report, {{"outcome", "success"}, {"dataset_type", "netcdf"}}) ==
               (Locs{"body.dataset_type"}));
    BOOST_TEST(problems(decode_report, {{"outcome", "submitted"}}) == (Locs{"body.job_name"}));
    BOOST_TEST(first_message([] { decode_report({{"outcome", "submitted"}}); }).find("job_id") != std::string::npos);
    BOOST_TEST(problems(decode_report, {{"outcome", "submitted"}, {"job_id", "j"}, {"job_deadline_seconds", 0}}) ==
               (Locs{"body.job_deadline_seconds"}));
    BOOST_TEST(problems(decode_report, {{"outcome", "submitted"}, {"job_id", "j"}, {"job_deadline_seconds", 2592001}}) ==
               (Locs{"body.job_deadline_seconds"}));
    // A field of another outcome is refused, and the message says which outcome it belongs to.
    BOOST_TEST(problems(decode_report, {{"outcome", "success"}, {"trace", "boom"}}) == (Locs{"body.trace"}));
    BOOST_TEST(first_message([] { decode_report({{"outcome", "success"}, {"trace", "boom"}}); }) ==
               "trace belongs to a 'failure' report: leave it out of a 'success' one");
    BOOST_TEST(problems(decode_report, {{"outcome", "failure"}, {"dataset_public_url", "u"}, {"job_id", "j"}}) ==
               (Locs{"body.dataset_public_url", "body.job_id"}));
    BOOST_TEST(problems(decode_report, {{"outcome", "released"}, {"job_deadline_seconds", 60}}) ==
               (Locs{"body.job_deadline_seconds"}));
    BOOST_TEST(problems(decode_report, {{"outcome", "failure"}, {"trace", nullptr}, {"dataset_type", nullptr}}).empty());
    BOOST_TEST(problems(decode_report, {{"outcome", "success"}, {"extra", 1}}) == (Locs{"body.extra"}));
}

BOOST_AUTO_TEST_CASE(outcomes_are_spelled_as_the_routes_spell_them) {
    for (auto outcome : {Outcome::success, Outcome::failure, Outcome::submitted, Outcome::released}) {
        BOOST_TEST((parse_outcome(to_string(outcome)) == outcome));
    }
    BOOST_TEST(to_string(Outcome::submitted) == "submitted");
    BOOST_TEST(!parse_outcome("Success"));
}
