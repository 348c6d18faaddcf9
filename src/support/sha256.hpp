#pragma once
// SHA-256 with Nettle: revision file checksums and API key digests.

#include <nettle/sha2.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace pangeo_forge::detail {

// The 32 raw bytes of the digest.
inline std::string sha256_digest(std::string_view bytes) {
    sha256_ctx context;
    sha256_init(&context);
    sha256_update(&context, bytes.size(), reinterpret_cast<const uint8_t*>(bytes.data()));
    std::string digest(SHA256_DIGEST_SIZE, '\0');
    sha256_digest(&context, SHA256_DIGEST_SIZE, reinterpret_cast<uint8_t*>(digest.data()));
    return digest;
}

}  // namespace pangeo_forge::detail
