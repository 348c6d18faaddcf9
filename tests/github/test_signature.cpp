#define BOOST_TEST_MODULE signature
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/github/signature.hpp"

using namespace pangeo_forge::github;

namespace {

// GitHub's documented example ("Validating webhook deliveries").
const std::string secret = "It's a Secret to Everybody";
const std::string body = "Hello, World!";
const std::string known = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

}  // namespace

BOOST_AUTO_TEST_CASE(the_header_of_githubs_example_is_the_documented_one) {
    BOOST_TEST(signature_header(secret, body) == known);
    BOOST_TEST(signature_valid(secret, body, known));
}

BOOST_AUTO_TEST_CASE(a_one_bit_change_anywhere_is_refused) {
    for (std::size_t i = 0; i < known.size(); ++i) {
        std::string changed = known;
        changed[i] = static_cast<char>(changed[i] ^ 0x01);
        BOOST_TEST(!signature_valid(secret, body, changed), "byte " << i);
    }
    std::string other_body = body;
    other_body[0] = static_cast<char>(other_body[0] ^ 0x01);
    BOOST_TEST(!signature_valid(secret, other_body, known));
    BOOST_TEST(!signature_valid(secret + " ", body, known));
}

BOOST_AUTO_TEST_CASE(another_prefix_is_refused) {
    BOOST_TEST(!signature_valid(secret, body, "sha1=" + known.substr(7)));
    BOOST_TEST(!signature_valid(secret, body, "SHA256=" + known.substr(7)));
    BOOST_TEST(!signature_valid(secret, body, known.substr(7)));
}

BOOST_AUTO_TEST_CASE(an_empty_header_is_refused) {
    BOOST_TEST(!signature_valid(secret, body, ""));
    BOOST_TEST(!signature_valid(secret, "", ""));
}

BOOST_AUTO_TEST_CASE(a_header_of_another_length_is_refused) {
    BOOST_TEST(!signature_valid(secret, body, known + "0"));
    BOOST_TEST(!signature_valid(secret, body, known.substr(0, known.size() - 1)));
    BOOST_TEST(!signature_valid(secret, body, "sha256="));
}

BOOST_AUTO_TEST_CASE(an_empty_body_has_a_signature_of_its_own) {
    const std::string empty = signature_header(secret, "");
    BOOST_TEST(empty.size() == known.size());
    BOOST_TEST(empty != known);
    BOOST_TEST(signature_valid(secret, "", empty));
}
