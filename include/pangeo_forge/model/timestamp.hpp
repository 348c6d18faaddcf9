#pragma once
// Timestamps of the data model: UTC, microsecond resolution, ISO 8601 in JSON.
//
// Thread safety: pure functions.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pangeo_forge::model {

using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

// "2021-01-01T00:00:00Z", with ".ffffff" only when the microseconds are not zero.
std::string format_timestamp(Timestamp value);

// Accepts "YYYY-MM-DDTHH:MM:SS" (or a space for the T) with optional fractional seconds
// (up to 9 digits, kept to the microsecond) and an optional zone: "Z", "+HH:MM", "+HHMM".
// A timestamp without a zone is taken as UTC. std::nullopt for anything else,
// including dates that do not exist (2021-02-30) and times outside the years 1 to 9999 UTC.
std::optional<Timestamp> parse_timestamp(std::string_view text);

}  // namespace pangeo_forge::model
