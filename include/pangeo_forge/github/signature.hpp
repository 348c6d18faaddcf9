#pragma once
// GitHub's webhook signature: X-Hub-Signature-256 is "sha256=" and the lower-case hex of
// HMAC-SHA256(webhook secret, raw body). Checked before anything else is read or written.
//
// Thread safety: free functions.

#include <string>
#include <string_view>

namespace pangeo_forge::github {

// "sha256=<hex>" for `body` signed with `secret` (what GitHub sends; tests sign with it).
std::string signature_header(std::string_view secret, std::string_view body);

// Whether `header` is the signature of `body` under `secret`. The comparison takes the same
// time wherever the first differing byte is (Nettle's memeql_sec); a header of another
// length or form is simply false.
bool signature_valid(std::string_view secret, std::string_view body, std::string_view header);

}  // namespace pangeo_forge::github
