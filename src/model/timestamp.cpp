#include "pangeo_forge/model/timestamp.hpp"

#include "support/utc_time.hpp"

#include <date/date.h>

namespace pangeo_forge::model {
namespace {

// A strict cursor over the text: every read either matches exactly or fails.
class Cursor {
public:
    explicit Cursor(std::string_view text) : text_(text) {}

    bool at_end() const { return pos_ == text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    bool digits(std::size_t count, int& out) {
        if (text_.size() - pos_ < count) return false;
        out = 0;
        for (std::size_t i = 0; i < count; ++i) {
            char c = text_[pos_ + i];
            if (c < '0' || c > '9') return false;
            out = out * 10 + (c - '0');
        }
        pos_ += count;
        return true;
    }

    bool literal(char expected) {
        if (peek() != expected) return false;
        ++pos_;
        return true;
    }

    bool one_of(std::string_view choices, char& out) {
        if (at_end() || choices.find(peek()) == std::string_view::npos) return false;
        out = text_[pos_++];
        return true;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

// Up to nine digits after the decimal point, kept to the microsecond.
bool fraction(Cursor& in, std::chrono::microseconds& out) {
    int digit_count = 0;
    long long micros = 0;
    int digit = 0;
    while (in.digits(1, digit)) {
        if (++digit_count > 9) return false;
        if (digit_count <= 6) micros = micros * 10 + digit;
    }
    if (digit_count == 0) return false;
    for (int i = digit_count; i < 6; ++i) micros *= 10;
    out = std::chrono::microseconds(micros);
    return true;
}

// "Z", "+HH:MM", "+HHMM" or nothing; returns the offset east of UTC.
bool zone(Cursor& in, std::chrono::minutes& offset) {
    offset = std::chrono::minutes(0);
    if (in.at_end() || in.literal('Z')) return true;
    char sign = 0;
    int hours = 0;
    int minutes = 0;
    if (!in.one_of("+-", sign) || !in.digits(2, hours)) return false;
    in.literal(':');
    if (!in.digits(2, minutes) || hours > 23 || minutes > 59) return false;
    offset = std::chrono::hours(hours) + std::chrono::minutes(minutes);
    if (sign == '-') offset = -offset;
    return true;
}

}  // namespace

std::string format_timestamp(Timestamp value) { return detail::iso_utc_text(value); }

std::optional<Timestamp> parse_timestamp(std::string_view text) {
    Cursor in(text);
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    char separator = 0;
    if (!in.digits(4, year) || !in.literal('-') || !in.digits(2, month) || !in.literal('-') ||
        !in.digits(2, day) || !in.one_of("T ", separator) || !in.digits(2, hour) || !in.literal(':') ||
        !in.digits(2, minute) || !in.literal(':') || !in.digits(2, second)) {
        return std::nullopt;
    }
    std::chrono::microseconds micros(0);
    if (in.literal('.') && !fraction(in, micros)) return std::nullopt;
    std::chrono::minutes offset(0);
    if (!zone(in, offset) || !in.at_end()) return std::nullopt;

    date::year_month_day ymd{date::year(year), date::month(static_cast<unsigned>(month)),
                             date::day(static_cast<unsigned>(day))};
    if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return std::nullopt;
    Timestamp value = Timestamp(date::sys_days(ymd)) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
                      std::chrono::seconds(second) + micros - offset;
    // Years 1 to 9999 in UTC: what both databases store and read back as four digits.
    auto utc_year = date::year_month_day(date::floor<date::days>(value)).year();
    if (utc_year < date::year(1) || utc_year > date::year(9999)) return std::nullopt;
    return value;
}

}  // namespace pangeo_forge::model
