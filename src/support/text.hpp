#pragma once
// Small text helpers shared by the layers' messages.

#include <string>
#include <string_view>
#include <vector>

namespace pangeo_forge::detail {

// "a, b, c" (or with another separator).
inline std::string joined(const std::vector<std::string>& parts, std::string_view separator = ", ") {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += separator;
        out += parts[i];
    }
    return out;
}

}  // namespace pangeo_forge::detail
