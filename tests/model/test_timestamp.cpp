#define BOOST_TEST_MODULE timestamp
#include <boost/test/unit_test.hpp>

#include "pangeo_forge/model/timestamp.hpp"

using namespace pangeo_forge::model;
using namespace std::chrono;

namespace {

// 2021-01-01T00:00:00Z
const Timestamp new_year_2021{seconds(1609459200)};

}  // namespace

BOOST_AUTO_TEST_CASE(formats_utc_with_z) {
    BOOST_TEST(format_timestamp(new_year_2021) == "2021-01-01T00:00:00Z");
    BOOST_TEST(format_timestamp(new_year_2021 + microseconds(1500)) == "2021-01-01T00:00:00.001500Z");
    BOOST_TEST(format_timestamp(Timestamp{}) == "1970-01-01T00:00:00Z");
}

BOOST_AUTO_TEST_CASE(parses_the_accepted_forms) {
    BOOST_TEST((parse_timestamp("2021-01-01T00:00:00Z") == new_year_2021));
    BOOST_TEST((parse_timestamp("2021-01-01T00:00:00") == new_year_2021));
    BOOST_TEST((parse_timestamp("2021-01-01 00:00:00") == new_year_2021));
    BOOST_TEST((parse_timestamp("2021-01-01T00:00:00.25Z") == new_year_2021 + milliseconds(250)));
    BOOST_TEST((parse_timestamp("2021-01-01T00:00:00.123456789") == new_year_2021 + microseconds(123456)));
}

BOOST_AUTO_TEST_CASE(converts_offsets_to_utc) {
    BOOST_TEST((parse_timestamp("2021-01-01T02:00:00+02:00") == new_year_2021));
    BOOST_TEST((parse_timestamp("2020-12-31T19:30:00-0430") == new_year_2021));
}

BOOST_AUTO_TEST_CASE(refuses_malformed_and_impossible_timestamps) {
    for (const char* text : {"", "2021-01-01", "2021-1-01T00:00:00", "2021-01-01T00:00", "2021-02-30T00:00:00Z",
                             "2021-13-01T00:00:00Z", "2021-01-01T24:00:00Z", "2021-01-01T00:60:00Z",
                             "2021-01-01T00:00:00.Z", "2021-01-01T00:00:00.1234567890Z", "2021-01-01T00:00:00+25:00",
                             "2021-01-01T00:00:00Zjunk", "yesterday", "2021-01-01X00:00:00",
                             "9999-12-31T23:30:00-01:00", "0000-01-01T00:00:00Z"}) {
        BOOST_TEST(!parse_timestamp(text).has_value(), "accepted '" << text << "'");
    }
}

BOOST_AUTO_TEST_CASE(format_then_parse_is_identity) {
    for (auto value : {new_year_2021, new_year_2021 + microseconds(1), Timestamp{seconds(951782400)} /* 2000-02-29 */}) {
        BOOST_TEST((parse_timestamp(format_timestamp(value)) == value));
    }
}
