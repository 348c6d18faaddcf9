#pragma once
// UTC instants as ISO 8601 text, "2024-01-02T03:04:05.123456Z" (no fraction when it is
// zero): the one spelling of timestamps in the API, revision files and the migration record.

#include <chrono>
#include <string>

#include <date/date.h>

namespace pangeo_forge::detail {

using UtcMicroseconds = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

inline std::string iso_utc_text(UtcMicroseconds value) {
    auto seconds = date::floor<std::chrono::seconds>(value);
    auto micros = (value - seconds).count();
    std::string out = date::format("%Y-%m-%dT%H:%M:%S", seconds);
    if (micros != 0) {
        std::string digits = std::to_string(micros);
        out += "." + std::string(6 - digits.size(), '0') + digits;
    }
    return out + "Z";
}

inline std::string iso_utc_now() {
    return iso_utc_text(std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

}  // namespace pangeo_forge::detail
