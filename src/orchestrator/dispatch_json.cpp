// The dispatch queue's values as JSON (orchestrator/dispatch.hpp): what the claim,
// heartbeat and complete routes take and answer, read strictly (unknown fields refused,
// every problem reported at once under "body"), as the model's forms are.

#include <array>
#include <optional>
#include <string>

#include "model/field_codecs.hpp"
#include "pangeo_forge/orchestrator/dispatch.hpp"
#include "orchestrator/report_rules.hpp"
#include "support/json_reader.hpp"

namespace pangeo_forge::orchestrator {
namespace {

using detail::ErrorList;
using detail::Loc;
using detail::ObjectReader;
using detail::Problem;
using nlohmann::json;


// Outcome's spellings, in declaration order: the one table to_string and parse read.
constexpr std::array<std::pair<Outcome, std::string_view>, 4> outcome_names{{
    {Outcome::success, "success"},
    {Outcome::failure, "failure"},
    {Outcome::submitted, "submitted"},
    {Outcome::released, "released"},
}};

void add(ObjectReader& in, std::string_view field, Problem problem) {
    in.errors().add(detail::child_loc(in.loc(), field), std::move(problem));
}

// An integer field within [low, high], in pydantic's words when it is not.
std::optional<std::int64_t> within(ObjectReader& in, std::string_view field, std::optional<std::int64_t> value,
                                   std::int64_t low, std::int64_t high) {
    if (!value) return value;
    if (*value < low) {
        add(in, field, {"ensure this value is greater than or equal to " + std::to_string(low),
                        "value_error.number.not_ge", {{"limit_value", low}}});
        return std::nullopt;
    }
    if (*value > high) {
        add(in, field, {"ensure this value is less than or equal to " + std::to_string(high),
                        "value_error.number.not_le", {{"limit_value", high}}});
        return std::nullopt;
    }
    return value;
}

// A text field that may not be empty.
std::string not_empty(ObjectReader& in, std::string_view field) {
    auto value = in.required<std::string>(field);
    if (value && value->empty()) {
        add(in, field, {"ensure this value has at least 1 characters", "value_error.any_str.min_length",
                        {{"limit_value", 1}}});
    }
    return value.value_or("");
}

// The lease or deadline of a request, in whole seconds: `<name>_seconds`, default `fallback`.
std::chrono::seconds seconds_field(ObjectReader& in, std::string_view field, std::chrono::seconds fallback,
                                   std::chrono::seconds most) {
    auto value = in.with_default<std::int64_t>(field, fallback.count());
    return std::chrono::seconds(within(in, field, value, 1, most.count()).value_or(fallback.count()));
}

std::int64_t attempt_field(ObjectReader& in) {
    return within(in, "attempt", in.required<std::int64_t>("attempt"), 1, INT64_MAX).value_or(1);
}

model::Timestamp timestamp_field(ObjectReader& in, std::string_view field) {
    return in.required<model::Timestamp>(field).value_or(model::Timestamp{});
}

// Reads a whole body with `read`, then refuses what it did not read; throws every problem.
template <class Read>
auto read_body(const json& body, Read read) {
    ErrorList errors;
    ObjectReader in(body, Loc{"body"}, errors);
    auto value = read(in);
    in.reject_unknown_fields();
    errors.throw_if_any();
    return value;
}

// A model value nested at `field`, decoded by the model's decode<Form>, its errors moved
// under the field (the model reports them under "body").
template <class Form>
std::optional<Form> nested(ObjectReader& in, std::string_view field) {
    const json* value = in.find(field);
    if (value == nullptr) {
        if (in.is_object()) add(in, field, {"field required", "value_error.missing", {}});
        return std::nullopt;
    }
    try {
        return model::decode<Form>(*value);
    } catch (const ValidationError& error) {
        for (FieldError problem : error.errors()) {
            Loc loc = detail::child_loc(in.loc(), field);
            loc.insert(loc.end(), problem.loc.begin() + 1, problem.loc.end());
            problem.loc = std::move(loc);
            in.errors().add(std::move(problem));
        }
        return std::nullopt;
    }
}

std::optional<Outcome> outcome_field(ObjectReader& in) {
    const json* value = in.find("outcome");
    if (value == nullptr || value->is_null()) {
        if (in.is_object()) {
            add(in, "outcome", value == nullptr ? Problem{"field required", "value_error.missing", {}}
                                                : Problem{"none is not an allowed value", "type_error.none.not_allowed", {}});
        }
        return std::nullopt;
    }
    if (value->is_string()) {
        if (auto outcome = parse_outcome(value->get<std::string>())) return outcome;
    }
    json names = json::array();
    std::string permitted;
    for (const auto& [outcome, name] : outcome_names) {
        permitted += (names.empty() ? "'" : ", '") + std::string(name) + "'";
        names.push_back(name);
    }
    add(in, "outcome", {"value is not a valid enumeration member; permitted: " + permitted, "type_error.enum",
                        {{"enum_values", names}}});
    return std::nullopt;
}

// Which outcome each of a report's optional fields belongs to.
struct OutcomeField {
    const char* name;
    Outcome outcome;
    std::optional<Outcome> also = std::nullopt;
    bool belongs_to(Outcome said) const { return said == outcome || (also && said == *also); }
};
const std::array<OutcomeField, 6> outcome_fields{{
    {"dataset_public_url", Outcome::success, Outcome::submitted},  // submitted: where the job will write it
    {"dataset_type", Outcome::success},
    {"trace", Outcome::failure},
    {"job_name", Outcome::submitted},
    {"job_id", Outcome::submitted},
    {"job_deadline_seconds", Outcome::submitted},
}};

}  // namespace

std::string_view to_string(Outcome outcome) {
    for (const auto& [value, name] : outcome_names) {
        if (value == outcome) return name;
    }
    return "unknown";
}

std::optional<Outcome> parse_outcome(std::string_view text) {
    for (const auto& [value, name] : outcome_names) {
        if (name == text) return value;
    }
    return std::nullopt;
}

bool ClaimRequest::operator==(const ClaimRequest& other) const {
    return bakery == other.bakery && worker == other.worker && lease == other.lease && token == other.token;
}

bool Claim::operator==(const Claim& other) const {
    return run == other.run && attempt == other.attempt && lease_expires_at == other.lease_expires_at;
}

bool HeartbeatRequest::operator==(const HeartbeatRequest& other) const {
    return attempt == other.attempt && lease == other.lease;
}

bool Heartbeat::operator==(const Heartbeat& other) const {
    return cancelled == other.cancelled && lease_expires_at == other.lease_expires_at;
}

bool Report::operator==(const Report& other) const {
    return attempt == other.attempt && outcome == other.outcome && dataset_public_url == other.dataset_public_url &&
           dataset_type == other.dataset_type && trace == other.trace && job_name == other.job_name &&
           job_id == other.job_id && job_deadline == other.job_deadline;
}

void to_json(json& out, const ClaimRequest& request) {
    out = {{"bakery", request.bakery}, {"worker", request.worker}, {"lease_seconds", request.lease.count()}};
    if (!request.token.empty()) out["token"] = request.token;
}

void to_json(json& out, const Claim& claim) {
    out = {{"recipe_run", claim.run},
           {"attempt", claim.attempt},
           {"lease_expires_at", model::format_timestamp(claim.lease_expires_at)}};
}

void to_json(json& out, const HeartbeatRequest& request) {
    out = {{"attempt", request.attempt}, {"lease_seconds", request.lease.count()}};
}

void to_json(json& out, const Heartbeat& heartbeat) {
    out = {{"cancelled", heartbeat.cancelled}, {"lease_expires_at", model::format_timestamp(heartbeat.lease_expires_at)}};
}

// Only the fields the outcome takes, so that what it writes decodes again.
void to_json(json& out, const Report& report) {
    out = {{"outcome", to_string(report.outcome)}};
    if (report.attempt) out["attempt"] = *report.attempt;
    if (report.dataset_public_url) out["dataset_public_url"] = *report.dataset_public_url;
    if (report.dataset_type) out["dataset_type"] = model::to_string(*report.dataset_type);
    if (report.trace) out["trace"] = *report.trace;
    if (report.job_name) out["job_name"] = *report.job_name;
    if (report.job_id) out["job_id"] = *report.job_id;
    if (report.outcome == Outcome::submitted) out["job_deadline_seconds"] = report.job_deadline.count();
}

ClaimRequest decode_claim_request(const json& body) {
    return read_body(body, [](ObjectReader& in) {
        ClaimRequest request;
        request.bakery = not_empty(in, "bakery");
        request.worker = not_empty(in, "worker");
        request.lease = seconds_field(in, "lease_seconds", default_lease, max_lease);
        request.token = in.with_default<std::string>("token", "");
        return request;
    });
}

Claim decode_claim(const json& body) {
    return read_body(body, [](ObjectReader& in) {
        Claim claim;
        if (auto run = nested<model::RecipeRunWithRelations>(in, "recipe_run")) claim.run = std::move(*run);
        claim.attempt = attempt_field(in);
        claim.lease_expires_at = timestamp_field(in, "lease_expires_at");
        return claim;
    });
}

HeartbeatRequest decode_heartbeat_request(const json& body) {
    return read_body(body, [](ObjectReader& in) {
        HeartbeatRequest request;
        request.attempt = attempt_field(in);
        request.lease = seconds_field(in, "lease_seconds", default_lease, max_lease);
        return request;
    });
}

Heartbeat decode_heartbeat(const json& body) {
    return read_body(body, [](ObjectReader& in) {
        Heartbeat heartbeat;
        heartbeat.cancelled = in.required<bool>("cancelled").value_or(false);
        heartbeat.lease_expires_at = timestamp_field(in, "lease_expires_at");
        return heartbeat;
    });
}

Report decode_report(const json& body) {
    return read_body(body, [](ObjectReader& in) {
        Report report;
        report.attempt = within(in, "attempt", in.nullable<std::int64_t>("attempt"), 1, INT64_MAX);
        auto outcome = outcome_field(in);
        report.outcome = outcome.value_or(Outcome::success);
        report.dataset_public_url = in.nullable<std::string>("dataset_public_url");
        report.dataset_type = in.nullable<model::DatasetType>("dataset_type");
        report.trace = in.nullable<std::string>("trace");
        report.job_name = in.nullable<std::string>("job_name");
        report.job_id = in.nullable<std::string>("job_id");
        report.job_deadline = seconds_field(in, "job_deadline_seconds", default_job_deadline, max_job_deadline);
        if (!outcome) return report;  // the fields' fit is judged against a valid outcome only
        const std::string said(to_string(*outcome));
        for (const auto& field : outcome_fields) {
            const json* value = in.find(field.name);
            if (field.belongs_to(*outcome) || value == nullptr || value->is_null()) continue;
            add(in, field.name, {std::string(field.name) + " belongs to a '" + std::string(to_string(field.outcome)) +
                                     "' report: leave it out of a '" + said + "' one",
                                 "value_error.extra", {}});
        }
        if (report_rules::lacks_its_job(report)) add(in, "job_name", {report_rules::missing_job, "value_error.missing", {}});
        return report;
    });
}

}  // namespace pangeo_forge::orchestrator
