// HMAC-SHA256 with Nettle, as the core hashes revision files with it (CMakeLists.txt).

#include "pangeo_forge/github/signature.hpp"

#include "support/text.hpp"

#include <nettle/hmac.h>
#include <nettle/memops.h>

#include <cstdint>

namespace pangeo_forge::github {
namespace {

constexpr std::string_view prefix = "sha256=";

std::string hmac_sha256_hex(std::string_view secret, std::string_view body) {
    hmac_sha256_ctx context;
    hmac_sha256_set_key(&context, secret.size(), reinterpret_cast<const uint8_t*>(secret.data()));
    hmac_sha256_update(&context, body.size(), reinterpret_cast<const uint8_t*>(body.data()));
    uint8_t digest[SHA256_DIGEST_SIZE];
    hmac_sha256_digest(&context, SHA256_DIGEST_SIZE, digest);
    return detail::hex_text(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace

std::string signature_header(std::string_view secret, std::string_view body) {
    return std::string(prefix) + hmac_sha256_hex(secret, body);
}

bool signature_valid(std::string_view secret, std::string_view body, std::string_view header) {
    const std::string expected = signature_header(secret, body);
    // The length of a valid header is public (7 + 64): refusing another length early
    // tells nothing of the secret. Equal lengths are compared in constant time, the
    // prefix with the digest, so that where a difference lies takes no longer to find.
    if (header.size() != expected.size()) return false;
    return memeql_sec(expected.data(), header.data(), expected.size()) != 0;
}

}  // namespace pangeo_forge::github
