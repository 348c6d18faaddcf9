// The app's JWT: RS256 (RSASSA-PKCS1-v1_5 with SHA-256) with Nettle's hogweed, over
// base64url(header) "." base64url(claims), without padding (RFC 7515).
//
// The key: PKCS#1 "RSA PRIVATE KEY" (what GitHub hands out) read by rsa_keypair_from_der;
// PKCS#8 "PRIVATE KEY" (what `openssl pkcs8` and many tools write) unwrapped first with
// Nettle's DER iterator. Signing is blinded (the _tr variant) with randomness from the
// kernel, so the signature's timing does not depend on the key.

#include "github/jwt.hpp"

#include <nettle/asn1.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>
#include <nettle/sha2.h>

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include <nlohmann/json.hpp>

#include "github/pem.hpp"
#include "pangeo_forge/error.hpp"
#include "pangeo_forge/github/rest.hpp"
#include "support/base64.hpp"
#include "support/sha256.hpp"

namespace pangeo_forge::github {
namespace detail {
namespace {

const std::string key_advice =
    ": give the app's private key as GitHub downloads it (PEM, \"-----BEGIN RSA PRIVATE KEY-----\"), or in "
    "PKCS#8 (\"-----BEGIN PRIVATE KEY-----\"), unencrypted";

// rsaEncryption, 1.2.840.113549.1.1.1, as DER content bytes.
constexpr std::string_view rsa_encryption_oid = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01";

[[noreturn]] void bad_key(const std::string& what) { throw ConfigError("the GitHub App's private key " + what + key_advice); }

// PKCS#8 PrivateKeyInfo: SEQUENCE { INTEGER version, SEQUENCE { OID, params },
// OCTET STRING privateKey }; the RSAPrivateKey (PKCS#1) inside the octet string.
std::string pkcs1_of_pkcs8(const std::string& der) {
    asn1_der_iterator i;
    auto bytes = reinterpret_cast<const uint8_t*>(der.data());
    if (asn1_der_iterator_first(&i, der.size(), bytes) != ASN1_ITERATOR_CONSTRUCTED || i.type != ASN1_SEQUENCE ||
        asn1_der_decode_constructed_last(&i) != ASN1_ITERATOR_PRIMITIVE || i.type != ASN1_INTEGER) {
        bad_key("is not a PKCS#8 key (no PrivateKeyInfo in its PEM block)");
    }
    if (asn1_der_iterator_next(&i) != ASN1_ITERATOR_CONSTRUCTED || i.type != ASN1_SEQUENCE) {
        bad_key("is not a PKCS#8 key (no algorithm in its PrivateKeyInfo)");
    }
    asn1_der_iterator algorithm;
    if (asn1_der_decode_constructed(&i, &algorithm) != ASN1_ITERATOR_PRIMITIVE || algorithm.type != ASN1_IDENTIFIER ||
        std::string_view(reinterpret_cast<const char*>(algorithm.data), algorithm.length) != rsa_encryption_oid) {
        bad_key("is not an RSA key (its PKCS#8 algorithm is another one: GitHub Apps sign with RSA)");
    }
    if (asn1_der_iterator_next(&i) != ASN1_ITERATOR_PRIMITIVE || i.type != ASN1_OCTETSTRING) {
        bad_key("is not a PKCS#8 key (no key in its PrivateKeyInfo)");
    }
    return std::string(reinterpret_cast<const char*>(i.data), i.length);
}

// The PKCS#1 DER of the key, whichever of the two forms the PEM holds.
std::string pkcs1_der(const std::string& pem) {
    auto label = pem_label(pem);
    if (!label) bad_key("is not in PEM (no \"-----BEGIN ...-----\" line)");
    if (*label == "RSA PRIVATE KEY") {
        auto der = pem_der(pem, *label);
        if (!der) bad_key("has a PEM block that is not base64 (is it encrypted?)");
        return *der;
    }
    if (*label == "PRIVATE KEY") {
        auto der = pem_der(pem, *label);
        if (!der) bad_key("has a PEM block that is not base64");
        return pkcs1_of_pkcs8(*der);
    }
    if (*label == "ENCRYPTED PRIVATE KEY") bad_key("is encrypted");
    bad_key("is a PEM block of another kind (\"" + *label + "\")");
}

// Nettle's random function for blinding: bytes from the kernel. It cannot report a
// failure, so it records one in its context, and the signature is then refused.
struct Randomness {
    bool failed = false;
};

void kernel_random(void* context, size_t length, uint8_t* out) {
    auto& randomness = *static_cast<Randomness*>(context);
    while (length > 0) {
        ssize_t got = ::getrandom(out, length, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            if (std::FILE* urandom = std::fopen("/dev/urandom", "rb")) {
                randomness.failed = std::fread(out, 1, length, urandom) != length;
                std::fclose(urandom);
            } else {
                randomness.failed = true;
            }
            return;
        }
        out += got;
        length -= static_cast<size_t>(got);
    }
}

struct Bignum {
    mpz_t value;
    Bignum() { mpz_init(value); }
    ~Bignum() { mpz_clear(value); }
};

}  // namespace

struct AppSigner::Keys {
    rsa_public_key pub;
    rsa_private_key priv;
    Keys() {
        rsa_public_key_init(&pub);
        rsa_private_key_init(&priv);
    }
    ~Keys() {
        rsa_public_key_clear(&pub);
        rsa_private_key_clear(&priv);
    }
};

AppSigner::AppSigner(const std::string& private_key_pem) : keys_(std::make_unique<Keys>()) {
    const std::string der = pkcs1_der(private_key_pem);
    if (!rsa_keypair_from_der(&keys_->pub, &keys_->priv, 0, der.size(), reinterpret_cast<const uint8_t*>(der.data())) ||
        !rsa_public_key_prepare(&keys_->pub) || !rsa_private_key_prepare(&keys_->priv)) {
        bad_key("is not a readable RSA private key");
    }
    // RS256 needs room for the SHA-256 DigestInfo: GitHub's keys are 2048 bits.
    if (keys_->pub.size < 128) bad_key("is shorter than 1024 bits");
}

AppSigner::~AppSigner() = default;

std::string AppSigner::jwt(std::int64_t app_id, std::chrono::system_clock::time_point now) const {
    const std::int64_t iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() - 60;
    const nlohmann::json header = {{"alg", "RS256"}, {"typ", "JWT"}};
    // iss as a string: RFC 7519's StringOrURI; GitHub takes the app id either way.
    const nlohmann::json claims = {{"iat", iat}, {"exp", iat + 600}, {"iss", std::to_string(app_id)}};
    const std::string signed_part =
        pangeo_forge::detail::base64url_encoded(header.dump()) + "." + pangeo_forge::detail::base64url_encoded(claims.dump());

    const std::string digest = pangeo_forge::detail::sha256_digest(signed_part);
    Randomness randomness;
    Bignum signature;
    if (!rsa_sha256_sign_digest_tr(&keys_->pub, &keys_->priv, &randomness, kernel_random,
                                   reinterpret_cast<const uint8_t*>(digest.data()), signature.value) ||
        randomness.failed) {
        throw Error("the GitHub App's JWT cannot be signed: " +
                    std::string(randomness.failed ? "the system gives no random bytes (getrandom and /dev/urandom failed)"
                                                  : "the private key does not match itself (is the file damaged?)"));
    }
    std::string bytes(keys_->pub.size, '\0');
    nettle_mpz_get_str_256(bytes.size(), reinterpret_cast<uint8_t*>(bytes.data()), signature.value);
    return signed_part + "." + pangeo_forge::detail::base64url_encoded(bytes);
}

}  // namespace detail

std::string app_jwt(std::int64_t app_id, const std::string& private_key_pem, std::chrono::system_clock::time_point now) {
    return detail::AppSigner(private_key_pem).jwt(app_id, now);
}

}  // namespace pangeo_forge::github
