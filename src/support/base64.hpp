#pragma once
// Base64 with Nettle: the standard alphabet with padding (PEM, GitHub's contents API) and
// the URL-safe one without padding (JSON Web Tokens, RFC 7515).

#include <nettle/base64.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pangeo_forge::detail {

namespace base64_detail {

inline std::string encoded(std::string_view bytes, bool url) {
    base64_encode_ctx context;
    if (url) {
        base64url_encode_init(&context);
    } else {
        base64_encode_init(&context);
    }
    std::string out(BASE64_ENCODE_LENGTH(bytes.size()) + BASE64_ENCODE_FINAL_LENGTH, '\0');
    std::size_t length = base64_encode_update(&context, out.data(), bytes.size(),
                                              reinterpret_cast<const uint8_t*>(bytes.data()));
    length += base64_encode_final(&context, out.data() + length);
    out.resize(length);
    return out;
}

inline std::optional<std::string> decoded(std::string_view text, bool url) {
    base64_decode_ctx context;
    if (url) {
        base64url_decode_init(&context);
    } else {
        base64_decode_init(&context);
    }
    std::string out(BASE64_DECODE_LENGTH(text.size()), '\0');
    std::size_t length = out.size();
    if (!base64_decode_update(&context, &length, reinterpret_cast<uint8_t*>(out.data()), text.size(), text.data()) ||
        !base64_decode_final(&context)) {
        return std::nullopt;
    }
    out.resize(length);
    return out;
}

}  // namespace base64_detail

// With padding; no line breaks.
inline std::string base64_encoded(std::string_view bytes) { return base64_detail::encoded(bytes, false); }

// Padding and white space (the line breaks of PEM and of GitHub's contents API) allowed;
// nothing for text that is not base64.
inline std::optional<std::string> base64_decoded(std::string_view text) { return base64_detail::decoded(text, false); }

// URL-safe alphabet, no padding.
inline std::string base64url_encoded(std::string_view bytes) {
    std::string out = base64_detail::encoded(bytes, true);
    while (!out.empty() && out.back() == '=') out.pop_back();
    return out;
}

// URL-safe alphabet, padding optional; nothing for anything else.
inline std::optional<std::string> base64url_decoded(std::string_view text) {
    std::string padded(text);
    if (padded.find('=') == std::string::npos) padded.append((4 - padded.size() % 4) % 4, '=');
    return base64_detail::decoded(padded, true);
}

}  // namespace pangeo_forge::detail
