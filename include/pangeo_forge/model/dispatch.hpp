#pragma once
// The dispatch state of a recipe run that a worker has claimed at least once: who holds
// it, which attempt this is, when its lease runs out, and the cloud job it submitted. One
// row per run, in a table of its own, so that the recipe run's JSON stays the Python
// service's. The orchestrator alone reads and writes it (orchestrator/dispatch.hpp).
//
// Thread safety: plain values.

#include <cstdint>
#include <optional>
#include <string>

#include "pangeo_forge/model/fields.hpp"
#include "pangeo_forge/model/timestamp.hpp"

namespace pangeo_forge::model {

struct DispatchBase {
    std::int64_t recipe_run_id = 0;
    std::string worker;                            // the worker that claimed the run last
    std::int64_t attempt = 1;                      // 1 for the first claim, +1 for each claim after
    std::optional<std::string> claim_token;        // the token of the claim that took the run, if it sent one
    std::int64_t lease_expiries = 0;               // times a lease ran out: a release does not count
    std::optional<Timestamp> lease_expires_at;     // null while a submitted job runs, or once re-queued
    std::optional<std::string> job_name;           // the cloud job the run's command submitted
    std::optional<std::string> job_id;
    std::optional<Timestamp> job_deadline;         // a submitted job that has not completed by then timed out
};

struct Dispatch : DispatchBase {
    std::int64_t id = 0;
};

template <>
struct FieldTable<Dispatch> {
    using Base = DispatchBase;
    using Create = DispatchBase;
    using Row = Dispatch;
    using Update = NoUpdate;
    static constexpr const char* name = "Dispatch";
    static constexpr const char* table = "dispatch";
    static const auto& fields() {
        static const auto list = std::make_tuple(
            field("recipe_run_id", &Base::recipe_run_id).referring_to("reciperun").unique_values(),
            field("worker", &Base::worker), field("attempt", &Base::attempt),
            field("claim_token", &Base::claim_token).unique_values(), field("lease_expiries", &Base::lease_expiries),
            field("lease_expires_at", &Base::lease_expires_at), field("job_name", &Base::job_name),
            field("job_id", &Base::job_id), field("job_deadline", &Base::job_deadline));
        return list;
    }
};

}  // namespace pangeo_forge::model
