#pragma once
// PEM (RFC 7468): the DER bytes between "-----BEGIN <label>-----" and "-----END <label>-----".
// Text before and after the block (an explanation, as RFC 7468 allows) is ignored.

#include <optional>
#include <string>
#include <string_view>

#include "support/base64.hpp"

namespace pangeo_forge::github::detail {

// The label of the first PEM block in `text` ("RSA PRIVATE KEY", "PRIVATE KEY", ...), or
// nothing when there is none.
inline std::optional<std::string> pem_label(std::string_view text) {
    constexpr std::string_view begin = "-----BEGIN ";
    auto start = text.find(begin);
    if (start == std::string_view::npos) return std::nullopt;
    start += begin.size();
    auto end = text.find("-----", start);
    if (end == std::string_view::npos) return std::nullopt;
    return std::string(text.substr(start, end - start));
}

// The DER bytes of the block labelled `label`; nothing when there is no such block or its
// body is not base64.
inline std::optional<std::string> pem_der(std::string_view text, const std::string& label) {
    const std::string begin = "-----BEGIN " + label + "-----";
    const std::string end = "-----END " + label + "-----";
    auto start = text.find(begin);
    if (start == std::string_view::npos) return std::nullopt;
    start += begin.size();
    auto stop = text.find(end, start);
    if (stop == std::string_view::npos) return std::nullopt;
    auto der = pangeo_forge::detail::base64_decoded(text.substr(start, stop - start));
    if (!der || der->empty()) return std::nullopt;
    return der;
}

}  // namespace pangeo_forge::github::detail
