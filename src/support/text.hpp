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

// The value of a hexadecimal digit, or -1.
inline int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace pangeo_forge::detail
