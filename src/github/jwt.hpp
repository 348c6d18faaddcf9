#pragma once
// The app's private key read once, and the JWTs signed with it (rest.hpp's app_jwt is one
// made, used and dropped). Rest keeps one for its life, so a bad key fails at construction.
//
// Errors: ConfigError when the PEM is not an RSA private key (the message never quotes the
// key). Thread safety: jwt() may be called from many threads at once.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace pangeo_forge::github::detail {

class AppSigner {
public:
    explicit AppSigner(const std::string& private_key_pem);
    ~AppSigner();
    AppSigner(const AppSigner&) = delete;
    AppSigner& operator=(const AppSigner&) = delete;

    // RS256; iat = now - 60 s (clock drift), exp = iat + 10 min, iss = the app id.
    std::string jwt(std::int64_t app_id, std::chrono::system_clock::time_point now) const;

private:
    struct Keys;
    std::unique_ptr<Keys> keys_;
};

}  // namespace pangeo_forge::github::detail
