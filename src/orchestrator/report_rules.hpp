#pragma once
// The rules on a worker's Report that both its JSON decoder (dispatch_json.cpp, which
// collects every problem of a body) and Orchestrator::complete (dispatch.cpp, for reports
// made in-process) apply: written once here.

#include "pangeo_forge/orchestrator/dispatch.hpp"

namespace pangeo_forge::orchestrator::report_rules {

// A 'submitted' report names the cloud job it started; the problem is reported on job_name.
inline bool lacks_its_job(const Report& report) {
    return report.outcome == Outcome::submitted && !report.job_name && !report.job_id;
}
inline constexpr const char* missing_job = "a 'submitted' report names the cloud job it started: send job_name, job_id or both";

}  // namespace pangeo_forge::orchestrator::report_rules
