#pragma once
// Small text helpers shared by the layers' messages.

#include <algorithm>
#include <cctype>
#include <optional>
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

// `text` without the spaces and tabs around it.
inline std::string trimmed(std::string_view text) {
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!text.empty() && blank(text.front())) text.remove_prefix(1);
    while (!text.empty() && blank(text.back())) text.remove_suffix(1);
    return std::string(text);
}

inline std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

inline std::string uppercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

// The value of a hexadecimal digit, or -1.
inline int hex_digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The bytes in lower-case hexadecimal, two digits a byte.
inline std::string hex_text(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * bytes.size());
    for (unsigned char byte : bytes) {
        out.push_back(digits[byte >> 4]);
        out.push_back(digits[byte & 0x0f]);
    }
    return out;
}

// `text` with every byte but the unreserved ones (RFC 3986: letters, digits, -_.~) and
// those in `keep` written %XX: a query value, or a path whose slashes stay (keep "/").
inline std::string percent_encoded(std::string_view text, std::string_view keep = {}) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || keep.find(static_cast<char>(c)) != std::string_view::npos) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

enum class MalformedEscape { refuse, keep };

// Decodes %XX escapes, and '+' as a space when `plus_is_space` (query strings). A '%' not
// followed by two hex digits makes it return nothing, or is kept as it is.
inline std::optional<std::string> percent_decoded(std::string_view text, bool plus_is_space,
                                                  MalformedEscape malformed = MalformedEscape::refuse) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%') {
            bool complete = i + 2 < text.size();
            int high = complete ? hex_digit_value(text[i + 1]) : -1;
            int low = complete ? hex_digit_value(text[i + 2]) : -1;
            if (high >= 0 && low >= 0) {
                out.push_back(static_cast<char>(high * 16 + low));
                i += 2;
                continue;
            }
            if (malformed == MalformedEscape::refuse) return std::nullopt;
        }
        out.push_back(c == '+' && plus_is_space ? ' ' : c);
    }
    return out;
}

}  // namespace pangeo_forge::detail
