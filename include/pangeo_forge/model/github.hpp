#pragma once
// The GitHub App's own records (github/app.hpp), each in a table of its own so that the
// API's JSON stays the Python service's:
// - GithubDelivery: every webhook delivery that passed its signature check, by GitHub's
//   delivery id (X-GitHub-Delivery), so that a redelivery creates nothing twice, with its
//   payload kept until it is handled (a server that stops meanwhile handles it on restart)
//   and its outcome for the operator;
// - GithubReport: a recipe run the app created, and where its result goes on GitHub (a
//   comment on the pull request for a test run, a deployment status for a production run);
//   reported_at stays null until GitHub took it, so no result is lost to a GitHub outage.
//
// Thread safety: plain values.

#include <cstdint>
#include <optional>
#include <string>

#include "pangeo_forge/model/fields.hpp"
#include "pangeo_forge/model/timestamp.hpp"

namespace pangeo_forge::model {

struct GithubDeliveryBase {
    std::string delivery_id;           // X-GitHub-Delivery (a GUID), unique
    std::string event;                 // X-GitHub-Event
    std::string action;                // the payload's "action", or ""
    Timestamp received_at;
    std::string outcome;               // "pending", "handling", then "done", "skipped" or "failed"
    std::optional<std::string> detail; // what was done, or why not
    std::optional<std::string> payload;  // the raw body while pending; null once handled
    std::int64_t attempts = 0;         // handlings begun (a crash mid-way shows as a second one)
};

struct GithubDelivery : GithubDeliveryBase {
    std::int64_t id = 0;
};

template <>
struct FieldTable<GithubDelivery> {
    using Base = GithubDeliveryBase;
    using Create = GithubDeliveryBase;
    using Row = GithubDelivery;
    using Update = NoUpdate;
    static constexpr const char* name = "GithubDelivery";
    static constexpr const char* table = "github_delivery";
    static const auto& fields() {
        static const auto list = std::make_tuple(
            field("delivery_id", &Base::delivery_id).unique_values(), field("event", &Base::event),
            field("action", &Base::action), field("received_at", &Base::received_at),
            field("outcome", &Base::outcome), field("detail", &Base::detail), field("payload", &Base::payload),
            field("attempts", &Base::attempts));
        return list;
    }
};

struct GithubReportBase {
    std::int64_t recipe_run_id = 0;            // unique: one report per run
    std::string repository;                    // "owner/name" of the feedstock repository
    std::optional<std::int64_t> pull_request;  // a test run's pull request number
    std::optional<std::int64_t> deployment_id; // a production run's deployment
    std::optional<Timestamp> reported_at;      // null until GitHub has the result
    std::int64_t attempts = 0;                 // reports tried
    std::optional<std::string> last_error;     // why the last try failed
};

struct GithubReport : GithubReportBase {
    std::int64_t id = 0;
};

template <>
struct FieldTable<GithubReport> {
    using Base = GithubReportBase;
    using Create = GithubReportBase;
    using Row = GithubReport;
    using Update = NoUpdate;
    static constexpr const char* name = "GithubReport";
    static constexpr const char* table = "github_report";
    static const auto& fields() {
        static const auto list = std::make_tuple(
            field("recipe_run_id", &Base::recipe_run_id).referring_to("reciperun").unique_values(),
            field("repository", &Base::repository), field("pull_request", &Base::pull_request),
            field("deployment_id", &Base::deployment_id).wide_values(), field("reported_at", &Base::reported_at),
            field("attempts", &Base::attempts), field("last_error", &Base::last_error));
        return list;
    }
};

}  // namespace pangeo_forge::model
